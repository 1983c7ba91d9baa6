// Streaming instances and measurements (postprocess/streaming.ts) against the in-memory path on rasters small
// enough for both: random label maps with objects crossing strip borders, U-shapes that join only in a later strip,
// 4 vs 8 connectivity, nodata 255, size filtering, intensity and probability sums, pixel and geo geometry; and
// `delineate measure` through the streaming threshold, file for file.
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DType, Geometry, ManifestClass } from '../../preload/formats';
import { allocPixels, type PixelArray, type Region } from '../../main/engine/image';
import { connectedComponents, type Connectivity } from '../../main/engine/postprocess/components';
import { measureStreaming, streamComponents, type RowSource } from '../../main/engine/postprocess/streaming';
import { countLabels, measureInstances } from '../../main/engine/measure/index';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { readSamples, tempDir } from './helpers';
import { drawShapes, lcg, speckle } from './random-labels';
import { measureBothWays } from './measure-both-ways';

/** An in-memory raster behind the RowSource interface. */
function arraySource(data: PixelArray, width: number, height: number, dtype: DType): RowSource {
  return {
    file: 'memory',
    width,
    height,
    dtype,
    read: (r: Region) => {
      const x = r.x ?? 0;
      const y = r.y ?? 0;
      const w = r.width ?? width - x;
      const h = r.height ?? height - y;
      const out = allocPixels(dtype, w * h);
      for (let yy = 0; yy < h; yy++) out.set(data.subarray((y + yy) * width + x, (y + yy) * width + x + w), yy * w);
      return Promise.resolve({ data: out, width: w, height: h, depth: 1, channels: 1, dtype });
    },
  };
}

/** Random discs and rectangles of classes 1..3, speckle, and nodata (255) patches. */
function randomLabels(W: number, H: number, seed: number): Uint8Array {
  const rand = lcg(seed);
  const labels = new Uint8Array(W * H);
  drawShapes(labels, W, H, 40, rand, () => 1 + Math.floor(rand() * 3), [1, 9]);
  speckle(labels, rand, 0.04, 0.05);
  return labels;
}

const CLASSES: ManifestClass[] = ['a', 'b', 'c'].map((name) => ({ name, color: '#ff0000' }));

/** In-memory reference: components + measurements exactly as pipeline.ts postprocess runs them. */
function inMemory(labels0: Uint8Array, W: number, H: number, connectivity: Connectivity, geometry: Geometry, extra: { intensity?: Int16Array; probability?: Uint8Array; minPixels?: number }) {
  const labels = labels0.slice();
  const probability = extra.probability ? Float32Array.from(extra.probability, (v) => v / 255) : undefined;
  const cc = connectedComponents({
    labels,
    width: W,
    height: H,
    depth: 1,
    nodataLabel: 255,
    connectivity,
    ...(probability ? { probability } : {}),
    ...(extra.intensity ? { intensity: extra.intensity } : {}),
    ...(extra.minPixels ? { minPixels: extra.minPixels } : {}),
  });
  const counts = countLabels(labels, CLASSES.length, 255);
  const measured = measureInstances(cc.stats, {
    geometry,
    depth: 1,
    classes: CLASSES,
    validPixelCount: counts.valid,
    classPixelCounts: counts.perClass,
    hasProbability: probability !== undefined,
    hasIntensity: extra.intensity !== undefined,
    instanceMap: cc.instances,
    width: W,
    height: H,
    connectivity,
  });
  return { stats: cc.stats, map: cc.instances, instances: measured.instances, classes: measured.classes, labels };
}

const temps: Array<() => void> = [];
afterEach(() => {
  for (const c of temps.splice(0)) c();
});

const PIXEL: Geometry = { type: 'pixel', spacingMm: [0.5, 0.7, 1] };
const GEO: Geometry = { type: 'geo', geotransform: [500000, 10, 0, 4000000, 0, -10], crs: 'EPSG:32633' };

describe('streaming components equal the in-memory ones', () => {
  const cases: Array<[string, number, Connectivity, Geometry, number]> = [
    ['8-connected, pixel spacing', 1, 8, PIXEL, 0],
    ['4-connected, pixel spacing', 2, 4, PIXEL, 0],
    ['8-connected, geo', 3, 8, GEO, 0],
    ['4-connected, geo, min size 5', 4, 4, GEO, 5],
    ['8-connected, min size 3', 5, 8, PIXEL, 3],
  ];
  for (const [name, seed, connectivity, geometry, minPixels] of cases) {
    it(name, async () => {
      const W = 83;
      const H = 75; // 16-row strips: four borders, a short last strip
      const labels = randomLabels(W, H, seed);
      const rand = lcg(seed + 100);
      const intensity = Int16Array.from({ length: W * H }, () => Math.floor(rand() * 2000) - 1000);
      const probability = Uint8Array.from({ length: W * H }, () => Math.floor(rand() * 256));
      const ref = inMemory(labels, W, H, connectivity, geometry, { intensity, probability, minPixels });
      const t = tempDir('delineate-stream-');
      temps.push(t.cleanup);
      const instancesPath = path.join(t.dir, 'instances.tif');
      const labelsPath = path.join(t.dir, 'labels.tif');
      const got = await measureStreaming({
        labels: arraySource(labels, W, H, 'uint8'),
        intensity: arraySource(intensity, W, H, 'int16'),
        probability: arraySource(probability, W, H, 'uint8'),
        connectivity,
        geometry,
        classes: CLASSES,
        stripRows: 16,
        instancesPath,
        labelsPath,
        ...(minPixels ? { minPixels } : {}),
      });
      expect(ref.stats.length).toBeGreaterThan(20);
      // Objects do cross strip borders.
      expect(ref.stats.some((s) => Math.floor(s.min[1] / 16) !== Math.floor(s.max[1] / 16))).toBe(true);
      expect(got.stats).toEqual(ref.stats);
      expect(got.instances).toEqual(ref.instances);
      expect(got.classes).toEqual(ref.classes);
      expect(await readSamples(instancesPath)).toEqual(Array.from(ref.map));
      expect(await readSamples(labelsPath)).toEqual(Array.from(ref.labels));
    });
  }

  it('joins U-shapes whose arms meet only in a later strip, and keeps raster order of first pixels', async () => {
    const W = 40;
    const H = 48;
    const labels = new Uint8Array(W * H);
    const set = (x0: number, y0: number, x1: number, y1: number, c: number): void => {
      for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) labels[y * W + x] = c;
    };
    set(20, 2, 21, 40, 1); // right arm starts first (row 2)...
    set(2, 5, 3, 40, 1); // ...left arm starts later but further left
    set(2, 40, 21, 41, 1); // the bottom, two strips below the arms' tops
    set(30, 3, 31, 3, 2); // a later object of another class in the first strip
    set(10, 1, 10, 1, 1); // a single pixel that diagonally touches nothing
    set(11, 0, 11, 0, 1); // diagonal neighbour of (10, 1): joined with 8, apart with 4
    for (const connectivity of [4, 8] as const) {
      const ref = inMemory(labels, W, H, connectivity, PIXEL, {});
      const cc = await streamComponents({ labels: arraySource(labels, W, H, 'uint8'), nodataLabel: 255, connectivity, geometry: PIXEL, stripRows: 16 });
      try {
        expect(cc.stats).toEqual(ref.stats);
        expect(await readSamples(cc.instancesPath)).toEqual(Array.from(ref.map));
      } finally {
        await cc.cleanup();
      }
      expect(ref.stats.length).toBe(connectivity === 4 ? 4 : 3);
    }
  });

  it('measures objects taller than two strips from their own crop', async () => {
    const W = 32;
    const H = 96;
    const labels = new Uint8Array(W * H);
    for (let y = 1; y < 90; y++) for (let x = 5 + (y % 7); x < 12 + (y % 5); x++) labels[y * W + x] = 2;
    for (let y = 40; y < 44; y++) for (let x = 20; x < 26; x++) labels[y * W + x] = 1;
    const ref = inMemory(labels, W, H, 8, PIXEL, {});
    const got = await measureStreaming({ labels: arraySource(labels, W, H, 'uint8'), connectivity: 8, geometry: PIXEL, classes: CLASSES, stripRows: 16 });
    expect(got.instances).toEqual(ref.instances);
  });
});

describe('delineate measure above the streaming threshold', () => {
  const saved = process.env.DELINEATE_STREAMING_THRESHOLD_PX;
  afterEach(() => {
    if (saved === undefined) delete process.env.DELINEATE_STREAMING_THRESHOLD_PX;
    else process.env.DELINEATE_STREAMING_THRESHOLD_PX = saved;
  });

  it('writes the same instances.json, measurements.csv and rasters as the in-memory path', async () => {
    const t = tempDir('delineate-stream-cli-');
    temps.push(t.cleanup);
    const W = 300;
    const H = 700; // two 512-row strips
    const labels = randomLabels(W, H, 9);
    const image = path.join(t.dir, 'image.tif');
    const labelsFile = path.join(t.dir, 'labels.tif');
    const rand = lcg(77);
    await writeTiff(image, { data: Uint8Array.from({ length: W * H }, () => Math.floor(rand() * 256)), width: W, height: H, depth: 1, channels: 1, geometry: GEO });
    await writeTiff(labelsFile, { data: labels, width: W, height: H, depth: 1, channels: 1, geometry: GEO });
    const { str } = await measureBothWays({ dir: t.dir, image, labels: labelsFile }, { minSizePx: 2 }, { files: ['instances.json', 'measurements.csv'], rasters: ['instances.tif', 'labels.tif'] });
    expect(str.document.instances.length).toBeGreaterThan(10);
  });
});
