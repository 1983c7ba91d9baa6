// The patch every edit operation returns (which pixels change, from what to what), the target the operations read,
// and the helpers they share. Applying and reverting patches is how the store does undo/redo.
import { InputError, type PixelArray } from '../image';
import type { Connectivity } from '../postprocess/components';
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
  /** Id a paint into a new instance gets (a split hands out this one and the ones after it). */
  nextInstanceId: number;
  /** How pixels connect (as the result's components were labelled); splits use it. Default 8 (2D) / 26 (3D). */
  connectivity?: Connectivity;
  /** Channel 0 of the image, same layout as the maps: what region growing reads. */
  intensity?: PixelArray;
}

export class PatchBuilder {
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

/** Where a paint or fill goes: an existing instance, or a new one of a class (its id: target.nextInstanceId). */
export function resolveTarget(t: EditTarget, target: { instanceId: number } | { newInstanceOfClass: number }): { id: number; classId: number; created?: number } {
  if ('newInstanceOfClass' in target) {
    const classId = target.newInstanceOfClass;
    if (classId < 1 || classId > t.classCount) throw new RangeError(`class ${classId} is outside 1..${t.classCount}`);
    return { id: t.nextInstanceId, classId, created: t.nextInstanceId };
  }
  return { id: target.instanceId, classId: requireInstance(t, target.instanceId) };
}

export function checkSlice(t: EditTarget, z: number): void {
  if (!Number.isInteger(z) || z < 0 || z >= t.depth) throw new RangeError(`slice ${z} is outside 0..${t.depth - 1}`);
}

export function requireInstance(t: EditTarget, id: number): number {
  const classId = t.classOf(id);
  if (classId === undefined) throw new InputError('edit', `instance ${id} does not exist`);
  return classId;
}

/** Visits every pixel of an instance (within its bounding box). */
export function eachPixelOf(t: EditTarget, id: number, fn: (i: number) => void): void {
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

/** Collects in-plane pixel indices (y * width + x) inside the slice, each once, in the order first added. */
export function planePixelSet(width: number, height: number): { add(x: number, y: number): void; pixels: number[] } {
  const pixels: number[] = [];
  const seen = new Set<number>();
  return {
    pixels,
    add(x, y) {
      if (x < 0 || y < 0 || x >= width || y >= height) return;
      const i = y * width + x;
      if (!seen.has(i)) {
        seen.add(i);
        pixels.push(i);
      }
    },
  };
}
