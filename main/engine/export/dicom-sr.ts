// DICOM Structured Report of a medical follow-up: an Enhanced SR following TID 1500 "Measurement Report" that carries
// compare's track table. Every tracked lesion gets one Measurement Group per date it exists on (TID 1411 volumetric
// ROI measurements: Tracking Identifier and Tracking Unique Identifier equal to the SEG's TrackingID/TrackingUID of
// that track, Time Point Context (TID 1502), the finding and, when known, its site, Volume / Long axis / Short axis in
// UCUM units, the RECIST baseline category and the track's status and change as text); a root-level Qualitative
// Evaluations container holds the response (volumetric, RECIST 1.1, RANO), its reasons and the imaging-only statement.
// DICOM dates are referenced (evidence sequences, Image Library, Source series for segmentation); results made from
// NIfTI get the report anyway, in a study of its own with de-identified patient attributes. Encoded by dcmjs.
import type { NaturalDataset } from 'dcmjs';
import type { ChangeLesion, MedicalChange } from '../compare/medical/index';
import { writeFileAtomic } from '../io/atomic';
import { encodePart10, newUid, sourceInstances, type CodedTerm } from './dicom-seg';

export const ENHANCED_SR_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.88.22';
/** Device Observer UID (TID 1004) of this application: the same in every report it writes. */
const DEVICE_OBSERVER_UID = '2.25.291491787646900609281405378316174932810';

const code = (CodeValue: string, CodingSchemeDesignator: string, CodeMeaning: string): CodedTerm => ({ CodeValue, CodingSchemeDesignator, CodeMeaning });

/** Concept names and values (PS3.16: DCM, SNOMED CT, UMLS, NCIt, UCUM). */
export const SR_CODES = {
  measurementReport: code('126000', 'DCM', 'Imaging Measurement Report'),
  language: code('121049', 'DCM', 'Language of Content Item and Descendants'),
  english: code('en-US', 'RFC5646', 'English (United States)'),
  observerType: code('121005', 'DCM', 'Observer Type'),
  device: code('121007', 'DCM', 'Device'),
  deviceObserverUid: code('121012', 'DCM', 'Device Observer UID'),
  deviceObserverName: code('121013', 'DCM', 'Device Observer Name'),
  deviceObserverManufacturer: code('121014', 'DCM', 'Device Observer Manufacturer'),
  deviceObserverModel: code('121015', 'DCM', 'Device Observer Model Name'),
  procedureReported: code('121058', 'DCM', 'Procedure reported'),
  imagingProcedure: code('363679005', 'SCT', 'Imaging procedure'),
  imageLibrary: code('111028', 'DCM', 'Image Library'),
  imageLibraryGroup: code('126200', 'DCM', 'Image Library Group'),
  imagingMeasurements: code('126010', 'DCM', 'Imaging Measurements'),
  measurementGroup: code('125007', 'DCM', 'Measurement Group'),
  trackingIdentifier: code('112039', 'DCM', 'Tracking Identifier'),
  trackingUid: code('112040', 'DCM', 'Tracking Unique Identifier'),
  timePoint: code('C2348792', 'UMLS', 'Time Point'),
  timePointType: code('126072', 'DCM', 'Time Point Type'),
  timePointOrder: code('126073', 'DCM', 'Time Point Order'),
  baseline: code('C1442488', 'UMLS', 'Baseline'),
  posttreatment: code('126074', 'DCM', 'Posttreatment'),
  finding: code('121071', 'DCM', 'Finding'),
  findingSite: code('363698007', 'SCT', 'Finding Site'),
  lesion: code('52988006', 'SCT', 'Lesion'),
  algorithmName: code('111001', 'DCM', 'Algorithm Name'),
  algorithmVersion: code('111003', 'DCM', 'Algorithm Version'),
  sourceSeriesForSegmentation: code('121232', 'DCM', 'Source series for segmentation'),
  referencedSegment: code('121191', 'DCM', 'Referenced Segment'),
  volume: code('118565006', 'SCT', 'Volume'),
  longAxis: code('103339001', 'SCT', 'Long axis'),
  shortAxis: code('103340004', 'SCT', 'Short axis'),
  baselineCategory: code('112016', 'DCM', 'Baseline Category'),
  targetAtBaseline: code('112074', 'DCM', 'Target Lesion at Baseline'),
  nonTargetAtBaseline: code('112075', 'DCM', 'Non-Target Lesion at Baseline'),
  descriptionOfChange: code('111021', 'DCM', 'Description of Change'),
  qualitativeEvaluations: code('C0034375', 'UMLS', 'Qualitative Evaluations'),
  responseEvaluation: code('112020', 'DCM', 'Response Evaluation'),
  responseMethod: code('112021', 'DCM', 'Response Evaluation Method'),
  recist11: code('126081', 'DCM', 'RECIST 1.1'),
  rano: code('C114879', 'NCIt', 'RANO'),
  comment: code('121106', 'DCM', 'Comment'),
  ml: code('ml', 'UCUM', 'milliliter'),
  mm: code('mm', 'UCUM', 'millimeter'),
  noUnits: code('1', 'UCUM', 'no units'),
} as const;

/** The DICOM series a date's result was made from (as readSegSource gives it). */
export interface SrSeries {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  slices: Array<{ sopClassUid: string; sopInstanceUid: string }>;
  /** Patient and study attributes of the series (keyword -> value). */
  patientStudy: Record<string, string>;
}

/** A DICOM SEG of one date whose segments carry TrackingUIDs (export --to seg --tracks). */
export interface SrSegmentation {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  /** The series the SEG was made from. */
  sourceSeriesUid: string;
  segments: Array<{ number: number; trackingUid?: string }>;
}

export interface SrTimepoint {
  /** ISO date (YYYY-MM-DD or YYYY-MM) or null. */
  date: string | null;
  series?: SrSeries;
  /** The model that made the result, when one did. */
  algorithm?: { name: string; version: string };
  /** This date's SEG, when given: each lesion's group references its segments (TID 1411 Referenced Segment). */
  segmentation?: SrSegmentation;
}

export interface MeasurementReportInput {
  change: MedicalChange;
  /** One per change.timepoints entry, same order. */
  timepoints: SrTimepoint[];
  /** Finding and finding site per lesion class name; a class not listed is a 'Lesion' with no site. */
  findings?: ReadonlyMap<string, { finding: CodedTerm; site?: CodedTerm }>;
  /** Leave patient name, ID, birth date and sex out even when the series carry them. */
  deidentify?: boolean;
  softwareVersion?: string;
}

type Item = NaturalDataset;
type Relationship = 'CONTAINS' | 'HAS OBS CONTEXT' | 'HAS CONCEPT MOD' | 'HAS PROPERTIES';

/** A number as DICOM DS (at most 16 characters), keeping every digit change.json holds when it fits. */
export function decimalString(v: number): string {
  if (!Number.isFinite(v)) throw new RangeError(`not a finite number: ${v}`);
  const plain = String(v);
  if (plain.length <= 16) return plain;
  for (let digits = 12; digits > 0; digits--) {
    const s = String(Number(v.toPrecision(digits)));
    if (s.length <= 16) return s;
  }
  return v.toExponential(6);
}

const text = (rel: Relationship, name: CodedTerm, value: string): Item => ({ RelationshipType: rel, ValueType: 'TEXT', ConceptNameCodeSequence: [name], TextValue: value });
const codeItem = (rel: Relationship, name: CodedTerm, value: CodedTerm, children: Item[] = []): Item => ({
  RelationshipType: rel,
  ValueType: 'CODE',
  ConceptNameCodeSequence: [name],
  ConceptCodeSequence: [value],
  ...(children.length ? { ContentSequence: children } : {}),
});
const uidRef = (rel: Relationship, name: CodedTerm, uid: string): Item => ({ RelationshipType: rel, ValueType: 'UIDREF', ConceptNameCodeSequence: [name], UID: uid });
const num = (rel: Relationship, name: CodedTerm, value: number, unit: CodedTerm): Item => ({
  RelationshipType: rel,
  ValueType: 'NUM',
  ConceptNameCodeSequence: [name],
  MeasuredValueSequence: [{ MeasurementUnitsCodeSequence: [unit], NumericValue: decimalString(value) }],
});
const container = (rel: Relationship | null, name: CodedTerm, children: Item[], extra: Item = {}): Item => ({
  ...(rel ? { RelationshipType: rel } : {}),
  ValueType: 'CONTAINER',
  ConceptNameCodeSequence: [name],
  ContinuityOfContent: 'SEPARATE',
  ...extra,
  ...(children.length ? { ContentSequence: children } : {}),
});
const image = (sopClassUid: string, sopInstanceUid: string): Item => ({
  RelationshipType: 'CONTAINS',
  ValueType: 'IMAGE',
  ReferencedSOPSequence: [{ ReferencedSOPClassUID: sopClassUid, ReferencedSOPInstanceUID: sopInstanceUid }],
});

const pct = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`;

/** The TEXT label of a date in Time Point (TID 1502): its ISO date, or its position when it has none. */
export function timePointLabel(date: string | null, index: number): string {
  return date ?? `time point ${index + 1}`;
}

/** Which dates of a track get a Measurement Group: from the first date it was seen on (measured, or 0 once gone). */
function measuredDates(l: ChangeLesion): number[] {
  return l.volumeMl.flatMap((v, i) => (v === null || v === undefined ? [] : [i]));
}

function describeDate(l: ChangeLesion, i: number, change: MedicalChange): string {
  const parts = [`track status ${l.status}`, `on this date ${l.states[i] ?? 'absent'}`];
  if (l.states[i] === 'merged' && l.mergedInto !== undefined) parts.push(`coalesced with lesion ${l.mergedInto}, which carries the measurement`);
  const v0 = l.volumeMl[0];
  const v = l.volumeMl[i];
  if (i > 0 && v0 !== null && v0 !== undefined && v0 > 0 && v !== null && v !== undefined) parts.push(`volume ${pct(((v - v0) / v0) * 100)} vs baseline`);
  if (i === change.timepoints.length - 1 && l.changePct !== null && i > 0) parts.push(`change at the last date ${pct(l.changePct)} vs baseline`);
  if (l.newAt === i) parts.push('new measurable lesion on this date');
  return parts.join('; ');
}

function measurementGroup(l: ChangeLesion, i: number, input: MeasurementReportInput, targets: ReadonlySet<number>): Item {
  const tp = input.timepoints[i];
  const finding = input.findings?.get(l.className);
  const items: Item[] = [
    text('HAS OBS CONTEXT', SR_CODES.trackingIdentifier, `lesion ${l.track}`),
    uidRef('HAS OBS CONTEXT', SR_CODES.trackingUid, l.trackingUid),
    text('HAS OBS CONTEXT', SR_CODES.timePoint, timePointLabel(input.change.timepoints[i]?.date ?? null, i)),
    codeItem('HAS OBS CONTEXT', SR_CODES.timePointType, i === 0 ? SR_CODES.baseline : SR_CODES.posttreatment),
    num('HAS OBS CONTEXT', SR_CODES.timePointOrder, i + 1, SR_CODES.noUnits),
    codeItem('CONTAINS', SR_CODES.finding, finding?.finding ?? SR_CODES.lesion),
  ];
  if (tp?.algorithm) items.push(text('HAS CONCEPT MOD', SR_CODES.algorithmName, tp.algorithm.name), text('HAS CONCEPT MOD', SR_CODES.algorithmVersion, tp.algorithm.version || 'unknown'));
  if (finding?.site) items.push(codeItem('HAS CONCEPT MOD', SR_CODES.findingSite, finding.site));
  // The lesion's segments in this date's SEG (pieces of a fragmented lesion share its TrackingUID: one reference).
  const seg = tp?.segmentation;
  const numbers = seg ? seg.segments.filter((x) => x.trackingUid === l.trackingUid).map((x) => x.number) : [];
  if (seg && numbers.length > 0) {
    items.push({
      RelationshipType: 'CONTAINS',
      ValueType: 'IMAGE',
      ConceptNameCodeSequence: [SR_CODES.referencedSegment],
      ReferencedSOPSequence: [{ ReferencedSOPClassUID: seg.sopClassUid, ReferencedSOPInstanceUID: seg.sopInstanceUid, ReferencedSegmentNumber: numbers }],
    });
  }
  if (tp?.series) items.push(uidRef('CONTAINS', SR_CODES.sourceSeriesForSegmentation, tp.series.seriesInstanceUid));
  const v = l.volumeMl[i];
  const long = l.longAxisMm[i];
  const short = l.shortAxisMm[i];
  if (v !== null && v !== undefined) items.push(num('CONTAINS', SR_CODES.volume, v, SR_CODES.ml));
  if (long !== null && long !== undefined) items.push(num('CONTAINS', SR_CODES.longAxis, long, SR_CODES.mm));
  if (short !== null && short !== undefined) items.push(num('CONTAINS', SR_CODES.shortAxis, short, SR_CODES.mm));
  // RECIST baseline category: only lesions seen at baseline are targets or non-targets (new ones are neither).
  if (l.instances[0] !== null && l.instances[0] !== undefined) items.push(codeItem('CONTAINS', SR_CODES.baselineCategory, targets.has(l.track) ? SR_CODES.targetAtBaseline : SR_CODES.nonTargetAtBaseline));
  items.push(text('CONTAINS', SR_CODES.descriptionOfChange, describeDate(l, i, input.change)));
  return container('CONTAINS', SR_CODES.measurementGroup, items);
}

function responseItems(change: MedicalChange): Item[] {
  const r = change.response;
  const version = r.ranoVersion;
  const out: Item[] = [
    text('CONTAINS', SR_CODES.responseEvaluation, `Volumetric: ${r.volumetric}`),
    text('CONTAINS', SR_CODES.responseEvaluation, `RECIST 1.1: ${r.recist}`),
    text('CONTAINS', SR_CODES.responseEvaluation, `${version}: ${r.rano}`),
  ];
  // The method of each category as a coded modifier (CID 6147 Response Criteria).
  out[1]!.ContentSequence = [codeItem('HAS CONCEPT MOD', SR_CODES.responseMethod, SR_CODES.recist11)];
  out[2]!.ContentSequence = [codeItem('HAS CONCEPT MOD', SR_CODES.responseMethod, SR_CODES.rano)];
  out.push(text('CONTAINS', SR_CODES.comment, `RECIST target lesions: ${r.recistTargets.length ? r.recistTargets.map((t) => `lesion ${t}`).join(', ') : 'none'}; ${version} target lesions: ${r.ranoTargets.length ? r.ranoTargets.map((t) => `lesion ${t}`).join(', ') : 'none'}`));
  for (const b of r.byTimepoint) {
    out.push(text('CONTAINS', SR_CODES.comment, `${timePointLabel(change.timepoints[b.index]?.date ?? null, b.index)}: volumetric ${b.volumetric}, RECIST 1.1 ${b.recist}, ${version} ${b.rano}`));
  }
  for (const reason of r.reasons) if (reason !== r.statement) out.push(text('CONTAINS', SR_CODES.comment, reason));
  out.push(text('CONTAINS', SR_CODES.comment, r.statement));
  return out;
}

const today = (): { date: string; time: string } => {
  const d = new Date();
  const p = (v: number, n = 2): string => String(v).padStart(n, '0');
  return { date: `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}`, time: `${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}` };
};

/** ISO date -> DICOM DA; a month-only date has no DA. */
const dicomDate = (iso: string | null): string => (iso && /^\d{4}-\d{2}-\d{2}$/.test(iso) ? iso.replace(/-/g, '') : '');

/** Evidence sequence items: the referenced instances grouped by study and series. */
function evidence(series: SrSeries[]): Item[] {
  const byStudy = new Map<string, SrSeries[]>();
  for (const s of series) byStudy.set(s.studyInstanceUid, [...(byStudy.get(s.studyInstanceUid) ?? []), s]);
  return [...byStudy].map(([study, list]) => ({
    StudyInstanceUID: study,
    ReferencedSeriesSequence: list.map((s) => ({
      SeriesInstanceUID: s.seriesInstanceUid,
      // A multi-frame image is one instance however many slices it holds.
      ReferencedSOPSequence: sourceInstances(s.slices).map((sl) => ({ ReferencedSOPClassUID: sl.sopClassUid, ReferencedSOPInstanceUID: sl.sopInstanceUid })),
    })),
  }));
}

/** The measurement report as Part 10 bytes. */
export function buildMeasurementReport(input: MeasurementReportInput): Uint8Array {
  const { change } = input;
  if (input.timepoints.length !== change.timepoints.length) throw new RangeError(`${input.timepoints.length} time points for a comparison of ${change.timepoints.length}`);
  const targets = new Set(change.response.recistTargets);
  // One series per date at most; the same series on two dates is referenced once.
  const seriesList: SrSeries[] = [];
  for (const tp of input.timepoints) if (tp.series && !seriesList.some((s) => s.seriesInstanceUid === tp.series!.seriesInstanceUid)) seriesList.push(tp.series);
  // The report belongs to the latest DICOM date's study (the follow-up it reports on); earlier studies are other evidence.
  const current = [...input.timepoints].reverse().find((tp) => tp.series)?.series;
  const currentStudy = current?.studyInstanceUid;

  const groups: Item[] = [];
  for (const l of change.lesions) for (const i of measuredDates(l)) groups.push(measurementGroup(l, i, input, targets));
  const library = seriesList.map((s) => container('CONTAINS', SR_CODES.imageLibraryGroup, sourceInstances(s.slices).map((sl) => image(sl.sopClassUid, sl.sopInstanceUid))));
  const content: Item[] = [
    codeItem('HAS CONCEPT MOD', SR_CODES.language, SR_CODES.english),
    codeItem('HAS OBS CONTEXT', SR_CODES.observerType, SR_CODES.device),
    uidRef('HAS OBS CONTEXT', SR_CODES.deviceObserverUid, DEVICE_OBSERVER_UID),
    text('HAS OBS CONTEXT', SR_CODES.deviceObserverName, 'Delineate'),
    text('HAS OBS CONTEXT', SR_CODES.deviceObserverManufacturer, 'Delineate'),
    text('HAS OBS CONTEXT', SR_CODES.deviceObserverModel, 'Delineate'),
    codeItem('HAS CONCEPT MOD', SR_CODES.procedureReported, SR_CODES.imagingProcedure),
    container('CONTAINS', SR_CODES.imageLibrary, library),
    container('CONTAINS', SR_CODES.imagingMeasurements, groups),
    container('CONTAINS', SR_CODES.qualitativeEvaluations, responseItems(change)),
  ];

  const { date, time } = today();
  const sopInstanceUid = newUid();
  const ps = current?.patientStudy ?? {};
  const keep = (k: string): string => (input.deidentify ? '' : (ps[k] ?? ''));
  const lastDate = change.timepoints.at(-1)?.date ?? null;
  const patientStudy = {
    // Without a DICOM source (NIfTI) or when de-identified, the patient is anonymous: Type 2, so present and empty
    // except the name, which says so.
    PatientName: keep('PatientName') || 'Anonymous^',
    PatientID: keep('PatientID'),
    PatientBirthDate: keep('PatientBirthDate'),
    PatientSex: keep('PatientSex'),
    StudyDate: ps.StudyDate ?? dicomDate(lastDate),
    StudyTime: ps.StudyTime ?? '',
    ReferringPhysicianName: input.deidentify ? '' : (ps.ReferringPhysicianName ?? ''),
    StudyID: ps.StudyID ?? '',
    AccessionNumber: input.deidentify ? '' : (ps.AccessionNumber ?? ''),
  };
  // The SEGs the groups reference are evidence too, each as a series of one instance.
  for (const tp of input.timepoints) {
    const seg = tp.segmentation;
    if (seg && !seriesList.some((s) => s.seriesInstanceUid === seg.seriesInstanceUid)) {
      seriesList.push({ studyInstanceUid: seg.studyInstanceUid, seriesInstanceUid: seg.seriesInstanceUid, slices: [{ sopClassUid: seg.sopClassUid, sopInstanceUid: seg.sopInstanceUid }], patientStudy: {} });
    }
  }
  const currentSeries = seriesList.filter((s) => s.studyInstanceUid === currentStudy);
  const otherSeries = seriesList.filter((s) => s.studyInstanceUid !== currentStudy);
  const ds: NaturalDataset = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: ENHANCED_SR_SOP_CLASS,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    ...patientStudy,
    StudyInstanceUID: currentStudy ?? newUid(),
    Modality: 'SR',
    SeriesInstanceUID: newUid(),
    SeriesNumber: 301,
    SeriesDescription: 'Delineate follow-up measurement report',
    SeriesDate: date,
    SeriesTime: time,
    ReferencedPerformedProcedureStepSequence: [],
    Manufacturer: 'Delineate',
    ManufacturerModelName: 'Delineate',
    SoftwareVersions: input.softwareVersion ?? '0.1.0',
    InstanceNumber: 1,
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    ContentDate: date,
    ContentTime: time,
    PerformedProcedureCodeSequence: [],
    ...(currentSeries.length ? { CurrentRequestedProcedureEvidenceSequence: evidence(currentSeries) } : {}),
    ...(otherSeries.length ? { PertinentOtherEvidenceSequence: evidence(otherSeries) } : {}),
    ...container(null, SR_CODES.measurementReport, content, { ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1500' }] }),
  };
  return encodePart10(ds, ENHANCED_SR_SOP_CLASS, sopInstanceUid);
}

export async function writeMeasurementReport(file: string, input: MeasurementReportInput): Promise<void> {
  await writeFileAtomic(file, buildMeasurementReport(input));
}
