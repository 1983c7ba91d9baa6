// The follow-up comparison as the contract carries it ('compare:run', 'compare:slice', 'compare:close'): the request,
// the change documents (change.json of `delineate compare`, with paths replaced by base names) and the slices of every
// date on the common grid. Types only; api.ts re-exports them.

import type { GeoTransform, Vec3 } from './formats';

/** Opaque id of a comparison the engine host keeps (its dates on one grid): c_<letters/digits>. */
export type CompareId = string;

export type RegisterMethodName = 'rigid' | 'affine' | 'none';

export interface CompareRequest {
  /** Two or more opened images (handles), in any order: the engine orders them by date. */
  handles: string[];
  /**
   * The kept result (as edited) of each handle, in handle order; null where a handle has none. A date without a
   * result is segmented with `model` first.
   */
  resultIds?: Array<string | null>;
  /** Installed model for the dates without a result (default: the installed model that suits the first image best). */
  model?: string;
  /** Medical only; default 'rigid'. */
  register?: RegisterMethodName;
  /** One date per handle (YYYY-MM-DD, YYYYMMDD or YYYY-MM), in handle order; overrides the files' own dates. */
  dates?: string[];
}

export type ResponseCategory = 'CR' | 'PR' | 'SD' | 'PD';
export type RanoResponseCategory = ResponseCategory | 'MR';
export type LesionStatus = 'matched' | 'new' | 'gone' | 'split' | 'merged' | 'nonmeasurable';
export type LesionDateState = 'absent' | 'present' | 'split' | 'merged' | 'gone' | 'new' | 'nonmeasurable';

/** One tracked lesion across the dates (time-point order). */
export interface ChangeLesionRecord {
  track: number;
  status: LesionStatus;
  /** Instance id on each date: one id, several (a fragmented lesion), or null where absent. */
  instances: Array<number | number[] | null>;
  volumeMl: Array<number | null>;
  longAxisMm: Array<number | null>;
  shortAxisMm: Array<number | null>;
  /** Volume change of the last date vs the baseline, in percent. */
  changePct: number | null;
  states: LesionDateState[];
  className: string;
  mergedInto?: number;
  newAt?: number;
  trackingUid: string;
  /** A RECIST target chosen by the user ('compare:targets'); absent when compare chose the targets itself. */
  target?: boolean;
}

export interface ResponseAssessment {
  volumetric: ResponseCategory;
  recist: ResponseCategory;
  rano: RanoResponseCategory;
  /** Why each category is what it is, in words. */
  reasons: string[];
  recistTargets: number[];
  ranoTargets: number[];
  ranoVersion: 'RANO-LGG' | 'RANO 2.0';
  /** The imaging-only note (no confirmation scan, steroid dose or clinical status). */
  statement: string;
  byTimepoint: Array<{ index: number; volumetric: ResponseCategory; recist: ResponseCategory; rano: RanoResponseCategory }>;
}

export interface MedicalChangeDocument {
  kind: 'medical';
  timepoints: Array<{ input: string; date: string | null }>;
  registration: Array<{ from: number; to: number; method: RegisterMethodName; followupToBaseline: number[]; metric: number; metricBefore: number; seconds: number }>;
  lesions: ChangeLesionRecord[];
  totals: { volumeMl: number[]; sumLongAxisMm: number[]; sumProductsMm2: number[]; nadirIndex: number };
  response: ResponseAssessment;
  warnings: string[];
}

export interface LandCoverTransition {
  from: number;
  fromName: string;
  to: number;
  toName: string;
  pixels: number;
  areaHa: number;
}

export interface LandCoverClassChange {
  id: number;
  name: string;
  color: string;
  fromHa: number;
  toHa: number;
  gainHa: number;
  lossHa: number;
  netHa: number;
  grossHa: number;
  swapHa: number;
}

export interface GeoChangeDocument {
  kind: 'geo';
  timepoints: Array<{ input: string; date: string | null }>;
  grid: { input: string; width: number; height: number; geotransform: GeoTransform; crs: string };
  areaMethod: 'ellipsoidal' | 'planar';
  transitions: LandCoverTransition[];
  classes: LandCoverClassChange[];
  netHa: Record<string, number>;
  overlapPixels: number;
  overlapHa: number;
  changedPixels: number;
  changedHa: number;
  minAreaM2: number;
  polygons: number;
  objects?: { counts: Record<string, number>; areaHa: Record<string, number> };
  warnings: string[];
}

export type ChangeDocument = MedicalChangeDocument | GeoChangeDocument;

/** The common grid every date is shown on: the baseline's (medical) or the earliest date's (geo). */
export interface CompareGrid {
  width: number;
  height: number;
  depth: number;
  /** Medical: voxel spacing, origin (LPS mm) and direction cosines, as ImageInfo has them (axis j is direction[3j..3j+2]). */
  spacingMm?: Vec3;
  originMm?: Vec3;
  direction?: number[];
  /** Geo: the grid's geotransform and CRS. */
  geotransform?: GeoTransform;
  crs?: string;
}

export interface CompareTimepoint {
  /** Base name of the image. */
  name: string;
  date: string | null;
  /** Index into the request's handles. */
  input: number;
}

export interface CompareResult {
  compareId: CompareId;
  kind: 'medical' | 'geo';
  change: ChangeDocument;
  grid: CompareGrid;
  /** In date order (index 0 is the baseline / earliest date). */
  timepoints: CompareTimepoint[];
  /**
   * Medical: per track, the common-grid slice where it is largest (over all dates), for a row click to go to, and
   * the colour the engine draws it with in the slices (for the table's swatch).
   */
  trackSlices?: Array<{ track: number; z: number; rgb: [number, number, number] }>;
}

export interface CompareSliceRequest {
  compareId: CompareId;
  /** Date index (CompareResult.timepoints). */
  timepoint: number;
  /** Slice of the common grid (0 for maps). */
  z: number;
  maxSize: number;
  /** Display window in modality values (medical); default: the date's own 0.5-99.5 percentile stretch. */
  window?: { center: number; width: number };
}

/** One date's slice on the common grid, and its change overlay, at the same preview size. */
export interface CompareSlice {
  compareId: CompareId;
  timepoint: number;
  z: number;
  width: number;
  height: number;
  /** Common-grid pixels per bitmap pixel (>= 1 when downsampled), the same along x and y. */
  scale: number;
  /** The image, RGBA. */
  rgba: Uint8Array;
  /**
   * The change overlay, RGBA: medical, each track's lesion on this date in the track's colour (outline opaque, fill
   * translucent); geo, changed pixels (earliest -> latest) in the new class's colour, transparent where unchanged.
   */
  overlay: Uint8Array;
  window: { center: number; width: number } | null;
}
