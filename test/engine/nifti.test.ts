// NIfTI-1 reader/writer: voxel and geometry round trips (oblique, anisotropic), scaling, gzip, and nibabel as an oracle.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { openImage } from '../../main/engine/io';
import { encodeNifti, writeNifti, rasAffineFromGeometry } from '../../main/engine/io/nifti';
import { allocPixels, InputError, type PixelArray } from '../../main/engine/image';
import type { DType, MedicalGeometry } from '../../preload/formats';
import { hasNibabel, tempDir, skipNote } from './helpers';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const at = (name: string): string => path.join(tmp.dir, name);

// An oblique frame (orthonormal, right-handed): 30 degrees about z, then 20 about x; anisotropic voxels.
function obliqueGeometry(): MedicalGeometry {
  const a = (30 * Math.PI) / 180;
  const b = (20 * Math.PI) / 180;
  const x = [Math.cos(a), Math.sin(a) * Math.cos(b), Math.sin(a) * Math.sin(b)];
  const y = [-Math.sin(a), Math.cos(a) * Math.cos(b), Math.cos(a) * Math.sin(b)];
  const z = [0, -Math.sin(b), Math.cos(b)];
  return { type: 'medical', spacingMm: [0.7, 0.9, 3.5], originMm: [-120.5, 88.25, -40], direction: [...x, ...y, ...z] };
}

function fill(dtype: DType, n: number): PixelArray {
  const a = allocPixels(dtype, n);
  for (let i = 0; i < n; i++) a[i] = dtype.startsWith('float') ? i * 0.25 - 7.5 : dtype.startsWith('int') ? (i % 100) - 50 : i % 200;
  return a;
}

function expectGeometryClose(actual: unknown, expected: MedicalGeometry): void {
  const g = actual as MedicalGeometry;
  expect(g.type).toBe('medical');
  g.spacingMm.forEach((v, i) => expect(v).toBeCloseTo(expected.spacingMm[i]!, 5));
  g.originMm.forEach((v, i) => expect(v).toBeCloseTo(expected.originMm[i]!, 4));
  g.direction.forEach((v, i) => expect(v).toBeCloseTo(expected.direction[i]!, 5));
}

describe('NIfTI round trip', () => {
  const W = 5;
  const H = 4;
  const D = 3;
  for (const dtype of ['uint8', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'float64'] as DType[]) {
    for (const name of ['v.nii', 'v.nii.gz']) {
      it(`${dtype} ${name}: voxels and oblique geometry survive`, async () => {
        const geometry = obliqueGeometry();
        const data = fill(dtype, W * H * D);
        const file = at(`${dtype}-${name}`);
        await writeNifti(file, { data, width: W, height: H, depth: D, channels: 1, geometry });
        if (name.endsWith('.gz')) expect(readFileSync(file).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
        const src = await openImage(file);
        expect([src.format, src.kind, src.width, src.height, src.depth, src.channels, src.dtype]).toEqual(['nifti', 'medical', W, H, D, 1, dtype]);
        expectGeometryClose(src.geometry, geometry);
        expect(Array.from((await src.read()).data)).toEqual(Array.from(data));
        const win = await src.read({ x: 1, y: 2, z: 1, width: 3, height: 2, depth: 2 });
        const expected: number[] = [];
        for (let z = 1; z < 3; z++) for (let y = 2; y < 4; y++) for (let x = 1; x < 4; x++) expected.push(data[(z * H + y) * W + x]!);
        expect(Array.from(win.data)).toEqual(expected);
      });
    }
  }

  it('keeps channels as the 4th dimension', async () => {
    const data = fill('int16', 3 * 2 * 2 * 2);
    await writeNifti(at('c.nii'), { data, width: 3, height: 2, depth: 2, channels: 2, geometry: obliqueGeometry() });
    const src = await openImage(at('c.nii'));
    expect([src.depth, src.channels]).toEqual([2, 2]);
    expect(Array.from((await src.read({ channels: [1] })).data)).toEqual(Array.from(data.subarray(12)));
  });

  it('a left-handed frame (qfac -1) round-trips', async () => {
    const g: MedicalGeometry = { type: 'medical', spacingMm: [1, 2, 3], originMm: [1, 2, 3], direction: [1, 0, 0, 0, 1, 0, 0, 0, -1] };
    await writeNifti(at('lh.nii'), { data: fill('uint8', 8), width: 2, height: 2, depth: 2, channels: 1, geometry: g });
    expectGeometryClose((await openImage(at('lh.nii'))).geometry, g);
  });

  it('pixel geometry becomes LPS identity with the given spacing', async () => {
    await writeNifti(at('p.nii.gz'), { data: fill('uint8', 6), width: 3, height: 2, depth: 1, channels: 1, geometry: { type: 'pixel', spacingMm: [0.5, 0.5, 2] } });
    expectGeometryClose((await openImage(at('p.nii.gz'))).geometry, { type: 'medical', spacingMm: [0.5, 0.5, 2], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] });
  });
});

describe('NIfTI reading details', () => {
  it('applies scl_slope/scl_inter and returns float32', async () => {
    const bytes = encodeNifti({ data: Int16Array.from([0, 1, 2, 3]), width: 2, height: 2, depth: 1, channels: 1, geometry: { type: 'pixel' } }, false);
    bytes.writeFloatLE(2.5, 112);
    bytes.writeFloatLE(-10, 116);
    writeFileSync(at('scaled.nii'), bytes);
    const src = await openImage(at('scaled.nii'));
    expect(src.dtype).toBe('float32');
    expect(Array.from((await src.read()).data)).toEqual([-10, -7.5, -5, -2.5]);
  });

  it('uses the qform when sform_code is 0', async () => {
    const g = obliqueGeometry();
    const bytes = encodeNifti({ data: fill('uint8', 8), width: 2, height: 2, depth: 2, channels: 1, geometry: g }, false);
    bytes.writeInt16LE(0, 254);
    for (let i = 280; i < 328; i++) bytes[i] = 0;
    writeFileSync(at('qform.nii'), bytes);
    const src = await openImage(at('qform.nii'));
    expect(src.meta.transform).toBe('qform');
    expectGeometryClose(src.geometry, g);
  });

  it('prefers the sform even when the qform code is higher', async () => {
    const g = obliqueGeometry();
    const bytes = encodeNifti({ data: fill('uint8', 8), width: 2, height: 2, depth: 2, channels: 1, geometry: g }, false);
    bytes.writeInt16LE(2, 252);
    // Make the qform disagree: identity quaternion, zero offset.
    for (let i = 256; i < 280; i++) bytes[i] = 0;
    writeFileSync(at('both.nii'), bytes);
    const src = await openImage(at('both.nii'));
    expect(src.meta.transform).toBe('sform');
    expectGeometryClose(src.geometry, g);
  });

  it('reads big-endian files', async () => {
    const le = encodeNifti({ data: Int16Array.from([1, -2, 300, 4]), width: 2, height: 2, depth: 1, channels: 1, geometry: { type: 'pixel' } }, false);
    const be = Buffer.from(le);
    const swap = (off: number, size: number): void => {
      be.subarray(off, off + size).reverse();
    };
    swap(0, 4);
    for (let i = 0; i < 8; i++) swap(40 + i * 2, 2);
    swap(70, 2);
    swap(72, 2);
    for (let i = 0; i < 8; i++) swap(76 + i * 4, 4);
    for (const off of [108, 112, 116, 256, 260, 264, 268, 272, 276]) swap(off, 4);
    swap(252, 2);
    swap(254, 2);
    for (let i = 0; i < 12; i++) swap(280 + i * 4, 4);
    for (let i = 0; i < 4; i++) swap(352 + i * 2, 2);
    writeFileSync(at('be.nii'), be);
    const src = await openImage(at('be.nii'));
    expect(Array.from((await src.read()).data)).toEqual([1, -2, 300, 4]);
  });

  it('truncated and corrupt files are InputErrors', async () => {
    const bytes = encodeNifti({ data: fill('float32', 1000), width: 10, height: 10, depth: 10, channels: 1, geometry: { type: 'pixel' } }, false);
    writeFileSync(at('cut.nii'), bytes.subarray(0, 2000));
    await expect(openImage(at('cut.nii'))).rejects.toThrow(/truncated NIfTI/);
    writeFileSync(at('cut.nii.gz'), gzipSync(bytes).subarray(0, 300));
    await expect(openImage(at('cut.nii.gz'))).rejects.toBeInstanceOf(InputError);
    writeFileSync(at('junk.nii'), Buffer.alloc(400, 7));
    await expect(openImage(at('junk.nii'))).rejects.toThrow(/not a valid NIfTI/);
  });
});

describe('nibabel oracle', () => {
  it.skipIf(!hasNibabel)(`nibabel reads our file with the same voxels and affine${skipNote(!hasNibabel, '/usr/bin/python3 has no nibabel')}`, async () => {
    const g = obliqueGeometry();
    const data = fill('int16', 5 * 4 * 3);
    await writeNifti(at('nib.nii.gz'), { data, width: 5, height: 4, depth: 3, channels: 1, geometry: g });
    const script = `
import json, sys, nibabel as nib, numpy as np
img = nib.load(sys.argv[1])
print(json.dumps({"shape": list(img.shape), "dtype": str(img.get_data_dtype()), "sform": img.get_sform().tolist(), "qform": img.get_qform().tolist(),
  "codes": [int(img.header["sform_code"]), int(img.header["qform_code"])], "voxels": np.asanyarray(img.dataobj).flatten(order="F").tolist()}))`;
    const r = spawnSync('/usr/bin/python3', ['-c', script, at('nib.nii.gz')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { shape: number[]; dtype: string; sform: number[][]; qform: number[][]; codes: number[]; voxels: number[] };
    expect(out.shape).toEqual([5, 4, 3]);
    expect(out.dtype).toBe('int16');
    expect(out.codes).toEqual([1, 1]);
    expect(out.voxels).toEqual(Array.from(data));
    const ras = rasAffineFromGeometry(g);
    for (let r2 = 0; r2 < 4; r2++) {
      for (let c = 0; c < 4; c++) {
        expect(out.sform[r2]![c]!).toBeCloseTo(ras[r2]![c]!, 4);
        expect(out.qform[r2]![c]!).toBeCloseTo(ras[r2]![c]!, 4);
      }
    }
  });

  it.skipIf(!hasNibabel)(`we read a file nibabel wrote (oblique, scaled) like nibabel does${skipNote(!hasNibabel, 'no nibabel')}`, async () => {
    const script = `
import sys, numpy as np, nibabel as nib
aff = np.array([[-0.8, 0.1, 0.0, 90.0], [0.05, 0.9, 0.2, -126.0], [0.0, -0.3, 2.5, -72.0], [0, 0, 0, 1]])
data = (np.arange(4*3*2, dtype=np.int16).reshape((4, 3, 2), order="F") - 5)
img = nib.Nifti1Image(data, aff)
img.header.set_slope_inter(0.5, 3.0)
nib.save(img, sys.argv[1])`;
    const r = spawnSync('/usr/bin/python3', ['-c', script, at('fromnib.nii.gz')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const src = await openImage(at('fromnib.nii.gz'));
    expect([src.width, src.height, src.depth, src.dtype]).toEqual([4, 3, 2, 'float32']);
    expect(Array.from((await src.read()).data)).toEqual(Array.from({ length: 24 }, (_, i) => (i - 5) * 0.5 + 3));
    const back = rasAffineFromGeometry(src.geometry as MedicalGeometry);
    const aff = [[-0.8, 0.1, 0.0, 90.0], [0.05, 0.9, 0.2, -126.0], [0.0, -0.3, 2.5, -72.0]];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) expect(back[i]![j]!).toBeCloseTo(aff[i]![j]!, 4);
  });
});

describe('NIfTI past 32767 voxels along an axis', () => {
  const t = tempDir('delineate-nifti2-');
  afterAll(() => t.cleanup());
  // A 40000-row strip (a long scan, a fuzzed header): NIfTI-1 keeps dimensions in int16, so it is written as NIfTI-2.
  const W = 3;
  const H = 40_000;
  const data = new Uint8Array(W * H).map((_, i) => (i * 7) % 251);
  const geometry: MedicalGeometry = { type: 'medical', spacingMm: [0.5, 0.25, 2], originMm: [10, -20, 30], direction: [0, 1, 0, -1, 0, 0, 0, 0, 1] };

  it('writes a NIfTI-2 that reads back with the same size, voxels and geometry', async () => {
    const file = path.join(t.dir, 'long.nii.gz');
    await writeNifti(file, { data, width: W, height: H, depth: 1, channels: 1, geometry });
    const src = await openImage(file);
    expect([src.width, src.height, src.depth, src.meta.niftiVersion]).toEqual([W, H, 1, 2]);
    expect(Array.from((await src.read()).data)).toEqual(Array.from(data));
    const g = src.geometry as MedicalGeometry;
    [...g.spacingMm, ...g.originMm, ...g.direction].forEach((v, i) => expect(v).toBeCloseTo([...geometry.spacingMm, ...geometry.originMm, ...geometry.direction][i]!, 6));
    await src.close();
  });

  it.skipIf(!hasNibabel)(`nibabel reads the same shape, affine and voxels${skipNote(!hasNibabel, 'python3-nibabel not installed')}`, async () => {
    const file = path.join(t.dir, 'long-nib.nii');
    await writeNifti(file, { data, width: W, height: H, depth: 1, channels: 1, geometry });
    const code = 'import json, sys, nibabel as nib, numpy as np\nimg = nib.load(sys.argv[1])\na = np.asarray(img.dataobj)\nprint(json.dumps({"v": type(img.header).__name__, "shape": list(a.shape), "sum": int(a.astype(np.int64).sum()), "first": int(a[1, 2]), "affine": img.affine.tolist()}))';
    const r = spawnSync('/usr/bin/python3', ['-c', code, file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as { v: string; shape: number[]; sum: number; first: number; affine: number[][] };
    expect(got.v).toBe('Nifti2Header');
    expect(got.shape).toEqual([W, H]);
    expect(got.sum).toBe(data.reduce((s, v) => s + v, 0));
    expect(got.first).toBe(data[2 * W + 1]);
    rasAffineFromGeometry(geometry).forEach((row, i) => row.forEach((v, j) => expect(got.affine[i]![j]).toBeCloseTo(v, 5)));
  });
});
