// End to end through the engine: a generated PNG / NIfTI volume + a tiny real ONNX model -> result folder
// (labels, instances, instances.json valid against the schema, measurements.csv, overlay.png); cancel and a
// corrupt model leave nothing behind; `measure` on an existing label map gives exact mL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { measureFiles, segmentFile, segmentImage, segmentToFolder } from '../../main/engine/pipeline';
import { openImage } from '../../main/engine/io';
import { writePng } from '../../main/engine/io/png';
import { writeNifti } from '../../main/engine/io/nifti';
import { AbortError } from '../../main/engine/inference/tiling';
import type { ModelRuntime } from '../../main/engine/inference/runtime';
import type { InstancesDocument } from '../../preload/formats';
import { csvField, measurementsCsv } from '../../main/engine/export/results';
import { validateJson } from '../fixtures/json-schema-lite';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';

const schema = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'preload', 'instances.schema.json'), 'utf8')) as Record<string, unknown>;

const W = 200;
const H = 150;
/** Squares of value 220 on 40: [x, y, size]. The last touches the right border. */
const SQUARES: Array<[number, number, number]> = [
  [10, 10, 20],
  [100, 60, 7],
  [190, 120, 10],
];

function greyImage(): Uint8Array {
  const px = new Uint8Array(W * H).fill(40);
  for (let i = 0; i < px.length; i++) px[i] = 40 + (i % 13); // texture well below the 127.5 threshold
  for (const [x0, y0, s] of SQUARES) for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) px[y * W + x] = 220;
  return px;
}

describe('segment end to end', () => {
  const t = tempDir();
  const models = path.join(t.dir, 'models');
  const png = path.join(t.dir, 'scan.png');
  let modelDir: string;
  beforeAll(async () => {
    modelDir = writeModelFolder(models, brightManifest('bright'));
    await writePng(png, greyImage(), W, H, 1);
  });
  afterAll(() => t.cleanup());

  it('writes every result file with exact instances', async () => {
    const out = path.join(t.dir, 'out');
    const stages = new Set<string>();
    const { outcome, files } = await segmentToFolder(png, out, { model: modelDir, device: 'cpu', threads: 2, batch: 4, overlap: 0.5 }, (p) => stages.add(p.stage));
    expect(files.map((f) => path.basename(f)).sort()).toEqual(['instances.json', 'instances.tif', 'labels.tif', 'measurements.csv', 'overlay.png']);
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]); // no temporaries left
    expect([...stages]).toEqual(expect.arrayContaining(['reading', 'inference', 'postprocess', 'done', 'writing']));

    const doc = JSON.parse(readFileSync(path.join(out, 'instances.json'), 'utf8')) as InstancesDocument;
    expect(validateJson(schema, doc)).toEqual([]);
    expect(doc.source).toMatchObject({ kind: 'image', width: W, height: H, depth: 1 });
    expect(doc.model).toEqual({ id: 'bright', name: 'Bright spots', version: '1.0.0' });
    expect(doc.inference).toMatchObject({ device: 'cpu', tileSize: [64, 64], overlap: 0.5, batch: 4 });
    expect(doc.inference!.tiles).toBe(6 * 4);
    expect(doc.instances.map((i) => [i.pixelCount, i.bbox.min, i.bbox.max])).toEqual(SQUARES.map(([x, y, s]) => [s * s, [x, y], [x + s - 1, y + s - 1]]));
    expect(doc.instances[0]!.centroidPx).toEqual([19.5, 19.5]);
    expect(doc.instances[0]!.areaPx).toBe(400);
    expect(doc.instances[0]!.meanIntensity).toBe(220);
    expect(doc.instances[0]!.meanProbability as number).toBeGreaterThan(0.99);
    const total = SQUARES.reduce((n, [, , s]) => n + s * s, 0);
    expect(doc.classes).toEqual([expect.objectContaining({ id: 1, name: 'bright', color: '#ff0000', instanceCount: 3, pixelCount: total, areaPx: total, fraction: total / (W * H) })]);
    expect(outcome.overlay.width).toBe(W);
    expect(outcome.overlay.rgba.length).toBe(W * H * 4);

    // Rasters read back through the IO layer: labels and instance ids exactly as computed.
    const labels = await openImage(path.join(out, 'labels.tif'));
    const lb = await labels.read();
    await labels.close();
    expect(lb.dtype).toBe('uint8');
    expect(Array.from(lb.data)).toEqual(Array.from(outcome.rasters!.labels));
    const inst = await openImage(path.join(out, 'instances.tif'));
    const ib = await inst.read();
    await inst.close();
    expect(ib.dtype).toBe('uint16');
    expect(ib.data[15 * W + 15]).toBe(1);
    expect(ib.data[125 * W + 195]).toBe(3);

    const csv = readFileSync(path.join(out, 'measurements.csv'), 'utf8').split('\r\n');
    expect(csv[0]).toBe('id,classId,className,pixelCount,bboxMinX,bboxMinY,bboxMaxX,bboxMaxY,centroidPxX,centroidPxY,areaPx,meanProbability,meanIntensity,sdIntensity,minIntensity,maxIntensity,perimeterPx,maxFeretPx,longAxisPx,longAxisEndsPx,shortAxisPx,shortAxisEndsPx');
    expect(csv[1]!.startsWith('1,1,bright,400,10,10,29,29,19.5,19.5,400,')).toBe(true);
    expect(csv).toHaveLength(5); // header, 3 rows, final CRLF

    const meta = await sharp(path.join(out, 'overlay.png')).metadata();
    expect([meta.width, meta.height, meta.channels]).toEqual([W, H, 3]);
    const { data } = await sharp(path.join(out, 'overlay.png')).raw().toBuffer({ resolveWithObject: true });
    expect([...data.subarray((10 * W + 10) * 3, (10 * W + 10) * 3 + 3)]).toEqual([255, 0, 0]); // outline: class colour
    expect([...data.subarray((15 * W + 15) * 3, (15 * W + 15) * 3 + 3)]).toEqual([238, 110, 110]); // fill: 50% of 220 grey and red
  });

  it('cancel mid-run throws AbortError and writes nothing', async () => {
    const out = path.join(t.dir, 'cancelled');
    const controller = new AbortController();
    const run = segmentToFolder(png, out, { model: modelDir, device: 'cpu' }, (p) => p.stage === 'inference' && p.done >= 2 && controller.abort(), controller.signal);
    await expect(run).rejects.toBeInstanceOf(AbortError);
    expect(existsSync(out)).toBe(false);
  });

  it('a cancel that arrives while post-processing runs still discards the run', async () => {
    // Post-processing runs in one synchronous piece; the cancel lands when it starts, as a queued message would.
    // segmentImage is what the app's engine host runs: it must not hand back a result the user cancelled.
    const controller = new AbortController();
    const src = await openImage(png);
    try {
      const run = segmentImage(src, { model: modelDir, device: 'cpu' }, (p) => p.stage === 'postprocess' && controller.abort(), controller.signal);
      await expect(run).rejects.toBeInstanceOf(AbortError);
    } finally {
      await src.close();
    }
  });

  it('a corrupt model is refused before the runtime is asked to load it', async () => {
    const bad = path.join(t.dir, 'bad.onnx');
    writeFileSync(bad, 'PK\u0003\u0004 definitely not onnx');
    writeFileSync(path.join(t.dir, 'manifest.json'), JSON.stringify({ ...brightManifest('badmodel'), file: 'bad.onnx' }));
    let created = 0;
    const runtime: ModelRuntime = {
      createSession: async () => {
        created++;
        throw new Error('should not be reached');
      },
    };
    await expect(segmentToFolder(png, path.join(t.dir, 'o2'), { model: bad, runtime }, () => undefined)).rejects.toThrow(/bad\.onnx: not a valid ONNX model/);
    expect(created).toBe(0);
  });

  it('refuses a model whose channel count does not fit the image', async () => {
    const rgbDir = writeModelFolder(models, { ...brightManifest('rgb'), input: { channels: ['R', 'G', 'B'] }, normalization: { type: 'fixed', mean: [0], std: [255] } }, { inChannels: 3, weights: [[0, 0, 0], [1, 1, 1]], activation: 'softmax' });
    await expect(segmentToFolder(png, path.join(t.dir, 'o3'), { model: rgbDir }, () => undefined)).rejects.toThrow(/scan\.png: model "rgb" needs 3 channels \(R, G, B\); the image has 1/);
  });

  it('the engine service segment returns the document and an overlay <= 1024 px', async () => {
    process.env.DELINEATE_MODELS_DIR = models;
    try {
      const r = await segmentFile(png, { modelId: 'bright', device: 'cpu' }, () => undefined, new AbortController().signal);
      expect(r.document.instances).toHaveLength(3);
      expect(r.overlay!.scale).toBe(1);
    } finally {
      delete process.env.DELINEATE_MODELS_DIR;
    }
  });
});

describe('medical volume', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());
  const spacingMm: [number, number, number] = [0.8, 0.6, 2.5];
  const geometry = { type: 'medical' as const, spacingMm, originMm: [0, 0, 0] as [number, number, number], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };

  it('segments slice by slice, writes NIfTI, and gives mL = count x voxel volume / 1000', async () => {
    const w = 40;
    const h = 30;
    const d = 4;
    const data = new Int16Array(w * h * d).fill(10);
    let count = 0;
    for (let z = 1; z < 3; z++) for (let y = 5; y < 12; y++) for (let x = 8; x < 20; x++) {
      data[z * w * h + y * w + x] = 300;
      count++;
    }
    const vol = path.join(t.dir, 'ct.nii.gz');
    await writeNifti(vol, { data, width: w, height: h, depth: d, channels: 1, geometry });
    const modelDir = writeModelFolder(path.join(t.dir, 'models'), { ...brightManifest('ct'), kinds: ['medical'] });
    const out = path.join(t.dir, 'out');
    const { outcome, files } = await segmentToFolder(vol, out, { model: modelDir, device: 'cpu' }, () => undefined);
    expect(files.map((f) => path.basename(f)).sort()).toEqual(['instances.json', 'instances.nii.gz', 'labels.nii.gz', 'measurements.csv', 'overlay.png']);
    const doc = outcome.document;
    expect(doc.instances).toHaveLength(1);
    expect(doc.instances[0]!.pixelCount).toBe(count);
    // NIfTI stores spacing as float32: exact against the spacing the file holds, close to the nominal one.
    const [sx, sy, sz] = doc.source.spacingMm!;
    expect(doc.instances[0]!.volumeMl).toBe((count * sx * sy * sz) / 1000);
    expect(doc.instances[0]!.volumeMl as number).toBeCloseTo((count * 0.8 * 0.6 * 2.5) / 1000, 6);
    expect(doc.instances[0]!.bbox).toEqual({ min: [8, 5, 1], max: [19, 11, 2] });
    doc.source.spacingMm!.forEach((v, i) => expect(v).toBeCloseTo(spacingMm[i]!, 6));
    expect(doc.inference!.tiles).toBe(d); // 40x30 fits one 64x64 tile per slice
    const labels = await openImage(path.join(out, 'labels.nii.gz'));
    expect([labels.width, labels.height, labels.depth]).toEqual([w, h, d]);
    await labels.close();

    // measure on the written label map reproduces the numbers, with intensities.
    const m = await measureFiles(vol, path.join(out, 'labels.nii.gz'), path.join(t.dir, 'measured'), { classes: [{ name: 'lesion', color: '#00ff00' }] });
    expect(m.document.instances[0]).toMatchObject({ className: 'lesion', pixelCount: count, volumeMl: (count * sx * sy * sz) / 1000, meanIntensity: 300, sdIntensity: 0 });
    expect(validateJson(schema, m.document)).toEqual([]);
    // min-size in mm3 above the lesion's volume removes it.
    const none = await measureFiles(vol, path.join(out, 'labels.nii.gz'), path.join(t.dir, 'measured2'), { minSize: count * 0.8 * 0.6 * 2.5 + 1 });
    expect(none.document.instances).toHaveLength(0);
  });
});

describe('csv', () => {
  it('quotes per RFC 4180 and flattens arrays', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(measurementsCsv([{ id: 1, classId: 1, className: 'x, y', pixelCount: 2, bbox: { min: [0, 0, 0], max: [1, 0, 0] }, centroidPx: [0.5, 0, 0] }])).toBe(
      'id,classId,className,pixelCount,bboxMinX,bboxMinY,bboxMinZ,bboxMaxX,bboxMaxY,bboxMaxZ,centroidPxX,centroidPxY,centroidPxZ\r\n1,1,"x, y",2,0,0,0,1,0,0,0.5,0,0\r\n',
    );
  });
});
