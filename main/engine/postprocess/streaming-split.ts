// The boundary-head instance split (instances.ts) for label rasters too large for memory, read strip by strip
// from disk, with the same objects and ids as splitInstancesByBoundary on the whole map:
//
// The whole-map split works class by class, and within a class every step stays inside one 8-connected component
// of the class's pixels: seeds are 8-connected sets of class pixels, the watershed grows them over class pixels
// through 8-neighbours, and the pixels no seed reaches are 8-connected leftovers. The flooding order restricted
// to one component is the same whether the other components are there or not (one queue per level, FIFO, and the
// level pointer never passes a level the component still has pixels in). So the split of the whole map is the
// union of the splits of its components, each done on the component's bounding box alone.
//
// Pass 1: 8-connected components of every class (streaming.ts streamComponents: ids in raster order of their
//   first pixel, bounding boxes, written to a temporary raster).
// Pass 2: strip by strip, every component whose first row is in the strip is split on its bounding-box crop (from a
//   rolling window of two strips, or a read of its own when taller); its pieces get their first pixel and size.
//   Pieces whose first pixel lies in the strip then get their final ids (raster order of first pixel, pieces below
//   minPixels dropped) - every piece that comes earlier in raster order is known by then. The strip's pixels are
//   mapped to final ids and written; statistics (probability, intensity) are gathered in raster order, so they
//   equal statsFromInstanceMap's bit for bit.
// Pass 3: shape measurements as streaming.ts does (streamShapes).
// Memory: two strips, plus the crops of components that reach past the current strip.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ClassRecord, Geometry, InstanceRecord, ManifestClass } from '../../../preload/formats';
import type { PixelArray } from '../image';
import { openGeoTiff } from '../io/geotiff';
import { TiffWriter } from '../io/tiff-writer';
import { throwIfAborted, yielder } from '../inference/tiling';
import type { GeoMeasurer } from '../measure/geo';
import { addPixel, newComponentStats, type ComponentStats, type Connectivity } from './components';
import { DEFAULT_MIN_SEED_PX, DEFAULT_SEED_THRESHOLD, splitInstancesByBoundary } from './instances';
import { STRIP_ROWS, bytesToUnit, measureInstanceMap, streamComponents, writeInstanceRecords, type RecordSink } from './streaming';
import { openInstanceWriter, readRows as rows, StatsTable, writeInstanceRows, type RowSource } from './streaming-common';

export interface StreamingSplitInput {
  /** Class labels (0 = background, nodataLabel = nodata). */
  labels: RowSource;
  nodataLabel: number;
  /** Boundary probability x 255 (uint8), same size: the model's boundary head (a distance head already turned). */
  boundary: RowSource;
  /** Probability of the assigned class x 255 (uint8). */
  probability?: RowSource;
  /** Channel-0 intensities. */
  intensity?: RowSource;
  minPixels?: number;
  seedThreshold?: number;
  minSeedPx?: number;
  stripRows?: number;
  /** Where the instance map goes (uint16, or uint32 from 65536 instances). */
  instancesPath: string;
  geometry: Geometry;
  signal?: AbortSignal;
}

/** A component's split, kept while strips it covers are still to be written. */
interface SplitCrop {
  x0: number;
  y0: number;
  w: number;
  lastRow: number;
  /** Piece of each crop pixel (1..m local, 0 outside the component). */
  local: Uint32Array;
  /** Provisional id of local piece 1 minus one. */
  base: number;
}

/** Passes 1 and 2 (see the header): the instance map on disk and the statistics of every instance. */
export async function streamBoundarySplit(input: StreamingSplitInput): Promise<{ stats: ComponentStats[]; perValue: Float64Array; valid: number; maxLabel: number }> {
  const { width: W, height: H } = input.labels;
  const S = input.stripRows ?? STRIP_ROWS;
  const tileSize = S % 256 === 0 ? 256 : S;
  const minPixels = input.minPixels ?? 0;
  const cc = await streamComponents({ labels: input.labels, nodataLabel: input.nodataLabel, connectivity: 8, geometry: input.geometry, stripRows: S, ...(input.signal ? { signal: input.signal } : {}) });
  const tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'delineate-split-'));
  const wideTmp = path.join(tmpDir, 'instances-u32.tif');
  const writers: TiffWriter[] = [];
  const comps = cc.stats;
  try {
    const compSrc = await openGeoTiff(cc.instancesPath);
    // Pieces by provisional id (index 0 unused): first pixel (raster index), size, class, final id.
    let first = new Float64Array(1024);
    let size = new Float64Array(1024);
    let cls = new Int32Array(1024);
    let finalOf = new Uint32Array(1024);
    let pieces = 0;
    const grow = (n: number): void => {
      if (n < first.length) return;
      const m = Math.max(n + 1, first.length * 2);
      const f = new Float64Array(m);
      f.set(first);
      first = f;
      const s = new Float64Array(m);
      s.set(size);
      size = s;
      const c = new Int32Array(m);
      c.set(cls);
      cls = c;
      const o = new Uint32Array(m);
      o.set(finalOf);
      finalOf = o;
    };
    let pending: number[] = []; // provisional ids without a final id yet
    let nextFinal = 0;
    const perValue = cc.perValue;
    const stats: ComponentStats[] = [];
    const open = new Map<number, SplitCrop>();
    const pause = yielder(input.signal);
    const writer = await TiffWriter.open(wideTmp, { width: W, height: H, channels: 1, dtype: 'uint32', geometry: input.geometry }, { tileSize });
    writers.push(writer);
    try {
      let next = 0; // first component not yet split (ids grow with their first row)
      for (let y0 = 0; y0 < H; y0 += S) {
        throwIfAborted(input.signal);
        const stripRowsHere = Math.min(S, H - y0);
        const winRows = Math.min(2 * S, H - y0);
        const winComp = await rows(compSrc, y0, winRows);
        const winBoundary = await rows(input.boundary, y0, winRows);
        // ---- split the components that start in this strip
        for (; next < comps.length && comps[next]!.min[1] < y0 + S; next++) {
          await pause();
          const c = comps[next]!;
          const [x0, cy0] = c.min;
          const w = c.max[0] - x0 + 1;
          const h = c.max[1] - cy0 + 1;
          let compCrop: PixelArray;
          let bCrop: PixelArray;
          let stride: number;
          let offset: number;
          if (c.max[1] < y0 + winRows) {
            compCrop = winComp;
            bCrop = winBoundary;
            stride = W;
            offset = (cy0 - y0) * W + x0;
          } else {
            compCrop = await rows(compSrc, cy0, h, x0, w);
            bCrop = await rows(input.boundary, cy0, h, x0, w);
            stride = w;
            offset = 0;
          }
          const mask = new Uint8Array(w * h);
          const elevation = new Float32Array(w * h);
          for (let y = 0; y < h; y++) {
            for (let x = 0; x < w; x++) {
              const j = offset + y * stride + x;
              if (compCrop[j] !== c.id) continue;
              mask[y * w + x] = 1;
            }
            // The whole-map stage reads the stored p x 255 back as float32 v / 255: the same values here.
            const row = bytesToUnit(bCrop.subarray(offset + y * stride, offset + y * stride + w));
            elevation.set(row, y * w);
          }
          const local = splitInstancesByBoundary({
            labels: mask,
            width: w,
            height: h,
            depth: 1,
            nodataLabel: 255,
            boundary: elevation,
            seedThreshold: input.seedThreshold ?? DEFAULT_SEED_THRESHOLD,
            minSeedPx: input.minSeedPx ?? DEFAULT_MIN_SEED_PX,
          });
          const base = pieces;
          for (let i = 0; i < local.length; i++) {
            const id = local[i]!;
            if (id === 0) continue;
            const p = base + id;
            if (p > pieces) {
              // Local ids come in raster order of their first pixel: a new id is one more than the last.
              pieces = p;
              grow(p);
              first[p] = (cy0 + Math.floor(i / w)) * W + x0 + (i % w);
              cls[p] = c.classId;
              pending.push(p);
            }
            size[p]!++;
          }
          open.set(c.id, { x0, y0: cy0, w, lastRow: c.max[1], local, base });
        }
        // ---- final ids of the pieces that start in this strip (every earlier piece is known now)
        const limit = (y0 + stripRowsHere) * W;
        const ready = pending.filter((p) => first[p]! < limit).sort((a, b) => first[a]! - first[b]!);
        pending = pending.filter((p) => first[p]! >= limit);
        for (const p of ready) {
          if (size[p]! < minPixels) {
            perValue[cls[p]!]! -= size[p]!;
            continue;
          }
          finalOf[p] = ++nextFinal;
        }
        // ---- write the strip, gathering statistics in raster order
        const prob = input.probability ? bytesToUnit(await rows(input.probability, y0, stripRowsHere)) : null;
        const intensity = input.intensity ? await rows(input.intensity, y0, stripRowsHere) : null;
        const out = new Uint32Array(W * stripRowsHere);
        let lastComp = 0;
        let crop: SplitCrop | undefined;
        for (let y = 0; y < stripRowsHere; y++) {
          const gy = y0 + y;
          for (let x = 0; x < W; x++) {
            const i = y * W + x;
            const comp = winComp[i]!;
            if (comp === 0) continue;
            if (comp !== lastComp) {
              crop = open.get(comp);
              lastComp = comp;
            }
            const id = finalOf[crop!.base + crop!.local[(gy - crop!.y0) * crop!.w + (x - crop!.x0)]!]!;
            if (id === 0) continue;
            out[i] = id;
            let s = stats[id - 1];
            if (!s) s = stats[id - 1] = newComponentStats(id, comps[comp - 1]!.classId, x, gy, 0);
            addPixel(s, x, gy, 0, prob?.[i], intensity?.[i]);
          }
        }
        await writer.writeWindow(0, y0, W, stripRowsHere, out);
        for (const [id, cr] of open) if (cr.lastRow < y0 + S) open.delete(id);
      }
      await writer.close();
      writers.length = 0;
    } finally {
      await compSrc.close();
    }
    // ---- the instance map at its narrowest type, as the whole-map stage writes it
    const wide = nextFinal >= 65536;
    const target = await openInstanceWriter(input.instancesPath, W, H, wide, input.geometry, tileSize);
    writers.push(target);
    const wideSrc = await openGeoTiff(wideTmp);
    try {
      for (let y0 = 0; y0 < H; y0 += S) {
        throwIfAborted(input.signal);
        const n = Math.min(S, H - y0);
        await writeInstanceRows(target, y0, n, await rows(wideSrc, y0, n), wide);
      }
    } finally {
      await wideSrc.close();
    }
    await target.close();
    writers.length = 0;
    return { stats, perValue, valid: cc.valid, maxLabel: cc.maxLabel };
  } catch (err) {
    for (const w of writers) await w.abort().catch(() => undefined);
    await fs.rm(input.instancesPath, { force: true });
    throw err;
  } finally {
    await cc.cleanup();
    await fs.rm(tmpDir, { recursive: true, force: true });
  }
}

export interface StreamingSplitMeasureInput extends StreamingSplitInput {
  connectivity: Connectivity;
  classes: ManifestClass[];
  geo?: GeoMeasurer | null;
}

/** The boundary split and the measurements of its instances, as the whole-map postprocess gives them. */
export async function measureStreamingSplit(input: StreamingSplitMeasureInput): Promise<{ instances: InstanceRecord[]; classes: ClassRecord[] }> {
  const split = await streamBoundarySplit(input);
  return measureInstanceMap(split.stats, input.instancesPath, input.classes, split, input);
}

/**
 * measureStreamingSplit with the records handed to `sink` a chunk at a time (id order) instead of returned: the
 * split's statistics are turned into columns (StatsTable) before the records are made, so only one chunk of
 * records exists at a time.
 */
export async function measureStreamingSplitTo(input: StreamingSplitMeasureInput, sink: RecordSink): Promise<{ classes: ClassRecord[]; count: number }> {
  const split = await streamBoundarySplit(input);
  const table = StatsTable.fromArray(split.stats);
  split.stats.length = 0;
  return writeInstanceRecords(table, input.instancesPath, input.classes, split, input, sink);
}
