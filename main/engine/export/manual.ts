// Manual measurements (rulers and bidirectional long/short axes drawn by hand) in the exports: their lengths in the
// image's unit, a CSV table appended below the objects' table, records for the JSON export and lines with labels
// for the PNG snapshot. Slices people read are counted from 1 (`slice`); `z` and the points stay zero-based pixel
// coordinates, as every JSON pixel field is.
import type { Geometry } from '../../../preload/formats';
import { isGeographicCrs } from '../measure/geo';

export interface ManualInput {
  /** The number the app shows for it (M1, M2 ...). */
  id: number;
  z: number;
  kind: 'ruler' | 'bidirectional';
  /** Ruler: [a, b]. Bidirectional: [longA, longB, shortA, shortB]. Image pixel coordinates. */
  points: Array<[number, number]>;
}

/** Unit suffix of the length fields: mm (pixel spacing), m (map units or great circle) or px (no geometry). */
export type LengthUnit = 'Mm' | 'M' | 'Px';

export interface ManualRecord {
  measurement: string;
  kind: 'ruler' | 'bidirectional';
  /** Slice counted from 1, for people. */
  slice: number;
  /** Zero-based slice index (a pixel field). */
  z: number;
  points: Array<[number, number]>;
  /** longMm / shortMm, longM / shortM or longPx / shortPx (short only for bidirectional). */
  [length: string]: unknown;
}

const EARTH_RADIUS_M = 6371008.8;
const round = (v: number): number => Math.round(v * 1e6) / 1e6;

/**
 * How lengths are measured on this geometry, the same rule as the viewer's: mm from the pixel spacing, metres from
 * a projected geotransform (grid distance) or a great circle for a geographic CRS, pixels otherwise.
 */
export function lengthOn(geometry: Geometry): { unit: LengthUnit; length(a: [number, number], b: [number, number]): number } {
  if ((geometry.type === 'medical' || geometry.type === 'pixel') && geometry.spacingMm) {
    const [sx = 1, sy = 1] = geometry.spacingMm;
    return { unit: 'Mm', length: (a, b) => Math.hypot((b[0] - a[0]) * sx, (b[1] - a[1]) * sy) };
  }
  // A geotransform without a CRS gives no metres (the viewer measures such an image in pixels too).
  if (geometry.type === 'geo' && geometry.crs) {
    const gt = geometry.geotransform;
    const map = (p: [number, number]): [number, number] => [gt[0] + p[0] * gt[1] + p[1] * gt[2], gt[3] + p[0] * gt[4] + p[1] * gt[5]];
    if (isGeographicCrs(geometry.crs) === true) {
      return {
        unit: 'M',
        length: (a, b) => {
          const [lonA, latA] = map(a).map((d) => (d * Math.PI) / 180) as [number, number];
          const [lonB, latB] = map(b).map((d) => (d * Math.PI) / 180) as [number, number];
          const h = Math.sin((latB - latA) / 2) ** 2 + Math.cos(latA) * Math.cos(latB) * Math.sin((lonB - lonA) / 2) ** 2;
          return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
        },
      };
    }
    return {
      unit: 'M',
      length: (a, b) => {
        const [ax, ay] = map(a);
        const [bx, by] = map(b);
        return Math.hypot(bx - ax, by - ay);
      },
    };
  }
  return { unit: 'Px', length: (a, b) => Math.hypot(b[0] - a[0], b[1] - a[1]) };
}

/** One record per measurement, lengths in the geometry's unit. */
export function manualRecords(list: ManualInput[], geometry: Geometry): ManualRecord[] {
  const { unit, length } = lengthOn(geometry);
  return list.map((m) => {
    const [a, b, c, d] = m.points;
    const rec: ManualRecord = { measurement: `M${m.id}`, kind: m.kind, slice: m.z + 1, z: m.z, points: m.points.map((p) => [p[0], p[1]]) };
    rec[`long${unit}`] = a && b ? round(length(a, b)) : null;
    if (m.kind === 'bidirectional') rec[`short${unit}`] = c && d ? round(length(c, d)) : null;
    return rec;
  });
}

/**
 * The CSV table of the measurements (header `measurement,kind,slice,long<Unit>,short<Unit>,x0,y0,...`), appended to
 * the objects' table after one empty line: a spreadsheet shows both, and the first table stays as it was.
 */
export function manualCsv(list: ManualInput[], geometry: Geometry): string {
  if (list.length === 0) return '';
  const { unit } = lengthOn(geometry);
  const header = ['measurement', 'kind', 'slice', `long${unit}`, `short${unit}`, 'x0', 'y0', 'x1', 'y1', 'x2', 'y2', 'x3', 'y3'];
  const lines = [header.join(',')];
  for (const r of manualRecords(list, geometry)) {
    const coords = Array.from({ length: 8 }, (_, i) => r.points[i >> 1]?.[i & 1]);
    const cells = [r.measurement, r.kind, r.slice, r[`long${unit}`], r[`short${unit}`], ...coords.map((v) => (v === undefined ? undefined : round(v)))];
    lines.push(cells.map((v) => (v === undefined || v === null ? '' : String(v))).join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

/** A line the PNG snapshot draws over the image, in image pixel coordinates, with its label at the far end. */
export interface SnapshotLine {
  a: [number, number];
  b: [number, number];
  label?: string;
}

/** The lines of the measurements on slice z: a ruler's one, a bidirectional's two (the label on the long axis). */
export function snapshotLines(list: ManualInput[], geometry: Geometry, z: number): SnapshotLine[] {
  const { unit, length } = lengthOn(geometry);
  const u = unit === 'Mm' ? 'mm' : unit === 'M' ? 'm' : 'px';
  const fmt = (v: number): string => `${Number(v.toPrecision(v >= 100 ? 4 : 3))} ${u}`;
  const out: SnapshotLine[] = [];
  for (const m of list) {
    if (m.z !== z) continue;
    const [a, b, c, d] = m.points;
    if (!a || !b) continue;
    const short = m.kind === 'bidirectional' && c && d ? length(c, d) : undefined;
    out.push({ a, b, label: `M${m.id} ${fmt(length(a, b))}${short === undefined ? '' : ` × ${fmt(short)}`}` });
    if (short !== undefined && c && d) out.push({ a: c, b: d });
  }
  return out;
}
