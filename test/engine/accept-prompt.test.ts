// The AI tool's engine side: the run-length codec its masks travel in, the acceptPrompt edit (paints over other
// objects, never over nodata; undo, redo and session replay without the model), and the host's prompt calls
// (empty result, open, click, propagate, accept) on a small volume with a click model whose answer is known.
import { afterAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import type { EditOperation, MaskRle } from '../../preload/api';
import { decodeMaskRle, encodeMaskRle, maskRleCount } from '../../main/engine/results/rle';
import { ResultStore } from '../../main/engine/results/store';
import { createEngineService } from '../../main/engine/service';
import { writeNifti } from '../../main/engine/io/nifti';
import { loadSession, replaySession } from '../../main/engine/session/session';
import { writeClickModel } from '../fixtures/prompt-models';
import { tempDir } from './helpers';

const t = tempDir('delineate-accept-prompt-');
afterAll(() => t.cleanup());

/** A tiny xorshift generator, so the random masks are the same on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

describe('mask run-length codec', () => {
  it('round-trips random, empty, full and edge-touching windows', () => {
    const next = random(7);
    const cases: Array<[number, number, Uint8Array]> = [
      [1, 1, Uint8Array.of(0)],
      [1, 1, Uint8Array.of(1)],
      [5, 3, new Uint8Array(15)],
      [5, 3, new Uint8Array(15).fill(1)],
      [4, 2, Uint8Array.of(1, 1, 0, 0, 0, 0, 1, 1)],
    ];
    for (let k = 0; k < 20; k++) {
      const w = 1 + Math.floor(next() * 40);
      const h = 1 + Math.floor(next() * 40);
      const density = next();
      cases.push([w, h, Uint8Array.from({ length: w * h }, () => (next() < density ? 1 : 0))]);
    }
    for (const [w, h, bits] of cases) {
      const rle = encodeMaskRle(3, 10, 20, w, h, bits);
      expect(rle).toMatchObject({ z: 3, x0: 10, y0: 20, width: w, height: h });
      expect(Array.from(decodeMaskRle(rle))).toEqual(Array.from(bits));
      expect(maskRleCount(rle)).toBe(bits.reduce((a, b) => a + b, 0));
      // Runs alternate, so no run but the first may be 0 long.
      expect(rle.runs.slice(1).every((r) => r > 0)).toBe(true);
      expect(rle.runs.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(w * h);
    }
  });

  it('keeps a compact disk compact: a 41 x 41 disk is a few runs per row', () => {
    const w = 41;
    const bits = Uint8Array.from({ length: w * w }, (_, i) => (Math.hypot((i % w) - 20, Math.floor(i / w) - 20) <= 20 ? 1 : 0));
    const rle = encodeMaskRle(0, 0, 0, w, w, bits);
    expect(rle.runs.length).toBeLessThanOrEqual(2 * w + 1);
  });

  it('refuses runs beyond the window and non-integer fields, naming the mask', () => {
    expect(() => decodeMaskRle({ z: 0, x0: 0, y0: 0, width: 2, height: 2, runs: [1, 4] }, 'mask of slice 0')).toThrow(/mask of slice 0.*more than the 2x2 window/);
    expect(() => decodeMaskRle({ z: 0, x0: 0, y0: 0, width: 2, height: 2, runs: [1.5] })).toThrow(/run 0 must be a whole number/);
    expect(() => decodeMaskRle({ z: -1, x0: 0, y0: 0, width: 2, height: 2, runs: [] })).toThrow(/z must be a whole number/);
  });
});

/** An 8 x 6 2D result: instance 1 (class 1) in the left half, nodata in the last column. */
function smallStore(): { store: ResultStore; id: string } {
  const W = 8;
  const H = 6;
  const labels = new Uint8Array(W * H);
  const instances = new Uint32Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      if (x < 4) {
        labels[i] = 1;
        instances[i] = 1;
      } else if (x === W - 1) labels[i] = 255;
    }
  }
  const store = new ResultStore(async () => new Uint8Array(W * H).fill(100));
  const classes = [
    { name: 'a', color: '#ff0000' },
    { name: 'b', color: '#00ff00' },
  ];
  const document = {
    source: { file: 'x.png', kind: 'image' as const, width: W, height: H, depth: 1 },
    classes: classes.map((c, k) => ({ id: k + 1, name: c.name, color: c.color, instanceCount: k === 0 ? 1 : 0, pixelCount: k === 0 ? 24 : 0, areaPx: k === 0 ? 24 : 0, fraction: 0 })),
    instances: [{ id: 1, classId: 1, className: 'a', pixelCount: 24, areaPx: 24, centroidPx: [1.5, 2.5], bbox: { min: [0, 0], max: [3, 5] } }],
  };
  const id = store.add({ path: 'x.png', width: W, height: H, depth: 1, geometry: { type: 'pixel' }, classes, labels, nodataLabel: 255, instances, document: document as never, connectivity: 8 });
  return { store, id };
}

describe('acceptPrompt edit', () => {
  it('paints the masks into a new instance over other objects, never over nodata; undo and redo', async () => {
    const { store, id } = smallStore();
    // Rows 1..3, columns 2..7: over instance 1 (columns 2..3), empty pixels (4..6) and nodata (7).
    const rle = encodeMaskRle(0, 2, 1, 6, 3, new Uint8Array(18).fill(1));
    const op: EditOperation = { op: 'acceptPrompt', masks: [rle], target: { newInstanceOfClass: 2 } };
    const r = await store.edit(id, op);
    expect(r.createdInstanceId).toBe(2);
    const created = r.document.instances.find((i) => i.id === 2)!;
    expect(created.classId).toBe(2);
    expect(created.pixelCount).toBe(15);
    expect(r.document.instances.find((i) => i.id === 1)!.pixelCount).toBe(24 - 6);
    const map = store.snapshot(id);
    expect(map.labels[1 * 8 + 7]).toBe(255);
    expect(map.instances[1 * 8 + 7]).toBe(0);
    expect(r.undoStack).toEqual(['acceptPrompt']);
    const undone = await store.undo(id);
    expect(undone.document.instances.map((i) => [i.id, i.pixelCount])).toEqual([[1, 24]]);
    const redone = await store.redo(id);
    expect(redone.document.instances.map((i) => [i.id, i.pixelCount])).toEqual([
      [1, 18],
      [2, 15],
    ]);
  });

  it('adds to an existing object (target instanceId) and refuses masks outside the image or repeated slices', async () => {
    const { store, id } = smallStore();
    const r = await store.edit(id, { op: 'acceptPrompt', masks: [encodeMaskRle(0, 4, 0, 2, 2, Uint8Array.of(1, 1, 1, 1))], target: { instanceId: 1 } });
    expect(r.createdInstanceId).toBeUndefined();
    expect(r.document.instances.map((i) => [i.id, i.pixelCount])).toEqual([[1, 28]]);
    await expect(store.edit(id, { op: 'acceptPrompt', masks: [encodeMaskRle(0, 7, 0, 2, 1, Uint8Array.of(1, 1))], target: { instanceId: 1 } })).rejects.toThrow(/reaches outside the 8x6 image/);
    const m: MaskRle = encodeMaskRle(0, 0, 0, 1, 1, Uint8Array.of(1));
    await expect(store.edit(id, { op: 'acceptPrompt', masks: [m, m], target: { instanceId: 1 } })).rejects.toThrow(/slice 0 has two masks/);
    await expect(store.edit(id, { op: 'acceptPrompt', masks: [{ ...m, z: 1 }], target: { instanceId: 1 } })).rejects.toThrow(/slice 1 is outside 0..0/);
  });
});

describe('the AI tool in the engine host: empty result, clicks, propagation, accept, replay', () => {
  const W = 40;
  const H = 36;
  const D = 6;
  const spacingMm: [number, number, number] = [0.5, 0.5, 2];
  const models = path.join(t.dir, 'models');
  const manifest = writeClickModel(models, { id: 'click-host', cropSize: 16, firstCropPx: 16, minCropPx: 16 });
  const volFile = path.join(t.dir, 'lesion.nii.gz');
  /** The bright block (the object) on slices 1..4: x 10..19, y 8..15; slice 2 also has a bright spot at 30,30. */
  const inBlock = (x: number, y: number, z: number) => z >= 1 && z <= 4 && x >= 10 && x <= 19 && y >= 8 && y <= 15;

  it('makes an empty result, outlines the block with clicks, propagates it, accepts it as one volume and replays it', async () => {
    const vol = new Uint8Array(W * H * D).fill(20);
    for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (inBlock(x, y, z)) vol[z * W * H + y * W + x] = 255;
    for (let y = 29; y <= 31; y++) for (let x = 29; x <= 31; x++) vol[2 * W * H + y * W + x] = 255;
    await writeNifti(volFile, { data: vol, width: W, height: H, depth: D, channels: 1, geometry: { type: 'medical', spacingMm, originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] } });
    const autosaveDir = path.join(t.dir, 'autosave');
    const service = createEngineService({ autosaveDir });

    const empty = await service.newResult(volFile, manifest);
    expect(empty.document.instances).toEqual([]);
    expect(empty.document.classes.map((c) => c.name)).toEqual(['object']);

    const opened = await service.promptOpen(volFile, manifest);
    expect(opened.modelId).toBe('click-host');
    expect(opened.promptId).toMatch(/^p_/);
    const one = await service.promptClick({ promptId: opened.promptId, z: 2, x: 14, y: 11, positive: true });
    expect(one.slices).toEqual([2]);
    expect(one.steps).toBe(1);
    expect(one.modelSeconds).toBeGreaterThan(0);
    expect(maskRleCount(one.masks[0]!)).toBe(80);
    // An exclusion click inside the block cuts a disk out of it.
    const two = await service.promptClick({ promptId: opened.promptId, z: 2, x: 10, y: 8, positive: false });
    expect(maskRleCount(two.masks[0]!)).toBeLessThan(80);
    await expect(service.promptClick({ promptId: opened.promptId, z: 2, x: W, y: 0, positive: true })).rejects.toThrow(/outside the image/);

    // Esc, then one click and Propagate: the block on slices 1..4, with progress per slice.
    await service.promptClear(opened.promptId);
    await service.promptClick({ promptId: opened.promptId, z: 2, x: 14, y: 11, positive: true });
    const progress: number[] = [];
    const prop = await service.promptPropagate({ promptId: opened.promptId, z: 2 }, (p) => progress.push(p.done), new AbortController().signal);
    expect(prop.slices).toEqual([1, 2, 3, 4]);
    expect(progress.length).toBeGreaterThan(0);
    const aborted = new AbortController();
    aborted.abort();
    await expect(service.promptPropagate({ promptId: opened.promptId, z: 2 }, () => undefined, aborted.signal)).rejects.toThrow(/cancelled/);

    const accepted = await service.editResult(empty.resultId, { op: 'acceptPrompt', masks: prop.masks, target: { newInstanceOfClass: 1 } });
    expect(accepted.createdInstanceId).toBe(1);
    const rec = accepted.document.instances[0]!;
    expect(rec.pixelCount).toBe(4 * 80);
    expect(rec.volumeMl).toBeCloseTo((4 * 80 * 0.5 * 0.5 * 2) / 1000, 9);
    // RECIST axes on the slice where the long axis is largest: the 10 x 8 px block is 5 x 4 mm.
    expect(rec.longAxisMm as number).toBeGreaterThan(4.5);
    expect(rec.shortAxisMm as number).toBeGreaterThan(3);
    await service.promptClose(opened.promptId);
    await expect(service.promptClick({ promptId: opened.promptId, z: 2, x: 14, y: 11, positive: true })).rejects.toThrow(/closed/);

    // Replay without the model: the saved session rebuilds the same object from the edit log alone.
    const file = path.join(t.dir, 'work.delineate.json');
    await service.saveSession(empty.resultId, file, {});
    const doc = await loadSession(file);
    expect(doc.edits.map((e) => e.op)).toEqual(['acceptPrompt']);
    const replayed = await replaySession(doc);
    expect(replayed.applied).toBe(1);
    expect(replayed.result.document.instances.map((i) => [i.id, i.pixelCount, i.volumeMl])).toEqual([[1, rec.pixelCount, rec.volumeMl]]);

    const undone = await service.undoEdit(empty.resultId);
    expect(undone.document.instances).toEqual([]);
    await service.closeResult(empty.resultId);
  }, 60_000);

  it('refuses a model that is not interactive, naming it', async () => {
    const service = createEngineService();
    const notPrompt = path.join(t.dir, 'plain', 'manifest.json');
    const { mkdirSync, writeFileSync, readFileSync } = await import('node:fs');
    mkdirSync(path.dirname(notPrompt), { recursive: true });
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
    delete m.interactive;
    writeFileSync(notPrompt, JSON.stringify({ ...m, id: 'plain', task: 'semantic', tileSize: [16, 16] }));
    writeFileSync(path.join(path.dirname(notPrompt), 'model.onnx'), readFileSync(path.join(path.dirname(manifest), 'model.onnx')));
    await expect(service.promptOpen(volFile, notPrompt)).rejects.toThrow(/not an interactive model/);
  });
});
