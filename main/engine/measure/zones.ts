// Zonal statistics for a polygon layer (fields, districts, parcels) over a geo label map: per polygon, the area
// and share of each class inside it and the instances it contains; written as zones.csv and zones.geojson (the
// input features with those attributes added). GeoJSON only for now (GeoPackage/Shapefile need a reader).
// Definitions: a pixel is in a zone when its centre is inside the polygon (even-odd, holes excluded); class areas
// sum pixel areas (ellipsoidal when the geo measurer is); `zoneAreaM2` is the sum over all its pixels, so class areas
// (with `none` and `nodata`) add up to it exactly; `polygonAreaM2` is the polygon's own (geodesic) area for comparison;
// `<class>Share` = class area / zone area; an instance is in a zone when its centroid is.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { GeoGeometry, InstanceRecord, ManifestClass } from '../../../preload/formats';
import { InputError } from '../image';
import { writeFileAtomic } from '../io/atomic';
import { CrsError, lonLatToMap, mapToPixel } from '../geo/crs';
import { csvField } from '../export/results';
import { isGeographicCrs, type GeoMeasurer } from './geo';
import { polygonAreaM2 } from './geodesy';

type Position = number[];
interface Feature {
  type: 'Feature';
  properties: Record<string, unknown> | null;
  geometry: { type: string; coordinates: unknown } | null;
}

export interface ZonesInput {
  geometry: GeoGeometry;
  width: number;
  height: number;
  labels: ArrayLike<number>;
  nodataLabel: number;
  classes: ManifestClass[];
  instances: InstanceRecord[];
  geo: GeoMeasurer | null;
}

export interface ZoneRecord {
  zone: number;
  properties: Record<string, unknown>;
  stats: Record<string, unknown>;
}

/** Polygons of a feature as lists of rings (map coordinates), or [] for other geometry types. */
function polygonsOf(f: Feature): Position[][][] {
  const g = f.geometry;
  if (!g) return [];
  if (g.type === 'Polygon') return [g.coordinates as Position[][]];
  if (g.type === 'MultiPolygon') return g.coordinates as Position[][][];
  return [];
}

/** Pixel centres inside polygons (rings in fractional pixel-corner coordinates), by scanline even-odd. */
function rasterize(polys: Array<Array<Array<[number, number]>>>, width: number, height: number, visit: (x: number, y: number) => void): void {
  const rings = polys.flat();
  let minY = Infinity;
  let maxY = -Infinity;
  for (const r of rings) {
    for (const [, y] of r) {
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
  }
  const y0 = Math.max(0, Math.floor(minY - 0.5));
  const y1 = Math.min(height - 1, Math.ceil(maxY - 0.5));
  for (let y = y0; y <= y1; y++) {
    const cy = y + 0.5;
    const xs: number[] = [];
    for (const r of rings) {
      for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
        const [ax, ay] = r[j]!;
        const [bx, by] = r[i]!;
        if (ay > cy !== by > cy) xs.push(ax + ((cy - ay) * (bx - ax)) / (by - ay));
      }
    }
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      // Pixel x is inside when its centre x + 0.5 lies in [xs[k], xs[k+1]).
      const from = Math.max(0, Math.ceil(xs[k]! - 0.5));
      const to = Math.min(width - 1, Math.ceil(xs[k + 1]! - 0.5) - 1);
      for (let x = from; x <= to; x++) visit(x, y);
    }
  }
}

function inRings(rings: Array<Array<[number, number]>>, px: number, py: number): boolean {
  let inside = false;
  for (const r of rings) {
    for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
      const [xi, yi] = r[i]!;
      const [xj, yj] = r[j]!;
      if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

function shoelace(r: Array<[number, number]>): number {
  let s = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) s += r[j]![0] * r[i]![1] - r[i]![0] * r[j]![1];
  return s / 2;
}

/** Reads a GeoJSON layer and computes per-zone statistics. */
export async function zonalStatistics(file: string, input: ZonesInput): Promise<{ features: Feature[]; zones: ZoneRecord[] }> {
  if (!/\.(geo)?json$/i.test(file)) throw new InputError(file, 'zones: only GeoJSON is supported for now (convert GeoPackage/Shapefile with ogr2ogr)');
  let doc: { type?: unknown; features?: unknown; crs?: unknown };
  try {
    doc = JSON.parse(await fs.readFile(file, 'utf8')) as typeof doc;
  } catch (err) {
    throw new InputError(file, `cannot read zones (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (doc.type !== 'FeatureCollection' || !Array.isArray(doc.features)) throw new InputError(file, 'zones must be a GeoJSON FeatureCollection');
  const features = doc.features as Feature[];
  const g = input.geometry;
  // RFC 7946 GeoJSON is lon/lat; older files name their CRS. Without a "crs" member, lon/lat is converted to the raster's CRS.
  let toMap: ((x: number, y: number) => [number, number]) | null = null;
  if (doc.crs === undefined && g.crs && isGeographicCrs(g.crs) === false) {
    try {
      toMap = lonLatToMap(g.crs);
    } catch (err) {
      if (!(err instanceof CrsError)) throw err;
      throw new InputError(file, `zones are lon/lat but the raster's CRS cannot be transformed offline: ${err.message}`);
    }
  }
  const unit = input.geo ? 'M2' : 'Px';
  const pixelArea = (x: number, y: number): number => (input.geo ? input.geo.pixelAreaM2(x, y) : 1);
  const names = ['none', ...input.classes.map((c) => c.name), 'nodata'];
  const zones: ZoneRecord[] = features.map((f, zi) => {
    const mapPolys = polygonsOf(f).map((poly) => poly.map((ring) => ring.map((p): [number, number] => (toMap ? toMap(p[0]!, p[1]!) : [p[0]!, p[1]!]))));
    const polys = mapPolys.map((poly) => poly.map((ring) => ring.map(([mx, my]) => mapToPixel(g.geotransform, mx, my))));
    const areas = new Float64Array(names.length);
    rasterize(polys, input.width, input.height, (x, y) => {
      const v = input.labels[y * input.width + x]!;
      const k = v === input.nodataLabel ? names.length - 1 : Math.min(v, names.length - 2);
      areas[k]! += pixelArea(x, y);
    });
    const zoneArea = areas.reduce((s, a) => s + a, 0);
    const [, a, b, , d, e] = g.geotransform;
    const crs = g.crs;
    // The polygon's own area: geodesic when the pixels are, else planar in the map.
    const ringArea = (mapRing: Array<[number, number]>, pixelRing: Array<[number, number]>): number =>
      input.geo?.method === 'ellipsoidal' && crs ? polygonAreaM2(mapRing, crs).areaM2 : Math.abs(shoelace(pixelRing)) * Math.abs(a * e - b * d);
    const polygonArea = mapPolys.reduce((s, poly, pi) => s + Math.abs(poly.reduce((t, r, i) => t + (i === 0 ? 1 : -1) * ringArea(r, polys[pi]![i]!), 0)), 0);
    const stats: Record<string, unknown> = { [`zoneArea${unit}`]: zoneArea };
    if (input.geo) stats.polygonAreaM2 = polygonArea;
    names.forEach((n, k) => {
      stats[`${n}Area${unit}`] = areas[k]!;
      stats[`${n}Share`] = zoneArea > 0 ? areas[k]! / zoneArea : 0;
    });
    const inside = input.instances.filter((r) => {
      const c = r.centroidPx;
      // Centroid pixel position in corner coordinates (+0.5: pixel centres).
      return polys.some((poly) => inRings(poly, c[0]! + 0.5, c[1]! + 0.5));
    });
    stats.instanceCount = inside.length;
    stats.instanceIds = inside.map((r) => r.id).join(';');
    return { zone: zi + 1, properties: f.properties ?? {}, stats };
  });
  return { features, zones };
}

/** Writes zones.csv and zones.geojson into outDir; returns their paths. */
export async function writeZones(outDir: string, zonesFile: string, input: ZonesInput): Promise<string[]> {
  const { features, zones } = await zonalStatistics(zonesFile, input);
  const propKeys = [...new Set(zones.flatMap((z) => Object.keys(z.properties)))];
  const statKeys = [...new Set(zones.flatMap((z) => Object.keys(z.stats)))];
  const lines = [['zone', ...propKeys, ...statKeys].map(csvField).join(',')];
  for (const z of zones) lines.push([z.zone, ...propKeys.map((k) => z.properties[k]), ...statKeys.map((k) => z.stats[k])].map(csvField).join(','));
  const csvPath = path.join(outDir, 'zones.csv');
  const jsonPath = path.join(outDir, 'zones.geojson');
  await writeFileAtomic(csvPath, lines.join('\r\n') + '\r\n');
  const out = { type: 'FeatureCollection', features: features.map((f, i) => ({ ...f, properties: { ...(f.properties ?? {}), ...zones[i]!.stats } })) };
  await writeFileAtomic(jsonPath, JSON.stringify(out) + '\n');
  return [csvPath, jsonPath];
}
