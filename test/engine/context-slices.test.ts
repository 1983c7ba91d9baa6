// 2.5D models (`input.contextSlices`): slice z runs with its neighbours z-k..z+k as extra channels, clamped at the
// ends of the stack; a 2D raster gives its one plane for every neighbour; a model whose input does not have
// channels x (2k+1) channels is refused before any pixel is read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { openImage } from '../../main/engine/io';
import { writeNifti } from '../../main/engine/io/nifti';
import { writePng } from '../../main/engine/io/png';
import { segmentImage } from '../../main/engine/pipeline';
import { contextStacker } from '../../main/engine/inference/context';
import { validateManifest } from '../../main/engine/inference/manifest';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';
import type { PixelModelSpec } from '../fixtures/onnx-builder';

describe('contextStacker', () => {
  it('stacks z-k..z+k, clamps at both ends and normalises each slice once', () => {
    const calls: number[] = [];
    const slice = (z: number): Float32Array => {
      calls.push(z);
      return Float32Array.from([z, z + 0.5]); // 2 "pixels" per slice
    };
    const stack = contextStacker(slice, 4, 1);
    expect(Array.from(stack(0))).toEqual([0, 0.5, 0, 0.5, 1, 1.5]);
    expect(Array.from(stack(1))).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
    expect(Array.from(stack(2))).toEqual([1, 1.5, 2, 2.5, 3, 3.5]);
    expect(Array.from(stack(3))).toEqual([2, 2.5, 3, 3.5, 3, 3.5]);
    expect(calls).toEqual([0, 1, 2, 3]);
  });

  it('is the slice itself without context', () => {
    const s = Float32Array.from([7]);
    expect(contextStacker(() => s, 3, 0)(1)).toBe(s);
  });
});

describe('manifest input.contextSlices', () => {
  const base = brightManifest('ctx');
  it('is read as a whole number 0..8 and refused on 3d models', () => {
    expect(validateManifest({ ...base, input: { channels: ['grey'], contextSlices: 2 } }, 'm.json').input.contextSlices).toBe(2);
    expect(validateManifest(base, 'm.json').input.contextSlices).toBeUndefined();
    expect(() => validateManifest({ ...base, input: { channels: ['grey'], contextSlices: 1.5 } }, 'm.json')).toThrow(/contextSlices/);
    expect(() => validateManifest({ ...base, input: { channels: ['grey'], contextSlices: 9 } }, 'm.json')).toThrow(/contextSlices/);
    expect(() => validateManifest({ ...base, input: { channels: ['grey'], sliceMode: '3d', contextSlices: 1 } }, 'm.json')).toThrow(/contextSlices.*2d/);
  });
});

describe('segmenting with a 2.5D model', () => {
  const t = tempDir();
  afterAll(() => t.cleanup());
  // Input channels [z-1, z, z+1]; "bright" where the NEXT slice is above 127.5 (weights only on channel 2).
  const NEXT: PixelModelSpec = { inChannels: 3, weights: [[0, 0, 0], [0, 0, 20]], bias: [0, -10], activation: 'softmax' };
  const manifest = { ...brightManifest('next-slice'), kinds: ['medical', 'image'], input: { channels: ['grey'], sliceMode: '2d', contextSlices: 1 } };
  let modelDir = '';
  const w = 20;
  const h = 10;
  const d = 4;
  const geometry = { type: 'medical' as const, spacingMm: [1, 1, 2] as [number, number, number], originMm: [0, 0, 0] as [number, number, number], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
  beforeAll(() => {
    modelDir = writeModelFolder(path.join(t.dir, 'models'), manifest, NEXT);
  });

  /** Writes the volume as NIfTI, segments it, and counts the "bright" pixels of each slice. */
  async function brightPerSlice(data: Int16Array, name: string): Promise<number[]> {
    const file = path.join(t.dir, name);
    await writeNifti(file, { data, width: w, height: h, depth: d, channels: 1, geometry });
    const src = await openImage(file);
    try {
      const out = await segmentImage(src, { model: modelDir, device: 'cpu' }, () => undefined);
      return Array.from({ length: d }, (_, z) => out.rasters.labels.subarray(z * w * h, (z + 1) * w * h).filter((v) => v === 1).length);
    } finally {
      await src.close();
    }
  }

  it('feeds slice z+1 as the third channel (the last slice reads itself)', async () => {
    // Bright block only on slice 2: the model marks it on slice 1 (whose next slice is 2), and on slice 3 nothing
    // (its "next" is itself, dark); slice 2 sees slice 3 as next: dark.
    const data = new Int16Array(w * h * d).fill(10);
    for (let y = 2; y < 6; y++) for (let x = 3; x < 9; x++) data[2 * w * h + y * w + x] = 300;
    expect(await brightPerSlice(data, 'vol.nii.gz')).toEqual([0, 24, 0, 0]);
  });

  it('clamps at the end: a bright last slice is its own next slice', async () => {
    const data = new Int16Array(w * h * d).fill(10);
    for (let y = 0; y < 3; y++) for (let x = 0; x < 5; x++) data[3 * w * h + y * w + x] = 300;
    expect(await brightPerSlice(data, 'last.nii.gz')).toEqual([0, 0, 15, 15]);
  });

  it('runs on a single 2D picture (every neighbour is the picture itself)', async () => {
    const px = new Uint8Array(w * h).fill(0);
    for (let i = 0; i < 30; i++) px[i] = 255;
    const file = path.join(t.dir, 'one.png');
    await writePng(file, px, w, h, 1);
    const src = await openImage(file);
    try {
      const out = await segmentImage(src, { model: modelDir, device: 'cpu' }, () => undefined);
      expect(out.rasters.labels.filter((v) => v === 1)).toHaveLength(30);
    } finally {
      await src.close();
    }
  });

  it('refuses a model whose input is not channels x (2k+1) wide', async () => {
    const wrong = writeModelFolder(path.join(t.dir, 'models-wrong'), { ...manifest, id: 'wrong', input: { channels: ['grey'], contextSlices: 2 } }, NEXT);
    const file = path.join(t.dir, 'vol.nii.gz');
    const src = await openImage(file);
    try {
      await expect(segmentImage(src, { model: wrong, device: 'cpu' }, () => undefined)).rejects.toThrow(/2 context slices on each side \(5 model channels\) but the model's input has 3/);
    } finally {
      await src.close();
    }
  });
});
