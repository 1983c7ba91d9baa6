// Edit operations on a kept result: brush/eraser patches, re-measurement of only the touched instances,
// undo/redo as a stack of operations, and per-slice instance maps for the viewer.
import { describe, expect, it } from 'vitest';
import type { InstancesDocument } from '../../preload/formats';
import { ResultStore } from '../../main/engine/results/store';
import { strokePixels } from '../../main/engine/results/edit';
import { connectedComponents } from '../../main/engine/postprocess/components';
import { countLabels, measureInstances } from '../../main/engine/measure/index';

const W = 40;
const H = 30;

/**
 * Two squares of class 1 (10x10 at 2,2 and 6x6 at 25,15) on a 40x30 image with 0.5 mm pixels. `probability`: a
 * kept probability map of that value x 255 everywhere; `probabilityField`: model records carry meanProbability 0.9
 * but no map is kept (a restored session).
 */
function makeResult(opts: { probability?: number; probabilityField?: boolean } = {}) {
  const labels = new Uint8Array(W * H);
  const fill = (x0: number, y0: number, s: number) => {
    for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) labels[y * W + x] = 1;
  };
  fill(2, 2, 10);
  fill(25, 15, 6);
  const intensity = new Float32Array(W * H).fill(100);
  const cc = connectedComponents({ labels, width: W, height: H, depth: 1, nodataLabel: 255, connectivity: 8, intensity });
  const geometry = { type: 'medical' as const, spacingMm: [0.5, 0.5, 1] as [number, number, number], originMm: [0, 0, 0] as [number, number, number], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
  const classes = [{ name: 'lesion', color: '#ff0000' }];
  const counts = countLabels(labels, 1, 255);
  const m = measureInstances(cc.stats, { geometry, depth: 1, classes, validPixelCount: counts.valid, classPixelCounts: counts.perClass, hasProbability: false, hasIntensity: true, instanceMap: cc.instances, width: W, height: H });
  const withField = opts.probability !== undefined || opts.probabilityField === true;
  const instances = withField ? m.instances.map((r) => ({ ...r, meanProbability: 0.9 })) : m.instances;
  const document: InstancesDocument = { source: { file: 'x', kind: 'medical', width: W, height: H, depth: 1 }, classes: m.classes, instances };
  const store = new ResultStore(async () => intensity);
  const probabilities = opts.probability !== undefined ? { probabilities: { data: new Uint8Array(W * H).fill(opts.probability), channels: 1 } } : {};
  const id = store.add({ path: 'x', width: W, height: H, depth: 1, geometry, classes, labels, nodataLabel: 255, instances: cc.instances, document, connectivity: 8, ...probabilities });
  return { store, id };
}

describe('result edits', () => {
  it('covers the brush ellipse along the stroke, and the pixel under a tiny brush', () => {
    expect(strokePixels({ z: 0, points: [[5.5, 5.5]], radiusPx: [0.2, 0.2] }, 10, 10)).toEqual([55]);
    const disc = strokePixels({ z: 0, points: [[10, 10]], radiusPx: [3, 3] }, 40, 40);
    expect(disc.length).toBeGreaterThan(24);
    expect(disc.length).toBeLessThan(36);
    const line = strokePixels({ z: 0, points: [[5, 10], [25, 10]], radiusPx: [2, 2] }, 40, 40);
    expect(line.length).toBeGreaterThan(disc.length * 2);
  });

  it('paints into an instance, re-measures it, and undoes/redoes as a stack', async () => {
    const { store, id } = makeResult();
    const before = (await store.slice(id, 0, 4096)).instances;
    expect(before[5 * W + 5]).toBe(1);
    // Grow instance 1 to the right by painting a 4-px-wide band next to it.
    const r1 = await store.edit(id, { op: 'paintStroke', z: 0, points: [[13, 3], [13, 10]], radiusPx: [1.5, 1.5], target: { instanceId: 1 } });
    const rec1 = r1.document.instances.find((r) => r.id === 1)!;
    expect(rec1.pixelCount).toBeGreaterThan(100);
    expect(rec1.areaMm2).toBeCloseTo(rec1.pixelCount * 0.25);
    expect(rec1.edited).toBe(true);
    expect(rec1.meanIntensity).toBe(100);
    expect(r1.changedInstanceIds).toEqual([1]);
    expect(r1.document.instances.find((r) => r.id === 2)!.edited).toBeUndefined();
    expect(r1.document.classes[0]!.pixelCount).toBe(rec1.pixelCount + 36);
    expect(r1.undoStack).toEqual(['paintStroke']);

    const r2 = await store.edit(id, { op: 'paintStroke', z: 0, points: [[35, 5]], radiusPx: [2, 2], target: { newInstanceOfClass: 1 } });
    expect(r2.createdInstanceId).toBe(3);
    expect(r2.document.instances.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(r2.document.classes[0]!.instanceCount).toBe(3);

    const r3 = await store.edit(id, { op: 'eraseStroke', z: 0, points: [[28, 18]], radiusPx: [10, 10] });
    expect(r3.document.instances.map((r) => r.id)).toEqual([1, 3]);
    const u1 = await store.undo(id);
    expect(u1.document.instances.map((r) => r.id)).toEqual([1, 2, 3]);
    expect(u1.document.instances.find((r) => r.id === 2)!.pixelCount).toBe(36);
    expect(u1.redoStack).toEqual(['eraseStroke']);
    await store.undo(id);
    const u3 = await store.undo(id);
    expect(u3.document.instances.find((r) => r.id === 1)!.pixelCount).toBe(100);
    expect(u3.document.classes[0]!.pixelCount).toBe(136);
    expect(u3.undoStack).toEqual([]);
    const re = await store.redo(id);
    expect(re.document.instances.find((r) => r.id === 1)!.pixelCount).toBe(rec1.pixelCount);
    await expect(store.undo(id).then(() => store.undo(id))).rejects.toThrow(/nothing to undo/);
  });

  it('gives an object back its model record (no edited mark) once undo removes every edit that touched it', async () => {
    const { store, id } = makeResult();
    const model = store.state(id).document.instances.find((r) => r.id === 1)!;
    await store.edit(id, { op: 'paintStroke', z: 0, points: [[13, 3], [13, 10]], radiusPx: [1.5, 1.5], target: { instanceId: 1 } });
    await store.edit(id, { op: 'paintStroke', z: 0, points: [[27, 17]], radiusPx: [1, 1], target: { instanceId: 2 } });
    // Undo the second edit: object 2 is as the model made it again, object 1 still carries the first edit.
    const u1 = await store.undo(id);
    expect(u1.document.instances.find((r) => r.id === 2)!.edited).toBeUndefined();
    expect(u1.document.instances.find((r) => r.id === 1)!.edited).toBe(true);
    const u2 = await store.undo(id);
    expect(u2.document.instances.find((r) => r.id === 1)).toEqual(model);
    expect(u2.document.instances.some((r) => r.edited === true)).toBe(false);
    // Redo marks it again.
    expect((await store.redo(id)).document.instances.find((r) => r.id === 1)!.edited).toBe(true);
  });

  it('recomputes an edited object\'s mean probability from the kept probability map, and marks it stale (null) without one', async () => {
    const withMap = makeResult({ probability: 204 });
    const r = await withMap.store.edit(withMap.id, { op: 'paintStroke', z: 0, points: [[13, 3], [13, 10]], radiusPx: [1.5, 1.5], target: { instanceId: 1 } });
    const rec = r.document.instances.find((x) => x.id === 1)!;
    expect(rec.edited).toBe(true);
    expect(rec.meanProbability).toBeCloseTo(204 / 255, 6);
    const noMap = makeResult({ probabilityField: true });
    const r2 = await noMap.store.edit(noMap.id, { op: 'paintStroke', z: 0, points: [[13, 3], [13, 10]], radiusPx: [1.5, 1.5], target: { instanceId: 1 } });
    expect(r2.document.instances.find((x) => x.id === 1)!.meanProbability).toBeNull();
    // The untouched object keeps the model's value.
    expect(r2.document.instances.find((x) => x.id === 2)!.meanProbability).toBe(0.9);
  });

  it('deletes an instance and changes a class; samples big slices to the preview size', async () => {
    const { store, id } = makeResult();
    const d = await store.edit(id, { op: 'deleteInstance', instanceId: 2 });
    expect(d.document.instances.map((r) => r.id)).toEqual([1]);
    await expect(store.edit(id, { op: 'deleteInstance', instanceId: 2 })).rejects.toThrow(/does not exist/);
    const small = await store.slice(id, 0, 20);
    expect([small.width, small.height]).toEqual([20, 15]);
    expect(small.scaleX).toBe(2);
    expect(small.instances[3 * 20 + 3]).toBe(1);
    expect(small.revision).toBe(1);
  });
});
