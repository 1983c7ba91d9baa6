// Shape measurements of one instance crop: convex hull, maximum Feret diameter (centres of boundary pixels) and
// the bidirectional (RECIST) long and short axes between marching-squares outline points. Pure geometry on a
// binary crop mask; physical spacing enters only through the scale factors sx, sy (, sz). Definitions: index.ts.
import type { Ring } from '../postprocess/contours';

/** Leftmost and rightmost foreground pixel of every row: the only candidates for hull vertices. */
export function rowExtremes(mask: ArrayLike<number>, width: number, height: number, offsetX = 0, offsetY = 0): number[] {
  const out: number[] = [];
  for (let y = 0; y < height; y++) {
    let lo = -1;
    let hi = -1;
    for (let x = 0; x < width; x++) {
      if (!mask[y * width + x]) continue;
      if (lo < 0) lo = x;
      hi = x;
    }
    if (lo < 0) continue;
    out.push(lo + offsetX, y + offsetY);
    if (hi !== lo) out.push(hi + offsetX, y + offsetY);
  }
  return out;
}

/** Convex hull (Andrew's monotone chain) of interleaved 2D points; collinear points dropped. */
export function convexHull(xy: ArrayLike<number>): number[] {
  const n = xy.length / 2;
  const idx = Array.from({ length: n }, (_, i) => i);
  idx.sort((a, b) => xy[2 * a]! - xy[2 * b]! || xy[2 * a + 1]! - xy[2 * b + 1]!);
  if (n <= 2) return idx.flatMap((i) => [xy[2 * i]!, xy[2 * i + 1]!]);
  const cross = (o: number, a: number, b: number): number =>
    (xy[2 * a]! - xy[2 * o]!) * (xy[2 * b + 1]! - xy[2 * o + 1]!) - (xy[2 * a + 1]! - xy[2 * o + 1]!) * (xy[2 * b]! - xy[2 * o]!);
  const lower: number[] = [];
  for (const i of idx) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, i) <= 0) lower.pop();
    lower.push(i);
  }
  const upper: number[] = [];
  for (let k = idx.length - 1; k >= 0; k--) {
    const i = idx[k]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, i) <= 0) upper.pop();
    upper.push(i);
  }
  const hull = lower.slice(0, -1).concat(upper.slice(0, -1));
  return hull.flatMap((i) => [xy[2 * i]!, xy[2 * i + 1]!]);
}

/** Largest pairwise distance of interleaved points with `dims` coordinates, each axis scaled by scale[d]. */
export function maxPairDistance(points: ArrayLike<number>, dims: 2 | 3, scale: number[]): { length: number; a: number; b: number } {
  const n = points.length / dims;
  const s = [scale[0] ?? 1, scale[1] ?? 1, scale[2] ?? 1];
  // Scaled copy: the O(n^2) loop then does plain arithmetic.
  const p = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) for (let d = 0; d < dims; d++) p[3 * i + d] = points[dims * i + d]! * s[d]!;
  let best = 0;
  let ba = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    const x = p[3 * i]!;
    const y = p[3 * i + 1]!;
    const z = p[3 * i + 2]!;
    for (let j = i + 1; j < n; j++) {
      const d2 = (p[3 * j]! - x) ** 2 + (p[3 * j + 1]! - y) ** 2 + (p[3 * j + 2]! - z) ** 2;
      if (d2 > best) {
        best = d2;
        ba = i;
        bb = j;
      }
    }
  }
  return { length: Math.sqrt(best), a: ba, b: bb };
}

/**
 * Inside test for the region bounded by the marching-squares outline (level 0.5) of a binary crop mask, at a
 * continuous point (px, py) in crop pixel coordinates (pixel centres are integers). Points on the outline count.
 */
function cornerAt(mask: ArrayLike<number>, width: number, height: number, x: number, y: number): number {
  return x >= 0 && y >= 0 && x < width && y < height && mask[y * width + x] ? 1 : 0;
}

/** L1 distance of (u, v) from cell corner k (TL, TR, BR, BL): marching-squares cuts are L1 circles of radius 0.5. */
function l1(k: number, u: number, v: number): number {
  return k === 0 ? u + v : k === 1 ? 1 - u + v : k === 2 ? 2 - u - v : u + 1 - v;
}

const CORNER_OF_BIT = [0, 0, 1, 0, 2, 0, 0, 0, 3];

export function insideOutline(mask: ArrayLike<number>, width: number, height: number, joinDiagonals: boolean, px: number, py: number): boolean {
  // Module-level helpers, no closures: this runs for every sample of every candidate segment.
  const cx = Math.floor(px);
  const cy = Math.floor(py);
  const u = px - cx;
  const v = py - cy;
  const c =
    cornerAt(mask, width, height, cx, cy) |
    (cornerAt(mask, width, height, cx + 1, cy) << 1) |
    (cornerAt(mask, width, height, cx + 1, cy + 1) << 2) |
    (cornerAt(mask, width, height, cx, cy + 1) << 3);
  if (c === 0) return false;
  if (c === 15) return true;
  const eps = 1e-9;
  switch (c) {
    case 1:
    case 2:
    case 4:
    case 8:
      return l1(CORNER_OF_BIT[c]!, u, v) <= 0.5 + eps;
    case 14:
    case 13:
    case 11:
    case 7:
      return l1(CORNER_OF_BIT[15 - c]!, u, v) >= 0.5 - eps;
    case 3:
      return v <= 0.5 + eps;
    case 6:
      return u >= 0.5 - eps;
    case 12:
      return v >= 0.5 - eps;
    case 9:
      return u <= 0.5 + eps;
    case 5:
      return joinDiagonals ? l1(1, u, v) >= 0.5 - eps && l1(3, u, v) >= 0.5 - eps : l1(0, u, v) <= 0.5 + eps || l1(2, u, v) <= 0.5 + eps;
    default: // 10
      return joinDiagonals ? l1(0, u, v) >= 0.5 - eps && l1(2, u, v) >= 0.5 - eps : l1(1, u, v) <= 0.5 + eps || l1(3, u, v) <= 0.5 + eps;
  }
}

/** Whether the segment a-b (crop pixel coordinates) stays inside the outline, sampled every 0.2 pixel. */
export function segmentInside(mask: ArrayLike<number>, width: number, height: number, joinDiagonals: boolean, ax: number, ay: number, bx: number, by: number): boolean {
  const steps = Math.max(2, Math.ceil(Math.hypot(bx - ax, by - ay) / 0.2));
  for (let k = 1; k < steps; k++) {
    const t = k / steps;
    if (!insideOutline(mask, width, height, joinDiagonals, ax + (bx - ax) * t, ay + (by - ay) * t)) return false;
  }
  return true;
}

export interface Axis {
  length: number;
  /** End points in the rings' pixel coordinates. */
  a: [number, number];
  b: [number, number];
}

/** Outline points beyond this many are subsampled evenly for the O(n^2) pair search (huge objects only). */
export const AXIS_POINT_CAP = 1500;

function outlinePoints(rings: Ring[], cap: number): Float64Array {
  const total = rings.reduce((s, r) => s + r.points.length / 2, 0);
  const step = Math.max(1, Math.ceil(total / cap));
  const out: number[] = [];
  for (const r of rings) for (let i = 0; i < r.points.length / 2; i += step) out.push(r.points[2 * i]!, r.points[2 * i + 1]!);
  return Float64Array.from(out);
}

/**
 * Longest segment between two outline points that stays inside, among pairs accepted by `accept`; pairs are
 * tested longest first in distance bands, so the first pair that passes the inside test is the answer.
 */
function longestInside(
  pts: Float64Array,
  sx: number,
  sy: number,
  mask: ArrayLike<number>,
  width: number,
  height: number,
  joinDiagonals: boolean,
  /** Unit direction (physical) the segment must be within `sinTol` of perpendicular to; null = any direction. */
  perpTo: [number, number] | null,
  sinTol: number,
): Axis | null {
  const n = pts.length / 2;
  const [ux, uy] = perpTo ?? [0, 0];
  const any = perpTo === null;
  let maxD2 = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = (pts[2 * j]! - pts[2 * i]!) * sx;
      const dy = (pts[2 * j + 1]! - pts[2 * i + 1]!) * sy;
      const d2 = dx * dx + dy * dy;
      if (d2 > maxD2 && (any || (dx * ux + dy * uy) ** 2 <= sinTol * sinTol * d2)) maxD2 = d2;
    }
  }
  if (maxD2 === 0) return null;
  let hi = Infinity;
  let lo = maxD2 * 0.8;
  let bandD2 = new Float64Array(256);
  let bandPair = new Int32Array(512);
  for (;;) {
    let m = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const dx = (pts[2 * j]! - pts[2 * i]!) * sx;
        const dy = (pts[2 * j + 1]! - pts[2 * i + 1]!) * sy;
        const d2 = dx * dx + dy * dy;
        if (d2 < lo || d2 >= hi || d2 === 0 || (!any && (dx * ux + dy * uy) ** 2 > sinTol * sinTol * d2)) continue;
        if (m === bandD2.length) {
          const d = new Float64Array(m * 2);
          d.set(bandD2);
          bandD2 = d;
          const p = new Int32Array(m * 4);
          p.set(bandPair);
          bandPair = p;
        }
        bandD2[m] = d2;
        bandPair[2 * m] = i;
        bandPair[2 * m + 1] = j;
        m++;
      }
    }
    const order = new Uint32Array(m);
    for (let k = 0; k < m; k++) order[k] = k;
    const d2s = bandD2;
    order.sort((p, q) => d2s[q]! - d2s[p]!);
    for (let k = 0; k < m; k++) {
      const o = order[k]!;
      const i = bandPair[2 * o]!;
      const j = bandPair[2 * o + 1]!;
      if (segmentInside(mask, width, height, joinDiagonals, pts[2 * i]!, pts[2 * i + 1]!, pts[2 * j]!, pts[2 * j + 1]!)) {
        return { length: Math.sqrt(bandD2[o]!), a: [pts[2 * i]!, pts[2 * i + 1]!], b: [pts[2 * j]!, pts[2 * j + 1]!] };
      }
    }
    if (lo === 0) return null;
    hi = lo;
    lo = lo < maxD2 * 1e-4 ? 0 : lo * 0.6;
  }
}

/**
 * The largest connected piece (most pixels; the first in raster order on a tie) of a binary crop, 8-connected when
 * diagonals join, else 4-connected. An edit can cut a lesion in two on a slice while it stays one instance: RECIST
 * axes belong to one piece, never one axis in each. Returns the mask itself when it is already one piece (or empty).
 */
export function largestPiece(mask: ArrayLike<number>, width: number, height: number, joinDiagonals: boolean): { mask: ArrayLike<number>; pieces: number } {
  const n = width * height;
  const label = new Int32Array(n);
  const stack = new Int32Array(n);
  let pieces = 0;
  let bestLabel = 0;
  let bestCount = 0;
  for (let start = 0; start < n; start++) {
    if (!mask[start] || label[start]) continue;
    const id = ++pieces;
    let top = 0;
    let count = 0;
    stack[top++] = start;
    label[start] = id;
    while (top > 0) {
      const i = stack[--top]!;
      count++;
      const x = i % width;
      const y = (i - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          if ((dx === 0 && dy === 0) || (!joinDiagonals && dx !== 0 && dy !== 0)) continue;
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const j = ny * width + nx;
          if (!mask[j] || label[j]) continue;
          label[j] = id;
          stack[top++] = j;
        }
      }
    }
    if (count > bestCount) {
      bestCount = count;
      bestLabel = id;
    }
  }
  if (pieces <= 1) return { mask, pieces };
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) if (label[i] === bestLabel) out[i] = 1;
  return { mask: out, pieces };
}

/**
 * Bidirectional axes of a crop: long = longest inside segment between outline points; short = longest inside
 * segment within 2 degrees of perpendicular to it (it need not cross the long axis). Rings are in crop pixel
 * coordinates; lengths in the units of sx, sy.
 */
export function bidirectionalAxes(
  mask: ArrayLike<number>,
  width: number,
  height: number,
  rings: Ring[],
  sx: number,
  sy: number,
  joinDiagonals: boolean,
): { long: Axis; short: Axis | null } | null {
  const pts = outlinePoints(rings, AXIS_POINT_CAP);
  const long = longestInside(pts, sx, sy, mask, width, height, joinDiagonals, null, 0);
  if (!long) return null;
  const ux = ((long.b[0] - long.a[0]) * sx) / long.length;
  const uy = ((long.b[1] - long.a[1]) * sy) / long.length;
  // Within 2 degrees of perpendicular: |cos(angle to the long axis)| <= sin(2 degrees).
  const short = longestInside(pts, sx, sy, mask, width, height, joinDiagonals, [ux, uy], Math.sin((2 * Math.PI) / 180));
  return { long, short };
}
