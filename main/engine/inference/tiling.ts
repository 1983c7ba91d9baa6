// Sliding-window inference on one 2D plane: tiles with overlap, Gaussian weighting (sigma = tile/8, as nnU-Net)
// accumulated into a float probability map, so tile borders leave no seams. Tiles are placed inside the image
// (the last one flush with the border, steps spread evenly); only an image smaller than a tile is padded, by
// reflection (mirror without repeating the edge pixel), so the model never sees an artificial black border.
// Cancellation is checked before every model call (each batch and each of its test-time flips) and throws an
// AbortError, so a cancel waits for at most the one call in flight; callers write nothing on error.
// With a validity mask, tiles that hold no valid pixel are never run (their pixels are nodata, labelled 255 later).
// Resampling (resample.ts) and window-by-window processing (../windowed.ts) happen around this function.
import type { Tensor4 } from './runtime';
import type { TestTimeFlip } from '../../../preload/formats';

export interface TilePlan {
  tileW: number;
  tileH: number;
  /** Top-left corners of all tiles, row-major. */
  origins: Array<[number, number]>;
}

/** Tile starts along one axis: first at 0, last flush with the end, evenly spaced, step <= tile * (1 - overlap). */
export function tileStarts(size: number, tile: number, overlap: number): number[] {
  if (size <= tile) return [0];
  const maxStep = Math.max(1, Math.floor(tile * (1 - overlap)));
  const n = Math.ceil((size - tile) / maxStep) + 1;
  const step = (size - tile) / (n - 1);
  return Array.from({ length: n }, (_, i) => Math.round(i * step));
}

export function planTiles(width: number, height: number, tile: [number, number], overlap: number): TilePlan {
  const xs = tileStarts(width, tile[0], overlap);
  const ys = tileStarts(height, tile[1], overlap);
  const origins: Array<[number, number]> = [];
  for (const y of ys) for (const x of xs) origins.push([x, y]);
  return { tileW: tile[0], tileH: tile[1], origins };
}

/** Separable Gaussian importance map, sigma = tile/8 per axis, peak 1, no zeros (nnU-Net clamps to the smallest). */
export function gaussianWeights(tileW: number, tileH: number): Float32Array {
  // Every plane of a run (each slice of a volume, each window) asks for the same tile size: keep the last one.
  if (lastWeights && lastWeights.w === tileW && lastWeights.h === tileH) return lastWeights.data;
  const data = computeGaussianWeights(tileW, tileH);
  lastWeights = { w: tileW, h: tileH, data };
  return data;
}

/** The last weights computed (read-only for every caller). */
let lastWeights: { w: number; h: number; data: Float32Array } | null = null;

function computeGaussianWeights(tileW: number, tileH: number): Float32Array {
  const axis = (n: number): Float64Array => {
    const sigma = n / 8;
    const centre = (n - 1) / 2;
    return Float64Array.from({ length: n }, (_, i) => Math.exp(-((i - centre) ** 2) / (2 * sigma * sigma)));
  };
  const wx = axis(tileW);
  const wy = axis(tileH);
  const w = new Float32Array(tileW * tileH);
  let minPositive = Infinity;
  for (let y = 0; y < tileH; y++) {
    for (let x = 0; x < tileW; x++) {
      const v = wx[x]! * wy[y]!;
      w[y * tileW + x] = v;
      if (v > 0 && v < minPositive) minPositive = v;
    }
  }
  for (let i = 0; i < w.length; i++) if (!(w[i]! > 0)) w[i] = minPositive;
  return w;
}

/** Mirror index into [0, n) without repeating the edge (numpy 'reflect'). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n - 2;
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

export class AbortError extends Error {
  override name = 'AbortError';
  constructor(message = 'cancelled') {
    super(message);
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('segmentation cancelled');
}

/**
 * Settles with `work`, or rejects with an AbortError as soon as `signal` aborts, whichever comes first: a cancel
 * need not wait for a long read (a 2300 x 2300 window of a compressed GeoTIFF). The abandoned work runs on and its
 * outcome is dropped (its rejection is caught here). Never use it around a model call: the session is disposed
 * right after a cancel, and must not be while a run is in flight.
 */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(new AbortError('segmentation cancelled'));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new AbortError('segmentation cancelled'));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Lets pending events (a cancel message) run, at most every `everyMs` of synchronous work; then checks the signal. */
export function yielder(signal: AbortSignal | undefined, everyMs = 50): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last < everyMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    last = performance.now();
    throwIfAborted(signal);
  };
}

export interface TiledRunOptions {
  tileSize: [number, number];
  /** Fraction of a tile shared with its neighbour, 0..0.9. */
  overlap: number;
  /** Tiles per model call. */
  batch: number;
  signal?: AbortSignal;
  /** Called after every batch with the number of tiles of this plane finished so far. */
  onTiles?: (doneInPlane: number, totalInPlane: number) => void;
  /** Applied to each tile's output before blending (e.g. softmax on logits); in place. */
  activate?: (tile: Float32Array, channels: number, pixels: number) => void;
  /** Validity (0 = nodata) per pixel of the plane: tiles with no valid pixel are skipped. */
  valid?: Uint8Array;
  /** Test-time flips: each tile also runs mirrored along x, y and/or both; the activated outputs are averaged. */
  flips?: ReadonlyArray<TestTimeFlip>;
  /**
   * Where the flips run: only on tiles where some pixel of one of these output channels reaches `minProbability` in
   * the unmirrored run (activated); elsewhere that run's output stands alone. Absent: every tile.
   */
  flipsWhere?: FlipsWhere;
}

/** The manifest's `testTimeFlipsMinProbability` with the channels it reads (the class channels, not background). */
export interface FlipsWhere {
  minProbability: number;
  /** The channels read, given the model's output channel count. */
  channels: (outputChannels: number) => ReadonlyArray<number>;
  /** Counts of this run: tiles looked at, and those that ran the flips (`inference.tilesFlipped`). */
  tally?: { tiles: number; flipped: number };
}

/** Indices of the tiles of a n x k x P activated batch where some pixel of `where.channels` reaches the bound. */
export function tilesToFlip(out: Float32Array, n: number, k: number, pixels: number, where: FlipsWhere): number[] {
  const picked: number[] = [];
  const channels = where.channels(k);
  for (let b = 0; b < n; b++) {
    let hit = false;
    for (const c of channels) {
      if (c >= k) continue;
      const off = (b * k + c) * pixels;
      for (let i = 0; i < pixels && !hit; i++) if (out[off + i]! >= where.minProbability) hit = true;
      if (hit) break;
    }
    if (hit) picked.push(b);
  }
  return picked;
}

/**
 * Mirrors every H x W plane of a N x C x H x W tensor along x, y or both (in a new array, or in `into` of the same
 * length); each is its own inverse.
 */
export function flipTensor(data: Float32Array, planes: number, th: number, tw: number, axis: TestTimeFlip, into?: Float32Array): Float32Array {
  const out = into ?? new Float32Array(data.length);
  const size = th * tw;
  for (let p = 0; p < planes; p++) {
    const base = p * size;
    if (axis === 'xy') {
      // Both axes: pixel j of the plane goes to size - 1 - j.
      for (let j = 0; j < size; j++) out[base + size - 1 - j] = data[base + j]!;
      continue;
    }
    for (let y = 0; y < th; y++) {
      const srcRow = base + y * tw;
      const dstRow = base + (axis === 'y' ? th - 1 - y : y) * tw;
      if (axis === 'y') out.set(data.subarray(srcRow, srcRow + tw), dstRow);
      else for (let x = 0; x < tw; x++) out[dstRow + tw - 1 - x] = data[srcRow + x]!;
    }
  }
  return out;
}

/**
 * sum += flipTensor(data, ...) without the mirrored copy: each element gets the same single addition, so the
 * result is identical, with one pass and no allocation per flip (a third of the flips' cost on 6 x 256 x 256).
 */
export function addFlipped(sum: Float32Array, data: Float32Array, planes: number, th: number, tw: number, axis: TestTimeFlip, scale = 1): void {
  const size = th * tw;
  const flipX = axis !== 'y';
  const flipY = axis !== 'x';
  // With a scale (the last flip of an average): (sum + mirrored) rounded to float32, times scale, in one pass: the
  // same roundings as adding here and scaling the whole sum afterwards.
  const scaled = scale !== 1;
  for (let p = 0; p < planes; p++) {
    const base = p * size;
    for (let y = 0; y < th; y++) {
      const dstRow = base + y * tw;
      const srcRow = base + (flipY ? th - 1 - y : y) * tw;
      if (scaled) {
        if (flipX) for (let x = 0; x < tw; x++) sum[dstRow + x] = Math.fround(sum[dstRow + x]! + data[srcRow + tw - 1 - x]!) * scale;
        else for (let x = 0; x < tw; x++) sum[dstRow + x] = Math.fround(sum[dstRow + x]! + data[srcRow + x]!) * scale;
      } else if (flipX) for (let x = 0; x < tw; x++) sum[dstRow + x]! += data[srcRow + tw - 1 - x]!;
      else for (let x = 0; x < tw; x++) sum[dstRow + x]! += data[srcRow + x]!;
    }
  }
}

/** Whether any pixel of the tile's part inside the plane is valid. */
function tileHasValid(valid: Uint8Array, W: number, H: number, ox: number, oy: number, tw: number, th: number): boolean {
  const yEnd = Math.min(H, oy + th);
  const xEnd = Math.min(W, ox + tw);
  for (let y = oy; y < yEnd; y++) {
    const row = y * W;
    for (let x = ox; x < xEnd; x++) if (valid[row + x] !== 0) return true;
  }
  return false;
}

export interface PlaneInput {
  /** Normalised float32, C x H x W. */
  data: Float32Array;
  width: number;
  height: number;
  channels: number;
}

/**
 * Runs one batch of n tiles (n x C x th x tw) through the model with the options' activation and test-time flips:
 * the activated outputs of the identity and of each mirrored run, mirrored back, averaged in place. The whole-plane
 * path (runTiled) and the global-grid region path (region.ts) both call this, which keeps their probabilities equal.
 */
export async function runTileBatch(
  runBatch: (input: Tensor4) => Promise<Tensor4>,
  input: Float32Array,
  n: number,
  C: number,
  th: number,
  tw: number,
  options: Pick<TiledRunOptions, 'activate' | 'flips' | 'flipsWhere' | 'signal'>,
): Promise<Tensor4> {
  const tilePixels = tw * th;
  const runActivated = async (data: Float32Array, count: number): Promise<Tensor4> => {
    const o = await runBatch({ data, dims: [count, C, th, tw] });
    const [on, k, oh, ow] = o.dims;
    if (on !== count || oh !== th || ow !== tw) {
      throw new Error(`the model returned ${o.dims.join('x')} for a ${count}x${C}x${th}x${tw} input; output must keep the tile size`);
    }
    if (options.activate) for (let b = 0; b < count; b++) options.activate(o.data.subarray(b * k * tilePixels, (b + 1) * k * tilePixels), k, tilePixels);
    return o;
  };
  const out = await runActivated(input, n);
  const k = out.dims[1];
  const flips = options.flips ?? [];
  if (!flips.length) return out;
  // The tiles the flips run on: all, or those the unmirrored run finds something in (flipsWhere).
  const picked = options.flipsWhere ? tilesToFlip(out.data, n, k, tilePixels, options.flipsWhere) : null;
  const tally = options.flipsWhere?.tally;
  if (tally && picked) {
    tally.tiles += n;
    tally.flipped += picked.length;
  }
  if (picked && picked.length === 0) return out;
  const all = !picked || picked.length === n;
  const m = all ? n : picked.length;
  const inSize = C * tilePixels;
  const outSize = k * tilePixels;
  let flipInput = input;
  let sum = out.data;
  if (!all) {
    flipInput = new Float32Array(m * inSize);
    sum = new Float32Array(m * outSize);
    picked.forEach((b, j) => {
      flipInput.set(input.subarray(b * inSize, (b + 1) * inSize), j * inSize);
      sum.set(out.data.subarray(b * outSize, (b + 1) * outSize), j * outSize);
    });
  }
  // Average of the identity and each mirrored run, mirrored back (probabilities, after activation), in place; the
  // last flip's pass also scales. One buffer holds each mirrored input in turn (the run before it has finished).
  const inv = 1 / (flips.length + 1);
  const mirroredInput = new Float32Array(flipInput.length);
  for (let f = 0; f < flips.length; f++) {
    const axis = flips[f]!;
    throwIfAborted(options.signal);
    const mirrored = await runActivated(flipTensor(flipInput, m * C, th, tw, axis, mirroredInput), m);
    if (mirrored.dims[1] !== k) throw new Error(`the model returned ${mirrored.dims[1]} channels after ${k}`);
    addFlipped(sum, mirrored.data, m * k, th, tw, axis, f === flips.length - 1 ? inv : 1);
  }
  if (!all) picked.forEach((b, j) => out.data.set(sum.subarray(j * outSize, (j + 1) * outSize), b * outSize));
  return out;
}

/** Runs `runBatch` over tiles of the plane and blends the outputs. Returns K x H x W probabilities. */
export async function runTiled(
  plane: PlaneInput,
  runBatch: (input: Tensor4) => Promise<Tensor4>,
  options: TiledRunOptions,
): Promise<{ data: Float32Array; channels: number; tiles: number; skipped: number }> {
  const { width: W, height: H, channels: C } = plane;
  const plan = planTiles(W, H, options.tileSize, options.overlap);
  const { tileW: tw, tileH: th } = plan;
  const valid = options.valid;
  const origins = valid ? plan.origins.filter(([ox, oy]) => tileHasValid(valid, W, H, ox, oy, tw, th)) : plan.origins;
  const skipped = plan.origins.length - origins.length;
  const tilePixels = tw * th;
  const weights = gaussianWeights(tw, th);
  const weightSum = new Float32Array(W * H);
  let acc: Float32Array | null = null;
  let K = 0;
  const total = plan.origins.length;
  const batch = Math.max(1, Math.floor(options.batch));
  if (skipped > 0) options.onTiles?.(skipped, total);

  for (let first = 0; first < origins.length; first += batch) {
    throwIfAborted(options.signal);
    const group = origins.slice(first, first + batch);
    const input = new Float32Array(group.length * C * tilePixels);
    group.forEach(([ox, oy], b) => {
      const inside = ox + tw <= W && oy + th <= H;
      for (let c = 0; c < C; c++) {
        const dst = (b * C + c) * tilePixels;
        const src = c * W * H;
        if (inside) {
          // Fast path (every tile of an image at least a tile large): whole-row copies.
          for (let y = 0; y < th; y++) {
            const row = src + (oy + y) * W + ox;
            input.set(plane.data.subarray(row, row + tw), dst + y * tw);
          }
          continue;
        }
        for (let y = 0; y < th; y++) {
          // Reflection only matters when the image is smaller than the tile; inside, this is the identity.
          const sy = reflectIndex(oy + y, H);
          const row = src + sy * W;
          for (let x = 0; x < tw; x++) input[dst + y * tw + x] = plane.data[row + reflectIndex(ox + x, W)]!;
        }
      }
    });
    const out = await runTileBatch(runBatch, input, group.length, C, th, tw, options);
    const k = out.dims[1];
    if (!acc) {
      K = k;
      acc = new Float32Array(K * W * H);
    } else if (k !== K) throw new Error(`the model returned ${k} channels after ${K}`);
    group.forEach(([ox, oy], b) => {
      const tile = out.data.subarray(b * K * tilePixels, (b + 1) * K * tilePixels);
      const yEnd = Math.min(th, H - oy);
      const xEnd = Math.min(tw, W - ox);
      for (let y = 0; y < yEnd; y++) {
        const rowImg = (oy + y) * W + ox;
        const rowTile = y * tw;
        for (let x = 0; x < xEnd; x++) weightSum[rowImg + x]! += weights[rowTile + x]!;
        for (let c = 0; c < K; c++) {
          const accOff = c * W * H + rowImg;
          const tileOff = c * tilePixels + rowTile;
          for (let x = 0; x < xEnd; x++) acc![accOff + x]! += tile[tileOff + x]! * weights[rowTile + x]!;
        }
      }
    });
    options.onTiles?.(Math.min(total, skipped + first + group.length), total);
  }
  if (!acc) {
    // Every tile was nodata: no model output, so no channel count; callers label everything nodata.
    return { data: new Float32Array(0), channels: 0, tiles: total, skipped };
  }
  const result = acc;
  for (let c = 0; c < K; c++) {
    const off = c * W * H;
    // Pixels only skipped tiles cover have no weight: they are nodata, keep 0 rather than NaN.
    for (let i = 0; i < W * H; i++) result[off + i] = weightSum[i]! > 0 ? result[off + i]! / weightSum[i]! : 0;
  }
  return { data: result, channels: K, tiles: total, skipped };
}

/** In-place softmax over channels of a K x P block (for models that output logits). */
export function softmaxChannels(tile: Float32Array, channels: number, pixels: number): void {
  for (let i = 0; i < pixels; i++) {
    let max = -Infinity;
    for (let c = 0; c < channels; c++) max = Math.max(max, tile[c * pixels + i]!);
    let sum = 0;
    for (let c = 0; c < channels; c++) {
      const e = Math.exp(tile[c * pixels + i]! - max);
      tile[c * pixels + i] = e;
      sum += e;
    }
    for (let c = 0; c < channels; c++) tile[c * pixels + i]! /= sum;
  }
}

/** In-place logistic sigmoid (single-channel logits). */
export function sigmoidInPlace(tile: Float32Array): void {
  for (let i = 0; i < tile.length; i++) tile[i] = 1 / (1 + Math.exp(-tile[i]!));
}
