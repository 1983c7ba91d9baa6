// Lengths on the image: which unit it has (mm for patient and spaced images, m for projected maps, px otherwise),
// how long one pixel is in it along x and y, and a "nice" scale-bar length for a zoom.
import type { ImageInfo } from '../../preload/api';

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
  return { unit: 'px', perPxX: 1, perPxY: 1 };
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

export function trim(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return '—';
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  const d = abs >= 100 ? 1 : abs >= 1 ? 2 : digits;
  return Number(v.toFixed(d)).toString();
}
