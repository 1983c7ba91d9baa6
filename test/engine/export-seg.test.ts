// DICOM SEG export/import on a generated CT series: dciodvfy (dicom3tools) finds no errors, pydicom reads the same
// masks back on the right slices, and our import puts every frame back where it came from.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManifestClass } from '../../preload/formats';
import { buildDicomSeg, codesForClass, hexToDicomLab, importDicomSeg, readSegSource, writeDicomSeg, type SegSource } from '../../main/engine/export/dicom-seg';
import { writeCtSeries, writeCtSlice, writeEnhancedMr } from '../fixtures/dicom-writer';
import { commandWorks, skipNote, tempDir } from './helpers';

const hasDciodvfy = spawnSync('dciodvfy', ['-'], { encoding: 'utf8' }).error === undefined;
const hasPydicom = commandWorks('/usr/bin/python3', ['-c', 'import pydicom, numpy']);

const W = 24;
const H = 20;
const D = 6;
const classes: ManifestClass[] = [
  { name: 'tumor', color: '#ff0000' },
  { name: 'edema', color: '#00ff00' },
];

/** Class 1: a box on slices 1-3; class 2: a ring around it on slices 2-4; slice 0 and 5 empty. */
function makeLabels(): Uint8Array {
  const labels = new Uint8Array(W * H * D);
  for (let z = 0; z < D; z++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = (z * H + y) * W + x;
        if (z >= 1 && z <= 3 && x >= 8 && x < 14 && y >= 6 && y < 12) labels[i] = 1;
        else if (z >= 2 && z <= 4 && x >= 5 && x < 17 && y >= 3 && y < 15) labels[i] = 2;
      }
    }
  }
  labels[(3 * H + 0) * W + 23] = 255; // nodata never becomes a segment
  return labels;
}

describe('DICOM SEG', () => {
  const tmp = tempDir('delineate-seg-');
  const series = path.join(tmp.dir, 'series');
  let source: SegSource;
  const labels = makeLabels();
  beforeAll(async () => {
    mkdirSync(series);
    writeCtSeries(series, {
      width: W,
      height: H,
      depth: D,
      spacingMm: [0.8, 0.7, 2.5],
      orientation: [1, 0, 0, 0, 1, 0],
      originMm: [-10, -20, 30],
      rescaleIntercept: -1024,
      value: (x, y, z) => 1000 + x + y + z,
      fileName: (z) => `im${(D - z) * 7}.dcm`,
      instanceNumber: (z) => 100 - z,
      seriesUid: '1.2.826.0.1.3680043.9.7433.3.77',
    });
    source = await readSegSource(series);
  });
  afterAll(() => tmp.cleanup());

  it('reads the source slices in volume order with their SOP Instance UIDs', () => {
    expect(source.slices).toHaveLength(D);
    expect(source.slices.map((s) => s.sopInstanceUid)).toEqual(Array.from({ length: D }, (_, z) => `1.2.826.0.1.3680043.9.7433.3.77.${z + 1}`));
    expect(source.slices[2]!.positionMm).toEqual([-10, -20, 35]);
    expect(source.patientStudy.PatientID).toBe('PHANTOM-ID-123');
  });

  it('exports an enhanced (multi-frame) MR: each SEG frame names its source frame, and reads back where it came from', async () => {
    // One file, 5 frames stored from the top down: frame k lies on slice 4 - k of the volume.
    const file = path.join(tmp.dir, 'enhanced.dcm');
    const F = 5;
    writeEnhancedMr(file, { rows: H, columns: W, frames: F, value: (x, y, f) => 100 + x + y + 7 * f, positionMm: (f) => [-10, -20, 40 - 2.5 * f], orientation: [1, 0, 0, 0, 1, 0], pixelSpacingMm: [0.7, 0.8], sliceThicknessMm: 2.5, seriesUid: '1.2.826.0.1.3680043.9.7433.3.79', studyUid: '1.2.826.0.1.3680043.9.7433.2.9', sopInstanceUid: '1.2.826.0.1.3680043.9.7433.3.79.1' });
    const enhanced = await readSegSource(file);
    expect(enhanced.slices.map((s) => s.frameNumber)).toEqual([5, 4, 3, 2, 1]);
    expect(new Set(enhanced.slices.map((s) => s.sopInstanceUid)).size).toBe(1);
    expect(enhanced.patientStudy.PatientID).toBe('ENH-ID-7');
    // Class 1 on slices 1 and 3 (frames 4 and 2), class 2 on slice 4 (frame 1).
    const lab = new Uint8Array(W * H * F);
    for (let i = 0; i < W * H; i++) {
      if (i % 3 === 0) lab[1 * W * H + i] = 1;
      if (i % 5 === 0) lab[3 * W * H + i] = 1;
      if (i % 7 === 0) lab[4 * W * H + i] = 2;
    }
    const seg = path.join(tmp.dir, 'enhanced-seg.dcm');
    await writeDicomSeg(seg, { source: enhanced, classes, labels: lab, nodataLabel: 255, algorithm: { name: 'm', version: '1' } });
    const back = await importDicomSeg(seg, enhanced);
    expect(back.framesPlaced).toBe(3);
    expect(Array.from(back.labels)).toEqual(Array.from(lab));
    if (hasPydicom) {
      const code = `
import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
refs = [[str(s.ReferencedSOPInstanceUID), int(s.ReferencedFrameNumber)] for fg in ds.PerFrameFunctionalGroupsSequence for s in fg.DerivationImageSequence[0].SourceImageSequence]
inst = [str(i.ReferencedSOPInstanceUID) for i in ds.ReferencedSeriesSequence[0].ReferencedInstanceSequence]
print(json.dumps({"refs": refs, "inst": inst}))
`;
      const r = spawnSync('/usr/bin/python3', ['-c', code, seg], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout) as { refs: Array<[string, number]>; inst: string[] };
      expect(got.refs.map((x) => x[1]).sort()).toEqual([1, 2, 4]);
      expect(got.inst).toEqual(['1.2.826.0.1.3680043.9.7433.3.79.1']);
    }
    if (hasDciodvfy) {
      const r = spawnSync('dciodvfy', ['-new', seg], { encoding: 'utf8' });
      const report = `${r.stdout}\n${r.stderr}`;
      expect(report.split('\n').filter((l) => /^Error/.test(l)), report).toEqual([]);
    }
  });

  it('references only the images the volume was made of, not a localizer filed under the same series UID', async () => {
    const dir = path.join(tmp.dir, 'with-localizer');
    mkdirSync(dir);
    const spec = { width: 8, height: 6, depth: 3, spacingMm: [1, 1, 2] as [number, number, number], orientation: [1, 0, 0, 0, 1, 0], originMm: [0, 0, 0] as [number, number, number], rescaleIntercept: -1024, value: () => 1000, fileName: (z: number) => `ax${z}.dcm`, instanceNumber: (z: number) => z + 1, seriesUid: '1.2.826.0.1.3680043.9.7433.3.80' };
    writeCtSeries(dir, spec);
    // A coronal localizer of another size whose position lies on the second axial plane.
    writeCtSlice(path.join(dir, 'loc.dcm'), { rows: 10, columns: 8, pixels: new Uint16Array(80).fill(500), positionMm: [0, 0, 2], orientation: [1, 0, 0, 0, 0, -1], pixelSpacingMm: [1, 1], sliceThicknessMm: 1, rescaleIntercept: -1024, instanceNumber: 9, seriesUid: spec.seriesUid, studyUid: '1.2.826.0.1.3680043.9.7433.2.1', sopInstanceUid: `${spec.seriesUid}.99` });
    const s = await readSegSource(dir);
    expect(s.slices.map((sl) => sl.sopInstanceUid)).toEqual([1, 2, 3].map((k) => `${spec.seriesUid}.${k}`));
  });

  it('refuses a series whose missing slice was filled in, naming the plane and NIfTI as the way out', async () => {
    const gap = path.join(tmp.dir, 'gap');
    mkdirSync(gap);
    writeCtSeries(gap, { width: 8, height: 6, depth: 5, spacingMm: [1, 1, 2], orientation: [1, 0, 0, 0, 1, 0], originMm: [0, 0, 0], rescaleIntercept: -1024, value: () => 1000, fileName: (z) => `g${z}.dcm`, instanceNumber: (z) => z + 1, seriesUid: '1.2.826.0.1.3680043.9.7433.3.78', skip: [2] });
    await expect(readSegSource(gap)).rejects.toThrow(/plane 2 of this series was filled in for missing slices.*export NIfTI instead/);
  });

  it('codes tumour classes as SNOMED CT Neoplasm and colours as CIELab', () => {
    expect(codesForClass({ name: 'Enhancing tumor', color: '#ff0000' }).type).toEqual({ CodeValue: '108369006', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Neoplasm' });
    expect(codesForClass({ name: 'edema', color: '#00ff00' }).type.CodeMeaning).toBe('Edema');
    const own = { category: { CodeValue: 'c', CodingSchemeDesignator: '99X', CodeMeaning: 'C' }, type: { CodeValue: 't', CodingSchemeDesignator: '99X', CodeMeaning: 'T' } };
    expect(codesForClass({ name: 'tumor', color: '#000000', dicomCodes: own }).type.CodeValue).toBe('t');
    const white = hexToDicomLab('#ffffff');
    expect(white[0]).toBe(65535);
    expect(Math.abs(white[1] - 32896)).toBeLessThan(40);
  });

  it('round-trips through our import, per class and per instance', async () => {
    const file = path.join(tmp.dir, 'seg.dcm');
    await writeDicomSeg(file, { source, classes, labels, nodataLabel: 255, algorithm: { name: 'test-model', version: '1' } });
    const back = await importDicomSeg(file, source);
    expect(back.segments.map((s) => s.label)).toEqual(['tumor', 'edema']);
    expect(back.segments[0]!.type?.CodeMeaning).toBe('Neoplasm');
    expect(back.framesPlaced).toBe(6); // tumour on 3 slices, edema on 3
    const expected = labels.map((v) => (v === 255 ? 0 : v));
    expect(Array.from(back.labels)).toEqual(Array.from(expected));
    // Per instance: two instances of class 1 on different slices.
    const instMap = new Uint32Array(W * H * D);
    labels.forEach((v, i) => {
      if (v === 1) instMap[i] = i < 2 * W * H ? 1 : 2;
    });
    const perInst = buildDicomSeg({ source, classes, labels, nodataLabel: 255, perInstance: true, instances: { map: instMap, records: [{ id: 1, classId: 1 }, { id: 2, classId: 1 }] }, algorithm: { name: 'm', version: '1' }, edited: true });
    const f2 = path.join(tmp.dir, 'inst.dcm');
    await writeDicomSeg(f2, { source, classes, labels, nodataLabel: 255, perInstance: true, instances: { map: instMap, records: [{ id: 1, classId: 1 }, { id: 2, classId: 1 }] }, algorithm: { name: 'm', version: '1' }, edited: true });
    expect(perInst.length).toBeGreaterThan(0);
    const back2 = await importDicomSeg(f2, source);
    expect(back2.segments.map((s) => s.label)).toEqual(['tumor 1', 'tumor 2']);
    expect(Array.from(back2.labels)).toEqual(Array.from(instMap));
  });

  it.skipIf(!hasDciodvfy)(`passes dciodvfy without errors${skipNote(!hasDciodvfy, 'dicom3tools not installed')}`, async () => {
    const file = path.join(tmp.dir, 'check.dcm');
    await writeDicomSeg(file, { source, classes, labels, nodataLabel: 255, algorithm: { name: 'test-model', version: '1' } });
    const r = spawnSync('dciodvfy', ['-new', file], { encoding: 'utf8' });
    const report = `${r.stdout}\n${r.stderr}`;
    const errors = report.split('\n').filter((l) => /^Error/.test(l));
    expect(errors, report).toEqual([]);
  });

  it.skipIf(!hasPydicom)(`reads back in pydicom with the same masks on the same slices${skipNote(!hasPydicom, 'python3-pydicom not installed')}`, async () => {
    const file = path.join(tmp.dir, 'py.dcm');
    await writeDicomSeg(file, { source, classes, labels, nodataLabel: 255, algorithm: { name: 'test-model', version: '1' } });
    const code = `
import json, sys, pydicom, numpy as np
ds = pydicom.dcmread(sys.argv[1])
arr = ds.pixel_array.reshape(int(ds.NumberOfFrames), ds.Rows, ds.Columns)
out = []
for k, fg in enumerate(ds.PerFrameFunctionalGroupsSequence):
    seg = int(fg.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
    uid = fg.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
    pos = [float(v) for v in fg.PlanePositionSequence[0].ImagePositionPatient]
    out.append({"seg": seg, "uid": uid, "pos": pos, "idx": np.flatnonzero(arr[k]).tolist()})
print(json.dumps({"frames": out, "ref": ds.ReferencedSeriesSequence[0].SeriesInstanceUID, "for": ds.FrameOfReferenceUID, "type": ds.SegmentSequence[0].SegmentedPropertyTypeCodeSequence[0].CodeMeaning}))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', code, file], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout) as { frames: Array<{ seg: number; uid: string; pos: number[]; idx: number[] }>; ref: string; type: string };
    expect(got.ref).toBe('1.2.826.0.1.3680043.9.7433.3.77');
    expect(got.type).toBe('Neoplasm');
    expect(got.frames).toHaveLength(6);
    for (const f of got.frames) {
      const z = source.slices.findIndex((s) => s.sopInstanceUid === f.uid);
      expect(z).toBeGreaterThanOrEqual(0);
      expect(f.pos).toEqual(source.slices[z]!.positionMm);
      const want: number[] = [];
      for (let i = 0; i < W * H; i++) if (labels[z * W * H + i] === f.seg) want.push(i);
      expect(f.idx).toEqual(want);
    }
    expect(readFileSync(file).subarray(128, 132).toString()).toBe('DICM');
  });
});
