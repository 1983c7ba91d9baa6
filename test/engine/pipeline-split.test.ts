// segmentImage with a boundary head: a tiny real ONNX model whose second output channel is the boundary
// probability splits two touching squares into two instances; without the head they stay one component.
import { afterAll, describe, expect, it } from 'vitest';
import { segmentImage } from '../../main/engine/pipeline';
import type { ImageSource, PixelBlock, Region } from '../../main/engine/image';
import type { ModelManifest } from '../../preload/formats';
import { tempDir, writeModelFolder } from '../fixtures/models';

const W = 48;
const H = 32;

/** Two channels: 255 inside two touching 20x20 squares (x 4..23 and 24..43), and 255 on each square's rim. */
function twoSquares(): ImageSource {
  const data = new Uint8Array(2 * W * H);
  for (const x0 of [4, 24]) {
    for (let y = 6; y < 26; y++) {
      for (let x = x0; x < x0 + 20; x++) {
        data[y * W + x] = 255;
        if (x === x0 || x === x0 + 19 || y === 6 || y === 25) data[W * H + y * W + x] = 255;
      }
    }
  }
  const read = async (region: Region = {}): Promise<PixelBlock> => {
    const channels = region.channels ?? [0, 1];
    const out = new Uint8Array(channels.length * W * H);
    channels.forEach((c, k) => out.set(data.subarray(c * W * H, (c + 1) * W * H), k * W * H));
    return { data: out, width: W, height: H, depth: 1, channels: channels.length, dtype: 'uint8' };
  };
  return { file: 'memory', format: 'memory', kind: 'image', width: W, height: H, depth: 1, channels: 2, dtype: 'uint8', geometry: { type: 'pixel' }, meta: {}, read, close: async () => {} };
}

function manifest(id: string, boundaryChannel: number | null): ModelManifest {
  return {
    id,
    name: 'Squares with rims',
    version: '1.0.0',
    task: 'instance',
    kinds: ['image'],
    file: 'model.onnx',
    input: { channels: ['object', 'rim'], sliceMode: '2d' },
    normalization: { type: 'fixed', mean: [0, 0], std: [255, 255] },
    tileSize: [32, 32],
    tileOverlap: 0.5,
    classes: [{ name: 'square', color: '#ff0000' }],
    outputs: { type: 'sigmoid', threshold: 0.5, backgroundChannel: false, classChannels: [0], boundaryChannel },
    license: 'MIT',
  };
}

// out = sigmoid(20 x - 10) per channel: ~1 where the input channel is 255, ~0 where it is 0.
const IDENTITY_SIGMOID = { inChannels: 2, weights: [[20, 0], [0, 20]], bias: [-10, -10], activation: 'sigmoid' as const };

describe('segmentImage with a boundary head', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());

  it('splits touching objects by watershed on the boundary channel', async () => {
    const dir = writeModelFolder(t.dir, manifest('rims', 1), IDENTITY_SIGMOID);
    const out = await segmentImage(twoSquares(), { model: dir, device: 'cpu', threads: 1 }, () => {});
    expect(out.document.inference?.instanceSplit).toBe('boundary-watershed');
    expect(out.document.instances.map((i) => [i.id, i.pixelCount, i.bbox.min, i.bbox.max])).toEqual([
      [1, 400, [4, 6], [23, 25]],
      [2, 400, [24, 6], [43, 25]],
    ]);
    expect(out.document.classes[0]).toMatchObject({ instanceCount: 2, pixelCount: 800 });
    expect(out.rasters.instances[10 * W + 23]).toBe(1);
    expect(out.rasters.instances[10 * W + 24]).toBe(2);
  });

  it('joins them into one component when the manifest names no boundary channel', async () => {
    const dir = writeModelFolder(t.dir, manifest('plain', null), IDENTITY_SIGMOID);
    const out = await segmentImage(twoSquares(), { model: dir, device: 'cpu', threads: 1 }, () => {});
    expect(out.document.inference?.instanceSplit).toBe('components');
    expect(out.document.instances.map((i) => i.pixelCount)).toEqual([800]);
  });
});
