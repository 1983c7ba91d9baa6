// Shape and region edits on a kept result: polygon/lasso fill and erase, fill holes, split along a line, merge,
// region growing from a click; exact pixels on small synthetic maps, undo restoring exactly, and a session replay.
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EditOperation } from '../../preload/api';
import type { InstancesDocument } from '../../preload/formats';
import { ResultStore } from '../../main/engine/results/store';
import { linePixels, polygonPixels } from '../../main/engine/results/shapes';
import { connectedComponents } from '../../main/engine/postprocess/components';
import { countLabels, measureInstances } from '../../main/engine/measure/index';
import { loadSession, newSession, replaySession, saveSession } from '../../main/engine/session/session';
import { writeGeoResult } from '../fixtures/geo-result';
import { tempDir } from './helpers';

/** A result from an ASCII map: '.' empty, digits = class; instances are the 8-connected components. */
function makeResult(rows: string[], intensityRows?: number[][], depth = 1) {
  const H = rows.length / depth;
  const W = rows[0]!.length;
  const labels = new Uint8Array(W * H * depth);
  rows.forEach((row, y) => [...row].forEach((ch, x) => (labels[y * W + x] = ch === '.' ? 0 : Number(ch))));
  const intensity = new Float32Array(W * H * depth);
  if (intensityRows) intensityRows.forEach((row, y) => row.forEach((v, x) => (intensity[y * W + x] = v)));
  const connectivity = depth > 1 ? 26 : 8;
  const cc = connectedComponents({ labels, width: W, height: H, depth, nodataLabel: 255, connectivity, intensity });
  const geometry = { type: 'medical' as const, spacingMm: [0.5, 0.5, 2] as [number, number, number], originMm: [0, 0, 0] as [number, number, number], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
  const classes = [
    { name: 'lesion', color: '#ff0000' },
    { name: 'organ', color: '#00ff00' },
  ];
  const counts = countLabels(labels, 2, 255);
  const m = measureInstances(cc.stats, { geometry, depth, classes, validPixelCount: counts.valid, classPixelCounts: counts.perClass, hasProbability: false, hasIntensity: true, instanceMap: cc.instances, width: W, height: H });
  const document: InstancesDocument = { source: { file: 'x', kind: 'medical', width: W, height: H, depth }, classes: m.classes, instances: m.instances };
  const store = new ResultStore(async () => intensity);
  const instances = cc.instances;
  const id = store.add({ path: 'x', width: W, height: H, depth, geometry, classes, labels, nodataLabel: 255, instances, document, connectivity });
  return { store, id, W, H, instances, labels };
}

/** The instance map as ASCII rows ('.' = 0, else the id's last digit). */
function ascii(map: ArrayLike<number>, W: number, H: number, z = 0): string[] {
  const out: string[] = [];
  for (let y = 0; y < H; y++) {
    let row = '';
    for (let x = 0; x < W; x++) {
      const v = map[z * W * H + y * W + x]!;
      row += v === 0 ? '.' : String(v % 10);
    }
    out.push(row);
  }
  return out;
}

describe('polygon and line rasterisation', () => {
  it('fills the pixels whose centres are inside (even-odd)', () => {
    // A square with corners on pixel edges covers exactly the 4x4 pixels inside.
    expect(polygonPixels([[2, 2], [6, 2], [6, 6], [2, 6]], 10, 10)).toEqual([22, 23, 24, 25, 32, 33, 34, 35, 42, 43, 44, 45, 52, 53, 54, 55]);
    // Even-odd: a self-overlapping pentagram leaves its centre out.
    const star: Array<[number, number]> = [0, 1, 2, 3, 4].map((k) => {
      const a = -Math.PI / 2 + (k * 4 * Math.PI) / 5;
      return [20 + 18 * Math.cos(a), 20 + 18 * Math.sin(a)];
    });
    const starPx = new Set(polygonPixels(star, 40, 40));
    expect(starPx.has(20 * 40 + 20)).toBe(false);
    expect(starPx.has(5 * 40 + 20)).toBe(true);
    expect(polygonPixels([[0, 0], [5, 5]], 10, 10)).toEqual([]);
  });

  it('rasterises a line 4-connected', () => {
    const px = linePixels([[0.5, 0.5], [4.5, 4.5]], 10, 10);
    expect(px[0]).toBe(0);
    expect(px[px.length - 1]).toBe(44);
    for (let k = 1; k < px.length; k++) {
      const a = px[k - 1]!;
      const b = px[k]!;
      expect(Math.abs((a % 10) - (b % 10)) + Math.abs(Math.floor(a / 10) - Math.floor(b / 10))).toBe(1);
    }
  });
});

describe('shape edits', () => {
  it('fills a polygon into a new instance, erases part of it, and undo restores exactly', async () => {
    const { store, id, W, H } = makeResult(['..........', '..........', '..........', '..........', '..........', '..........']);
    const r = await store.edit(id, { op: 'fillPolygon', z: 0, points: [[2, 1], [6, 1], [6, 4], [2, 4]], target: { newInstanceOfClass: 2 } });
    expect(r.createdInstanceId).toBe(1);
    const rec = r.document.instances.find((i) => i.id === 1)!;
    expect(rec.classId).toBe(2);
    expect(rec.pixelCount).toBe(12);
    expect(rec.areaMm2).toBeCloseTo(12 * 0.25);
    expect(ascii(store.snapshot(id).instances, W, H)).toEqual(['..........', '..1111....', '..1111....', '..1111....', '..........', '..........']);
    const e = await store.edit(id, { op: 'erasePolygon', z: 0, points: [[4, 0], [10, 0], [10, 6], [4, 6]] });
    expect(e.document.instances.find((i) => i.id === 1)!.pixelCount).toBe(6);
    expect(e.undoStack).toEqual(['fillPolygon', 'erasePolygon']);
    await store.undo(id);
    await store.undo(id);
    expect(ascii(store.snapshot(id).instances, W, H).join('')).toBe('.'.repeat(60));
  });

  it("fills a donut's hole, but not background that reaches the edge", async () => {
    const rows = ['.........', '.11111...', '.1...1...', '.1...1...', '.11111...', '.........', '.111.....', '.1.......', '.111.....'];
    const { store, id, W, H } = makeResult(rows);
    const r = await store.edit(id, { op: 'fillHoles', instanceId: 1 });
    expect(r.changedInstanceIds).toEqual([1]);
    expect(r.document.instances.find((i) => i.id === 1)!.pixelCount).toBe(20);
    const after = ascii(store.snapshot(id).instances, W, H);
    expect(after.slice(0, 5)).toEqual(['.........', '.11111...', '.11111...', '.11111...', '.11111...']);
    // The "C" (instance 2) opens to its box edge: nothing to fill.
    const c = await store.edit(id, { op: 'fillHoles', instanceId: 2 });
    expect(c.changedInstanceIds).toEqual([]);
    await store.undo(id);
    await store.undo(id);
    expect(ascii(store.snapshot(id).instances, W, H)).toEqual(rows.map((row) => row.replace(/1/g, 'x')).map((row, y) => (y < 5 ? row.replace(/x/g, '1') : row.replace(/x/g, '2'))));
  });

  it('splits a dumbbell along a line into two instances of the same class; undo and redo are exact', async () => {
    const rows = ['............', '.222....222.', '.22222222222', '.222....222.', '............'];
    const { store, id, W, H } = makeResult(rows);
    const r = await store.edit(id, { op: 'splitInstance', instanceId: 1, z: 0, line: [[6.5, 0], [6.5, 5]] });
    expect(r.createdInstanceIds).toEqual([2]);
    expect(r.changedInstanceIds).toEqual([1, 2]);
    const recs = r.document.instances;
    expect(recs.map((i) => [i.id, i.classId])).toEqual([
      [1, 2],
      [2, 2],
    ]);
    // Column 6 (the line) goes to the nearest piece; both halves reach it, the first (left) wins the tie.
    expect(ascii(store.snapshot(id).instances, W, H)).toEqual(['............', '.111....222.', '.11111122222', '.111....222.', '............']);
    expect(recs.find((i) => i.id === 1)!.pixelCount + recs.find((i) => i.id === 2)!.pixelCount).toBe(23);
    await store.undo(id);
    expect(ascii(store.snapshot(id).instances, W, H)).toEqual(rows.map((row) => row.replace(/2/g, '1')));
    const again = await store.redo(id);
    expect(again.createdInstanceIds).toEqual([2]);
    expect(ascii(store.snapshot(id).instances, W, H)[2]).toBe('.11111122222');
  });

  it('refuses a split line that separates nothing', async () => {
    const { store, id } = makeResult(['......', '.1111.', '.1111.', '......']);
    await expect(store.edit(id, { op: 'splitInstance', instanceId: 1, z: 0, line: [[0, 0], [2.5, 1.5]] })).rejects.toThrow(/does not cut object #1/);
    expect(store.state(id).undoStack).toEqual([]);
  });

  it('keeps the largest piece as the id when it comes second, and cuts every slice of a volume', async () => {
    // Two slices of a bar; cut at x = 2: the right part (larger) keeps id 1.
    const rows = ['........', '.111111.', '........', '........', '.111111.', '........'];
    const { store, id, W, H } = makeResult(rows, undefined, 2);
    const r = await store.edit(id, { op: 'splitInstance', instanceId: 1, z: 0, line: [[2.5, 0], [2.5, 3]] });
    expect(r.createdInstanceIds).toEqual([2]);
    expect(ascii(store.snapshot(id).instances, W, H)[1]).toBe('.221111.');
    expect(ascii(store.snapshot(id).instances, W, H, 1)[1]).toBe('.221111.');
    expect(r.zRange).toEqual([0, 1]);
  });

  it('merges instances into the first (its id and class)', async () => {
    const { store, id, W, H } = makeResult(['1..2..1', '1..2..1']);
    expect(store.state(id).document.instances.map((i) => [i.id, i.classId])).toEqual([
      [1, 1],
      [2, 2],
      [3, 1],
    ]);
    const r = await store.edit(id, { op: 'mergeInstances', instanceIds: [2, 1, 3] });
    expect(r.document.instances.map((i) => [i.id, i.classId, i.pixelCount])).toEqual([[2, 2, 6]]);
    expect(ascii(store.snapshot(id).instances, W, H)).toEqual(['2..2..2', '2..2..2']);
    expect(r.document.classes.map((c) => c.pixelCount)).toEqual([0, 6]);
    await expect(store.edit(id, { op: 'mergeInstances', instanceIds: [2, 9] })).rejects.toThrow(/instance 9 does not exist/);
    await store.undo(id);
    expect(ascii(store.snapshot(id).instances, W, H)).toEqual(['1..2..3', '1..2..3']);
  });

  it('grows a region from a click and stops at an edge and at the radius', async () => {
    const rows = ['........', '........', '........', '........', '........'];
    // A bright 4x3 block (100 +- 5) next to a dark field (0), with one bright pixel beyond a dark gap.
    const I = [
      [0, 0, 0, 0, 0, 0, 0, 0],
      [0, 100, 104, 98, 101, 0, 100, 0],
      [0, 97, 100, 103, 100, 0, 0, 0],
      [0, 100, 100, 100, 96, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0],
    ];
    const { store, id, W, H } = makeResult(rows, I);
    const r = await store.edit(id, { op: 'regionGrow', z: 0, seed: [2.3, 2.6], tolerance: 10, maxRadiusPx: 50, target: { newInstanceOfClass: 1 } });
    expect(r.createdInstanceId).toBe(1);
    expect(ascii(store.snapshot(id).instances, W, H)).toEqual(['........', '.1111...', '.1111...', '.1111...', '........']);
    const rec = r.document.instances[0]!;
    expect(rec.pixelCount).toBe(12);
    expect(rec.meanIntensity).toBeCloseTo(1199 / 12);
    // A tight tolerance leaves out 104 and 96 (seed 100 +- 3); a radius of 1 keeps only the seed's 4-neighbours.
    await store.undo(id);
    // Ids are not reused after an undo: the grown region is #2.
    await store.edit(id, { op: 'regionGrow', z: 0, seed: [2, 2], tolerance: 3, maxRadiusPx: 1, target: { newInstanceOfClass: 1 } });
    expect(ascii(store.snapshot(id).instances, W, H)).toEqual(['........', '........', '.222....', '..2.....', '........']);
  });
});

describe('session replay of shape edits', () => {
  const tmp = tempDir('delineate-shapes-');
  let geo: { image: string; result: string };
  beforeAll(async () => {
    geo = await writeGeoResult(tmp.dir);
  });
  afterAll(() => tmp.cleanup());

  it('saves the new operations and replays them to the same map', async () => {
    const edits: EditOperation[] = [
      { op: 'fillHoles', instanceId: 1 },
      { op: 'splitInstance', instanceId: 5, z: 0, line: [[32.5, 20], [32.5, 39]] },
      { op: 'fillPolygon', z: 0, points: [[30, 2], [40, 2], [35, 12]], target: { newInstanceOfClass: 2 } },
      { op: 'mergeInstances', instanceIds: [3, 4] },
      { op: 'regionGrow', z: 0, seed: [1, 30], tolerance: 250, maxRadiusPx: 3, target: { newInstanceOfClass: 1 } },
      { op: 'erasePolygon', z: 0, points: [[0, 0], [4, 0], [4, 4], [0, 4]] },
    ];
    const s = await newSession(geo.image, { result: geo.result });
    s.edits = edits;
    const file = path.join(tmp.dir, 'shapes.delineate.json');
    await saveSession(file, s);
    const loaded = await loadSession(file);
    expect(loaded.edits).toEqual(edits);
    const replayed = await replaySession(loaded);
    expect(replayed.applied).toBe(edits.length);
    // The same operations applied one by one through a fresh store give the same maps.
    const base = await replaySession({ ...loaded, edits: [] });
    for (const e of edits) await base.store.edit(base.resultId, e);
    expect(Array.from(replayed.result.instances)).toEqual(Array.from(base.store.snapshot(base.resultId).instances));
    const ids = replayed.store.state(replayed.resultId).document.instances.map((i) => i.id);
    // 1 (ring, hole filled but island 2 kept), 2, 3 (merged with 4), 5 and its piece 6, polygon 7, grown 8.
    expect(ids).toEqual([1, 2, 3, 5, 6, 7, 8]);
    const doc = replayed.store.state(replayed.resultId).document;
    expect(doc.instances.find((i) => i.id === 6)!.classId).toBe(2);
    expect(doc.instances.find((i) => i.id === 1)!.pixelCount).toBe(16 * 16 - 16 - 4);
  });
});
