// DICOM RT Structure Set export: each class (or each object) as an ROI of closed planar contours in patient
// coordinates, per slice, referencing the source images, as radiotherapy planning systems and 3D Slicer (SlicerRT)
// import contours. The contours are the marching-squares outlines at level 0.5 (postprocess/contours.ts): their
// vertices lie halfway between a pixel inside and one outside, so no pixel centre lies on a contour and filling them
// by the even-odd rule at pixel centres gives back the label map exactly. Holes and islands are further contours
// of the same ROI on the same slice (even-odd, as planning systems read nested contours). Written with dcmjs.

import type { NaturalDataset } from 'dcmjs';
import type { ManifestClass } from '../../../preload/formats';
import { InputError } from '../image';
import { writeFileAtomic } from '../io/atomic';
import { traceRings } from '../postprocess/contours';
import { encodePart10, fmtDs, newUid, segmentPlans, sourceInstances, today, type SegmentPlan, type SegSource } from './dicom-seg';

export const RT_STRUCTURE_SET_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.481.3';
/** Referenced SOP Class of RT Referenced Study items, as planning systems write it (Detached Study Management). */
const STUDY_COMPONENT_CLASS = '1.2.840.10008.3.1.2.3.1';

export interface RtStructInput {
  source: SegSource;
  classes: ManifestClass[];
  /** Label map (0 = none, 1..N = classes, nodataLabel ignored), volume order z, y, x. */
  labels: ArrayLike<number>;
  nodataLabel: number;
  /** One ROI per object (its instance id) instead of one per class. */
  perInstance?: boolean;
  instances?: { map: ArrayLike<number>; records: Array<{ id: number; classId: number }> };
  algorithm: { name: string; version: string };
  /** Edited by hand: ROIs are SEMIAUTOMATIC rather than AUTOMATIC. */
  edited?: boolean;
  softwareVersion?: string;
}

/** '#rrggbb' -> [r, g, b] (ROI Display Color). */
function rgb(hex: string): [number, number, number] {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  return m ? [Number.parseInt(m[1]!, 16), Number.parseInt(m[2]!, 16), Number.parseInt(m[3]!, 16)] : [255, 0, 0];
}

/** Contours of one ROI on one slice, as ContourData (x, y, z in mm, flat), outer rings and holes alike. */
function sliceContours(plan: SegmentPlan, s: SegSource, z: number): number[][] {
  const w = s.columns;
  const h = s.rows;
  const base = z * w * h;
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!plan.matches(base + y * w + x)) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  if (x1 < 0) return [];
  const cw = x1 - x0 + 1;
  const ch = y1 - y0 + 1;
  const mask = new Uint8Array(cw * ch);
  for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) mask[y * cw + x] = plan.matches(base + (y0 + y) * w + x0 + x) ? 1 : 0;
  // 4-connected outlines: a diagonal touch is two contours (each closed and simple), as even-odd fill wants. Points
  // are placed from the referenced image's own position, which is also right where slices are unevenly spaced.
  const g = s.geometry;
  const at = s.slices[z]!.positionMm;
  const toWorld = (x: number, y: number): number[] => [0, 1, 2].map((r) => at[r]! + g.direction[r]! * x * g.spacingMm[0] + g.direction[3 + r]! * y * g.spacingMm[1]);
  return traceRings(mask, cw, ch, false, [x0, y0]).map((r) => {
    const out: number[] = [];
    for (let i = 0; i < r.points.length; i += 2) out.push(...toWorld(r.points[i]!, r.points[i + 1]!).map(fmtDs));
    return out;
  });
}

/** The RT Structure Set as Part 10 bytes. */
export function buildRtStruct(input: RtStructInput): Uint8Array {
  const s = input.source;
  const plans = segmentPlans(input);
  if (plans.length === 0) throw new InputError('rtstruct', 'nothing to export: the result has no classes');
  const { date, time } = today();
  const sopInstanceUid = newUid();
  const referenced = (z: number): Record<string, unknown> => {
    const sl = s.slices[z]!;
    return { ReferencedSOPClassUID: sl.sopClassUid, ReferencedSOPInstanceUID: sl.sopInstanceUid, ...(sl.frameNumber ? { ReferencedFrameNumber: sl.frameNumber } : {}) };
  };
  const roiContours = plans.map((p) => {
    const contours: Array<Record<string, unknown>> = [];
    for (let z = 0; z < s.slices.length; z++) {
      for (const data of sliceContours(p, s, z)) {
        contours.push({ ContourImageSequence: [referenced(z)], ContourGeometricType: 'CLOSED_PLANAR', NumberOfContourPoints: data.length / 3, ContourNumber: contours.length + 1, ContourData: data });
      }
    }
    // An ROI without contours (a class the model did not find) is still listed, without a Contour Sequence (which,
    // when present, must hold an item).
    return { ROIDisplayColor: rgb(p.cls.color), ReferencedROINumber: p.number, ...(contours.length ? { ContourSequence: contours } : {}) };
  });
  const ds: NaturalDataset = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: RT_STRUCTURE_SET_SOP_CLASS,
    SOPInstanceUID: sopInstanceUid,
    ...s.patientStudy,
    StudyInstanceUID: s.studyInstanceUid,
    Modality: 'RTSTRUCT',
    SeriesInstanceUID: newUid(),
    SeriesNumber: 301,
    SeriesDescription: `Delineate ${input.algorithm.name}`.slice(0, 64),
    FrameOfReferenceUID: s.frameOfReferenceUid,
    PositionReferenceIndicator: '',
    OperatorsName: '',
    Manufacturer: 'Delineate',
    ManufacturerModelName: 'Delineate',
    SoftwareVersions: input.softwareVersion ?? '0.1.0',
    InstanceNumber: 1,
    StructureSetLabel: input.algorithm.name.slice(0, 16) || 'Delineate',
    StructureSetName: `${input.algorithm.name} ${input.algorithm.version}`.slice(0, 64),
    StructureSetDate: date,
    StructureSetTime: time,
    ReferencedFrameOfReferenceSequence: [
      {
        FrameOfReferenceUID: s.frameOfReferenceUid,
        RTReferencedStudySequence: [
          {
            ReferencedSOPClassUID: STUDY_COMPONENT_CLASS,
            ReferencedSOPInstanceUID: s.studyInstanceUid,
            RTReferencedSeriesSequence: [{ SeriesInstanceUID: s.seriesInstanceUid, ContourImageSequence: sourceInstances(s.slices).map((sl) => ({ ReferencedSOPClassUID: sl.sopClassUid, ReferencedSOPInstanceUID: sl.sopInstanceUid })) }],
          },
        ],
      },
    ],
    StructureSetROISequence: plans.map((p) => ({
      ROINumber: p.number,
      ReferencedFrameOfReferenceUID: s.frameOfReferenceUid,
      ROIName: p.label.slice(0, 64),
      ROIGenerationAlgorithm: input.edited ? 'SEMIAUTOMATIC' : 'AUTOMATIC',
      ROIGenerationDescription: `${input.algorithm.name} ${input.algorithm.version}`.slice(0, 64),
    })),
    ROIContourSequence: roiContours,
    // What the structure is for clinically (GTV, PTV, organ...) the model cannot know: left empty (Type 2).
    RTROIObservationsSequence: plans.map((p) => ({ ObservationNumber: p.number, ReferencedROINumber: p.number, RTROIInterpretedType: '', ROIInterpreter: '' })),
  };
  return encodePart10(ds, RT_STRUCTURE_SET_SOP_CLASS, sopInstanceUid);
}

export async function writeRtStruct(file: string, input: RtStructInput): Promise<void> {
  await writeFileAtomic(file, buildRtStruct(input));
}
