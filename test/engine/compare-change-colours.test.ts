// Colour tables of compare's change maps: change.nii.gz gets an ITK-SNAP label description file (change.label.txt) and
// a 3D Slicer colour table (change.ctbl) that name every from -> to code present in the volume; change.tif carries a
// GDAL-readable palette with the new class's colour on every changed code present. Generated data only.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GeoGeometry, ManifestClass, MedicalGeometry } from '../../preload/formats';
import { compareMedical } from '../../main/engine/compare/medical/index';
import { compareGeo } from '../../main/engine/compare/geo/index';
import { resolveTimePoints } from '../../main/engine/compare/timepoints';
import { writeNifti } from '../../main/engine/io/nifti';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { measureFiles } from '../../main/engine/pipeline';
import { hasGdal, readBand0, skipNote, tempDir } from './helpers';

const W = 40;
const H = 30;
const D = 6;

function boxes(list: Array<[number, number, number, number, number, number, number]>): Uint8Array {
  const m = new Uint8Array(W * H * D);
  for (const [c, x0, x1, y0, y1, z0, z1] of list) for (let z = z0; z <= z1; z++) for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) m[(z * H + y) * W + x] = c;
  return m;
}

const presentCodes = (data: ArrayLike<number>): number[] => [...new Set(Array.from(data))].sort((a, b) => a - b);

interface Row {
  value: number;
  name: string;
  rgba: [number, number, number, number];
}

function readItkSnap(file: string): Row[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([01])\s+([01])\s+"(.*)"$/.exec(l);
      if (!m) throw new Error(`not an ITK-SNAP label line: ${l}`);
      return { value: Number(m[1]), name: m[8]!, rgba: [Number(m[2]), Number(m[3]), Number(m[4]), Math.round(Number(m[5]) * 255)] };
    });
}

function readSlicer(file: string): Row[] {
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  const count = /^# (\d+) values$/.exec(lines[1] ?? '');
  const rows = lines
    .filter((l) => !l.startsWith('#'))
    .map((l) => {
      const m = /^(\d+) (\S+) (\d+) (\d+) (\d+) (\d+)$/.exec(l);
      if (!m) throw new Error(`not a Slicer colour table line: ${l}`);
      return { value: Number(m[1]), name: m[2]!, rgba: [Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])] as [number, number, number, number] };
    });
  expect(Number(count?.[1])).toBe(rows.length);
  return rows;
}

describe('change.nii.gz colour tables', () => {
  const tmp = tempDir('delineate-change-colours-');
  const classes: ManifestClass[] = [
    { name: 'enhancing tumour', color: '#ff0000' },
    { name: 'edema', color: '#00c000' },
  ];
  let codes: number[] = [];
  beforeAll(async () => {
    // Baseline: a tumour with edema beside it; follow-up (on a grid shifted by 4 mm, so part of the baseline lies
    // outside it: 65535): the tumour grown into part of the edema and one slice up, shrunk at one side, a new edema spot.
    const base: MedicalGeometry = { type: 'medical', spacingMm: [1, 1, 2], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
    const follow: MedicalGeometry = { ...base, originMm: [4, 0, 0] };
    const masks = [boxes([[1, 10, 20, 5, 15, 1, 4], [2, 21, 28, 5, 15, 1, 4]]), boxes([[1, 6, 20, 5, 12, 1, 5], [2, 21, 24, 5, 15, 1, 4], [2, 26, 33, 20, 27, 2, 3]])];
    for (const [i, mask] of masks.entries()) {
      const geometry = i === 0 ? base : follow;
      await writeNifti(path.join(tmp.dir, `t${i}.nii.gz`), { data: Float32Array.from(mask, (v) => 100 + 40 * v), width: W, height: H, depth: D, channels: 1, geometry });
      await writeNifti(path.join(tmp.dir, `t${i}_mask.nii.gz`), { data: mask, width: W, height: H, depth: D, channels: 1, geometry });
      await measureFiles(path.join(tmp.dir, `t${i}.nii.gz`), path.join(tmp.dir, `t${i}_mask.nii.gz`), path.join(tmp.dir, `t${i}`), { classes });
    }
    const { timepoints, warnings } = await resolveTimePoints([path.join(tmp.dir, 't0'), path.join(tmp.dir, 't1')], { workDir: path.join(tmp.dir, 'work'), dates: ['2024-01-01', '2024-06-01'] });
    await compareMedical(timepoints, { register: 'none', outDir: path.join(tmp.dir, 'out'), warnings });
    codes = presentCodes((await readBand0(path.join(tmp.dir, 'out', 'change.nii.gz'))).data);
  }, 120_000);
  afterAll(() => tmp.cleanup());

  it('the volume holds stable, new, gone and outside codes (the test exercises each kind)', () => {
    expect(codes).toEqual(expect.arrayContaining([0, 1, 2, 100, 101, 201, 202, 65535]));
  });

  it('ITK-SNAP: one label per code present, named from -> to, in the class colours', () => {
    const rows = readItkSnap(path.join(tmp.dir, 'out', 'change.label.txt'));
    expect(rows.map((r) => r.value)).toEqual(codes);
    const at = (v: number): Row => rows.find((r) => r.value === v)!;
    expect(at(0)).toMatchObject({ name: 'none -> none', rgba: [0, 0, 0, 0] });
    expect(at(1)).toMatchObject({ name: 'none -> enhancing tumour', rgba: [255, 0, 0, 255] });
    expect(at(201)).toMatchObject({ name: 'edema -> enhancing tumour', rgba: [255, 0, 0, 255] });
    expect(at(2).rgba).toEqual([0, 192, 0, 255]);
    expect(at(202).name).toBe('edema -> edema');
    // Stable tissue is paler than new tissue of the same class, gone tissue darker.
    expect(at(101).rgba[1]).toBeGreaterThan(at(1).rgba[1]);
    expect(at(100).rgba[0]).toBeLessThan(255);
    expect(at(65535)).toMatchObject({ name: 'outside (not on both dates)', rgba: [0, 0, 0, 0] });
  });

  it('3D Slicer: the same codes, names and colours, one token per name', () => {
    const itk = readItkSnap(path.join(tmp.dir, 'out', 'change.label.txt'));
    const slicer = readSlicer(path.join(tmp.dir, 'out', 'change.ctbl'));
    expect(slicer.map((r) => r.value)).toEqual(codes);
    expect(slicer.find((r) => r.value === 201)!.name).toBe('edema_->_enhancing_tumour');
    expect(slicer.map((r) => r.rgba)).toEqual(itk.map((r) => r.rgba));
  });
});

describe('change.tif palette', () => {
  const tmp = tempDir('delineate-change-palette-');
  const classes: ManifestClass[] = [
    { name: 'building', color: '#ff0000' },
    { name: 'field', color: '#00ff00' },
  ];
  const GW = 32;
  const GH = 20;
  const geometry: GeoGeometry = { type: 'geo', geotransform: [500000, 10, 0, 5200000, 0, -10], crs: 'EPSG:32633' };
  let codes: number[] = [];
  beforeAll(async () => {
    const before = new Uint8Array(GW * GH).fill(2);
    const after = before.slice();
    for (let y = 5; y < 10; y++) for (let x = 5; x < 12; x++) after[y * GW + x] = 1;
    after.fill(255, 18 * GW);
    const dirs: string[] = [];
    for (const [name, labels] of [['p-202309', before], ['p-202412', after]] as const) {
      await writeTiff(path.join(tmp.dir, `${name}.tif`), { data: labels.map((v) => (v === 255 ? 0 : v * 50)), width: GW, height: GH, depth: 1, channels: 1, geometry });
      await writeTiff(path.join(tmp.dir, `${name}-labels.tif`), { data: labels, width: GW, height: GH, depth: 1, channels: 1, geometry, nodata: 255 });
      await measureFiles(path.join(tmp.dir, `${name}.tif`), path.join(tmp.dir, `${name}-labels.tif`), path.join(tmp.dir, name), { classes });
      dirs.push(path.join(tmp.dir, name));
    }
    const { timepoints, warnings } = await resolveTimePoints(dirs, { workDir: path.join(tmp.dir, 'work') });
    await compareGeo(timepoints, { outDir: path.join(tmp.dir, 'out'), warnings });
    codes = presentCodes((await readBand0(path.join(tmp.dir, 'out', 'change.tif'))).data);
  }, 120_000);
  afterAll(() => tmp.cleanup());

  it.skipIf(!hasGdal)(`GDAL reads a colour entry for every code present, the new class's colour where it changed${skipNote(!hasGdal, 'gdalinfo missing')}`, () => {
    expect(codes).toEqual([201, 202, 65535]);
    const info = JSON.parse(spawnSync('gdalinfo', ['-json', path.join(tmp.dir, 'out', 'change.tif')], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).stdout) as { bands: Array<{ type: string; colorInterpretation?: string; colorTable?: { count: number; entries: number[][] } }> };
    const band = info.bands[0]!;
    expect(band.type).toBe('UInt16');
    expect(band.colorInterpretation).toBe('Palette');
    for (const c of codes) expect(band.colorTable!.entries[c], `code ${c}`).toBeDefined();
    expect(band.colorTable!.entries[201]!.slice(0, 3)).toEqual([255, 0, 0]);
    // Unchanged field is a pale green, not the changed colour.
    expect(band.colorTable!.entries[202]!.slice(0, 3)).not.toEqual([0, 255, 0]);
  });
});
