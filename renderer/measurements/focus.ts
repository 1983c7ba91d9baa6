// Where a selected object is shown when its row is picked: the slice its RECIST axes were measured on (so the axes
// are drawn), centred on the long axis. After an edit splits a lesion the centroid can fall between the pieces,
// while the axes lie on one piece: centring on them keeps what was measured in view.
import type { InstanceRecord } from '../../preload/api';

/** The [[x, y], [x, y]] end points of an axis field, or null when the field is missing or malformed. */
export function axisEnds(v: unknown): [[number, number], [number, number]] | null {
  if (!Array.isArray(v) || v.length !== 2) return null;
  const [a, b] = v as unknown[];
  if (!Array.isArray(a) || !Array.isArray(b)) return null;
  const n = [a[0], a[1], b[0], b[1]];
  if (!n.every((x) => typeof x === 'number' && Number.isFinite(x))) return null;
  return [
    [n[0] as number, n[1] as number],
    [n[2] as number, n[3] as number],
  ];
}

/** Pixel point (x, y) to centre on and zero-based slice to show (undefined for 2D results). */
export function focusTarget(rec: InstanceRecord): { x: number; y: number; z: number | undefined } {
  const [cx = 0, cy = 0, cz] = rec.centroidPx;
  const z = typeof rec.recistSlice === 'number' ? rec.recistSlice : cz;
  const long = axisEnds(rec.longAxisEndsPx);
  if (!long) return { x: cx, y: cy, z };
  return { x: (long[0][0] + long[1][0]) / 2, y: (long[0][1] + long[1][1]) / 2, z };
}

/** The RECIST slice as people count it (1-based), or null for 2D results and objects without axes. */
export function recistSliceNumber(rec: InstanceRecord): number | null {
  return typeof rec.recistSlice === 'number' ? rec.recistSlice + 1 : null;
}
