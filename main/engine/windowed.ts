// Window-by-window segmentation of 2D rasters too large to hold in memory (a 40000 x 40000 orthophoto). Each core
// window (2048 px, aligned to the output's 256 px TIFF tiles) is read with the context its tiles need and run on the
// whole raster's tile grid (inference/region.ts: the same tiles, blending and resampling taps as one whole-plane
// run, so window borders change nothing); the core's labels and probabilities go straight into streaming
// TiffWriters. Peak memory depends on the window, not the raster. Shards (shards.ts) run the same windows on other
// machines, and their merge feeds the stored window results through this same file (`supply`).
//
// Instances stream: components and measurements run over the written labels.tif strip by strip
// (postprocess/streaming.ts: the in-memory path's records, bounded memory), with the chosen class's probability kept
// in a scratch uint8 raster for meanProbability; a model's boundary head is kept the same way and the split runs
// component by component (postprocess/streaming-split.ts: the whole-map split's objects). Models with a boundary
// head or footprint regularisation keep a whole-map stage up to INSTANCE_MAX_PX (~10 B/px): the regularisation
// needs the whole map, so above that limit their outlines are the model's pixels (the record says so).
// Tiles that several windows need run once (windowTileCache). The streamed records never exist all at once: they go
// a chunk at a time into scratch files from which instances.json and measurements.csv are put together (and, for the
// app, records.jsonl with its index: io/record-spill.ts), so millions of objects cost ~100-130 bytes each (the
// statistics columns and the index), not a JS object graph; the outcome's document then holds no records.
// No partial output: writers write temporary files, renamed only after every window succeeded; any error or cancel
// removes them (and anything already written in this run).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { InstanceRecord, InstancesDocument, NormalizationSpec } from '../../preload/formats';
import type { SliceBitmap } from '../../preload/api';
import type { ProgressFn } from './service';
import { allocPixels, InputError, type ImageSource, type PixelArray } from './image';
import { normalizeSlice, planNormalization, type Normalizer } from './inference/normalize';
import { abortable, throwIfAborted, yielder } from './inference/tiling';
import { planGlobalGrid, planRegion, RegionScratch, runRegion, type GlobalGrid, type TileCache } from './inference/region';
import { applyCalibration, calibratedOutputs, calibrationOf } from './inference/calibration';
import { contextChannels, contextStacker } from './inference/context';
import { classChannels, labelArrayFor, probabilitiesToLabels, type LabelArray } from './postprocess/labels';
import { boundaryFromDistance, type InstanceSplitMethod } from './postprocess/instances';
import { bytesToUnit, measureStreamingTo } from './postprocess/streaming';
import { measureStreamingSplitTo } from './postprocess/streaming-split';
import { openGeoTiff } from './io/geotiff';
import { TiffWriter, writeTiff } from './io/tiff-writer';
import { writeFileAtomic } from './io/atomic';
import { writeJsonWithArray } from './io/json-stream';
import { RecordSpill, type RecordIndex } from './io/record-spill';
import { writePng } from './io/png';
import { labelColormap, overlayBitmap, overlayRgb } from './export/overlay';
import { measurementsCsv, narrowInstances } from './export/results';
import { modelMinObjectPx, openSession, prepareSegment, inferenceRecord, sourceRecord, tileProgress, timedRun, validityOf, type PreparedSegment, type SegmentOptions } from './segment-setup';
import type { Tensor4 } from './inference/runtime';
import type { PostprocessInput } from './pipeline';

/** 2D rasters above this many pixels run window by window (4096 x 4096: about 1 GB of float planes in memory). */
export const WINDOWED_MIN_PX = 4096 * 4096;
/** Up to this many pixels, models with a boundary head or regularisation get the whole-map instance stage. */
export const INSTANCE_MAX_PX = 8192 * 8192;
/** Core window edge (a multiple of the output's 256 px tiles). */
export const WINDOW_PX = 2048;
/** Most bytes of tile outputs kept for later windows: a 8192 px wide raster's border tiles (~135 MB) fit. */
export const TILE_CACHE_MAX_BYTES = 256 * 1024 * 1024;
/** Longest side of overlay.png for windowed rasters. */
const PREVIEW_PX = 2048;

type Postprocess = (p: PostprocessInput) => { instances: InstancesDocument['instances']; classes: InstancesDocument['classes']; instanceMap: Uint32Array; instanceSplit: InstanceSplitMethod };

/**
 * Whether segmentToFolder takes the windowed path for this image. `pixelScale` is the model-grid pixels per image
 * pixel (the product of the resampling factors): an image enlarged for the model needs the memory of its enlarged size.
 */
export function useWindowed(src: ImageSource, options: SegmentOptions, pixelScale = 1): boolean {
  return src.depth === 1 && src.kind !== 'medical' && src.width * src.height * pixelScale > (options.windowedMinPx ?? WINDOWED_MIN_PX);
}

/** A core (written) window of the raster's window grid. */
export interface CoreWindow {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The raster's window grid, row-major: window i of a shard run is this list's i-th. */
export function planWindows(W: number, H: number, windowPx: number): CoreWindow[] {
  const out: CoreWindow[] = [];
  for (let y = 0; y < H; y += windowPx) {
    for (let x = 0; x < W; x += windowPx) out.push({ x, y, w: Math.min(windowPx, W - x), h: Math.min(windowPx, H - y) });
  }
  return out;
}

/** The core window edge a run uses: the option (or WINDOW_PX) rounded to a multiple of 16. */
export function windowEdgePx(options: SegmentOptions): number {
  return Math.max(16, Math.round((options.windowPx ?? WINDOW_PX) / 16) * 16);
}

/** What a window's inference leaves for the rest of the run, all on the core's pixels. */
export interface WindowPlanes {
  labels: LabelArray;
  /** Probability of the chosen class; null when every tile of the window was nodata. */
  probability: Float32Array | null;
  /** Boundary head (0..1; a distance head already turned into a boundary), for the instance split. */
  boundary: Float32Array | null;
  /** p x 255 per class, channel-planar, when probabilities are kept. */
  probBytes: Uint8Array | null;
  /** The most probable other class and its probability per pixel, where the run gives sizes a range. */
  alternative: { labels: LabelArray; probability: Float32Array } | null;
  /** Tiles of the window run and skipped as nodata. */
  tiles: number;
  skipped: number;
  /** Whole-grid indices of the skipped tiles (a merge counts each once, as one in-memory run does). */
  skippedTiles: number[];
  /** Tiles whose output came from an earlier window instead of the model. */
  reused?: number;
}

/** Window results that come from elsewhere (a merge of shards) instead of the model. */
export type WindowSupply = (index: number, core: CoreWindow) => Promise<WindowPlanes>;

/** Everything a window's inference needs besides the window. */
export interface WindowInference {
  src: ImageSource;
  prep: PreparedSegment;
  grid: GlobalGrid;
  normalizer: Normalizer;
  run: (t: Tensor4) => Promise<Tensor4>;
  keepProbabilities: boolean;
  /** false: the model's raw probabilities, without the manifest's calibration (default: calibrated). */
  calibration?: boolean;
  signal?: AbortSignal | undefined;
  onTiles?: (done: number) => void;
  /** Outputs of tiles shared with later windows (windowTileCache); none: every window runs all its tiles. */
  cache?: TileCache;
  /** Blending sums reused by the run's windows (see RegionScratch); none: fresh arrays per window. */
  scratch?: RegionScratch;
}

/**
 * One core window through the model on the raster's tile grid: the read window's pixels, normalised, the region's
 * tiles, labels, chosen probability and boundary on the core. Also returns the core's image samples (all model
 * channels), so callers need not read them again.
 */
export async function inferWindow(wi: WindowInference, core: CoreWindow): Promise<{ planes: WindowPlanes; image: PixelArray; margin: [number, number] }> {
  const { src, prep, grid } = wi;
  const m = prep.manifest;
  const K = m.classes.length;
  const channels = prep.channels;
  const region = planRegion(grid, core);
  const rd = region.read;
  // Reads race the cancel: a 2300 x 2300 compressed window can take longer than a cancel may wait.
  const block = await abortable(src.read({ ...rd, channels: Array.from({ length: channels }, (_, c) => c), ...(wi.signal ? { signal: wi.signal } : {}) }), wi.signal);
  const fileMask = src.readMask ? await abortable(src.readMask(rd), wi.signal) : null;
  throwIfAborted(wi.signal);
  const px = rd.width * rd.height;
  const valid = validityOf(block.data, px, channels, src.nodata, fileMask);
  const one = normalizeSlice({ data: block.data, width: rd.width, height: rd.height, depth: 1, channels, ...(src.nodata !== undefined ? { nodata: src.nodata } : {}) }, 0, wi.normalizer, wi.scratch?.input(channels * px));
  // A 2.5D model on a single plane reads that plane as every neighbour.
  const normalized = contextStacker(() => one, 1, prep.contextSlices)(0);
  const result = await runRegion(grid, region, { data: normalized, channels: contextChannels(channels, prep.contextSlices), valid }, wi.run, {
    batch: prep.batch,
    ...(wi.signal ? { signal: wi.signal } : {}),
    ...prep.tileTransforms,
    ...(wi.onTiles ? { onTiles: wi.onTiles } : {}),
    ...(wi.cache ? { cache: wi.cache } : {}),
    ...(wi.scratch ? { scratch: wi.scratch } : {}),
  });
  const ox = core.x - rd.x;
  const oy = core.y - rd.y;
  const corePx = core.w * core.h;
  const image = crop(block.data, channels, rd.width, rd.height, ox, oy, core.w, core.h, allocPixels(src.dtype, channels * corePx));
  const validCore = valid ? crop(valid, 1, rd.width, rd.height, ox, oy, core.w, core.h, new Uint8Array(corePx)) : undefined;
  const margin: [number, number] = [Math.max(ox, rd.x + rd.width - core.x - core.w), Math.max(oy, rd.y + rd.height - core.y - core.h)];
  if (result.channels === 0) {
    const labels = labelArrayFor(K, corePx).labels.fill(labelArrayFor(K, 0).nodataLabel);
    return { planes: { labels, probability: null, boundary: null, probBytes: wi.keepProbabilities ? new Uint8Array(K * corePx) : null, alternative: null, tiles: result.tiles, skipped: result.skipped, skippedTiles: result.skippedTiles, reused: result.reused }, image, margin };
  }
  // The manifest's calibration, as in memory (pipeline.ts): thresholds and argmax see calibrated probabilities.
  const calibration = calibrationOf(m, wi.calibration !== false);
  applyCalibration(result.data, result.channels, corePx, m.outputs, K, calibration);
  const lr = probabilitiesToLabels(result.data, result.channels, corePx, calibratedOutputs(m.outputs, calibration), K, validCore);
  let boundary: Float32Array | null = null;
  const split = prep.split;
  if (split) {
    if (split.channel >= result.channels) throw new InputError(prep.model.onnxPath, `${split.kind} channel ${split.channel} does not exist: the model outputs ${result.channels} channels`);
    const head = result.data.subarray(split.channel * corePx, (split.channel + 1) * corePx);
    boundary = split.kind === 'distance' ? boundaryFromDistance(head) : Float32Array.from(head);
  }
  let probBytes: Uint8Array | null = null;
  if (wi.keepProbabilities) {
    probBytes = new Uint8Array(K * corePx);
    const bytes = probBytes;
    classChannels(m.outputs, K, result.channels).forEach((ch, k) => {
      for (let i = 0; i < corePx; i++) bytes[k * corePx + i] = Math.round(Math.min(1, Math.max(0, result.data[ch * corePx + i]!)) * 255);
    });
  }
  const sizeRange = wi.calibration !== false ? m.calibration?.sizeRange : undefined;
  const alternative = sizeRange ? { labels: lr.altLabels, probability: lr.altProbability } : null;
  return { planes: { labels: lr.labels, probability: lr.probability, boundary, probBytes, alternative, tiles: result.tiles, skipped: result.skipped, skippedTiles: result.skippedTiles, reused: result.reused }, image, margin };
}

/**
 * Keeps the output of each tile a later window also needs (windows run in the given order) until its last window
 * ran, within `maxBytes`; past that, such tiles simply run again. `startWindow(i)` drops what no window from i on needs.
 */
export function windowTileCache(tilesPerWindow: number[][], maxBytes = TILE_CACHE_MAX_BYTES): TileCache & { startWindow(i: number): void; readonly bytes: number } {
  const lastUse = new Map<number, number>();
  tilesPerWindow.forEach((tiles, w) => tiles.forEach((t) => lastUse.set(t, w)));
  const kept = new Map<number, Float32Array>();
  let bytes = 0;
  let current = 0;
  return {
    get: (t) => kept.get(t),
    offer(t, output) {
      if ((lastUse.get(t) ?? -1) <= current || kept.has(t) || bytes + output.byteLength > maxBytes) return;
      kept.set(t, output.slice());
      bytes += output.byteLength;
    },
    startWindow(i) {
      current = i;
      for (const [t, a] of kept) {
        if (lastUse.get(t)! >= i) continue;
        kept.delete(t);
        bytes -= a.byteLength;
      }
    },
    get bytes() {
      return bytes;
    },
  };
}

/**
 * Normalisation for a raster that is never read whole: fixed specs need nothing; statistics (percentiles, z-score)
 * come from an 8 x 8 grid of 128 px samples spread over the raster, about 1 Mpx, read like any window.
 */
export async function windowedNormalizer(src: ImageSource, spec: NormalizationSpec, channels: number): Promise<Normalizer> {
  const chans = Array.from({ length: channels }, (_, c) => c);
  if (spec.type === 'fixed') return planNormalization(spec, { data: new Float32Array(0), width: 0, height: 0, depth: 1, channels });
  const grid = 8;
  const s = Math.min(128, Math.floor(src.width / grid), Math.floor(src.height / grid));
  const blocks: PixelArray[] = [];
  for (let gy = 0; gy < grid; gy++) {
    for (let gx = 0; gx < grid; gx++) {
      const x = Math.floor(((gx + 0.5) * src.width) / grid - s / 2);
      const y = Math.floor(((gy + 0.5) * src.height) / grid - s / 2);
      blocks.push((await src.read({ x, y, width: s, height: s, channels: chans })).data);
    }
  }
  // Samples laid side by side per channel: a (grid^2 * s) x s image with the same channel-planar layout.
  const n = s * s;
  const data = allocPixels(src.dtype, blocks.length * n * channels);
  blocks.forEach((b, k) => {
    for (let c = 0; c < channels; c++) data.set(b.subarray(c * n, (c + 1) * n), c * blocks.length * n + k * n);
  });
  return planNormalization(spec, { data, width: blocks.length * n, height: 1, depth: 1, channels, ...(src.nodata !== undefined ? { nodata: src.nodata } : {}) });
}

/** Copies rows [y0, y0 + h) x [x0, x0 + w) of a channel-planar window (srcW x srcH) into a new array. */
function crop<T extends PixelArray | LabelArray>(data: T, channels: number, srcW: number, srcH: number, x0: number, y0: number, w: number, h: number, out: T): T {
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < h; y++) {
      const s = c * srcW * srcH + (y0 + y) * srcW + x0;
      out.set(data.subarray(s, s + w), (c * h + y) * w);
    }
  }
  return out;
}

export interface WindowedOutcome {
  /** instances: [] when the records streamed to disk (instances.json, and records.jsonl on request). */
  document: InstancesDocument;
  /** Number of instances (document.instances may be empty: see above). */
  instanceCount: number;
  /** records.jsonl in the output folder and its index, when asked for (keepRecords) and the records streamed. */
  records?: RecordIndex;
  overlay: SliceBitmap;
  skippedDevices: string[];
}

/** What segmentWindowed leaves besides the result folder's files. */
export interface WindowedOutputOptions {
  /**
   * Keep the streamed records as records.jsonl in the output folder, with their index, for a disk-kept result
   * (results/disk.ts); `sizeOf` gives a record's sort size.
   */
  keepRecords?: { sizeOf: (rec: InstanceRecord) => number };
}

/** The items of a list, checking the cancel (and letting it arrive) now and then. */
async function* checkedItems<T>(items: readonly T[], signal: AbortSignal | undefined): AsyncGenerator<T> {
  const pause = yielder(signal);
  for (const item of items) {
    await pause();
    yield item;
  }
}

/** Segments a 2D raster window by window and writes the result folder as it goes; see the file header. */
export async function segmentWindowed(
  src: ImageSource,
  outDir: string,
  options: SegmentOptions,
  onProgress: ProgressFn,
  signal: AbortSignal | undefined,
  postprocess: Postprocess,
  supply?: WindowSupply,
  output: WindowedOutputOptions = {},
): Promise<{ outcome: WindowedOutcome; files: string[] }> {
  const started = performance.now();
  const prep = await prepareSegment(src, options);
  const { manifest: m, tileSize, overlap, channels, split } = prep;
  const factor = prep.resample?.factor ?? null;
  const { width: W, height: H, geometry } = src;
  const K = m.classes.length;
  const windowPx = windowEdgePx(options);
  const writerTile = windowPx % 256 === 0 ? 256 : windowPx;
  const grid = planGlobalGrid(W, H, tileSize, overlap, factor);
  const windows = planWindows(W, H, windowPx);
  const tilesPerWindow = windows.map((w) => planRegion(grid, w).tiles);
  const tilesOf = tilesPerWindow.map((t) => t.length);
  const totalTiles = tilesOf.reduce((a, b) => a + b, 0);
  // Widest context a window read around its core (for the record).
  const ctx: [number, number] = [0, 0];
  // The whole-map instance stage only for models with a boundary split or footprint regularisation (the latter
  // needs the whole map); everything else streams (same records, bounded memory).
  const needsWholeMap = split !== null || Boolean(prep.postprocess?.regularize);
  const withInstances = needsWholeMap && W * H <= (options.instanceMaxPx ?? INSTANCE_MAX_PX);

  throwIfAborted(signal);
  onProgress({ stage: 'reading', done: 0, total: 1 });
  const normalizer = await abortable(windowedNormalizer(src, m.normalization, channels), signal);
  // With supplied window results (a merge), options.runtime is one whose session runs nothing.
  const session = await openSession(prep, options);
  if (signal?.aborted) {
    await session.dispose().catch(() => undefined);
    throwIfAborted(signal);
  }
  const clock = { ms: 0 };
  const run = timedRun(session, clock);

  const madeDir = !(await fs.stat(outDir).then(
    () => true,
    () => false,
  ));
  await fs.mkdir(outDir, { recursive: true });
  const files: string[] = [];
  const writers: TiffWriter[] = [];
  const scratch = path.join(outDir, '.chosen-probability.tif');
  const boundaryScratch = path.join(outDir, '.boundary.tif');
  // Above the in-memory limit the boundary split streams too (component by component, the same objects).
  const splitStreamed = split !== null && !withInstances;
  const { labels: labelProbe, nodataLabel } = labelArrayFor(K, 0);
  const labelDtype = labelProbe instanceof Uint16Array ? 'uint16' : 'uint8';
  const classNames = m.classes.map((c, i) => `${i + 1}=${c.name}`).join(';');
  // Whole-map arrays only for the instance stage of rasters that allow it.
  const full = withInstances
    ? {
        labels: labelArrayFor(K, W * H).labels,
        probability: new Uint8Array(W * H),
        intensity: allocPixels(src.dtype, W * H),
        boundary: split ? new Uint8Array(W * H) : null,
      }
    : null;
  const scale = Math.max(1, Math.ceil(Math.max(W, H) / PREVIEW_PX));
  const pw = Math.ceil(W / scale);
  const ph = Math.ceil(H / scale);
  const displayChannels = channels >= 3 ? 3 : 1;
  const preview = { labels: labelArrayFor(K, pw * ph).labels, image: allocPixels(src.dtype, pw * ph * displayChannels) };
  let tilesDone = 0;
  const reportTiles = tileProgress(onProgress, started, totalTiles);
  let tilesSkipped = 0;
  let tilesReused = 0;
  // Streamed records go here a chunk at a time (instances.json, measurements.csv, records.jsonl are put together at the end).
  let spill: RecordSpill | null = null;

  try {
    const labelWriter = await TiffWriter.open(
      path.join(outDir, 'labels.tif'),
      { width: W, height: H, channels: 1, dtype: labelDtype, geometry, nodata: nodataLabel },
      { colormap: labelColormap(m.classes, labelDtype === 'uint8' ? 256 : 65536), description: `labels: 0=none;${classNames};${nodataLabel}=nodata`, tileSize: writerTile },
    );
    writers.push(labelWriter);
    const probWriter = options.probabilities
      ? await TiffWriter.open(
          path.join(outDir, 'probabilities.tif'),
          { width: W, height: H, channels: K, dtype: 'uint8', geometry },
          { description: `probabilities x 255: ${m.classes.map((c) => c.name).join(';')}`, tileSize: writerTile },
        )
      : null;
    if (probWriter) writers.push(probWriter);
    // Above the instance limit: the chosen class's probability x 255 for the streaming pass, removed afterwards.
    const chosenWriter = full ? null : await TiffWriter.open(scratch, { width: W, height: H, channels: 1, dtype: 'uint8', geometry }, { tileSize: writerTile });
    if (chosenWriter) writers.push(chosenWriter);
    // The boundary head x 255 for the streamed split (the whole-map stage keeps the same bytes in memory).
    const boundaryWriter = splitStreamed ? await TiffWriter.open(boundaryScratch, { width: W, height: H, channels: 1, dtype: 'uint8', geometry }, { tileSize: writerTile }) : null;
    if (boundaryWriter) writers.push(boundaryWriter);

    const cache = supply ? null : windowTileCache(tilesPerWindow);
    const regionScratch = supply ? null : new RegionScratch();
    const inference: WindowInference = {
      src,
      prep,
      grid,
      normalizer,
      run,
      keepProbabilities: probWriter !== null,
      ...(options.calibration === false ? { calibration: false } : {}),
      signal,
      onTiles: (done) => reportTiles(tilesDone + done),
      ...(cache ? { cache } : {}),
      ...(regionScratch ? { scratch: regionScratch } : {}),
    };
    for (let wi = 0; wi < windows.length; wi++) {
      const win = windows[wi]!;
      throwIfAborted(signal);
      cache?.startWindow(wi);
      let planes: WindowPlanes;
      let image: PixelArray;
      if (supply) {
        planes = await supply(wi, win);
        image = (await src.read({ x: win.x, y: win.y, width: win.w, height: win.h, channels: Array.from({ length: channels }, (_, c) => c) })).data;
      } else {
        const done = await inferWindow(inference, win);
        ({ planes, image } = done);
        ctx[0] = Math.max(ctx[0], done.margin[0]);
        ctx[1] = Math.max(ctx[1], done.margin[1]);
      }
      tilesDone += tilesOf[wi]!;
      tilesSkipped += planes.skipped;
      tilesReused += planes.reused ?? 0;
      throwIfAborted(signal);

      const corePx = win.w * win.h;
      const coreLabels = planes.labels;
      const chosenP = planes.probability;
      await labelWriter.writeWindow(win.x, win.y, win.w, win.h, coreLabels);
      if (chosenWriter) {
        const chosen = new Uint8Array(corePx);
        if (chosenP) for (let i = 0; i < corePx; i++) chosen[i] = Math.round(chosenP[i]! * 255);
        await chosenWriter.writeWindow(win.x, win.y, win.w, win.h, chosen);
      }
      if (probWriter) await probWriter.writeWindow(win.x, win.y, win.w, win.h, planes.probBytes ?? new Uint8Array(K * corePx));
      if (boundaryWriter) {
        const bytes = new Uint8Array(corePx);
        const b = planes.boundary;
        if (b) for (let i = 0; i < corePx; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, b[i]!)) * 255);
        await boundaryWriter.writeWindow(win.x, win.y, win.w, win.h, bytes);
      }

      if (full) {
        for (let y = 0; y < win.h; y++) {
          const s = y * win.w;
          const d = (win.y + y) * W + win.x;
          full.labels.set(coreLabels.subarray(s, s + win.w), d);
          full.intensity.set(image.subarray(s, s + win.w), d);
          if (chosenP) for (let x = 0; x < win.w; x++) full.probability[d + x] = Math.round(chosenP[s + x]! * 255);
        }
        const b = planes.boundary;
        if (full.boundary && b) {
          for (let y = 0; y < win.h; y++) {
            const s = y * win.w;
            const d = (win.y + y) * W + win.x;
            for (let x = 0; x < win.w; x++) full.boundary[d + x] = Math.round(Math.min(1, Math.max(0, b[s + x]!)) * 255);
          }
        }
      }

      // Preview: every `scale`-th pixel of the core, for overlay.png and the renderer's bitmap.
      for (let y = win.y + ((scale - (win.y % scale)) % scale); y < win.y + win.h; y += scale) {
        for (let x = win.x + ((scale - (win.x % scale)) % scale); x < win.x + win.w; x += scale) {
          const p = (y / scale) * pw + x / scale;
          const s = (y - win.y) * win.w + (x - win.x);
          preview.labels[p] = coreLabels[s]!;
          for (let c = 0; c < displayChannels; c++) preview.image[c * pw * ph + p] = image[c * corePx + s]!;
        }
      }
    }
    await session.dispose().catch(() => undefined);
    regionScratch?.release();
    throwIfAborted(signal);
    onProgress({ stage: 'writing', done: 0, total: 1 });
    for (const w of writers) {
      await w.close();
      if (w !== chosenWriter && w !== boundaryWriter) files.push(w.target);
    }
    writers.length = 0;

    onProgress({ stage: 'postprocess', done: 0, total: 1 });
    let instances: InstancesDocument['instances'] = [];
    let instanceCount = 0;
    let classes: InstancesDocument['classes'];
    let instanceSplit: InstanceSplitMethod | undefined;
    // The user's minimum object size and the model's minimum mapping unit, whichever is larger.
    const minPx = Math.max(options.minSizePx ?? 0, modelMinObjectPx(prep, src) ?? 0);
    if (full) {
      const post = postprocess({
        labels: full.labels,
        nodataLabel,
        width: W,
        height: H,
        depth: 1,
        classes: m.classes,
        geometry,
        probability: bytesToUnit(full.probability),
        intensity: full.intensity,
        connectivity: options.connectivity ?? 8,
        ...(minPx > 1 ? { minSizePx: minPx } : {}),
        ...(full.boundary ? { boundary: bytesToUnit(full.boundary) } : {}),
        // Footprint regularisation is per object: instances.tif and instances.json get the squared-off outlines,
        // labels.tif (already streamed) keeps the model's pixels.
        ...(prep.postprocess?.regularize ? { regularize: prep.postprocess.regularize } : {}),
      });
      throwIfAborted(signal);
      instances = post.instances;
      instanceCount = instances.length;
      classes = post.classes;
      instanceSplit = post.instanceSplit;
      const instancesPath = path.join(outDir, 'instances.tif');
      await writeTiff(instancesPath, { data: narrowInstances(post.instanceMap, post.instances.length), width: W, height: H, depth: 1, channels: 1, geometry }, { description: 'instances: value = id in instances.json, 0 = none', tileSize: writerTile });
      files.push(instancesPath);
    } else {
      const labelSrc = await openGeoTiff(path.join(outDir, 'labels.tif'));
      const chosenSrc = await openGeoTiff(scratch);
      const instancesPath = path.join(outDir, 'instances.tif');
      const boundarySrc = splitStreamed ? await openGeoTiff(boundaryScratch) : null;
      try {
        const common = {
          nodataLabel,
          intensity: src,
          probability: chosenSrc,
          connectivity: options.connectivity ?? 8,
          geometry,
          instancesPath,
          ...(minPx > 1 ? { minPixels: minPx } : {}),
          ...(signal ? { signal } : {}),
        };
        spill = await RecordSpill.open(outDir, output.keepRecords ? { index: output.keepRecords.sizeOf } : {});
        const into = spill;
        const sink = (records: InstanceRecord[]): Promise<void> => into.add(records);
        if (boundarySrc) {
          const streamed = await measureStreamingSplitTo({ ...common, labels: labelSrc, boundary: boundarySrc, classes: m.classes }, sink);
          classes = streamed.classes;
          instanceCount = streamed.count;
          instanceSplit = 'boundary-watershed';
        } else {
          const streamed = await measureStreamingTo({ ...common, labels: labelSrc, classes: m.classes }, sink);
          classes = streamed.classes;
          instanceCount = streamed.count;
          instanceSplit = 'components';
        }
        files.push(instancesPath);
      } finally {
        await labelSrc.close();
        await chosenSrc.close();
        await boundarySrc?.close();
        await fs.rm(scratch, { force: true });
        await fs.rm(boundaryScratch, { force: true });
      }
    }

    const seconds = (performance.now() - started) / 1000;
    const document: InstancesDocument = {
      source: sourceRecord(src, geometry),
      model: { id: m.id, name: m.name, version: m.version },
      inference: {
        ...inferenceRecord({ prep, session, tiles: totalTiles, seconds, inferenceMs: clock.ms, tilesSkipped, ...(options.threads ? { threads: options.threads } : {}), postprocessed: 'per-object' }),
        windowed: { windowPx, contextPx: ctx, windows: windows.length },
        // Tiles counted once per window that needs them; this many of those came from an earlier window's run.
        ...(tilesReused ? { tilesReused } : {}),
        ...(instanceSplit ? { instanceSplit } : {}),
        ...(!full
          ? {
              instances: needsWholeMap
                ? `streamed: ${W}x${H} is above the ${options.instanceMaxPx ?? INSTANCE_MAX_PX} px in-memory limit${split ? '; boundary split component by component (the same objects as on the whole map)' : ''}${prep.postprocess?.regularize ? '; the footprint regularisation needs the whole map, so outlines are the model\'s pixels' : ''}`
                : 'streamed: components and measurements strip by strip from labels.tif',
            }
          : {}),
      },
      ...(prep.warnings.length ? { warnings: prep.warnings } : {}),
      classes,
      instances,
    };
    const jsonPath = path.join(outDir, 'instances.json');
    const csvPath = path.join(outDir, 'measurements.csv');
    const { instances: records, ...head } = document;
    let recordIndex: RecordIndex | null = null;
    if (spill) {
      // The records are on disk already: the files are put together around them.
      files.push(jsonPath, csvPath);
      recordIndex = await spill.finish(jsonPath, head, csvPath, signal);
      spill = null;
      if (recordIndex) files.push(recordIndex.file);
    } else {
      // Streamed: 100000 records never become one string (JSON.stringify of them all takes seconds and 100s of MB).
      await writeJsonWithArray(jsonPath, head, 'instances', checkedItems(records, signal));
      files.push(jsonPath);
      await writeFileAtomic(csvPath, measurementsCsv(instances));
      files.push(csvPath);
    }
    const overlayPath = path.join(outDir, 'overlay.png');
    await writePng(overlayPath, overlayRgb({ data: preview.image, width: pw, height: ph, depth: 1, channels: displayChannels }, preview.labels, 0, m.classes), pw, ph, 3);
    files.push(overlayPath);
    onProgress({ stage: 'done', done: 1, total: 1 });
    return {
      outcome: { document, instanceCount, ...(recordIndex ? { records: recordIndex } : {}), overlay: overlayBitmap(preview.labels, pw, ph, 0, m.classes), skippedDevices: session.skipped },
      files,
    };
  } catch (err) {
    await spill?.discard();
    await session.dispose().catch(() => undefined);
    for (const w of writers) await w.abort().catch(() => undefined);
    for (const f of files) await fs.rm(f, { force: true });
    await fs.rm(scratch, { force: true });
    await fs.rm(boundaryScratch, { force: true });
    await fs.rm(path.join(outDir, 'instances.tif'), { force: true });
    if (madeDir) await fs.rmdir(outDir).catch(() => undefined);
    throw err;
  }
}
