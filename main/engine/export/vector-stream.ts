// Vector export (GeoJSON, GeoPackage, Shapefile) of a result whose instance map is too large for memory: the map is
// read from its tiled GeoTIFF by blocks, each object's outline is traced from a window over its bounding box, and
// features go to the writer one at a time. Geometry and attributes are those buildVectorLayer gives for the same
// result in memory (one per-feature step, vector.ts featureTracer). Records come in id order, which for every
// result this engine writes is raster order of each object's first pixel, so the reads sweep down the raster and a
// decoded block is used by every object that needs it before it is dropped. Memory: the largest object's mask and
// blocks plus two rows of blocks (and, for a GeoPackage, the database's rows; see geopackageFromStream).
import type { Geometry, InstanceRecord } from '../../../preload/formats';
import { BYTES_PER_SAMPLE, InputError, type ImageSource } from '../image';
import { FieldCollector, checkRecordBox, featureTracer, recordProperties, writeGeoJsonStream, writeGeoPackageStream, writeShapefileStream, type FeatureTracer, type LayerHead, type VectorFeature, type VectorOptions } from './vector';

export const VECTOR_FORMATS = ['geojson', 'gpkg', 'shp'] as const;
export type VectorFormat = (typeof VECTOR_FORMATS)[number];

export const isVectorFormat = (format: string): format is VectorFormat => (VECTOR_FORMATS as readonly string[]).includes(format);

/** Instance ids of a 2D map read by window, as they read now (a caller with edits applies them). */
export interface IdWindowReader {
  width: number;
  height: number;
  /** Reads are aligned to blocks of this size (the file's tiles), so each is decoded once. */
  blockWidth: number;
  blockHeight: number;
  /** Bytes per id held in memory (the memory figure of the block cache). */
  bytesPerId: number;
  /** Ids of [x, x + width) x [y, y + height), row-major. */
  read(x: number, y: number, width: number, height: number): Promise<ArrayLike<number>>;
}

/** Reader of band 0 of an instance raster: the file's tiles, or 256-row bands of a striped file. */
export function idReaderOf(src: ImageSource): IdWindowReader {
  if (src.depth !== 1) throw new InputError(src.file, `the instance map has ${src.depth} slices: vector exports are 2D`);
  const m = src.meta;
  const tiled = m.tiled === true && typeof m.blockWidth === 'number' && typeof m.blockHeight === 'number';
  return {
    width: src.width,
    height: src.height,
    blockWidth: tiled ? (m.blockWidth as number) : src.width,
    blockHeight: tiled ? (m.blockHeight as number) : Math.min(src.height, 256),
    bytesPerId: BYTES_PER_SAMPLE[src.dtype],
    read: async (x, y, width, height) => (await src.read({ x, y, width, height, channels: [0] })).data,
  };
}

/** A 2D result read by window: its instance map and its records. */
export interface StreamedVectorInput {
  /** Named in errors (the result folder or the image). */
  file: string;
  geometry: Geometry;
  ids: IdWindowReader;
  /** The records to export, in output order; called twice (fields first, then the features). */
  records: () => Iterable<InstanceRecord> | AsyncIterable<InstanceRecord>;
  /** Most decoded blocks kept (tests force evictions); default two rows of blocks plus the largest object's blocks. */
  cacheBlocks?: number;
}

/** What one pass over the records tells before any pixel is read. */
interface Survey {
  fields: LayerHead['fields'];
  textBytes: LayerHead['textBytes'];
  count: number;
  /** Blocks the largest bounding box covers. */
  largestBlocks: number;
  /** Whether bbox top rows never decrease in record order (then rows of blocks above the current object can go). */
  rowOrdered: boolean;
}

/** Records whose blocks are being read while an earlier record is traced (reads and decoding overlap tracing). */
const LOOKAHEAD = 16;

/** Decoded blocks of the id map (or their reads in flight), kept least-recently-used first. */
class BlockCache {
  private readonly blocks = new Map<number, Promise<ArrayLike<number>>>();
  readonly across: number;
  readonly blockW: number;
  readonly blockH: number;
  /** Blocks decoded (tests and the benchmark look at reuse). */
  reads = 0;

  constructor(
    readonly ids: IdWindowReader,
    private readonly capacity: number,
  ) {
    this.blockW = ids.blockWidth;
    this.blockH = ids.blockHeight;
    this.across = Math.ceil(ids.width / this.blockW);
  }

  block(bx: number, by: number): Promise<ArrayLike<number>> {
    const key = by * this.across + bx;
    const hit = this.blocks.get(key);
    if (hit) {
      this.blocks.delete(key);
      this.blocks.set(key, hit);
      return hit;
    }
    const x = bx * this.blockW;
    const y = by * this.blockH;
    const read = this.ids.read(x, y, Math.min(this.blockW, this.ids.width - x), Math.min(this.blockH, this.ids.height - y));
    this.reads++;
    this.blocks.set(key, read);
    while (this.blocks.size > this.capacity) this.blocks.delete(this.blocks.keys().next().value!);
    return read;
  }

  /** Starts reading the blocks under a record's box; a failure surfaces when the record is traced. */
  prefetch(rec: InstanceRecord): void {
    for (let by = Math.floor(rec.bbox.min[1]! / this.blockH); by <= Math.floor(rec.bbox.max[1]! / this.blockH); by++) {
      for (let bx = Math.floor(rec.bbox.min[0]! / this.blockW); bx <= Math.floor(rec.bbox.max[0]! / this.blockW); bx++) this.block(bx, by).catch(() => undefined);
    }
  }

  /** Forgets the blocks of rows above `by` (no later object needs them when objects come in row order). */
  dropAbove(by: number): void {
    for (const key of [...this.blocks.keys()]) if (Math.floor(key / this.across) < by) this.blocks.delete(key);
  }
}

async function survey(input: StreamedVectorInput, blockW: number, blockH: number): Promise<Survey> {
  const collector = new FieldCollector();
  let count = 0;
  let largestBlocks = 1;
  let lastTop = -1;
  let rowOrdered = true;
  for await (const rec of input.records()) {
    checkRecordBox(rec, input.ids.width, input.ids.height, input.file);
    collector.add(recordProperties(rec));
    count++;
    const blocks = (Math.floor(rec.bbox.max[0]! / blockW) - Math.floor(rec.bbox.min[0]! / blockW) + 1) * (Math.floor(rec.bbox.max[1]! / blockH) - Math.floor(rec.bbox.min[1]! / blockH) + 1);
    largestBlocks = Math.max(largestBlocks, blocks);
    if (rec.bbox.min[1]! < lastTop) rowOrdered = false;
    lastTop = rec.bbox.min[1]!;
  }
  return { fields: collector.fields(), textBytes: collector.textBytes(), count, largestBlocks, rowOrdered };
}

/** The mask of `rec` over its bbox (1 where the map reads rec.id now), assembled from cached blocks. */
async function maskOf(rec: InstanceRecord, cache: BlockCache): Promise<Uint8Array> {
  const x0 = rec.bbox.min[0]!;
  const y0 = rec.bbox.min[1]!;
  const x1 = rec.bbox.max[0]!;
  const y1 = rec.bbox.max[1]!;
  const w = x1 - x0 + 1;
  const mask = new Uint8Array(w * (y1 - y0 + 1));
  const { blockW, blockH } = cache;
  const id = rec.id;
  for (let by = Math.floor(y0 / blockH); by <= Math.floor(y1 / blockH); by++) {
    for (let bx = Math.floor(x0 / blockW); bx <= Math.floor(x1 / blockW); bx++) {
      const data = await cache.block(bx, by);
      // Edge blocks are read clipped to the raster: their rows are what remains of it.
      const rowLength = Math.min(blockW, cache.ids.width - bx * blockW);
      const ax = Math.max(x0, bx * blockW);
      const bxEnd = Math.min(x1, bx * blockW + blockW - 1);
      const ay = Math.max(y0, by * blockH);
      const byEnd = Math.min(y1, by * blockH + blockH - 1);
      for (let y = ay; y <= byEnd; y++) {
        const src = (y - by * blockH) * rowLength - bx * blockW;
        const dst = (y - y0) * w - x0;
        for (let x = ax; x <= bxEnd; x++) mask[dst + x] = data[src + x] === id ? 1 : 0;
      }
    }
  }
  return mask;
}

/**
 * The features of the input's records, traced one at a time from windows of the instance map. The blocks of the next
 * LOOKAHEAD records are read meanwhile (decoding runs on libuv's threads while this one traces).
 */
async function* tracedFeatures(input: StreamedVectorInput, tracer: FeatureTracer, cache: BlockCache, rowOrdered: boolean): AsyncGenerator<VectorFeature> {
  const pending: InstanceRecord[] = [];
  const trace = async (rec: InstanceRecord): Promise<VectorFeature | null> => {
    // Later records start on this row or below (row order), so rows above it are done with.
    if (rowOrdered) cache.dropAbove(Math.floor(rec.bbox.min[1]! / cache.blockH));
    return tracer.feature(rec, await maskOf(rec, cache));
  };
  for await (const rec of input.records()) {
    checkRecordBox(rec, input.ids.width, input.ids.height, input.file);
    pending.push(rec);
    cache.prefetch(rec);
    if (pending.length > LOOKAHEAD) {
      const f = await trace(pending.shift()!);
      if (f) yield f;
    }
  }
  for (const rec of pending) {
    const f = await trace(rec);
    if (f) yield f;
  }
}

export interface StreamedVectorReport {
  written: string[];
  /** Records read. */
  instances: number;
  /** Features written (records whose map has no pixel left are skipped, as in memory). */
  records: number;
  /** Blocks decoded, and the most kept at once (its bytes bound the pixel memory). */
  blockReads: number;
  cacheBlocks: number;
  cacheBlockBytes: number;
}

/**
 * Writes the input as `format` to `out` (atomically), reading the instance map by block. Options as buildVectorLayer's;
 * GeoJSON is always EPSG:4326 (the caller checks options.crs).
 */
export async function exportVectorStream(input: StreamedVectorInput, format: VectorFormat, out: string, options: VectorOptions = {}): Promise<StreamedVectorReport> {
  const tracer = featureTracer(input.geometry, input.file, format === 'geojson' ? { ...options, crs: 'EPSG:4326' } : options);
  const { blockWidth: blockW, blockHeight: blockH } = input.ids;
  const s = await survey(input, blockW, blockH);
  const capacity = Math.max(1, input.cacheBlocks ?? 2 * Math.ceil(input.ids.width / blockW) + s.largestBlocks);
  const cache = new BlockCache(input.ids, capacity);
  const head: LayerHead = { name: options.layerName ?? 'instances', crs: tracer.crs, fields: s.fields, textBytes: s.textBytes };
  let written = 0;
  const features = (async function* counted(): AsyncGenerator<VectorFeature> {
    for await (const f of tracedFeatures(input, tracer, cache, s.rowOrdered)) {
      written++;
      yield f;
    }
  })();
  let files: string[];
  if (format === 'geojson') {
    await writeGeoJsonStream(out, head, features);
    files = [out];
  } else if (format === 'gpkg') {
    await writeGeoPackageStream(out, head, features);
    files = [out];
  } else files = await writeShapefileStream(out, head, features);
  return { written: files, instances: s.count, records: written, blockReads: cache.reads, cacheBlocks: capacity, cacheBlockBytes: blockW * blockH * input.ids.bytesPerId };
}
