// Input normalisation as the manifest prescribes: per channel x = (v - offset) * scale, optionally clipped.
// Statistics for scope 'volume'/'image' are computed once over the whole image (all slices), for 'slice' per
// slice, so a volume run slice by slice sees exactly what a whole-volume run would. Nodata pixels never count.
import type { NormalizationSpec } from '../../../preload/formats';
import type { PixelArray } from '../image';

/** x = (v - offset) * scale, then clipped to clip when given. */
export interface ChannelAffine {
  offset: number;
  scale: number;
  clip?: [number, number];
}

export interface NormalizeInput {
  /** Channel-planar pixels: ((c * depth + z) * height + y) * width + x. */
  data: PixelArray;
  width: number;
  height: number;
  depth: number;
  channels: number;
  /** Value marking nodata; such pixels are excluded from statistics. */
  nodata?: number | 'nan';
}

/** Per-slice (z) per-channel affine transforms. */
export type Normalizer = (z: number) => ChannelAffine[];

/** Percentile with linear interpolation between order statistics (numpy's default), p in 0..100. */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo]!;
  return a + (sorted[hi]! - a) * (rank - lo);
}

function isIntegerSmall(data: PixelArray): boolean {
  return data instanceof Uint8Array || data instanceof Int8Array || data instanceof Uint16Array || data instanceof Int16Array;
}

function sameKind(src: PixelArray, n: number): Float64Array | PixelArray {
  if (src instanceof Uint8Array) return new Uint8Array(n);
  if (src instanceof Int8Array) return new Int8Array(n);
  if (src instanceof Uint16Array) return new Uint16Array(n);
  if (src instanceof Int16Array) return new Int16Array(n);
  return new Float64Array(n);
}

/** Values of one channel over slices [z0, z1), skipping nodata and (with mask nonzero) zeros. */
function collect(input: NormalizeInput, c: number, z0: number, z1: number, nonzeroOnly: boolean): Float64Array | PixelArray {
  const plane = input.width * input.height;
  const start = (c * input.depth + z0) * plane;
  const end = (c * input.depth + z1) * plane;
  const nd = input.nodata;
  const src = input.data;
  if (!nonzeroOnly && nd === undefined) return src.subarray(start, end);
  // Small integers stay in their own type, so percentiles() counts them in a histogram instead of sorting floats
  // (a 256 x 256 x 22 volume: about 0.1 s less).
  const out = sameKind(src, end - start);
  let k = 0;
  for (let i = start; i < end; i++) {
    const v = src[i]!;
    if (nd === 'nan' ? Number.isNaN(v) : v === nd) continue;
    if (nonzeroOnly && v === 0) continue;
    out[k++] = v;
  }
  return out.subarray(0, k);
}

/** Percentiles of a set of values. 8/16-bit integers: exact histogram; otherwise an exact sort. */
function percentiles(values: Float64Array | PixelArray, ps: number[]): number[] {
  const n = values.length;
  if (n === 0) return ps.map(() => 0);
  if (isIntegerSmall(values as PixelArray)) {
    const offset = values instanceof Int8Array ? 128 : values instanceof Int16Array ? 32768 : 0;
    const hist = new Float64Array(65536);
    for (let i = 0; i < n; i++) hist[values[i]! + offset]!++;
    // k-th order statistic from the cumulative histogram.
    const orderStat = (k: number): number => {
      let acc = 0;
      for (let b = 0; b < hist.length; b++) {
        acc += hist[b]!;
        if (acc > k) return b - offset;
      }
      return hist.length - 1 - offset;
    };
    return ps.map((p) => {
      const rank = (p / 100) * (n - 1);
      const lo = Math.floor(rank);
      const a = orderStat(lo);
      const b = orderStat(Math.min(n - 1, lo + 1));
      return a + (b - a) * (rank - lo);
    });
  }
  const sorted = Float64Array.from(values as ArrayLike<number>).sort();
  return ps.map((p) => percentileOfSorted(sorted, p));
}

function meanSd(values: Float64Array | PixelArray): [number, number] {
  const n = values.length;
  if (n === 0) return [0, 1];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i]! - mean) ** 2;
  return [mean, Math.sqrt(ss / n)];
}

/** A zero or degenerate spread would divide by zero; treat the data as constant instead. */
function safeScale(spread: number): number {
  return spread > 1e-12 ? 1 / spread : 1;
}

function statsAffine(spec: Exclude<NormalizationSpec, { type: 'fixed' }>, values: Float64Array | PixelArray): ChannelAffine {
  if (spec.type === 'zscore') {
    const [mean, sd] = meanSd(values);
    return { offset: mean, scale: safeScale(sd) };
  }
  const [lo, hi] = percentiles(values, [spec.pLow, spec.pHigh]) as [number, number];
  return { offset: lo, scale: safeScale(hi - lo), ...(spec.clip ? { clip: spec.clip } : {}) };
}

/** Builds the normaliser for an image. The model's channel count must already match input.channels. */
export function planNormalization(spec: NormalizationSpec, input: NormalizeInput): Normalizer {
  if (spec.type === 'fixed') {
    const affines = Array.from({ length: input.channels }, (_, c) => ({
      offset: spec.mean.length === 1 ? spec.mean[0]! : spec.mean[c]!,
      scale: 1 / (spec.std.length === 1 ? spec.std[0]! : spec.std[c]!),
    }));
    return () => affines;
  }
  const nonzero = spec.mask === 'nonzero';
  if (spec.scope === 'slice') {
    const cache = new Map<number, ChannelAffine[]>();
    return (z) => {
      let a = cache.get(z);
      if (!a) {
        a = Array.from({ length: input.channels }, (_, c) => statsAffine(spec, collect(input, c, z, z + 1, nonzero)));
        cache.set(z, a);
      }
      return a;
    };
  }
  const whole = Array.from({ length: input.channels }, (_, c) => statsAffine(spec, collect(input, c, 0, input.depth, nonzero)));
  return () => whole;
}

/** Normalised float32 planes (C x H x W) of slice z. Nodata pixels become 0 (they are masked to 255 later). */
export function normalizeSlice(input: NormalizeInput, z: number, normalizer: Normalizer, into?: Float32Array): Float32Array {
  const plane = input.width * input.height;
  // `into` (a reused buffer of at least this size) is written whole, nodata pixels included.
  const out = into ? into.subarray(0, input.channels * plane) : new Float32Array(input.channels * plane);
  const affines = normalizer(z);
  const nd = input.nodata;
  for (let c = 0; c < input.channels; c++) {
    const { offset, scale, clip } = affines[c]!;
    const src = (c * input.depth + z) * plane;
    const dst = c * plane;
    for (let i = 0; i < plane; i++) {
      const v = input.data[src + i]!;
      if (nd !== undefined && (nd === 'nan' ? Number.isNaN(v) : v === nd)) {
        out[dst + i] = 0;
        continue;
      }
      let x = (v - offset) * scale;
      if (clip) x = x < clip[0] ? clip[0] : x > clip[1] ? clip[1] : x;
      out[dst + i] = x;
    }
  }
  return out;
}
