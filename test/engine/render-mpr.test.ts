// Coronal and sagittal slices (render/reformat.ts): image slices and result maps reformatted from a small volume
// with known values, superior at the top when z runs superior, the plane's spacing, and the probability slices
// of a kept result (edited voxels read 0).
import { afterAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import type { Geometry, InstancesDocument } from '../../preload/formats';
import { openImage } from '../../main/engine/io';
import { writeNifti } from '../../main/engine/io/nifti';
import { tempDir } from './helpers';
import { renderSlice } from '../../main/engine/render/slice';
import { planeLayout } from '../../main/engine/render/reformat';
import { ResultStore } from '../../main/engine/results/store';
import type { ImageSource, Region } from '../../main/engine/image';

const W = 4;
const H = 3;
const D = 5;
/** Voxel value: 50 z + 10 y + x (all below 256, shown as stored with the window 127.5/255). */
const value = (x: number, y: number, z: number) => 50 * z + 10 * y + x;
const WINDOW = { center: 127.5, width: 255 };

function volume(): Uint8Array {
  const data = new Uint8Array(W * H * D);
  for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[(z * H + y) * W + x] = value(x, y, z);
  return data;
}

const medical = (zS: number): Geometry => ({ type: 'medical', spacingMm: [0.5, 0.8, 2.5], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, zS] });

/** An in-memory one-channel volume that reads any box, as the real readers do. */
function memVolume(geometry: Geometry): ImageSource {
  const data = volume();
  return {
    file: 'mem',
    format: 'mem',
    kind: 'medical',
    width: W,
    height: H,
    depth: D,
    channels: 1,
    dtype: 'uint8',
    geometry,
    meta: {},
    async read(r: Region = {}) {
      const [x0, y0, z0] = [r.x ?? 0, r.y ?? 0, r.z ?? 0];
      const [w, h, d] = [r.width ?? W - x0, r.height ?? H - y0, r.depth ?? D - z0];
      const out = new Uint8Array(w * h * d);
      for (let z = 0; z < d; z++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[(z * h + y) * w + x] = data[((z0 + z) * H + y0 + y) * W + x0 + x]!;
      return { data: out, width: w, height: h, depth: d, channels: 1, dtype: 'uint8' as const };
    },
    close: async () => undefined,
  };
}

/** Grey value of plane pixel (col, row). */
const grey = (b: { rgba: Uint8Array; width: number }, col: number, row: number) => b.rgba[(row * b.width + col) * 4]!;

describe('reformatted slices', () => {
  it('coronal: columns x, rows z with the highest z at the top when z runs superior', async () => {
    const b = await renderSlice(memVolume(medical(1)), { z: 1, axis: 'coronal', maxSize: 64, window: WINDOW });
    expect([b.width, b.height, b.scale]).toEqual([W, D, 1]);
    expect(b.axis).toBe('coronal');
    expect(b.flipRows).toBe(true);
    expect(b.planeSize).toEqual([W, D]);
    expect(b.spacingMm).toEqual([0.5, 2.5]);
    for (let row = 0; row < D; row++) for (let x = 0; x < W; x++) expect(grey(b, x, row)).toBe(value(x, 1, D - 1 - row));
  });

  it('sagittal: columns y, rows z; no flip when z runs inferior (read from the direction cosines)', async () => {
    const up = await renderSlice(memVolume(medical(1)), { z: 2, axis: 'sagittal', maxSize: 64, window: WINDOW });
    expect([up.width, up.height]).toEqual([H, D]);
    expect(up.spacingMm).toEqual([0.8, 2.5]);
    for (let row = 0; row < D; row++) for (let y = 0; y < H; y++) expect(grey(up, y, row)).toBe(value(2, y, D - 1 - row));
    const down = await renderSlice(memVolume(medical(-1)), { z: 2, axis: 'sagittal', maxSize: 64, window: WINDOW });
    expect(down.flipRows).toBe(false);
    for (let row = 0; row < D; row++) for (let y = 0; y < H; y++) expect(grey(down, y, row)).toBe(value(2, y, row));
  });

  it('axial slices are as before, with the plane spacing added; indices outside the axis are refused', async () => {
    const src = memVolume(medical(1));
    const b = await renderSlice(src, { z: 3, maxSize: 64, window: WINDOW });
    expect(b.axis).toBeUndefined();
    expect([b.width, b.height]).toEqual([W, H]);
    expect(b.spacingMm).toEqual([0.5, 0.8]);
    expect(grey(b, 3, 2)).toBe(value(3, 2, 3));
    await expect(renderSlice(src, { z: H, axis: 'coronal', maxSize: 64 })).rejects.toThrow(/coronal slice 3 is outside 0..2/);
    await expect(renderSlice(src, { z: W, axis: 'sagittal', maxSize: 64 })).rejects.toThrow(/outside 0..3/);
  });

  it('downsamples the plane like axial previews (longest side = maxSize)', async () => {
    const b = await renderSlice(memVolume(medical(1)), { z: 0, axis: 'coronal', maxSize: 2, window: WINDOW });
    expect(Math.max(b.width, b.height)).toBe(2);
    expect(b.scale).toBeCloseTo(2.5);
  });

  it('plane layout maps plane pixels to voxels', () => {
    const l = planeLayout({ width: W, height: H, depth: D }, medical(1), 'sagittal');
    // Sagittal x=3, column y=2, row 0 = top = z 4.
    expect(l.voxel(3, 2, 0)).toBe(4 * W * H + 2 * W + 3);
  });
});

describe('reformatted slices of NIfTI files (the real reader, its direction cosines)', () => {
  const tmp = tempDir('delineate-mpr-');
  afterAll(() => tmp.cleanup());

  it('puts superior at the top for a RAS volume and for one stored head first', async () => {
    // RAS axes (the usual NIfTI): LPS direction diag(-1, -1, 1), z runs superior. Head first: z runs inferior.
    const cases: Array<[string, number[], (row: number) => number]> = [
      ['ras.nii', [-1, 0, 0, 0, -1, 0, 0, 0, 1], (row) => D - 1 - row],
      ['head-first.nii', [1, 0, 0, 0, 1, 0, 0, 0, -1], (row) => row],
    ];
    for (const [name, direction, zOfRow] of cases) {
      const file = path.join(tmp.dir, name);
      await writeNifti(file, { data: volume(), width: W, height: H, depth: D, channels: 1, geometry: { type: 'medical', spacingMm: [0.5, 0.8, 2.5], originMm: [0, 0, 0], direction } });
      const src = await openImage(file);
      try {
        const b = await renderSlice(src, { z: 2, axis: 'coronal', maxSize: 64, window: WINDOW });
        expect([b.width, b.height]).toEqual([W, D]);
        expect(b.spacingMm![0]).toBeCloseTo(0.5, 5);
        expect(b.spacingMm![1]).toBeCloseTo(2.5, 5);
        for (let row = 0; row < D; row++) expect(grey(b, 1, row)).toBe(value(1, 2, zOfRow(row)));
      } finally {
        await src.close();
      }
    }
  });
});

describe('kept results, reformatted', () => {
  function makeResult() {
    // Class 1 where x >= 2 and z >= 3; instance 7 there.
    const labels = new Uint8Array(W * H * D);
    const instances = new Uint32Array(W * H * D);
    for (let z = 3; z < D; z++) for (let y = 0; y < H; y++) for (let x = 2; x < W; x++) {
      labels[(z * H + y) * W + x] = 1;
      instances[(z * H + y) * W + x] = 7;
    }
    // Probability of class 1 x 255: the voxel's own value (known everywhere); class 2: 255 - value.
    const probs = new Uint8Array(2 * W * H * D);
    const vol = volume();
    probs.set(vol, 0);
    probs.set(vol.map((v) => 255 - v), W * H * D);
    const document: InstancesDocument = { source: { file: 'x', kind: 'medical', width: W, height: H, depth: D }, classes: [], instances: [] };
    const store = new ResultStore(async () => new Float32Array(W * H * D));
    const classes = [
      { name: 'a', color: '#ff0000' },
      { name: 'b', color: '#00ff00' },
    ];
    const input = { path: 'x', width: W, height: H, depth: D, geometry: medical(1), classes, labels, nodataLabel: 255, instances, document, connectivity: 26 as const };
    const id = store.add({ ...input, probabilities: { data: probs, channels: 2 } });
    const bare = store.add(input);
    return { store, id, bare };
  }

  it('serves coronal and sagittal instance maps laid out as the image slices', () => {
    const { store, id } = makeResult();
    const c = store.slice(id, 1, 64, 'coronal');
    expect([c.width, c.height, c.axis]).toEqual([W, D, 'coronal']);
    // Top rows (z 4, 3) carry instance 7 at x >= 2; bottom rows none.
    for (let row = 0; row < D; row++) for (let x = 0; x < W; x++) expect(c.instances[row * W + x]).toBe(D - 1 - row >= 3 && x >= 2 ? 7 : 0);
    const s = store.slice(id, 1, 64, 'sagittal');
    expect([s.width, s.height]).toEqual([H, D]);
    expect(Array.from(s.instances)).toEqual(new Array(H * D).fill(0));
    const s3 = store.slice(id, 3, 64, 'sagittal');
    expect(s3.instances[0]).toBe(7);
    expect(s3.instances[(D - 1) * H]).toBe(0);
  });

  it('serves one class probability per slice on the same grid, and 0 (flagged) where edits touched', async () => {
    const { store, id, bare } = makeResult();
    expect(store.hasProbabilities(id)).toBe(true);
    expect(store.hasProbabilities(bare)).toBe(false);
    expect(() => store.probability({ resultId: bare, classId: 1, z: 0, maxSize: 64 })).toThrow(/not kept/);
    const axial = store.probability({ resultId: id, classId: 1, z: 2, maxSize: 64 });
    expect([axial.width, axial.height]).toEqual([W, H]);
    expect(axial.values[2 * W + 1]).toBe(value(1, 2, 2));
    const cor = store.probability({ resultId: id, classId: 2, z: 1, axis: 'coronal', maxSize: 64 });
    for (let row = 0; row < D; row++) for (let x = 0; x < W; x++) expect(cor.values[row * W + x]).toBe(255 - value(x, 1, D - 1 - row));
    expect(() => store.probability({ resultId: id, classId: 3, z: 0, maxSize: 64 })).toThrow(/no probability map/);

    // Paint voxel (0, 0) of slice 1: the heat-map leaves it out (0, edited) on every axis; undo brings it back.
    await store.edit(id, { op: 'paintStroke', z: 1, points: [[0.5, 0.5]], radiusPx: [0.5, 0.5], target: { newInstanceOfClass: 1 } });
    const after = store.probability({ resultId: id, classId: 1, z: 1, maxSize: 64 });
    expect(after.values[0]).toBe(0);
    expect(after.edited[0]).toBe(1);
    expect(after.values[1]).toBe(value(1, 0, 1));
    const sag = store.probability({ resultId: id, classId: 1, z: 0, axis: 'sagittal', maxSize: 64 });
    expect(sag.edited[(D - 1 - 1) * H + 0]).toBe(1);
    await store.undo(id);
    const undone = store.probability({ resultId: id, classId: 1, z: 1, maxSize: 64 });
    expect([undone.values[0], undone.edited[0]]).toEqual([value(0, 0, 1), 0]);
  });
});
