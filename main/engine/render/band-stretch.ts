// The default display of 16-bit, 32-bit and float rasters: each shown band stretched between its own 2nd and 98th
// percentile, from statistics of the smallest adequate overview (io/geotiff-stats.ts), computed once per opened
// source and shared by previews, tiles and the display panel ('image:windows'), so all three agree.
import type { BandStatsSummary } from '../../../preload/api';
import type { ImageSource } from '../image';
import { levelStatistics, percentileStretch, usesBandStretch } from '../io/geotiff-stats';

/** Percentiles of the default stretch. */
export const STRETCH_LOW_PCT = 2;
export const STRETCH_HIGH_PCT = 98;

export interface DisplayWindow {
  center: number;
  width: number;
}

const cache = new WeakMap<ImageSource, Promise<BandStatsSummary>>();

/** Statistics of every band of the source (cached per opened source; a failed read is not kept). */
export function sourceStatistics(src: ImageSource): Promise<BandStatsSummary> {
  let s = cache.get(src);
  if (!s) {
    s = levelStatistics(src, { lowPct: STRETCH_LOW_PCT, highPct: STRETCH_HIGH_PCT });
    s.catch(() => cache.delete(src));
    cache.set(src, s);
  }
  return s;
}

/** The per-band windows of the default stretch for the shown bands, or null when the source does not use it. */
export async function bandStretch(src: ImageSource, bands: number[]): Promise<DisplayWindow[] | null> {
  if (!usesBandStretch(src)) return null;
  const stats = await sourceStatistics(src);
  const windows = bands.map((b) => {
    const s = stats.bands[b];
    if (!s || s.validCount === 0) return null;
    const { center, width } = percentileStretch(s);
    return { center, width };
  });
  return windows.every((w) => w !== null) ? (windows as DisplayWindow[]) : null;
}

/** The statistics as the contract gives them to the display panel, or undefined when the source has no stretch. */
export async function bandStatsInfo(src: ImageSource): Promise<BandStatsSummary | undefined> {
  return usesBandStretch(src) ? sourceStatistics(src) : undefined;
}
