// The windowed path's own economies, checked against one in-memory run: a tile that several windows need runs
// once (its output is reused, so the probabilities stay bit-identical), and instances stream to disk with the same
// records as the whole-map stage.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { segmentToFolder } from '../../main/engine/pipeline';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { createOrtRuntime, type ModelRuntime } from '../../main/engine/inference/runtime';
import { planGlobalGrid } from '../../main/engine/inference/region';
import { windowTileCache } from '../../main/engine/windowed';
import { addFlipped, flipTensor } from '../../main/engine/inference/tiling';
import type { Geometry, InstancesDocument } from '../../preload/formats';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';
import { readSamples } from './helpers';

const t = tempDir('delineate-windowed-stream-');
afterAll(() => t.cleanup());

const noProgress = (): void => undefined;

/** onnxruntime, counting the model calls. */
function countingRuntime(): { runtime: ModelRuntime; calls: () => number } {
  const ort = createOrtRuntime();
  let calls = 0;
  return {
    calls: () => calls,
    runtime: {
      async createSession(onnxPath, options) {
        const s = await ort.createSession(onnxPath, options);
        return {
          device: s.device,
          skipped: s.skipped,
          inputName: s.inputName,
          outputName: s.outputName,
          run: (input) => {
            calls++;
            return s.run(input);
          },
          dispose: () => s.dispose(),
        };
      },
    },
  };
}

describe('tiles shared by windows', () => {
  const W = 300;
  const H = 200;
  const geo: Geometry = { type: 'geo', geotransform: [500000, 0.5, 0, 5000000, 0, -0.5], crs: 'EPSG:32633' };
  const file = path.join(t.dir, 'shared-tiles.tif');
  const models = path.join(t.dir, 'models');

  it('run once, and the probabilities stay those of one in-memory run', async () => {
    const model = writeModelFolder(models, brightManifest('bright'));
    const px = new Uint8Array(W * H);
    for (let i = 0; i < px.length; i++) px[i] = 40 + ((i * 7) % 200);
    await writeTiff(file, { data: px, width: W, height: H, depth: 1, channels: 1, geometry: geo });
    const mem = await segmentToFolder(file, path.join(t.dir, 'mem'), { model, device: 'cpu', probabilities: true }, noProgress);
    const counted = countingRuntime();
    const win = await segmentToFolder(file, path.join(t.dir, 'win'), { model, device: 'cpu', probabilities: true, windowedMinPx: 0, windowPx: 64, runtime: counted.runtime }, noProgress);
    const inf = win.outcome.document.inference!;
    // 64 px tiles at 50 % overlap on the whole raster's grid: each runs exactly once.
    const grid = planGlobalGrid(W, H, [64, 64], 0.5, null);
    const unique = grid.xs.length * grid.ys.length;
    expect(counted.calls()).toBe(unique);
    expect(inf.tiles).toBeGreaterThan(unique);
    expect(inf.tilesReused).toBe(inf.tiles - unique);
    console.log(`${inf.tiles} tiles over ${(inf.windowed as { windows: number }).windows} windows, ${unique} model calls, ${String(inf.tilesReused)} reused`);
    expect(await readSamples(path.join(t.dir, 'win', 'probabilities.tif'))).toEqual(await readSamples(path.join(t.dir, 'mem', 'probabilities.tif')));
    expect(await readSamples(path.join(t.dir, 'win', 'labels.tif'))).toEqual(await readSamples(path.join(t.dir, 'mem', 'labels.tif')));
    const doc = JSON.parse(readFileSync(path.join(t.dir, 'win', 'instances.json'), 'utf8')) as InstancesDocument;
    expect(doc.instances.length).toBe(mem.outcome.document.instances.length);
  });

  it('keeps a tile only until its last window, and never past its byte budget', () => {
    // Windows 0..2; tile 5 is needed by windows 0 and 2, tile 6 by 0 and 1, tile 7 by window 0 only.
    const cache = windowTileCache([[5, 6, 7], [6], [5]], 2 * 16);
    const out = new Float32Array(4).fill(1);
    cache.startWindow(0);
    cache.offer(7, out);
    expect(cache.get(7)).toBeUndefined();
    cache.offer(5, out);
    cache.offer(6, out);
    expect(cache.bytes).toBe(32);
    cache.startWindow(1);
    expect(cache.get(6)).toEqual(out);
    cache.startWindow(2);
    expect(cache.get(6)).toBeUndefined();
    expect(cache.get(5)).toEqual(out);
    expect(cache.bytes).toBe(16);
    const small = windowTileCache([[1, 2], [1, 2]], 16);
    small.startWindow(0);
    small.offer(1, out);
    small.offer(2, out);
    expect(small.get(1)).toBeDefined();
    expect(small.get(2)).toBeUndefined();
  });
});

describe('addFlipped', () => {
  it('adds the mirrored tensor exactly as flipTensor + add does', () => {
    const planes = 3;
    const th = 5;
    const tw = 7;
    const data = Float32Array.from({ length: planes * th * tw }, (_, i) => Math.sin(i) * 0.37);
    for (const axis of ['x', 'y', 'xy'] as const) {
      const base = Float32Array.from({ length: data.length }, (_, i) => Math.cos(i) * 0.11);
      const expected = base.slice();
      const back = flipTensor(data, planes, th, tw, axis);
      for (let i = 0; i < expected.length; i++) expected[i]! += back[i]!;
      const scaled = base.slice();
      addFlipped(base, data, planes, th, tw, axis);
      expect(Array.from(base)).toEqual(Array.from(expected));
      // The last flip of an average adds and scales in one pass: the bits of adding, then `sum[i] *= 1/3`.
      addFlipped(scaled, data, planes, th, tw, axis, 1 / 3);
      for (let i = 0; i < expected.length; i++) expected[i]! *= 1 / 3;
      expect(Array.from(scaled)).toEqual(Array.from(expected));
    }
  });
});
