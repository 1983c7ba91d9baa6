// Vector layers of a 2D geo result: one feature per instance, its outline (marching squares, holes kept inside their
// outer ring, Douglas-Peucker with a tolerance in source map units) in the source CRS or another one, measurements as
// attributes. Simplified outlines are checked (no crossing or touching segments, ring nesting unchanged) and fall back
// to the traced outline, which is valid by construction (rings of a pixel mask never touch). Writers: GeoJSON
// (RFC 7946: WGS84 lon/lat, counter-clockwise outer rings), GeoPackage (SQLite through sql.js, GP header + WKB) and
// Shapefile (.shp/.shx/.dbf/.prj/.cpg by hand). Every file is written atomically (temporary + rename). Each writer
// also takes features one at a time (vector-stream.ts traces them from a map read by block), and featureTracer is the
// one per-feature step both paths take.
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Geometry, InstanceRecord, InstancesDocument } from '../../../preload/formats';
import { InputError } from '../image';
import { epsgCode, lonLatToMap, mapToLonLat, resolveCrs } from '../geo/crs';
import { writeFileAtomic } from '../io/atomic';
import { tempSibling, writeChunksAtomic } from './atomic-stream';
import { pixelToWorld, planarSpacing, simplifyRing, traceRings } from '../postprocess/contours';
import { crsToWkt } from './crs-wkt';
import { flattenRecord } from './results';

export type XY = [number, number];
/** Open ring (the first vertex is not repeated); polygon = [outer, ...holes]. */
export type VRing = XY[];
export type VPolygon = VRing[];
export type AttrValue = string | number | boolean | null;

export interface VectorFeature {
  id: number;
  properties: Record<string, AttrValue>;
  /** Outer rings counter-clockwise, holes clockwise (x right, y up). */
  polygons: VPolygon[];
  /** False when simplification would have made an invalid polygon and the traced outline was kept. */
  simplified: boolean;
}

export interface FieldDef {
  name: string;
  type: 'integer' | 'real' | 'text' | 'boolean';
}

export interface VectorLayer {
  name: string;
  /** "EPSG:n" or WKT of the coordinates. */
  crs: string;
  fields: FieldDef[];
  features: VectorFeature[];
}

export interface VectorSource {
  width: number;
  height: number;
  geometry: Geometry;
  /** Instance map of the (single) slice, row-major. */
  instances: Uint32Array;
  document: InstancesDocument;
}

export interface VectorOptions {
  /** Output CRS ("EPSG:n" or WKT); default the source CRS. */
  crs?: string;
  /** Douglas-Peucker tolerance in source map units; default one pixel (finer axis); 0 keeps the traced outline. */
  toleranceMapUnits?: number;
  /** Diagonal pixels belong together (8-connectivity, default) or not. */
  joinDiagonals?: boolean;
  layerName?: string;
}

// ---------------------------------------------------------------- geometry helpers

function signedArea(r: VRing): number {
  let s = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) s += r[j]![0] * r[i]![1] - r[i]![0] * r[j]![1];
  return s / 2;
}

/** Even-odd point in ring. */
function inside(p: XY, r: VRing): boolean {
  let c = false;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const [xi, yi] = r[i]!;
    const [xj, yj] = r[j]!;
    if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) c = !c;
  }
  return c;
}

const cross = (o: XY, a: XY, b: XY): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);

function onSegment(p: XY, a: XY, b: XY): boolean {
  return Math.min(a[0], b[0]) <= p[0] && p[0] <= Math.max(a[0], b[0]) && Math.min(a[1], b[1]) <= p[1] && p[1] <= Math.max(a[1], b[1]);
}

/** Whether closed segments ab and cd share any point. */
function segmentsMeet(a: XY, b: XY, c: XY, d: XY): boolean {
  const d1 = cross(c, d, a);
  const d2 = cross(c, d, b);
  const d3 = cross(a, b, c);
  const d4 = cross(a, b, d);
  if (((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0))) return true;
  return (d1 === 0 && onSegment(a, c, d)) || (d2 === 0 && onSegment(b, c, d)) || (d3 === 0 && onSegment(c, a, b)) || (d4 === 0 && onSegment(d, a, b));
}

/**
 * True when no two segments of the rings meet, except neighbours in one ring at their shared vertex (and those do
 * not fold back onto each other). Sweep along x: only segments whose x-ranges overlap are compared.
 */
export function ringsAreSimple(rings: VRing[]): boolean {
  interface Seg {
    r: number;
    i: number;
    a: XY;
    b: XY;
    minX: number;
    maxX: number;
  }
  const segs: Seg[] = [];
  for (let r = 0; r < rings.length; r++) {
    const ring = rings[r]!;
    if (ring.length < 3 || signedArea(ring) === 0) return false;
    for (let i = 0; i < ring.length; i++) {
      const a = ring[i]!;
      const b = ring[(i + 1) % ring.length]!;
      if (a[0] === b[0] && a[1] === b[1]) return false;
      segs.push({ r, i, a, b, minX: Math.min(a[0], b[0]), maxX: Math.max(a[0], b[0]) });
    }
  }
  segs.sort((s, t) => s.minX - t.minX);
  for (let k = 0; k < segs.length; k++) {
    const s = segs[k]!;
    for (let m = k + 1; m < segs.length && segs[m]!.minX <= s.maxX; m++) {
      const t = segs[m]!;
      if (s.r === t.r) {
        const n = rings[s.r]!.length;
        const next = (s.i + 1) % n === t.i;
        const prev = (t.i + 1) % n === s.i;
        if (next || prev) {
          // Neighbours share one vertex; they must not run back along each other (a spike).
          const [first, second] = next ? [s, t] : [t, s];
          const c = cross(first.a, first.b, second.b);
          const dot = (first.b[0] - first.a[0]) * (second.b[0] - second.a[0]) + (first.b[1] - first.a[1]) * (second.b[1] - second.a[1]);
          if (c === 0 && dot < 0) return false;
          continue;
        }
      }
      if (segmentsMeet(s.a, s.b, t.a, t.b)) return false;
    }
  }
  return true;
}

/** Groups rings into polygons: each hole goes to the smallest outer ring that contains it. */
function nest(rings: Array<{ hole: boolean; ring: VRing }>): Array<{ outer: number; holes: number[] }> {
  const outers = rings.map((r, i) => ({ i, r })).filter((o) => !o.r.hole);
  const polys = new Map<number, number[]>(outers.map((o) => [o.i, []]));
  rings.forEach((h, i) => {
    if (!h.hole) return;
    let best = -1;
    let bestArea = Infinity;
    for (const o of outers) {
      const area = Math.abs(signedArea(o.r.ring));
      if (area < bestArea && inside(h.ring[0]!, o.r.ring)) {
        best = o.i;
        bestArea = area;
      }
    }
    if (best >= 0) polys.get(best)!.push(i);
  });
  return [...polys].map(([outer, holes]) => ({ outer, holes }));
}

// ---------------------------------------------------------------- building the layer

/** pixel (x, y) -> output coordinates, rounded so validity is checked on what is written. */
function outputTransform(geometry: Geometry, sourceCrs: string, targetCrs: string): (x: number, y: number) => XY {
  const toMap = pixelToWorld(geometry, 0);
  const same = sourceCrs === targetCrs || (epsgCode(sourceCrs) !== null && epsgCode(sourceCrs) === epsgCode(targetCrs));
  const geographic = resolveCrs(targetCrs).geographic;
  const step = geographic ? 1e9 : 1e6; // ~0.1 mm either way
  const round = (v: number): number => Math.round(v * step) / step;
  if (same) {
    return (x, y) => {
      const p = toMap(x, y);
      return [round(p[0]!), round(p[1]!)];
    };
  }
  const toLonLat = mapToLonLat(sourceCrs);
  const targetIsWgs84 = epsgCode(targetCrs) === 4326;
  const fromLonLat = targetIsWgs84 ? null : lonLatToMap(targetCrs);
  return (x, y) => {
    const p = toMap(x, y);
    const ll = toLonLat(p[0]!, p[1]!);
    const q = fromLonLat ? fromLonLat(ll[0], ll[1]) : ll;
    return [round(q[0]), round(q[1])];
  };
}

function toRing(points: Float64Array, t: (x: number, y: number) => XY): VRing {
  const out: VRing = [];
  for (let i = 0; i < points.length; i += 2) out.push(t(points[i]!, points[i + 1]!));
  return out;
}

function orientPolygons(polys: VPolygon[]): VPolygon[] {
  return polys.map((p) => p.map((r, k) => ((k === 0) === signedArea(r) > 0 ? r : [...r].reverse())));
}

/**
 * The polygons of one instance from its mask (1 = the instance) over its bounding box, whose pixel (0, 0) is image
 * pixel `origin`; simplified when that stays valid.
 */
function maskPolygons(mask: Uint8Array, w: number, h: number, origin: [number, number], geometry: Geometry, t: (x: number, y: number) => XY, toleranceMapUnits: number, joinDiagonals: boolean): { polygons: VPolygon[]; simplified: boolean } {
  const traced = traceRings(mask, w, h, joinDiagonals, origin);
  if (traced.length === 0) return { polygons: [], simplified: false };
  const raw = traced.map((r) => ({ hole: r.hole, ring: toRing(r.points, t) }));
  const groups = nest(traced.map((r) => ({ hole: r.hole, ring: toRing(r.points, (x, y) => [x, -y]) })));
  const build = (rings: VRing[]): VPolygon[] => orientPolygons(groups.map((g) => [rings[g.outer]!, ...g.holes.map((i) => rings[i]!)]));
  const rawPolys = build(raw.map((r) => r.ring));
  if (toleranceMapUnits <= 0) return { polygons: rawPolys, simplified: false };
  const [sx, sy] = planarSpacing(geometry);
  const simple = traced.map((r) => toRing(simplifyRing(r.points, toleranceMapUnits, sx, sy), t));
  if (!ringsAreSimple(simple)) return { polygons: rawPolys, simplified: false };
  // Nesting must not change: vertex 0 (kept by simplifyRing) is inside the same rings as before.
  for (let a = 0; a < simple.length; a++) {
    for (let b = 0; b < simple.length; b++) {
      if (a !== b && inside(simple[a]![0]!, simple[b]!) !== inside(raw[a]!.ring[0]!, raw[b]!.ring)) return { polygons: rawPolys, simplified: false };
    }
  }
  return { polygons: build(simple), simplified: true };
}

function attributeValue(v: unknown): AttrValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  return JSON.stringify(v);
}

/** A record's attributes as the vector formats carry them (flattened, non-finite numbers as null). */
export function recordProperties(rec: InstanceRecord): Record<string, AttrValue> {
  const properties: Record<string, AttrValue> = {};
  for (const [k, v] of flattenRecord(rec)) properties[k] = attributeValue(v);
  return properties;
}

/** Throws unless a record's bbox is a 2D box of whole pixels inside a width x height map. */
export function checkRecordBox(rec: InstanceRecord, width: number, height: number, file: string): void {
  const [x0, y0] = rec.bbox.min;
  const [x1, y1] = rec.bbox.max;
  const ok = [x0, y0, x1, y1].every((v) => Number.isInteger(v)) && x0! >= 0 && y0! >= 0 && x1! >= x0! && y1! >= y0! && x1! < width && y1! < height;
  if (!ok) throw new InputError(file, `instance ${rec.id}: bbox ${JSON.stringify(rec.bbox)} is not inside the ${width}x${height} instance map`);
}

/**
 * Field types (and the longest text of each text field, in UTF-8 bytes: Shapefile column widths) gathered one
 * feature's attributes at a time, so a streamed layer knows its fields before its first feature is written.
 */
export class FieldCollector {
  private readonly types = new Map<string, Set<string>>();
  private readonly longest = new Map<string, number>();
  private readonly enc = new TextEncoder();

  add(properties: Record<string, AttrValue>): void {
    for (const [k, v] of Object.entries(properties)) {
      const set = this.types.get(k) ?? new Set<string>();
      if (v !== null) set.add(typeof v === 'number' ? (Number.isInteger(v) && Math.abs(v) < 2 ** 31 ? 'integer' : 'real') : typeof v === 'boolean' ? 'boolean' : 'text');
      this.types.set(k, set);
      const bytes = v === null ? 0 : this.enc.encode(String(v)).length;
      if (bytes > (this.longest.get(k) ?? 0)) this.longest.set(k, bytes);
    }
  }

  fields(): FieldDef[] {
    return [...this.types].map(([name, set]): FieldDef => {
      if (set.has('text') || (set.has('boolean') && set.size > 1)) return { name, type: 'text' };
      if (set.has('boolean')) return { name, type: 'boolean' };
      if (set.has('real')) return { name, type: 'real' };
      return { name, type: set.has('integer') ? 'integer' : 'text' };
    });
  }

  /** Longest value of each field as text, in UTF-8 bytes (0 when always null). */
  textBytes(): Record<string, number> {
    return Object.fromEntries(this.longest);
  }
}

/** Turns one instance's mask into its feature: the per-feature step both the in-memory and the streamed exports take. */
export interface FeatureTracer {
  /** "EPSG:n" or WKT of the output coordinates. */
  crs: string;
  /** The feature of `rec` from its mask over rec.bbox (1 = the instance, row-major); null when the mask is empty. */
  feature(rec: InstanceRecord, mask: Uint8Array): VectorFeature | null;
}

/** Checks that a result can become vectors (2D, georeferenced, a known output CRS) and sets up the per-feature step. */
export function featureTracer(geometry: Geometry, file: string, options: VectorOptions = {}): FeatureTracer {
  if (geometry.type !== 'geo' || !geometry.crs) throw new InputError(file, 'vector exports need a georeferenced image with a CRS (GeoTIFF); use nifti, seg, csv or json');
  const crs = options.crs ?? geometry.crs;
  resolveCrs(crs); // CrsError early when the output CRS is unknown offline
  const t = outputTransform(geometry, geometry.crs, crs);
  const [sx, sy] = planarSpacing(geometry);
  const tolerance = options.toleranceMapUnits ?? Math.min(sx, sy);
  const joinDiagonals = options.joinDiagonals ?? true;
  return {
    crs,
    feature(rec, mask) {
      const x0 = rec.bbox.min[0]!;
      const y0 = rec.bbox.min[1]!;
      const w = rec.bbox.max[0]! - x0 + 1;
      const h = rec.bbox.max[1]! - y0 + 1;
      const { polygons, simplified } = maskPolygons(mask, w, h, [x0, y0], geometry, t, tolerance, joinDiagonals);
      if (polygons.length === 0) return null;
      return { id: rec.id, properties: recordProperties(rec), polygons, simplified };
    },
  };
}

/** One feature per instance of a 2D georeferenced result, in the source CRS or options.crs. */
export function buildVectorLayer(src: VectorSource, options: VectorOptions = {}): VectorLayer {
  const file = src.document.source.file;
  const tracer = featureTracer(src.geometry, file, options);
  if (src.instances.length !== src.width * src.height) throw new InputError(file, 'vector exports are 2D: the result has more than one slice');
  const { width: W, height: H, instances } = src;
  const features: VectorFeature[] = [];
  const collector = new FieldCollector();
  for (const rec of src.document.instances) {
    checkRecordBox(rec, W, H, file);
    const x0 = rec.bbox.min[0]!;
    const y0 = rec.bbox.min[1]!;
    const w = rec.bbox.max[0]! - x0 + 1;
    const h = rec.bbox.max[1]! - y0 + 1;
    const mask = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) mask[y * w + x] = instances[(y0 + y) * W + x0 + x] === rec.id ? 1 : 0;
    const f = tracer.feature(rec, mask);
    if (!f) continue;
    collector.add(f.properties);
    features.push(f);
  }
  return { name: options.layerName ?? 'instances', crs: tracer.crs, fields: collector.fields(), features };
}

/** Bounds of the outer rings of features, gathered one feature at a time. */
class Extent {
  minX = Infinity;
  minY = Infinity;
  maxX = -Infinity;
  maxY = -Infinity;
  count = 0;

  add(polygons: VPolygon[]): this {
    this.count++;
    for (const p of polygons) {
      for (const [x, y] of p[0] ?? []) {
        if (x < this.minX) this.minX = x;
        if (y < this.minY) this.minY = y;
        if (x > this.maxX) this.maxX = x;
        if (y > this.maxY) this.maxY = y;
      }
    }
    return this;
  }

  get box(): [number, number, number, number] {
    return [this.minX, this.minY, this.maxX, this.maxY];
  }
}

function bounds(features: VectorFeature[]): [number, number, number, number] {
  const e = new Extent();
  for (const f of features) e.add(f.polygons);
  return e.box;
}

/** What a writer needs before the first feature of a streamed layer. */
export interface LayerHead {
  name: string;
  /** "EPSG:n" or WKT of the coordinates. */
  crs: string;
  fields: FieldDef[];
  /** Longest value of each field as text, in UTF-8 bytes (Shapefile text column widths; FieldCollector gives it). */
  textBytes: Record<string, number>;
}

/** Features in the order they are written: an array, or a generator that traces them one at a time. */
export type FeatureStream = Iterable<VectorFeature> | AsyncIterable<VectorFeature>;

/** Characters or bytes gathered before one write of a streamed file (bounded memory, few system calls). */
const FLUSH_BYTES = 1 << 20;

// ---------------------------------------------------------------- GeoJSON

const closed = (r: VRing): XY[] => (r.length > 0 ? [...r, r[0]!] : r);

function geojsonFeature(f: VectorFeature): string {
  const coords = f.polygons.map((p) => p.map(closed));
  const geometry = coords.length === 1 ? { type: 'Polygon', coordinates: coords[0] } : { type: 'MultiPolygon', coordinates: coords };
  return JSON.stringify({ type: 'Feature', id: f.id, geometry, properties: f.properties });
}

function checkWgs84(crs: string): void {
  if (epsgCode(crs) !== 4326) throw new Error('GeoJSON (RFC 7946) is always WGS84 lon/lat: build the layer with crs EPSG:4326');
}

/** RFC 7946 FeatureCollection in pieces (one per feature, so big layers stream); the layer must be in EPSG:4326. */
export function* geojsonChunks(layer: VectorLayer): Generator<string> {
  checkWgs84(layer.crs);
  const b = bounds(layer.features);
  yield `{"type":"FeatureCollection","name":${JSON.stringify(layer.name)},${layer.features.length > 0 ? `"bbox":${JSON.stringify(b)},` : ''}"features":[\n`;
  let first = true;
  for (const f of layer.features) {
    yield `${first ? '' : ',\n'}${geojsonFeature(f)}`;
    first = false;
  }
  yield '\n]}\n';
}

/**
 * The same FeatureCollection from features that arrive one at a time: the bbox is known only after the last, so it
 * follows "features" (member order is free in JSON; readers see the same object).
 */
export async function* geojsonStreamChunks(head: Pick<LayerHead, 'name' | 'crs'>, features: FeatureStream): AsyncGenerator<string> {
  checkWgs84(head.crs);
  const extent = new Extent();
  let parts: string[] = [`{"type":"FeatureCollection","name":${JSON.stringify(head.name)},"features":[\n`];
  let size = 0;
  for await (const f of features) {
    const text = `${extent.count > 0 ? ',\n' : ''}${geojsonFeature(f)}`;
    extent.add(f.polygons);
    parts.push(text);
    size += text.length;
    if (size >= FLUSH_BYTES) {
      yield parts.join('');
      parts = [];
      size = 0;
    }
  }
  parts.push(`\n]${extent.count > 0 ? `,"bbox":${JSON.stringify(extent.box)}` : ''}}\n`);
  yield parts.join('');
}

export function geojsonText(layer: VectorLayer): string {
  return [...geojsonChunks(layer)].join('');
}

export async function writeGeoJson(file: string, layer: VectorLayer): Promise<void> {
  await writeChunksAtomic(file, geojsonChunks(layer));
}

/** Streamed GeoJSON, written to a temporary sibling and renamed over `file` once the last feature is in. */
export async function writeGeoJsonStream(file: string, head: Pick<LayerHead, 'name' | 'crs'>, features: FeatureStream): Promise<void> {
  await writeChunksAtomic(file, geojsonStreamChunks(head, features));
}

// ---------------------------------------------------------------- WKB / GeoPackage

/** OGC WKB MultiPolygon, little endian, rings closed. */
export function multiPolygonWkb(polys: VPolygon[]): Uint8Array {
  let size = 9;
  for (const p of polys) {
    size += 9;
    for (const r of p) size += 4 + (r.length + 1) * 16;
  }
  const buf = new ArrayBuffer(size);
  const dv = new DataView(buf);
  let o = 0;
  const head = (type: number, count: number): void => {
    dv.setUint8(o, 1);
    dv.setUint32(o + 1, type, true);
    dv.setUint32(o + 5, count, true);
    o += 9;
  };
  head(6, polys.length);
  for (const p of polys) {
    head(3, p.length);
    for (const r of p) {
      dv.setUint32(o, r.length + 1, true);
      o += 4;
      for (const [x, y] of closed(r)) {
        dv.setFloat64(o, x, true);
        dv.setFloat64(o + 8, y, true);
        o += 16;
      }
    }
  }
  return new Uint8Array(buf);
}

/** GeoPackage geometry blob: "GP", version 0, flags (little endian, xy envelope), srs id, envelope, WKB. */
export function gpkgGeometry(polys: VPolygon[], srsId: number): Uint8Array {
  const wkb = multiPolygonWkb(polys);
  const [minX, minY, maxX, maxY] = new Extent().add(polys).box;
  const out = new Uint8Array(8 + 32 + wkb.length);
  const dv = new DataView(out.buffer);
  out[0] = 0x47;
  out[1] = 0x50;
  out[2] = 0;
  out[3] = 0b0000_0011; // envelope [minx, maxx, miny, maxy], little endian
  dv.setInt32(4, srsId, true);
  [minX, maxX, minY, maxY].forEach((v, i) => dv.setFloat64(8 + i * 8, v, true));
  out.set(wkb, 40);
  return out;
}

const sqlName = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** GeoPackage 1.2 bytes with one feature table (MULTIPOLYGON) named after the layer. */
export async function geopackageBytes(layer: VectorLayer): Promise<Uint8Array> {
  return geopackageFromStream(layer, layer.features);
}

/**
 * GeoPackage 1.2 bytes from features that arrive one at a time. The database lives in sql.js's memory: each feature
 * costs its stored row (geometry blob + attributes), never the raster it was traced from; the layer's extent is
 * written after the last feature.
 */
export async function geopackageFromStream(head: Pick<LayerHead, 'name' | 'crs' | 'fields'>, features: FeatureStream): Promise<Uint8Array> {
  const { default: initSqlJs } = await import('sql.js');
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  try {
    const code = epsgCode(head.crs);
    const srsId = code ?? 100000;
    const r = resolveCrs(head.crs);
    db.run('PRAGMA application_id = 1196444487'); // "GPKG"
    db.run('PRAGMA user_version = 10200');
    db.run(`CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
      organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)`);
    db.run(`CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '',
      last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
      CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))`);
    db.run(`CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL,
      z TINYINT NOT NULL, m TINYINT NOT NULL, CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
      CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name), CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))`);
    const srs = db.prepare('INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)');
    srs.run(['Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system']);
    srs.run(['Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system']);
    srs.run(['WGS 84 geodetic', 4326, 'EPSG', 4326, crsToWkt('EPSG:4326', 'ogc'), 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid']);
    if (srsId !== 4326) srs.run([r.name, srsId, code !== null ? 'EPSG' : 'NONE', code ?? srsId, crsToWkt(head.crs, 'ogc'), null]);
    srs.free();
    db.run('INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES (?, ?, ?, ?, ?)', [head.name, 'features', head.name, 'Delineate instances', srsId]);
    db.run('INSERT INTO gpkg_geometry_columns VALUES (?, ?, ?, ?, 0, 0)', [head.name, 'geom', 'MULTIPOLYGON', srsId]);
    const sqlType: Record<FieldDef['type'], string> = { integer: 'INTEGER', real: 'DOUBLE', text: 'TEXT', boolean: 'BOOLEAN' };
    const columns = head.fields.filter((f) => f.name.toLowerCase() !== 'fid' && f.name.toLowerCase() !== 'geom');
    db.run(`CREATE TABLE ${sqlName(head.name)} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, geom MULTIPOLYGON${columns.map((c) => `, ${sqlName(c.name)} ${sqlType[c.type]}`).join('')})`);
    const insert = db.prepare(`INSERT INTO ${sqlName(head.name)} (fid, geom${columns.map((c) => `, ${sqlName(c.name)}`).join('')}) VALUES (?, ?${columns.map(() => ', ?').join('')})`);
    const extent = new Extent();
    try {
      db.run('BEGIN');
      for await (const f of features) {
        const values = columns.map((c) => {
          const v = f.properties[c.name] ?? null;
          return typeof v === 'boolean' ? (v ? 1 : 0) : v;
        });
        insert.run([f.id, gpkgGeometry(f.polygons, srsId), ...values]);
        extent.add(f.polygons);
      }
      db.run('COMMIT');
    } finally {
      insert.free();
    }
    if (extent.count > 0) db.run('UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ? WHERE table_name = ?', [...extent.box, head.name]);
    return db.export();
  } finally {
    db.close();
  }
}

export async function writeGeoPackage(file: string, layer: VectorLayer): Promise<void> {
  await writeFileAtomic(file, await geopackageBytes(layer));
}

/** A GeoPackage of streamed features, written atomically once complete. */
export async function writeGeoPackageStream(file: string, head: Pick<LayerHead, 'name' | 'crs' | 'fields'>, features: FeatureStream): Promise<void> {
  await writeFileAtomic(file, await geopackageFromStream(head, features));
}

// ---------------------------------------------------------------- Shapefile

/** dBase field names: at most 10 ASCII characters, unique. */
export function dbfFieldNames(names: string[]): string[] {
  const used = new Set<string>();
  return names.map((n) => {
    const base = n.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 10) || 'field';
    let name = base;
    for (let k = 1; used.has(name.toUpperCase()); k++) name = `${base.slice(0, 10 - String(k).length - 1)}_${k}`;
    used.add(name.toUpperCase());
    return name;
  });
}

interface DbfField {
  name: string;
  type: 'C' | 'N' | 'L';
  length: number;
  decimals: number;
  source: FieldDef;
}

function dbfNumber(v: number, f: DbfField): string {
  let s = f.decimals > 0 ? v.toFixed(f.decimals) : String(Math.round(v));
  if (s.length > f.length) s = v.toExponential(f.length - 8);
  return s.padStart(f.length, ' ');
}

function dbfFields(head: LayerHead): DbfField[] {
  const names = dbfFieldNames(head.fields.map((f) => f.name));
  return head.fields.map((f, i) => {
    const name = names[i]!;
    if (f.type === 'integer') return { name, type: 'N', length: 11, decimals: 0, source: f };
    if (f.type === 'real') return { name, type: 'N', length: 24, decimals: 10, source: f };
    if (f.type === 'boolean') return { name, type: 'L', length: 1, decimals: 0, source: f };
    return { name, type: 'C', length: Math.min(254, Math.max(1, head.textBytes[f.name] ?? 0)), decimals: 0, source: f };
  });
}

/** The .dbf header for `count` records (the count is patched in when a streamed layer ends). */
function dbfHeader(fields: DbfField[], count: number, now: Date): Uint8Array {
  const enc = new TextEncoder();
  const headerLength = 32 + 32 * fields.length + 1;
  const recordLength = 1 + fields.reduce((n, f) => n + f.length, 0);
  const out = new Uint8Array(headerLength);
  const dv = new DataView(out.buffer);
  out[0] = 0x03;
  out[1] = now.getUTCFullYear() - 1900;
  out[2] = now.getUTCMonth() + 1;
  out[3] = now.getUTCDate();
  dv.setUint32(4, count, true);
  dv.setUint16(8, headerLength, true);
  dv.setUint16(10, recordLength, true);
  out[29] = 0x57; // language driver: ANSI; the .cpg says UTF-8
  fields.forEach((f, i) => {
    const at = 32 + i * 32;
    out.set(enc.encode(f.name), at);
    out[at + 11] = f.type.charCodeAt(0);
    out[at + 16] = f.length;
    out[at + 17] = f.decimals;
  });
  out[headerLength - 1] = 0x0d;
  return out;
}

function dbfRecord(ft: VectorFeature, fields: DbfField[], enc: TextEncoder): Uint8Array {
  const out = new Uint8Array(1 + fields.reduce((n, f) => n + f.length, 0));
  let o = 0;
  out[o++] = 0x20;
  for (const f of fields) {
    const v = ft.properties[f.source.name] ?? null;
    let text: Uint8Array;
    if (f.type === 'N') text = enc.encode(typeof v === 'number' ? dbfNumber(v, f) : ''.padStart(f.length, ' '));
    else if (f.type === 'L') text = enc.encode(v === true ? 'T' : v === false ? 'F' : '?');
    else {
      let b = enc.encode(v === null ? '' : String(v));
      if (b.length > f.length) {
        // Cut on a character boundary.
        let cut = f.length;
        while (cut > 0 && (b[cut]! & 0xc0) === 0x80) cut--;
        b = b.subarray(0, cut);
      }
      text = new Uint8Array(f.length).fill(0x20);
      text.set(b);
    }
    out.set(text.subarray(0, f.length), o);
    o += f.length;
  }
  return out;
}

/** The 100-byte header .shp and .shx share: file length and the layer's bounds (zeros when empty). */
function shpHeader(lengthBytes: number, box: [number, number, number, number] | null): Uint8Array {
  const out = new Uint8Array(100);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, 9994, false);
  dv.setInt32(24, lengthBytes / 2, false);
  dv.setInt32(28, 1000, true);
  dv.setInt32(32, 5, true);
  (box ?? [0, 0, 0, 0]).forEach((v, i) => dv.setFloat64(36 + i * 8, v, true));
  return out;
}

/** One polygon record (number k, 1-based) of the .shp: outer rings clockwise, holes counter-clockwise, as ESRI wants. */
function shpRecord(f: VectorFeature, k: number): Uint8Array {
  const rings = f.polygons.flatMap((p) => p.map((r) => closed([...r].reverse())));
  const points = rings.reduce((n, r) => n + r.length, 0);
  const content = 44 + 4 * rings.length + 16 * points;
  const out = new Uint8Array(8 + content);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, k, false);
  dv.setInt32(4, content / 2, false);
  let o = 8;
  const [minX, minY, maxX, maxY] = new Extent().add(f.polygons).box;
  dv.setInt32(o, 5, true);
  [minX, minY, maxX, maxY].forEach((v, i) => dv.setFloat64(o + 4 + i * 8, v, true));
  dv.setInt32(o + 36, rings.length, true);
  dv.setInt32(o + 40, points, true);
  o += 44;
  let start = 0;
  for (const ring of rings) {
    dv.setInt32(o, start, true);
    o += 4;
    start += ring.length;
  }
  for (const ring of rings) {
    for (const [x, y] of ring) {
      dv.setFloat64(o, x, true);
      dv.setFloat64(o + 8, y, true);
      o += 16;
    }
  }
  return out;
}

/** A temporary sibling written in appended chunks, whose first bytes can be rewritten before it is renamed. */
class StreamedFile {
  readonly tmp: string;
  private parts: Uint8Array[] = [];
  private size = 0;
  /** Bytes written or queued. */
  length = 0;

  private constructor(
    readonly target: string,
    private readonly fh: FileHandle,
    tmp: string,
  ) {
    this.tmp = tmp;
  }

  static async open(target: string): Promise<StreamedFile> {
    const tmp = tempSibling(target);
    return new StreamedFile(target, await fs.open(tmp, 'w'), tmp);
  }

  async append(bytes: Uint8Array): Promise<void> {
    this.parts.push(bytes);
    this.size += bytes.length;
    this.length += bytes.length;
    if (this.size >= FLUSH_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.size === 0) return;
    const data = Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    await this.fh.write(data);
  }

  /** Writes what is queued, puts `head` at offset 0, and syncs. */
  async finish(head: Uint8Array): Promise<void> {
    await this.flush();
    await this.fh.write(head, 0, head.length, 0);
    await this.fh.sync();
    await this.fh.close();
  }

  async discard(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await fs.rm(this.tmp, { force: true });
  }
}

/** Shapefile offsets and lengths are counted in 16-bit words in signed 32-bit fields. */
const SHP_MAX_BYTES = 2 * 0x7fffffff;

/** Writes base.shp, .shx, .dbf, .prj (ESRI WKT) and .cpg; `file` is the .shp path. Returns the written paths. */
export async function writeShapefile(file: string, layer: VectorLayer): Promise<string[]> {
  const collector = new FieldCollector();
  for (const f of layer.features) collector.add(f.properties);
  return writeShapefileStream(file, { name: layer.name, crs: layer.crs, fields: layer.fields, textBytes: collector.textBytes() }, layer.features);
}

/**
 * The Shapefile of features that arrive one at a time: records go straight to temporary .shp/.shx/.dbf siblings
 * (fixed layouts), and the headers (file lengths, bounds, record count) are written over the placeholders at the
 * end. Then every part is renamed into place, the .shp last: a reader that finds it finds its companions complete.
 */
export async function writeShapefileStream(file: string, head: LayerHead, features: FeatureStream): Promise<string[]> {
  const base = file.replace(/\.shp$/i, '');
  const prj = crsToWkt(head.crs, 'esri');
  const fields = dbfFields(head);
  const now = new Date();
  const enc = new TextEncoder();
  const files: StreamedFile[] = [];
  try {
    for (const ext of ['dbf', 'shx', 'shp']) files.push(await StreamedFile.open(`${base}.${ext}`));
    const [dbf, shx, shp] = files as [StreamedFile, StreamedFile, StreamedFile];
    const dbfHead = dbfHeader(fields, 0, now);
    await dbf.append(new Uint8Array(dbfHead.length));
    await shp.append(new Uint8Array(100));
    await shx.append(new Uint8Array(100));
    const extent = new Extent();
    const index = new Uint8Array(8);
    const xv = new DataView(index.buffer);
    for await (const f of features) {
      const rec = shpRecord(f, extent.count + 1);
      if (shp.length + rec.length > SHP_MAX_BYTES) throw new InputError(`${base}.shp`, 'the layer is larger than a Shapefile can hold (4 GB): export gpkg instead');
      xv.setInt32(0, shp.length / 2, false);
      xv.setInt32(4, (rec.length - 8) / 2, false);
      await shx.append(index.slice());
      await shp.append(rec);
      await dbf.append(dbfRecord(f, fields, enc));
      extent.add(f.polygons);
    }
    await dbf.append(Uint8Array.of(0x1a));
    const box = extent.count > 0 ? extent.box : null;
    await dbf.finish(dbfHeader(fields, extent.count, now));
    await shx.finish(shpHeader(shx.length, box));
    await shp.finish(shpHeader(shp.length, box));
  } catch (err) {
    for (const f of files) await f.discard();
    throw err;
  }
  try {
    await fs.rename(files[0]!.tmp, files[0]!.target);
    await writeFileAtomic(`${base}.prj`, prj);
    await writeFileAtomic(`${base}.cpg`, 'UTF-8');
    await fs.rename(files[1]!.tmp, files[1]!.target);
    await fs.rename(files[2]!.tmp, files[2]!.target);
  } catch (err) {
    for (const f of files) await fs.rm(f.tmp, { force: true });
    throw err;
  }
  return [`${base}.dbf`, `${base}.prj`, `${base}.cpg`, `${base}.shx`, `${base}.shp`];
}
