// Named edit operations on a result's instance map (brush, eraser, delete, change class here; polygon/lasso fill,
// fill holes, split, merge and region growing in shapes.ts), one pure function each:
// state in, a Patch out (which pixels change, from what to what). Applying and reverting patches is how the
// store does undo/redo, so an operation never runs twice to undo itself. The instance map is the truth; the
// label map follows it (a pixel's label is its instance's class), so a split stays split and classes stay kept.
import type { EditOperation, StrokeGeometry } from '../../../preload/api';
import type { LabelArray } from '../postprocess/labels';
import { checkSlice, eachPixelOf, PatchBuilder, planePixelSet, requireInstance, resolveTarget, type EditTarget, type Patch } from './patch';
import { erasePolygon, fillHoles, fillPolygon, mergeInstances, regionGrow, splitInstance } from './shapes';
import { acceptPrompt } from './accept';

export type { EditTarget, Patch } from './patch';

/**
 * Pixels of slice z covered by a stroke: pixel (x, y) is covered when its centre lies within the brush ellipse
 * (radii rx, ry) of some point of the polyline; the pixel under each point is always covered, so a 1-pixel brush
 * still paints. Returns in-plane indices (y * W + x), each once.
 */
export function strokePixels(s: StrokeGeometry, width: number, height: number): number[] {
  const [rx, ry] = s.radiusPx;
  const { add, pixels: out } = planePixelSet(width, height);
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

/** Paints the stroke into an instance (new or existing), over whatever was there; nodata stays nodata. */
export function paintStroke(t: EditTarget, op: Extract<EditOperation, { op: 'paintStroke' }>): { patch: Patch; createdInstanceId?: number } {
  checkSlice(t, op.z);
  const { id, classId, created } = resolveTarget(t, op.target);
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

/** What an operation did: its patch and the instances it created (a paint or fill: one; a split: the new pieces). */
export interface OperationOutcome {
  patch: Patch;
  createdInstanceId?: number;
  createdInstanceIds?: number[];
}

/** Runs the named operation. */
export function runOperation(t: EditTarget, op: EditOperation): OperationOutcome {
  switch (op.op) {
    case 'paintStroke':
      return paintStroke(t, op);
    case 'eraseStroke':
      return eraseStroke(t, op);
    case 'deleteInstance':
      return deleteInstance(t, op);
    case 'setInstanceClass':
      return setInstanceClass(t, op);
    case 'fillPolygon':
      return fillPolygon(t, op);
    case 'erasePolygon':
      return erasePolygon(t, op);
    case 'fillHoles':
      return fillHoles(t, op);
    case 'splitInstance':
      return splitInstance(t, op);
    case 'mergeInstances':
      return mergeInstances(t, op);
    case 'regionGrow':
      return regionGrow(t, op);
    case 'acceptPrompt':
      return acceptPrompt(t, op);
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
