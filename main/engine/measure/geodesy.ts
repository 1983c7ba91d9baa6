// Ellipsoidal (WGS84) areas, lengths and positions for georeferenced rasters, whatever their CRS, as QGIS computes them
// with an ellipsoid set: map coordinates are taken to WGS84 lon/lat (geo/crs.ts) and measured with GeographicLib's
// geodesic polygons. Measurements call: pixelAreaModel / areaOfPixelsM2 for pixel sets, polygonAreaM2 for rings in map
// coordinates, centroidLonLat, gsdM. Results are m² (areaHa = areaM2 / 10000) and metres.
import { Geodesic } from 'geographiclib-geodesic';
import type { GeoTransform } from '../../../preload/formats';
import { lonLatTransform, pixelToMap, resolveCrs, type XY } from '../geo/crs';

const WGS84 = Geodesic.WGS84;
const A = 6378137;
const F = 1 / 298.257223563;
const E2 = F * (2 - F);
const E = Math.sqrt(E2);
const B = A * (1 - F);

export const M2_PER_HA = 10000;

/** Geodesic distance in metres between two WGS84 lon/lat points. */
export function geodesicDistanceM(a: XY, b: XY): number {
  const r = WGS84.Inverse(a[1], a[0], b[1], b[0]);
  return r.s12 ?? NaN;
}

/** Area (m², always positive) and perimeter (m) of a WGS84 lon/lat ring; edges are geodesics; closing point optional. */
export function lonLatPolygonAreaM2(ring: readonly XY[]): { areaM2: number; perimeterM: number } {
  const poly = WGS84.Polygon(false);
  let n = ring.length;
  const last = ring[n - 1];
  if (n > 1 && last && last[0] === ring[0]![0] && last[1] === ring[0]![1]) n--;
  for (let i = 0; i < n; i++) poly.AddPoint(ring[i]![1], ring[i]![0]);
  const r = poly.Compute(false, true);
  return { areaM2: Math.abs(r.area ?? 0), perimeterM: r.perimeter };
}

/**
 * Area and perimeter of a ring given in the CRS's map coordinates. Edges are straight lines in the map, so long edges
 * are split (each piece at most 1/256 of the ring's extent) before projecting; short edges (pixel outlines) stay whole.
 */
export function polygonAreaM2(ring: readonly XY[], crs: string): { areaM2: number; areaHa: number; perimeterM: number } {
  const toLonLat = lonLatTransform(crs).toLonLat;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [x, y] of ring) {
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const maxStep = Math.hypot(maxX - minX, maxY - minY) / 256;
  const dense: XY[] = [];
  const n = ring.length;
  for (let i = 0; i < n; i++) {
    const a = ring[i]!;
    const b = ring[(i + 1) % n]!;
    const steps = maxStep > 0 ? Math.max(1, Math.ceil(Math.hypot(b[0] - a[0], b[1] - a[1]) / maxStep)) : 1;
    for (let k = 0; k < steps; k++) dense.push(toLonLat(a[0] + ((b[0] - a[0]) * k) / steps, a[1] + ((b[1] - a[1]) * k) / steps));
  }
  const { areaM2, perimeterM } = lonLatPolygonAreaM2(dense);
  return { areaM2, areaHa: areaM2 / M2_PER_HA, perimeterM };
}

/** Area on the WGS84 ellipsoid between two latitudes over a longitude span (an exact "graticule cell"), m². */
export function graticuleCellAreaM2(lat1Deg: number, lat2Deg: number, dLonDeg: number): number {
  const q = (latDeg: number): number => {
    const s = Math.sin((latDeg * Math.PI) / 180);
    return s / (2 * (1 - E2 * s * s)) + Math.log((1 + E * s) / (1 - E * s)) / (4 * E);
  };
  return Math.abs(((dLonDeg * Math.PI) / 180) * B * B * (q(lat2Deg) - q(lat1Deg)));
}

/** Ellipsoidal area of each pixel of a georeferenced raster. */
export interface PixelAreaModel {
  /** m² of pixel (col, row); NaN where the pixel is outside the projection's domain. */
  pixelAreaM2(col: number, row: number): number;
  /** How the model was built: exact per row (north-up geographic CRS) or interpolated from a grid of cells. */
  method: 'rows' | 'grid';
}

/**
 * Pixel areas of a raster. North-up geographic rasters: exact per row (area depends on latitude only). Otherwise the
 * geodesic area of grid cells of s x s pixels (at most 64 cells a side) divided by their pixel count, bilinearly
 * interpolated between cell centres: the area scale of any projection varies smoothly, so this is well within 0.1%.
 */
export function pixelAreaModel(gt: GeoTransform, crs: string, width: number, height: number): PixelAreaModel {
  const t = lonLatTransform(crs);
  const geographic = resolveCrs(crs).geographic;
  const lonLat = (c: number, r: number): XY => {
    const [x, y] = pixelToMap(gt, c, r);
    return t.toLonLat(x, y);
  };
  if (geographic && gt[2] === 0 && gt[4] === 0) {
    const rows = new Float64Array(height).fill(NaN);
    const dLon = Math.abs(lonLat(1, 0)[0] - lonLat(0, 0)[0]);
    return {
      method: 'rows',
      pixelAreaM2: (_c, r) => {
        const row = Math.min(height - 1, Math.max(0, Math.floor(r)));
        let v = rows[row]!;
        if (Number.isNaN(v)) {
          v = graticuleCellAreaM2(lonLat(0, row)[1], lonLat(0, row + 1)[1], dLon);
          rows[row] = v;
        }
        return v;
      },
    };
  }
  const step = Math.max(1, Math.ceil(Math.max(width, height) / 64));
  const nx = Math.ceil(width / step);
  const ny = Math.ceil(height / step);
  const density = new Float64Array(nx * ny);
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const c0 = i * step;
      const r0 = j * step;
      const c1 = Math.min(width, c0 + step);
      const r1 = Math.min(height, r0 + step);
      let a = NaN;
      try {
        a = lonLatPolygonAreaM2([lonLat(c0, r0), lonLat(c1, r0), lonLat(c1, r1), lonLat(c0, r1)]).areaM2;
      } catch {
        a = NaN;
      }
      density[j * nx + i] = a / ((c1 - c0) * (r1 - r0));
    }
  }
  const cell = (i: number, j: number): number => density[Math.min(ny - 1, Math.max(0, j)) * nx + Math.min(nx - 1, Math.max(0, i))]!;
  return {
    method: 'grid',
    pixelAreaM2: (c, r) => {
      // Cell centres sit at (i + 0.5) * step; pixel centres at c + 0.5.
      const fx = Math.min(nx - 1, Math.max(0, (c + 0.5) / step - 0.5));
      const fy = Math.min(ny - 1, Math.max(0, (r + 0.5) / step - 0.5));
      const i = Math.floor(fx);
      const j = Math.floor(fy);
      const u = fx - i;
      const v = fy - j;
      return (cell(i, j) * (1 - u) + cell(i + 1, j) * u) * (1 - v) + (cell(i, j + 1) * (1 - u) + cell(i + 1, j + 1) * u) * v;
    },
  };
}

/** Total area (m²) of the pixels at (cols[i], rows[i]). */
export function areaOfPixelsM2(model: PixelAreaModel, cols: ArrayLike<number>, rows: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < cols.length; i++) sum += model.pixelAreaM2(cols[i]!, rows[i]!);
  return sum;
}

/** Area (m²) of a pixel mask (non-zero = in), row-major width x height, optionally placed at (x0, y0) in the raster. */
export function maskAreaM2(model: PixelAreaModel, mask: ArrayLike<number>, width: number, height: number, x0 = 0, y0 = 0): number {
  let sum = 0;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) if (mask[r * width + c]) sum += model.pixelAreaM2(x0 + c, y0 + r);
  }
  return sum;
}

/** WGS84 lon/lat of a fractional pixel position given as a mean of pixel indices (pixel centres are at +0.5). */
export function centroidLonLat(gt: GeoTransform, crs: string, centroidPx: readonly number[]): XY {
  const [x, y] = pixelToMap(gt, (centroidPx[0] ?? 0) + 0.5, (centroidPx[1] ?? 0) + 0.5);
  return lonLatTransform(crs).toLonLat(x, y);
}

/** Ground sample distance (m) at the raster centre: mean geodesic length of one pixel step along x and along y. */
export function gsdM(gt: GeoTransform, crs: string, width: number, height: number): number | null {
  try {
    const t = lonLatTransform(crs);
    const at = (c: number, r: number): XY => {
      const [x, y] = pixelToMap(gt, c, r);
      return t.toLonLat(x, y);
    };
    const c = Math.floor(width / 2);
    const r = Math.floor(height / 2);
    const o = at(c, r);
    const v = (geodesicDistanceM(o, at(c + 1, r)) + geodesicDistanceM(o, at(c, r + 1))) / 2;
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}
