// Inference engine, second half: resampling to the model's resolution (output back on the image grid), nodata tiles
// skipped and labelled 255, and the window-by-window path for big rasters (same labels as the in-memory path,
// streamed through the TiffWriter, no partial output on cancel), with tiny real ONNX models.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { segmentImage, segmentToFolder } from '../../main/engine/pipeline';
import { openImage } from '../../main/engine/io';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { writePng } from '../../main/engine/io/png';
import { planResample, resampleBilinear, resampleMaskAny, modelGridSize } from '../../main/engine/inference/resample';
import { runTiled, AbortError } from '../../main/engine/inference/tiling';
import type { Tensor4 } from '../../main/engine/inference/runtime';
import { progressLine } from '../../main/cli/commands/segment';
import { resolveModel, scanModels } from '../../main/engine/inference/manifest';
import { buildPixelModel } from '../fixtures/onnx-builder';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Geometry, InstancesDocument, ModelManifest } from '../../preload/formats';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';

const t = tempDir('delineate-windowed-');
afterAll(() => t.cleanup());

/** Grey raster of 40 with squares of 220 [x, y, size]. */
function squares(W: number, H: number, list: Array<[number, number, number]>): Uint8Array {
  const px = new Uint8Array(W * H);
  for (let i = 0; i < px.length; i++) px[i] = 40 + (i % 11);
  for (const [x0, y0, s] of list) for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) px[y * W + x] = 220;
  return px;
}

async function readBand(file: string): Promise<number[]> {
  const src = await openImage(file);
  try {
    return Array.from((await src.read()).data);
  } finally {
    await src.close();
  }
}

const noProgress = (): void => undefined;

describe('resampling helpers', () => {
  it('bilinear keeps a linear ramp linear (pixel centres aligned) and a same-size call is the identity', () => {
    const W = 40;
    const ramp = Float32Array.from({ length: W * 3 }, (_, i) => i % W);
    expect(resampleBilinear(ramp, 1, W, 3, W, 3)).toBe(ramp);
    const up = resampleBilinear(ramp, 1, W, 3, 80, 6);
    // Away from the clamped edges, x' = (x + 0.5) / 2 - 0.5 on the source grid.
    for (let x = 2; x < 78; x++) expect(up[80 + x]).toBeCloseTo((x + 0.5) / 2 - 0.5, 5);
    const back = resampleBilinear(up, 1, 80, 6, W, 3);
    for (let x = 1; x < W - 1; x++) expect(back[W + x]).toBeCloseTo(x, 5);
  });

  it('a mask stays valid wherever any source tap is valid', () => {
    const mask = new Uint8Array(16);
    mask[5] = 1; // (1,1) in 4x4
    const down = resampleMaskAny(mask, 4, 4, 2, 2);
    expect(Array.from(down)).toEqual([1, 0, 0, 0]);
    expect(modelGridSize(101, 0.5)).toBe(51);
  });

  it('plans from GSD for geo and in-plane spacing for medical; within 5 % runs as is', () => {
    const geo: Geometry = { type: 'geo', geotransform: [500000, 0.3, 0, 5000000, 0, -0.3], crs: 'EPSG:32633' };
    const plan = planResample({ mPerPx: 0.6 }, geo, 1000, 1000)!;
    expect(plan.factor[0]).toBeCloseTo(0.5, 2);
    expect(plan.unit).toBe('m');
    expect(planResample({ mPerPx: 0.305 }, geo, 1000, 1000)).toBeNull();
    expect(planResample({ mPerPx: 0.6 }, { ...geo, crs: null }, 1000, 1000)).toBeNull();
    const med: Geometry = { type: 'medical', spacingMm: [0.5, 0.25, 3], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
    expect(planResample({ mmPerPx: 1 }, med, 10, 10)!.factor).toEqual([0.5, 0.25]);
    expect(planResample(undefined, med, 10, 10)).toBeNull();
  });
});

describe('resampling end to end', () => {
  const models = path.join(t.dir, 'models-res');
  const W = 160;
  const H = 120;
  const list: Array<[number, number, number]> = [
    [20, 20, 30],
    [100, 70, 24],
  ];

  it('runs at the model resolution and lands the labels on the image grid', async () => {
    const manifest: ModelManifest = { ...brightManifest('bright-1mm'), resolution: { mmPerPx: 1 } };
    writeModelFolder(models, manifest);
    const png = path.join(t.dir, 'half-mm.png');
    await writePng(png, squares(W, H, list), W, H, 1);
    const out = path.join(t.dir, 'res-out');
    const { outcome } = await segmentToFolder(png, out, { model: path.join(models, 'bright-1mm'), spacingMm: [0.5, 0.5], device: 'cpu' }, noProgress);
    const inf = outcome.document.inference!;
    expect(inf.resampled).toBe(true);
    expect(inf.resampleFactor).toEqual([0.5, 0.5]);
    expect(inf.modelMmPerPx).toBe(1);
    // 80 x 60 on the model grid, so fewer tiles than the 160 x 120 image would need (checked below).
    const labels = await readBand(path.join(out, 'labels.tif'));
    expect(labels).toHaveLength(W * H);
    // Each square comes back where it is in the image (bilinear blurs at most one image pixel at its edges).
    const doc = JSON.parse(readFileSync(path.join(out, 'instances.json'), 'utf8')) as InstancesDocument;
    expect(doc.instances).toHaveLength(2);
    const boxes = doc.instances.map((r) => [...r.bbox.min, ...r.bbox.max]).sort((a, b) => a[0]! - b[0]!);
    list.forEach(([x0, y0, s], i) => {
      const b = boxes[i]!;
      expect(Math.abs(b[0]! - x0)).toBeLessThanOrEqual(1);
      expect(Math.abs(b[1]! - y0)).toBeLessThanOrEqual(1);
      expect(Math.abs(b[2]! - (x0 + s - 1))).toBeLessThanOrEqual(1);
      expect(Math.abs(b[3]! - (y0 + s - 1))).toBeLessThanOrEqual(1);
    });

    const plain = await segmentToFolder(png, path.join(t.dir, 'res-off'), { model: path.join(models, 'bright-1mm'), spacingMm: [0.5, 0.5], device: 'cpu', resample: false }, noProgress);
    expect(plain.outcome.document.inference!.resampled).toBe(false);
    expect(plain.outcome.document.inference!.tiles).toBeGreaterThan(inf.tiles);
  });
});

describe('nodata tiles', () => {
  it('runTiled never runs a tile without valid pixels', async () => {
    const W = 256;
    const H = 64;
    const valid = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 200; x < W; x++) valid[y * W + x] = 1;
    const seen: number[] = [];
    const runBatch = async (input: Tensor4): Promise<Tensor4> => {
      seen.push(input.dims[0]);
      return { data: new Float32Array(input.data.length).fill(0.5), dims: input.dims };
    };
    const r = await runTiled({ data: new Float32Array(W * H), width: W, height: H, channels: 1 }, runBatch, { tileSize: [64, 64], overlap: 0.5, batch: 1, valid });
    expect(r.tiles).toBe(7);
    expect(r.skipped).toBe(r.tiles - seen.length);
    expect(seen.length).toBe(2); // tiles starting at 160 and 192 reach x >= 200
    expect(r.data[W - 1]).toBeCloseTo(0.5);
    expect(r.data[0]).toBe(0); // never covered: 0, not NaN
    const none = await runTiled({ data: new Float32Array(W * H), width: W, height: H, channels: 1 }, runBatch, { tileSize: [64, 64], overlap: 0.5, batch: 1, valid: new Uint8Array(W * H) });
    expect(none.channels).toBe(0);
  });

  it('a GeoTIFF half in nodata: skipped tiles, 255 labels there', async () => {
    const models = path.join(t.dir, 'models-nd');
    writeModelFolder(models, brightManifest('bright'));
    const W = 256;
    const H = 128;
    const px = squares(W, H, [[150, 40, 20]]);
    for (let y = 0; y < H; y++) for (let x = 0; x < 128; x++) px[y * W + x] = 0;
    const file = path.join(t.dir, 'nodata.tif');
    await writeTiff(file, { data: px, width: W, height: H, depth: 1, channels: 1, geometry: { type: 'geo', geotransform: [500000, 1, 0, 5000000, 0, -1], crs: 'EPSG:32633' }, nodata: 0 });
    const src = await openImage(file);
    try {
      const out = await segmentImage(src, { model: path.join(models, 'bright'), device: 'cpu' }, noProgress);
      const inf = out.document.inference!;
      expect(inf.tilesSkipped).toBeGreaterThanOrEqual(3 * 2);
      expect(out.rasters.labels[10 * W + 10]).toBe(255);
      expect(out.rasters.labels[10 * W + 200]).toBe(0);
      expect(out.rasters.labels[50 * W + 160]).toBe(1);
      expect(out.document.instances).toHaveLength(1);
    } finally {
      await src.close();
    }
  });
});

/** A result folder's instances.json. */
function readDocument(dir: string): InstancesDocument {
  return JSON.parse(readFileSync(path.join(dir, 'instances.json'), 'utf8')) as InstancesDocument;
}

describe('window by window', () => {
  const models = path.join(t.dir, 'models-win');
  const W = 300;
  const H = 200;
  const list: Array<[number, number, number]> = [
    [10, 10, 20],
    [60, 55, 30], // crosses the 64 px window borders
    [250, 150, 40],
    [120, 120, 9],
  ];
  const geo: Geometry = { type: 'geo', geotransform: [500000, 0.5, 0, 5000000, 0, -0.5], crs: 'EPSG:32633' };
  const file = path.join(t.dir, 'big.tif');

  it('gives the same labels, probabilities and instances as the in-memory path', async () => {
    writeModelFolder(models, brightManifest('bright'));
    const px = squares(W, H, list);
    for (let y = 180; y < H; y++) for (let x = 0; x < 100; x++) px[y * W + x] = 0; // a nodata corner
    await writeTiff(file, { data: px, width: W, height: H, depth: 1, channels: 1, geometry: geo, nodata: 0 });
    const model = path.join(models, 'bright');
    const mem = await segmentToFolder(file, path.join(t.dir, 'mem'), { model, device: 'cpu', probabilities: true }, noProgress);
    const events: Array<[number, number]> = [];
    const win = await segmentToFolder(file, path.join(t.dir, 'win'), { model, device: 'cpu', probabilities: true, windowedMinPx: 0, windowPx: 64 }, (p) => {
      if (p.stage === 'inference') events.push([p.done, p.total]);
    });
    const winInf = win.outcome.document.inference!;
    // Context: as far as the raster's 64 px tiles that touch a core reach beyond it (under one tile).
    expect(winInf.windowed).toEqual({ windowPx: 64, contextPx: [expect.any(Number), expect.any(Number)], windows: 5 * 4 });
    for (const c of (winInf.windowed as { contextPx: number[] }).contextPx) {
      expect(c).toBeGreaterThan(0);
      expect(c).toBeLessThan(64);
    }
    expect(events.at(-1)![0]).toBe(events.at(-1)![1]);
    expect(await readBand(path.join(t.dir, 'win', 'labels.tif'))).toEqual(await readBand(path.join(t.dir, 'mem', 'labels.tif')));
    const pa = await readBand(path.join(t.dir, 'win', 'probabilities.tif'));
    const pb = await readBand(path.join(t.dir, 'mem', 'probabilities.tif'));
    expect(pa.length).toBe(pb.length);
    // The windows run on the raster's tile grid: the same blended probabilities as one whole-plane run.
    expect(Math.max(...pa.map((v, i) => Math.abs(v - pb[i]!)))).toBe(0);
    expect(await readBand(path.join(t.dir, 'win', 'instances.tif'))).toEqual(await readBand(path.join(t.dir, 'mem', 'instances.tif')));
    const strip = (d: InstancesDocument): unknown => d.instances.map((r) => ({ ...r, meanProbability: undefined }));
    // The windowed run streams its records to instances.json; the returned document holds none.
    const winDoc = readDocument(path.join(t.dir, 'win'));
    expect(win.outcome.document.instances).toEqual([]);
    expect(win.outcome.instanceCount).toBe(winDoc.instances.length);
    expect(strip(winDoc)).toEqual(strip(mem.outcome.document));
    expect(win.outcome.document.classes.map((c) => c.pixelCount)).toEqual(mem.outcome.document.classes.map((c) => c.pixelCount));
    expect(readdirSync(path.join(t.dir, 'win')).sort()).toEqual(['instances.json', 'instances.tif', 'labels.tif', 'measurements.csv', 'overlay.png', 'probabilities.tif']);
  });

  it('above the instance limit: streamed instances, the same as the whole-map ones', async () => {
    const out = path.join(t.dir, 'win-stream');
    const model = path.join(models, 'bright');
    const r = await segmentToFolder(file, out, { model, device: 'cpu', windowedMinPx: 0, windowPx: 128, instanceMaxPx: 0 }, noProgress);
    const whole = await segmentToFolder(file, path.join(t.dir, 'win-whole'), { model, device: 'cpu', windowedMinPx: 0, windowPx: 128 }, noProgress);
    expect(String(r.outcome.document.inference!.instances)).toMatch(/streamed/);
    const streamed = readDocument(out);
    const wholeDoc = readDocument(path.join(t.dir, 'win-whole'));
    expect(streamed.instances.length).toBe(list.length);
    expect(r.outcome.instanceCount).toBe(list.length);
    expect(streamed.instances).toEqual(wholeDoc.instances);
    expect(r.outcome.document.classes).toEqual(whole.outcome.document.classes);
    expect(streamed.classes).toEqual(r.outcome.document.classes);
    const bright = list.reduce((n, [, , s]) => n + s * s, 0);
    expect(r.outcome.document.classes[0]!.pixelCount).toBe(bright);
    expect(await readBand(path.join(out, 'instances.tif'))).toEqual(await readBand(path.join(t.dir, 'win-whole', 'instances.tif')));
    expect(readdirSync(out).sort()).toEqual(['instances.json', 'instances.tif', 'labels.tif', 'measurements.csv', 'overlay.png']);
  });

  it('resamples window by window and stays on the image grid', async () => {
    const manifest: ModelManifest = { ...brightManifest('bright-1m'), resolution: { mPerPx: 1 } };
    writeModelFolder(models, manifest);
    const model = path.join(models, 'bright-1m');
    await segmentToFolder(file, path.join(t.dir, 'mem-res'), { model, device: 'cpu' }, noProgress);
    const win = await segmentToFolder(file, path.join(t.dir, 'win-res'), { model, device: 'cpu', windowedMinPx: 0, windowPx: 64 }, noProgress);
    expect(win.outcome.document.inference!.resampled).toBe(true);
    const a = await readBand(path.join(t.dir, 'win-res', 'labels.tif'));
    const b = await readBand(path.join(t.dir, 'mem-res', 'labels.tif'));
    expect(a).toHaveLength(W * H);
    // Per-window resampling grids differ from the whole-image one by under a pixel: nearly every label agrees.
    const differ = a.filter((v, i) => v !== b[i]).length;
    expect(differ / a.length).toBeLessThan(0.01);
  });

  it('cancel mid-run stops, removes temporary files and writes nothing', async () => {
    const out = path.join(t.dir, 'win-cancel');
    const controller = new AbortController();
    let tilesAfterAbort = 0;
    const run = segmentToFolder(
      file,
      out,
      { model: path.join(models, 'bright'), device: 'cpu', probabilities: true, windowedMinPx: 0, windowPx: 64 },
      (p) => {
        if (p.stage !== 'inference') return;
        if (controller.signal.aborted) tilesAfterAbort++;
        if (p.done >= 10) controller.abort();
      },
      controller.signal,
    );
    await expect(run).rejects.toBeInstanceOf(AbortError);
    expect(tilesAfterAbort).toBeLessThanOrEqual(1);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(t.dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('CLI progress bar', () => {
  it('shows a bar with tiles and ETA while tiles run', () => {
    expect(progressLine('a.tif', { stage: 'inference', done: 30, total: 120, etaSeconds: 95 }, 10)).toBe('a.tif [###-------]  25% 30/120 tiles, 1 min 35 s left');
    expect(progressLine('a.tif', { stage: 'writing', done: 0, total: 1 })).toBe('a.tif: writing');
  });
});

describe('user model folder', () => {
  it('lists a bare Deepness .onnx dropped into DELINEATE_USER_MODELS_DIR and resolves it by id', async () => {
    const user = path.join(t.dir, 'user-models');
    mkdirSync(user, { recursive: true });
    writeFileSync(path.join(user, 'water.onnx'), buildPixelModel({ inChannels: 3, weights: [[0, 0, 0], [1, 1, 1]], activation: 'softmax', metadata: { model_type: 'Segmentor', class_names: '{"0": "bg", "1": "water"}', resolution: '50' } }));
    writeFileSync(path.join(user, 'junk.onnx'), 'not onnx');
    const env = { DELINEATE_MODELS_DIR: path.join(t.dir, 'no-builtin'), DELINEATE_USER_MODELS_DIR: user };
    const scan = await scanModels(env);
    expect(scan.models.map((m) => [m.manifest.id, m.source])).toEqual([['water', 'user']]);
    expect(scan.problems.map((p) => path.basename(p.file))).toEqual(['junk.onnx']);
    const m = await resolveModel('water', env);
    expect(m.manifest.resolution).toEqual({ mPerPx: 0.5 });
  });
});
