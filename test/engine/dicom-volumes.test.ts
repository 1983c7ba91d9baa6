// A DICOM series holding several volumes at each slice position (a perfusion or diffusion series, several echoes),
// as single-frame files whose names interleave the volumes: it opens volume by volume (the first by default, the
// n-th as "<uid>#n"), each run says so, and a result of volume n reopens and exports volume n's own images.
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDicomSeries, openDicom } from '../../main/engine/io/dicom';
import { checkCompatibility, imageTraits } from '../../main/engine/inference/compatibility';
import { readSegSource } from '../../main/engine/export/dicom-seg';
import { seriesKeyOf } from '../../main/engine/io/dicom/series';
import { main } from '../../main/cli/index';
import { writeCtSlice } from '../fixtures/dicom-writer';
import { writeTestModels } from '../e2e/ui-helpers';
import { tempDir } from './helpers';
import { readFileSync } from 'node:fs';

const UID = '1.2.826.0.1.3680043.9.7433.3.95';
const W = 12;
const H = 10;
const Z = 5;
const V = 3;
/** Stored value of voxel (x, y) at position z of volume v (0-based): each volume its own level. */
const value = (x: number, y: number, z: number, v: number): number => 1000 + 300 * v + 10 * z + ((x + y) % 7);

describe('a DICOM series with several volumes at each position', () => {
  const tmp = tempDir('delineate-volumes-');
  const dir = path.join(tmp.dir, 'dsc');
  const models = path.join(tmp.dir, 'models');
  beforeAll(() => {
    mkdirSync(dir);
    writeTestModels(models);
    for (let v = 0; v < V; v++) {
      for (let z = 0; z < Z; z++) {
        const pixels = new Uint16Array(W * H);
        for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) pixels[y * W + x] = value(x, y, z, v);
        // Names sort position-major (z0v0, z0v1, ...), InstanceNumber runs volume by volume, as scanners number them.
        writeCtSlice(path.join(dir, `IM_${z}_${v}.dcm`), {
          rows: H,
          columns: W,
          pixels,
          positionMm: [0, 0, 4 * z],
          orientation: [1, 0, 0, 0, 1, 0],
          pixelSpacingMm: [1, 1],
          sliceThicknessMm: 4,
          rescaleIntercept: -1024,
          instanceNumber: v * Z + z + 1,
          seriesUid: UID,
          studyUid: '1.2.826.0.1.3680043.9.7433.2.5',
          sopInstanceUid: `${UID}.${v + 1}.${z + 1}`,
          seriesDescription: 'DSC perfusion',
        });
      }
    }
  });
  afterAll(() => tmp.cleanup());

  const stored = async (src: Awaited<ReturnType<typeof openDicom>>): Promise<number[]> => {
    const d = (await src.read()).data;
    return Array.from({ length: Z }, (_, z) => Number(d[z * W * H]) + 1024);
  };

  it('lists each volume as a series, opens the first by default and the n-th as <uid>#n', async () => {
    const list = await listDicomSeries(dir);
    expect(list.map((s) => [s.uid, s.description, s.slices])).toEqual([
      [UID, 'DSC perfusion (volume 1 of 3)', Z],
      [`${UID}#2`, 'DSC perfusion (volume 2 of 3)', Z],
      [`${UID}#3`, 'DSC perfusion (volume 3 of 3)', Z],
    ]);
    const first = await openDicom(dir);
    expect([first.depth, first.meta.seriesInstanceUid]).toEqual([Z, UID]);
    expect(await stored(first)).toEqual(Array.from({ length: Z }, (_, z) => value(0, 0, z, 0)));
    const third = await openDicom(dir, { seriesUid: `${UID}#3` });
    expect(third.meta.seriesInstanceUid).toBe(UID);
    expect(third.meta.seriesVolume).toEqual({ index: 3, of: 3 });
    expect(await stored(third)).toEqual(Array.from({ length: Z }, (_, z) => value(0, 0, z, 2)));
    const warnings = checkCompatibility({ id: 'm', kinds: ['medical'], input: { channels: ['grey'] } } as unknown as Parameters<typeof checkCompatibility>[0], await imageTraits(third, []));
    expect(warnings.map((w) => w.message)).toEqual([`series: this series holds 3 volumes (3 images at each slice position: time points, echoes or b-values); volume 3 of 3 is open (series ${UID}#3; the others open as ${UID}#2 to #3)`]);
  });

  it('references volume n\'s own images in a SEG, and a result of volume n reopens volume n', async () => {
    const s = await readSegSource(dir, { seriesUid: `${UID}#2` });
    expect(s.seriesInstanceUid).toBe(UID);
    expect(s.slices.map((sl) => sl.sopInstanceUid)).toEqual(Array.from({ length: Z }, (_, z) => `${UID}.2.${z + 1}`));
    expect(seriesKeyOf({ seriesInstanceUid: UID, seriesVolume: 2 })).toBe(`${UID}#2`);
    expect(seriesKeyOf({ seriesInstanceUid: UID })).toBe(UID);

    const out = path.join(tmp.dir, 'run');
    expect(await main(['segment', dir, '--series', `${UID}#2`, '--model', path.join(models, 'bright'), '--out', out])).toBe(0);
    const doc = JSON.parse(readFileSync(path.join(out, 'instances.json'), 'utf8')) as { source: { seriesInstanceUid: string; seriesVolume?: number }; warnings?: Array<{ code: string }> };
    expect(doc.source).toMatchObject({ seriesInstanceUid: UID, seriesVolume: 2 });
    expect(doc.warnings?.map((w) => w.code)).toContain('series');
    const seg = path.join(tmp.dir, 'v2.seg.dcm');
    expect(await main(['export', out, '--to', 'seg', '--out', seg])).toBe(0);
    const text = readFileSync(seg).toString('latin1');
    expect(text).toContain(`${UID}.2.3`);
    expect(text).not.toContain(`${UID}.1.3`);
  });
});

describe('a folder holding the same images twice', () => {
  const tmp = tempDir('delineate-copies-');
  afterAll(() => tmp.cleanup());
  it('reads each image once: copies are neither slices sharing a position nor a second volume', async () => {
    const dir = path.join(tmp.dir, 'study');
    mkdirSync(path.join(dir, 'copy'), { recursive: true });
    for (let z = 0; z < 4; z++) {
      const slice = { rows: H, columns: W, pixels: new Uint16Array(W * H).fill(900 + z), positionMm: [0, 0, 2 * z] as [number, number, number], orientation: [1, 0, 0, 0, 1, 0], pixelSpacingMm: [1, 1] as [number, number], sliceThicknessMm: 2, rescaleIntercept: -1024, instanceNumber: z + 1, seriesUid: UID, studyUid: '1.2.826.0.1.3680043.9.7433.2.6', sopInstanceUid: `${UID}.7.${z + 1}` };
      writeCtSlice(path.join(dir, `s${z}.dcm`), slice);
      writeCtSlice(path.join(dir, 'copy', `s${z}.dcm`), slice);
    }
    const list = await listDicomSeries(dir);
    expect(list.map((s) => [s.uid, s.slices])).toEqual([[UID, 4]]);
    const src = await openDicom(dir);
    expect([src.depth, src.meta.seriesVolume]).toEqual([4, undefined]);
  });
});
