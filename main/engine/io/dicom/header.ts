// Extracts what series assembly and pixel decoding need from one parsed file: image attributes, per-frame
// geometry (classic single/multi-frame and Enhanced functional groups) and safe-to-show metadata.
// Patient-identifying attributes are never read here, so they cannot leak into metadata, logs or errors.

import type { Vec3 } from '../../../../preload/formats';
import { InputError } from '../../image';
import type { DataSet, Element, ParsedFile } from './parse';
import { MEDIA_STORAGE_DIRECTORY_SOP_CLASS, TAG } from './tags';
import { dicomText } from './charset';
import { MAX_FRAMES } from '../limits';

/** Geometry and modality LUT of one frame (a slice of the future volume). */
export interface FrameHeader {
  /** ImagePositionPatient: centre of the first transmitted pixel, LPS mm. */
  positionMm?: Vec3;
  /** ImageOrientationPatient: row (x) direction cosines then column (y) direction cosines. */
  orientation?: number[];
  /** PixelSpacing as stored: [between rows (y), between columns (x)]. */
  pixelSpacingMm?: [number, number];
  sliceThicknessMm?: number;
  rescaleSlope: number;
  rescaleIntercept: number;
}

export interface PixelElementInfo {
  /** Byte offset of the value in the file (not meaningful for deflated files). */
  dataOffset: number;
  lengthBytes: number;
  encapsulated: boolean;
}

export interface DicomFileHeader {
  path: string;
  transferSyntaxUid: string;
  noMetaHeader: boolean;
  sopClassUid?: string;
  /** SOP Instance UID: the same image copied twice into a folder is read once. */
  sopInstanceUid?: string;
  modality?: string;
  seriesInstanceUid?: string;
  seriesDescription?: string;
  isDicomDir: boolean;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: number;
  photometric: string;
  planarConfiguration: number;
  numberOfFrames: number;
  pixel?: PixelElementInfo;
  /** Set when the file stores float pixel data (7FE0,0008/0009), which this reader does not decode. */
  floatPixelData: boolean;
  frames: FrameHeader[];
  spacingBetweenSlicesMm?: number;
  windowCenter?: number;
  windowWidth?: number;
  fileSizeBytes: number;
  /**
   * Acquisition order of an image among those at the same position (several time points, echoes or b-values in one
   * series): AcquisitionNumber, TemporalPositionIdentifier, EchoNumbers, TriggerTime, InstanceNumber; 0 where absent.
   */
  acquisitionOrder: number[];
}

export function str(ds: DataSet, tag: string): string | undefined {
  try {
    const v = ds.string(tag);
    return v === undefined || v === '' ? undefined : v;
  } catch {
    return undefined;
  }
}

/** All numbers of a DS/IS element (backslash-separated); empty when absent or unparsable. */
export function numbers(ds: DataSet, tag: string): number[] {
  const el = ds.elements[tag];
  if (!el || el.length === 0) return [];
  let text: string | undefined;
  try {
    text = dicomParserText(ds, el);
  } catch {
    return [];
  }
  if (!text) return [];
  return text
    .split('\\')
    .map((s) => Number.parseFloat(s.trim()))
    .filter((n) => Number.isFinite(n));
}

function dicomParserText(ds: DataSet, el: Element): string {
  let s = '';
  const end = el.dataOffset + el.length;
  for (let i = el.dataOffset; i < end && i < ds.byteArray.length; i++) {
    const c = ds.byteArray[i] ?? 0;
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  return s.trim();
}

function us(ds: DataSet, tag: string): number | undefined {
  const el = ds.elements[tag];
  if (!el || el.length < 2) return undefined;
  try {
    return ds.uint16(tag);
  } catch {
    return undefined;
  }
}

function vec3(values: number[]): Vec3 | undefined {
  const [a, b, c] = values;
  return a !== undefined && b !== undefined && c !== undefined ? [a, b, c] : undefined;
}

function firstItem(ds: DataSet | undefined, tag: string): DataSet | undefined {
  return ds?.elements[tag]?.items?.[0]?.dataSet;
}

/** Reads the geometry attributes of a (functional group item or top-level) data set into `into`. */
function readGeometry(ds: DataSet | undefined, into: Partial<FrameHeader>, functionalGroups: boolean): void {
  if (!ds) return;
  const pos = functionalGroups ? firstItem(ds, TAG.planePositionSequence) : ds;
  const ori = functionalGroups ? firstItem(ds, TAG.planeOrientationSequence) : ds;
  const meas = functionalGroups ? firstItem(ds, TAG.pixelMeasuresSequence) : ds;
  const lut = functionalGroups ? firstItem(ds, TAG.pixelValueTransformationSequence) : ds;
  const p = pos && vec3(numbers(pos, TAG.imagePositionPatient));
  if (p) into.positionMm = p;
  const o = ori && numbers(ori, TAG.imageOrientationPatient);
  if (o && o.length === 6) into.orientation = o;
  const s = meas && numbers(meas, TAG.pixelSpacing);
  if (s && s.length >= 2 && s[0]! > 0 && s[1]! > 0) into.pixelSpacingMm = [s[0]!, s[1]!];
  const t = meas && numbers(meas, TAG.sliceThickness)[0];
  if (t !== undefined && t > 0) into.sliceThicknessMm = t;
  const slope = lut && numbers(lut, TAG.rescaleSlope)[0];
  const intercept = lut && numbers(lut, TAG.rescaleIntercept)[0];
  if (slope !== undefined && slope !== 0) into.rescaleSlope = slope;
  if (intercept !== undefined) into.rescaleIntercept = intercept;
}

function cross(a: number[], b: number[]): Vec3 {
  const [a0 = 0, a1 = 0, a2 = 0] = a;
  const [b0 = 0, b1 = 0, b2 = 0] = [b[3], b[4], b[5]];
  return [a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0];
}

/** Per-frame headers: Enhanced functional groups if present, else the top-level attributes for every frame. */
function frameHeaders(ds: DataSet, numberOfFrames: number): FrameHeader[] {
  const base: FrameHeader = { rescaleSlope: 1, rescaleIntercept: 0 };
  readGeometry(ds, base, false);
  const shared = firstItem(ds, TAG.sharedFunctionalGroups);
  const perFrame = ds.elements[TAG.perFrameFunctionalGroups]?.items;
  if (shared || perFrame) {
    readGeometry(shared, base, true);
    const frames: FrameHeader[] = [];
    for (let f = 0; f < numberOfFrames; f++) {
      const fr: FrameHeader = { ...base };
      readGeometry(perFrame?.[f]?.dataSet, fr, true);
      frames.push(fr);
    }
    return frames;
  }
  // RT Dose and similar: frames offset along the normal by GridFrameOffsetVector.
  const offsets = numbers(ds, TAG.gridFrameOffsetVector);
  if (numberOfFrames > 1 && offsets.length === numberOfFrames && base.positionMm && base.orientation) {
    const n = cross(base.orientation, base.orientation);
    const first = offsets[0] ?? 0;
    // Offsets are relative to the first frame when the first is 0, else absolute along the normal (PS3.3 C.8.8.3.2).
    const p0 = base.positionMm;
    return offsets.map((o) => {
      const d = first === 0 ? o : o - first;
      return { ...base, positionMm: [p0[0] + d * n[0], p0[1] + d * n[1], p0[2] + d * n[2]] as Vec3 };
    });
  }
  const frames: FrameHeader[] = [{ ...base }];
  // Classic multi-frame without per-frame positions: frames share the attributes but not the position.
  for (let f = 1; f < numberOfFrames; f++) {
    const { positionMm: _dropped, ...rest } = base;
    frames.push({ ...rest });
  }
  if (numberOfFrames > 1 && frames[0]) delete frames[0].positionMm;
  return frames;
}

export function readFileHeader(path: string, parsed: ParsedFile): DicomFileHeader {
  const ds = parsed.dataSet;
  const sopClassUid = str(ds, TAG.sopClassUid);
  const isDicomDir = sopClassUid === MEDIA_STORAGE_DIRECTORY_SOP_CLASS || ds.elements[TAG.directoryRecordSequence] !== undefined;
  const pixelEl = ds.elements[TAG.pixelData];
  const rows = us(ds, TAG.rows) ?? 0;
  const columns = us(ds, TAG.columns) ?? 0;
  const bitsAllocated = us(ds, TAG.bitsAllocated) ?? 0;
  const bitsStored = us(ds, TAG.bitsStored) ?? bitsAllocated;
  const framesText = str(ds, TAG.numberOfFrames);
  let numberOfFrames = 1;
  if (framesText !== undefined) {
    // Reject values such as "1A" rather than guess: the frame count drives every offset.
    if (!/^\s*\d+\s*$/.test(framesText)) throw new InputError(path, `invalid NumberOfFrames value "${framesText.slice(0, 16)}"`);
    numberOfFrames = Math.max(1, Number.parseInt(framesText, 10));
    // Checked before one header per frame is built: "999999999" must not allocate a billion objects.
    if (numberOfFrames > MAX_FRAMES) throw new InputError(path, `NumberOfFrames ${numberOfFrames} is over the limit of ${MAX_FRAMES}`);
  }
  const header: DicomFileHeader = {
    path,
    transferSyntaxUid: parsed.transferSyntaxUid,
    noMetaHeader: parsed.noMetaHeader,
    sopClassUid,
    sopInstanceUid: str(ds, 'x00080018')?.trim(),
    modality: str(ds, TAG.modality),
    seriesInstanceUid: str(ds, TAG.seriesInstanceUid),
    seriesDescription: dicomText(ds, TAG.seriesDescription, 'LO'),
    isDicomDir,
    rows,
    columns,
    samplesPerPixel: us(ds, TAG.samplesPerPixel) ?? 1,
    bitsAllocated,
    bitsStored,
    highBit: us(ds, TAG.highBit) ?? bitsStored - 1,
    pixelRepresentation: us(ds, TAG.pixelRepresentation) ?? 0,
    photometric: (str(ds, TAG.photometric) ?? 'MONOCHROME2').trim().toUpperCase(),
    planarConfiguration: us(ds, TAG.planarConfiguration) ?? 0,
    numberOfFrames,
    floatPixelData: ds.elements[TAG.floatPixelData] !== undefined || ds.elements[TAG.doubleFloatPixelData] !== undefined,
    frames: [],
    spacingBetweenSlicesMm: numbers(ds, TAG.spacingBetweenSlices)[0],
    windowCenter: numbers(ds, TAG.windowCenter)[0],
    windowWidth: numbers(ds, TAG.windowWidth)[0],
    fileSizeBytes: parsed.fileSizeBytes,
    acquisitionOrder: ['x00200012', 'x00200100', 'x00180086', 'x00181060', TAG.instanceNumber].map((t) => numbers(ds, t)[0] ?? 0),
  };
  if (pixelEl && rows > 0 && columns > 0) {
    header.pixel = {
      dataOffset: pixelEl.dataOffset,
      lengthBytes: pixelEl.length,
      encapsulated: pixelEl.encapsulatedPixelData === true || pixelEl.length === 0xffffffff || pixelEl.hadUndefinedLength === true,
    };
    header.frames = frameHeaders(ds, numberOfFrames);
  }
  return header;
}
