// Size ranges and probability calibration (issue 22): the temperature/bias map, the threshold that keeps the labels,
// the alternative class per pixel, sizeRangesPx on hand-made maps, and a run of a tiny real model whose manifest
// carries a calibration block (instances.json valid against the schema, ranges in the CSV).
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { applyCalibration, calibratedOutputs, calibrateSigmoid, PowerTable } from '../../main/engine/inference/calibration';
import { validateManifest } from '../../main/engine/inference/manifest';
import { probabilitiesToLabels } from '../../main/engine/postprocess/labels';
import { addSizeRanges, sizeRangesPx, type SizeRangeInput } from '../../main/engine/measure/ranges';
import { measurementsCsv } from '../../main/engine/export/results';
import { segmentImage } from '../../main/engine/pipeline';
import { openImage } from '../../main/engine/io';
import { writePng } from '../../main/engine/io/png';
import type { ClassRecord, InstanceRecord } from '../../preload/formats';
import { validateJson } from '../fixtures/json-schema-lite';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';

const schema = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'preload', 'instances.schema.json'), 'utf8')) as Record<string, unknown>;

describe('calibration', () => {
  it('sigmoid: p -> sigmoid(logit(p) / T + bias)', () => {
    expect(calibrateSigmoid(0.5, { temperature: 2, bias: 0 })).toBeCloseTo(0.5, 12);
    expect(calibrateSigmoid(0.9, { temperature: 2, bias: 0 })).toBeCloseTo(0.75, 10);
    expect(calibrateSigmoid(0.5, { temperature: 1, bias: Math.log(3) })).toBeCloseTo(0.75, 10);
  });

  it('softmax: the channels stay a distribution, argmax stays, T > 1 flattens and T < 1 sharpens', () => {
    const P = 2;
    const probs = Float32Array.from([0.7, 0.2, 0.2, 0.5, 0.1, 0.3]); // 3 channels x 2 pixels
    const flat = Float32Array.from(probs);
    applyCalibration(flat, 3, P, { type: 'softmax', backgroundChannel: true }, 2, { temperature: 2, bias: 0 });
    const sharp = Float32Array.from(probs);
    applyCalibration(sharp, 3, P, { type: 'softmax', backgroundChannel: true }, 2, { temperature: 0.5, bias: 0 });
    for (let i = 0; i < P; i++) {
      expect(flat[i]! + flat[P + i]! + flat[2 * P + i]!).toBeCloseTo(1, 6);
      expect(sharp[i]! + sharp[P + i]! + sharp[2 * P + i]!).toBeCloseTo(1, 6);
    }
    // Pixel 0: background 0.7 -> 0.7^0.5 / (0.7^0.5 + 0.2^0.5 + 0.1^0.5)
    const z = Math.sqrt(0.7) + Math.sqrt(0.2) + Math.sqrt(0.1);
    expect(flat[0]).toBeCloseTo(Math.sqrt(0.7) / z, 6);
    expect(flat[0]!).toBeLessThan(0.7);
    expect(sharp[0]!).toBeGreaterThan(0.7);
    expect(sharp[P + 1]!).toBeGreaterThan(sharp[2 * P + 1]!);
  });

  it('softmax calibration by table agrees with exp(log p / T) normalised, to a float32 step', () => {
    expect(PowerTable.suits(1 / 0.2)).toBe(false); // a temperature under 0.25 takes exp(log p / T)
    for (const e of [1 / 0.816, 0.5, 2, 1 / 3.7, 4]) {
      const table = new PowerTable(e);
      const f = new Float32Array(1);
      const bits = new Int32Array(f.buffer);
      let worst = 0;
      for (const x of [1e-7, 1e-6, 0.001, 0.25, 0.5, 0.999999, 1, ...Array.from({ length: 5000 }, (_, i) => Math.exp(-16 * ((i * 0.618034) % 1)))]) {
        f[0] = x;
        const exact = Math.pow(f[0]!, e);
        worst = Math.max(worst, Math.abs(table.at(bits[0]!) - exact) / exact);
      }
      expect(worst, `x^${e}`).toBeLessThan(6e-9);
      // Below P_EPS (and negative or -0) counts as P_EPS.
      f[0] = 1e-9;
      const lo = table.at(bits[0]!);
      f[0] = -0;
      expect(table.at(bits[0]!)).toBe(lo);
      f[0] = 1e-7;
      expect(lo).toBe(table.at(bits[0]!));
    }
    const P = 4096;
    const K = 6;
    const probs = new Float32Array(K * P);
    let seed = 7;
    for (let i = 0; i < P; i++) {
      let sum = 0;
      const v: number[] = [];
      for (let k = 0; k < K; k++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        v.push((seed / 2 ** 32) ** 6);
        sum += v[k]!;
      }
      for (let k = 0; k < K; k++) probs[k * P + i] = v[k]! / sum;
    }
    const T = 0.816;
    const got = Float32Array.from(probs);
    applyCalibration(got, K, P, { type: 'softmax', backgroundChannel: false, classChannels: [0, 1, 2, 3, 4, 5] }, K, { temperature: T, bias: 0 });
    let worst = 0;
    for (let i = 0; i < P; i++) {
      const logs = Array.from({ length: K }, (_, k) => Math.log(Math.max(1e-7, probs[k * P + i]!)) / T);
      const max = Math.max(...logs);
      const z = logs.reduce((a, l) => a + Math.exp(l - max), 0);
      for (let k = 0; k < K; k++) {
        const exact = Math.fround(Math.exp(logs[k]! - max) / z);
        worst = Math.max(worst, Math.abs(got[k * P + i]! - exact) / Math.max(exact, 1e-30));
      }
    }
    expect(worst).toBeLessThan(2.4e-7); // two float32 steps
  });

  it('a sigmoid threshold moves with the calibration, so every pixel keeps its label', () => {
    const P = 500;
    const probs = Float32Array.from({ length: P }, (_, i) => (i + 0.5) / P);
    const outputs = { type: 'sigmoid' as const, threshold: 0.3 };
    const before = probabilitiesToLabels(probs, 1, P, outputs, 1).labels;
    const cal = { temperature: 2.4, bias: -0.5 };
    const calibrated = Float32Array.from(probs);
    applyCalibration(calibrated, 1, P, outputs, 1, cal);
    const after = probabilitiesToLabels(calibrated, 1, P, calibratedOutputs(outputs, cal), 1).labels;
    expect(Array.from(after)).toEqual(Array.from(before));
    // ... while the uncalibrated threshold on calibrated probabilities would not.
    expect(Array.from(probabilitiesToLabels(calibrated, 1, P, outputs, 1).labels)).not.toEqual(Array.from(before));
  });

  it('a curve maps linearly between its points, keeps the labels under a moved threshold, and must increase strictly', () => {
    const cal = { temperature: 1, bias: 0, curve: { p: [0, 0.5, 1], calibrated: [0.1, 0.3, 0.9] } };
    expect(calibrateSigmoid(0.25, cal)).toBeCloseTo(0.2, 9);
    expect(calibrateSigmoid(0.75, cal)).toBeCloseTo(0.6, 9);
    const P = 300;
    const probs = Float32Array.from({ length: P }, (_, i) => (i + 0.5) / P);
    const outputs = { type: 'sigmoid' as const, threshold: 0.5 };
    const calibrated = Float32Array.from(probs);
    applyCalibration(calibrated, 1, P, outputs, 1, cal);
    expect(Array.from(probabilitiesToLabels(calibrated, 1, P, calibratedOutputs(outputs, cal), 1).labels)).toEqual(Array.from(probabilitiesToLabels(probs, 1, P, outputs, 1).labels));
    const m = { ...brightManifest(), calibration: { temperature: 1, fittedOn: 'validation', curve: { p: [0, 0.5, 1], calibrated: [0.1, 0.3, 0.3] } } };
    expect(() => validateManifest(m, 'm.json')).toThrow(/calibration\.curve" must increase strictly/);
  });

  it('the manifest block is validated: a temperature must be positive, thresholds within 0..1', () => {
    const base = { ...brightManifest(), calibration: { temperature: 1.5, fittedOn: 'validation', sizeRange: { innerThreshold: 0.9, outerThreshold: 0.3 } } };
    expect(validateManifest(base, 'm.json').calibration?.sizeRange?.innerThreshold).toBe(0.9);
    expect(() => validateManifest({ ...base, calibration: { temperature: 0, fittedOn: 'validation' } }, 'm.json')).toThrow(/calibration\.temperature/);
    expect(() => validateManifest({ ...base, calibration: { temperature: 1, fittedOn: 'test' } }, 'm.json')).toThrow(/calibration\.fittedOn/);
    expect(() => validateManifest({ ...base, calibration: { temperature: 1, fittedOn: 'validation', sizeRange: { innerThreshold: 1.2, outerThreshold: 0.3 } } }, 'm.json')).toThrow(/innerThreshold/);
  });
});

describe('alternative class', () => {
  it('sigmoid: a no-class pixel names the class; a class pixel has none', () => {
    const r = probabilitiesToLabels(Float32Array.from([0.3, 0.8]), 1, 2, { type: 'sigmoid', threshold: 0.5 }, 1);
    expect(Array.from(r.labels)).toEqual([0, 1]);
    expect(Array.from(r.altLabels)).toEqual([1, 0]);
    expect(r.altProbability[0]).toBeCloseTo(0.3, 6);
  });

  it('softmax: the next class after the chosen one, background left out', () => {
    // channels: background, a, b; pixel 0 -> background (a next), pixel 1 -> a (b next)
    const r = probabilitiesToLabels(Float32Array.from([0.5, 0.1, 0.3, 0.6, 0.2, 0.3]), 3, 2, { type: 'softmax', backgroundChannel: true }, 2);
    expect(Array.from(r.labels)).toEqual([0, 1]);
    expect(Array.from(r.altLabels)).toEqual([1, 2]);
    expect(r.altProbability[0]).toBeCloseTo(0.3, 6);
    expect(r.altProbability[1]).toBeCloseTo(0.3, 6);
  });
});

/** A W x H plane: instance map, labels and probabilities from a painter. */
function plane(W: number, H: number, paint: (x: number, y: number) => { id: number; cls: number; p: number; alt?: number; altP?: number }): SizeRangeInput {
  const P = W * H;
  const input: SizeRangeInput = {
    instances: new Uint32Array(P),
    instanceClass: [],
    probability: new Float32Array(P),
    assignedLabels: new Uint8Array(P),
    altLabels: new Uint8Array(P),
    altProbability: new Float32Array(P),
    width: W,
    height: H,
    depth: 1,
    connectivity: 8,
    innerThreshold: 0.9,
    outerThreshold: 0.3,
    classCount: 2,
  };
  const classes: number[] = [];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const v = paint(x, y);
      input.instances[i] = v.id;
      input.assignedLabels[i] = v.cls;
      input.probability[i] = v.p;
      input.altLabels[i] = v.alt ?? 0;
      input.altProbability[i] = v.altP ?? 0;
      if (v.id) classes[v.id - 1] = v.cls;
    }
  }
  return { ...input, instanceClass: classes };
}

describe('sizeRangesPx', () => {
  // Object 1 (class 1): a 6x6 square at (2..7, 2..7), sure inside (0.99), its outer ring hesitant (0.6).
  // A ring of 0.4 around it (connected), a separate 2x2 patch of 0.4 at (16..17, 2..3) and, touching the ring,
  // object 2 of the same class at (10..11, 2..7): its pixels never count for object 1.
  const W = 20;
  const H = 12;
  const input = plane(W, H, (x, y) => {
    if (x >= 2 && x <= 7 && y >= 2 && y <= 7) return { id: 1, cls: 1, p: x === 2 || x === 7 || y === 2 || y === 7 ? 0.6 : 0.99 };
    if (x >= 10 && x <= 11 && y >= 2 && y <= 7) return { id: 2, cls: 1, p: 0.95 };
    if ((x === 1 || x === 8 || y === 1 || y === 8) && x >= 1 && x <= 8 && y >= 1 && y <= 8) return { id: 0, cls: 0, p: 0.6, alt: 1, altP: 0.4 };
    if (x === 9 && y >= 2 && y <= 7) return { id: 0, cls: 0, p: 0.9, alt: 1, altP: 0.05 };
    if (x >= 16 && x <= 17 && y >= 2 && y <= 3) return { id: 0, cls: 0, p: 0.6, alt: 1, altP: 0.4 };
    return { id: 0, cls: 0, p: 0.99, alt: 1, altP: 0.01 };
  });

  it('low = sure pixels of the object; high = the object and the connected hesitant pixels; class high counts them anywhere', () => {
    const r = sizeRangesPx(input);
    expect(r.lowPx).toEqual([16, 12]);
    expect(r.highPx).toEqual([36 + 28, 12]);
    // class 1: both objects (36 + 12) + the ring (28) + the separate patch (4)
    expect(r.classHighPx[1]).toBe(36 + 12 + 28 + 4);
  });

  it('the width follows the probabilities: a surer outline gives a narrower range', () => {
    const near = (a: number, b: number): boolean => Math.abs(a - b) < 1e-6;
    const sure = { ...input, probability: Float32Array.from(input.probability, (p) => (near(p, 0.6) ? 0.97 : p)), altProbability: Float32Array.from(input.altProbability, (p) => (near(p, 0.4) ? 0.1 : p)) };
    const r = sizeRangesPx(sure);
    expect(r.lowPx[0]).toBe(36);
    expect(r.highPx[0]).toBe(36);
  });

  it('pixels the clean-up removed (their own label was the class) grow the object when connected', () => {
    const removed = { ...input, assignedLabels: Uint8Array.from(input.assignedLabels), probability: Float32Array.from(input.probability) };
    // The ring pixels were class 1 at p 0.45 before a filter cleared them: they count through assignedLabels.
    for (let i = 0; i < W * H; i++) {
      if (Math.abs(input.altProbability[i]! - 0.4) < 1e-6) {
        removed.assignedLabels[i] = 1;
        removed.probability[i] = 0.45;
        removed.altProbability[i] = 0;
        removed.altLabels[i] = 0;
      }
    }
    expect(sizeRangesPx(removed).highPx[0]).toBe(36 + 28);
  });

  it('3D: growth crosses slices with 26-connectivity', () => {
    const P = 5 * 5;
    const instances = new Uint32Array(P * 3);
    instances[12] = 1; // centre of slice 0
    const altLabels = new Uint8Array(P * 3);
    const altProbability = new Float32Array(P * 3);
    altLabels[P + 18] = 1; // slice 1, diagonal neighbour
    altProbability[P + 18] = 0.5;
    altLabels[2 * P + 24] = 1; // slice 2, diagonal of that
    altProbability[2 * P + 24] = 0.5;
    const r = sizeRangesPx({ instances, instanceClass: [1], probability: Float32Array.from(instances, (v) => (v ? 0.95 : 0)), assignedLabels: Uint8Array.from(instances), altLabels, altProbability, width: 5, height: 5, depth: 3, connectivity: 26, innerThreshold: 0.9, outerThreshold: 0.3, classCount: 1 });
    expect(r.highPx).toEqual([3]);
    expect(sizeRangesPx({ instances, instanceClass: [1], probability: Float32Array.from(instances, (v) => (v ? 0.95 : 0)), assignedLabels: Uint8Array.from(instances), altLabels, altProbability, width: 5, height: 5, depth: 3, connectivity: 6, innerThreshold: 0.9, outerThreshold: 0.3, classCount: 1 }).highPx).toEqual([1]);
  });

  it('addSizeRanges scales every size field by low / pixelCount and high / pixelCount', () => {
    const inst: InstanceRecord[] = [{ id: 1, classId: 1, className: 'a', pixelCount: 10, bbox: { min: [0, 0, 0], max: [1, 1, 1] }, centroidPx: [0, 0, 0], volumeMl: 2, volumeMm3: 2000 }];
    const classes: ClassRecord[] = [
      { id: 1, name: 'a', color: '#000000', instanceCount: 1, pixelCount: 10, fraction: 0.1, volumeMl: 2 },
      { id: 2, name: 'b', color: '#000000', instanceCount: 0, pixelCount: 0, fraction: 0, volumeMl: 0 },
    ];
    const out = addSizeRanges(inst, classes, { lowPx: [8], highPx: [15], classHighPx: [0, 20, 5] });
    expect(out.instances[0]!.volumeMlRange).toEqual([1.6, 3]);
    expect(out.instances[0]!.pixelCountRange).toEqual([8, 15]);
    expect(out.classes[0]!.volumeMlRange).toEqual([1.6, 4]);
    // An empty class takes the image's voxel volume: 5 voxels of 0.2 mL.
    expect(out.classes[1]!.volumeMlRange).toEqual([0, 1]);
  });
});

describe('a run with a calibrated manifest', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  it('gives every instance and class a range, valid against the schema, with Low/High columns in the CSV', async () => {
    // BRIGHT_MODEL: p(bright) = sigmoid(20 v / 255 - 10). A 10x10 square of 220 whose border pixels are 135
    // (p 0.64, T 2: 0.57, still bright), a 1-px ring of 120 around it (p 0.36 -> 0.43) and a separate 3x3 patch of 120.
    const W = 64;
    const H = 48;
    const img = new Uint8Array(W * H).fill(0);
    for (let y = 9; y <= 20; y++) for (let x = 9; x <= 20; x++) img[y * W + x] = 120;
    for (let y = 10; y <= 19; y++) for (let x = 10; x <= 19; x++) img[y * W + x] = x === 10 || x === 19 || y === 10 || y === 19 ? 135 : 220;
    for (let y = 30; y < 33; y++) for (let x = 40; x < 43; x++) img[y * W + x] = 120;
    const png = path.join(t.dir, 'spots.png');
    await writePng(png, img, W, H, 1);
    const modelDir = writeModelFolder(path.join(t.dir, 'models'), { ...brightManifest('calibrated'), calibration: { temperature: 2, fittedOn: 'validation', sizeRange: { innerThreshold: 0.9, outerThreshold: 0.4 } } });
    const src = await openImage(png);
    try {
      const out = await segmentImage(src, { model: modelDir, device: 'cpu' }, () => undefined);
      const doc = out.document;
      expect(doc.instances).toHaveLength(1);
      const rec = doc.instances[0]!;
      expect(rec.pixelCount).toBe(100);
      expect(rec.areaPxRange).toEqual([64, 144]);
      expect(doc.classes[0]!.areaPxRange).toEqual([64, 153]);
      expect(doc.inference?.calibration).toEqual({ temperature: 2, bias: 0 });
      // Calibrated probabilities: the inside's 0.9993 becomes about 0.974.
      expect(Number(rec.meanProbability)).toBeLessThan(0.96);
      expect(validateJson(schema, JSON.parse(JSON.stringify(doc)))).toEqual([]);
      const header = measurementsCsv(doc.instances).split('\r\n')[0]!.split(',');
      expect(header).toContain('areaPxLow');
      expect(header).toContain('areaPxHigh');
      // classScope 'objects': the class total's high grows only from its objects (the separate patch stays out).
      const objectsDir = writeModelFolder(path.join(t.dir, 'models2'), { ...brightManifest('objects'), calibration: { temperature: 2, fittedOn: 'validation', sizeRange: { innerThreshold: 0.9, outerThreshold: 0.4, classScope: 'objects' } } });
      const scoped = await segmentImage(src, { model: objectsDir, device: 'cpu' }, () => undefined);
      expect(scoped.document.classes[0]!.areaPxRange).toEqual([64, 144]);
      // Without the calibration: no ranges (their thresholds belong to the calibrated probabilities).
      const raw = await segmentImage(src, { model: modelDir, device: 'cpu', calibration: false }, () => undefined);
      expect(raw.document.instances[0]!.areaPxRange).toBeUndefined();
      expect(Number(raw.document.instances[0]!.meanProbability)).toBeGreaterThan(Number(rec.meanProbability));
    } finally {
      await src.close();
    }
  });
});
