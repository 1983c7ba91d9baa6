// Sliding-window inference: tile placement, Gaussian weights, tiled == whole-image output with a real model,
// reflection padding for small images, batching, progress, and cancellation between tiles.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gaussianWeights, planTiles, reflectIndex, runTiled, softmaxChannels, tileStarts, AbortError } from '../../main/engine/inference/tiling';
import { createOrtRuntime, type ModelSession, type Tensor4 } from '../../main/engine/inference/runtime';
import { normalizeSlice, planNormalization, percentileOfSorted } from '../../main/engine/inference/normalize';
import { buildPixelModel } from '../fixtures/onnx-builder';
import { tempDir } from '../fixtures/models';

describe('tile placement', () => {
  it('covers the axis, first at 0, last flush with the end, step <= tile*(1-overlap)', () => {
    expect(tileStarts(100, 64, 0.5)).toEqual([0, 18, 36]);
    expect(tileStarts(256, 64, 0.5)).toEqual([0, 32, 64, 96, 128, 160, 192]);
    expect(tileStarts(50, 64, 0.5)).toEqual([0]);
    const s = tileStarts(1000, 128, 0.25);
    expect(s[0]).toBe(0);
    expect(s[s.length - 1]).toBe(1000 - 128);
    for (let i = 1; i < s.length; i++) expect(s[i]! - s[i - 1]!).toBeLessThanOrEqual(96);
    expect(planTiles(100, 256, [64, 64], 0.5).origins).toHaveLength(3 * 7);
  });

  it('Gaussian weights peak at the centre, are symmetric and never zero', () => {
    const w = gaussianWeights(16, 8);
    expect(Math.max(...w)).toBeLessThanOrEqual(1);
    expect(Math.min(...w)).toBeGreaterThan(0);
    expect(w[0]).toBeCloseTo(w[15]!, 6);
    expect(w[3 * 16 + 7]!).toBeGreaterThan(w[0]!);
  });

  it('reflects indices without repeating the edge', () => {
    expect([-2, -1, 0, 1, 2, 3, 4, 5].map((i) => reflectIndex(i, 4))).toEqual([2, 1, 0, 1, 2, 3, 2, 1]);
    expect(reflectIndex(7, 1)).toBe(0);
  });
});

describe('normalisation', () => {
  it('percentiles interpolate like numpy and zscore uses the whole volume', () => {
    expect(percentileOfSorted([0, 10, 20, 30], 50)).toBe(15);
    const data = Uint8Array.from([0, 10, 20, 30, 40, 50, 60, 70]);
    const input = { data, width: 2, height: 2, depth: 2, channels: 1 };
    const pct = planNormalization({ type: 'percentile', pLow: 0, pHigh: 100, scope: 'volume' }, input);
    expect(pct(1)).toEqual([{ offset: 0, scale: 1 / 70 }]);
    const perSlice = planNormalization({ type: 'percentile', pLow: 0, pHigh: 100, scope: 'slice' }, input);
    expect(perSlice(1)[0]!.offset).toBe(40);
    const z = planNormalization({ type: 'zscore', scope: 'volume', mask: 'nonzero' }, input);
    expect(z(0)[0]!.offset).toBe(40); // mean of 10..70 without the zero
    expect(Array.from(normalizeSlice(input, 1, pct))).toEqual([40 / 70, 50 / 70, 60 / 70, 1].map((v) => Math.fround(v)));
  });

  it('masked percentiles of integer data (counted in a histogram) equal those of the sorted values', () => {
    // 8- and 16-bit volumes with a zero background, as the brain model's FLAIR input: 1st / 99th of the nonzero.
    let seed = 5;
    const rand = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (const make of [(n: number) => new Uint8Array(n), (n: number) => new Int16Array(n)]) {
      const data = make(40 * 30 * 3);
      for (let i = 0; i < data.length; i++) data[i] = rand() < 0.3 ? 0 : 1 + Math.floor(rand() * 250);
      const nonzero = Float64Array.from(Array.from(data).filter((v) => v !== 0)).sort();
      const plan = planNormalization({ type: 'percentile', pLow: 1, pHigh: 99, scope: 'volume', mask: 'nonzero' }, { data, width: 40, height: 30, depth: 3, channels: 1 });
      const lo = percentileOfSorted(nonzero, 1);
      const hi = percentileOfSorted(nonzero, 99);
      expect(plan(0)[0]!.offset).toBeCloseTo(lo, 12);
      expect(plan(0)[0]!.scale).toBeCloseTo(1 / (hi - lo), 12);
    }
  });
});

describe('runTiled with a real ONNX model', () => {
  const t = tempDir();
  let session: ModelSession;
  beforeAll(async () => {
    const f = path.join(t.dir, 'm.onnx');
    // Three classes from two channels: per-pixel, so any tiling must reproduce the whole-image output.
    writeFileSync(f, buildPixelModel({ inChannels: 2, weights: [[1, 0], [0, 1], [0.5, -0.5]], bias: [0, 0.1, -0.2], activation: 'softmax' }));
    session = await createOrtRuntime().createSession(f, { device: 'cpu', threads: 2 });
  });
  afterAll(async () => {
    await session.dispose();
    t.cleanup();
  });

  const W = 300;
  const H = 170;
  const plane = Float32Array.from({ length: 2 * W * H }, (_, i) => Math.sin(i * 0.37) * 2 + Math.cos(i * 0.011));
  const run = (x: Tensor4): Promise<Tensor4> => session.run(x);

  it('tiled with overlap (several tiles wide, batched) equals one whole-image pass', async () => {
    const whole = await runTiled({ data: plane, width: W, height: H, channels: 2 }, run, { tileSize: [W, H], overlap: 0, batch: 1 });
    expect(whole.tiles).toBe(1);
    const seen: number[] = [];
    const tiled = await runTiled({ data: plane, width: W, height: H, channels: 2 }, run, {
      tileSize: [64, 48],
      overlap: 0.5,
      batch: 3,
      onTiles: (done) => seen.push(done),
    });
    expect(tiled.tiles).toBe(tileStarts(W, 64, 0.5).length * tileStarts(H, 48, 0.5).length);
    expect(tiled.tiles).toBeGreaterThan(20);
    expect(seen[seen.length - 1]).toBe(tiled.tiles);
    expect(tiled.channels).toBe(3);
    let maxDiff = 0;
    for (let i = 0; i < whole.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(whole.data[i]! - tiled.data[i]!));
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('pads an image smaller than the tile by reflection and crops back', async () => {
    const small = plane.subarray(0, 2 * 20 * 10);
    const out = await runTiled({ data: small, width: 20, height: 10, channels: 2 }, run, { tileSize: [64, 64], overlap: 0.5, batch: 1 });
    const ref = await runTiled({ data: small, width: 20, height: 10, channels: 2 }, run, { tileSize: [20, 10], overlap: 0, batch: 1 });
    expect(out.data.length).toBe(3 * 20 * 10);
    for (let i = 0; i < out.data.length; i++) expect(out.data[i]).toBeCloseTo(ref.data[i]!, 5);
  });

  it('cancel between tiles throws AbortError', async () => {
    const controller = new AbortController();
    let calls = 0;
    const p = runTiled(
      { data: plane, width: W, height: H, channels: 2 },
      async (x) => {
        calls++;
        return run(x);
      },
      { tileSize: [64, 48], overlap: 0.5, batch: 1, signal: controller.signal, onTiles: (done) => done === 3 && controller.abort() },
    );
    await expect(p).rejects.toBeInstanceOf(AbortError);
    expect(calls).toBe(3);
  });

  it('softmaxChannels normalises logits per pixel', () => {
    const x = Float32Array.from([0, 1, 0, 1]);
    softmaxChannels(x, 2, 2);
    expect(x[0]! + x[2]!).toBeCloseTo(1, 6);
    expect(x[2]).toBeCloseTo(0.5, 6);
  });
});
