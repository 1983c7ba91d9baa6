// Named edit operations on a result's instance map (brush, eraser, delete, change class), one pure function each:
// state in, a Patch out (which pixels change, from what to what). Applying and reverting patches is how the
// store does undo/redo, so an operation never runs twice to undo itself. The instance map is the truth; the
// label map follows it (a pixel's label is its instance's class), so a split stays split and classes stay kept.
import type { EditOperation, StrokeGeometry } from '../../../preload/api';
import { InputError } from '../image';
import type { LabelArray } from '../postprocess/labels';

/** What an operation changes: flat pixel indices with the instance id and label before and after. */
export interface Patch {
  indices: Uint32Array;
  beforeInstance: Uint32Array;
  afterInstance: Uint32Array;
  beforeLabel: Uint16Array;
  afterLabel: Uint16Array;
  /** Inclusive box of the changed pixels [x0, y0, z0, x1, y1, z1]; null when nothing changed. */
  box: [number, number, number, number, number, number] | null;
}

/** What the operations read: the maps and, per instance, its class and bounding box. */
export interface EditTarget {
  width: number;
  height: number;
  depth: number;
  instances: Uint32Array;
  labels: LabelArray;
  nodataLabel: number;
  classCount: number;
  classOf(instanceId: number): number | undefined;
  /** Inclusive [x0, y0, z0, x1, y1, z1] of an instance. */
  boxOf(instanceId: number): [number, number, number, number, number, number] | undefined;
  /** Id a paint into a new instance gets. */
  nextInstanceId: number;
}

class PatchBuilder {
  private readonly idx: number[] = [];
  private readonly bi: number[] = [];
  private readonly ai: number[] = [];
  private readonly bl: number[] = [];
  private readonly al: number[] = [];
  private box: Patch['box'] = null;

  constructor(private readonly t: EditTarget) {}

  set(i: number, instance: number, label: number): void {
    const { instances, labels, width: W, height: H } = this.t;
    const beforeI = instances[i]!;
    const beforeL = labels[i]!;
    if (beforeI === instance && beforeL === label) return;
    this.idx.push(i);
    this.bi.push(beforeI);
    this.ai.push(instance);
    this.bl.push(beforeL);
    this.al.push(label);
    const x = i % W;
    const y = Math.floor(i / W) % H;
    const z = Math.floor(i / (W * H));
    const b = this.box;
    if (!b) this.box = [x, y, z, x, y, z];
    else {
      if (x < b[0]) b[0] = x;
      if (y < b[1]) b[1] = y;
      if (z < b[2]) b[2] = z;
      if (x > b[3]) b[3] = x;
      if (y > b[4]) b[4] = y;
      if (z > b[5]) b[5] = z;
    }
  }

  build(): Patch {
    return {
      indices: Uint32Array.from(this.idx),
      beforeInstance: Uint32Array.from(this.bi),
      afterInstance: Uint32Array.from(this.ai),
      beforeLabel: Uint16Array.from(this.bl),
      afterLabel: Uint16Array.from(this.al),
      box: this.box,
    };
  }
}

/**
 * Pixels of slice z covered by a stroke: pixel (x, y) is covered when its centre lies within the brush ellipse
 * (radii rx, ry) of some point of the polyline; the pixel under each point is always covered, so a 1-pixel brush
 * still paints. Returns in-plane indices (y * W + x), each once.
 */
export function strokePixels(s: StrokeGeometry, width: number, height: number): number[] {
  const [rx, ry] = s.radiusPx;
  const out: number[] = [];
  const seen = new Set<number>();
  const add = (x: number, y: number) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = y * width + x;
    if (!seen.has(i)) {
      seen.add(i);
      out.push(i);
    }
  };
  const pts = s.points.length === 1 ? [s.points[0]!, s.points[0]!] : s.points;
  for (let k = 0; k + 1 < pts.length; k++) {
    const [ax, ay] = pts[k]!;
    const [bx, by] = pts[k + 1]!;
    const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - rx));
    const x1 = Math.min(width - 1, Math.ceil(Math.max(ax, bx) + rx));
    const y0 = Math.max(0, Math.floor(Math.min(ay, by) - ry));
    const y1 = Math.min(height - 1, Math.ceil(Math.max(ay, by) + ry));
    // Distances in brush units (x / rx, y / ry): the ellipse becomes the unit circle.
    const ux = (bx - ax) / rx;
    const uy = (by - ay) / ry;
    const len2 = ux * ux + uy * uy;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const px = (x + 0.5 - ax) / rx;
        const py = (y + 0.5 - ay) / ry;
        const t = len2 > 0 ? Math.max(0, Math.min(1, (px * ux + py * uy) / len2)) : 0;
        const dx = px - t * ux;
        const dy = py - t * uy;
        if (dx * dx + dy * dy <= 1) add(x, y);
      }
    }
    add(Math.floor(ax), Math.floor(ay));
    add(Math.floor(bx), Math.floor(by));
  }
  return out;
}

function checkSlice(t: EditTarget, z: number): void {
  if (!Number.isInteger(z) || z < 0 || z >= t.depth) throw new RangeError(`slice ${z} is outside 0..${t.depth - 1}`);
}

function requireInstance(t: EditTarget, id: number): number {
  const classId = t.classOf(id);
  if (classId === undefined) throw new InputError('edit', `instance ${id} does not exist`);
  return classId;
}

/** Paints the stroke into an instance (new or existing), over whatever was there; nodata stays nodata. */
export function paintStroke(t: EditTarget, op: Extract<EditOperation, { op: 'paintStroke' }>): { patch: Patch; createdInstanceId?: number } {
  checkSlice(t, op.z);
  let id: number;
  let classId: number;
  let created: number | undefined;
  if ('newInstanceOfClass' in op.target) {
    classId = op.target.newInstanceOfClass;
    if (classId < 1 || classId > t.classCount) throw new RangeError(`class ${classId} is outside 1..${t.classCount}`);
    id = t.nextInstanceId;
    created = id;
  } else {
    id = op.target.instanceId;
    classId = requireInstance(t, id);
  }
  const b = new PatchBuilder(t);
  const base = op.z * t.width * t.height;
  for (const p of strokePixels(op, t.width, t.height)) {
    const i = base + p;
    if (t.labels[i] === t.nodataLabel) continue;
    b.set(i, id, classId);
  }
  const patch = b.build();
  return patch.indices.length > 0 && created !== undefined ? { patch, createdInstanceId: created } : { patch };
}

/** Clears the instances under the stroke (all of them, or only op.instanceId). */
export function eraseStroke(t: EditTarget, op: Extract<EditOperation, { op: 'eraseStroke' }>): { patch: Patch } {
  checkSlice(t, op.z);
  if (op.instanceId !== undefined) requireInstance(t, op.instanceId);
  const b = new PatchBuilder(t);
  const base = op.z * t.width * t.height;
  for (const p of strokePixels(op, t.width, t.height)) {
    const i = base + p;
    const id = t.instances[i]!;
    if (id === 0 || (op.instanceId !== undefined && id !== op.instanceId)) continue;
    b.set(i, 0, 0);
  }
  return { patch: b.build() };
}

/** Visits every pixel of an instance (within its bounding box). */
function eachPixelOf(t: EditTarget, id: number, fn: (i: number) => void): void {
  const box = t.boxOf(id);
  if (!box) return;
  const [x0, y0, z0, x1, y1, z1] = box;
  const plane = t.width * t.height;
  for (let z = z0; z <= z1; z++) {
    for (let y = y0; y <= y1; y++) {
      const row = z * plane + y * t.width;
      for (let x = x0; x <= x1; x++) if (t.instances[row + x] === id) fn(row + x);
    }
  }
}

export function deleteInstance(t: EditTarget, op: Extract<EditOperation, { op: 'deleteInstance' }>): { patch: Patch } {
  requireInstance(t, op.instanceId);
  const b = new PatchBuilder(t);
  eachPixelOf(t, op.instanceId, (i) => b.set(i, 0, 0));
  return { patch: b.build() };
}

export function setInstanceClass(t: EditTarget, op: Extract<EditOperation, { op: 'setInstanceClass' }>): { patch: Patch } {
  requireInstance(t, op.instanceId);
  if (op.classId < 1 || op.classId > t.classCount) throw new RangeError(`class ${op.classId} is outside 1..${t.classCount}`);
  const b = new PatchBuilder(t);
  eachPixelOf(t, op.instanceId, (i) => b.set(i, op.instanceId, op.classId));
  return { patch: b.build() };
}

/** Runs the named operation. */
export function runOperation(t: EditTarget, op: EditOperation): { patch: Patch; createdInstanceId?: number } {
  switch (op.op) {
    case 'paintStroke':
      return paintStroke(t, op);
    case 'eraseStroke':
      return eraseStroke(t, op);
    case 'deleteInstance':
      return deleteInstance(t, op);
    case 'setInstanceClass':
      return setInstanceClass(t, op);
  }
}

/** Writes the patch's `after` (forward) or `before` (undo) values into the maps. */
export function applyPatch(instances: Uint32Array, labels: LabelArray, patch: Patch, direction: 'forward' | 'undo', classPixelCounts?: number[]): void {
  const inst = direction === 'forward' ? patch.afterInstance : patch.beforeInstance;
  const lab = direction === 'forward' ? patch.afterLabel : patch.beforeLabel;
  const old = direction === 'forward' ? patch.beforeLabel : patch.afterLabel;
  for (let k = 0; k < patch.indices.length; k++) {
    const i = patch.indices[k]!;
    instances[i] = inst[k]!;
    labels[i] = lab[k]!;
    if (classPixelCounts) {
      const was = old[k]!;
      const now = lab[k]!;
      if (was < classPixelCounts.length) classPixelCounts[was]!--;
      if (now < classPixelCounts.length) classPixelCounts[now]!++;
    }
  }
}
