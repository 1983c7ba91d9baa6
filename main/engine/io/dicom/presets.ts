// Window/level presets by modality. CT values are Hounsfield units, so fixed presets mean the same thing on every
// scanner (width first, as radiologists say them: "400/40"). MR (and PET, US, NIfTI without units) values are
// arbitrary signal units that change with the scanner, coil and sequence: fixed numbers would mean nothing, so their
// presets are percentiles of the whole volume, and "Auto" is the 1st-99th percentile of the volume (not of the
// slice shown, so the brightness does not jump while scrolling).

import type { ImageWindows, WindowPresetInfo } from '../../../../preload/api';

export interface WindowPreset {
  name: string;
  widthHu: number;
  centerHu: number;
}

export const CT_WINDOW_PRESETS: readonly WindowPreset[] = Object.freeze([
  { name: 'brain', widthHu: 80, centerHu: 40 },
  { name: 'soft tissue', widthHu: 400, centerHu: 40 },
  { name: 'lung', widthHu: 1500, centerHu: -600 },
  { name: 'bone', widthHu: 2500, centerHu: 480 },
  { name: 'liver', widthHu: 150, centerHu: 90 },
]);

/** Percentile presets for signal-unit modalities: [id, label, low %, high %]. */
export const PERCENTILE_PRESETS: ReadonlyArray<readonly [string, string, number, number]> = Object.freeze([
  ['auto', 'Auto (1–99 %)', 1, 99],
  ['soft', 'Soft (0.5–99.5 %)', 0.5, 99.5],
  ['contrast', 'High contrast (5–95 %)', 5, 95],
  ['full', 'Full range (min–max)', 0, 100],
] as const);

/** Value at percentile p (0..100) of ascending values (nearest rank). */
export function percentileOf(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const i = Math.min(n - 1, Math.max(0, Math.round((p / 100) * (n - 1))));
  return sorted[i] as number;
}

const capitalised = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

function fromRange(lo: number, hi: number): { center: number; width: number } {
  return { center: (lo + hi) / 2, width: hi > lo ? hi - lo : 1 };
}

/**
 * The presets an image offers, which one "Auto" is, and the range right-drag window/level scales with.
 * `sorted`: a sample of the volume's finite values (channel 0, nodata left out), ascending.
 */
export function windowPresetsFor(modality: string | null | undefined, sorted: ArrayLike<number>, fileWindow?: { center: number; width: number }): ImageWindows {
  const mod = (modality ?? '').toUpperCase();
  const presets: WindowPresetInfo[] = [];
  if (fileWindow && fileWindow.width > 0) presets.push({ id: 'file', label: "File's window", center: fileWindow.center, width: fileWindow.width, kind: 'file' });
  let autoId: string;
  if (mod === 'CT') {
    for (const p of CT_WINDOW_PRESETS) presets.push({ id: capitalised(p.name), label: capitalised(p.name), center: p.centerHu, width: p.widthHu, kind: 'modality' });
    if (sorted.length > 0) presets.push({ id: 'full', label: 'Full range (min–max)', ...fromRange(percentileOf(sorted, 0), percentileOf(sorted, 100)), kind: 'percentile' });
    autoId = fileWindow && fileWindow.width > 0 ? 'file' : 'Soft tissue';
  } else {
    for (const [id, label, lo, hi] of PERCENTILE_PRESETS) {
      if (sorted.length > 0) presets.push({ id, label, ...fromRange(percentileOf(sorted, lo), percentileOf(sorted, hi)), kind: 'percentile' });
    }
    autoId = sorted.length > 0 ? 'auto' : fileWindow && fileWindow.width > 0 ? 'file' : '';
  }
  const rangeLow = sorted.length > 0 ? percentileOf(sorted, 0.5) : (fileWindow ? fileWindow.center - fileWindow.width / 2 : 0);
  const rangeHigh = sorted.length > 0 ? percentileOf(sorted, 99.5) : (fileWindow ? fileWindow.center + fileWindow.width / 2 : 1);
  return { presets, autoId, rangeLow, rangeHigh, ...(mod === 'CT' ? { valueUnit: 'HU' } : {}) };
}
