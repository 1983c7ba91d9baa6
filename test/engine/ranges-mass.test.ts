// The probability-mass size range (measure/ranges.ts) and the validation choice of a range (scripts/range-fit.ts):
// the width follows the image (a sharp and a blurred probability map of the same disc), the true size of a
// generated case falls inside, the fit's objects give the ranges the app gives, and the choice is the narrowest
// that reaches the coverage target.
import { afterAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { validateManifest } from '../../main/engine/inference/manifest';
import { openImage } from '../../main/engine/io';
import { writePng } from '../../main/engine/io/png';
import { segmentImage } from '../../main/engine/pipeline';
import { rangesFromPixels, sizeRangesPx, type RangePixels, type SizeRangeInput, type SizeRangeParams } from '../../main/engine/measure/ranges';
import { chooseRange, figuresOf, fixedBandWidth, isRangeCase, OUTER_GRID, rangeFigures, rangeOf, type RangeObject } from '../../scripts/range-fit';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';

/**
 * A disc of radius R (pixels) at the centre of a W x W plane, seen through a probability map that falls from 1 to 0
 * across its edge over about `blurPx` pixels: p = sigmoid((R - r) / blurPx). Labels: p >= 0.5 (one instance).
 */
function disc(W: number, R: number, blurPx: number): { input: SizeRangeInput; truePx: number } {
  const P = W * W;
  const input: SizeRangeInput = {
    instances: new Uint32Array(P),
    instanceClass: [1],
    probability: new Float32Array(P),
    assignedLabels: new Uint8Array(P),
    altLabels: new Uint8Array(P),
    altProbability: new Float32Array(P),
    width: W,
    height: W,
    depth: 1,
    connectivity: 8,
    innerThreshold: 0.9,
    outerThreshold: 0.05,
    classCount: 1,
  };
  let truePx = 0;
  const c = (W - 1) / 2;
  for (let y = 0; y < W; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const r = Math.hypot(x - c, y - c);
      if (r < R) truePx++;
      const p = 1 / (1 + Math.exp(-(R - r) / blurPx));
      if (p >= 0.5) {
        input.instances[i] = 1;
        input.assignedLabels[i] = 1;
        input.probability[i] = p;
      } else {
        // No class here; the class is the most probable other one.
        input.probability[i] = 1 - p;
        input.altLabels[i] = 1;
        input.altProbability[i] = p;
      }
    }
  }
  return { input, truePx };
}

const MASS: SizeRangeParams = { method: 'probabilityMass', lowScale: 1, highScale: 1, outerThreshold: 0.05 };

describe('probability-mass range', () => {
  it('a blurred outline gives a wider range than a sharp one of the same disc, and both hold the true size', () => {
    const sharp = disc(64, 15, 0.4);
    const blurry = disc(64, 15, 2.5);
    const rs = rangesFromPixels(sizeRangesPx(sharp.input), MASS);
    const rb = rangesFromPixels(sizeRangesPx(blurry.input), MASS);
    const widthSharp = rs.highPx[0]! - rs.lowPx[0]!;
    const widthBlurry = rb.highPx[0]! - rb.lowPx[0]!;
    expect(widthBlurry).toBeGreaterThan(4 * widthSharp);
    for (const [r, t] of [[rs, sharp.truePx], [rb, blurry.truePx]] as const) {
      expect(r.lowPx[0]!).toBeLessThanOrEqual(t);
      expect(r.highPx[0]!).toBeGreaterThanOrEqual(t);
    }
    // The same holds for the threshold definition: it too follows the map, not the size.
    const th: SizeRangeParams = { method: 'thresholds', innerThreshold: 0.9, outerThreshold: 0.05 };
    const ts = rangesFromPixels(sizeRangesPx(sharp.input), th);
    const tb = rangesFromPixels(sizeRangesPx(blurry.input), th);
    expect(tb.highPx[0]! - tb.lowPx[0]!).toBeGreaterThan(2 * (ts.highPx[0]! - ts.lowPx[0]!));
  });

  it('low = n - lowScale x sum(1 - p) inside, high = n + highScale x sum(p) around, rounded outwards; the scales widen it', () => {
    const { input } = disc(40, 8, 1.5);
    const px = sizeRangesPx(input);
    let n = 0;
    let doubt = 0;
    let around = 0;
    for (let i = 0; i < input.instances.length; i++) {
      if (input.instances[i]) {
        n++;
        doubt += 1 - input.probability[i]!;
      } else if (input.altProbability[i]! >= MASS.outerThreshold) around += input.altProbability[i]!;
    }
    expect(px.sizePx[0]).toBe(n);
    expect(px.doubtPx[0]).toBeCloseTo(doubt, 3);
    // Every hesitant pixel here touches the disc through such pixels, so the growth reaches them all.
    expect(px.grownMassPx[0]).toBeCloseTo(around, 3);
    const r1 = rangesFromPixels(px, MASS);
    expect(r1.lowPx[0]).toBe(Math.floor(n - doubt + 1e-9));
    expect(r1.highPx[0]).toBe(Math.ceil(n + around - 1e-9));
    const r3 = rangesFromPixels(px, { ...MASS, lowScale: 3, highScale: 3 });
    expect(r3.lowPx[0]!).toBeLessThan(r1.lowPx[0]!);
    expect(r3.highPx[0]!).toBeGreaterThan(r1.highPx[0]!);
    // Class total over the image: its pixels + highScale x the class's probability outside it (the same pixels here).
    expect(r1.classHighPx?.[1]).toBe(Math.ceil(n + around - 1e-9));
    // classScope 'objects': no class-total high of its own (the sum of the instances' highs is used).
    expect(rangesFromPixels(px, { ...MASS, classScope: 'objects' }).classHighPx).toBeUndefined();
    // A huge low scale floors the low at 0, never below.
    expect(rangesFromPixels(px, { ...MASS, lowScale: 1000 }).lowPx[0]).toBe(0);
  });

  it('the manifest names its method; each method needs its own parameters', () => {
    const cal = (sizeRange: Record<string, unknown>): unknown => ({ ...brightManifest(), calibration: { temperature: 1, fittedOn: 'validation', sizeRange } });
    const ok = validateManifest(cal({ method: 'probabilityMass', lowScale: 1.5, highScale: 6, outerThreshold: 0.2, classScope: 'objects' }), 'm.json');
    expect(ok.calibration?.sizeRange).toMatchObject({ method: 'probabilityMass', lowScale: 1.5, highScale: 6, outerThreshold: 0.2, classScope: 'objects' });
    expect(validateManifest(cal({ innerThreshold: 0.9, outerThreshold: 0.3 }), 'm.json').calibration?.sizeRange?.method).toBe('thresholds');
    expect(() => validateManifest(cal({ method: 'probabilityMass', lowScale: 1, outerThreshold: 0.2 }), 'm.json')).toThrow(/highScale/);
    expect(() => validateManifest(cal({ method: 'probabilityMass', lowScale: -1, highScale: 1, outerThreshold: 0.2 }), 'm.json')).toThrow(/lowScale/);
    expect(() => validateManifest(cal({ method: 'band', outerThreshold: 0.2 }), 'm.json')).toThrow(/method/);
  });
});

/** The fit's object for instance 1 of a plane, built as calibration-fit.ts builds it. */
function fitObject(input: SizeRangeInput, truePx: number): RangeObject {
  const grownAt: RangePixels[] = OUTER_GRID.map((t) => sizeRangesPx({ ...input, innerThreshold: 1, outerThreshold: t }));
  const g0 = grownAt[0]!;
  const size = g0.sizePx[0]!;
  return {
    truePx,
    sizePx: size,
    lowPx: [0],
    parts: [{ sizePx: size, doubtPx: g0.doubtPx[0]!, grownPx: grownAt.map((g) => g.highPx[0]! - size), grownMassPx: grownAt.map((g) => g.grownMassPx[0]!) }],
    imagePx: grownAt.map((g) => g.classHighPx[1]! - size),
    imageMassPx: grownAt.map((g) => g.classMassPx[1]!),
  };
}

/** An object with one part whose errors are set by hand: doubt d inside, mass m around (at every outer threshold). */
function handObject(truePx: number, sizePx: number, doubtPx: number, massPx: number): RangeObject {
  const k = OUTER_GRID.length;
  return {
    truePx,
    sizePx,
    lowPx: new Array<number>(18).fill(0),
    parts: [{ sizePx, doubtPx, grownPx: new Array<number>(k).fill(sizePx * 10), grownMassPx: new Array<number>(k).fill(massPx) }],
  };
}

describe('range fit (scripts/range-fit.ts)', () => {
  it('the fit sees the ranges the app computes (same definition, same rounding)', () => {
    const { input, truePx } = disc(48, 10, 1.8);
    const o = fitObject(input, truePx);
    for (const outerThreshold of [0.05, 0.2, 0.4]) {
      for (const [lowScale, highScale] of [[0.5, 1], [2, 7.5]] as const) {
        for (const classScope of ['image', 'objects'] as const) {
          const params = { method: 'probabilityMass' as const, lowScale, highScale, outerThreshold, classScope };
          const app = rangesFromPixels(sizeRangesPx({ ...input, outerThreshold }), params);
          const fit = rangeOf(o, params);
          expect(fit.lowPx).toBe(app.lowPx[0]);
          expect(fit.highPx).toBe(classScope === 'image' ? app.classHighPx![1] : app.highPx[0]);
        }
      }
    }
  });

  it('chooses the narrowest range whose coverage reaches the target, and says so in its figures', () => {
    // Ten objects of 1000 px whose size is short of the truth by 2 x their mass around (doubt 0, so low = size):
    // a high scale of 2 covers all; the threshold ranges (everything grown: 10 x the size) are far wider.
    const objs = Array.from({ length: 10 }, (_, j) => handObject(1000 + 2 * (10 + 10 * j), 1000, 0, 10 + 10 * j));
    const { choice, figures } = chooseRange(objs, 0.85);
    expect(choice.method).toBe('probabilityMass');
    expect(figures.coverage).toBeGreaterThanOrEqual(0.85);
    // 9 of 10 suffice: the largest error may stay outside, so the scale is exactly 2 (grid value) and no larger.
    expect(choice.method === 'probabilityMass' ? choice.highScale : 0).toBe(2);
    expect(figures).toEqual(figuresOf(objs, choice));
    // Any wider scale also covers, but is wider; a narrower one misses most.
    const at = (highScale: number): ReturnType<typeof figuresOf> => figuresOf(objs, { method: 'probabilityMass', lowScale: 0, highScale, outerThreshold: OUTER_GRID[0]!, classScope: 'objects' });
    expect(at(3).meanRelativeWidth).toBeGreaterThan(figures.meanRelativeWidth);
    expect(at(1.5).coverage).toBeLessThan(0.85);
  });

  it('when no choice reaches the target, the one with the highest coverage', () => {
    // The truth is 5x the size with no doubt and no mass: nothing but the thresholds' whole growth (10x) covers it.
    const objs = [handObject(5000, 1000, 0, 0), handObject(5000, 1000, 0, 0)];
    const { choice, figures } = chooseRange(objs, 0.85, ['probabilityMass']);
    expect(figures.coverage).toBe(0);
    expect(choice.method).toBe('probabilityMass');
    const both = chooseRange(objs, 0.85);
    expect(both.choice.method).toBe('thresholds');
    expect(both.figures.coverage).toBe(1);
  });

  it('width / reported size over cases with a size; a case needs 1 % of the tile in the truth or the report', () => {
    const f = rangeFigures([
      { truePx: 100, sizePx: 100, lowPx: 90, highPx: 130 },
      { truePx: 50, sizePx: 0, lowPx: 0, highPx: 20 },
    ]);
    expect(f.coverage).toBe(0.5);
    expect(f.meanRelativeWidth).toBeCloseTo(0.4, 12);
    expect(f.meanWidthOverTrueSize).toBeCloseTo((0.4 + 0.4) / 2, 12);
    expect(isRangeCase(600, 0, 65536, 0.01)).toBe(false);
    expect(isRangeCase(0, 700, 65536, 0.01)).toBe(true);
    expect(isRangeCase(3, 0, 65536, 0)).toBe(true);
    expect(isRangeCase(0, 0, 65536, 0)).toBe(false);
  });

  it('the fixed-band yardstick: the narrowest band of true / reported ratios holding 80 % of the cases', () => {
    // Ratios 0.5, 0.9, 1.0, 1.1, 1.2 and one reported nowhere: 80 % of 6 = 5 cases, so the band must hold all five
    // sized ones (0.5 .. 1.2, width 0.7); with the unsized case gone, 4 of 5 suffice (0.9 .. 1.2, width 0.3).
    const sized = [50, 90, 100, 110, 120].map((t) => ({ truePx: t, sizePx: 100 }));
    expect(fixedBandWidth([...sized, { truePx: 40, sizePx: 0 }])).toBeCloseTo(0.7, 12);
    expect(fixedBandWidth(sized)).toBeCloseTo(0.3, 12);
    expect(fixedBandWidth(sized, 1)).toBeCloseTo(0.7, 12);
    // Fewer sized cases than the share: no band can hold it.
    expect(fixedBandWidth([{ truePx: 10, sizePx: 0 }, { truePx: 5, sizePx: 0 }, ...sized.slice(0, 2)])).toBeNull();
    expect(rangeFigures(sized.map((o) => ({ ...o, lowPx: 80, highPx: 130 }))).fixedBandWidth).toBeCloseTo(0.3, 12);
  });
});

describe('a run with a probability-mass manifest', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  it('a sharp square gets a narrow range and the same square with a hesitant edge a wide one, both around its size', async () => {
    // BRIGHT_MODEL: p(bright) = sigmoid(20 v / 255 - 10): 220 -> 0.999, 135 -> 0.64, 120 -> 0.36, 0 -> 0.00005.
    const W = 40;
    const H = 32;
    const sharp = new Uint8Array(W * H);
    const blurry = new Uint8Array(W * H);
    for (let y = 8; y <= 21; y++) {
      for (let x = 8; x <= 21; x++) {
        const ring = x === 8 || x === 21 || y === 8 || y === 21;
        const edge = x === 9 || x === 20 || y === 9 || y === 20;
        if (!ring) sharp[y * W + x] = 220;
        blurry[y * W + x] = ring ? 120 : edge ? 135 : 220;
      }
    }
    const files = { sharp: path.join(t.dir, 'sharp.png'), blurry: path.join(t.dir, 'blurry.png') };
    await writePng(files.sharp, sharp, W, H, 1);
    await writePng(files.blurry, blurry, W, H, 1);
    const modelDir = writeModelFolder(path.join(t.dir, 'models'), {
      ...brightManifest('mass'),
      calibration: { temperature: 1, fittedOn: 'validation', sizeRange: { method: 'probabilityMass', lowScale: 2, highScale: 3, outerThreshold: 0.2 } },
    });
    const widths: number[] = [];
    for (const file of [files.sharp, files.blurry]) {
      const src = await openImage(file);
      try {
        const doc = (await segmentImage(src, { model: modelDir, device: 'cpu' }, () => undefined)).document;
        expect(doc.instances).toHaveLength(1);
        const rec = doc.instances[0]!;
        expect(rec.pixelCount).toBe(144);
        const [low, high] = rec.areaPxRange as [number, number];
        expect(low).toBeLessThanOrEqual(144);
        expect(high).toBeGreaterThanOrEqual(144);
        expect(doc.classes[0]!.areaPxRange).toBeDefined();
        widths.push(high - low);
      } finally {
        await src.close();
      }
    }
    // Sharp: almost no doubt inside, nothing hesitant around. Blurry: 44 edge pixels at 0.64 and a ring of 52 at 0.36.
    expect(widths[0]!).toBeLessThanOrEqual(2);
    expect(widths[1]!).toBeGreaterThan(50);
  });
});
