// The boundary split streamed component by component (postprocess/streaming-split.ts) against the whole-map
// split: the same instance map, ids and statistics, on rasters cut into strips much smaller than the objects, and
// through the windowed segmentation above the in-memory limit.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { openImage } from '../../main/engine/io';
import { openGeoTiff } from '../../main/engine/io/geotiff';
import { splitInstancesByBoundary, statsFromInstanceMap } from '../../main/engine/postprocess/instances';
import { connectedComponents } from '../../main/engine/postprocess/components';
import { streamBoundarySplit } from '../../main/engine/postprocess/streaming-split';
import { segmentToFolder } from '../../main/engine/pipeline';
import type { Geometry, InstancesDocument, ModelManifest } from '../../preload/formats';
import { tempDir, writeModelFolder } from '../fixtures/models';

const t = tempDir('delineate-streaming-split-');
afterAll(() => t.cleanup());

const geo: Geometry = { type: 'geo', geotransform: [500000, 0.5, 0, 5000000, 0, -0.5], crs: 'EPSG:32633' };

/** Rows of touching rectangles (two classes), one tall object, rims of high boundary and a noisy interior. */
function scene(W: number, H: number): { labels: Uint8Array; boundary: Uint8Array; probability: Uint8Array; intensity: Uint8Array } {
  const labels = new Uint8Array(W * H);
  const boundary = new Uint8Array(W * H);
  const probability = new Uint8Array(W * H);
  const intensity = new Uint8Array(W * H);
  let seed = 7;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) / (1 << 24);
  };
  const rect = (x0: number, y0: number, w: number, h: number, cls: number): void => {
    for (let y = y0; y < Math.min(H, y0 + h); y++) {
      for (let x = x0; x < Math.min(W, x0 + w); x++) {
        const i = y * W + x;
        labels[i] = cls;
        const rim = x === x0 || y === y0 || x === x0 + w - 1 || y === y0 + h - 1;
        boundary[i] = rim ? 200 + Math.floor(rand() * 55) : Math.floor(rand() * 140);
      }
    }
  };
  // Touching neighbours in a row, across the 16-row strips and the 64 px windows.
  for (let y0 = 3; y0 + 10 < H; y0 += 23) for (let x0 = 2; x0 + 10 < W; x0 += 17) rect(x0, y0, 17, 14 + ((x0 + y0) % 9), 1 + (((y0 - 3) / 23) % 2));
  rect(W - 30, 0, 12, H, 1); // taller than two strips
  rect(5, 60, 2, 2, 2); // below the minimum size
  for (let i = 0; i < W * H; i++) {
    probability[i] = labels[i] ? 128 + Math.floor(rand() * 127) : 0;
    intensity[i] = Math.floor(rand() * 256);
  }
  return { labels, boundary, probability, intensity };
}

describe('streamBoundarySplit', () => {
  it('gives the whole-map split: the same instance map, ids and statistics', async () => {
    const W = 203;
    const H = 150;
    const s = scene(W, H);
    const file = (name: string, data: Uint8Array): Promise<void> => writeTiff(path.join(t.dir, name), { data, width: W, height: H, depth: 1, channels: 1, geometry: geo });
    await file('labels.tif', s.labels);
    await file('boundary.tif', s.boundary);
    await file('probability.tif', s.probability);
    await file('intensity.tif', s.intensity);
    const open = (name: string) => openGeoTiff(path.join(t.dir, name));
    const [labels, boundary, probability, intensity] = await Promise.all([open('labels.tif'), open('boundary.tif'), open('probability.tif'), open('intensity.tif')]);
    const minPixels = 5;
    const streamed = await streamBoundarySplit({ labels, nodataLabel: 255, boundary, probability, intensity, minPixels, stripRows: 16, instancesPath: path.join(t.dir, 'instances.tif'), geometry: geo });
    for (const src of [labels, boundary, probability, intensity]) await src.close();

    const wholeLabels = s.labels.slice();
    const map = splitInstancesByBoundary({ labels: wholeLabels, width: W, height: H, depth: 1, nodataLabel: 255, boundary: Float32Array.from(s.boundary, (v) => v / 255), minPixels });
    const stats = statsFromInstanceMap({ instances: map, labels: wholeLabels, width: W, height: H, depth: 1, probability: Float32Array.from(s.probability, (v) => v / 255), intensity: s.intensity });
    expect(stats.length).toBeGreaterThan(40);
    // The split did split: more objects than 8-connected components of the classes.
    const components = connectedComponents({ labels: s.labels, width: W, height: H, depth: 1, nodataLabel: 255, connectivity: 8, minPixels });
    expect(stats.length).toBeGreaterThan(components.stats.length + 10);
    expect(streamed.stats).toEqual(stats);
    const inst = await openImage(path.join(t.dir, 'instances.tif'));
    try {
      expect(Array.from((await inst.read()).data)).toEqual(Array.from(map));
    } finally {
      await inst.close();
    }
    // Class totals lose the pixels of dropped pieces, as the whole map's cleared labels do.
    for (const c of [1, 2]) expect(streamed.perValue[c]).toBe(wholeLabels.filter((v) => v === c).length);
  });
});

describe('windowed segmentation with a boundary head above the in-memory limit', () => {
  it('splits window by window into the objects of the whole-map split', async () => {
    const W = 200;
    const H = 140;
    const s = scene(W, H);
    // Two channels: the object (255 inside) and the rim (the boundary bytes), read back by an identity model.
    const data = new Uint8Array(2 * W * H);
    for (let i = 0; i < W * H; i++) {
      data[i] = s.labels[i] ? 255 : 0;
      data[W * H + i] = s.boundary[i]!;
    }
    const file = path.join(t.dir, 'rims.tif');
    await writeTiff(file, { data, width: W, height: H, depth: 1, channels: 2, geometry: geo });
    const manifest: ModelManifest = {
      id: 'rims',
      name: 'Objects with rims',
      version: '1.0.0',
      task: 'instance',
      kinds: ['geo', 'image'],
      file: 'model.onnx',
      input: { channels: ['object', 'rim'], sliceMode: '2d' },
      normalization: { type: 'fixed', mean: [0, 0], std: [255, 255] },
      tileSize: [32, 32],
      tileOverlap: 0.5,
      classes: [{ name: 'object', color: '#ff0000' }],
      outputs: { type: 'sigmoid', threshold: 0.5, backgroundChannel: false, classChannels: [0], boundaryChannel: 1 },
      license: 'MIT',
    };
    // Channel 0: sigmoid(20 x - 10) of the object; channel 1: sigmoid(4 x - 2) of the rim, which keeps its order.
    const model = writeModelFolder(t.dir, manifest, { inChannels: 2, weights: [[20, 0], [0, 4]], bias: [-10, -2], activation: 'sigmoid' });
    const options = { model, device: 'cpu' as const, windowedMinPx: 0, windowPx: 64 };
    const whole = await segmentToFolder(file, path.join(t.dir, 'whole'), options, () => undefined);
    const streamed = await segmentToFolder(file, path.join(t.dir, 'streamed'), { ...options, instanceMaxPx: 0 }, () => undefined);
    const wi = whole.outcome.document.inference!;
    const si = streamed.outcome.document.inference!;
    expect(wi.instanceSplit).toBe('boundary-watershed');
    expect(si.instanceSplit).toBe('boundary-watershed');
    expect(String(si.instances)).toMatch(/boundary split component by component/);
    // The streamed split's records go straight to instances.json and measurements.csv, never into the document.
    const doc = (dir: string): InstancesDocument => JSON.parse(readFileSync(path.join(t.dir, dir, 'instances.json'), 'utf8')) as InstancesDocument;
    const records = doc('streamed').instances;
    expect(streamed.outcome.document.instances).toEqual([]);
    expect(records.length).toBeGreaterThan(20);
    expect(streamed.outcome.instanceCount).toBe(records.length);
    expect(records).toEqual(whole.outcome.document.instances);
    expect(doc('whole').instances).toEqual(whole.outcome.document.instances);
    expect(streamed.outcome.document.classes).toEqual(whole.outcome.document.classes);
    expect(readFileSync(path.join(t.dir, 'streamed', 'measurements.csv'), 'utf8')).toBe(readFileSync(path.join(t.dir, 'whole', 'measurements.csv'), 'utf8'));
    const read = async (f: string): Promise<number[]> => {
      const src = await openImage(f);
      try {
        return Array.from((await src.read()).data);
      } finally {
        await src.close();
      }
    };
    expect(await read(path.join(t.dir, 'streamed', 'instances.tif'))).toEqual(await read(path.join(t.dir, 'whole', 'instances.tif')));
  });
});
