// DICOM SR measurement report (TID 1500) of a medical comparison, checked by independent readers: dcmtk's dsrdump
// parses it and shows the tracking ids and volumes, dicom3tools' dciodvfy finds no errors in the Enhanced SR IOD, and
// pydicom reads every Measurement Group's volume and axes back equal to change.json's. On DICOM dates the SR's
// TrackingUIDs equal the SEGs' of the same lesion, and the source series are referenced. Generated data only.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import dcmjs from 'dcmjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MedicalGeometry } from '../../preload/formats';
import { compareMedical, type MedicalChange } from '../../main/engine/compare/medical/index';
import { resolveTimePoints } from '../../main/engine/compare/timepoints';
import { trackingForResult } from '../../main/engine/compare/medical/seg-tracking';
import { exportMeasurementReport, findingSiteFromHints } from '../../main/engine/compare/medical/report';
import { buildMeasurementReport, decimalString } from '../../main/engine/export/dicom-sr';
import { exportResult, loadResultFolder } from '../../main/engine/export/exporter';
import { readSegSource } from '../../main/engine/export/dicom-seg';
import { writeNifti } from '../../main/engine/io/nifti';
import { measureFiles } from '../../main/engine/pipeline';
import { writeCtSeries } from '../fixtures/dicom-writer';
import { ensureCliBundle, runCli, skipNote, tempDir } from './helpers';

const works = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { encoding: 'utf8' }).error === undefined;
const hasDsrdump = works('dsrdump', ['--version']);
const hasDciodvfy = works('dciodvfy', ['-']);
const hasPydicom = spawnSync('/usr/bin/python3', ['-c', 'import pydicom'], { encoding: 'utf8' }).status === 0;

/** pydicom: every Measurement Group as {trackingId, trackingUid, timePoint, volume, long, short, category, text}. */
const PYDICOM_GROUPS = `
import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
def name(it): return it.ConceptNameCodeSequence[0].CodeMeaning
groups = []
def walk(items):
    for it in items:
        if it.ValueType == 'CONTAINER' and name(it) == 'Measurement Group':
            g = {}
            for c in it.ContentSequence:
                n = name(c)
                if c.ValueType == 'TEXT': g[n] = c.TextValue
                elif c.ValueType == 'UIDREF': g[n] = c.UID
                elif c.ValueType == 'CODE': g[n] = c.ConceptCodeSequence[0].CodeValue
                elif c.ValueType == 'IMAGE':
                    r = c.ReferencedSOPSequence[0]
                    nums = r.get('ReferencedSegmentNumber', [])
                    g[n] = [r.ReferencedSOPInstanceUID, [int(x) for x in (nums if isinstance(nums, (list, pydicom.multival.MultiValue)) else [nums])]]
                elif c.ValueType == 'NUM':
                    mv = c.MeasuredValueSequence[0]
                    g[n] = [float(mv.NumericValue), mv.MeasurementUnitsCodeSequence[0].CodeValue, mv.MeasurementUnitsCodeSequence[0].CodingSchemeDesignator]
            groups.append(g)
        elif 'ContentSequence' in it:
            walk(it.ContentSequence)
walk(ds.ContentSequence)
evidence = [[s.SeriesInstanceUID, len(s.ReferencedSOPSequence)] for st in ds.get('CurrentRequestedProcedureEvidenceSequence', []) for s in st.ReferencedSeriesSequence]
print(json.dumps({'sopClass': ds.SOPClassUID, 'template': ds.ContentTemplateSequence[0].TemplateIdentifier, 'title': name(ds), 'patient': str(ds.PatientName), 'groups': groups, 'evidence': evidence}))
`;

interface PyGroup {
  [concept: string]: string | [number, string, string] | [string, number[]];
}
interface PyReport {
  sopClass: string;
  template: string;
  title: string;
  patient: string;
  groups: PyGroup[];
  evidence: Array<[string, number]>;
}

function pydicomReport(file: string): PyReport {
  const r = spawnSync('/usr/bin/python3', ['-c', PYDICOM_GROUPS, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as PyReport;
}

/** The groups pydicom read, keyed by "trackingUid@timePoint". */
function byTrackAndDate(groups: PyGroup[]): Map<string, PyGroup> {
  return new Map(groups.map((g) => [`${String(g['Tracking Unique Identifier'])}@${String(g['Time Point'])}`, g]));
}

const W = 48;
const H = 40;
const D = 8;
const GEOM: MedicalGeometry = { type: 'medical', spacingMm: [1, 1, 2], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };

function boxes(list: Array<[number, number, number, number, number, number]>, w = W, h = H, d = D): Uint8Array {
  const m = new Uint8Array(w * h * d);
  for (const [x0, x1, y0, y1, z0, z1] of list) for (let z = z0; z <= z1; z++) for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) m[(z * h + y) * w + x] = 1;
  return m;
}

describe('DICOM SR of a NIfTI comparison (delineate export --to sr)', () => {
  const work = tempDir('delineate-sr-');
  const dir = work.dir;
  const report = path.join(dir, 'report.dcm');
  let change: MedicalChange;
  let cli: ReturnType<typeof runCli>;
  beforeAll(async () => {
    await ensureCliBundle();
    const vol = (data: Uint8Array | Float32Array) => ({ data, width: W, height: H, depth: D, channels: 1, geometry: GEOM });
    // Lesion 1 shrinks, lesion 2 grows, and a third appears on the follow-up.
    const masks = [boxes([[2, 25, 2, 15, 1, 4], [32, 43, 20, 31, 2, 5]]), boxes([[2, 13, 2, 11, 1, 4], [30, 45, 18, 35, 2, 6], [4, 18, 26, 37, 2, 5]])];
    for (const [i, mask] of masks.entries()) {
      await writeNifti(path.join(dir, `t${i}.nii.gz`), vol(Float32Array.from(mask, (v) => 100 + 50 * v)));
      await writeNifti(path.join(dir, `t${i}_mask.nii.gz`), vol(mask));
      await measureFiles(path.join(dir, `t${i}.nii.gz`), path.join(dir, `t${i}_mask.nii.gz`), path.join(dir, `t${i}`), {});
    }
    const c = runCli(['compare', path.join(dir, 't0'), path.join(dir, 't1'), '--register', 'none', '--dates', '2024-01-10,2024-04-10', '--out', path.join(dir, 'cmp')]);
    if (c.code !== 0) throw new Error(c.stderr);
    change = JSON.parse(readFileSync(path.join(dir, 'cmp', 'change.json'), 'utf8')) as MedicalChange;
    cli = runCli(['export', path.join(dir, 'cmp'), '--to', 'sr', '--out', report]);
  }, 120_000);
  afterAll(() => work.cleanup());

  it('writes the report and says what it holds', () => {
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/\(sr, 3 lesion tracks, 5 measurement groups; volumetric \w\w, RECIST \w\w, RANO \w\w\)/);
    expect(change.lesions.map((l) => l.status)).toEqual(['matched', 'matched', 'new']);
  });

  it.skipIf(!hasDsrdump)(`dsrdump parses it without errors and shows the tracking ids and volumes${skipNote(!hasDsrdump, 'dcmtk not installed')}`, () => {
    const r = spawnSync('dsrdump', ['-Ee', '+Pu', report], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.split('\n').filter((l) => /^E:/.test(l))).toEqual([]);
    expect(r.stdout).toMatch(/^Enhanced SR Document/);
    for (const l of change.lesions) {
      expect(r.stdout).toContain(`"Tracking Identifier")="lesion ${l.track}"`);
      expect(r.stdout).toContain(`"Tracking Unique Identifier")="${l.trackingUid}"`);
      for (const v of l.volumeMl) if (v !== null) expect(r.stdout).toContain(`"Volume")="${decimalString(v)}" (ml,UCUM,"milliliter")`);
    }
  });

  it.skipIf(!hasDciodvfy)(`dciodvfy finds no errors in the Enhanced SR${skipNote(!hasDciodvfy, 'dicom3tools not installed')}`, () => {
    const r = spawnSync('dciodvfy', ['-new', report], { encoding: 'utf8' });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(out).toMatch(/EnhancedSR/);
    expect(out.split('\n').filter((l) => /^Error/.test(l)), out).toEqual([]);
  });

  it.skipIf(!hasPydicom)(`pydicom reads every volume and axis back equal to change.json${skipNote(!hasPydicom, 'python3-pydicom not installed')}`, () => {
    const sr = pydicomReport(report);
    expect(sr.sopClass).toBe('1.2.840.10008.5.1.4.1.1.88.22');
    expect([sr.template, sr.title]).toEqual(['1500', 'Imaging Measurement Report']);
    // NIfTI: no patient known, no evidence to reference.
    expect(sr.patient).toBe('Anonymous^');
    expect(sr.evidence).toEqual([]);
    const groups = byTrackAndDate(sr.groups);
    let expected = 0;
    for (const l of change.lesions) {
      change.timepoints.forEach((tp, i) => {
        const v = l.volumeMl[i];
        const g = groups.get(`${l.trackingUid}@${tp.date}`);
        if (v === null) {
          expect(g).toBeUndefined();
          return;
        }
        expected++;
        expect(g!['Tracking Identifier']).toBe(`lesion ${l.track}`);
        expect(g!.Volume).toEqual([v, 'ml', 'UCUM']);
        expect(g!['Long axis']).toEqual([l.longAxisMm[i], 'mm', 'UCUM']);
        expect(g!['Short axis']).toEqual([l.shortAxisMm[i], 'mm', 'UCUM']);
        expect(g!['Time Point Type']).toBe(i === 0 ? 'C1442488' : '126074');
        expect(g!['Description of Change']).toContain(`track status ${l.status}`);
        // Target lesions at baseline (RECIST) carry 112074, other baseline lesions 112075, new ones neither.
        expect(g!['Baseline Category']).toBe(l.instances[0] === null ? undefined : change.response.recistTargets.includes(l.track) ? '112074' : '112075');
      });
    }
    expect(sr.groups).toHaveLength(expected);
  });

  it.skipIf(!hasPydicom)(`--targets re-chooses the RECIST targets in the report${skipNote(!hasPydicom, 'python3-pydicom not installed')}`, () => {
    const out = path.join(dir, 'targets.dcm');
    const r = runCli(['export', path.join(dir, 'cmp'), '--to', 'sr', '--targets', '2', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const groups = pydicomReport(out).groups;
    const baselineCategory = (track: number): unknown => groups.find((g) => g['Tracking Identifier'] === `lesion ${track}`)!['Baseline Category'];
    expect([baselineCategory(1), baselineCategory(2), baselineCategory(3)]).toEqual(['112075', '112074', undefined]);
    const dump = spawnSync('/usr/bin/python3', ['-c', 'import sys,pydicom; ds=pydicom.dcmread(sys.argv[1]); print("\\n".join(e.value for e in ds.iterall() if e.keyword == "TextValue"))', out], { encoding: 'utf8' }).stdout;
    expect(dump).toMatch(/RECIST target lesions: lesion 2;/);
    expect(dump).toMatch(/RECIST target lesions chosen by the user: track 2/);
    expect(dump).toMatch(/Imaging-only assessment/);
  });

  it('copies the patient of a DICOM date, or leaves it out with --deidentify', () => {
    const series = { studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4', slices: [{ sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '1.2.3.4.1' }], patientStudy: { PatientName: 'Doe^Jane', PatientID: 'P-17', StudyDate: '20240410' } };
    const timepoints = change.timepoints.map((tp) => ({ date: tp.date, series }));
    const patient = (deidentify: boolean): [unknown, unknown, unknown] => {
      const bytes = buildMeasurementReport({ change, timepoints, deidentify });
      const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer).dict);
      const name = ds.PatientName as { Alphabetic?: string } | Array<{ Alphabetic?: string }> | string;
      return [typeof name === 'string' ? name : (Array.isArray(name) ? name[0] : name)?.Alphabetic, ds.PatientID ?? '', ds.StudyInstanceUID];
    };
    expect(patient(false)).toEqual(['Doe^Jane', 'P-17', '1.2.3']);
    expect(patient(true)).toEqual(['Anonymous^', '', '1.2.3']);
  });

  it('names the finding site only when a model, class or path names an organ', () => {
    expect(findingSiteFromHints(['brain-flair-lgg'])).toEqual({ CodeValue: '12738006', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Brain' });
    expect(findingSiteFromHints(['/data/longitudinal-gbm-t1c/patient01/t0'])?.CodeMeaning).toBe('Brain');
    expect(findingSiteFromHints(['liver-tumour'])?.CodeValue).toBe('10200004');
    expect(findingSiteFromHints(['class 1', '/tmp/t0'])).toBeNull();
  });

  it('refuses a bad target choice, a geo comparison and a missing folder with one line each, writing nothing', () => {
    const out = path.join(dir, 'bad.dcm');
    const bad = runCli(['export', path.join(dir, 'cmp'), '--to', 'sr', '--targets', '3', '--out', out]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--targets 3: track 3 cannot be a target: it is not present at baseline \(status new\)/);
    mkdirSync(path.join(dir, 'geo'));
    writeFileSync(path.join(dir, 'geo', 'change.json'), JSON.stringify({ kind: 'geo', transitions: [] }));
    const geo = runCli(['export', path.join(dir, 'geo'), '--to', 'sr', '--out', out]);
    expect(geo.code).toBe(2);
    expect(geo.stderr).toMatch(/not a medical comparison \(kind geo\)/);
    const missing = runCli(['export', path.join(dir, 'nothing'), '--to', 'sr', '--out', out]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    const flag = runCli(['export', path.join(dir, 'cmp'), '--to', 'sr', '--per-instance', '--out', out]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--per-instance does not apply to --to sr/);
    const notSeg = runCli(['export', path.join(dir, 'cmp'), '--to', 'sr', '--seg', report, '--out', out]);
    expect(notSeg.code).toBe(2);
    expect(notSeg.stderr).toMatch(/report\.dcm: not a DICOM Segmentation/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('DICOM SR of a DICOM comparison: references and the SEGs\' TrackingUIDs', () => {
  const tmp = tempDir('delineate-sr-dicom-');
  const SW = 16;
  const SH = 12;
  const SD = 4;
  const seriesUids = ['1.2.826.0.1.3680043.9.7433.3.91', '1.2.826.0.1.3680043.9.7433.3.92'];
  const dates: string[] = [];
  let change: MedicalChange;
  const report = path.join(tmp.dir, 'report.dcm');
  beforeAll(async () => {
    for (const [i, lesions] of [[[2, 6]], [[2, 8], [10, 14]]].entries()) {
      const series = path.join(tmp.dir, `series${i}`);
      mkdirSync(series);
      writeCtSeries(series, { width: SW, height: SH, depth: SD, spacingMm: [1, 1, 3], orientation: [1, 0, 0, 0, 1, 0], originMm: [0, 0, 0], rescaleIntercept: -1024, value: () => 1000, fileName: (z) => `s${z}.dcm`, instanceNumber: (z) => z + 1, seriesUid: seriesUids[i]! });
      const source = await readSegSource(series);
      const labels = boxes(lesions.map(([x0, x1]) => [x0!, x1!, 2, 10, 1, 3] as [number, number, number, number, number, number]), SW, SH, SD);
      await writeNifti(path.join(tmp.dir, `labels${i}.nii.gz`), { data: labels, width: SW, height: SH, depth: SD, channels: 1, geometry: source.geometry });
      await measureFiles(series, path.join(tmp.dir, `labels${i}.nii.gz`), path.join(tmp.dir, `date${i}`), {});
      dates.push(path.join(tmp.dir, `date${i}`));
    }
    const { timepoints, warnings } = await resolveTimePoints(dates, { workDir: path.join(tmp.dir, 'work'), dates: ['2024-01-01', '2024-03-01'] });
    change = await compareMedical(timepoints, { register: 'none', outDir: path.join(tmp.dir, 'cmp'), warnings });
    const srWarnings: string[] = [];
    await exportMeasurementReport(path.join(tmp.dir, 'cmp'), report, { warnings: srWarnings });
    expect(srWarnings).toEqual([]);
  }, 120_000);
  afterAll(() => tmp.cleanup());

  it('gives a lesion the same TrackingUID in the SR as in the SEG of each date', async () => {
    const fromSr = new Map<string, string>();
    const bytes = readFileSync(report);
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer).dict);
    type Node = { ValueType?: string; ConceptNameCodeSequence?: { CodeMeaning: string } | Array<{ CodeMeaning: string }>; ContentSequence?: Node | Node[]; TextValue?: string; UID?: string };
    const list = (v: Node | Node[] | undefined): Node[] => (Array.isArray(v) ? v : v ? [v] : []);
    const meaning = (n: Node): string => (Array.isArray(n.ConceptNameCodeSequence) ? n.ConceptNameCodeSequence[0]!.CodeMeaning : (n.ConceptNameCodeSequence?.CodeMeaning ?? ''));
    const walk = (nodes: Node[]): void => {
      for (const n of nodes) {
        if (meaning(n) === 'Measurement Group') {
          const items = list(n.ContentSequence);
          const id = items.find((c) => meaning(c) === 'Tracking Identifier')!.TextValue!;
          const uid = items.find((c) => meaning(c) === 'Tracking Unique Identifier')!.UID!;
          expect(fromSr.get(id) ?? uid).toBe(uid);
          fromSr.set(id, uid);
        } else walk(list(n.ContentSequence));
      }
    };
    walk(list(ds.ContentSequence as Node[]));
    expect([...fromSr.keys()].sort()).toEqual(change.lesions.map((l) => `lesion ${l.track}`).sort());
    let compared = 0;
    for (const [i, dir] of dates.entries()) {
      const seg = path.join(tmp.dir, `seg${i}.dcm`);
      await exportResult(await loadResultFolder(dir), 'seg', seg, { tracking: await trackingForResult(path.join(tmp.dir, 'cmp', 'change.json'), dir) });
      const segBytes = readFileSync(seg);
      const segDs = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(segBytes.buffer.slice(segBytes.byteOffset, segBytes.byteOffset + segBytes.byteLength) as ArrayBuffer).dict) as { SegmentSequence: Array<{ TrackingID: string; TrackingUID: string }> | { TrackingID: string; TrackingUID: string } };
      for (const s of Array.isArray(segDs.SegmentSequence) ? segDs.SegmentSequence : [segDs.SegmentSequence]) {
        expect(fromSr.get(s.TrackingID)).toBe(s.TrackingUID);
        compared++;
      }
    }
    // Date 0: one lesion; date 1: it and a second one.
    expect(compared).toBe(3);
  });

  it.skipIf(!hasPydicom)(`references both series and copies the study of the latest date${skipNote(!hasPydicom, 'python3-pydicom not installed')}`, () => {
    const sr = pydicomReport(report);
    // Both series belong to one study here (the fixture's), so both are current evidence, every slice of each.
    expect(sr.evidence.sort()).toEqual(seriesUids.map((u) => [u, SD]).sort());
    const groups = sr.groups;
    expect(groups.filter((g) => g['Time Point'] === '2024-01-01').map((g) => g['Source series for segmentation'])).toEqual([seriesUids[0]]);
    expect(new Set(groups.filter((g) => g['Time Point'] === '2024-03-01').map((g) => g['Source series for segmentation']))).toEqual(new Set([seriesUids[1]]));
    const study = spawnSync('/usr/bin/python3', ['-c', 'import sys,pydicom; ds=pydicom.dcmread(sys.argv[1]); print(ds.StudyInstanceUID)', report], { encoding: 'utf8' }).stdout.trim();
    expect(study).toBe('1.2.826.0.1.3680043.9.7433.2.1');
  });

  it.skipIf(!hasPydicom)(`--seg: each group references its lesion's segments in that date's SEG${skipNote(!hasPydicom, 'python3-pydicom not installed')}`, async () => {
    const segUids: string[] = [];
    const segFiles: string[] = [];
    const trackOfSegment: Array<Map<number, string>> = [];
    for (const [i, dir] of dates.entries()) {
      const seg = path.join(tmp.dir, `ref-seg${i}.dcm`);
      await exportResult(await loadResultFolder(dir), 'seg', seg, { tracking: await trackingForResult(path.join(tmp.dir, 'cmp', 'change.json'), dir) });
      const bytes = readFileSync(seg);
      const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer).dict);
      const segments = (Array.isArray(ds.SegmentSequence) ? ds.SegmentSequence : [ds.SegmentSequence]) as Array<{ SegmentNumber: number; TrackingUID: string }>;
      segUids.push(String(ds.SOPInstanceUID));
      trackOfSegment.push(new Map(segments.map((x) => [x.SegmentNumber, x.TrackingUID])));
      segFiles.push(seg);
    }
    const out = path.join(tmp.dir, 'with-segs.dcm');
    const warnings: string[] = [];
    // Given in reverse: each SEG is matched to its date by the series it was made from.
    await exportMeasurementReport(path.join(tmp.dir, 'cmp'), out, { warnings, segs: [...segFiles].reverse() });
    expect(warnings).toEqual([]);
    const sr = pydicomReport(out);
    expect(sr.groups).toHaveLength(3);
    for (const g of sr.groups) {
      const i = g['Time Point'] === '2024-01-01' ? 0 : 1;
      const [uid, numbers] = g['Referenced Segment'] as [string, number[]];
      expect(uid).toBe(segUids[i]);
      expect(numbers.length).toBeGreaterThan(0);
      for (const n of numbers) expect(trackOfSegment[i]!.get(n)).toBe(g['Tracking Unique Identifier']);
    }
    // The SEGs are evidence beside the images.
    expect(sr.evidence.filter(([, count]) => count === 1)).toHaveLength(2);
    const r = spawnSync('dciodvfy', ['-new', out], { encoding: 'utf8' });
    if (!r.error) expect(`${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /^Error/.test(l))).toEqual([]);
  });

  it.skipIf(!hasDciodvfy)(`dciodvfy finds no errors${skipNote(!hasDciodvfy, 'dicom3tools not installed')}`, () => {
    const r = spawnSync('dciodvfy', ['-new', report], { encoding: 'utf8' });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(out.split('\n').filter((l) => /^Error/.test(l)), out).toEqual([]);
  });
});
