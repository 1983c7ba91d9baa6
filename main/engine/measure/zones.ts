// Zonal statistics for a polygon layer (fields, districts, parcels) over a geo label map: per polygon, the area
// and share of each class inside it and the instances it contains; written as zones.csv and zones.geojson (the
// input features with those attributes added). GeoJSON only for now (GeoPackage/Shapefile need a reader).
// Definitions: a pixel is in a zone when its centre is inside the polygon (even-odd, holes excluded); class areas
// sum pixel areas (ellipsoidal when the geo measurer is); `zoneAreaM2` is the sum over all its pixels, so class areas
// (with `none` and `nodata`) add up to it exactly; `polygonAreaM2` is the polygon's own (geodesic) area for comparison;
// `<class>Share` = class area / zone area; an instance is in a zone when its centroid is.
// The label map is fed in bands of rows (ZoneAccumulator): the whole map in memory, or strip by strip on rasters
// too large for memory (measure-streamed.ts); the same code sums the same pixels in the same order either way.
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

/** Rows [first, last] whose pixel centres a set of rings (pixel-corner coordinates) can reach, clipped to the raster. */
function rowSpan(polys: Array<Array<Array<[number, number]>>>, height: number): [number, number] {
  let minY = Infinity;
  let maxY = -Infinity;
  for (const r of polys.flat()) {
    for (const [, y] of r) {
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
  }
  return [Math.max(0, Math.floor(minY - 0.5)), Math.min(height - 1, Math.ceil(maxY - 0.5))];
}

/** Pixel centres inside polygons (rings in fractional pixel-corner coordinates) on rows [fromY, toY], by scanline even-odd. */
function rasterize(polys: Array<Array<Array<[number, number]>>>, width: number, fromY: number, toY: number, visit: (x: number, y: number) => void): void {
  const rings = polys.flat();
  for (let y = fromY; y <= toY; y++) {
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

/** Reads a GeoJSON zones file (FeatureCollection). */
async function readZonesFile(file: string): Promise<{ features: Feature[]; crs: unknown }> {
  if (!/\.(geo)?json$/i.test(file)) throw new InputError(file, 'zones: only GeoJSON is supported for now (convert GeoPackage/Shapefile with ogr2ogr)');
  let doc: { type?: unknown; features?: unknown; crs?: unknown };
  try {
    doc = JSON.parse(await fs.readFile(file, 'utf8')) as typeof doc;
  } catch (err) {
    throw new InputError(file, `cannot read zones (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (doc.type !== 'FeatureCollection' || !Array.isArray(doc.features)) throw new InputError(file, 'zones must be a GeoJSON FeatureCollection');
  return { features: doc.features as Feature[], crs: doc.crs };
}

interface Zone {
  mapPolys: Array<Array<Array<[number, number]>>>;
  polys: Array<Array<Array<[number, number]>>>;
  fromY: number;
  toY: number;
  /** Area (or pixel count) per label value seen in the zone, index = value; nodata kept apart. */
  perValue: Float64Array;
  nodata: number;
}

/**
 * Zonal statistics fed with the label map in bands of rows, top to bottom (add), then summarised (finish). Holds the
 * polygons and, per zone, one sum per label value present: never the label map.
 */
export class ZoneAccumulator {
  private constructor(
    readonly features: Feature[],
    private readonly zones: Zone[],
    private readonly geometry: GeoGeometry,
    private readonly width: number,
    private readonly nodataLabel: number,
    private readonly geo: GeoMeasurer | null,
  ) {}

  /** Reads the zones file and projects its polygons onto the raster's pixel grid. */
  static async open(file: string, input: Pick<ZonesInput, 'geometry' | 'width' | 'height' | 'nodataLabel' | 'geo'>): Promise<ZoneAccumulator> {
    const doc = await readZonesFile(file);
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
    const zones = doc.features.map((f): Zone => {
      const mapPolys = polygonsOf(f).map((poly) => poly.map((ring) => ring.map((p): [number, number] => (toMap ? toMap(p[0]!, p[1]!) : [p[0]!, p[1]!]))));
      const polys = mapPolys.map((poly) => poly.map((ring) => ring.map(([mx, my]) => mapToPixel(g.geotransform, mx, my))));
      const [fromY, toY] = rowSpan(polys, input.height);
      return { mapPolys, polys, fromY, toY, perValue: new Float64Array(0), nodata: 0 };
    });
    return new ZoneAccumulator(doc.features, zones, g, input.width, input.nodataLabel, input.geo);
  }

  /** Adds rows [y0, y0 + rows) of the (cleaned) label map, labels[(y - y0) * width + x]; bands come in order. */
  add(y0: number, rows: number, labels: ArrayLike<number>): void {
    const W = this.width;
    const nodata = this.nodataLabel;
    const geo = this.geo;
    for (const z of this.zones) {
      const from = Math.max(y0, z.fromY);
      const to = Math.min(y0 + rows - 1, z.toY);
      if (from > to) continue;
      rasterize(z.polys, W, from, to, (x, y) => {
        const v = labels[(y - y0) * W + x]!;
        const area = geo ? geo.pixelAreaM2(x, y) : 1;
        if (v === nodata) {
          z.nodata += area;
          return;
        }
        if (v >= z.perValue.length) {
          const grown = new Float64Array(Math.max(v + 1, z.perValue.length * 2, 16));
          grown.set(z.perValue);
          z.perValue = grown;
        }
        z.perValue[v]! += area;
      });
    }
  }

  /** Per-zone statistics once every row was added; `instances` are tested by centroid. */
  finish(classes: ManifestClass[], instances: ReadonlyArray<Pick<InstanceRecord, 'id' | 'centroidPx'>>): ZoneRecord[] {
    const g = this.geometry;
    const unit = this.geo ? 'M2' : 'Px';
    const names = ['none', ...classes.map((c) => c.name), 'nodata'];
    return this.zones.map((z, zi) => {
      // Values above the class list count as its last class (as a value-by-value clamp would).
      const areas = new Float64Array(names.length);
      for (let v = 0; v < z.perValue.length; v++) if (z.perValue[v]! !== 0) areas[Math.min(v, names.length - 2)]! += z.perValue[v]!;
      areas[names.length - 1] = z.nodata;
      const zoneArea = areas.reduce((s, a) => s + a, 0);
      const [, a, b, , d, e] = g.geotransform;
      const crs = g.crs;
      // The polygon's own area: geodesic when the pixels are, else planar in the map.
      const ringArea = (mapRing: Array<[number, number]>, pixelRing: Array<[number, number]>): number =>
        this.geo?.method === 'ellipsoidal' && crs ? polygonAreaM2(mapRing, crs).areaM2 : Math.abs(shoelace(pixelRing)) * Math.abs(a * e - b * d);
      const polygonArea = z.mapPolys.reduce((s, poly, pi) => s + Math.abs(poly.reduce((t, r, i) => t + (i === 0 ? 1 : -1) * ringArea(r, z.polys[pi]![i]!), 0)), 0);
      const stats: Record<string, unknown> = { [`zoneArea${unit}`]: zoneArea };
      if (this.geo) stats.polygonAreaM2 = polygonArea;
      names.forEach((n, k) => {
        stats[`${n}Area${unit}`] = areas[k]!;
        stats[`${n}Share`] = zoneArea > 0 ? areas[k]! / zoneArea : 0;
      });
      const inside = instances.filter((r) => {
        const c = r.centroidPx;
        // Centroid pixel position in corner coordinates (+0.5: pixel centres).
        return z.polys.some((poly) => inRings(poly, c[0]! + 0.5, c[1]! + 0.5));
      });
      stats.instanceCount = inside.length;
      stats.instanceIds = inside.map((r) => r.id).join(';');
      return { zone: zi + 1, properties: this.features[zi]!.properties ?? {}, stats };
    });
  }

  /** Writes zones.csv and zones.geojson into outDir; returns their paths. */
  async write(outDir: string, classes: ManifestClass[], instances: ReadonlyArray<Pick<InstanceRecord, 'id' | 'centroidPx'>>): Promise<string[]> {
    return writeZoneFiles(outDir, this.features, this.finish(classes, instances));
  }
}

/** Reads a GeoJSON layer and computes per-zone statistics over a label map held in memory. */
export async function zonalStatistics(file: string, input: ZonesInput): Promise<{ features: Feature[]; zones: ZoneRecord[] }> {
  const acc = await ZoneAccumulator.open(file, input);
  acc.add(0, input.height, input.labels);
  return { features: acc.features, zones: acc.finish(input.classes, input.instances) };
}

/** Writes zones.csv and zones.geojson into outDir; returns their paths. */
export async function writeZones(outDir: string, zonesFile: string, input: ZonesInput): Promise<string[]> {
  const { features, zones } = await zonalStatistics(zonesFile, input);
  return writeZoneFiles(outDir, features, zones);
}

async function writeZoneFiles(outDir: string, features: Feature[], zones: ZoneRecord[]): Promise<string[]> {
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
