// Manual measurements (ruler and bidirectional long/short axis, as radiologists draw for RECIST): what one is,
// how long its lines are in the image's unit, and the short axis a cursor position gives. Pure functions.
import type { ImageInfo } from '../../preload/api';
import { isGeographic, trim, userPixelSize } from '../viewer/units';

export type Point = [number, number];

/** Points are image pixel coordinates (pixel centres at integer + 0.5), on slice z of the image `handle`. */
export interface ManualMeasurement {
  id: number;
  handle: string;
  z: number;
  kind: 'ruler' | 'bidirectional';
  /** Ruler: [a, b]. Bidirectional: [longA, longB, shortA, shortB]. */
  points: Point[];
}

export interface LengthScale {
  unit: 'mm' | 'm' | 'px';
  /** Length of the segment a-b in `unit`. */
  length(a: Point, b: Point): number;
  /** When the length is an approximation, why (shown in the UI); null when exact. */
  approximate: string | null;
}

const EARTH_RADIUS_M = 6371008.8;

/**
 * How to measure on this image: mm from the pixel spacing (medical), metres from the geotransform's affine for a
 * projected CRS (grid distance: exact in map units, which the CRS is assumed to have in metres), great-circle
 * metres on a sphere for a geographic CRS (degrees; approximate), pixels otherwise.
 */
export function lengthScale(info: ImageInfo): LengthScale {
  if (info.spacingMm) {
    const [sx, sy] = info.spacingMm;
    return { unit: 'mm', length: (a, b) => Math.hypot((b[0] - a[0]) * sx, (b[1] - a[1]) * sy), approximate: null };
  }
  const gt = info.geotransform;
  if (gt && info.crs) {
    const map = (p: Point): Point => [gt[0] + p[0] * gt[1] + p[1] * gt[2], gt[3] + p[0] * gt[4] + p[1] * gt[5]];
    if (!isGeographic(info.crs)) {
      return {
        unit: 'm',
        length: (a, b) => {
          const [ax, ay] = map(a);
          const [bx, by] = map(b);
          return Math.hypot(bx - ax, by - ay);
        },
        approximate: null,
      };
    }
    return {
      unit: 'm',
      length: (a, b) => {
        const [lonA, latA] = map(a).map((d) => (d * Math.PI) / 180) as Point;
        const [lonB, latB] = map(b).map((d) => (d * Math.PI) / 180) as Point;
        const h = Math.sin((latB - latA) / 2) ** 2 + Math.cos(latA) * Math.cos(latB) * Math.sin((lonB - lonA) / 2) ** 2;
        return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
      },
      approximate: 'great-circle distance on a sphere (geographic CRS): within about 0.5%',
    };
  }
  const given = userPixelSize(info);
  if (given) return { unit: given.unit, length: (a, b) => Math.hypot(b[0] - a[0], b[1] - a[1]) * given.value, approximate: null };
  return { unit: 'px', length: (a, b) => Math.hypot(b[0] - a[0], b[1] - a[1]), approximate: null };
}

/** The lengths a measurement shows: the ruler's, or the long and short axes. */
export function measurementLengths(m: ManualMeasurement, scale: LengthScale): { long: number; short?: number } {
  const [a, b, c, d] = m.points;
  if (!a || !b) return { long: 0 };
  const long = scale.length(a, b);
  return m.kind === 'bidirectional' && c && d ? { long, short: scale.length(c, d) } : { long };
}

/** "23.4 mm"; "≈ 120 m" when the length is approximate. */
export function formatMeasured(value: number, unit: LengthScale['unit'], approximate: boolean): string {
  return `${approximate ? '≈ ' : ''}${trim(value)} ${unit}`;
}

/**
 * The short axis for a cursor at p once the long axis a-b is drawn: perpendicular to it, centred on the point of
 * a-b nearest p (kept within the axis), as long on each side as p is far from the long axis.
 */
export function shortAxisFor(a: Point, b: Point, p: Point): [Point, Point] {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  if (len2 === 0) return [a, a];
  const t = Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2));
  const foot: Point = [a[0] + t * dx, a[1] + t * dy];
  const len = Math.sqrt(len2);
  const nx = -dy / len;
  const ny = dx / len;
  const half = Math.abs((p[0] - foot[0]) * nx + (p[1] - foot[1]) * ny);
  return [
    [foot[0] + nx * half, foot[1] + ny * half],
    [foot[0] - nx * half, foot[1] - ny * half],
  ];
}

/** CSV of the manual measurements of one image (lengths in the scale's unit; slices counted from 1, as shown). */
export function manualCsv(list: ManualMeasurement[], scale: LengthScale): string {
  const u = scale.unit;
  const lines = [`id,kind,slice,long_${u},short_${u},x0,y0,x1,y1`];
  for (const m of list) {
    const { long, short } = measurementLengths(m, scale);
    const [a, b] = m.points;
    lines.push([m.id, m.kind, m.z + 1, round(long), short === undefined ? '' : round(short), a?.[0], a?.[1], b?.[0], b?.[1]].map((v) => (v === undefined ? '' : typeof v === 'number' ? round(v) : v)).join(','));
  }
  return lines.join('\n') + '\n';
}

const round = (v: number): number => Math.round(v * 1000) / 1000;
