// Test-time flips (the tile runs mirrored too, outputs mirrored back and averaged) and the manifest's component
// filters (keep the N largest components per class, drop components smaller than a fraction of the largest).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { openImage } from '../../main/engine/io';
import { writePng } from '../../main/engine/io/png';
import { postprocess, segmentImage } from '../../main/engine/pipeline';
import type { SegmentOptions } from '../../main/engine/segment-setup';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';
import { flipTensor, runTiled, runTileBatch, tilesToFlip } from '../../main/engine/inference/tiling';
import type { Tensor4 } from '../../main/engine/inference/runtime';
import { filterComponents } from '../../main/engine/postprocess/filter';
import { writeTiff } from '../../main/engine/io/tiff-writer';

describe('flipTensor', () => {
  it('mirrors every plane along x, y or both and is its own inverse', () => {
    // 2 planes of 2 x 3.
    const t = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(Array.from(flipTensor(t, 2, 2, 3, 'x'))).toEqual([3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10]);
    expect(Array.from(flipTensor(t, 2, 2, 3, 'y'))).toEqual([4, 5, 6, 1, 2, 3, 10, 11, 12, 7, 8, 9]);
    // Both axes = a half turn of each plane, the same as x then y.
    expect(Array.from(flipTensor(t, 2, 2, 3, 'xy'))).toEqual([6, 5, 4, 3, 2, 1, 12, 11, 10, 9, 8, 7]);
    expect(Array.from(flipTensor(t, 2, 2, 3, 'xy'))).toEqual(Array.from(flipTensor(flipTensor(t, 2, 2, 3, 'x'), 2, 2, 3, 'y')));
    for (const axis of ['x', 'y', 'xy'] as const) expect(Array.from(flipTensor(flipTensor(t, 2, 2, 3, axis), 2, 2, 3, axis))).toEqual(Array.from(t));
  });
});

describe('runTiled with test-time flips', () => {
  // A "model" that is not mirror-equivariant: output = input + column index of the tile (a left-to-right ramp).
  const rampModel = (calls: Tensor4[]) => async (t: Tensor4): Promise<Tensor4> => {
    calls.push(t);
    const [n, c, h, w] = t.dims;
    const out = new Float32Array(n * h * w);
    for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(b * h + y) * w + x] = t.data[((b * c) * h + y) * w + x]! + x;
    return { data: out, dims: [n, 1, h, w] };
  };

  it('averages the identity and the x-mirrored run, mirrored back', async () => {
    const W = 8;
    const H = 4;
    const plane = new Float32Array(W * H).map((_, i) => (i % W) * 10);
    const calls: Tensor4[] = [];
    const plain = await runTiled({ data: plane, width: W, height: H, channels: 1 }, rampModel(calls), { tileSize: [W, H], overlap: 0, batch: 1 });
    expect(calls).toHaveLength(1);
    // Without flips: input + x.
    expect(plain.data[3]).toBeCloseTo(30 + 3, 5);
    calls.length = 0;
    const tta = await runTiled({ data: plane, width: W, height: H, channels: 1 }, rampModel(calls), { tileSize: [W, H], overlap: 0, batch: 1, flips: ['x'] });
    expect(calls).toHaveLength(2);
    // The mirrored call sees the row reversed.
    expect(calls[1]!.data[0]).toBe(70);
    // Mirrored run at pixel x: input(x) + (W - 1 - x); averaged with input(x) + x -> input(x) + (W - 1) / 2.
    for (let x = 0; x < W; x++) expect(tta.data[x]).toBeCloseTo(x * 10 + (W - 1) / 2, 5);
  });

  it('applies the activation to each run before averaging (probabilities, not logits, are averaged)', async () => {
    const plane = new Float32Array(4).fill(0);
    const calls: Tensor4[] = [];
    const activate = (tile: Float32Array) => {
      for (let i = 0; i < tile.length; i++) tile[i] = tile[i]! > 1.5 ? 1 : 0;
    };
    const out = await runTiled({ data: plane, width: 4, height: 1, channels: 1 }, rampModel(calls), { tileSize: [4, 1], overlap: 0, batch: 1, flips: ['x'], activate });
    // Ramp 0,1,2,3 -> 0,0,1,1; mirrored 3,2,1,0 -> 1,1,0,0 back to 0,0,1,1 after mirroring its input: average.
    expect(Array.from(out.data)).toEqual([0.5, 0.5, 0.5, 0.5]);
  });
});

describe('test-time flips only where the plain run sees something (flipsWhere)', () => {
  // Two output channels: 0 = background, 1 = the class. The class channel is the input's first channel plus the
  // column index / 100 (not mirror-equivariant), so a flipped run shows; the background channel is 1 - that.
  const model = (calls: Tensor4[]) => async (t: Tensor4): Promise<Tensor4> => {
    calls.push({ data: t.data.slice(), dims: t.dims });
    const [n, c, h, w] = t.dims;
    const out = new Float32Array(n * 2 * h * w);
    for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const p = t.data[((b * c) * h + y) * w + x]! + x / 100;
      out[((b * 2 + 1) * h + y) * w + x] = p;
      out[((b * 2) * h + y) * w + x] = 1 - p;
    }
    return { data: out, dims: [n, 2, h, w] };
  };
  const W = 4;
  const H = 2;
  const P = W * H;
  // A batch of three tiles: nothing (0), a confident pixel (0.6 at x = 0), a faint one (0.2 at x = 1).
  const batch = (): Float32Array => {
    const input = new Float32Array(3 * P);
    input[P] = 0.6;
    input[2 * P + 1] = 0.2;
    return input;
  };
  const where = { minProbability: 0.5, channels: () => [1] };

  it('flips only the tiles reaching the bound, in one smaller batch, and leaves the others as the plain run gave them', async () => {
    const calls: Tensor4[] = [];
    const tally = { tiles: 0, flipped: 0 };
    const gated = await runTileBatch(model(calls), batch(), 3, 1, H, W, { flips: ['x'], flipsWhere: { ...where, tally } });
    // The plain run on all three, then the mirrored run on tile 1 alone; the run's tally says so.
    expect(calls.map((c) => c.dims[0])).toEqual([3, 1]);
    expect(tally).toEqual({ tiles: 3, flipped: 1 });
    expect(calls[1]!.data[W - 1]).toBeCloseTo(0.6, 6);
    const fullCalls: Tensor4[] = [];
    const full = await runTileBatch(model(fullCalls), batch(), 3, 1, H, W, { flips: ['x'] });
    const plainCalls: Tensor4[] = [];
    const plain = await runTileBatch(model(plainCalls), batch(), 3, 1, H, W, {});
    // Tile 1 equals the full flip average; tiles 0 and 2 equal the plain run (and differ from the average).
    const tile = (t: Tensor4, b: number): number[] => Array.from(t.data.subarray(b * 2 * P, (b + 1) * 2 * P));
    expect(tile(gated, 1)).toEqual(tile(full, 1));
    expect(tile(gated, 0)).toEqual(tile(plain, 0));
    expect(tile(gated, 2)).toEqual(tile(plain, 2));
    expect(tile(gated, 2)).not.toEqual(tile(full, 2));
  });

  it('reads the class channels only: a background channel near 1 does not count', async () => {
    const calls: Tensor4[] = [];
    await runTileBatch(model(calls), new Float32Array(P), 1, 1, H, W, { flips: ['x'], flipsWhere: where });
    // Background is ~1 everywhere, the class ~0: no mirrored run.
    expect(calls).toHaveLength(1);
    const out = (await model([])({ data: batch(), dims: [3, 1, H, W] })).data;
    expect(tilesToFlip(out, 3, 2, P, where)).toEqual([1]);
    expect(tilesToFlip(out, 3, 2, P, { minProbability: 0.2, channels: () => [1] })).toEqual([1, 2]);
    expect(tilesToFlip(out, 3, 2, P, { minProbability: 0.5, channels: () => [0] })).toEqual([0, 1, 2]);
  });

  it('runs the flips on every tile of the batch when all qualify (the same call as without the bound)', async () => {
    const input = batch();
    input[0] = 0.9;
    input[2 * P] = 0.9;
    const calls: Tensor4[] = [];
    const gated = await runTileBatch(model(calls), input.slice(), 3, 1, H, W, { flips: ['x'], flipsWhere: where });
    expect(calls.map((c) => c.dims[0])).toEqual([3, 3]);
    const full = await runTileBatch(model([]), input.slice(), 3, 1, H, W, { flips: ['x'] });
    expect(Array.from(gated.data)).toEqual(Array.from(full.data));
  });
});

describe('filterComponents', () => {
  // 12 x 4, class 1: a 3x3 block (9 px), a 2x2 block (4 px), one pixel; class 2: two single pixels.
  function map(): Uint8Array {
    const rows = ['111.22.....2', '111.22..1...', '111.........', '............'];
    return Uint8Array.from(rows.join('').split('').map((ch) => (ch === '.' ? 0 : Number(ch))));
  }
  const base = { width: 12, height: 4, depth: 1, nodataLabel: 255, connectivity: 8 as const };

  it('keeps the largest component of each class', () => {
    const labels = map();
    const out = filterComponents({ ...base, labels }, { keepLargestComponents: 1 });
    // Class 1 loses its single pixel at (8, 1); class 2 its single pixel at (11, 0).
    expect(out).toEqual({ removedComponents: 2, removedPixels: 2 });
    expect(labels.filter((v) => v === 1)).toHaveLength(9);
    expect(labels.filter((v) => v === 2)).toHaveLength(4);
    expect(labels[12 + 8]).toBe(0);
    expect(labels[11]).toBe(0);
  });

  it('breaks ties by raster order (the first component stays)', () => {
    const labels = Uint8Array.from([1, 0, 1, 0, 1]);
    filterComponents({ labels, width: 5, height: 1, depth: 1, nodataLabel: 255, connectivity: 8 }, { keepLargestComponents: 2 });
    expect(Array.from(labels)).toEqual([1, 0, 1, 0, 0]);
  });

  it('drops components smaller than a fraction of the largest and keeps the rest', () => {
    const labels = map();
    const out = filterComponents({ ...base, labels }, { minComponentFraction: 0.2 });
    // Class 1: 9 px largest, 1-px component < 1.8 goes; class 2: 4 px block, 1 px < 0.8? no: 1 >= 0.8 stays.
    expect(out.removedComponents).toBe(1);
    expect(out.removedPixels).toBe(1);
    expect(labels[12 + 8]).toBe(0);
    expect(labels.filter((v) => v === 2)).toHaveLength(5);
  });

  it('drops other components whose mean probability is under the bound, keeping a confident second one', () => {
    const labels = map();
    // Class 1: the 9-px block is unsure (0.6: the largest, kept anyway), the single pixel at (8, 1) sure (0.97).
    // Class 2: the 2x2 block is sure (0.99 on all four pixels), the single pixel at (11, 0) is not (0.7).
    const probability = new Float32Array(labels.length).fill(0.6);
    probability[12 + 8] = 0.97;
    for (const i of [4, 5, 16, 17]) probability[i] = 0.99;
    probability[11] = 0.7;
    const out = filterComponents({ ...base, labels, probability }, { minComponentMeanProbability: 0.9 });
    expect(out).toEqual({ removedComponents: 1, removedPixels: 1 });
    expect(labels[12 + 8]).toBe(1);
    expect(labels[11]).toBe(0);
    expect(labels.filter((v) => v === 1)).toHaveLength(10);
    expect(labels.filter((v) => v === 2)).toHaveLength(4);
  });

  it('judges a component by its mean, not its peak, and does nothing without probabilities', () => {
    // One class: a 10-px block, a 4-px block with one sure pixel (mean 0.7), a 3-px run sure throughout.
    const rows = ['11111...22..', '11111...22..', '............', '.........333'];
    const make = (): Uint8Array => Uint8Array.from(rows.join('').split('').map((ch) => (ch === '.' ? 0 : 1)));
    const probability = new Float32Array(48).fill(0.6);
    probability[8] = 1;
    for (const i of [45, 46, 47]) probability[i] = 0.95;
    const labels = make();
    filterComponents({ ...base, labels, probability }, { minComponentMeanProbability: 0.9 });
    expect(labels.filter((v) => v === 1)).toHaveLength(13);
    expect(labels[8]).toBe(0);
    expect(labels[46]).toBe(1);
    const noProb = make();
    expect(filterComponents({ ...base, labels: noProb }, { minComponentMeanProbability: 0.9 })).toEqual({ removedComponents: 0, removedPixels: 0 });
    expect(noProb.filter((v) => v === 1)).toHaveLength(17);
  });

  it("reads the model's own probabilities when a calibration changed the ones kept for the result", () => {
    // A 6-px object and a 1-px one; calibrated, both look unsure (0.6); the model itself was sure of the small one.
    const rows = ['111..1', '111...'];
    const labels = (): Uint8Array => Uint8Array.from(rows.join('').split('').map((ch) => (ch === '.' ? 0 : 1)));
    const probability = new Float32Array(12).fill(0.6);
    const own = new Float32Array(12).fill(0.6);
    own[5] = 0.99;
    const common = { nodataLabel: 255, width: 6, height: 2, depth: 1, classes: [{ name: 'lesion', color: '#ff0000' }], geometry: { type: 'pixel' as const }, probability, connectivity: 8 as const, filter: { minComponentMeanProbability: 0.9 } };
    expect(postprocess({ ...common, labels: labels(), filterProbability: own }).instances).toHaveLength(2);
    expect(postprocess({ ...common, labels: labels() }).instances).toHaveLength(1);
  });

  it('leaves nodata alone and counts 3D components once across slices', () => {
    // Two slices of 3 x 1: a column through both slices (2 px) and a single pixel on slice 1.
    const labels = Uint8Array.from([1, 0, 255, 1, 0, 1]);
    const out = filterComponents({ labels, width: 3, height: 1, depth: 2, nodataLabel: 255, connectivity: 26 }, { keepLargestComponents: 1 });
    expect(out.removedPixels).toBe(1);
    expect(Array.from(labels)).toEqual([1, 0, 255, 1, 0, 0]);
  });
});

describe('segment with a manifest asking for flips and a component filter', () => {
  const t = tempDir();
  const png = path.join(t.dir, 'blobs.png');
  let modelDir: string;
  beforeAll(async () => {
    modelDir = writeModelFolder(path.join(t.dir, 'models'), { ...brightManifest('bright-largest'), testTimeFlips: ['x'], testTimeFlipsMinProbability: 0.05, postprocess: { keepLargestComponents: 1 } });
    // Two bright squares on dark: 20x20 and 6x6.
    const W = 96;
    const H = 64;
    const px = new Uint8Array(W * H).fill(30);
    for (let y = 10; y < 30; y++) for (let x = 10; x < 30; x++) px[y * W + x] = 220;
    for (let y = 40; y < 46; y++) for (let x = 70; x < 76; x++) px[y * W + x] = 220;
    await writePng(png, px, W, H, 1);
  });
  afterAll(() => t.cleanup());

  async function run(extra: Partial<SegmentOptions>) {
    const src = await openImage(png);
    try {
      return (await segmentImage(src, { model: modelDir, device: 'cpu', threads: 1, ...extra }, () => undefined)).document;
    } finally {
      await src.close();
    }
  }

  it('keeps the largest object, records what ran, and --no-postprocess / --no-tta switch them off', async () => {
    const doc = await run({});
    expect(doc.instances).toHaveLength(1);
    expect(doc.instances[0]!.pixelCount).toBe(400);
    expect(doc.inference).toMatchObject({ testTimeFlips: ['x'], testTimeFlipsMinProbability: 0.05, tiles: 2, tilesFlipped: 2, postprocess: { keepLargestComponents: 1 } });
    const raw = await run({ modelPostprocess: false, testTimeFlips: false });
    expect(raw.inference?.testTimeFlipsMinProbability).toBeUndefined();
    expect(raw.inference?.tilesFlipped).toBeUndefined();
    expect(raw.instances.map((r) => r.pixelCount).sort((a, b) => a - b)).toEqual([36, 400]);
    expect(raw.inference?.testTimeFlips).toBeUndefined();
    expect(raw.inference?.postprocess).toBeUndefined();
  });
});

describe("the manifest's minimum object area (postprocess.minObjectAreaM2)", () => {
  const t = tempDir();
  afterAll(() => t.cleanup());
  // Two bright squares on dark: 10x10 px and 4x4 px.
  const W = 64;
  const H = 48;
  const px = new Uint8Array(W * H).fill(30);
  for (let y = 5; y < 15; y++) for (let x = 5; x < 15; x++) px[y * W + x] = 220;
  for (let y = 30; y < 34; y++) for (let x = 40; x < 44; x++) px[y * W + x] = 220;

  async function run(file: string, modelDir: string, extra: Partial<SegmentOptions> = {}) {
    const src = await openImage(file);
    try {
      return (await segmentImage(src, { model: modelDir, device: 'cpu', threads: 1, resample: false, ...extra }, () => undefined)).document;
    } finally {
      await src.close();
    }
  }

  it('drops objects under the area on a projected geo raster, by its own pixel area', async () => {
    // 2 m pixels: 4 m² each (grid area); 16 px = 64 m², 100 px = 400 m²; a 100 m² minimum drops the small square only.
    const modelDir = writeModelFolder(path.join(t.dir, 'models-geo'), { ...brightManifest('bright-geo'), postprocess: { minObjectAreaM2: 100 } });
    const tif = path.join(t.dir, 'geo.tif');
    await writeTiff(tif, { data: px, width: W, height: H, depth: 1, channels: 1, geometry: { type: 'geo', geotransform: [500000, 2, 0, 4100000, 0, -2], crs: 'EPSG:32615' } });
    const doc = await run(tif, modelDir);
    expect(doc.instances.map((r) => r.pixelCount)).toEqual([100]);
    expect(doc.inference?.postprocess).toEqual({ minObjectAreaM2: 100 });
    const raw = await run(tif, modelDir, { modelPostprocess: false });
    expect(raw.instances.map((r) => r.pixelCount).sort((a, b) => a - b)).toEqual([16, 100]);
  });

  it("uses the model's resolution on a picture without ground units, and never on a picture with neither", async () => {
    const png = path.join(t.dir, 'plain.png');
    await writePng(png, px, W, H, 1);
    // At 0.5 m/px a pixel is 0.25 m²: 16 px = 4 m² (dropped by a 10 m² minimum), 100 px = 25 m² (kept).
    const withRes = writeModelFolder(path.join(t.dir, 'models-res'), { ...brightManifest('bright-res'), resolution: { mPerPx: 0.5 }, postprocess: { minObjectAreaM2: 10 } });
    expect((await run(png, withRes)).instances.map((r) => r.pixelCount)).toEqual([100]);
    const noRes = writeModelFolder(path.join(t.dir, 'models-nores'), { ...brightManifest('bright-nores'), postprocess: { minObjectAreaM2: 10 } });
    expect((await run(png, noRes)).instances.map((r) => r.pixelCount).sort((a, b) => a - b)).toEqual([16, 100]);
  });
});
