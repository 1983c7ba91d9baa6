// Interactive segmentation in the engine: the click-step geometry (crop, grow, paste, deepest point), our click
// model format run through promptToFolder (the path `delineate prompt` takes) with a threshold model whose answer
// is known, propagation through a synthetic volume, the SAM-signature pair (embedding cache, low-res refinement)
// and the manifest refusals.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import type { InstancesDocument } from '../../preload/formats';
import { writeNifti } from '../../main/engine/io/nifti';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { openImage } from '../../main/engine/io';
import { resolveModel } from '../../main/engine/inference/manifest';
import { installModel } from '../../main/engine/inference/install';
import { segmentToFolder } from '../../main/engine/pipeline';
import { createOrtRuntime, type ModelRuntime, type NamedTensor } from '../../main/engine/inference/runtime';
import { chooseCrop, cropOrigin, deepestPoint, growCrop, honourLastClick, MaskWindow, pasteCrop, touchesInnerSide, upsampleThreshold } from '../../main/engine/interactive/geometry';
import { checkPromptModel, openPromptModel } from '../../main/engine/interactive/models';
import { PromptImage } from '../../main/engine/interactive/prompt-image';
import { promptToFolder, runPrompt, type PromptJson } from '../../main/engine/interactive/prompt';
import { PromptSession } from '../../main/engine/interactive/session';
import { spawnSync } from 'node:child_process';
import { commandWorks, tempDir, readBand0, writeTestPng } from './helpers';
import { buildSamDecoder, buildShiftClickModel, clickManifest, writeClickModel, writeSamModel } from '../fixtures/prompt-models';
import { buildPixelModel } from '../fixtures/onnx-builder';

const t = tempDir('delineate-interactive-');
afterAll(() => t.cleanup());

/** A W x H grey PNG: 20 everywhere, 255 inside the given inclusive boxes. */
function squaresPng(name: string, W: number, H: number, boxes: Array<[number, number, number, number]>): { file: string; truth: Uint8Array } {
  const px = new Uint8Array(W * H).fill(20);
  const truth = new Uint8Array(W * H);
  for (const [x0, y0, x1, y1] of boxes) {
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        px[y * W + x] = 255;
        truth[y * W + x] = 1;
      }
    }
  }
  const file = path.join(t.dir, name);
  writeTestPng(file, W, H, 1, px);
  return { file, truth };
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

function iou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! > 0 && a[i]! !== 255;
    const y = b[i]! > 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 1 : inter / union;
}

describe('click-step geometry (the spec rules the trainer uses)', () => {
  it('centres the first crop on the last positive click and grows around the same centre', () => {
    expect(cropOrigin(30, 16)).toBe(Math.floor(30 - 7.5 + 0.5));
    const c = chooseCrop([{ x: 30, y: 34, positive: true }, { x: 5, y: 5, positive: false }], null, null, { firstCropPx: 16, minCropPx: 16, marginFraction: 0.4 });
    expect(c).toEqual({ x0: 23, y0: 27, side: 16 });
    expect(growCrop(c)).toEqual({ x0: 15, y0: 19, side: 32 });
  });

  it('zooms to the clicks and the previous mask with a margin, never below minCropPx', () => {
    const c = chooseCrop([{ x: 10, y: 10, positive: true }], { x0: 10, y0: 10, x1: 59, y1: 29 }, null, { firstCropPx: 16, minCropPx: 16, marginFraction: 0.4 });
    // Box 50 x 20 -> side round(50 * 1.8) = 90, centred on (34.5, 19.5).
    expect(c.side).toBe(90);
    expect(c.x0).toBe(Math.floor(34.5 - 44.5 + 0.5));
    const small = chooseCrop([{ x: 10, y: 10, positive: true }], { x0: 10, y0: 10, x1: 11, y1: 11 }, null, { firstCropPx: 16, minCropPx: 24, marginFraction: 0.4 });
    expect(small.side).toBe(24);
  });

  it('grows only on crop sides inside the image, and pastes the prediction over the previous mask', () => {
    const side = 8;
    const pred = new Uint8Array(side * side);
    pred[0] = 1; // top-left corner pixel
    expect(touchesInnerSide(pred, { x0: 0, y0: 0, side }, 100, 100)).toBe(false); // both sides are the image border
    expect(touchesInnerSide(pred, { x0: 4, y0: 0, side }, 100, 100)).toBe(true); // left side inside the image
    const prev = new MaskWindow(0, 0, 20, 20);
    prev.data[19 * 20 + 19] = 1; // outside the crop: kept
    prev.data[5 * 20 + 5] = 1; // inside the crop: replaced by the prediction
    const out = pasteCrop(prev, pred, { x0: 4, y0: 4, side }, 20, 20);
    expect(out.get(19, 19)).toBe(1);
    expect(out.get(5, 5)).toBe(0);
    expect(out.get(4, 4)).toBe(1);
    expect(out.count()).toBe(2);
  });

  it('finds the interior point farthest from the boundary (first on ties, as numpy argmax)', () => {
    const w = 9;
    const h = 7;
    const region = new Uint8Array(w * h);
    for (let y = 1; y <= 5; y++) for (let x = 2; x <= 8; x++) region[y * w + x] = 1; // 7 x 5 block touching the right edge
    const p = deepestPoint(region, w, h)!;
    expect(p.distance).toBe(3);
    expect(p.y).toBe(3);
    expect(p.x).toBe(4); // x 4..6 are all 3 from the boundary (the image edge counts as outside)
  });
});

describe('clickmaps format through promptToFolder', () => {
  const models = path.join(t.dir, 'models');
  const manifest = writeClickModel(models);

  it('segments a small object exactly inside the first crop and writes the result folder', async () => {
    const img = squaresPng('small.png', 64, 64, [[28, 32, 33, 37]]);
    const out = path.join(t.dir, 'out-small');
    const res = await promptToFolder(img.file, out, { model: manifest, clicks: [{ x: 30, y: 34, positive: true }] });
    const labels = await readBand0(path.join(out, 'labels.tif'));
    expect(Array.from(labels.data)).toEqual(Array.from(img.truth));
    const prompt = readJson<PromptJson>(path.join(out, 'prompt.json'));
    expect(prompt.crop).toEqual({ x0: 23, y0: 27, side: 16 });
    expect(prompt.clicks).toEqual([{ x: 30, y: 34, positive: true }]);
    expect(prompt.modelSeconds).toBeGreaterThan(0);
    expect(prompt.modelSeconds).toBeLessThanOrEqual(prompt.seconds);
    const doc = readJson<InstancesDocument>(path.join(out, 'instances.json'));
    expect(doc.instances).toHaveLength(1);
    expect(doc.instances[0]!.pixelCount).toBe(36);
    expect(doc.instances[0]!.centroidPx).toEqual([30.5, 34.5]);
    expect(res.files.map((f) => path.basename(f)).filter((f) => f.startsWith('labels.'))).toEqual(['labels.tif']);
  });

  it('runs the manifest\'s test-time flips in the same call and averages them mirrored back', async () => {
    // The shift model outlines a bright square one column to the right; with the x flip averaged in, only the
    // columns whose two neighbours are both bright stay: the square's centre, two columns narrower.
    const img = squaresPng('shift.png', 64, 64, [[28, 32, 33, 37]]);
    const plain = writeClickModel(path.join(t.dir, 'models-shift'), { id: 'click-shift' }, buildShiftClickModel());
    const flipped = writeClickModel(path.join(t.dir, 'models-shift'), { id: 'click-shift-flip', testTimeFlips: ['x'] }, buildShiftClickModel());
    const click = [{ x: 30, y: 34, positive: true }];
    await promptToFolder(img.file, path.join(t.dir, 'out-shift'), { model: plain, clicks: click });
    await promptToFolder(img.file, path.join(t.dir, 'out-shift-flip'), { model: flipped, clicks: click });
    const a = readJson<InstancesDocument>(path.join(t.dir, 'out-shift', 'instances.json')).instances;
    const b = readJson<InstancesDocument>(path.join(t.dir, 'out-shift-flip', 'instances.json')).instances;
    expect(a).toHaveLength(1);
    expect(a[0]!.pixelCount).toBe(36);
    expect(a[0]!.centroidPx).toEqual([31.5, 34.5]);
    expect(b).toHaveLength(1);
    expect(b[0]!.pixelCount).toBe(24);
    expect(b[0]!.centroidPx).toEqual([30.5, 34.5]);
  });

  it('grows the crop when the object touches an inner side (once, per maxBorderGrow)', async () => {
    const img = squaresPng('large.png', 64, 64, [[17, 21, 36, 40]]);
    const out = path.join(t.dir, 'out-large');
    await promptToFolder(img.file, out, { model: manifest, clicks: [{ x: 30, y: 34, positive: true }] });
    const prompt = readJson<PromptJson>(path.join(out, 'prompt.json'));
    expect(prompt.crop).toEqual({ x0: 15, y0: 19, side: 32 });
    const labels = await readBand0(path.join(out, 'labels.tif'));
    // The grown crop contains the square, resampled 32 -> 16 -> 32 on even-aligned edges: exact.
    expect(iou(labels.data, img.truth)).toBe(1);
  });

  it('a refinement pass reruns the first click on its own mask, the crop zoomed to the object', async () => {
    const img = squaresPng('refine.png', 64, 64, [[17, 21, 36, 40]]);
    const zoom = writeClickModel(models, { id: 'click-refine', refinePasses: 1, refineFirstOnly: true });
    const out = path.join(t.dir, 'out-refine');
    const res = await promptToFolder(img.file, out, { model: zoom, clicks: [{ x: 30, y: 34, positive: true }] });
    // Pass 1 as without refinement (16 px, grown to 32); pass 2: the 20 x 20 square + 40 % margin each side = 36,
    // centred on the square (26.5, 30.5): origin floor(26.5 - 17.5 + 0.5) = 9, floor(30.5 - 17.5 + 0.5) = 13.
    expect(res.prompt.steps).toHaveLength(1);
    expect(res.prompt.crop).toEqual({ x0: 9, y0: 13, side: 36 });
    const labels = await readBand0(path.join(out, 'labels.tif'));
    expect(iou(labels.data, img.truth)).toBeGreaterThan(0.75); // the square, through a 36 -> 16 -> 36 resampling
    await expect(promptToFolder(img.file, path.join(t.dir, 'bad-refine'), { model: writeClickModel(models, { id: 'click-refine-bad', refinePasses: 1, refineFirstOnly: 'yes' }), clicks: [{ x: 30, y: 34, positive: true }] })).rejects.toThrow(/interactive\.refineFirstOnly" must be true or false/);
    await expect(promptToFolder(img.file, path.join(t.dir, 'bad-level'), { model: writeClickModel(models, { id: 'click-level-bad', clickLevelSetMin: 0.7 }), clicks: [{ x: 30, y: 34, positive: true }] })).rejects.toThrow(/interactive\.clickLevelSetMin/);
  });

  it('replaces the previous mask inside the crop, and an exclusion click cuts the object', async () => {
    const img = squaresPng('two.png', 64, 64, [[28, 32, 33, 37]]);
    const prevFile = path.join(t.dir, 'prev.tif');
    const prev = new Uint8Array(64 * 64);
    prev[40 * 64 + 20] = 1; // a stray pixel on dark background: inside the crop, so the model's answer replaces it
    await writeTiff(prevFile, { data: prev, width: 64, height: 64, depth: 1, channels: 1, geometry: { type: 'pixel' } });
    const out = path.join(t.dir, 'out-prev');
    const res = await promptToFolder(img.file, out, { model: manifest, maskFile: prevFile, clicks: [{ x: 30, y: 34, positive: true }, { x: 28, y: 32, positive: false }] });
    // First step: the crop zooms to the click and the previous mask (x 20..30, y 34..40 -> side round(11 * 1.8) = 20);
    // second step: to both clicks and the first step's mask (the square), at least minCropPx.
    expect(res.prompt.steps[0]!.crop).toEqual({ x0: 16, y0: 28, side: 20 });
    expect(res.prompt.crop).toEqual({ x0: 23, y0: 27, side: 16 });
    const labels = (await readBand0(path.join(out, 'labels.tif'))).data;
    expect(labels[40 * 64 + 20]).toBe(0); // stray pixel gone
    expect(labels[32 * 64 + 28]).toBe(0); // exclusion disk
    expect(labels[35 * 64 + 31]).toBe(1); // the square's middle still in
    expect(res.prompt.steps.map((s) => s.clicks)).toEqual([1, 2]); // one model step per click, in order
  });

  it('writes the --class value and removes result files an earlier run left', async () => {
    const img = squaresPng('cls.png', 64, 64, [[28, 32, 33, 37]]);
    const out = path.join(t.dir, 'out-cls');
    await promptToFolder(img.file, out, { model: manifest, clicks: [{ x: 30, y: 34, positive: true }] });
    writeFileSync(path.join(out, 'labels.nii.gz'), 'stale');
    const res = await promptToFolder(img.file, out, { model: manifest, clicks: [{ x: 30, y: 34, positive: true }], classId: 3 });
    expect(readdirSync(out).filter((f) => f.startsWith('labels.'))).toEqual(['labels.tif']);
    const labels = (await readBand0(path.join(out, 'labels.tif'))).data;
    expect(labels[34 * 64 + 30]).toBe(3);
    expect(res.document.instances[0]!.classId).toBe(3);
  });

  it('refuses coordinates outside the image and clicks on several slices, naming the option', async () => {
    const img = squaresPng('bad.png', 64, 64, [[28, 32, 33, 37]]);
    await expect(promptToFolder(img.file, path.join(t.dir, 'bad'), { model: manifest, clicks: [{ x: 64, y: 3, positive: true }] })).rejects.toThrow(/--point 64,3: x is outside the image \(0\.\.63\)/);
    await expect(promptToFolder(img.file, path.join(t.dir, 'bad'), { model: manifest, clicks: [{ x: 3, y: 3, z: 1, positive: true }] })).rejects.toThrow(/z is outside/);
    expect(existsSync(path.join(t.dir, 'bad'))).toBe(false);
  });
});

describe('propagation through a volume', () => {
  const models = path.join(t.dir, 'models3d');
  const manifest = writeClickModel(models, { id: 'click-3d', cropSize: 16, firstCropPx: 16, minCropPx: 16 });
  const W = 48;
  const H = 48;
  const D = 10;
  const spacingMm: [number, number, number] = [1, 1, 2];
  const vol = new Uint8Array(W * H * D).fill(20);
  const truth = new Uint8Array(W * H * D);
  // A lesion over slices 3..7 whose radius changes with z, and a distractor on slice 1 far from it.
  for (let z = 3; z <= 7; z++) {
    const r = 6 - Math.abs(z - 5) * 2;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if ((x - 20) ** 2 + (y - 22) ** 2 <= r * r) {
          vol[z * W * H + y * W + x] = 255;
          truth[z * W * H + y * W + x] = 1;
        }
      }
    }
  }
  for (let y = 40; y < 46; y++) for (let x = 40; x < 46; x++) vol[1 * W * H + y * W + x] = 255;
  const volFile = path.join(t.dir, 'lesion.nii.gz');

  it('one click + propagate gives the object on every slice it spans, with its volume in mL', async () => {
    await writeNifti(volFile, { data: vol, width: W, height: H, depth: D, channels: 1, geometry: { type: 'medical', spacingMm, originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] } });
    const out = path.join(t.dir, 'out-3d');
    const res = await promptToFolder(volFile, out, { model: manifest, clicks: [{ x: 20, y: 22, z: 5, positive: true }], propagate: true });
    const labels = await openImage(path.join(out, 'labels.nii.gz'));
    const data = (await labels.read()).data;
    await labels.close();
    // Crops larger than the model's 16 px input are resampled, so edges may move by a pixel: compare by IoU.
    expect(iou(data, truth)).toBeGreaterThan(0.85);
    const perSlice = Array.from({ length: D }, (_, z) => Array.from(data.subarray(z * W * H, (z + 1) * W * H)).reduce((a, b) => a + (b ? 1 : 0), 0));
    expect(perSlice.map((n) => n > 0)).toEqual([false, false, false, true, true, true, true, true, false, false]); // distractor on slice 1 not reached
    const obj = res.document.instances[0]!;
    expect(res.document.instances).toHaveLength(1);
    expect(obj.pixelCount).toBe(perSlice.reduce((a, b) => a + b, 0));
    expect(obj.volumeMl).toBeCloseTo((obj.pixelCount * 2) / 1000, 9);
    expect(obj.bbox.min[2]).toBe(3);
    expect(obj.bbox.max[2]).toBe(7);
    expect(obj.recistSlice).toBe(5);
    expect(obj.longAxisMm).toBeGreaterThan(10);
    expect(res.prompt.propagated).toEqual([3, 7]);
    expect(res.prompt.clicks).toEqual([{ x: 20, y: 22, z: 5, positive: true }]);
  });

  it("Propagate's seeds are not honoured through the level set: a slice past the object's end still comes out empty", async () => {
    // With a floor below the background's probability (about 2e-4 here), a user's click on the background would take
    // the whole crop; Propagate's seed on slice 8 must not, or the object would run on through the volume.
    const honour = writeClickModel(path.join(t.dir, 'models-honour'), { id: 'click-honour', clickLevelSetMin: 0.0001 });
    const res = await promptToFolder(volFile, path.join(t.dir, 'out-3d-honour'), { model: honour, clicks: [{ x: 20, y: 22, z: 5, positive: true }], propagate: true });
    expect(res.prompt.propagated).toEqual([3, 7]);
    // The same model honours a user's click there: the click's slice gets an object holding it.
    const user = await promptToFolder(volFile, path.join(t.dir, 'out-3d-honour-user'), { model: honour, clicks: [{ x: 20, y: 22, z: 8, positive: true }] });
    expect(user.document.instances).toHaveLength(1);
    expect(user.document.instances[0]!.pixelCount).toBeGreaterThan(0);
  });

  it('without --propagate only the clicked slice is segmented; a correction re-propagates from its slice', async () => {
    const out = path.join(t.dir, 'out-3d-one');
    const one = await promptToFolder(volFile, out, { model: manifest, clicks: [{ x: 20, y: 22, z: 5, positive: true }] });
    expect(one.document.instances[0]!.bbox.min[2]).toBe(5);
    expect(one.document.instances[0]!.bbox.max[2]).toBe(5);
    // Correct on slice 4 with the one-slice result as the previous mask, then propagate from there.
    const again = await promptToFolder(volFile, path.join(t.dir, 'out-3d-fix'), { model: manifest, maskFile: path.join(out, 'labels.nii.gz'), clicks: [{ x: 20, y: 22, z: 4, positive: true }], propagate: true });
    expect(again.prompt.propagated).toEqual([3, 7]);
    const voxels = truth.reduce((a, b) => a + b, 0);
    expect(Math.abs(again.document.instances[0]!.pixelCount - voxels) / voxels).toBeLessThan(0.1);
  });

  it('needs z on a volume', async () => {
    await expect(promptToFolder(volFile, path.join(t.dir, 'noz'), { model: manifest, clicks: [{ x: 20, y: 22, positive: true }] })).rejects.toThrow(/has 10 slices; give x,y,z/);
  });
});

describe('SAM-signature encoder/decoder pair', () => {
  const models = path.join(t.dir, 'sam');
  const manifest = writeSamModel(models);

  it('segments through the same folder path and reports model time', async () => {
    const img = squaresPng('sam.png', 64, 64, [[16, 20, 39, 43]]);
    const out = path.join(t.dir, 'out-sam');
    const res = await promptToFolder(img.file, out, { model: manifest, clicks: [{ x: 28, y: 30, positive: true }] });
    const labels = await readBand0(path.join(out, 'labels.tif'));
    expect(iou(labels.data, img.truth)).toBeGreaterThan(0.8);
    expect(res.prompt.model.format).toBe('sam');
    expect(res.prompt.crop).toEqual({ x0: 0, y0: 0, width: 64, height: 64 });
    expect(res.prompt.modelSeconds).toBeGreaterThan(0);
  });

  it('encodes each slice once and feeds the previous low-res mask to the next click', async () => {
    const img = squaresPng('sam2.png', 64, 64, [[16, 20, 39, 43]]);
    const ort = createOrtRuntime();
    const feeds: Array<Record<string, NamedTensor>> = [];
    const recording: ModelRuntime = {
      createSession: (p, o) => ort.createSession(p, o),
      async createMultiSession(p, o) {
        const s = await ort.createMultiSession!(p, o);
        return {
          device: s.device,
          skipped: s.skipped,
          inputNames: s.inputNames,
          outputNames: s.outputNames,
          run: (f, outs) => {
            feeds.push(f);
            return s.run(f, outs);
          },
          dispose: () => s.dispose(),
        };
      },
    };
    const resolved = await resolveModel(manifest);
    const model = await openPromptModel(resolved, { runtime: recording });
    const src = await openImage(img.file);
    try {
      const image = new PromptImage(src, 1);
      const run = await runPrompt(model, image, { clicks: [{ x: 28, y: 30, z: 0, positive: true }, { x: 17, y: 21, z: 0, positive: false }], box: null, previous: new Map(), propagate: false });
      expect(run.steps).toHaveLength(2);
      const encoderCalls = feeds.filter((f) => !('point_coords' in f));
      const decoderCalls = feeds.filter((f) => 'point_coords' in f);
      expect(encoderCalls).toHaveLength(1);
      expect(decoderCalls).toHaveLength(2);
      expect(decoderCalls[0]!.has_mask_input!.data[0]).toBe(0);
      expect(decoderCalls[1]!.has_mask_input!.data[0]).toBe(1);
      // Points: the clicks (1 = include, 0 = exclude) in the 64-px frame plus SAM's padding point (-1).
      expect(Array.from(decoderCalls[1]!.point_labels!.data)).toEqual([1, 0, -1]);
      expect(Array.from(decoderCalls[1]!.point_coords!.data.slice(0, 4))).toEqual([28, 30, 17, 21]);
      expect(Array.from(decoderCalls[0]!.orig_im_size!.data)).toEqual([64, 64]);
      expect(decoderCalls[0]!.mask_input!.dims).toEqual([1, 1, 64, 64]);
    } finally {
      await model.dispose();
      await src.close();
    }
  });

  it('installs as a user model with both files, and runs from there', async () => {
    const userDir = path.join(t.dir, 'user-models');
    const env = { DELINEATE_MODELS_DIR: path.join(t.dir, 'no-builtin'), DELINEATE_USER_MODELS_DIR: userDir };
    const summary = await installModel(path.join(path.dirname(manifest), 'encoder.onnx'), { userDir, env });
    expect(summary.task).toBe('prompt');
    expect(readdirSync(path.join(userDir, 'sam-test')).sort()).toEqual(['decoder.onnx', 'encoder.onnx', 'manifest.json']);
    const installed = await resolveModel(path.join(userDir, 'sam-test'));
    expect((await checkPromptModel(installed)).files.map((f) => path.basename(f))).toEqual(['encoder.onnx', 'decoder.onnx']);
  });

  it('a box prompt goes in as SAM corner points (labels 2 and 3)', async () => {
    const img = squaresPng('sam3.png', 64, 64, [[16, 20, 39, 43]]);
    const res = await promptToFolder(img.file, path.join(t.dir, 'out-sam-box'), { model: manifest, clicks: [], box: { x0: 14, y0: 18, x1: 41, y1: 45 } });
    expect(res.document.instances).toHaveLength(1);
    expect(res.prompt.box).toEqual({ x0: 14, y0: 18, x1: 41, y1: 45 });
  });
});

describe('prompt manifests are checked before onnxruntime opens them', () => {
  const root = path.join(t.dir, 'broken');

  it('names a missing decoder file', async () => {
    const m = writeSamModel(root, { id: 'no-decoder', skipDecoder: true });
    await expect(checkPromptModel(await resolveModel(m))).rejects.toThrow(/manifest\.json: decoder "decoder\.onnx" does not exist/);
  });

  it('names a decoder input that is not SAM\'s', async () => {
    const m = writeSamModel(root, { id: 'renamed', decoder: buildSamDecoder(16, { renameInput: ['point_labels', 'labels'] }) });
    await expect(checkPromptModel(await resolveModel(m))).rejects.toThrow(/decoder\.onnx: is not a SAM decoder: missing input point_labels/);
  });

  it('names a missing low_res_masks output', async () => {
    const m = writeSamModel(root, { id: 'no-low', decoder: buildSamDecoder(16, { dropOutput: 'low_res_masks' }) });
    await expect(checkPromptModel(await resolveModel(m))).rejects.toThrow(/missing output low_res_masks/);
  });

  it('refuses an encoder whose size disagrees with imageSize, and a click model with the wrong channel count', async () => {
    const m = writeSamModel(root, { id: 'size', imageSize: 32 });
    const text = readFileSync(m, 'utf8').replace('"imageSize": 32', '"imageSize": 64');
    writeFileSync(m, text);
    await expect(checkPromptModel(await resolveModel(m))).rejects.toThrow(/imageSize 64 needs \[1, 3, 64, 64\]/);
    const c = writeClickModel(root, { id: 'rgb-declared', channels: ['R', 'G', 'B'] });
    const json = readJson<Record<string, unknown>>(c);
    writeFileSync(c, JSON.stringify({ ...json, input: { name: 'input', channels: ['grey'] } }));
    // The ONNX graph reads 6 channels (3 + 3); the manifest now says 1 + 3.
    await expect(checkPromptModel(await resolveModel(c))).rejects.toThrow(/has 6 channels; the manifest's 1 image channels \+ 3 click\/mask maps make 4/);
  });

  it('reads a manifest carried inside a bare .onnx (metadata_props.delineate_manifest)', async () => {
    const file = path.join(t.dir, 'embedded.onnx');
    writeFileSync(file, buildPixelModel({ inChannels: 4, weights: [[20, 0, -40, 0]], bias: [-10], activation: 'sigmoid', metadata: { delineate_manifest: JSON.stringify(clickManifest({ id: 'embedded' })) } }));
    const model = await resolveModel(file);
    expect(model.manifest.task).toBe('prompt');
    expect(model.manifest.interactive?.format).toBe('clickmaps');
    expect(model.manifest.file).toBe('embedded.onnx');
    const img = squaresPng('embedded.png', 64, 64, [[28, 32, 33, 37]]);
    const res = await promptToFolder(img.file, path.join(t.dir, 'out-embedded'), { model: file, clicks: [{ x: 30, y: 34, positive: true }] });
    expect(res.document.instances[0]!.pixelCount).toBe(36);
  });

  it('rejects a prompt manifest without an interactive block, and segment refuses a prompt model', async () => {
    const m = writeClickModel(root, { id: 'no-block' });
    const json = readJson<Record<string, unknown>>(m);
    delete json.interactive;
    writeFileSync(m, JSON.stringify(json));
    await expect(resolveModel(m)).rejects.toThrow(/"interactive" must be an object/);
    const ok = writeClickModel(root, { id: 'for-segment' });
    const img = squaresPng('seg.png', 32, 32, [[4, 4, 9, 9]]);
    await expect(segmentToFolder(img.file, path.join(t.dir, 'seg-out'), { model: ok }, () => {})).rejects.toThrow(/"for-segment" is an interactive model \(task "prompt"\): run it with delineate prompt/);
  });
});

describe('large rasters: windowed reading and streamed writing', () => {
  it('gives the same object and measurements as the in-memory path, reading only around the crop', async () => {
    const models = path.join(t.dir, 'models-big');
    const manifest = writeClickModel(models, { id: 'click-big', cropSize: 32, firstCropPx: 32, minCropPx: 32, kinds: ['geo'] });
    const W = 600;
    const H = 400;
    const px = new Uint8Array(W * H).fill(20);
    for (let y = 200; y < 220; y++) for (let x = 300; x < 324; x++) px[y * W + x] = 255;
    const file = path.join(t.dir, 'big.tif');
    await writeTiff(file, { data: px, width: W, height: H, depth: 1, channels: 1, geometry: { type: 'geo', geotransform: [500000, 0.5, 0, 4000000, 0, -0.5], crs: 'EPSG:32633' } });
    const whole = await promptToFolder(file, path.join(t.dir, 'big-whole'), { model: manifest, clicks: [{ x: 310, y: 210, positive: true }] });
    const streamed = await promptToFolder(file, path.join(t.dir, 'big-streamed'), { model: manifest, clicks: [{ x: 310, y: 210, positive: true }], wholeReadMaxPx: 1000 });
    expect(streamed.document.instances).toEqual(whole.document.instances);
    expect(streamed.document.classes).toEqual(whole.document.classes);
    const a = await readBand0(path.join(t.dir, 'big-whole', 'labels.tif'));
    const b = await readBand0(path.join(t.dir, 'big-streamed', 'labels.tif'));
    expect(Array.from(b.data)).toEqual(Array.from(a.data));
    // 480 pixels of 0.25 m² (ellipsoidal areas differ from the planar ones by the UTM scale factor).
    expect(whole.document.instances[0]!.areaM2).toBeCloseTo(24 * 20 * 0.25, 0);
    // The model's input is read from windows around the crop only.
    const src = await openImage(file);
    const regions: Array<{ width: number; height: number }> = [];
    const spy = Object.create(src) as typeof src;
    spy.read = async (region) => {
      regions.push({ width: region?.width ?? src.width, height: region?.height ?? src.height });
      return src.read(region);
    };
    const model = await openPromptModel(await resolveModel(manifest));
    try {
      const image = new PromptImage(spy, 1, 1000);
      const run = await runPrompt(model, image, { clicks: [{ x: 310, y: 210, z: 0, positive: true }], box: null, previous: new Map(), propagate: false });
      expect(run.masks.get(0)!.count()).toBe(480);
      expect(regions.length).toBeGreaterThan(0);
      for (const r of regions) expect(r.width * r.height).toBeLessThanOrEqual(64 * 64);
    } finally {
      await model.dispose();
      await src.close();
    }
  });
});

const hasPythonOracle = commandWorks('/usr/bin/python3', ['-c', 'import numpy, scipy']) && existsSync(path.join(__dirname, '..', '..', 'models', 'training', 'interactive_common.py'));
describe.skipIf(!hasPythonOracle)(`same click steps as the training code${hasPythonOracle ? '' : ' (skipped: /usr/bin/python3 with numpy and scipy, or models/training/interactive_common.py, missing)'}`, () => {
  const refinements = [
    { name: 'no refinement', refinePasses: 0, refineFirstOnly: false },
    { name: 'one refinement pass on the first click only', refinePasses: 1, refineFirstOnly: true },
    { name: 'two refinement passes on every click', refinePasses: 2, refineFirstOnly: false },
    { name: 'first-click refinement, clicks honoured through the level set', refinePasses: 1, refineFirstOnly: true, clickLevelSetMin: 0.001 },
  ];
  it.each(refinements)('crop, resampling, click disks, border grow, paste and refinement agree pixel for pixel with interactive_common.py ($name)', async (refine) => {
    // A textured image with blobs of several sizes; the threshold model makes the geometry the only difference.
    const W = 90;
    const H = 70;
    const px = new Uint8Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px[y * W + x] = (x - 40) ** 2 / 400 + (y - 30) ** 2 / 150 < 1 || ((x * 13 + y * 7) % 23 < 3 && x > 60) ? 230 : 30 + ((x * 5 + y * 3) % 40);
    const file = path.join(t.dir, 'oracle.png');
    writeTestPng(file, W, H, 1, px);
    const raw = path.join(t.dir, 'oracle.u8');
    writeFileSync(raw, px);
    const models = path.join(t.dir, 'models-oracle');
    const levelSet = refine.clickLevelSetMin ?? 0;
    const tag = `${refine.refinePasses}-${refine.refineFirstOnly}-${levelSet}`;
    const manifest = writeClickModel(models, { id: `oracle-${tag}`, cropSize: 24, firstCropPx: 20, minCropPx: 16, clickRadiusPx: 3, maxBorderGrow: 2, refinePasses: refine.refinePasses, refineFirstOnly: refine.refineFirstOnly, clickLevelSetMin: levelSet });
    const clicks = [
      { x: 40, y: 30, positive: true },
      { x: 55, y: 33, positive: false },
      { x: 26, y: 28, positive: true },
      { x: 70, y: 10, positive: true },
    ];
    const out = path.join(t.dir, `out-oracle-${tag}`);
    const res = await promptToFolder(file, out, { model: manifest, clicks });
    const ours = (await readBand0(path.join(out, 'labels.tif'))).data;
    const script = `
import sys, json, numpy as np
sys.path.insert(0, ${JSON.stringify(path.join(__dirname, '..', '..', 'models', 'training'))})
import interactive_common as I
img = np.fromfile(${JSON.stringify(raw)}, np.uint8).reshape(${H}, ${W}).astype(np.float32)[None] / 255.0
p = dict(I.DEFAULTS, cropSize=24, firstCropPx=20, minCropPx=16, clickRadiusPx=3, maxBorderGrow=2,
         refinePasses=${refine.refinePasses}, refineFirstOnly=${refine.refineFirstOnly ? 'True' : 'False'},
         clickLevelSetMin=${levelSet})
def predict(x):
    return 1 / (1 + np.exp(-(20 * x[:, 0] - 40 * x[:, 2] - 10)))
clicks = ${JSON.stringify(clicks.map((c) => [c.x, c.y, c.positive ? 1 : 0]))}
clicks = [(x, y, bool(pos)) for x, y, pos in clicks]
mask = np.zeros((${H}, ${W}), bool)
crops = []
for k in range(1, len(clicks) + 1):
    out, cr = I.step_batch(predict, [{"img": img, "clicks": clicks[:k], "mask": mask, "user_clicks": True}], p)
    mask = out[0]
    crops.append([int(v) for v in cr[0]])
print(json.dumps({"mask": mask.astype(np.uint8).ravel().tolist(), "crops": crops}))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(r.stderr).toBe('');
    const oracle = JSON.parse(r.stdout) as { mask: number[]; crops: number[][] };
    expect(res.prompt.steps.map((s) => { const c = s.crop as { x0: number; y0: number; side: number }; return [c.x0, c.y0, c.side]; })).toEqual(oracle.crops);
    // Without refinement the first step grew twice (20 -> 40 -> 80): the grow rule is exercised. A refinement pass
    // refits the crop around that step's own mask, so the first crop is another one.
    if (refine.refinePasses === 0) expect(oracle.crops[0]![2]).toBe(80);
    else expect(oracle.crops[0]![2]).not.toBe(80);
    // The last click (a dark pixel the threshold model leaves out) is in the object only when the level set honours it.
    expect(ours[10 * W + 70]).toBe(levelSet > 0 ? 1 : 0);
    expect(Array.from(ours)).toEqual(oracle.mask);
  });

  it('a contradicted click is honoured through the level set of the probability as interactive_common.honour_last_click does', () => {
    // A smooth probability field with two bumps on the model's S x S grid, upsampled to the 40-pixel crop and
    // thresholded (step 4); clicks on both sides of the threshold and below the floors.
    const S = 20;
    const side = 40;
    const field = (x: number, y: number): number => 0.9 * Math.exp(-((x - 12) ** 2 + (y - 14) ** 2) / 60) + 0.6 * Math.exp(-((x - 28) ** 2 + (y - 25) ** 2) / 40) + 0.002 * (Math.round(x * 7 + y * 3) % 5);
    const prob = new Float32Array(S * S);
    // Each model pixel holds the field at its centre in crop pixels (src = (dst + 0.5) x side / S - 0.5).
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) prob[y * S + x] = field((x + 0.5) * (side / S) - 0.5, (y + 0.5) * (side / S) - 0.5);
    const crop = { x0: 5, y0: 7, side };
    const cases = [
      { x: 5 + 28, y: 7 + 25, positive: true }, // the second bump (p ~0.6 -> above 0.5: already in)
      { x: 5 + 22, y: 7 + 20, positive: true }, // between the bumps: outside, p ~0.1
      { x: 5 + 12, y: 7 + 17, positive: false }, // inside the first bump
      { x: 5 + 39, y: 7 + 0, positive: true }, // far corner: p below a floor of 0.01
      { x: 5 + 13, y: 7 + 14, positive: false }, // the first bump's top: p ~0.89, above 1 - a floor of 0.2
    ];
    const base = Array.from(upsampleThreshold(prob, S, side, 0.5));
    const ours = cases.map((c) => {
      const pred = upsampleThreshold(prob, S, side, 0.5);
      honourLastClick(pred, prob, S, crop, c, c.x === 5 + 13 ? 0.2 : 0.01);
      return Array.from(pred);
    });
    const script = `
import sys, json, numpy as np
sys.path.insert(0, ${JSON.stringify(path.join(__dirname, '..', '..', 'models', 'training'))})
import interactive_common as I
up = I.upsample_prob(np.array(${JSON.stringify(Array.from(prob))}, np.float32).reshape(${S}, ${S}), ${side})
out = []
for x, y, pos in ${JSON.stringify(cases.map((c) => [c.x, c.y, c.positive ? 1 : 0]))}:
    m = I.honour_last_click(up > 0.5, up, (x, y, bool(pos)), 5, 7, 0.2 if x == 5 + 13 else 0.01)
    out.append(m.astype(np.uint8).ravel().tolist())
print(json.dumps(out))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(r.stderr).toBe('');
    const oracle = JSON.parse(r.stdout) as number[][];
    const count = (a: number[]): number => a.reduce((s, v) => s + v, 0);
    // What each case must do: nothing, grow, shrink, nothing (below the floor), nothing (above 1 - the floor).
    expect(ours.map((m) => Math.sign(count(m) - count(base)))).toEqual([0, 1, -1, 0, 0]);
    expect(ours[1]![(20) * side + 22]).toBe(1);
    expect(ours[2]![(17) * side + 12]).toBe(0);
    expect(ours).toEqual(oracle);
  });
});

describe.skipIf(!hasPythonOracle)(`per-crop normalisation as the training code${hasPythonOracle ? '' : ' (skipped: python oracle missing)'}`, () => {
  it('a 3-band image normalised per crop (1-99th percentile, [0, 1]) gives the same masks as interactive_common.py', async () => {
    const W = 80;
    const H = 60;
    const inter = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const inField = x >= 22 && x < 51 && y >= 15 && y < 38;
        for (let c = 0; c < 3; c++) inter[(y * W + x) * 3 + c] = (inField ? 150 : 60) + ((x * 11 + y * 5 + c * 7) % 50);
      }
    }
    const file = path.join(t.dir, 'oracle-rgb.png');
    writeTestPng(file, W, H, 3, inter);
    const raw = path.join(t.dir, 'oracle-rgb.u8');
    writeFileSync(raw, inter);
    const manifest = writeClickModel(path.join(t.dir, 'models-oracle-rgb'), {
      id: 'oracle-rgb',
      channels: ['R', 'G', 'B'],
      cropSize: 24,
      firstCropPx: 30,
      minCropPx: 16,
      clickRadiusPx: 3,
      normalization: { type: 'percentile', pLow: 1, pHigh: 99, scope: 'crop', mask: 'all', clip: [0, 1] },
    });
    const clicks = [
      { x: 36, y: 26, positive: true },
      { x: 60, y: 30, positive: false },
      { x: 24, y: 17, positive: true },
    ];
    const res = await promptToFolder(file, path.join(t.dir, 'out-oracle-rgb'), { model: manifest, clicks });
    const ours = (await readBand0(path.join(t.dir, 'out-oracle-rgb', 'labels.tif'))).data;
    const script = `
import sys, json, numpy as np
sys.path.insert(0, ${JSON.stringify(path.join(__dirname, '..', '..', 'models', 'training'))})
import interactive_common as I
img = np.fromfile(${JSON.stringify(raw)}, np.uint8).reshape(${H}, ${W}, 3).transpose(2, 0, 1).astype(np.float32)
p = dict(I.DEFAULTS, cropSize=24, firstCropPx=30, minCropPx=16, clickRadiusPx=3)
def predict(x):
    return 1 / (1 + np.exp(-(20 * x[:, 0] - 40 * x[:, 4] - 10)))
clicks = [(x, y, bool(pos)) for x, y, pos in ${JSON.stringify(clicks.map((c) => [c.x, c.y, c.positive ? 1 : 0]))}]
mask = np.zeros((${H}, ${W}), bool)
crops = []
for k in range(1, len(clicks) + 1):
    out, cr = I.step_batch(predict, [{"img": img, "clicks": clicks[:k], "mask": mask, "per_crop_norm": True}], p)
    mask = out[0]
    crops.append([int(v) for v in cr[0]])
print(json.dumps({"mask": mask.astype(np.uint8).ravel().tolist(), "crops": crops}))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', script], { encoding: 'utf8', maxBuffer: 1 << 26 });
    expect(r.stderr).toBe('');
    const oracle = JSON.parse(r.stdout) as { mask: number[]; crops: number[][] };
    expect(res.prompt.steps.map((s) => { const c = s.crop as { x0: number; y0: number; side: number }; return [c.x0, c.y0, c.side]; })).toEqual(oracle.crops);
    expect(oracle.mask.reduce((a, b) => a + b, 0)).toBeGreaterThan(300);
    expect(Array.from(ours)).toEqual(oracle.mask);
  });
});

describe('PromptSession (the live session the AI tool will drive)', () => {
  it('gives the same object click by click as the command line, reuses the SAM embedding, and propagates', async () => {
    const models = path.join(t.dir, 'models-session');
    const manifest = writeClickModel(models, { id: 'click-session' });
    const img = squaresPng('session.png', 64, 64, [[28, 32, 33, 37]]);
    const clicks = [
      { x: 30, y: 34, positive: true },
      { x: 28, y: 32, positive: false },
    ];
    const cli = await promptToFolder(img.file, path.join(t.dir, 'out-session'), { model: manifest, clicks });
    const src = await openImage(img.file);
    const session = await PromptSession.open(src, { model: manifest });
    try {
      for (const c of clicks) await session.click(c.x, c.y, 0, c.positive);
      const mask = session.objectMasks().get(0)!;
      expect(mask.count()).toBe(cli.document.instances[0]!.pixelCount);
      const labels = (await readBand0(path.join(t.dir, 'out-session', 'labels.tif'))).data;
      expect(Array.from(mask.full(64, 64))).toEqual(Array.from(labels, (v) => (v ? 1 : 0)));
      await expect(session.click(64, 0, 0, true)).rejects.toThrow(/outside the image/);
      session.clear();
      expect(session.objectMasks().size).toBe(0);
    } finally {
      await session.dispose();
      await src.close();
    }

    const sam = writeSamModel(path.join(t.dir, 'models-session-sam'), { id: 'sam-session' });
    const src2 = await openImage(img.file);
    const s2 = await PromptSession.open(src2, { model: sam });
    try {
      await s2.click(30, 34, 0, true);
      await s2.click(20, 20, 0, false);
      await s2.box({ x0: 26, y0: 30, x1: 35, y1: 39 }, 0);
      expect((s2.model as unknown as { encoderRuns: number }).encoderRuns).toBe(1);
    } finally {
      await s2.dispose();
      await src2.close();
    }
  });

  it('propagates the current slice through a volume', async () => {
    const models = path.join(t.dir, 'models-session-3d');
    const manifest = writeClickModel(models, { id: 'click-session-3d' });
    const W = 40;
    const H = 40;
    const D = 6;
    const vol = new Uint8Array(W * H * D).fill(20);
    for (let z = 1; z <= 4; z++) for (let y = 15; y < 22; y++) for (let x = 15; x < 22; x++) vol[z * W * H + y * W + x] = 255;
    const file = path.join(t.dir, 'session-vol.nii.gz');
    await writeNifti(file, { data: vol, width: W, height: H, depth: D, channels: 1, geometry: { type: 'medical', spacingMm: [1, 1, 1], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] } });
    const src = await openImage(file);
    const session = await PromptSession.open(src, { model: manifest });
    try {
      await expect(session.propagate(2)).rejects.toThrow(/no object to propagate/);
      await session.click(18, 18, 2, true);
      const run = await session.propagate(2);
      expect(run.propagated).toEqual([1, 4]);
      expect([...session.objectMasks().keys()].sort()).toEqual([1, 2, 3, 4]);
      for (const m of session.objectMasks().values()) expect(m.count()).toBe(49);
    } finally {
      await session.dispose();
      await src.close();
    }
  });
});
