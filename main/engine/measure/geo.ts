// Metric measurements on a georeferenced raster behind one small interface, so measure/index.ts does not care
// whether areas and lengths are ellipsoidal (WGS84, through geodesy.ts) or planar (the geotransform, in CRS units
// taken as metres: the fallback when the CRS cannot be transformed offline). Pixel coordinates here are GDAL-free: (x, y) = pixel centre indices, as everywhere in measure/.
import type { GeoGeometry } from '../../../preload/formats';
import { CrsError, lonLatTransform, resolveCrs, mapToLonLat } from '../geo/crs';
import { geodesicDistanceM, pixelAreaModel, type PixelAreaModel } from './geodesy';

export interface GeoMeasurer {
  /** 'ellipsoidal' once geodesy.ts provides it; 'planar' = geotransform area in CRS units (metres assumed). */
  readonly method: 'ellipsoidal' | 'planar';
  /** Area in m² of pixel (x, y). */
  pixelAreaM2(x: number, y: number): number;
  /** Length in m of a closed ring given as interleaved pixel coordinates. */
  ringLengthM(ringPx: ArrayLike<number>): number;
  /** Distance in m between two pixel positions. */
  distanceM(ax: number, ay: number, bx: number, by: number): number;
  /** Map coordinates (CRS units) of a pixel position. */
  mapXY(x: number, y: number): [number, number];
  /** WGS84 [lon, lat] of a pixel position; null when the CRS cannot be transformed offline. */
  lonLat(x: number, y: number): [number, number] | null;
}

/** Whether a CRS is geographic (degrees), where a planar area would be meaningless; null CRS counts as unknown. */
export function isGeographicCrs(crs: string | null): boolean | null {
  if (!crs) return null;
  try {
    return resolveCrs(crs).geographic;
  } catch (err) {
    // Unknown to the offline table: judge by the WKT keyword (a projected CRS is assumed to be in metres).
    if (err instanceof CrsError) return /^\s*(GEOGCS|GEOGCRS|GEODCRS)\[/i.test(crs);
    throw err;
  }
}

/** Pixel -> map through the geotransform (which addresses pixel corners; pixel centres are +0.5). */
function mapper(g: GeoGeometry): (x: number, y: number) => [number, number] {
  const [x0, a, b, y0, d, e] = g.geotransform;
  return (x, y) => [x0 + (x + 0.5) * a + (y + 0.5) * b, y0 + (x + 0.5) * d + (y + 0.5) * e];
}

function lonLatOf(g: GeoGeometry, toMap: (x: number, y: number) => [number, number]): (x: number, y: number) => [number, number] | null {
  if (!g.crs) return () => null;
  let conv: ((x: number, y: number) => [number, number]) | null = null;
  try {
    conv = mapToLonLat(g.crs);
  } catch (err) {
    if (!(err instanceof CrsError)) throw err;
  }
  return (x, y) => {
    if (!conv) return null;
    const [mx, my] = toMap(x, y);
    const ll = conv(mx, my);
    return Number.isFinite(ll[0]) && Number.isFinite(ll[1]) ? ll : null;
  };
}

/**
 * Planar measurer for a projected CRS: areas and lengths from the geotransform's 2x2 part. Null for geographic CRSs
 * or rasters without a CRS, where planar numbers would not be metres.
 */
export function planarGeoMeasurer(g: GeoGeometry): GeoMeasurer | null {
  if (g.crs === null || isGeographicCrs(g.crs) !== false) return null;
  const [, a, b, , d, e] = g.geotransform;
  const pixelArea = Math.abs(a * e - b * d);
  const toMap = mapper(g);
  const len = (dx: number, dy: number): number => Math.hypot(dx * a + dy * b, dx * d + dy * e);
  return {
    method: 'planar',
    pixelAreaM2: () => pixelArea,
    ringLengthM: (p) => {
      const n = p.length / 2;
      let total = 0;
      for (let i = 0, j = n - 1; i < n; j = i++) total += len(p[2 * i]! - p[2 * j]!, p[2 * i + 1]! - p[2 * j + 1]!);
      return total;
    },
    distanceM: (ax, ay, bx, by) => len(bx - ax, by - ay),
    mapXY: toMap,
    lonLat: lonLatOf(g, toMap),
  };
}

/**
 * Ellipsoidal measurer (WGS84, geodesy.ts): per-pixel geodesic areas, geodesic edge lengths between outline vertices
 * and centroids in lon/lat. Null when the CRS cannot be transformed offline.
 */
export function ellipsoidalGeoMeasurer(g: GeoGeometry, width: number, height: number): GeoMeasurer | null {
  if (!g.crs) return null;
  const crs = g.crs;
  let model: PixelAreaModel;
  let toLonLat: (x: number, y: number) => [number, number];
  try {
    model = pixelAreaModel(g.geotransform, crs, width, height);
    toLonLat = lonLatTransform(crs).toLonLat;
  } catch (err) {
    if (err instanceof CrsError) return null;
    throw err;
  }
  const toMap = mapper(g);
  const ll = (x: number, y: number): [number, number] => {
    const [mx, my] = toMap(x, y);
    return toLonLat(mx, my);
  };
  return {
    method: 'ellipsoidal',
    pixelAreaM2: (x, y) => model.pixelAreaM2(x, y),
    ringLengthM: (p) => {
      const n = p.length / 2;
      let total = 0;
      let prev = ll(p[2 * (n - 1)]!, p[2 * (n - 1) + 1]!);
      for (let i = 0; i < n; i++) {
        const cur = ll(p[2 * i]!, p[2 * i + 1]!);
        total += geodesicDistanceM(prev, cur);
        prev = cur;
      }
      return total;
    },
    distanceM: (ax, ay, bx, by) => geodesicDistanceM(ll(ax, ay), ll(bx, by)),
    mapXY: toMap,
    lonLat: (x, y) => {
      const v = ll(x, y);
      return Number.isFinite(v[0]) && Number.isFinite(v[1]) ? v : null;
    },
  };
}

/**
 * The measurer the engine uses for a geo raster: ellipsoidal (geodesy.ts) when the CRS is known offline, else planar
 * for a projected CRS, else none. The single switch point, so callers never choose.
 */
export function geoMeasurer(g: GeoGeometry, width: number, height: number): GeoMeasurer | null {
  return ellipsoidalGeoMeasurer(g, width, height) ?? planarGeoMeasurer(g);
}
