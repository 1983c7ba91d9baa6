// Windowed Run in the app: a raster above the windowed threshold is segmented window by window into a folder the
// engine keeps, and the viewer reads it by tile and by page. Tiles must equal crops (level 0) and nearest samples
// (coarser levels) of instances.tif; pages sort and filter; delete, class change and merge edit it with undo/redo
// (pixel edits: results-disk-edits.test.ts);
// close and cancel leave no folder. In-memory results answer the same channels.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { createEngineService, type EngineService } from '../../main/engine/service';
import { openImage } from '../../main/engine/io';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { AbortError } from '../../main/engine/inference/tiling';
import { resultsRoot } from '../../main/engine/results/disk';
import type { Geometry } from '../../preload/formats';
import type { ResultTile } from '../../preload/api';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';

const t = tempDir('delineate-results-disk-');
afterAll(() => t.cleanup());

const W = 700;
const H = 520;
// Squares [x, y, size] of different sizes (so sorting by area is meaningful); some cross the 128 px windows.
const SQUARES: Array<[number, number, number]> = [
  [10, 10, 20],
  [120, 100, 40],
  [300, 40, 12],
  [500, 300, 70],
  [640, 470, 30],
  [200, 400, 25],
  [380, 250, 9],
];
const geo: Geometry = { type: 'geo', geotransform: [500000, 0.5, 0, 5000000, 0, -0.5], crs: 'EPSG:32633' };
const noProgress = (): void => undefined;

async function readAll(file: string): Promise<Float64Array> {
  const src = await openImage(file);
  try {
    return Float64Array.from((await src.read()).data);
  } finally {
    await src.close();
  }
}

/** Folders the disk store holds now (one per kept windowed result). */
function keptFolders(): string[] {
  const root = resultsRoot();
  return root && existsSync(root) ? readdirSync(root) : [];
}

/** The full-resolution pixels a tile should show: x0 + tx * 2^level, nearest (top-left) sampling. */
function expectedTile(map: Float64Array, tile: ResultTile): number[] {
  const [x0, y0] = tile.imageRect;
  const step = 2 ** tile.level;
  const out: number[] = [];
  for (let ty = 0; ty < tile.height; ty++) for (let tx = 0; tx < tile.width; tx++) out.push(map[(y0 + ty * step) * W + x0 + tx * step]!);
  return out;
}

describe('windowed Run kept on disk', () => {
  const models = path.join(t.dir, 'models');
  const file = path.join(t.dir, 'ortho.tif');
  let service: EngineService;
  let resultId = '';
  let folder = '';
  let instancesMap: Float64Array;
  let instanceCount = 0;
  const model = (): string => path.join(models, 'bright');

  beforeAll(async () => {
    // Two classes (the second never wins), so a class change has somewhere to go.
    writeModelFolder(models, { ...brightManifest('bright'), classes: [{ name: 'bright', color: '#ff0000' }, { name: 'dim', color: '#0000ff' }] }, { inChannels: 1, weights: [[0], [20], [0]], bias: [0, -10, -50], activation: 'softmax' });
    const px = new Uint8Array(W * H);
    for (let i = 0; i < px.length; i++) px[i] = 40 + (i % 11);
    for (const [x0, y0, s] of SQUARES) for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) px[y * W + x] = 220;
    await writeTiff(file, { data: px, width: W, height: H, depth: 1, channels: 1, geometry: geo });
    service = createEngineService({ windowedMinPx: 0, windowPx: 128 });
  });

  it('takes the windowed path above the threshold: records empty in the document, classes complete, a folder kept', async () => {
    const before = keptFolders().length;
    const r = await service.segment(file, { modelId: model(), device: 'cpu' }, noProgress, new AbortController().signal);
    expect(r.windowed).toEqual({ width: W, height: H, instanceCount: SQUARES.length });
    expect(r.document.instances).toEqual([]);
    expect(r.document.classes[0]!.instanceCount).toBe(SQUARES.length);
    expect(r.document.classes[0]!.pixelCount).toBe(SQUARES.reduce((n, [, , s]) => n + s * s, 0));
    expect(r.probabilities).toBe(true);
    resultId = r.resultId!;
    expect(keptFolders().length).toBe(before + 1);
    folder = path.join(resultsRoot()!, keptFolders().at(-1)!);
    expect(readdirSync(folder)).toEqual(expect.arrayContaining(['labels.tif', 'instances.tif', 'probabilities.tif', 'records.jsonl']));
    instancesMap = await readAll(path.join(folder, 'instances.tif'));
    instanceCount = r.windowed!.instanceCount;
    // The rasters carry overviews (the tiles of coarse levels read them, not full resolution).
    const src = await openImage(path.join(folder, 'instances.tif'));
    try {
      expect((src as unknown as { overviews: unknown[] }).overviews.length).toBeGreaterThan(0);
    } finally {
      await src.close();
    }
  });

  it('level-0 tiles equal the crop of instances.tif; coarser levels its nearest samples; edge tiles are smaller', async () => {
    const t0 = await service.resultTile({ resultId, level: 0, x: 1, y: 1, tileSize: 256, z: 0 });
    expect(t0.imageRect).toEqual([256, 256, 256, 256]);
    expect(Array.from(t0.instances)).toEqual(expectedTile(instancesMap, t0));
    expect(new Set(t0.instances).size).toBeGreaterThan(1);
    const edge = await service.resultTile({ resultId, level: 0, x: 2, y: 2, tileSize: 256, z: 0 });
    expect([edge.width, edge.height]).toEqual([W - 512, H - 512]);
    expect(Array.from(edge.instances)).toEqual(expectedTile(instancesMap, edge));
    for (const [level, x, y] of [[1, 0, 0], [1, 1, 0], [2, 0, 0]] as const) {
      const tile = await service.resultTile({ resultId, level, x, y, tileSize: 256, z: 0 });
      expect(Array.from(tile.instances)).toEqual(expectedTile(instancesMap, tile));
    }
    await expect(service.resultTile({ resultId, level: 0, x: 3, y: 0, tileSize: 256, z: 0 })).rejects.toThrow(/outside level 0/);
  });

  it('probability tiles are the class probability x 255 (high inside objects, low outside)', async () => {
    const tile = await service.resultProbabilityTile({ resultId, level: 0, x: 0, y: 0, tileSize: 256, z: 0, classId: 1 });
    expect(tile.probability.length).toBe(256 * 256);
    expect(tile.probability[15 * 256 + 15]).toBeGreaterThan(200);
    expect(tile.probability[60 * 256 + 60]).toBeLessThan(55);
    await expect(service.resultProbabilityTile({ resultId, level: 0, x: 0, y: 0, tileSize: 256, z: 0, classId: 7 })).rejects.toThrow(/class 7/);
    // Zoomed out, a probability is the mean of the 2x2 block it covers (average overviews), not one of its pixels.
    const full = await readAll(path.join(folder, 'probabilities.tif'));
    const coarse = await service.resultProbabilityTile({ resultId, level: 1, x: 0, y: 0, tileSize: 256, z: 0, classId: 1 });
    let mismatches = 0;
    let blended = 0;
    for (let ty = 0; ty < coarse.height; ty++) {
      for (let tx = 0; tx < coarse.width; tx++) {
        const i = 2 * ty * W + 2 * tx;
        const block = [full[i]!, full[i + 1]!, full[i + W]!, full[i + W + 1]!];
        const mean = Math.round(block.reduce((a, b) => a + b, 0) / 4);
        if (coarse.probability[ty * coarse.width + tx] !== mean) mismatches++;
        if (!block.includes(mean)) blended++;
      }
    }
    expect(mismatches).toBe(0);
    // The preview heat-map reads the pyramid too, on the grid of the preview slice.
    const heat = await service.resultProbability({ resultId, classId: 1, z: 0, maxSize: 350 });
    expect([heat.width, heat.height]).toEqual([350, 260]);
    expect(heat.values[Math.floor(330 / 2) * 350 + Math.floor(530 / 2)]).toBeGreaterThan(200);
    expect(heat.values[5]).toBeLessThan(55);
    // Object edges that do not fall on even pixels give blocks whose mean is none of their values.
    expect(blended).toBeGreaterThan(0);
  });

  it('pages: total, sort by area both ways, class filter, and offsets past the end', async () => {
    const all = await service.resultInstances({ resultId, offset: 0, limit: 1000 });
    expect(all.total).toBe(instanceCount);
    expect(all.instances.map((r) => r.id)).toEqual([...all.instances.map((r) => r.id)].sort((a, b) => a - b));
    const big = await service.resultInstances({ resultId, offset: 0, limit: 3, sort: { key: 'area', descending: true } });
    expect(big.instances.map((r) => r.pixelCount)).toEqual([70 * 70, 40 * 40, 30 * 30]);
    const small = await service.resultInstances({ resultId, offset: 1, limit: 2, sort: { key: 'area' } });
    expect(small.instances.map((r) => r.pixelCount)).toEqual([12 * 12, 20 * 20]);
    expect((await service.resultInstances({ resultId, offset: 0, limit: 10, classId: 2 })).total).toBe(0);
    expect((await service.resultInstances({ resultId, offset: 0, limit: 10, classId: 1 })).total).toBe(instanceCount);
    expect((await service.resultInstances({ resultId, offset: 50, limit: 10 })).instances).toEqual([]);
  });

  it('instance-at names the object under a pixel, null on background; the preview slice is nearest-sampled', async () => {
    const at = await service.resultInstanceAt(resultId, 520, 320, 0);
    expect(at?.id).toBe(instancesMap[320 * W + 520]);
    expect(at?.pixelCount).toBe(70 * 70);
    expect(await service.resultInstanceAt(resultId, 5, 500, 0)).toBeNull();
    await expect(service.resultInstanceAt(resultId, W, 0, 0)).rejects.toThrow(/outside/);
    const preview = await service.resultSlice({ resultId, z: 0, maxSize: 350 });
    expect([preview.width, preview.height]).toEqual([350, 260]);
    expect(preview.instances[Math.floor(330 / 2) * 350 + Math.floor(530 / 2)]).toBe(at!.id);
  });

  it('delete, class change and merge edit the result by id; undo and redo restore tiles, pages and class totals', async () => {
    const victim = (await service.resultInstanceAt(resultId, 520, 320, 0))!;
    const del = await service.editResult(resultId, { op: 'deleteInstance', instanceId: victim.id });
    expect(del.revision).toBe(1);
    expect(del.document.classes[0]!.instanceCount).toBe(instanceCount - 1);
    expect(del.document.classes[0]!.pixelCount).toBe(SQUARES.reduce((n, [, , s]) => n + s * s, 0) - 70 * 70);
    const t1 = await service.resultTile({ resultId, level: 0, x: 2, y: 1, tileSize: 256, z: 0 });
    expect(t1.revision).toBe(1);
    expect(t1.instances.includes(victim.id)).toBe(false);
    expect((await service.resultInstances({ resultId, offset: 0, limit: 100 })).total).toBe(instanceCount - 1);
    expect(await service.resultInstanceAt(resultId, 520, 320, 0)).toBeNull();

    const undone = await service.undoEdit(resultId);
    expect(undone.document.classes[0]!.instanceCount).toBe(instanceCount);
    expect((await service.resultInstanceAt(resultId, 520, 320, 0))?.id).toBe(victim.id);
    const t2 = await service.resultTile({ resultId, level: 0, x: 2, y: 1, tileSize: 256, z: 0 });
    expect(Array.from(t2.instances)).toEqual(expectedTile(instancesMap, t2));
    const redone = await service.redoEdit(resultId);
    expect(redone.undoStack).toEqual(['deleteInstance']);
    expect(await service.resultInstanceAt(resultId, 520, 320, 0)).toBeNull();
    await service.undoEdit(resultId);

    // A class change moves the object between class totals without touching pixels.
    const other = (await service.resultInstanceAt(resultId, 130, 110, 0))!;
    const reclass = await service.editResult(resultId, { op: 'setInstanceClass', instanceId: other.id, classId: 2 });
    expect(reclass.document.classes.map((c) => c.instanceCount)).toEqual([instanceCount - 1, 1]);
    const page = await service.resultInstances({ resultId, offset: 0, limit: 10, classId: 2 });
    expect(page.instances.map((r) => [r.id, r.classId, r.edited])).toEqual([[other.id, 2, true]]);
    await service.undoEdit(resultId);
    expect((await service.resultInstances({ resultId, offset: 0, limit: 10, classId: 2 })).total).toBe(0);

    // Merge: the second object's pixels read as the first's id; its record sums both.
    const a = (await service.resultInstanceAt(resultId, 15, 15, 0))!;
    const b = (await service.resultInstanceAt(resultId, 305, 45, 0))!;
    await service.editResult(resultId, { op: 'mergeInstances', instanceIds: [a.id, b.id] });
    const merged = (await service.resultInstanceAt(resultId, 305, 45, 0))!;
    expect(merged.id).toBe(a.id);
    expect(merged.pixelCount).toBe(a.pixelCount + b.pixelCount);
    const t3 = await service.resultTile({ resultId, level: 0, x: 1, y: 0, tileSize: 256, z: 0 });
    expect(t3.instances[(45 - 0) * 256 + (305 - 256)]).toBe(a.id);
    await service.undoEdit(resultId);
    expect((await service.resultInstanceAt(resultId, 305, 45, 0))!.id).toBe(b.id);

    // Pixel edits work too (results-disk-edits.test.ts compares them with the in-memory store); unknown objects are refused.
    await expect(service.editResult(resultId, { op: 'fillHoles', instanceId: 99999 })).rejects.toThrow(/instance 99999 does not exist/);
  });

  it('exports the labels with the edits applied, and JSON with every live record', async () => {
    const victim = (await service.resultInstanceAt(resultId, 520, 320, 0))!;
    await service.editResult(resultId, { op: 'deleteInstance', instanceId: victim.id });
    const out = path.join(t.dir, 'labels-export.tif');
    await service.exportResult(resultId, 'geotiff', out, {});
    const labels = await readAll(out);
    const original = await readAll(path.join(folder, 'labels.tif'));
    expect(labels[320 * W + 520]).toBe(0);
    expect(original[320 * W + 520]).toBe(1);
    expect(labels[15 * W + 15]).toBe(1);
    const json = path.join(t.dir, 'export.json');
    await service.exportResult(resultId, 'json', json, {});
    const doc = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(json, 'utf8'))) as { instances: Array<{ id: number }> };
    expect(doc.instances.length).toBe(instanceCount - 1);
    // Vector formats stream from disk now (export-vector-stream.test.ts); a PNG snapshot would need the whole map.
    await expect(service.exportResult(resultId, 'png', path.join(t.dir, 'x.png'), {})).rejects.toThrow(/not available/);
    await service.undoEdit(resultId);
  });

  it('closing the result removes its folder', async () => {
    expect(existsSync(folder)).toBe(true);
    await service.closeResult(resultId);
    expect(existsSync(folder)).toBe(false);
    await expect(service.resultTile({ resultId, level: 0, x: 0, y: 0, tileSize: 256, z: 0 })).rejects.toThrow(/no longer kept/);
  });

  it('a cancel after the first progress rejects quickly and leaves no folder', async () => {
    const before = keptFolders();
    const controller = new AbortController();
    let abortedAt = 0;
    const run = service.segment(
      file,
      { modelId: model(), device: 'cpu' },
      () => {
        if (!abortedAt) {
          abortedAt = performance.now();
          controller.abort(new AbortError());
        }
      },
      controller.signal,
    );
    await expect(run).rejects.toThrow(/abort|cancel/i);
    const ms = performance.now() - abortedAt;
    console.log(`windowed app run: cancel returned ${ms.toFixed(0)} ms after the first progress`);
    expect(ms).toBeLessThan(1000);
    expect(keptFolders()).toEqual(before);
  });
});

describe('in-memory results answer the same channels', () => {
  const models = path.join(t.dir, 'models-mem');
  const file = path.join(t.dir, 'small.tif');

  it('tiles are crops of the slice, pages sort and filter, instance-at picks', async () => {
    writeModelFolder(models, brightManifest('bright'));
    const w = 300;
    const h = 200;
    const px = new Uint8Array(w * h).fill(40);
    for (const [x0, y0, s] of [[10, 10, 20], [100, 50, 40], [260, 150, 30]] as const) for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) px[y * w + x] = 220;
    await writeTiff(file, { data: px, width: w, height: h, depth: 1, channels: 1, geometry: geo });
    const service = createEngineService();
    const r = await service.segment(file, { modelId: path.join(models, 'bright'), device: 'cpu' }, noProgress, new AbortController().signal);
    expect(r.windowed).toBeUndefined();
    const id = r.resultId!;
    const slice = await service.resultSlice({ resultId: id, z: 0, maxSize: 4096 });
    const tile = await service.resultTile({ resultId: id, level: 0, x: 1, y: 0, tileSize: 256, z: 0 });
    expect(tile.imageRect).toEqual([256, 0, 44, 200]);
    const crop: number[] = [];
    for (let y = 0; y < 200; y++) for (let x = 256; x < 300; x++) crop.push(slice.instances[y * w + x]!);
    expect(Array.from(tile.instances)).toEqual(crop);
    const coarse = await service.resultTile({ resultId: id, level: 1, x: 0, y: 0, tileSize: 256, z: 0 });
    expect([coarse.width, coarse.height]).toEqual([150, 100]);
    expect(coarse.instances[30 * 150 + 55]).toBe(slice.instances[60 * w + 110]);
    const page = await service.resultInstances({ resultId: id, offset: 0, limit: 2, sort: { key: 'area', descending: true } });
    expect(page.total).toBe(3);
    expect(page.instances.map((i) => i.pixelCount)).toEqual([1600, 900]);
    expect((await service.resultInstanceAt(id, 110, 60, 0))?.pixelCount).toBe(1600);
    expect(await service.resultInstanceAt(id, 0, 199, 0)).toBeNull();
    const prob = await service.resultProbabilityTile({ resultId: id, level: 0, x: 0, y: 0, tileSize: 256, z: 0, classId: 1 });
    expect(prob.probability[15 * 256 + 15]).toBeGreaterThan(200);
    await service.closeResult(id);
  });
});
