// Edit operations that work on shapes and regions rather than brush strokes: polygon/lasso fill and erase, fill
// holes, split along a line, merge, and region growing from a click. Each is pure: the maps in, a Patch out.
import type { EditOperation } from '../../../preload/api';
import { InputError } from '../image';
import type { Connectivity } from '../postprocess/components';
import { flood4 } from '../postprocess/flood4';
import { checkSlice, eachPixelOf, PatchBuilder, planePixelSet, requireInstance, resolveTarget, type EditTarget, type Patch } from './patch';

type Op<N extends EditOperation['op']> = Extract<EditOperation, { op: N }>;

/**
 * Pixels of a W x H slice inside the closed polygon, by the even-odd rule sampled at pixel centres (x + 0.5,
 * y + 0.5): a scanline per row, crossings counted half-open so a vertex on the scanline counts once.
 * Returns in-plane indices (y * W + x) in raster order.
 */
export function polygonPixels(points: ReadonlyArray<readonly [number, number]>, width: number, height: number): number[] {
  const out: number[] = [];
  const n = points.length;
  if (n < 3) return out;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const p of points) {
    minY = Math.min(minY, p[1]);
    maxY = Math.max(maxY, p[1]);
  }
  const y0 = Math.max(0, Math.floor(minY - 0.5));
  const y1 = Math.min(height - 1, Math.ceil(maxY));
  const xs: number[] = [];
  for (let y = y0; y <= y1; y++) {
    const yc = y + 0.5;
    xs.length = 0;
    for (let k = 0; k < n; k++) {
      const a = points[k]!;
      const b = points[(k + 1) % n]!;
      if ((a[1] <= yc && yc < b[1]) || (b[1] <= yc && yc < a[1])) xs.push(a[0] + ((yc - a[1]) * (b[0] - a[0])) / (b[1] - a[1]));
    }
    xs.sort((p, q) => p - q);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      // Centres x + 0.5 in [xa, xb).
      const from = Math.max(0, Math.ceil(xs[k]! - 0.5));
      const to = Math.min(width - 1, Math.ceil(xs[k + 1]! - 0.5) - 1);
      for (let x = from; x <= to; x++) out.push(y * width + x);
    }
  }
  return out;
}

/**
 * The pixels a polyline passes through, 4-connected (each step moves along x or y only), so the line separates
 * 4- and 8-connected regions alike. Points outside the slice are clipped per pixel. In-plane indices, each once.
 */
export function linePixels(line: ReadonlyArray<readonly [number, number]>, width: number, height: number): number[] {
  const { add, pixels: out } = planePixelSet(width, height);
  const pts = line.length === 1 ? [line[0]!, line[0]!] : line;
  for (let k = 0; k + 1 < pts.length; k++) {
    const [ax, ay] = pts[k]!;
    const [bx, by] = pts[k + 1]!;
    // Grid traversal (Amanatides & Woo): visit every cell the segment crosses, one axis step at a time.
    let x = Math.floor(ax);
    let y = Math.floor(ay);
    const ex = Math.floor(bx);
    const ey = Math.floor(by);
    const dx = bx - ax;
    const dy = by - ay;
    const stepX = Math.sign(dx);
    const stepY = Math.sign(dy);
    const tDeltaX = stepX !== 0 ? Math.abs(1 / dx) : Infinity;
    const tDeltaY = stepY !== 0 ? Math.abs(1 / dy) : Infinity;
    let tMaxX = stepX > 0 ? (x + 1 - ax) / dx : stepX < 0 ? (ax - x) / -dx : Infinity;
    let tMaxY = stepY > 0 ? (y + 1 - ay) / dy : stepY < 0 ? (ay - y) / -dy : Infinity;
    add(x, y);
    let guard = Math.abs(ex - x) + Math.abs(ey - y) + 2;
    while ((x !== ex || y !== ey) && guard-- > 0) {
      if (tMaxX < tMaxY) {
        x += stepX;
        tMaxX += tDeltaX;
      } else {
        y += stepY;
        tMaxY += tDeltaY;
      }
      add(x, y);
    }
  }
  return out;
}

/** Neighbour offsets [dx, dy, dz] of a connectivity (4/8 stay in the slice; 6/18/26 reach the slices beside). */
function neighbours(connectivity: Connectivity): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  const inPlane = connectivity === 4 || connectivity === 8;
  const maxNonzero = connectivity === 4 || connectivity === 6 ? 1 : connectivity === 18 ? 2 : connectivity === 8 ? 2 : 3;
  for (let dz = -1; dz <= 1; dz++) {
    if (inPlane && dz !== 0) continue;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const nonzero = (dx !== 0 ? 1 : 0) + (dy !== 0 ? 1 : 0) + (dz !== 0 ? 1 : 0);
        if (nonzero > 0 && nonzero <= maxNonzero) out.push([dx, dy, dz]);
      }
    }
  }
  return out;
}

export function fillPolygon(t: EditTarget, op: Op<'fillPolygon'>): { patch: Patch; createdInstanceId?: number } {
  checkSlice(t, op.z);
  const { id, classId, created } = resolveTarget(t, op.target);
  const b = new PatchBuilder(t);
  const base = op.z * t.width * t.height;
  for (const p of polygonPixels(op.points, t.width, t.height)) {
    if (t.labels[base + p] === t.nodataLabel) continue;
    b.set(base + p, id, classId);
  }
  const patch = b.build();
  return patch.indices.length > 0 && created !== undefined ? { patch, createdInstanceId: created } : { patch };
}

export function erasePolygon(t: EditTarget, op: Op<'erasePolygon'>): { patch: Patch } {
  checkSlice(t, op.z);
  if (op.instanceId !== undefined) requireInstance(t, op.instanceId);
  const b = new PatchBuilder(t);
  const base = op.z * t.width * t.height;
  for (const p of polygonPixels(op.points, t.width, t.height)) {
    const id = t.instances[base + p]!;
    if (id === 0 || (op.instanceId !== undefined && id !== op.instanceId)) continue;
    b.set(base + p, 0, 0);
  }
  return { patch: b.build() };
}

/**
 * Per slice, within the instance's box: the pixels that are not the instance and that a 4-connected flood from
 * the box's edge does not reach are enclosed; the empty ones among them (no instance, not nodata) are filled.
 */
export function fillHoles(t: EditTarget, op: Op<'fillHoles'>): { patch: Patch } {
  const classId = requireInstance(t, op.instanceId);
  if (op.z !== undefined) checkSlice(t, op.z);
  const b = new PatchBuilder(t);
  const box = t.boxOf(op.instanceId);
  if (!box) return { patch: b.build() };
  const [x0, y0, bz0, x1, y1, bz1] = box;
  const zFrom = op.z ?? bz0;
  const zTo = op.z ?? bz1;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  // The flood starts from the box's edge pixels (box coordinates); 1 in `outside` = reached.
  const edge: number[] = [];
  for (let bx = 0; bx < bw; bx++) edge.push(bx, (bh - 1) * bw + bx);
  for (let by = 0; by < bh; by++) edge.push(by * bw, by * bw + bw - 1);
  const outside = new Uint8Array(bw * bh);
  const plane = t.width * t.height;
  for (let z = Math.max(zFrom, bz0); z <= Math.min(zTo, bz1); z++) {
    outside.fill(0);
    const at = (bx: number, by: number) => z * plane + (y0 + by) * t.width + (x0 + bx);
    flood4(
      bw,
      bh,
      edge,
      (_k, bx, by) => t.instances[at(bx, by)] !== op.instanceId,
      (k) => {
        outside[k] = 1;
      },
    );
    for (let by = 0; by < bh; by++) {
      for (let bx = 0; bx < bw; bx++) {
        const i = at(bx, by);
        if (outside[by * bw + bx] || t.instances[i] !== 0 || t.labels[i] === t.nodataLabel) continue;
        b.set(i, op.instanceId, classId);
      }
    }
  }
  return { patch: b.build() };
}

/** Connected parts of the marked pixels of a box, by `nb`: a part number per box pixel (0 = not marked) and sizes. */
/** Calls fn with the index of every neighbour of box voxel k (x fastest) that lies inside the bw x bh x bd box. */
function forEachNeighbour(k: number, bw: number, bh: number, bd: number, nb: ReadonlyArray<[number, number, number]>, fn: (n: number) => void): void {
  const bplane = bw * bh;
  const x = k % bw;
  const y = Math.floor(k / bw) % bh;
  const z = Math.floor(k / bplane);
  for (const [dx, dy, dz] of nb) {
    const nx = x + dx;
    const ny = y + dy;
    const nz = z + dz;
    if (nx < 0 || ny < 0 || nz < 0 || nx >= bw || ny >= bh || nz >= bd) continue;
    fn(nz * bplane + ny * bw + nx);
  }
}

function labelParts(marked: Uint8Array, bw: number, bh: number, bd: number, nb: Array<[number, number, number]>): { part: Int32Array; sizes: number[] } {
  const part = new Int32Array(marked.length);
  const sizes: number[] = [0];
  const stack: number[] = [];
  for (let start = 0; start < marked.length; start++) {
    if (!marked[start] || part[start]) continue;
    const label = sizes.length;
    sizes.push(0);
    part[start] = label;
    stack.push(start);
    while (stack.length > 0) {
      const k = stack.pop()!;
      sizes[label]!++;
      forEachNeighbour(k, bw, bh, bd, nb, (n) => {
        if (!marked[n] || part[n]) return;
        part[n] = label;
        stack.push(n);
      });
    }
  }
  return { part, sizes };
}

export function splitInstance(t: EditTarget, op: Op<'splitInstance'>): { patch: Patch; createdInstanceIds?: number[] } {
  checkSlice(t, op.z);
  const classId = requireInstance(t, op.instanceId);
  const box = t.boxOf(op.instanceId);
  const refuse = (): never => {
    throw new InputError('edit', `the line does not cut object #${op.instanceId} into pieces: draw it across the object, from outside to outside`);
  };
  if (!box) return refuse();
  const [x0, y0, z0, x1, y1, z1] = box;
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const bd = z1 - z0 + 1;
  const bplane = bw * bh;
  const plane = t.width * t.height;
  const global = (k: number) => {
    const x = k % bw;
    const y = Math.floor(k / bw) % bh;
    const z = Math.floor(k / bplane);
    return (z0 + z) * plane + (y0 + y) * t.width + (x0 + x);
  };
  const own = new Uint8Array(bw * bh * bd);
  for (let k = 0; k < own.length; k++) if (t.instances[global(k)] === op.instanceId) own[k] = 1;
  // The line in box coordinates; on a volume it cuts every slice of the box.
  const onLine = new Uint8Array(bplane);
  for (const p of linePixels(op.line, t.width, t.height)) {
    const x = (p % t.width) - x0;
    const y = Math.floor(p / t.width) - y0;
    if (x >= 0 && y >= 0 && x < bw && y < bh) onLine[y * bw + x] = 1;
  }
  const kept = new Uint8Array(own.length);
  for (let k = 0; k < own.length; k++) kept[k] = own[k] && !onLine[k % bplane] ? 1 : 0;
  const nb = neighbours(t.connectivity ?? (t.depth > 1 ? 26 : 8));
  const before = labelParts(own, bw, bh, bd, nb).sizes.length - 1;
  const { part, sizes } = labelParts(kept, bw, bh, bd, nb);
  const pieces = sizes.length - 1;
  if (pieces <= before || pieces < 2) return refuse();
  // Line pixels of the instance go to the nearest piece: a breadth-first spread from the pieces over them.
  let frontier: number[] = [];
  for (let k = 0; k < part.length; k++) if (part[k]) frontier.push(k);
  while (frontier.length > 0) {
    const next: number[] = [];
    for (const k of frontier) {
      forEachNeighbour(k, bw, bh, bd, nb, (n) => {
        if (!own[n] || part[n]) return;
        part[n] = part[k]!;
        next.push(n);
      });
    }
    frontier = next;
  }
  // The largest piece keeps the id (ties: the first in raster order); the others get new ids in raster order.
  let largest = 1;
  for (let p = 2; p <= pieces; p++) if (sizes[p]! > sizes[largest]!) largest = p;
  const newId = new Map<number, number>();
  const created: number[] = [];
  for (let k = 0; k < part.length; k++) {
    const p = part[k]!;
    if (p && p !== largest && !newId.has(p)) {
      const id = t.nextInstanceId + created.length;
      newId.set(p, id);
      created.push(id);
    }
  }
  const b = new PatchBuilder(t);
  for (let k = 0; k < part.length; k++) {
    if (!own[k]) continue;
    // A line pixel no piece reaches (cut off on its own) stays with the largest piece.
    const id = newId.get(part[k]!) ?? op.instanceId;
    if (id !== op.instanceId) b.set(global(k), id, classId);
  }
  return { patch: b.build(), createdInstanceIds: created };
}

export function mergeInstances(t: EditTarget, op: Op<'mergeInstances'>): { patch: Patch } {
  const [keep, ...rest] = op.instanceIds;
  if (keep === undefined || rest.length === 0) throw new InputError('edit', 'merging needs at least two objects');
  if (new Set(op.instanceIds).size !== op.instanceIds.length) throw new InputError('edit', 'an object is listed twice in the merge');
  const classId = requireInstance(t, keep);
  for (const id of rest) requireInstance(t, id);
  const b = new PatchBuilder(t);
  for (const id of rest) eachPixelOf(t, id, (i) => b.set(i, keep, classId));
  return { patch: b.build() };
}

/**
 * 4-connected flood fill on slice z from the seed over pixels whose intensity is within the seed's value ±
 * tolerance and whose centre is within maxRadiusPx of the seed pixel's centre; nodata pixels are never filled.
 */
export function regionGrow(t: EditTarget, op: Op<'regionGrow'>): { patch: Patch; createdInstanceId?: number } {
  checkSlice(t, op.z);
  const { intensity } = t;
  if (!intensity || intensity.length < t.width * t.height * t.depth) throw new Error('region growing needs the image intensities on the result grid');
  const sx = Math.floor(op.seed[0]);
  const sy = Math.floor(op.seed[1]);
  if (sx < 0 || sy < 0 || sx >= t.width || sy >= t.height) throw new InputError('edit', `the seed (${sx}, ${sy}) is outside the image`);
  const { id, classId, created } = resolveTarget(t, op.target);
  const base = op.z * t.width * t.height;
  const seedValue = Number(intensity[base + sy * t.width + sx]);
  if (!Number.isFinite(seedValue) || t.labels[base + sy * t.width + sx] === t.nodataLabel) throw new InputError('edit', 'the seed is on a pixel without data');
  const lo = seedValue - op.tolerance;
  const hi = seedValue + op.tolerance;
  const r2 = op.maxRadiusPx * op.maxRadiusPx;
  const seed = sy * t.width + sx;
  const b = new PatchBuilder(t);
  flood4(
    t.width,
    t.height,
    [seed],
    (p, x, y) => {
      // The seed was checked above; it joins whatever the tolerance.
      if (p === seed) return true;
      if ((x - sx) * (x - sx) + (y - sy) * (y - sy) > r2) return false;
      const v = Number(intensity[base + p]);
      return v >= lo && v <= hi && t.labels[base + p] !== t.nodataLabel;
    },
    (p) => b.set(base + p, id, classId),
  );
  const patch = b.build();
  return patch.indices.length > 0 && created !== undefined ? { patch, createdInstanceId: created } : { patch };
}
