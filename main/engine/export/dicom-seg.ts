// DICOM Segmentation (binary) export and import. Export: one segment per class (or per instance) with coded terms
// (SNOMED CT "Neoplasm" for tumour-like classes unless the class carries its own codes), frames only where a segment
// has pixels, each frame tied to its source slice (plane position, Derivation Image -> Source Image with the slice's
// SOP Instance UID), the whole series in the Referenced Series Sequence, Frame of Reference and patient/study copied
// from the source so a PACS files the SEG next to its images. The dataset is encoded by dcmjs. Import: frames of an
// existing SEG back onto its series' slices (by referenced SOP Instance UID, else by plane position) as a label map.
// This is the one export that carries patient attributes: a SEG without them would not attach to its study.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import dcmjs, { type NaturalDataset, type NaturalValue } from 'dcmjs';
import type { ManifestClass, MedicalGeometry, Vec3 } from '../../../preload/formats';
import { InputError } from '../image';
import { writeFileAtomic } from '../io/atomic';
import { dicomPlanesOf, openDicom } from '../io/dicom/index';
import { str } from '../io/dicom/header';
import { parseHeader } from '../io/dicom/parse';
import { dicomText } from '../io/dicom/charset';
import { TAG } from '../io/dicom/tags';

const SEG_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.66.4';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const IMPLEMENTATION_UID = '2.25.223417926213376342066436424786397236119';

export interface CodedTerm {
  CodeValue: string;
  CodingSchemeDesignator: string;
  CodeMeaning: string;
}

/** One slice of the source series, in volume order (index = z). */
export interface SegSourceSlice {
  sopClassUid: string;
  sopInstanceUid: string;
  /** The frame (from 1) of a multi-frame source image (an enhanced CT or MR file holding the whole volume). */
  frameNumber?: number;
  positionMm: Vec3;
}

/** The distinct source images of a series' slices (a multi-frame image once), in slice order. */
export function sourceInstances(slices: ReadonlyArray<{ sopClassUid: string; sopInstanceUid: string }>): Array<{ sopClassUid: string; sopInstanceUid: string }> {
  const seen = new Set<string>();
  const out: Array<{ sopClassUid: string; sopInstanceUid: string }> = [];
  for (const sl of slices) {
    if (seen.has(sl.sopInstanceUid)) continue;
    seen.add(sl.sopInstanceUid);
    out.push({ sopClassUid: sl.sopClassUid, sopInstanceUid: sl.sopInstanceUid });
  }
  return out;
}

/** One slice's key among the source images: its SOP Instance UID, and the frame number for a multi-frame image. */
const sliceKey = (uid: string, frame?: number): string => (frame ? `${uid}#${frame}` : uid);

/** What a SEG needs from its source series (read with readSegSource). */
export interface SegSource {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid: string;
  rows: number;
  columns: number;
  geometry: MedicalGeometry;
  slices: SegSourceSlice[];
  /** Patient and study attributes copied verbatim (keyword -> value); empty strings where the source has none. */
  patientStudy: Record<string, string>;
}

/** Keyword, tag, VR: the VR says how to read an implicit-VR source's text (person names reset sets at ^ and =). */
const PATIENT_STUDY_TAGS: Array<[string, string, string]> = [
  ['PatientName', 'x00100010', 'PN'],
  ['PatientID', 'x00100020', 'LO'],
  ['PatientBirthDate', 'x00100030', 'DA'],
  ['PatientSex', 'x00100040', 'CS'],
  ['StudyDate', 'x00080020', 'DA'],
  ['StudyTime', 'x00080030', 'TM'],
  ['ReferringPhysicianName', 'x00080090', 'PN'],
  ['StudyID', 'x00200010', 'SH'],
  ['AccessionNumber', 'x00080050', 'SH'],
];

const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;

/** Slice index of a plane position along the volume's slice axis (the reader's order), or -1 when it is off-grid. */
export function sliceIndexOf(geometry: MedicalGeometry, depth: number, positionMm: ArrayLike<number>): number {
  const n = geometry.direction.slice(6, 9);
  const d = [positionMm[0]! - geometry.originMm[0], positionMm[1]! - geometry.originMm[1], positionMm[2]! - geometry.originMm[2]];
  const zf = dot(d, n) / geometry.spacingMm[2];
  const z = Math.round(zf);
  return Math.abs(zf - z) < 0.05 && z >= 0 && z < depth ? z : -1;
}

/** Reads the series a result was made from (the same series the reader opens) and each slice's identity. */
export async function readSegSource(input: string, options: { seriesUid?: string } = {}): Promise<SegSource> {
  // Opened as the result was, gaps allowed: what a SEG cannot hold is said below, not as "open with gaps allowed".
  const src = await openDicom(input, { ...(options.seriesUid ? { seriesUid: options.seriesUid } : {}), allowGaps: true });
  try {
    const uid = src.meta.seriesInstanceUid;
    if (typeof uid !== 'string' || src.geometry.type !== 'medical') throw new InputError(input, 'DICOM SEG needs a DICOM series with a SeriesInstanceUID');
    const geometry = src.geometry;
    // Exactly the images the reader built the volume from (not a localizer or another volume filed under the same
    // series UID), each on its plane, with the UIDs the reader read from their headers.
    const planes = dicomPlanesOf(src) ?? [];
    const slices: Array<SegSourceSlice | undefined> = new Array(src.depth);
    for (const p of planes) {
      const { sopInstanceUid, sopClassUid } = p;
      if (!sopInstanceUid || !sopClassUid) throw new InputError(p.path, 'an image of the series has no SOP Instance UID or SOP Class UID, which a DICOM SEG must reference');
      const at = p.positionMm ?? ([0, 1, 2].map((r) => geometry.originMm[r]! + geometry.direction[6 + r]! * p.z * geometry.spacingMm[2]) as Vec3);
      // An enhanced (multi-frame) image is referenced frame by frame (ReferencedFrameNumber).
      slices[p.z] = { sopClassUid, sopInstanceUid, ...(p.frames > 1 ? { frameNumber: p.frameIndex + 1 } : {}), positionMm: [...at] as Vec3 };
    }
    // Patient and study attributes: from the first image (one header read, not one per slice).
    const first = planes[0] ? await parseHeader(planes[0].path) : undefined;
    const missing = slices.findIndex((s) => s === undefined);
    const filled = Array.isArray(src.meta.filledPlanes) ? (src.meta.filledPlanes as number[]) : [];
    if (filled.includes(missing)) {
      throw new InputError(input, `plane${filled.length > 1 ? 's' : ''} ${filled.join(', ')} of this series ${filled.length > 1 ? 'were' : 'was'} filled in for missing slices and ${filled.length > 1 ? 'have' : 'has'} no image a DICOM SEG could reference; export NIfTI instead`);
    }
    if (!first || missing >= 0 || slices.length !== src.depth) throw new InputError(input, `cannot match source slice ${missing < 0 ? 0 : missing} to a file (SEG export needs every slice's SOP Instance UID)`);
    const ds = first.dataSet;
    const patientStudy: Record<string, string> = {};
    // Decoded in the source's character set: the SEG declares ISO_IR 192 (UTF-8) and writes these as Unicode text.
    for (const [k, tag, vr] of PATIENT_STUDY_TAGS) patientStudy[k] = dicomText(ds, tag, vr) ?? '';
    const studyInstanceUid = str(ds, TAG.studyInstanceUid);
    if (!studyInstanceUid) throw new InputError(input, 'the series has no StudyInstanceUID');
    return {
      studyInstanceUid,
      seriesInstanceUid: uid,
      // Without a Frame of Reference in the source, the SEG gets its own (the positions still tie it to the slices).
      frameOfReferenceUid: str(ds, 'x00200052') ?? newUid(),
      rows: src.height,
      columns: src.width,
      geometry: src.geometry,
      slices: slices as SegSourceSlice[],
      patientStudy,
    };
  } finally {
    await src.close();
  }
}

// ---------------------------------------------------------------- export

/** A UID under 2.25 (a UUID as a decimal integer): unique without a registered root. */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
}

const SCT = (CodeValue: string, CodeMeaning: string): CodedTerm => ({ CodeValue, CodingSchemeDesignator: 'SCT', CodeMeaning });
const MORPHOLOGICALLY_ALTERED = SCT('49755003', 'Morphologically Altered Structure');

/** Coded category and type of a class: its own codes, else by name (tumour-like -> SNOMED CT Neoplasm), else Tissue. */
export function codesForClass(c: ManifestClass): { category: CodedTerm; type: CodedTerm } {
  if (c.dicomCodes) return { category: c.dicomCodes.category, type: c.dicomCodes.type };
  const n = c.name.toLowerCase();
  if (/edema|oedema/.test(n)) return { category: MORPHOLOGICALLY_ALTERED, type: SCT('79654002', 'Edema') };
  if (/necro/.test(n)) return { category: MORPHOLOGICALLY_ALTERED, type: SCT('6574001', 'Necrosis') };
  if (/tumou?r|lesion|neoplas|cancer|mass|nodule|metasta|carcinoma|glioma|enhanc/.test(n)) return { category: MORPHOLOGICALLY_ALTERED, type: SCT('108369006', 'Neoplasm') };
  return { category: SCT('85756007', 'Tissue'), type: SCT('85756007', 'Tissue') };
}

/** #rrggbb -> DICOM CIELab (L*, a*, b* scaled to 0..65535, D65). */
export function hexToDicomLab(hex: string): [number, number, number] {
  const rgb = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((v) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  const [r, g, b] = rgb as [number, number, number];
  const X = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
  const Y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const Z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
  const f = (t: number): number => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  const L = 116 * f(Y) - 16;
  const A = 500 * (f(X) - f(Y));
  const B = 200 * (f(Y) - f(Z));
  const clamp = (v: number): number => Math.max(0, Math.min(65535, Math.round(v)));
  return [clamp((L * 65535) / 100), clamp(((A + 128) * 65535) / 255), clamp(((B + 128) * 65535) / 255)];
}

export interface SegExportInput {
  source: SegSource;
  classes: ManifestClass[];
  /** Label map (0 = none, 1..N = classes, nodataLabel ignored), volume order z, y, x. */
  labels: ArrayLike<number>;
  nodataLabel: number;
  /** Instance map and records, for per-instance segments. */
  instances?: { map: ArrayLike<number>; records: Array<{ id: number; classId: number; edited?: unknown }> };
  /** One segment per instance instead of one per class. */
  perInstance?: boolean;
  /**
   * Per-instance segments: the follow-up track of each instance id (a lesion's TrackingID (0062,0020) and
   * TrackingUID (0062,0021), the same on every date it was seen; from compare's change.json).
   */
  tracking?: ReadonlyMap<number, SegTracking>;
  /** Model (algorithm) name and version; 'manual' edits make segments SEMIAUTOMATIC. */
  algorithm: { name: string; version: string };
  edited?: boolean;
  seriesDescription?: string;
  softwareVersion?: string;
}

/** Tracking identifiers of one segment (a lesion followed over dates). */
export interface SegTracking {
  trackingId: string;
  trackingUid: string;
}

/** One segment of a SEG (one ROI of an RT Structure Set): a class, or one object with --per-instance. */
export interface SegmentPlan {
  number: number;
  label: string;
  cls: ManifestClass;
  matches: (i: number) => boolean;
  tracking?: SegTracking;
}

/** The segments of a result, numbered from 1: one per class, or one per object ("<class> <id>") with perInstance. */
export function segmentPlans(input: Pick<SegExportInput, 'classes' | 'labels' | 'instances' | 'perInstance' | 'tracking'>): SegmentPlan[] {
  const plans: SegmentPlan[] = [];
  if (input.perInstance) {
    if (!input.instances) throw new Error('per-instance segments need the instance map');
    const map = input.instances.map;
    for (const rec of input.instances.records) {
      const cls = input.classes[rec.classId - 1];
      if (!cls) continue;
      const tracking = input.tracking?.get(rec.id);
      plans.push({ number: plans.length + 1, label: `${cls.name} ${rec.id}`, cls, matches: (i) => map[i] === rec.id, ...(tracking ? { tracking } : {}) });
    }
  } else {
    input.classes.forEach((cls, k) => plans.push({ number: k + 1, label: cls.name, cls, matches: (i) => input.labels[i] === k + 1 }));
  }
  return plans;
}

export const today = (): { date: string; time: string } => {
  const d = new Date();
  const p = (v: number, n = 2): string => String(v).padStart(n, '0');
  return { date: `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}`, time: `${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}` };
};

export const fmtDs = (v: number): number => Number(v.toPrecision(10));

/** The SEG as Part 10 bytes. */
export function buildDicomSeg(input: SegExportInput): Uint8Array {
  const s = input.source;
  const plane = s.rows * s.columns;
  const depth = s.slices.length;
  if (input.labels.length !== plane * depth) throw new RangeError(`label map has ${input.labels.length} voxels, the series ${plane * depth}`);
  const plans = segmentPlans(input);
  // Frames: (segment, slice) pairs with at least one pixel, segment-major.
  const frames: Array<{ seg: SegmentPlan; z: number }> = [];
  for (const seg of plans) {
    for (let z = 0; z < depth; z++) {
      const base = z * plane;
      for (let i = 0; i < plane; i++) {
        if (seg.matches(base + i)) {
          frames.push({ seg, z });
          break;
        }
      }
    }
  }
  // A SEG with no frames is not valid: keep one empty frame of the first segment.
  if (frames.length === 0 && plans[0]) frames.push({ seg: plans[0], z: 0 });
  if (plans.length === 0) throw new InputError('seg', 'nothing to export: the result has no classes');
  const bits = new Uint8Array(Math.ceil((frames.length * plane) / 8 / 2) * 2);
  frames.forEach((f, k) => {
    const base = f.z * plane;
    const bit0 = k * plane;
    for (let i = 0; i < plane; i++) {
      if (!f.seg.matches(base + i)) continue;
      const bit = bit0 + i;
      bits[bit >> 3]! |= 1 << (bit & 7);
    }
  });

  const g = s.geometry;
  const orientation = [...g.direction.slice(0, 6)].map(fmtDs);
  const { date, time } = today();
  const sopInstanceUid = newUid();
  const dimensionOrganizationUid = newUid();
  const algorithmType = input.edited ? 'SEMIAUTOMATIC' : 'AUTOMATIC';
  const sourceCode = { CodeValue: '121322', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Source image for image processing operation' };
  const ds: NaturalDataset = {
    _vrMap: { PixelData: 'OB' },
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: SEG_SOP_CLASS,
    SOPInstanceUID: sopInstanceUid,
    ...s.patientStudy,
    StudyInstanceUID: s.studyInstanceUid,
    Modality: 'SEG',
    SeriesInstanceUID: newUid(),
    SeriesNumber: 300,
    SeriesDescription: input.seriesDescription ?? `Delineate ${input.algorithm.name}`,
    SeriesDate: date,
    SeriesTime: time,
    FrameOfReferenceUID: s.frameOfReferenceUid,
    PositionReferenceIndicator: '',
    Manufacturer: 'Delineate',
    ManufacturerModelName: 'Delineate',
    DeviceSerialNumber: '1',
    SoftwareVersions: input.softwareVersion ?? '0.1.0',
    InstanceNumber: 1,
    ContentDate: date,
    ContentTime: time,
    ContentLabel: 'SEGMENTATION',
    ContentDescription: `${input.algorithm.name} ${input.algorithm.version}`.slice(0, 64),
    ContentCreatorName: '',
    ImageType: ['DERIVED', 'PRIMARY'],
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: s.rows,
    Columns: s.columns,
    BitsAllocated: 1,
    BitsStored: 1,
    HighBit: 0,
    PixelRepresentation: 0,
    LossyImageCompression: '00',
    SegmentationType: 'BINARY',
    NumberOfFrames: frames.length,
    SegmentSequence: plans.map((p) => {
      const codes = codesForClass(p.cls);
      return {
        SegmentNumber: p.number,
        SegmentLabel: p.label.slice(0, 64),
        SegmentAlgorithmType: algorithmType,
        SegmentAlgorithmName: input.algorithm.name.slice(0, 64),
        SegmentedPropertyCategoryCodeSequence: [codes.category],
        SegmentedPropertyTypeCodeSequence: [codes.type],
        RecommendedDisplayCIELabValue: hexToDicomLab(p.cls.color),
        ...(p.tracking ? { TrackingID: p.tracking.trackingId, TrackingUID: p.tracking.trackingUid } : {}),
      };
    }),
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
    DimensionIndexSequence: [
      { DimensionOrganizationUID: dimensionOrganizationUid, DimensionIndexPointer: 0x0062000b, FunctionalGroupPointer: 0x0062000a, DimensionDescriptionLabel: 'ReferencedSegmentNumber' },
      { DimensionOrganizationUID: dimensionOrganizationUid, DimensionIndexPointer: 0x00200032, FunctionalGroupPointer: 0x00209113, DimensionDescriptionLabel: 'ImagePositionPatient' },
    ],
    SharedFunctionalGroupsSequence: [
      {
        PlaneOrientationSequence: [{ ImageOrientationPatient: orientation }],
        PixelMeasuresSequence: [{ PixelSpacing: [fmtDs(g.spacingMm[1]), fmtDs(g.spacingMm[0])], SliceThickness: fmtDs(g.spacingMm[2]), SpacingBetweenSlices: fmtDs(g.spacingMm[2]) }],
      },
    ],
    PerFrameFunctionalGroupsSequence: frames.map((f) => {
      const slice = s.slices[f.z]!;
      return {
        DerivationImageSequence: [
          {
            SourceImageSequence: [
              {
                ReferencedSOPClassUID: slice.sopClassUid,
                ReferencedSOPInstanceUID: slice.sopInstanceUid,
                ...(slice.frameNumber ? { ReferencedFrameNumber: slice.frameNumber } : {}),
                PurposeOfReferenceCodeSequence: [sourceCode],
              },
            ],
            DerivationCodeSequence: [{ CodeValue: '113076', CodingSchemeDesignator: 'DCM', CodeMeaning: 'Segmentation' }],
          },
        ],
        FrameContentSequence: [{ DimensionIndexValues: [f.seg.number, f.z + 1] }],
        PlanePositionSequence: [{ ImagePositionPatient: slice.positionMm.map(fmtDs) }],
        SegmentIdentificationSequence: [{ ReferencedSegmentNumber: f.seg.number }],
      };
    }),
    ReferencedSeriesSequence: [
      {
        SeriesInstanceUID: s.seriesInstanceUid,
        ReferencedInstanceSequence: sourceInstances(s.slices).map((sl) => ({ ReferencedSOPClassUID: sl.sopClassUid, ReferencedSOPInstanceUID: sl.sopInstanceUid })),
      },
    ],
    PixelData: [bits.buffer],
  };
  return encodePart10(ds, SEG_SOP_CLASS, sopInstanceUid);
}

/** A dataset as a DICOM Part 10 file (explicit VR little endian) with our file meta; the SEG and SR writers share it. */
export function encodePart10(ds: NaturalDataset, sopClassUid: string, sopInstanceUid: string): Uint8Array {
  const meta = dcmjs.data.DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: EXPLICIT_LE,
    ImplementationClassUID: IMPLEMENTATION_UID,
    ImplementationVersionName: 'DELINEATE_0_1',
  });
  const dict = new dcmjs.data.DicomDict(meta);
  dict.dict = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(ds);
  return new Uint8Array(dict.write());
}

export async function writeDicomSeg(file: string, input: SegExportInput): Promise<void> {
  await writeFileAtomic(file, buildDicomSeg(input));
}

// ---------------------------------------------------------------- import

export interface ImportedSegment {
  number: number;
  label: string;
  category?: CodedTerm;
  type?: CodedTerm;
}

/** dcmjs unwraps one-item sequences and single values; these read either shape. */
function items(v: NaturalValue): NaturalDataset[] {
  if (Array.isArray(v)) return v as NaturalDataset[];
  return v && typeof v === 'object' && !(v instanceof ArrayBuffer) ? [v as NaturalDataset] : [];
}

function values(v: NaturalValue): Array<string | number> {
  if (Array.isArray(v)) return v as Array<string | number>;
  return v === undefined || v === null ? [] : [v as string | number];
}

function code(v: NaturalValue): CodedTerm | undefined {
  const item = items(v)[0];
  if (!item) return undefined;
  return { CodeValue: String(item.CodeValue ?? ''), CodingSchemeDesignator: String(item.CodingSchemeDesignator ?? ''), CodeMeaning: String(item.CodeMeaning ?? '') };
}

/** The series a DICOM SEG file was made from (its first Referenced Series), or null when the file is not a SEG. */
export async function segReferencedSeries(file: string): Promise<{ seriesInstanceUid: string | null } | null> {
  let parsed;
  try {
    parsed = await parseHeader(file);
  } catch {
    return null;
  }
  const ds = parsed.dataSet;
  if (str(ds, TAG.sopClassUid)?.trim() !== SEG_SOP_CLASS) return null;
  const ref = ds.elements['x00081115']?.items?.[0]?.dataSet;
  const uid = ref ? str(ref, TAG.seriesInstanceUid)?.trim() : undefined;
  return { seriesInstanceUid: uid ?? null };
}

/**
 * A DICOM SEG (from this app, 3D Slicer, OHIF, a PACS) as a label map on the series `image` holds (the one it
 * references, when the folder holds several), and its segments' labels in segment-number order (the class names).
 */
export async function segAsLabels(image: string, segFile: string, referencedSeries: string | null): Promise<{ labels: Uint8Array | Uint16Array; segmentNames: string[]; seriesUid?: string }> {
  let source: SegSource;
  try {
    source = await readSegSource(image, referencedSeries ? { seriesUid: referencedSeries } : {});
  } catch (err) {
    if (referencedSeries && err instanceof InputError && /no series with the requested/.test(err.message)) {
      throw new InputError(segFile, `the SEG was made from series ${referencedSeries}, which ${image} does not hold`);
    }
    throw err;
  }
  const imported = await importDicomSeg(segFile, source);
  if (imported.framesPlaced === 0) throw new InputError(segFile, `no frame of the SEG lies on a slice of ${image} (another series?)`);
  const byNumber = new Map(imported.segments.map((s) => [s.number, s]));
  const count = imported.segments.reduce((m, s) => Math.max(m, s.number), 0);
  const segmentNames = Array.from({ length: count }, (_, i) => byNumber.get(i + 1)?.label ?? `segment ${i + 1}`);
  return { labels: imported.labels, segmentNames, ...(referencedSeries ? { seriesUid: referencedSeries } : {}) };
}

/**
 * Reads a binary DICOM SEG onto its source series: label value = segment number (a later segment wins where segments
 * overlap). Frames are placed by their Source Image's SOP Instance UID, else by plane position.
 */
export async function importDicomSeg(segFile: string, source: SegSource): Promise<{ labels: Uint8Array | Uint16Array; segments: ImportedSegment[]; framesPlaced: number }> {
  const bytes = await readFile(segFile);
  let ds: NaturalDataset;
  try {
    const dict = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict);
  } catch (err) {
    throw new InputError(segFile, `cannot read the DICOM file (${err instanceof Error ? err.message : String(err)})`);
  }
  if (ds.SOPClassUID !== SEG_SOP_CLASS) throw new InputError(segFile, 'not a DICOM Segmentation object');
  if (ds.SegmentationType !== 'BINARY' || ds.BitsAllocated !== 1) throw new InputError(segFile, 'only BINARY segmentations are imported (this one is FRACTIONAL)');
  const rows = Number(ds.Rows);
  const columns = Number(ds.Columns);
  if (rows !== source.rows || columns !== source.columns) throw new InputError(segFile, `frames are ${columns}x${rows}, the series ${source.columns}x${source.rows}`);
  const segments: ImportedSegment[] = items(ds.SegmentSequence).map((it) => {
    const seg: ImportedSegment = { number: Number(it.SegmentNumber), label: String(it.SegmentLabel ?? `segment ${String(it.SegmentNumber)}`) };
    const category = code(it.SegmentedPropertyCategoryCodeSequence);
    const type = code(it.SegmentedPropertyTypeCodeSequence);
    if (category) seg.category = category;
    if (type) seg.type = type;
    return seg;
  });
  const maxSegment = segments.reduce((m, sgm) => Math.max(m, sgm.number), 0);
  const plane = rows * columns;
  const depth = source.slices.length;
  const labels = maxSegment < 255 ? new Uint8Array(plane * depth) : new Uint16Array(plane * depth);
  const zOfUid = new Map(source.slices.map((sl, z) => [sliceKey(sl.sopInstanceUid, sl.frameNumber), z]));
  const pixelParts = values(ds.PixelData as NaturalValue) as unknown as ArrayBuffer[];
  const pixels = new Uint8Array(pixelParts[0] ?? new ArrayBuffer(0));
  const shared = items(ds.SharedFunctionalGroupsSequence)[0];
  const perFrame = items(ds.PerFrameFunctionalGroupsSequence);
  const frameCount = Number(ds.NumberOfFrames ?? perFrame.length);
  if (pixels.length * 8 < frameCount * plane) throw new InputError(segFile, 'pixel data is shorter than its frames');
  let placed = 0;
  for (let k = 0; k < frameCount; k++) {
    const fg = perFrame[k] ?? {};
    const segNumber = Number(items(fg.SegmentIdentificationSequence ?? shared?.SegmentIdentificationSequence)[0]?.ReferencedSegmentNumber);
    let z = -1;
    for (const deriv of items(fg.DerivationImageSequence)) {
      for (const srcImg of items(deriv.SourceImageSequence)) {
        const frame = values(srcImg.ReferencedFrameNumber).map(Number)[0];
        const hit = zOfUid.get(sliceKey(String(srcImg.ReferencedSOPInstanceUID), Number.isInteger(frame) && frame! > 0 ? frame : undefined));
        if (hit !== undefined) z = hit;
      }
    }
    if (z < 0) {
      const pos = values(items(fg.PlanePositionSequence)[0]?.ImagePositionPatient).map(Number);
      if (pos.length === 3) z = sliceIndexOf(source.geometry, depth, pos);
    }
    if (z < 0 || !Number.isFinite(segNumber)) continue;
    placed++;
    const bit0 = k * plane;
    const base = z * plane;
    for (let i = 0; i < plane; i++) {
      const bit = bit0 + i;
      if ((pixels[bit >> 3]! >> (bit & 7)) & 1) labels[base + i] = segNumber;
    }
  }
  return { labels, segments, framesPlaced: placed };
}
