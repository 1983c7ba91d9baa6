// Footprint regularisation, the "rectangle" method of building-footprint tools: an object whose pixels fill most of
// their minimum-area bounding rectangle (any orientation) becomes the pixels of that rectangle, so a house drawn as
// a rounded blob comes out with straight walls and square corners, at the roof's own angle. Objects that fill less
// of it (L-shapes, courtyards, irregular outlines) keep their pixels. Runs on a 2D instance map after touching
// objects are split. The rectangle encloses every pixel of the object, so regularising only adds pixels, and only
// background ones (label 0, no instance): neighbours stay apart. Labels follow the instance map, so class areas,
// overlays and exports agree with the instances.
//
// The rectangle is found by rotating calipers on the convex hull of the object's pixel corners (one side of the
// minimum-area enclosing rectangle lies on a hull edge; Freeman & Shapira 1975); a pixel belongs to it when its
// centre lies inside.
import type { LabelArray } from './labels';

export interface OrientedRect {
  /** Centre, in pixel coordinates (x right, y down; pixel (i, j) spans [i, i + 1] x [j, j + 1]). */
  cx: number;
  cy: number;
  /** Unit vector along the first side; the second side is (-uy, ux). */
  ux: number;
  uy: number;
  /** Half the side lengths along (ux, uy) and along (-uy, ux), in pixels. */
  halfU: number;
  halfV: number;
  /** Area in pixels. */
  area: number;
}

/** Convex hull (counter-clockwise in x-right/y-up terms, no collinear points) of a point set; Andrew's monotone chain. */
export function convexHull(points: ReadonlyArray<readonly [number, number]>): Array<[number, number]> {
  const pts = [...points].sort((a, b) => a[0] - b[0] || a[1] - b[1]).map((p) => [p[0], p[1]] as [number, number]);
  if (pts.length < 3) return pts;
  const cross = (o: [number, number], a: [number, number], b: [number, number]): number => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: Array<[number, number]> = [];
  for (const p of pts) {
    while (lower.length >= 2 && cross(lower[lower.length - 2]!, lower[lower.length - 1]!, p) <= 0) lower.pop();
    lower.push(p);
  }
  const upper: Array<[number, number]> = [];
  for (let i = pts.length - 1; i >= 0; i--) {
    const p = pts[i]!;
    while (upper.length >= 2 && cross(upper[upper.length - 2]!, upper[upper.length - 1]!, p) <= 0) upper.pop();
    upper.push(p);
  }
  lower.pop();
  upper.pop();
  return lower.concat(upper);
}

/** Minimum-area enclosing rectangle of a convex polygon (its hull), by trying each edge's direction. */
export function minAreaRectangle(hull: ReadonlyArray<readonly [number, number]>): OrientedRect {
  if (hull.length === 0) throw new Error('minAreaRectangle: no points');
  let best: OrientedRect | null = null;
  const n = hull.length;
  for (let i = 0; i < Math.max(n, 1); i++) {
    const a = hull[i]!;
    const b = hull[(i + 1) % n]!;
    const len = Math.hypot(b[0] - a[0], b[1] - a[1]);
    const ux = len > 0 ? (b[0] - a[0]) / len : 1;
    const uy = len > 0 ? (b[1] - a[1]) / len : 0;
    let minU = Infinity;
    let maxU = -Infinity;
    let minV = Infinity;
    let maxV = -Infinity;
    for (const p of hull) {
      const u = p[0] * ux + p[1] * uy;
      const v = -p[0] * uy + p[1] * ux;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (!best || area < best.area - 1e-9) {
      const mu = (minU + maxU) / 2;
      const mv = (minV + maxV) / 2;
      best = { cx: mu * ux - mv * uy, cy: mu * uy + mv * ux, ux, uy, halfU: (maxU - minU) / 2, halfV: (maxV - minV) / 2, area };
    }
  }
  return best!;
}

export interface RegularizeInput {
  /** 0 = none, else the instance id (ids 1..n); changed in place. */
  instances: Uint32Array;
  /** Class per pixel; changed in place to follow the instances. */
  labels: LabelArray;
  width: number;
  height: number;
  /** Objects filling less than this fraction of their minimum-area rectangle keep their pixels (0..1). */
  minFill: number;
}

export interface RegularizeOutcome {
  /** Objects that became their rectangle. */
  regularized: number;
  /** Objects kept as they were (below minFill). */
  kept: number;
}

/** Grows each object of a 2D instance map to its minimum-area rectangle where it fills at least `minFill` of it. */
export function regularizeRectangles(input: RegularizeInput): RegularizeOutcome {
  const { instances, labels, width: W, height: H, minFill } = input;
  if (instances.length !== W * H) throw new Error(`regularizeRectangles: a ${W} x ${H} map needs ${W * H} pixels, got ${instances.length}`);
  let n = 0;
  for (let i = 0; i < instances.length; i++) if (instances[i]! > n) n = instances[i]!;
  const x0 = new Int32Array(n + 1).fill(W);
  const x1 = new Int32Array(n + 1).fill(-1);
  const y0 = new Int32Array(n + 1).fill(H);
  const y1 = new Int32Array(n + 1).fill(-1);
  const count = new Float64Array(n + 1);
  const cls = new Uint32Array(n + 1);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const id = instances[i]!;
      if (id === 0) continue;
      if (count[id] === 0) cls[id] = labels[i]!;
      count[id]!++;
      if (x < x0[id]!) x0[id] = x;
      if (x > x1[id]!) x1[id] = x;
      if (y < y0[id]!) y0[id] = y;
      if (y > y1[id]!) y1[id] = y;
    }
  }
  let regularized = 0;
  let kept = 0;
  for (let id = 1; id <= n; id++) {
    if (count[id] === 0) continue;
    // Hull candidates: the outer corners of the leftmost and rightmost pixel of each row.
    const corners: Array<[number, number]> = [];
    for (let y = y0[id]!; y <= y1[id]!; y++) {
      let lo = -1;
      let hi = -1;
      for (let x = x0[id]!; x <= x1[id]!; x++) {
        if (instances[y * W + x] !== id) continue;
        if (lo < 0) lo = x;
        hi = x;
      }
      if (lo < 0) continue;
      corners.push([lo, y], [lo, y + 1], [hi + 1, y], [hi + 1, y + 1]);
    }
    const rect = minAreaRectangle(convexHull(corners));
    if (count[id]! / rect.area < minFill) {
      kept++;
      continue;
    }
    regularized++;
    const vx = -rect.uy;
    const vy = rect.ux;
    const eps = 1e-9;
    const inside = (x: number, y: number): boolean => {
      const dx = x + 0.5 - rect.cx;
      const dy = y + 0.5 - rect.cy;
      return Math.abs(dx * rect.ux + dy * rect.uy) <= rect.halfU + eps && Math.abs(dx * vx + dy * vy) <= rect.halfV + eps;
    };
    // The rectangle takes the background pixels whose centres it covers.
    const ex = rect.halfU * Math.abs(rect.ux) + rect.halfV * Math.abs(vx);
    const ey = rect.halfU * Math.abs(rect.uy) + rect.halfV * Math.abs(vy);
    const rx0 = Math.max(0, Math.floor(rect.cx - ex));
    const rx1 = Math.min(W - 1, Math.ceil(rect.cx + ex));
    const ry0 = Math.max(0, Math.floor(rect.cy - ey));
    const ry1 = Math.min(H - 1, Math.ceil(rect.cy + ey));
    for (let y = ry0; y <= ry1; y++) {
      for (let x = rx0; x <= rx1; x++) {
        const i = y * W + x;
        if (instances[i] === 0 && labels[i] === 0 && inside(x, y)) {
          instances[i] = id;
          labels[i] = cls[id]!;
        }
      }
    }
  }
  return { regularized, kept };
}
