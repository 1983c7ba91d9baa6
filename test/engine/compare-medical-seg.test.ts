// DICOM SEG of a follow-up date: each per-instance segment carries its lesion's TrackingID (0062,0020) and TrackingUID
// (0062,0021) from compare's change.json (pieces of a fragmented lesion share them; a coalesced lesion carries the
// older track's), read back with dcmjs, and dciodvfy finds no errors where it is installed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import dcmjs from 'dcmjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManifestClass } from '../../preload/formats';
import { readSegSource, writeDicomSeg, type SegSource } from '../../main/engine/export/dicom-seg';
import { exportResult, loadResultFolder } from '../../main/engine/export/exporter';
import { compareMedical } from '../../main/engine/compare/medical/index';
import { resolveTimePoints } from '../../main/engine/compare/timepoints';
import { measureFiles } from '../../main/engine/pipeline';
import { writeNifti } from '../../main/engine/io/nifti';
import { segTracking, trackingForResult } from '../../main/engine/compare/medical/seg-tracking';
import type { ChangeLesion, MedicalChange } from '../../main/engine/compare/medical/index';
import { writeCtSeries } from '../fixtures/dicom-writer';
import { skipNote, tempDir } from './helpers';

const hasDciodvfy = spawnSync('dciodvfy', ['-'], { encoding: 'utf8' }).error === undefined;
const W = 16;
const H = 12;
const D = 4;
const classes: ManifestClass[] = [{ name: 'tumor', color: '#ff0000' }];

function readSegments(file: string): Array<Record<string, unknown>> {
  const bytes = readFileSync(file);
  const dict = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer).dict;
  return (dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict) as { SegmentSequence: Array<Record<string, unknown>> }).SegmentSequence;
}

function lesion(track: number, instances: ChangeLesion['instances'], states: ChangeLesion['states'], extra: Partial<ChangeLesion> = {}): ChangeLesion {
  return { track, status: 'matched', instances, volumeMl: [1, 1], longAxisMm: [10, 10], shortAxisMm: [5, 5], changePct: 0, states, className: 'tumor', trackingUid: `2.25.${track}00${track}`, ...extra };
}

// Date 1: track 1 split into instances 1 and 2; tracks 2 and 3 coalesced into instance 3 (track 2 carries it).
const lesions = [
  lesion(1, [1, [1, 2]], ['present', 'split']),
  lesion(2, [2, 3], ['present', 'merged']),
  lesion(3, [3, 3], ['present', 'merged'], { status: 'merged', mergedInto: 2 }),
  lesion(4, [null, 4], ['absent', 'new'], { status: 'new', newAt: 1 }),
];

describe('follow-up tracks in DICOM SEG', () => {
  const tmp = tempDir('delineate-seg-tracks-');
  const series = path.join(tmp.dir, 'series');
  let source: SegSource;
  beforeAll(async () => {
    mkdirSync(series);
    writeCtSeries(series, { width: W, height: H, depth: D, spacingMm: [1, 1, 3], orientation: [1, 0, 0, 0, 1, 0], originMm: [0, 0, 0], rescaleIntercept: -1024, value: () => 1000, fileName: (z) => `s${z}.dcm`, instanceNumber: (z) => z + 1, seriesUid: '1.2.826.0.1.3680043.9.7433.3.88' });
    source = await readSegSource(series);
  });
  afterAll(() => tmp.cleanup());

  it('maps every instance of a date to its track: pieces share it, coalesced lesions take the older track', () => {
    const t = segTracking({ lesions }, 1);
    expect([...t.keys()].sort()).toEqual([1, 2, 3, 4]);
    expect(t.get(1)).toEqual({ trackingId: 'lesion 1', trackingUid: '2.25.1001' });
    expect(t.get(2)).toEqual(t.get(1));
    expect(t.get(3)!.trackingId).toBe('lesion 2');
    expect(t.get(4)!.trackingUid).toBe('2.25.4004');
    expect(segTracking({ lesions }, 0).get(3)!.trackingId).toBe('lesion 3');
  });

  it('finds the date of a result folder in change.json', async () => {
    const change: Pick<MedicalChange, 'kind' | 'timepoints' | 'lesions'> = { kind: 'medical', timepoints: [{ input: path.join(tmp.dir, 'b'), date: null }, { input: path.join(tmp.dir, 'f'), date: null }], lesions };
    const file = path.join(tmp.dir, 'change.json');
    writeFileSync(file, JSON.stringify(change));
    expect((await trackingForResult(file, path.join(tmp.dir, 'f'))).get(2)!.trackingId).toBe('lesion 1');
    await expect(trackingForResult(file, path.join(tmp.dir, 'other'))).rejects.toThrow(/none of its time points/);
  });

  it('writes TrackingID and TrackingUID on each per-instance segment', async () => {
    const labels = new Uint8Array(W * H * D);
    const map = new Uint32Array(W * H * D);
    const put = (id: number, x0: number, z: number): void => {
      for (let y = 2; y < 6; y++) for (let x = x0; x < x0 + 3; x++) {
        map[(z * H + y) * W + x] = id;
        labels[(z * H + y) * W + x] = 1;
      }
    };
    put(1, 0, 0);
    put(2, 4, 1);
    put(3, 8, 2);
    put(4, 12, 3);
    const file = path.join(tmp.dir, 'tracks.dcm');
    await writeDicomSeg(file, {
      source,
      classes,
      labels,
      nodataLabel: 255,
      perInstance: true,
      instances: { map, records: [1, 2, 3, 4].map((id) => ({ id, classId: 1 })) },
      tracking: segTracking({ lesions }, 1),
      algorithm: { name: 'test', version: '1' },
    });
    const bytes = readFileSync(file);
    const dict = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer).dict;
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict) as { SegmentSequence: Array<Record<string, unknown>> };
    const segs = ds.SegmentSequence;
    expect(segs.map((s) => s.TrackingID)).toEqual(['lesion 1', 'lesion 1', 'lesion 2', 'lesion 4']);
    expect(segs.map((s) => s.TrackingUID)).toEqual(['2.25.1001', '2.25.1001', '2.25.2002', '2.25.4004']);
    // The raw tags: (0062,0020) is UT in the current standard (PS3.6), (0062,0021) UI.
    const item = (dict['00620002']!.Value as Array<Record<string, { vr: string }>>)[0]!;
    expect(item['00620020']!.vr).toBe('UT');
    expect(item['00620021']!.vr).toBe('UI');
  });

  it.skipIf(!hasDciodvfy)(`passes dciodvfy without errors${skipNote(!hasDciodvfy, 'dicom3tools not installed')}`, () => {
    const r = spawnSync('dciodvfy', ['-new', path.join(tmp.dir, 'tracks.dcm')], { encoding: 'utf8' });
    const report = `${r.stdout}\n${r.stderr}`;
    expect(report.split('\n').filter((l) => /^Error/.test(l)), report).toEqual([]);
  });

  it('links the SEGs of two dates of a DICOM series: compare, then export --tracks on each result', async () => {
    // Two dates of the same series: a lesion that grows, and on the follow-up a second one.
    const dates: string[] = [];
    for (const [i, boxes] of [[[2, 6]], [[2, 8], [11, 14]]].entries()) {
      const labels = new Uint8Array(W * H * D);
      for (const [x0, x1] of boxes as number[][]) for (let z = 1; z < 3; z++) for (let y = 3; y < 9; y++) for (let x = x0!; x <= x1!; x++) labels[(z * H + y) * W + x] = 1;
      const geometry = source.geometry;
      await writeNifti(path.join(tmp.dir, `labels${i}.nii.gz`), { data: labels, width: W, height: H, depth: D, channels: 1, geometry });
      await measureFiles(series, path.join(tmp.dir, `labels${i}.nii.gz`), path.join(tmp.dir, `date${i}`), {});
      dates.push(path.join(tmp.dir, `date${i}`));
    }
    const { timepoints, warnings } = await resolveTimePoints(dates, { workDir: path.join(tmp.dir, 'work'), dates: ['2024-01-01', '2024-03-01'] });
    const change = await compareMedical(timepoints, { register: 'none', outDir: path.join(tmp.dir, 'cmp'), warnings });
    expect(change.lesions.map((l) => l.status)).toEqual(['matched', 'nonmeasurable']);
    const segs: Array<Array<Record<string, unknown>>> = [];
    for (const [i, dir] of dates.entries()) {
      const out = path.join(tmp.dir, `seg${i}.dcm`);
      await exportResult(await loadResultFolder(dir), 'seg', out, { tracking: await trackingForResult(path.join(tmp.dir, 'cmp', 'change.json'), dir) });
      segs.push(readSegments(out));
    }
    expect(segs[0]!.map((s) => s.TrackingID)).toEqual(['lesion 1']);
    expect(segs[1]!.map((s) => s.TrackingID)).toEqual(['lesion 1', 'lesion 2']);
    expect(segs[1]![0]!.TrackingUID).toBe(segs[0]![0]!.TrackingUID);
    expect(segs[1]![0]!.TrackingUID).toBe(change.lesions[0]!.trackingUid);
  });
});
