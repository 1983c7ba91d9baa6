// Pixel edits on a result kept on disk (a windowed Run) must give what the same edits give on the in-memory store:
// the same sequence of operations (brush into an object and into a new one, eraser, polygon fill and erase, fill
// holes, split, the AI tool's mask, region growing, delete, merge, class change, undo, redo) is applied to a disk
// result and to an in-memory ResultStore built from the same maps (one model run: its instance, label and
// probability maps written as the windowed run leaves them, and kept in memory as the app's Run keeps them);
// after each step the ids per pixel (tiles at level 0 and zoomed out, the preview, clicks), the records (pixel count,
// box, centroid, area, intensity) and the class totals must agree, and the exported labels GeoTIFF must equal the
// in-memory label map. Crops the disk store reads: a stroke's box +- radius (here at most 60 x 25 px), an object's
// box for fill holes / split (80 x 80, 120 x 120), the seed +- 15 px for region growing, the mask's 40 x 30 box; and
// for re-measuring, the edited objects' boxes joined with the patch's box.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { openImage } from '../../main/engine/io';
import { segmentImage } from '../../main/engine/pipeline';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { DiskResultStore } from '../../main/engine/results/disk';
import { ResultStore } from '../../main/engine/results/store';
import { encodeMaskRle } from '../../main/engine/results/rle';
import { labelArrayFor } from '../../main/engine/postprocess/labels';
import { levelCount } from '../../main/engine/render/tile';
import type { ClassRecord, Geometry, InstanceRecord, InstancesDocument, ManifestClass } from '../../preload/formats';
import type { EditOperation, EditResult, ResultTileRequest } from '../../preload/api';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';

const t = tempDir('delineate-results-disk-edits-');
afterAll(() => t.cleanup());

const W = 600;
const H = 450;
const geo: Geometry = { type: 'geo', geotransform: [500000, 0.5, 0, 5000000, 0, -0.5], crs: 'EPSG:32633' };
const CLASSES: ManifestClass[] = [
  { name: 'bright', color: '#ff0000' },
  { name: 'dim', color: '#0000ff' },
];
// Squares [x, y, size]; several cross the 256 px overlay tiles and the 128 px run windows.
const A: [number, number, number] = [20, 20, 60];
const B: [number, number, number] = [150, 40, 50];
const RING: [number, number, number] = [230, 30, 80];
const S: [number, number, number] = [60, 230, 120];
const D: [number, number, number] = [450, 300, 40];
const E: [number, number, number] = [520, 60, 30];
const noProgress = (): void => undefined;

/** Two records of one object agree (sizes, box, centroid, area, and the shape and intensity fields both have). */
function sameRecord(d: InstanceRecord, m: InstanceRecord, what: string): void {
  expect([d.id, d.classId, d.pixelCount, d.bbox], what).toEqual([m.id, m.classId, m.pixelCount, m.bbox]);
  d.centroidPx.forEach((v, k) => expect(v, what).toBeCloseTo(m.centroidPx[k]!, 4));
  expect(d.areaM2 as number, what).toBeCloseTo(m.areaM2 as number, 4);
  // Pixel-edited objects are re-measured in full on both (a merged record on disk sums its parts instead).
  for (const key of ['perimeterM', 'maxFeretM', 'meanIntensity', 'meanProbability']) {
    if (typeof d[key] === 'number' && typeof m[key] === 'number') expect(d[key] as number, `${what} ${key}`).toBeCloseTo(m[key] as number, 4);
  }
}

async function readAll(file: string): Promise<{ data: Float64Array; channels: number }> {
  const src = await openImage(file);
  try {
    const block = await src.read();
    return { data: Float64Array.from(block.data), channels: block.channels };
  } finally {
    await src.close();
  }
}

async function readChannel0(file: string): Promise<Float64Array> {
  const src = await openImage(file);
  try {
    return Float64Array.from((await src.read({ channels: [0] })).data);
  } finally {
    await src.close();
  }
}

describe('pixel edits on a result kept on disk agree with the in-memory store', () => {
  const models = path.join(t.dir, 'models');
  const file = path.join(t.dir, 'ortho.tif');
  const disk = new DiskResultStore();
  afterAll(() => disk.closeAll());
  let mem: ResultStore;
  let diskId = '';
  let memId = '';
  let folder = '';
  let original: Float64Array;
  const at = { A: 0, B: 0, RING: 0, S: 0, D: 0, E: 0 };
  /** The disk store's document after its last edit (its class totals; records come by page). */
  let lastDoc: InstancesDocument | null = null;

  beforeAll(async () => {
    writeModelFolder(models, { ...brightManifest('bright'), classes: CLASSES }, { inChannels: 1, weights: [[0], [20], [0]], bias: [0, -10, -50], activation: 'softmax' });
    const px = new Uint8Array(W * H);
    for (let i = 0; i < px.length; i++) px[i] = 40 + (i % 11);
    for (const [x0, y0, s] of [A, B, RING, S, D, E]) for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) px[y * W + x] = 220;
    // The ring's hole (background inside it) for fill holes.
    for (let y = RING[1] + 25; y < RING[1] + 55; y++) for (let x = RING[0] + 25; x < RING[0] + 55; x++) px[y * W + x] = 40 + ((y * W + x) % 11);
    await writeTiff(file, { data: px, width: W, height: H, depth: 1, channels: 1, geometry: geo });
    const src = await openImage(file);
    const run = await segmentImage(src, { model: path.join(models, 'bright'), device: 'cpu', probabilities: true }, noProgress).finally(() => src.close());
    const maps = run.rasters;
    const probabilities = maps.probabilities!;
    expect(probabilities.channels).toBe(CLASSES.length);
    folder = path.join(t.dir, 'kept');
    mkdirSync(folder);
    await writeTiff(path.join(folder, 'instances.tif'), { data: maps.instances, width: W, height: H, depth: 1, channels: 1, geometry: geo });
    await writeTiff(path.join(folder, 'labels.tif'), { data: maps.labels, width: W, height: H, depth: 1, channels: 1, geometry: geo });
    await writeTiff(path.join(folder, 'probabilities.tif'), { data: probabilities.data, width: W, height: H, depth: 1, channels: probabilities.channels, geometry: geo });
    // The folder is the store's from here on (removed on close): keep a copy for the capped store below.
    cpSync(folder, path.join(t.dir, 'kept-copy'), { recursive: true });
    original = Float64Array.from(maps.instances);
    const { nodataLabel } = labelArrayFor(CLASSES.length, 0);
    diskId = await disk.add({ dir: folder, path: file, document: run.document, classes: CLASSES, geometry: geo, width: W, height: H, nodataLabel, connectivity: 8 });
    lastDoc = { ...run.document, instances: [] };
    mem = new ResultStore(readChannel0);
    memId = mem.add({ path: file, width: W, height: H, depth: 1, geometry: geo, classes: CLASSES, labels: maps.labels.slice(), nodataLabel: maps.nodataLabel, instances: maps.instances.slice(), document: run.document, connectivity: 8, probabilities: { data: probabilities.data.slice(), channels: probabilities.channels } });
    for (const [k, sq] of Object.entries({ A, B, RING, S, D, E })) at[k as keyof typeof at] = original[(sq[1] + 2) * W + sq[0] + 2]!;
    expect(new Set(Object.values(at)).size).toBe(6);
    expect(at.A).toBeGreaterThan(0);
  });

  /** Applies one operation to both stores; they must name the same changed and created objects. */
  async function both(op: EditOperation): Promise<EditResult> {
    const d = await disk.edit(diskId, op);
    const m = await mem.edit(memId, op);
    expect(d.changedInstanceIds, op.op).toEqual(m.changedInstanceIds);
    expect(d.createdInstanceId, op.op).toEqual(m.createdInstanceId);
    expect(d.createdInstanceIds, op.op).toEqual(m.createdInstanceIds);
    expect(d.undoStack).toEqual(m.undoStack);
    // The disk document lists no records: the reply carries the changed objects' records (the viewer's selection).
    const memById = new Map(m.document.instances.map((r) => [r.id, r]));
    expect(d.changedRecords?.map((r) => [r.id, r.pixelCount]), op.op).toEqual(d.changedInstanceIds.filter((id) => memById.has(id)).map((id) => [id, memById.get(id)!.pixelCount]));
    return d;
  }

  async function undoBoth(): Promise<void> {
    const d = await disk.undo(diskId);
    const m = await mem.undo(memId);
    lastDoc = d.document;
    expect(d.undoStack).toEqual(m.undoStack);
    expect(d.redoStack).toEqual(m.redoStack);
  }

  async function redoBoth(): Promise<void> {
    const d = await disk.redo(diskId);
    const m = await mem.redo(memId);
    lastDoc = d.document;
    expect(d.undoStack).toEqual(m.undoStack);
  }

  async function allRecords(): Promise<InstanceRecord[]> {
    const out: InstanceRecord[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await disk.instancePage({ resultId: diskId, offset, limit: 1000 });
      out.push(...page.instances);
      if (out.length >= page.total) return out;
    }
  }

  /** Ids per pixel (every tile of every level, the preview), records and class totals of both stores agree. */
  async function expectSame(when: string): Promise<void> {
    const levels = levelCount(W, H, 256);
    expect(levels).toBeGreaterThan(1);
    for (let level = 0; level < levels; level++) {
      const n = Math.ceil(W / 256 / 2 ** level);
      const m = Math.ceil(H / 256 / 2 ** level);
      for (let y = 0; y < m; y++) {
        for (let x = 0; x < n; x++) {
          const req: ResultTileRequest = { resultId: diskId, level, x, y, tileSize: 256, z: 0 };
          const dt = await disk.tile(req);
          const mt = mem.tile({ ...req, resultId: memId });
          expect([dt.width, dt.height], when).toEqual([mt.width, mt.height]);
          let mismatches = 0;
          for (let i = 0; i < dt.instances.length; i++) if (dt.instances[i] !== mt.instances[i]) mismatches++;
          expect(mismatches, `${when}: tile ${level}/${x}/${y}`).toBe(0);
        }
      }
    }
    const dp = await disk.slice(diskId, 0, 350);
    const mp = mem.slice(memId, 0, 350);
    expect(Array.from(dp.instances), `${when}: preview`).toEqual(Array.from(mp.instances));
    const onDisk = await allRecords();
    const memory = mem.instancePage({ resultId: memId, offset: 0, limit: 1000 }).instances;
    expect(onDisk.map((r) => r.id), `${when}: ids`).toEqual(memory.map((r) => r.id));
    for (let i = 0; i < onDisk.length; i++) sameRecord(onDisk[i]!, memory[i]!, `${when}: object ${onDisk[i]!.id}`);
    const dc = (await disk.instancePage({ resultId: diskId, offset: 0, limit: 1 })).total;
    expect(dc).toBe(memory.length);
    const memClasses = mem.state(memId).document.classes;
    expect(lastDoc, when).not.toBeNull();
    lastDoc!.classes.forEach((c: ClassRecord, k) => {
      const mc = memClasses[k]!;
      expect([c.id, c.instanceCount, c.pixelCount], `${when}: class ${c.id}`).toEqual([mc.id, mc.instanceCount, mc.pixelCount]);
      expect(c.areaM2 as number, `${when}: class ${c.id} area`).toBeCloseTo(mc.areaM2 as number, 3);
    });
  }

  async function step(op: EditOperation, when: string): Promise<EditResult> {
    const d = await both(op);
    lastDoc = d.document;
    await expectSame(when);
    return d;
  }

  it('starts equal', async () => {
    await expectSame('before any edit');
  });

  it('brush into an object and into a new one, eraser, polygon fill and erase', async () => {
    await step({ op: 'paintStroke', z: 0, points: [[78, 50], [110, 52]], radiusPx: [6, 6], target: { instanceId: at.A } }, 'paint into A');
    const made = await step({ op: 'paintStroke', z: 0, points: [[400, 200], [430, 215]], radiusPx: [5, 5], target: { newInstanceOfClass: 2 } }, 'paint a new object');
    expect(made.createdInstanceId).toBeGreaterThan(Math.max(...Object.values(at)));
    expect((await disk.instanceAt(diskId, 415, 207, 0))?.id).toBe(made.createdInstanceId);
    // Cuts B in two parts (it stays one object).
    await step({ op: 'eraseStroke', z: 0, points: [[175, 30], [175, 100]], radiusPx: [3, 3] }, 'erase across B');
    await step({ op: 'fillPolygon', z: 0, points: [[470, 320], [560, 330], [540, 420], [465, 400]], target: { newInstanceOfClass: 1 } }, 'polygon over D');
    await step({ op: 'erasePolygon', z: 0, points: [[510, 50], [560, 50], [560, 75], [510, 75]], instanceId: at.E }, 'erase half of E');
  });

  it('fill holes, split, the AI tool and region growing', async () => {
    const filled = await step({ op: 'fillHoles', instanceId: at.RING }, 'fill the ring');
    expect(filled.changedInstanceIds).toEqual([at.RING]);
    expect((await disk.instanceAt(diskId, RING[0] + 40, RING[1] + 40, 0))?.id).toBe(at.RING);
    const split = await step({ op: 'splitInstance', z: 0, instanceId: at.S, line: [[50, 300], [190, 302]] }, 'split S');
    expect(split.createdInstanceIds?.length).toBe(1);
    const bits = new Uint8Array(40 * 30);
    for (let y = 0; y < 30; y++) for (let x = 0; x < 40; x++) if ((x - 20) ** 2 + (y - 15) ** 2 < 14 ** 2) bits[y * 40 + x] = 1;
    await step({ op: 'acceptPrompt', masks: [encodeMaskRle(0, 250, 380, 40, 30, bits)], target: { newInstanceOfClass: 1 } }, 'accept a mask');
    const grown = await step({ op: 'regionGrow', z: 0, seed: [560.5, 200.5], tolerance: 6, maxRadiusPx: 15, target: { newInstanceOfClass: 2 } }, 'region grow');
    expect(grown.createdInstanceId).toBeDefined();
  });

  it('delete, merge and class change mixed with pixel edits; undo x2 and redo; a new object after undo gets a fresh id', async () => {
    const piece = (await disk.instanceAt(diskId, 100, 320, 0))!;
    await step({ op: 'deleteInstance', instanceId: piece.id }, 'delete a split piece');
    await step({ op: 'mergeInstances', instanceIds: [at.A, at.B] }, 'merge A and B');
    // A pixel edit after the merge reads B's pixels as A's.
    await step({ op: 'eraseStroke', z: 0, points: [[160, 60], [195, 60]], radiusPx: [4, 4], instanceId: at.A }, 'erase merged B');
    await step({ op: 'setInstanceClass', instanceId: at.RING, classId: 2 }, 'reclass the ring');
    await undoBoth();
    await expectSame('undo reclass');
    await undoBoth();
    await expectSame('undo erase after merge');
    await redoBoth();
    await expectSame('redo erase after merge');
    const fresh = await step({ op: 'paintStroke', z: 0, points: [[350, 420]], radiusPx: [4, 4], target: { newInstanceOfClass: 1 } }, 'paint after undo');
    expect(fresh.createdInstanceId).toBeDefined();
  });

  it('the exported labels GeoTIFF equals the in-memory label map', async () => {
    const out = path.join(t.dir, 'labels-edited.tif');
    await disk.export(diskId, 'geotiff', out);
    const exported = (await readAll(out)).data;
    const labels = mem.snapshot(memId).labels;
    let mismatches = 0;
    for (let i = 0; i < labels.length; i++) if (exported[i] !== labels[i]) mismatches++;
    expect(mismatches).toBe(0);
    // The probability heat-map reads 0 where a person painted, on both stores.
    const dp = await disk.probabilityTile({ resultId: diskId, level: 0, x: 1, y: 0, tileSize: 256, z: 0, classId: 2 });
    const mp = mem.probabilityTile({ resultId: memId, level: 0, x: 1, y: 0, tileSize: 256, z: 0, classId: 2 });
    expect(Array.from(dp.probability)).toEqual(Array.from(mp.probability));
  });

  it('undoing every edit gives back the maps the run wrote', async () => {
    for (;;) {
      const d = await disk.undo(diskId);
      await mem.undo(memId);
      lastDoc = d.document;
      if (d.undoStack.length === 0) break;
    }
    await expectSame('all undone');
    const tile = await disk.tile({ resultId: diskId, level: 0, x: 0, y: 0, tileSize: 256, z: 0 });
    for (let y = 0; y < 256; y += 7) for (let x = 0; x < 256; x += 5) expect(tile.instances[y * 256 + x]).toBe(original[y * W + x]);
  });

  it('re-measuring reads strips; an operation that would run on more than the window cap is refused with a message', async () => {
    const dir = path.join(t.dir, 'capped');
    mkdirSync(dir);
    for (const f of ['instances.tif', 'labels.tif', 'probabilities.tif']) cpSync(path.join(t.dir, 'kept-copy', f), path.join(dir, f));
    const records: InstanceRecord[] = await allRecords();
    // Strips of 2000 pixels: S's 120 px wide box is re-measured 16 rows at a time.
    const store = new DiskResultStore({ maxEditWindowPx: 100 * 100, editStripPx: 2000 });
    const id = await store.add({ dir, path: file, document: { ...mem.state(memId).document, instances: records }, classes: CLASSES, geometry: geo, width: W, height: H, nodataLabel: labelArrayFor(CLASSES.length, 0).nodataLabel });
    await expect(store.edit(id, { op: 'fillHoles', instanceId: at.S })).rejects.toThrow(/fillHoles on this result kept on disk would read a 120 x 120 pixel window/);
    // A stroke's window is small; the object it extends (S, 120 x 120) is re-measured strip by strip.
    const stroke: EditOperation = { op: 'paintStroke', z: 0, points: [[170, 290], [186, 293]], radiusPx: [3, 3], target: { instanceId: at.S } };
    const fill: EditOperation = { op: 'fillHoles', instanceId: at.RING };
    for (const op of [stroke, fill]) {
      const d = await store.edit(id, op);
      const m = await mem.edit(memId, op);
      expect(d.changedInstanceIds).toEqual(m.changedInstanceIds);
      for (const iid of d.changedInstanceIds) {
        const dr = (await store.instancePage({ resultId: id, offset: 0, limit: 1000 })).instances.find((r) => r.id === iid)!;
        const mr = mem.instancePage({ resultId: memId, offset: 0, limit: 1000 }).instances.find((r) => r.id === iid)!;
        expect(dr.edited).toBe(true);
        sameRecord(dr, mr, `${op.op} in strips: object ${iid}`);
      }
    }
    expect((await store.instancePage({ resultId: id, offset: 0, limit: 1000 })).instances.find((r) => r.id === at.S)!.bbox.max[0]).toBeGreaterThan(S[0] + S[2] - 1);
    await store.close(id);
    expect(existsSync(dir)).toBe(false);
  });

  it('an image that can no longer be read: edits re-measure without intensities, region growing names the file', async () => {
    const dir = path.join(t.dir, 'no-image');
    mkdirSync(dir);
    for (const f of ['instances.tif', 'labels.tif', 'probabilities.tif']) cpSync(path.join(t.dir, 'kept-copy', f), path.join(dir, f));
    const gone = path.join(t.dir, 'moved-away.tif');
    const store = new DiskResultStore();
    const id = await store.add({ dir, path: gone, document: { ...mem.state(memId).document, instances: await allRecords() }, classes: CLASSES, geometry: geo, width: W, height: H, nodataLabel: labelArrayFor(CLASSES.length, 0).nodataLabel });
    const painted = await store.edit(id, { op: 'paintStroke', z: 0, points: [[78, 50], [110, 52]], radiusPx: [6, 6], target: { instanceId: at.A } });
    expect(painted.changedInstanceIds).toEqual([at.A]);
    const rec = (await store.instanceAt(id, 100, 50, 0))!;
    expect(rec.id).toBe(at.A);
    expect(rec.edited).toBe(true);
    expect(rec.pixelCount).toBeGreaterThan(A[2] * A[2]);
    expect('meanIntensity' in rec).toBe(false);
    await expect(store.edit(id, { op: 'regionGrow', z: 0, seed: [560.5, 200.5], tolerance: 6, maxRadiusPx: 15, target: { newInstanceOfClass: 2 } })).rejects.toThrow(/moved-away\.tif/);
    expect((await store.undo(id)).undoStack).toEqual([]);
    await store.close(id);
  });
});
