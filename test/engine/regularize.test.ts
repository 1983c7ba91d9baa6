// Footprint regularisation (manifest postprocess.regularize): objects that fill most of their minimum-area
// rectangle become that rectangle; others keep their outline; neighbours and nodata are never taken.
import { afterAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { convexHull, minAreaRectangle, regularizeRectangles } from '../../main/engine/postprocess/regularize';
import { openImage } from '../../main/engine/io';
import { writePng } from '../../main/engine/io/png';
import { segmentImage } from '../../main/engine/pipeline';
import type { SegmentOptions } from '../../main/engine/segment-setup';
import { validateManifest } from '../../main/engine/inference/manifest';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';

/** Instance map from rows of characters: '.' = 0, digits = ids. */
function map(rows: string[]): { instances: Uint32Array; labels: Uint8Array; width: number; height: number } {
  const width = rows[0]!.length;
  const instances = Uint32Array.from(rows.join('').split('').map((ch) => (ch === '.' ? 0 : Number(ch))));
  return { instances, labels: Uint8Array.from(instances, (v) => (v ? 1 : 0)), width, height: rows.length };
}

describe('minimum-area rectangle', () => {
  it('finds a rotated rectangle from its hull, with its area and side directions', () => {
    // A 6 x 2 rectangle turned by 30 degrees, plus points inside it.
    const a = Math.PI / 6;
    const [ux, uy] = [Math.cos(a), Math.sin(a)];
    const at = (u: number, v: number): [number, number] => [10 + u * ux - v * uy, 20 + u * uy + v * ux];
    const pts = [at(-3, -1), at(3, -1), at(3, 1), at(-3, 1), at(0, 0), at(1, 0.5), at(-2, -0.3)];
    const hull = convexHull(pts);
    expect(hull).toHaveLength(4);
    const r = minAreaRectangle(hull);
    expect(r.area).toBeCloseTo(12, 9);
    expect(r.cx).toBeCloseTo(10, 9);
    expect(r.cy).toBeCloseTo(20, 9);
    // One side runs along (cos 30, sin 30) up to sign, the sides are 6 and 2 long.
    const alongLong = r.halfU > r.halfV ? [r.ux, r.uy] : [-r.uy, r.ux];
    expect(Math.abs(alongLong[0]! * ux + alongLong[1]! * uy)).toBeCloseTo(1, 9);
    expect([r.halfU, r.halfV].sort((p, q) => p - q)).toEqual([expect.closeTo(1, 9), expect.closeTo(3, 9)]);
  });
});

describe('regularizeRectangles', () => {
  it('squares off a blob that fills most of its rectangle, and the labels follow', () => {
    const m = map([
      '........',
      '..1111..',
      '.111111.',
      '.111111.',
      '..1111..',
      '........',
    ]);
    const out = regularizeRectangles({ ...m, minFill: 0.8 });
    expect(out).toEqual({ regularized: 1, kept: 0 });
    // 20 px of 24 (fill 0.83) -> the full 6 x 4 block.
    for (let y = 1; y <= 4; y++) for (let x = 1; x <= 6; x++) expect(m.instances[y * 8 + x]).toBe(1);
    expect(m.instances.filter((v) => v === 1)).toHaveLength(24);
    expect(m.labels.filter((v) => v === 1)).toHaveLength(24);
  });

  it('keeps an outline that fills too little of its rectangle (an L-shape)', () => {
    const m = map([
      '11......',
      '11......',
      '11......',
      '11111111',
      '11111111',
    ]);
    const before = Array.from(m.instances);
    // 22 px of a 40 px rectangle: fill 0.55.
    expect(regularizeRectangles({ ...m, minFill: 0.6 })).toEqual({ regularized: 0, kept: 1 });
    expect(Array.from(m.instances)).toEqual(before);
    expect(regularizeRectangles({ ...m, minFill: 0.5 }).regularized).toBe(1);
    expect(m.instances.filter((v) => v === 1)).toHaveLength(40);
  });

  it('never takes a neighbour, another class or nodata', () => {
    const m = map([
      '.111.2',
      '11112.',
      '11112.',
      '.1112.',
    ]);
    m.labels[18] = 255; // nodata at (0, 3), inside object 1's rectangle
    regularizeRectangles({ ...m, minFill: 0.5 });
    // Object 1 (14 of its 16 px rectangle) grows into the background corner (0, 0), not into nodata.
    expect(m.instances[0]).toBe(1);
    expect(m.labels[0]).toBe(1);
    expect(m.instances[18]).toBe(0);
    expect(m.labels[18]).toBe(255);
    expect([m.instances[5], m.instances[10], m.instances[16], m.instances[22]]).toEqual([2, 2, 2, 2]);
    expect(m.instances.filter((v) => v === 1)).toHaveLength(15);
  });

  it('squares a rotated blob at its own angle, not along the pixel grid', () => {
    // A 24 x 10 rectangle turned by 30 degrees, rasterised by pixel centres, then eroded at its corners.
    const W = 48;
    const H = 40;
    const a = Math.PI / 6;
    const inRect = (x: number, y: number, hu: number, hv: number): boolean => {
      const dx = x + 0.5 - 24;
      const dy = y + 0.5 - 20;
      return Math.abs(dx * Math.cos(a) + dy * Math.sin(a)) <= hu && Math.abs(-dx * Math.sin(a) + dy * Math.cos(a)) <= hv;
    };
    const instances = new Uint32Array(W * H);
    let full = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (inRect(x, y, 12, 5)) full++;
        const dx = x + 0.5 - 24;
        const dy = y + 0.5 - 20;
        // Corners cut off: the blob is the rectangle minus pixels far from the centre.
        if (inRect(x, y, 12, 5) && dx * dx + dy * dy < 11 * 11) instances[y * W + x] = 1;
      }
    }
    const blob = instances.filter((v) => v === 1).length;
    expect(blob).toBeLessThan(full - 10);
    const labels = Uint8Array.from(instances, (v) => (v ? 1 : 0));
    regularizeRectangles({ instances, labels, width: W, height: H, minFill: 0.7 });
    const after = instances.filter((v) => v === 1).length;
    // The squared-off object is about the rotated rectangle's 240 px (a little more: the rectangle encloses the
    // blob's staircase edge, half a pixel out), far less than its axis-aligned box (about 26 x 21 = 533 px).
    expect(after).toBeGreaterThan(blob);
    expect(after).toBeGreaterThanOrEqual(full);
    expect(after).toBeLessThanOrEqual(full * 1.15);
  });
});

describe('postprocess.regularize in the manifest and the pipeline', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  it('is validated', () => {
    const ok = validateManifest({ ...brightManifest('r'), postprocess: { regularize: { shape: 'rectangle', minFill: 0.6 } } }, 'm.json');
    expect(ok.postprocess?.regularize).toEqual({ shape: 'rectangle', minFill: 0.6 });
    expect(() => validateManifest({ ...brightManifest('r'), postprocess: { regularize: { shape: 'circle', minFill: 0.6 } } }, 'm.json')).toThrow(/postprocess.regularize.shape/);
    expect(() => validateManifest({ ...brightManifest('r'), postprocess: { regularize: { shape: 'rectangle', minFill: 2 } } }, 'm.json')).toThrow(/postprocess.regularize.minFill/);
  });

  it('squares off the objects of a run and records it; --no-postprocess leaves them as the model drew them', async () => {
    // A bright 12 x 8 block with its four corner pixels dark (92 px).
    const W = 40;
    const H = 30;
    const px = new Uint8Array(W * H).fill(30);
    for (let y = 5; y < 13; y++) for (let x = 6; x < 18; x++) px[y * W + x] = 220;
    for (const [x, y] of [[6, 5], [17, 5], [6, 12], [17, 12]] as const) px[y * W + x] = 30;
    const png = path.join(t.dir, 'blob.png');
    await writePng(png, px, W, H, 1);
    const modelDir = writeModelFolder(path.join(t.dir, 'models'), { ...brightManifest('bright-reg'), postprocess: { regularize: { shape: 'rectangle', minFill: 0.8 } } });
    const run = async (extra: Partial<SegmentOptions>) => {
      const src = await openImage(png);
      try {
        return await segmentImage(src, { model: modelDir, device: 'cpu', threads: 1, resample: false, ...extra }, () => undefined);
      } finally {
        await src.close();
      }
    };
    const done = await run({});
    expect(done.document.instances.map((r) => r.pixelCount)).toEqual([96]);
    expect(done.document.inference?.postprocess).toEqual({ regularize: { shape: 'rectangle', minFill: 0.8 } });
    // The label raster agrees with the instance.
    expect(done.rasters.labels.filter((v) => v === 1)).toHaveLength(96);
    const raw = await run({ modelPostprocess: false });
    expect(raw.document.instances.map((r) => r.pixelCount)).toEqual([92]);
  });
});
