// Lengths on the image: which unit it has (mm for patient and spaced images, m for projected maps, px otherwise),
// how long one pixel is in it along x and y, and a "nice" scale-bar length for a zoom.
import type { ImageInfo, PixelSize } from '../../preload/api';

export interface LengthUnit {
  unit: 'mm' | 'm' | 'px';
  /** Unit length of one pixel step along x and y. */
  perPxX: number;
  perPxY: number;
}

/** Geographic CRSs (degrees): a pixel has no fixed length in metres, so lengths stay in pixels. */
export function isGeographic(crs: string | null | undefined): boolean {
  if (!crs) return false;
  if (/^EPSG:(4326|4269|4258|4283|4617|4674|4979|4167|4612)$/.test(crs)) return true;
  return /^\s*GEOG(CS|CRS)\[/i.test(crs);
}

export function lengthUnit(info: ImageInfo): LengthUnit {
  if (info.spacingMm) return { unit: 'mm', perPxX: info.spacingMm[0], perPxY: info.spacingMm[1] };
  const gt = info.geotransform;
  if (gt && info.crs && !isGeographic(info.crs)) return { unit: 'm', perPxX: Math.hypot(gt[1], gt[4]), perPxY: Math.hypot(gt[2], gt[5]) };
  const given = userPixelSize(info);
  if (given) return { unit: given.unit, perPxX: given.value, perPxY: given.value };
  return { unit: 'px', perPxX: 1, perPxY: 1 };
}

/**
 * The pixel size a person gave an image without geometry (PNG, JPEG, slice stacks): the renderer keeps it on the open
 * image's info as `pixelSize` (the engine never sets it), so lengths, the scale bar and areas use it.
 */
export function userPixelSize(info: ImageInfo): PixelSize | null {
  const p = info.pixelSize as Partial<PixelSize> | undefined;
  return p && typeof p.value === 'number' && p.value > 0 && Number.isFinite(p.value) && (p.unit === 'mm' || p.unit === 'm') ? { value: p.value, unit: p.unit } : null;
}

/** Whether the image has no geometry of its own: no spacing, no projected map (a pixel size can be given). */
export function lacksGeometry(info: ImageInfo): boolean {
  return !info.spacingMm && !(info.geotransform && info.crs && !isGeographic(info.crs));
}

/** The largest 1/2/5 x 10^k length that fits in maxLength. */
export function niceLength(maxLength: number): number {
  if (!(maxLength > 0)) return 0;
  const p = Math.pow(10, Math.floor(Math.log10(maxLength)));
  for (const m of [5, 2, 1]) if (m * p <= maxLength) return m * p;
  return p;
}

/** "12.5 mm", "1.2 km", "300 px". */
export function formatLength(value: number, unit: LengthUnit['unit']): string {
  if (unit === 'm' && value >= 1000) return `${trim(value / 1000)} km`;
  if (unit === 'mm' && value >= 100) return `${trim(value / 10)} cm`;
  return `${trim(value)} ${unit}`;
}

/** Digits after the point a shown number keeps: 1 from 100 up, 2 from 1 up, `digits` below. */
function decimals(v: number, digits: number): number {
  if (Number.isInteger(v)) return 0;
  const abs = Math.abs(v);
  return abs >= 100 ? 1 : abs >= 1 ? 2 : digits;
}

const grouped = new Map<number, Intl.NumberFormat>();

/**
 * A number as people read it: thousands separated ("12,345.6"), a few significant decimals, no trailing zeros.
 * One locale for every number in the app (en-US grouping), so a figure reads the same in the table and in a report.
 */
export function trim(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return '—';
  const d = decimals(v, digits);
  // Tiny values keep their significant digits instead of rounding to 0.
  if (v !== 0 && Math.abs(v) < 10 ** -d) return Number(v.toPrecision(2)).toString();
  let f = grouped.get(d);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { maximumFractionDigits: d, useGrouping: true });
    grouped.set(d, f);
  }
  return f.format(Number(v.toFixed(d)));
}

/** The same rounding without separators: for values in input fields, which must parse back as numbers. */
export function plain(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return '';
  return Number(v.toFixed(decimals(v, digits))).toString();
}
