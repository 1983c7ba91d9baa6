// Series assembly on generated CT series: shuffled names, misleading InstanceNumber, oblique orientation,
// anisotropic spacing, RescaleIntercept -1024; compared with dcm2niix in world space. Plus gaps, several
// series in one folder, privacy of errors, and corrupt / truncated / non-DICOM files.

import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, describe as describeImage } from '../../main/engine/image';
import { CT_WINDOW_PRESETS, isDicomFile, listDicomSeries, openDicom } from '../../main/engine/io/dicom';
import { compareWithDcm2niix, hasCommand, hasPythonModules } from '../fixtures/dicom-oracle';
import { checkCompatibility, imageTraits } from '../../main/engine/inference/compatibility';
import { writeCtSeries, writeCtSlice, type CtSeriesSpec } from '../fixtures/dicom-writer';

const HAVE_DCM2NIIX = hasCommand('dcm2niix') && hasPythonModules('nibabel', 'numpy');
if (!HAVE_DCM2NIIX) console.warn('dcm2niix comparison skipped: needs dcm2niix and nibabel (python3-nibabel)');

const deg = Math.PI / 180;
const a = 20 * deg;
const b = 15 * deg;
// Oblique: rotated 20 degrees about z, then tilted 15 degrees; still orthonormal.
const OBLIQUE = [Math.cos(a), Math.sin(a), 0, -Math.sin(a) * Math.cos(b), Math.cos(a) * Math.cos(b), -Math.sin(b)];
const DEPTH = 12;
const perm = [7, 2, 11, 0, 5, 9, 1, 10, 3, 8, 6, 4];

function spec(overrides: Partial<CtSeriesSpec> = {}): CtSeriesSpec {
  return {
    width: 40,
    height: 32,
    depth: DEPTH,
    spacingMm: [0.7, 0.9, 2.5],
    orientation: OBLIQUE,
    originMm: [-120.5, 80.25, 33],
    rescaleIntercept: -1024,
    value: (x, y, z) => (x * 7 + y * 13 + z * 101) % 3000,
    fileName: (z) => `img_${String(perm[z]).padStart(3, '0')}.dcm`,
    // Reverse of the true order: a reader sorting by InstanceNumber gets the volume upside down.
    instanceNumber: (z) => 100 - z * 3,
    seriesUid: '1.2.826.0.1.3680043.9.7433.3.1',
    ...overrides,
  };
}

let root = '';
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'delineate-dicom-series-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function folder(name: string): string {
  const p = join(root, name);
  mkdirSync(p, { recursive: true });
  return p;
}

describe('generated CT series', () => {
  it('sorts by position, not by name or InstanceNumber, and gets oblique geometry right', async () => {
    const dir = folder('oblique');
    const s = spec();
    const normal = writeCtSeries(dir, s);
    const src = await openDicom(dir);
    expect([src.width, src.height, src.depth, src.channels]).toEqual([40, 32, DEPTH, 1]);
    expect(src.dtype).toBe('int16');
    const g = src.geometry;
    if (g.type !== 'medical') throw new Error('expected medical geometry');
    g.spacingMm.forEach((v, i) => expect(v).toBeCloseTo(s.spacingMm[i] ?? 0, 5));
    g.originMm.forEach((v, i) => expect(v).toBeCloseTo(s.originMm[i] ?? 0, 4));
    [...OBLIQUE, ...normal].forEach((v, i) => expect(g.direction[i]).toBeCloseTo(v, 5));
    const { data } = await src.read();
    for (const [x, y, z] of [[0, 0, 0], [39, 31, 11], [5, 17, 3], [22, 3, 8]] as const) {
      expect(data[(z * 32 + y) * 40 + x]).toBe(s.value(x, y, z) - 1024);
    }
    const info = describeImage(src);
    expect(info.modality).toBe('CT');
    expect(info.transferSyntax).toBe('1.2.840.10008.1.2.1');
    expect(info.seriesInstanceUid).toBe(s.seriesUid);
    expect(info.windowCenter).toBe(40);
    expect(info.windowWidth).toBe(400);
    // Privacy: the writer put a patient name and ID in every file.
    expect(JSON.stringify(info)).not.toMatch(/Phantom|PHANTOM-ID/);
  });

  it.skipIf(!HAVE_DCM2NIIX)(`matches dcm2niix voxel for voxel in world space${HAVE_DCM2NIIX ? '' : ' (skipped: needs dcm2niix and python3-nibabel)'}`, async () => {
    const dir = join(root, 'oblique');
    const src = await openDicom(dir);
    const g = src.geometry;
    if (g.type !== 'medical') throw new Error('expected medical geometry');
    const { data } = await src.read();
    const out = folder('dcm2niix-out');
    const cmp = compareWithDcm2niix(dir, out, {
      size: [src.width, src.height, src.depth],
      spacingMm: g.spacingMm,
      originMm: g.originMm,
      direction: g.direction,
      values: Float64Array.from(data),
    });
    expect(cmp.inside).toBe(cmp.total);
    expect(cmp.indexError).toBeLessThan(1e-3);
    expect(cmp.valueError).toBe(0);
  });

  it('detects a missing slice and refuses unless gaps are allowed', async () => {
    const dir = folder('gap');
    writeCtSeries(dir, spec({ skip: [5] }));
    await expect(openDicom(dir)).rejects.toThrow(/gap.*1 missing slice/);
    await expect(openDicom(dir)).rejects.toBeInstanceOf(InputError);
    const src = await openDicom(dir, { allowGaps: true });
    expect(src.meta.gapsAccepted).toBe(true);
    expect(String(src.meta.geometryWarnings)).toMatch(/missing slice.*filled at their positions by linear interpolation.*z = 5, zero-based/);
    // Every acquired slice on its true plane: the same geometry and voxels as the whole series, but for plane 5,
    // which lies halfway between its neighbours.
    const whole = await openDicom((() => {
      const d = folder('gap-whole');
      writeCtSeries(d, spec());
      return d;
    })());
    expect(src.depth).toBe(DEPTH);
    expect(src.meta.filledPlanes).toEqual([5]);
    const [g, w] = [src.geometry, whole.geometry];
    if (g.type !== 'medical' || w.type !== 'medical') throw new Error('expected medical geometry');
    [...g.spacingMm, ...g.originMm, ...g.direction].forEach((v, i) => expect(v).toBeCloseTo([...w.spacingMm, ...w.originMm, ...w.direction][i]!, 5));
    const got = (await src.read()).data;
    const want = (await whole.read()).data;
    const plane = 40 * 32;
    let acquiredDiffer = 0;
    for (let z = 0; z < DEPTH; z++) {
      for (let p = 0; p < plane; p++) {
        const i = z * plane + p;
        if (z === 5) {
          expect(got[i]).toBe(Math.round((Number(want[4 * plane + p]) + Number(want[6 * plane + p])) / 2));
        } else if (got[i] !== want[i]) acquiredDiffer++;
      }
    }
    expect(acquiredDiffer).toBe(0);
  });

  it('fills two missing slices in a row, and leaves a gap that is not whole slice steps stacked', async () => {
    const two = folder('gap-two');
    writeCtSeries(two, spec({ skip: [3, 4] }));
    const src = await openDicom(two, { allowGaps: true });
    expect(src.depth).toBe(DEPTH);
    expect(src.meta.filledPlanes).toEqual([3, 4]);
    const data = (await src.read()).data;
    const plane = 40 * 32;
    const v = (z: number, p: number): number => Number(data[z * plane + p]);
    for (const p of [0, 77, plane - 1]) {
      expect(v(3, p)).toBe(Math.round(v(2, p) + (v(5, p) - v(2, p)) / 3));
      expect(v(4, p)).toBe(Math.round(v(2, p) + (2 * (v(5, p) - v(2, p))) / 3));
    }
    // 3.5 steps between two slices: no plane to put the missing ones on; stacked at the usual spacing, as it says.
    const uneven = folder('gap-uneven');
    const n = writeCtSeries(uneven, spec({ depth: 3 }));
    const o = spec().originMm;
    writeCtSlice(join(uneven, 'late.dcm'), {
      rows: 32,
      columns: 40,
      pixels: new Uint16Array(40 * 32).fill(1500),
      positionMm: [o[0] + n[0] * 13.75, o[1] + n[1] * 13.75, o[2] + n[2] * 13.75],
      orientation: OBLIQUE,
      pixelSpacingMm: [0.9, 0.7],
      sliceThicknessMm: 2.5,
      rescaleIntercept: -1024,
      instanceNumber: 50,
      seriesUid: spec().seriesUid,
      studyUid: '1.2.826.0.1.3680043.9.7433.2.1',
      sopInstanceUid: `${spec().seriesUid}.99`,
    });
    const stacked = await openDicom(uneven, { allowGaps: true });
    expect(stacked.meta.filledPlanes).toBeUndefined();
    expect(stacked.depth).toBe(4);
    expect(String(stacked.meta.geometryWarnings)).toMatch(/1 gap.*about \d missing.*largest step 8\.75 mm/);
    expect(String(stacked.meta.geometryWarnings)).not.toMatch(/filled/);
    // Five planes made up for six acquired; a gap longer than that (a damaged position, or a slice of another
    // acquisition) is not made up but stacked.
    const far = folder('gap-far');
    writeCtSeries(far, spec({ depth: 11, skip: [3, 4, 5, 6, 7] }));
    const farSrc = await openDicom(far, { allowGaps: true });
    expect(farSrc.meta.filledPlanes).toEqual([3, 4, 5, 6, 7]);
    const further = folder('gap-further');
    writeCtSeries(further, spec({ depth: 14, skip: [3, 4, 5, 6, 7, 8, 9, 10, 11], fileName: (z) => `f${z}.dcm` }));
    const furtherSrc = await openDicom(further, { allowGaps: true });
    expect(furtherSrc.meta.filledPlanes).toBeUndefined();
    expect(furtherSrc.depth).toBe(5);
    expect(String(furtherSrc.meta.geometryWarnings)).toMatch(/about 9 missing/);
  });

  it('opens the largest stack of a series that mixes orientations or sizes (a localizer filed with it), and says what it left out', async () => {
    const dir = folder('mixed');
    writeCtSeries(dir, spec({ depth: 4 }));
    writeCtSeries(dir, spec({ depth: 1, orientation: [1, 0, 0, 0, 1, 0], fileName: () => 'other.dcm', originMm: [0, 0, 100] }));
    const mixed = await openDicom(dir);
    expect(mixed.depth).toBe(4);
    expect(mixed.meta.imagesLeftOut).toEqual({ count: 1, why: 'another orientation or pixel format' });
    const g = mixed.geometry as { direction: number[] };
    OBLIQUE.forEach((v, i) => expect(g.direction[i]).toBeCloseTo(v, 5));
    const warnings = checkCompatibility({ id: 'm', kinds: ['medical'], input: { channels: ['grey'] } } as unknown as Parameters<typeof checkCompatibility>[0], await imageTraits(mixed, []));
    expect(warnings.map((w) => [w.code, w.message])).toEqual([['series', 'series: 1 image of this series with another orientation or pixel format (a localizer or reformat?) was left out; the volume is made of the images that agree']]);
    const sizes = folder('sizes');
    writeCtSeries(sizes, spec({ depth: 3 }));
    writeCtSeries(sizes, spec({ depth: 1, width: 20, fileName: () => 'small.dcm', originMm: [0, 0, 100] }));
    const bySize = await openDicom(sizes);
    expect([bySize.width, bySize.depth]).toEqual([40, 3]);
    expect(bySize.meta.imagesLeftOut).toEqual({ count: 1, why: 'another size (20x32) or orientation' });
    // Orientations that differ by less than 1e-3 (rounding in the scanner's text) are one stack.
    const jitter = folder('jitter');
    writeCtSeries(jitter, spec({ depth: 3, fileName: (z) => `a${z}.dcm` }));
    const n = writeCtSeries(folder('jitter-probe'), spec({ depth: 1 }));
    const o = spec().originMm;
    writeCtSeries(jitter, spec({ depth: 1, orientation: OBLIQUE.map((v, i) => (i === 0 ? v + 4e-4 : v)), fileName: () => 'j.dcm', originMm: [o[0] + 3 * 2.5 * n[0], o[1] + 3 * 2.5 * n[1], o[2] + 3 * 2.5 * n[2]], seriesUid: spec().seriesUid, instanceNumber: () => 7 }));
    const one = await openDicom(jitter);
    expect(one.meta.imagesLeftOut).toBeUndefined();
    expect(one.depth).toBe(4);
  });

  it('lists several series, opens the largest by default and the one asked for', async () => {
    const dir = folder('two');
    writeCtSeries(dir, spec({ depth: 6 }));
    writeCtSeries(dir, spec({ depth: 3, width: 16, height: 16, seriesUid: '1.2.826.0.1.3680043.9.7433.3.2', fileName: (z) => `b${z}.dcm` }));
    writeFileSync(join(dir, 'notes.txt'), 'not DICOM');
    const list = await listDicomSeries(dir);
    expect(list.map((s) => [s.uid, s.slices, s.size])).toEqual([
      ['1.2.826.0.1.3680043.9.7433.3.1', 6, [40, 32, 6]],
      ['1.2.826.0.1.3680043.9.7433.3.2', 3, [16, 16, 3]],
    ]);
    const big = await openDicom(dir);
    expect(big.depth).toBe(6);
    expect((big.meta.series as unknown[]).length).toBe(2);
    const small = await openDicom(dir, { seriesUid: '1.2.826.0.1.3680043.9.7433.3.2' });
    expect([small.width, small.depth]).toEqual([16, 3]);
    await expect(openDicom(dir, { seriesUid: '9.9.9' })).rejects.toThrow(/no series with the requested/);
  });

  it('opens a list of files and reads regions', async () => {
    const dir = join(root, 'oblique');
    const files = perm.map((p) => join(dir, `img_${String(p).padStart(3, '0')}.dcm`)).reverse();
    const src = await openDicom(files);
    const s = spec();
    const block = await src.read({ x: 3, y: 4, z: 2, width: 5, height: 2, depth: 3 });
    expect([block.width, block.height, block.depth]).toEqual([5, 2, 3]);
    expect(block.data[0]).toBe(s.value(3, 4, 2) - 1024);
    expect(block.data[block.data.length - 1]).toBe(s.value(7, 5, 4) - 1024);
  });
});

describe('broken input', () => {
  let good = '';
  beforeAll(() => {
    const dir = folder('one');
    writeCtSeries(dir, spec({ depth: 1, fileName: () => 'slice.dcm' }));
    good = join(dir, 'slice.dcm');
  });

  async function outcome(path: string): Promise<'ok' | InputError> {
    try {
      const src = await openDicom(path);
      await src.read();
      return 'ok';
    } catch (e) {
      if (e instanceof InputError) return e;
      throw e;
    }
  }

  it('truncated files give one InputError naming the file', async () => {
    const bytes = readFileSync(good);
    for (const keep of [10, 131, 200, 600, bytes.length - 100]) {
      const p = join(root, `trunc-${keep}.dcm`);
      writeFileSync(p, bytes.subarray(0, keep));
      const r = await outcome(p);
      expect(r, `kept ${keep} bytes`).toBeInstanceOf(InputError);
      expect((r as InputError).file).toBe(p);
      expect((r as InputError).message).toMatch(/truncated|not a DICOM|corrupt/);
    }
  });

  it('corrupt files (bytes flipped) never throw anything but InputError', async () => {
    const bytes = readFileSync(good);
    let seed = 12345;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 40; trial++) {
      const copy = Uint8Array.from(bytes);
      // Flip bytes in the header, where they break structure (pixel bytes would only change values).
      for (let k = 0; k < 4; k++) {
        const at = 132 + Math.floor(rand() * 700);
        copy[at] = (copy[at] ?? 0) ^ 0xff;
      }
      const p = join(root, `corrupt-${trial}.dcm`);
      writeFileSync(p, copy);
      const r = await outcome(p);
      if (r !== 'ok') {
        expect(r.message).not.toMatch(/\n/);
        expect(r.message).not.toMatch(/Phantom|PHANTOM-ID/);
      }
    }
  });

  it('non-DICOM and empty files are refused clearly', async () => {
    const cases: [string, Uint8Array | string][] = [
      ['text.dcm', 'hello, this is not a DICOM file at all, just some text that is long enough'.repeat(5)],
      ['empty.dcm', ''],
      ['png.dcm', new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array(300).fill(7)])],
    ];
    for (const [name, content] of cases) {
      const p = join(root, name);
      writeFileSync(p, content);
      expect(await isDicomFile(p)).toBe(false);
      const r = await outcome(p);
      expect(r).toBeInstanceOf(InputError);
      expect((r as InputError).message).toMatch(/not a DICOM|empty/);
    }
    expect(await isDicomFile(good)).toBe(true);
    await expect(openDicom(join(root, 'does-not-exist'))).rejects.toThrow(/no such file/);
    const emptyDir = folder('empty-dir');
    await expect(openDicom(emptyDir)).rejects.toThrow(/no DICOM files found/);
  });
});

describe('window presets', () => {
  it('exposes the CT presets (width/center)', () => {
    expect(CT_WINDOW_PRESETS.map((p) => [p.name, p.widthHu, p.centerHu])).toEqual([
      ['brain', 80, 40],
      ['soft tissue', 400, 40],
      ['lung', 1500, -600],
      ['bone', 2500, 480],
      ['liver', 150, 90],
    ]);
  });
});
