// DICOM RT Structure Set export on a generated oblique CT series: filling each ROI's contours by the even-odd rule at
// the pixel centres gives back the label map exactly (holes, islands, pixels touching only diagonally), read by dcmjs
// here and by pydicom + scikit-image as the oracle; dciodvfy (dicom3tools) finds no errors in the IOD.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import dcmjs from 'dcmjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManifestClass } from '../../preload/formats';
import { readSegSource, type SegSource } from '../../main/engine/export/dicom-seg';
import { buildRtStruct, writeRtStruct } from '../../main/engine/export/dicom-rtstruct';
import { main } from '../../main/cli/index';
import { writeResultFolder } from '../../main/engine/export/results';
import { writeCtSeries, writeCtSlice } from '../fixtures/dicom-writer';
import { commandWorks, skipNote, tempDir } from './helpers';

const hasDciodvfy = spawnSync('dciodvfy', ['-'], { encoding: 'utf8' }).error === undefined;
const hasOracle = commandWorks('/usr/bin/python3', ['-c', 'import pydicom, numpy, skimage.draw']);

const W = 30;
const H = 24;
const D = 5;
const deg = Math.PI / 180;
// Oblique: the patient-to-pixel mapping must be inverted in full, not just scaled.
const ORIENT = [Math.cos(25 * deg), Math.sin(25 * deg), 0, -Math.sin(25 * deg) * Math.cos(10 * deg), Math.cos(25 * deg) * Math.cos(10 * deg), -Math.sin(10 * deg)];
const classes: ManifestClass[] = [
  { name: 'tumor', color: '#ff2000' },
  { name: 'edema', color: '#00c040' },
  { name: 'necrosis', color: '#2040ff' },
];

/** Class 1: a ring with a hole (slices 1-2), two islands and a diagonal pair (slice 3); class 2: a block; class 3: none. */
function makeLabels(): Uint8Array {
  const l = new Uint8Array(W * H * D);
  const set = (x: number, y: number, z: number, v: number): void => void (l[(z * H + y) * W + x] = v);
  for (let z = 1; z <= 2; z++) for (let y = 4; y < 16; y++) for (let x = 5; x < 18; x++) if (!(x >= 9 && x < 13 && y >= 8 && y < 12)) set(x, y, z, 1);
  for (let y = 2; y < 5; y++) for (let x = 2; x < 6; x++) set(x, y, 3, 1);
  for (let y = 10; y < 14; y++) for (let x = 20; x < 27; x++) set(x, y, 3, 1);
  set(14, 18, 3, 1);
  set(15, 19, 3, 1);
  for (let z = 2; z <= 4; z++) for (let y = 17; y < 22; y++) for (let x = 3; x < 9; x++) set(x, y, z, 2);
  l[(0 * H + 0) * W + 29] = 255; // nodata is no ROI
  return l;
}

/** Even-odd fill of one slice's contours at the pixel centres, after mapping patient mm back to pixels. */
function rasterise(contours: number[][], source: SegSource): Uint8Array {
  const g = source.geometry;
  const [sx, sy] = g.spacingMm;
  const o = g.originMm;
  const r = g.direction.slice(0, 3);
  const c = g.direction.slice(3, 6);
  const mask = new Uint8Array(W * H);
  for (const data of contours) {
    const poly: Array<[number, number]> = [];
    for (let i = 0; i < data.length; i += 3) {
      const d = [data[i]! - o[0], data[i + 1]! - o[1], data[i + 2]! - o[2]];
      poly.push([(d[0]! * r[0]! + d[1]! * r[1]! + d[2]! * r[2]!) / sx, (d[0]! * c[0]! + d[1]! * c[1]! + d[2]! * c[2]!) / sy]);
    }
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let inside = false;
        for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
          const [xi, yi] = poly[i]!;
          const [xj, yj] = poly[j]!;
          if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
        }
        if (inside) mask[y * W + x] = mask[y * W + x]! ^ 1;
      }
    }
  }
  return mask;
}

type Item = Record<string, unknown>;
const items = (v: unknown): Item[] => (Array.isArray(v) ? (v as Item[]) : v ? [v as Item] : []);

describe('DICOM RT Structure Set', () => {
  const tmp = tempDir('delineate-rtstruct-');
  const series = path.join(tmp.dir, 'series');
  const labels = makeLabels();
  let source: SegSource;
  beforeAll(async () => {
    mkdirSync(series);
    writeCtSeries(series, {
      width: W,
      height: H,
      depth: D,
      spacingMm: [0.8, 0.7, 2.5],
      orientation: ORIENT,
      originMm: [-40.5, 12.25, 60],
      rescaleIntercept: -1024,
      value: (x, y, z) => 1000 + x + y + z,
      fileName: (z) => `im${(D - z) * 3}.dcm`,
      instanceNumber: (z) => 50 - z,
      seriesUid: '1.2.826.0.1.3680043.9.7433.3.88',
    });
    source = await readSegSource(series);
  });
  afterAll(() => tmp.cleanup());

  it('gives back the label map exactly when its contours are filled even-odd, each on its own source slice', () => {
    const bytes = buildRtStruct({ source, classes, labels, nodataLabel: 255, algorithm: { name: 'test-model', version: '3' } });
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer).dict) as Item;
    expect(ds.Modality).toBe('RTSTRUCT');
    expect(ds.FrameOfReferenceUID ?? items(ds.ReferencedFrameOfReferenceSequence)[0]!.FrameOfReferenceUID).toBe(source.frameOfReferenceUid);
    const rois = items(ds.StructureSetROISequence);
    expect(rois.map((r) => r.ROIName)).toEqual(['tumor', 'edema', 'necrosis']);
    expect(rois.every((r) => r.ROIGenerationAlgorithm === 'AUTOMATIC')).toBe(true);
    const zOfUid = new Map(source.slices.map((s, z) => [s.sopInstanceUid, z]));
    const back = new Uint8Array(W * H * D);
    const counts: number[] = [];
    for (const rc of items(ds.ROIContourSequence)) {
      const roi = Number(rc.ReferencedROINumber);
      const bySlice = new Map<number, number[][]>();
      const contours = items(rc.ContourSequence);
      counts.push(contours.length);
      for (const c of contours) {
        expect(c.ContourGeometricType).toBe('CLOSED_PLANAR');
        const data = (Array.isArray(c.ContourData) ? c.ContourData : [c.ContourData]).map(Number);
        expect(data.length).toBe(3 * Number(c.NumberOfContourPoints));
        const z = zOfUid.get(String(items(c.ContourImageSequence)[0]!.ReferencedSOPInstanceUID));
        expect(z).toBeDefined();
        bySlice.set(z!, [...(bySlice.get(z!) ?? []), data]);
      }
      for (const [z, list] of bySlice) rasterise(list, source).forEach((v, i) => void (v && (back[z * W * H + i] = roi)));
    }
    // Tumour: outer + hole on slices 1 and 2, then two islands and the two diagonal pixels (apart) on slice 3.
    expect(counts).toEqual([2 + 2 + 4, 3, 0]);
    expect(Array.from(back)).toEqual(Array.from(labels.map((v) => (v === 255 ? 0 : v))));
  });

  it('one ROI per object with --per-instance, named by class and id, SEMIAUTOMATIC once edited', () => {
    const map = new Uint32Array(labels.length);
    labels.forEach((v, i) => void (map[i] = v === 1 ? (i < 3 * W * H ? 1 : 2) : v === 2 ? 3 : 0));
    const bytes = buildRtStruct({ source, classes, labels, nodataLabel: 255, perInstance: true, instances: { map, records: [{ id: 1, classId: 1 }, { id: 2, classId: 1 }, { id: 3, classId: 2 }] }, algorithm: { name: 'm', version: '1' }, edited: true });
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer).dict) as Item;
    expect(items(ds.StructureSetROISequence).map((r) => [r.ROIName, r.ROIGenerationAlgorithm])).toEqual([
      ['tumor 1', 'SEMIAUTOMATIC'],
      ['tumor 2', 'SEMIAUTOMATIC'],
      ['edema 3', 'SEMIAUTOMATIC'],
    ]);
    expect(items(ds.ROIContourSequence).map((rc) => items(rc.ContourSequence).length)).toEqual([4, 4, 3]);
  });

  it.skipIf(!hasOracle)(`pydicom and scikit-image fill the same label map from the file${skipNote(!hasOracle, 'python3-pydicom, numpy or python3-skimage not installed')}`, async () => {
    const file = path.join(tmp.dir, 'oracle.dcm');
    await writeRtStruct(file, { source, classes, labels, nodataLabel: 255, algorithm: { name: 'test-model', version: '3' } });
    const geo = path.join(tmp.dir, 'geometry.json');
    writeFileSync(geo, JSON.stringify({ W, H, D, g: source.geometry, uids: source.slices.map((s) => s.sopInstanceUid) }));
    const code = `
import json, sys, numpy as np, pydicom
from skimage.draw import polygon2mask
ds = pydicom.dcmread(sys.argv[1]); m = json.load(open(sys.argv[2]))
W, H, D, g = m['W'], m['H'], m['D'], m['g']
sp, o, d = np.array(g['spacingMm']), np.array(g['originMm']), np.array(g['direction']).reshape(3, 3)
z_of = {u: z for z, u in enumerate(m['uids'])}
out = np.zeros((D, H, W), np.uint8)
for rc in ds.ROIContourSequence:
    per = {}
    for c in rc.get('ContourSequence', []):
        pts = np.array(c.ContourData, float).reshape(-1, 3) - o
        col, row = pts @ d[0] / sp[0], pts @ d[1] / sp[1]
        z = z_of[c.ContourImageSequence[0].ReferencedSOPInstanceUID]
        per[z] = per.get(z, np.zeros((H, W), bool)) ^ polygon2mask((H, W), np.stack([row, col], 1))
    for z, mask in per.items():
        out[z][mask] = int(rc.ReferencedROINumber)
print(json.dumps(out.ravel().tolist()))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', code, file, geo], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(Array.from(labels.map((v) => (v === 255 ? 0 : v))));
  });

  it.skipIf(!hasDciodvfy)(`passes dciodvfy without errors${skipNote(!hasDciodvfy, 'dicom3tools not installed')}`, async () => {
    const file = path.join(tmp.dir, 'check.dcm');
    await writeRtStruct(file, { source, classes, labels, nodataLabel: 255, algorithm: { name: 'test-model', version: '3' } });
    const res = spawnSync('dciodvfy', ['-new', file], { encoding: 'utf8' });
    const report = `${res.stdout}\n${res.stderr}`;
    expect(report.split('\n').filter((l) => /^Error/.test(l)), report).toEqual([]);
  });

  it('places each contour on its own image, also in a series stacked with an uneven gap (opened with gaps allowed)', async () => {
    const dir = path.join(tmp.dir, 'uneven');
    mkdirSync(dir);
    const base = { width: 8, height: 6, spacingMm: [1, 1, 2.5] as [number, number, number], orientation: [1, 0, 0, 0, 1, 0], rescaleIntercept: -1024, value: () => 1000, instanceNumber: (z: number) => z + 1, seriesUid: '1.2.826.0.1.3680043.9.7433.3.89' };
    writeCtSeries(dir, { ...base, depth: 3, originMm: [0, 0, 0], fileName: (z) => `a${z}.dcm` });
    // 3.5 steps further on: not a whole number of slices, so the reader stacks it (and says so) rather than fill.
    writeCtSlice(path.join(dir, 'late.dcm'), { rows: 6, columns: 8, pixels: new Uint16Array(48).fill(1000), positionMm: [0, 0, 13.75], orientation: [1, 0, 0, 0, 1, 0], pixelSpacingMm: [1, 1], sliceThicknessMm: 2.5, rescaleIntercept: -1024, instanceNumber: 9, seriesUid: base.seriesUid, studyUid: '1.2.826.0.1.3680043.9.7433.2.1', sopInstanceUid: `${base.seriesUid}.99` });
    const src = await readSegSource(dir);
    expect(src.slices.map((sl) => sl.positionMm[2])).toEqual([0, 2.5, 5, 13.75]);
    const lab = new Uint8Array(8 * 6 * 4);
    lab[3 * 48 + 20] = 1;
    const bytes = buildRtStruct({ source: src, classes, labels: lab, nodataLabel: 255, algorithm: { name: 'm', version: '1' } });
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer).dict) as Item;
    const contour = items(items(ds.ROIContourSequence)[0]!.ContourSequence)[0]!;
    expect(items(contour.ContourImageSequence)[0]!.ReferencedSOPInstanceUID).toBe(`${base.seriesUid}.99`);
    const data = (contour.ContourData as number[]).map(Number);
    expect(new Set(data.filter((_, i) => i % 3 === 2))).toEqual(new Set([13.75]));
  });

  it('`delineate export --to rtstruct` writes it from a result folder; a map result is refused', async () => {
    const result = path.join(tmp.dir, 'result');
    const instances = new Uint32Array(labels.length);
    labels.forEach((v, i) => void (instances[i] = v === 255 ? 0 : v));
    const doc = {
      source: { file: series, kind: 'medical' as const, width: W, height: H, depth: D, seriesInstanceUid: '1.2.826.0.1.3680043.9.7433.3.88' },
      model: { id: 'm', name: 'Tumor model', version: '2' },
      classes: classes.map((c, k) => ({ id: k + 1, name: c.name, color: c.color, instanceCount: 1, pixelCount: 1, fraction: 0 })),
      instances: [
        { id: 1, classId: 1, className: 'tumor', pixelCount: 1, bbox: { min: [0, 0, 0], max: [1, 1, 1] }, centroidPx: [0, 0, 0] },
        { id: 2, classId: 2, className: 'edema', pixelCount: 1, bbox: { min: [0, 0, 0], max: [1, 1, 1] }, centroidPx: [0, 0, 0] },
      ],
    };
    await writeResultFolder(result, doc, { kind: 'medical', width: W, height: H, depth: D, geometry: source.geometry, classes, labels, nodataLabel: 255, instances, instanceCount: 2 });
    const out = path.join(tmp.dir, 'cli', 'rt.dcm');
    expect(await main(['export', result, '--to', 'rtstruct', '--out', out])).toBe(0);
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(readFileSync(out).buffer as ArrayBuffer).dict) as Item;
    expect(items(ds.StructureSetROISequence).map((r) => r.ROIName)).toEqual(['tumor', 'edema', 'necrosis']);
    expect(items(ds.ROIContourSequence).map((rc) => items(rc.ContourSequence).length)).toEqual([8, 3, 0]);
  });
});
