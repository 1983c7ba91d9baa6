// The DICOM SR measurement report of a medical comparison: reads compare's change.json (a compare output folder or the
// file itself), applies user-chosen target lesions, finds each date's result folder and, where its image was a DICOM
// series, that series (references, patient and study), and writes the report (export/dicom-sr.ts) atomically.
// TrackingIDs and TrackingUIDs come from change.json, as in `export --to seg --tracks`, so SEG and SR name a lesion alike.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import dcmjs from 'dcmjs';
import { seriesKeyOf } from '../../io/dicom/series';
import type { InstancesDocument, ManifestClass } from '../../../../preload/formats';
import { InputError } from '../../image';
import { isDicomFile } from '../../io/dicom/index';
import { codesForClass, readSegSource, type CodedTerm } from '../../export/dicom-seg';
import { SR_CODES, writeMeasurementReport, type MeasurementReportInput, type SrSegmentation, type SrTimepoint } from '../../export/dicom-sr';
import { loadSession } from '../../session/session';
import { resultName } from '../../pipeline';
import type { MedicalChange } from './index';
import { withTargets } from './response';

export interface ReportOptions {
  /** User-chosen RECIST target lesions (track ids), as `compare --targets`. */
  targets?: number[];
  deidentify?: boolean;
  /** DICOM SEGs of the dates (export --to seg --tracks): each lesion's groups reference its segments. */
  segs?: string[];
  /** Appended to; the caller prints them. */
  warnings: string[];
}

async function stat(p: string): Promise<Awaited<ReturnType<typeof fs.stat>> | null> {
  try {
    return await fs.stat(p);
  } catch {
    return null;
  }
}

/** change.json from a compare output folder (or the file), checked to be a medical comparison. */
export async function readChange(input: string): Promise<{ file: string; change: MedicalChange }> {
  const st = await stat(input);
  if (!st) throw new InputError(input, 'not found (give the folder compare wrote, or its change.json)');
  const file = st.isDirectory() ? path.join(input, 'change.json') : input;
  let change: MedicalChange;
  try {
    change = JSON.parse(await fs.readFile(file, 'utf8')) as MedicalChange;
  } catch (err) {
    throw new InputError(file, `cannot read the comparison (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (change?.kind !== 'medical') throw new InputError(file, `not a medical comparison (kind ${String((change as { kind?: unknown } | null)?.kind)}); a DICOM SR report needs tracked lesions`);
  if (!Array.isArray(change.lesions) || !Array.isArray(change.timepoints) || !change.response || !change.totals) throw new InputError(file, 'change.json lacks lesions, timepoints, totals or response');
  if (change.lesions.some((l) => typeof l.trackingUid !== 'string')) throw new InputError(file, 'lesions have no trackingUid (made by an older version: compare again)');
  return { file, change };
}

async function readDocument(dir: string): Promise<InstancesDocument | null> {
  try {
    const doc = JSON.parse(await fs.readFile(path.join(dir, 'instances.json'), 'utf8')) as InstancesDocument;
    return doc && typeof doc === 'object' && doc.source && Array.isArray(doc.classes) ? doc : null;
  } catch {
    return null;
  }
}

/** A date's result folder document and image: the input as compare was given it (a result folder, a session, or an image compare segmented into its timepoints folder). */
async function locateDate(changeFile: string, input: string): Promise<{ doc: InstancesDocument | null; imagePath: string | null }> {
  const changeDir = path.dirname(changeFile);
  const candidates = [path.resolve(input), path.resolve(changeDir, '..', input), path.resolve(changeDir, input)];
  for (const c of candidates) {
    const st = await stat(c);
    if (!st) continue;
    if (st.isDirectory()) {
      const doc = await readDocument(c);
      if (doc) return { doc, imagePath: typeof doc.source.file === 'string' && doc.source.file ? path.resolve(c, doc.source.file) : null };
    } else if (/\.json$/i.test(c)) {
      try {
        const session = await loadSession(c);
        return { doc: session.result ? await readDocument(session.result) : null, imagePath: session.image.path };
      } catch {
        continue;
      }
    }
    // An image (file, or a DICOM folder): compare segmented it into <out>/timepoints/t<i>-<name>.
    const made = path.join(changeDir, 'timepoints');
    const suffix = `-${resultName(input)}`;
    for (const name of (await stat(made))?.isDirectory() ? await fs.readdir(made) : []) {
      if (!/^t\d+-/.test(name) || !name.endsWith(suffix)) continue;
      const doc = await readDocument(path.join(made, name));
      if (doc) return { doc, imagePath: c };
    }
    return { doc: null, imagePath: c };
  }
  return { doc: null, imagePath: null };
}

async function isDicomSource(p: string): Promise<boolean> {
  const st = await stat(p);
  if (!st) return false;
  return st.isDirectory() || (await isDicomFile(p));
}

const SEG_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.66.4';

/** The identity of a SEG, the series it was made from and its segments' TrackingUIDs. */
export async function readSegmentation(file: string): Promise<SrSegmentation> {
  let ds: Record<string, unknown>;
  try {
    const bytes = await fs.readFile(file);
    ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, { untilTag: '7FE00010' }).dict);
  } catch (err) {
    throw new InputError(file, `cannot read the DICOM file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  // dcmjs unwraps one-item sequences; both shapes are read.
  const list = (v: unknown): Array<Record<string, unknown>> => (Array.isArray(v) ? (v as Array<Record<string, unknown>>) : v && typeof v === 'object' ? [v as Record<string, unknown>] : []);
  if (ds.SOPClassUID !== SEG_SOP_CLASS) throw new InputError(file, 'not a DICOM Segmentation (export --to seg --tracks makes one per date)');
  const sourceSeriesUid = list(ds.ReferencedSeriesSequence)[0]?.SeriesInstanceUID;
  if (typeof sourceSeriesUid !== 'string') throw new InputError(file, 'the SEG names no source series (Referenced Series Sequence)');
  return {
    sopClassUid: SEG_SOP_CLASS,
    sopInstanceUid: String(ds.SOPInstanceUID),
    studyInstanceUid: String(ds.StudyInstanceUID),
    seriesInstanceUid: String(ds.SeriesInstanceUID),
    sourceSeriesUid,
    segments: list(ds.SegmentSequence).map((sg) => ({ number: Number(sg.SegmentNumber), ...(typeof sg.TrackingUID === 'string' ? { trackingUid: sg.TrackingUID } : {}) })),
  };
}

/** Organ named by a model, class or path (the shipped medical models are brain models); null when none is recognisable. */
export function findingSiteFromHints(hints: string[]): CodedTerm | null {
  const t = hints.join(' ').toLowerCase();
  const sites: Array<[RegExp, CodedTerm]> = [
    [/brain|glioma|glioblastoma|gbm|lgg|meningioma|intracranial/, { CodeValue: '12738006', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Brain' }],
    [/liver|hepat/, { CodeValue: '10200004', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Liver' }],
    [/lung|pulmon/, { CodeValue: '39607008', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Lung' }],
    [/kidney|renal/, { CodeValue: '64033007', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Kidney' }],
    [/prostate/, { CodeValue: '41216001', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Prostate' }],
    [/breast/, { CodeValue: '76752008', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Breast' }],
  ];
  return sites.find(([re]) => re.test(t))?.[1] ?? null;
}

/** Everything the report needs: the (re-targeted) change, each date's series and model, findings per class. */
export async function measurementReportInput(input: string, opts: ReportOptions): Promise<MeasurementReportInput> {
  const { file, change: original } = await readChange(input);
  const dates = await Promise.all(original.timepoints.map((tp) => locateDate(file, tp.input)));
  let change = original;
  if (opts.targets) {
    // The ">= 2 slices" rule needs each baseline lesion's slice span, which the baseline result's instances.json holds.
    const base = dates[0]?.doc;
    const slices = new Map<number, number>();
    if (base) {
      const byId = new Map(base.instances.map((r) => [r.id, r]));
      for (const l of original.lesions) {
        const id = l.instances[0];
        const bbox = typeof id === 'number' ? (byId.get(id)?.bbox as { min?: number[]; max?: number[] } | undefined) : undefined;
        if (bbox?.min && bbox.max && bbox.min.length >= 3) slices.set(l.track, bbox.max[2]! - bbox.min[2]! + 1);
      }
    } else opts.warnings.push(`${original.timepoints[0]?.input}: baseline result not found; target lesions are checked by their diameters only`);
    change = withTargets(original, opts.targets, slices.size > 0 ? { baselineSlices: slices } : {});
  }
  const timepoints: SrTimepoint[] = [];
  for (const [i, d] of dates.entries()) {
    const tp: SrTimepoint = { date: change.timepoints[i]!.date };
    const model = d.doc?.model;
    if (model) tp.algorithm = { name: model.name || model.id, version: model.version };
    if (d.imagePath && (await isDicomSource(d.imagePath))) {
      const seriesUid = d.doc ? seriesKeyOf(d.doc.source) : undefined;
      try {
        const s = await readSegSource(d.imagePath, seriesUid ? { seriesUid } : {});
        tp.series = { studyInstanceUid: s.studyInstanceUid, seriesInstanceUid: s.seriesInstanceUid, slices: s.slices, patientStudy: s.patientStudy };
      } catch (err) {
        opts.warnings.push(`${change.timepoints[i]!.input}: its DICOM series cannot be referenced (${(err as Error).message})`);
      }
    } else if (!d.doc && !d.imagePath) {
      opts.warnings.push(`${change.timepoints[i]!.input}: not found from ${path.dirname(file)}; the report does not reference its images`);
    }
    timepoints.push(tp);
  }
  // Each SEG belongs to the one date made from its source series (a series shared by two dates cannot say which).
  for (const file of opts.segs ?? []) {
    const seg = await readSegmentation(file);
    const matches = timepoints.filter((tp) => tp.series?.seriesInstanceUid === seg.sourceSeriesUid);
    if (matches.length !== 1) {
      opts.warnings.push(`${file}: ${matches.length === 0 ? 'made from a series none of the dates has' : 'its series is that of several dates'}; not referenced`);
      continue;
    }
    if (matches[0]!.segmentation) throw new InputError(file, `a second SEG for ${change.timepoints[timepoints.indexOf(matches[0]!)]!.input}`);
    if (!seg.segments.some((x) => x.trackingUid && change.lesions.some((l) => l.trackingUid === x.trackingUid))) opts.warnings.push(`${file}: none of its segments carries a TrackingUID of this comparison (export it with --tracks)`);
    matches[0]!.segmentation = seg;
  }
  // Findings per class: the class's own codes, else by name (tumour-like -> Neoplasm), else a Lesion; site when known.
  const findings = new Map<string, { finding: CodedTerm; site?: CodedTerm }>();
  const docs = dates.map((d) => d.doc).filter((d): d is InstancesDocument => !!d);
  for (const name of new Set(change.lesions.map((l) => l.className))) {
    const cls = docs.flatMap((d) => d.classes).find((c) => c.name === name);
    const own = cls?.dicomCodes as ManifestClass['dicomCodes'] | undefined;
    const type = codesForClass({ name, color: '#000000', ...(own ? { dicomCodes: own } : {}) }).type;
    const finding = type.CodeValue === '85756007' ? SR_CODES.lesion : type;
    // As the RANO sequence is found: from class and model names, then the inputs' and images' paths.
    const site = findingSiteFromHints([name, ...docs.flatMap((d) => [d.model?.id ?? '', d.model?.name ?? ''])]) ?? findingSiteFromHints([...change.timepoints.map((t) => t.input), ...dates.map((d) => d.imagePath ?? '')]);
    findings.set(name, { finding, ...(site ? { site } : {}) });
  }
  return { change, timepoints, findings, ...(opts.deidentify ? { deidentify: true } : {}) };
}

/** Writes the report to `out` (atomically) and returns the change it reports (with the chosen targets). */
export async function exportMeasurementReport(input: string, out: string, opts: ReportOptions): Promise<MedicalChange> {
  const report = await measurementReportInput(input, opts);
  await writeMeasurementReport(out, report);
  return report.change;
}
