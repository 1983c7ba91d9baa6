// Per-band statistics and percentile contrast stretch for display, computed on a reduced-resolution read (the smallest
// overview that still has ~1024 pixels on the long side, when the source has one) so they cost about the same for a
// 100 MB and a 10 GB raster. Nodata, NaN and masked pixels are left out. 16-bit and float rasters are shown with each
// band stretched between its own 2nd and 98th percentile by default (render/band-stretch.ts). The figures are the
// contract's BandStatsInfo as computed, so the display panel gets them without a second type to keep in step.
import type { BandStatsInfo, BandStatsSummary } from '../../../preload/api';
import type { ImageSource, PixelBlock } from '../image';

/** Percentiles of a band's low and high value (BandStatsInfo.low / high), 2 and 98 unless asked otherwise. */
export interface StretchPercentiles {
  lowPct?: number;
  highPct?: number;
}

/** Values at fractions (0..1) of the sorted valid values; nearest rank. */
function atFractions(sorted: Float64Array, fractions: number[]): number[] {
  return fractions.map((f) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(f * (sorted.length - 1))))]!);
}

/** Statistics of each band of a block, leaving out nodata, NaN and pixels whose mask is 0. */
export function blockStatistics(block: PixelBlock, nodata: number | 'nan' | undefined, mask?: Uint8Array, { lowPct = 2, highPct = 98 }: StretchPercentiles = {}): BandStatsInfo[] {
  const plane = block.width * block.height;
  // GDAL writes nodata as decimal text: compare in the sample type (float32 nodata -3.4e38 is not exactly -3.4e38).
  const nd = nodata === undefined || nodata === 'nan' ? undefined : block.dtype === 'float32' ? Math.fround(nodata) : nodata;
  const out: BandStatsInfo[] = [];
  for (let c = 0; c < block.channels; c++) {
    const values = new Float64Array(plane);
    let n = 0;
    let sum = 0;
    let sum2 = 0;
    for (let i = 0; i < plane; i++) {
      const v = block.data[c * plane + i]!;
      if (Number.isNaN(v) || v === nd || (mask && mask[i] === 0)) continue;
      values[n++] = v;
      sum += v;
      sum2 += v * v;
    }
    const sorted = values.subarray(0, n).sort();
    const mean = n ? sum / n : NaN;
    const [low = NaN, high = NaN] = n ? atFractions(sorted, [lowPct / 100, highPct / 100]) : [];
    out.push({
      band: c,
      validCount: n,
      min: n ? sorted[0]! : NaN,
      max: n ? sorted[n - 1]! : NaN,
      mean,
      stdDev: n ? Math.sqrt(Math.max(0, sum2 / n - mean * mean)) : NaN,
      low,
      high,
    });
  }
  return out;
}

/**
 * Band statistics from the smallest adequate level: the coarsest overview that still has maxSize pixels (default
 * 1024) on the long side, full resolution when there is none. Without overviews a raster larger than that is read
 * whole only up to MAX_FULL_READ_PIXELS; beyond, the statistics come from its centre window of that size instead.
 */
export async function levelStatistics(src: ImageSource, options: { bands?: number[]; maxSize?: number } & StretchPercentiles = {}): Promise<BandStatsSummary> {
  const lowPct = options.lowPct ?? 2;
  const highPct = options.highPct ?? 98;
  const maxSize = options.maxSize ?? 1024;
  const channels = options.bands ?? Array.from({ length: src.channels }, (_, i) => i);
  const scale = Math.max(1, Math.max(src.width, src.height) / maxSize);
  const tw = Math.max(1, Math.round(src.width / scale));
  const th = Math.max(1, Math.round(src.height / scale));
  // The level readReduced will pick (the coarsest with at least tw x th), to refuse reading a huge one whole.
  const overviews = Array.isArray(src.meta.overviews) ? (src.meta.overviews as Array<{ width: number; height: number }>) : [];
  const level = [{ width: src.width, height: src.height }, ...overviews].filter((l) => l.width >= tw && l.height >= th).pop() ?? { width: src.width, height: src.height };
  let reduced = null;
  if (src.readReduced && level.width * level.height > MAX_FULL_READ_PIXELS) {
    // No overview small enough (a big raster without a pyramid): a centre window, never the whole raster.
    const side = Math.floor(Math.sqrt(MAX_FULL_READ_PIXELS));
    const w = Math.min(src.width, side);
    const h = Math.min(src.height, side);
    reduced = await src.readReduced({ channels, x: Math.floor((src.width - w) / 2), y: Math.floor((src.height - h) / 2), width: w, height: h }, w, h);
  } else if (src.readReduced) {
    reduced = await src.readReduced({ channels }, tw, th);
  }
  const block = reduced ?? (await src.read({ channels, ...(src.depth > 1 ? { z: Math.floor(src.depth / 2), depth: 1 } : {}) }));
  const stats = blockStatistics(block, src.nodata, reduced?.mask, { lowPct, highPct });
  return { bands: stats.map((s, i) => ({ ...s, band: channels[i]! })), levelWidth: block.width, levelHeight: block.height, lowPct, highPct };
}

/** Largest level read whole for statistics (4096²): a raster with no overview under it is sampled in its centre. */
export const MAX_FULL_READ_PIXELS = 4096 * 4096;

/** Band statistics from a read of about maxSize pixels on the long side (an overview where the source has one). */
export async function bandStatistics(src: ImageSource, options: { bands?: number[]; maxSize?: number } & StretchPercentiles = {}): Promise<BandStatsInfo[]> {
  return (await levelStatistics(src, options)).bands;
}

/** Whether an image is shown with the per-band percentile stretch by default: 16-bit, 32-bit and float 2D rasters. */
export function usesBandStretch(src: Pick<ImageSource, 'dtype' | 'depth' | 'meta'> & { readReduced?: unknown }): boolean {
  return src.depth === 1 && src.dtype !== 'uint8' && src.dtype !== 'int8' && typeof src.readReduced === 'function' && src.meta.windowCenter === undefined;
}

/** Linear stretch of a band to 0..255 between its low and high percentiles: the display window of 16-bit or float data. */
export function percentileStretch(stats: BandStatsInfo): { min: number; max: number; center: number; width: number } {
  const lo = stats.low;
  const hi = stats.high;
  const width = hi > lo ? hi - lo : 1;
  return { min: lo, max: hi, center: lo + width / 2, width };
}
