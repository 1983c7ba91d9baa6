// Outlines of a binary mask by marching squares at level 0.5: vertices lie on the midpoints of the edges between
// a foreground and a background pixel centre (pixel (x, y) has its centre at (x, y)), so the outline is the one
// scikit-image's find_contours(mask_padded, 0.5) draws. Rings are closed (the first vertex is not repeated),
// outer rings have a positive shoelace sum in pixel coordinates (x right, y down: clockwise on screen, hence
// counter-clockwise on a north-up map as GeoJSON wants) and holes a negative one. Also: Douglas-Peucker
// simplification with a tolerance in physical units, and the mapping of pixel coordinates to world/map coordinates.
import type { Geometry } from '../../../preload/formats';

export interface Ring {
  /** Interleaved x, y in the caller's pixel coordinates (offset added); closed implicitly. */
  points: Float64Array;
  hole: boolean;
}

// Edges of a cell: T, R, B, L; corners: TL, TR, BR, BL (bits 1, 2, 4, 8); all in cell units, y down.
const EDGE_OFFSET2: ReadonlyArray<readonly [number, number]> = [
  [1, 0],
  [2, 1],
  [1, 2],
  [0, 1],
];
const CORNER_POS: ReadonlyArray<readonly [number, number]> = [
  [0, 0],
  [1, 0],
  [1, 1],
  [0, 1],
];
const CORNER_EDGES: ReadonlyArray<readonly [number, number]> = [
  [0, 3],
  [0, 1],
  [1, 2],
  [2, 3],
];
const EDGE_CORNERS: ReadonlyArray<readonly [number, number]> = [
  [0, 1],
  [1, 2],
  [2, 3],
  [3, 0],
];

/** Directed segment [fromEdge, toEdge] with the foreground on the right (y down). */
type Segment = readonly [number, number];

function orient(e1: number, e2: number, fgCorner: number): Segment {
  const a = EDGE_OFFSET2[e1]!;
  const b = EDGE_OFFSET2[e2]!;
  const c = CORNER_POS[fgCorner]!;
  const cross = (b[0] - a[0]) * (c[1] * 2 - a[1]) - (b[1] - a[1]) * (c[0] * 2 - a[0]);
  return cross > 0 ? [e1, e2] : [e2, e1];
}

/** SEGMENTS[joined ? 1 : 0][case]: the directed segments of each of the 16 cell cases. */
const SEGMENTS: Segment[][][] = [false, true].map((joined) =>
  Array.from({ length: 16 }, (_, c) => {
    const fg = [0, 1, 2, 3].map((k) => (c >> k) & 1);
    const count = fg.reduce((s, v) => s + v, 0);
    if (count === 0 || count === 4) return [];
    if (count === 1 || count === 3) {
      const k = fg.indexOf(count === 1 ? 1 : 0);
      const [e1, e2] = CORNER_EDGES[k]!;
      return [orient(e1, e2, count === 1 ? k : (k + 2) % 4)];
    }
    if (c === 5 || c === 10) {
      // Saddle: joined = diagonal foreground pixels connect (8-connectivity), so the cuts go round the background corners.
      const cut = [0, 1, 2, 3].filter((k) => (fg[k] === 1) !== joined);
      return cut.map((k) => {
        const [e1, e2] = CORNER_EDGES[k]!;
        return orient(e1, e2, joined ? (k + 1) % 4 : k);
      });
    }
    const crossed = [0, 1, 2, 3].filter((e) => fg[EDGE_CORNERS[e]![0]] !== fg[EDGE_CORNERS[e]![1]]);
    return [orient(crossed[0]!, crossed[1]!, fg.indexOf(1))];
  }),
);

/** Successor map over vertex keys: a typed array for ordinary crops, a Map for huge ones. */
interface NextMap {
  get(k: number): number;
  set(k: number, v: number): void;
}

function nextMap(size: number): NextMap {
  if (size <= 1 << 24) {
    const a = new Int32Array(size).fill(-1);
    return { get: (k) => a[k]!, set: (k, v) => void (a[k] = v) };
  }
  const m = new Map<number, number>();
  return { get: (k) => m.get(k) ?? -1, set: (k, v) => void (v < 0 ? m.delete(k) : m.set(k, v)) };
}

/**
 * Traces every ring of a binary mask (mask[y * width + x] != 0 is foreground; outside the mask is background).
 * joinDiagonals: diagonal foreground pixels belong together (8/18/26-connectivity), which resolves saddle cells.
 * offset is added to the output coordinates (e.g. the crop's bbox origin).
 */
export function traceRings(mask: ArrayLike<number>, width: number, height: number, joinDiagonals: boolean, offset: [number, number] = [0, 0]): Ring[] {
  // Padded grid: mask pixel (x, y) sits at (x + 1, y + 1); cells span padded pixel centres (cx..cx+1, cy..cy+1).
  const pw = width + 2;
  const ph = height + 2;
  const lw = 2 * (pw - 1) + 1;
  const lh = 2 * (ph - 1) + 1;
  const at = (px: number, py: number): number => {
    const x = px - 1;
    const y = py - 1;
    return x >= 0 && y >= 0 && x < width && y < height && mask[y * width + x] ? 1 : 0;
  };
  const table = SEGMENTS[joinDiagonals ? 1 : 0]!;
  const next = nextMap(lw * lh);
  const starts: number[] = [];
  for (let cy = 0; cy < ph - 1; cy++) {
    for (let cx = 0; cx < pw - 1; cx++) {
      const c = at(cx, cy) | (at(cx + 1, cy) << 1) | (at(cx + 1, cy + 1) << 2) | (at(cx, cy + 1) << 3);
      if (c === 0 || c === 15) continue;
      for (const [e1, e2] of table[c]!) {
        const a = EDGE_OFFSET2[e1]!;
        const b = EDGE_OFFSET2[e2]!;
        const from = (2 * cy + a[1]) * lw + 2 * cx + a[0];
        next.set(from, (2 * cy + b[1]) * lw + 2 * cx + b[0]);
        starts.push(from);
      }
    }
  }
  const rings: Ring[] = [];
  const [ox, oy] = offset;
  for (const start of starts) {
    if (next.get(start) < 0) continue;
    const keys: number[] = [];
    let k = start;
    while (k >= 0) {
      keys.push(k);
      const n = next.get(k);
      next.set(k, -1); // consumed
      k = n === start ? -1 : n;
    }
    const points = new Float64Array(keys.length * 2);
    let twiceArea = 0;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      points[2 * i] = (key % lw) / 2 - 1 + ox;
      points[2 * i + 1] = Math.floor(key / lw) / 2 - 1 + oy;
    }
    for (let i = 0, j = keys.length - 1; i < keys.length; j = i++) {
      twiceArea += points[2 * j]! * points[2 * i + 1]! - points[2 * i]! * points[2 * j + 1]!;
    }
    rings.push({ points, hole: twiceArea < 0 });
  }
  return rings;
}

/** Length of a closed ring with pixel steps scaled by spacing (sx along x, sy along y). */
export function ringLength(points: Float64Array, sx = 1, sy = 1): number {
  const n = points.length / 2;
  let total = 0;
  for (let i = 0, j = n - 1; i < n; j = i++) total += Math.hypot((points[2 * i]! - points[2 * j]!) * sx, (points[2 * i + 1]! - points[2 * j + 1]!) * sy);
  return total;
}

/** Signed area (shoelace / 2) of a closed ring in pixel units; positive for outer rings. */
export function ringAreaPx(points: Float64Array): number {
  const n = points.length / 2;
  let s = 0;
  for (let i = 0, j = n - 1; i < n; j = i++) s += points[2 * j]! * points[2 * i + 1]! - points[2 * i]! * points[2 * j + 1]!;
  return s / 2;
}

/**
 * Douglas-Peucker on a closed ring, distances measured after scaling x by sx and y by sy (so the tolerance is in
 * physical units). Keeps at least 3 vertices, and returns the ring unchanged if it has no more than that.
 */
export function simplifyRing(points: Float64Array, tolerance: number, sx = 1, sy = 1): Float64Array {
  const n = points.length / 2;
  if (n <= 3 || tolerance <= 0) return points;
  const X = (i: number): number => points[2 * (i % n)]! * sx;
  const Y = (i: number): number => points[2 * (i % n) + 1]! * sy;
  // Anchor at vertex 0 and the vertex farthest from it, then simplify the two open chains.
  let far = 0;
  let farD = -1;
  for (let i = 1; i < n; i++) {
    const d = (X(i) - X(0)) ** 2 + (Y(i) - Y(0)) ** 2;
    if (d > farD) {
      farD = d;
      far = i;
    }
  }
  const keep = new Uint8Array(n + 1);
  keep[0] = keep[far] = keep[n] = 1;
  const stack: Array<[number, number]> = [
    [0, far],
    [far, n],
  ];
  const tol2 = tolerance * tolerance;
  while (stack.length) {
    const [a, b] = stack.pop()!;
    if (b - a < 2) continue;
    const ax = X(a);
    const ay = Y(a);
    const dx = X(b) - ax;
    const dy = Y(b) - ay;
    const len2 = dx * dx + dy * dy;
    let worst = -1;
    let worstD = -1;
    for (let i = a + 1; i < b; i++) {
      const px = X(i) - ax;
      const py = Y(i) - ay;
      const d = len2 > 0 ? (px * dy - py * dx) ** 2 / len2 : px * px + py * py;
      if (d > worstD) {
        worstD = d;
        worst = i;
      }
    }
    if (worstD > tol2) {
      keep[worst] = 1;
      stack.push([a, worst], [worst, b]);
    }
  }
  let count = 0;
  for (let i = 0; i < n; i++) count += keep[i]!;
  if (count < 3) return points;
  const out = new Float64Array(count * 2);
  for (let i = 0, o = 0; i < n; i++) {
    if (!keep[i]) continue;
    out[o++] = points[2 * i]!;
    out[o++] = points[2 * i + 1]!;
  }
  return out;
}

/** Maps pixel coordinates (x, y) on slice z to world coordinates: LPS mm, map units, or scaled/plain pixels. */
export function pixelToWorld(geometry: Geometry, z = 0): (x: number, y: number) => number[] {
  if (geometry.type === 'medical') {
    const [sx, sy, sz] = geometry.spacingMm;
    const o = geometry.originMm;
    const d = geometry.direction;
    return (x, y) => [0, 1, 2].map((r) => o[r]! + d[r]! * x * sx + d[3 + r]! * y * sy + d[6 + r]! * z * sz);
  }
  if (geometry.type === 'geo') {
    // The geotransform addresses pixel corners; world coordinates are pixel centres.
    const [x0, a, b, y0, d, e] = geometry.geotransform;
    return (x, y) => [x0 + (x + 0.5) * a + (y + 0.5) * b, y0 + (x + 0.5) * d + (y + 0.5) * e];
  }
  const s = geometry.spacingMm;
  return s ? (x, y) => [x * s[0], y * s[1]] : (x, y) => [x, y];
}

/** In-plane physical size of one pixel step along x and y (mm, map units, or 1 for plain pixels). */
export function planarSpacing(geometry: Geometry): [number, number] {
  if (geometry.type === 'medical') return [geometry.spacingMm[0], geometry.spacingMm[1]];
  if (geometry.type === 'geo') {
    const [, a, b, , d, e] = geometry.geotransform;
    return [Math.hypot(a, d), Math.hypot(b, e)];
  }
  return geometry.spacingMm ? [geometry.spacingMm[0], geometry.spacingMm[1]] : [1, 1];
}

export interface Outline {
  /** Rings in pixel coordinates (simplified). */
  pixel: Ring[];
  /** The same vertices in world/map coordinates: arrays of [x, y] or [x, y, z]. */
  world: Array<{ hole: boolean; points: number[][] }>;
}

/**
 * Outline of one instance on slice z: crop its pixels from the instance map, trace, simplify by `toleranceWorld`
 * (physical units; default one pixel of the finer axis) and map to world coordinates.
 */
export function instanceOutline(
  instanceMap: ArrayLike<number>,
  width: number,
  height: number,
  id: number,
  bbox: { min: number[]; max: number[] },
  geometry: Geometry,
  options: { z?: number; joinDiagonals?: boolean; toleranceWorld?: number } = {},
): Outline {
  const z = options.z ?? 0;
  const [x0, y0] = [bbox.min[0]!, bbox.min[1]!];
  const w = bbox.max[0]! - x0 + 1;
  const h = bbox.max[1]! - y0 + 1;
  const mask = new Uint8Array(w * h);
  const base = z * width * height;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) mask[y * w + x] = instanceMap[base + (y0 + y) * width + x0 + x] === id ? 1 : 0;
  const [sx, sy] = planarSpacing(geometry);
  const tolerance = options.toleranceWorld ?? Math.min(sx, sy);
  const rings = traceRings(mask, w, h, options.joinDiagonals ?? true, [x0, y0]).map((r) => ({ hole: r.hole, points: simplifyRing(r.points, tolerance, sx, sy) }));
  const toWorld = pixelToWorld(geometry, z);
  const world = rings.map((r) => {
    const pts: number[][] = [];
    for (let i = 0; i < r.points.length; i += 2) pts.push(toWorld(r.points[i]!, r.points[i + 1]!));
    return { hole: r.hole, points: pts };
  });
  return { pixel: rings, world };
}
