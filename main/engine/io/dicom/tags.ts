// DICOM tags (dicom-parser's "xGGGGEEEE" keys) and the transfer syntaxes this reader knows, with how each is decoded.

export const TAG = {
  transferSyntaxUid: 'x00020010',
  sopClassUid: 'x00080016',
  modality: 'x00080060',
  seriesDescription: 'x0008103e',
  studyInstanceUid: 'x0020000d',
  seriesInstanceUid: 'x0020000e',
  instanceNumber: 'x00200013',
  imagePositionPatient: 'x00200032',
  imageOrientationPatient: 'x00200037',
  sliceThickness: 'x00180050',
  spacingBetweenSlices: 'x00180088',
  samplesPerPixel: 'x00280002',
  photometric: 'x00280004',
  planarConfiguration: 'x00280006',
  numberOfFrames: 'x00280008',
  rows: 'x00280010',
  columns: 'x00280011',
  pixelSpacing: 'x00280030',
  bitsAllocated: 'x00280100',
  bitsStored: 'x00280101',
  highBit: 'x00280102',
  pixelRepresentation: 'x00280103',
  windowCenter: 'x00281050',
  windowWidth: 'x00281051',
  rescaleIntercept: 'x00281052',
  rescaleSlope: 'x00281053',
  gridFrameOffsetVector: 'x3004000c',
  pixelData: 'x7fe00010',
  floatPixelData: 'x7fe00008',
  doubleFloatPixelData: 'x7fe00009',
  // Enhanced multi-frame functional groups
  sharedFunctionalGroups: 'x52009229',
  perFrameFunctionalGroups: 'x52009230',
  planePositionSequence: 'x00209113',
  planeOrientationSequence: 'x00209116',
  pixelMeasuresSequence: 'x00289110',
  pixelValueTransformationSequence: 'x00289145',
  // DICOMDIR
  directoryRecordSequence: 'x00041220',
  directoryRecordType: 'x00041430',
  referencedFileId: 'x00041500',
} as const;

export const MEDIA_STORAGE_DIRECTORY_SOP_CLASS = '1.2.840.10008.1.3.10';

/** How the pixel data of a transfer syntax is decoded. */
export type PixelCodec =
  | 'native'
  | 'rle'
  | 'jpeg-lossy'
  | 'jpeg-lossless'
  | 'jpeg-ls'
  | 'jpeg2000'
  | 'htj2k'
  | 'unsupported';

export interface TransferSyntax {
  uid: string;
  name: string;
  codec: PixelCodec;
  explicitVr: boolean;
  bigEndian: boolean;
  deflated: boolean;
}

const ts = (uid: string, name: string, codec: PixelCodec, extra: Partial<TransferSyntax> = {}): TransferSyntax => ({
  uid,
  name,
  codec,
  explicitVr: true,
  bigEndian: false,
  deflated: false,
  ...extra,
});

export const TRANSFER_SYNTAXES: ReadonlyMap<string, TransferSyntax> = new Map(
  [
    ts('1.2.840.10008.1.2', 'Implicit VR Little Endian', 'native', { explicitVr: false }),
    ts('1.2.840.10008.1.2.1', 'Explicit VR Little Endian', 'native'),
    ts('1.2.840.10008.1.2.1.99', 'Deflated Explicit VR Little Endian', 'native', { deflated: true }),
    ts('1.2.840.10008.1.2.2', 'Explicit VR Big Endian', 'native', { bigEndian: true }),
    ts('1.2.840.10008.1.2.5', 'RLE Lossless', 'rle'),
    ts('1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)', 'jpeg-lossy'),
    ts('1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)', 'jpeg-lossy'),
    ts('1.2.840.10008.1.2.4.53', 'JPEG Extended (Process 6 & 8)', 'jpeg-lossy'),
    ts('1.2.840.10008.1.2.4.55', 'JPEG Full Progression (Process 10 & 12)', 'jpeg-lossy'),
    ts('1.2.840.10008.1.2.4.57', 'JPEG Lossless (Process 14)', 'jpeg-lossless'),
    ts('1.2.840.10008.1.2.4.70', 'JPEG Lossless SV1 (Process 14, Selection Value 1)', 'jpeg-lossless'),
    ts('1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless', 'jpeg-ls'),
    ts('1.2.840.10008.1.2.4.81', 'JPEG-LS Near-Lossless', 'jpeg-ls'),
    ts('1.2.840.10008.1.2.4.90', 'JPEG 2000 Lossless', 'jpeg2000'),
    ts('1.2.840.10008.1.2.4.91', 'JPEG 2000', 'jpeg2000'),
    ts('1.2.840.10008.1.2.4.201', 'HTJ2K Lossless', 'htj2k'),
    ts('1.2.840.10008.1.2.4.202', 'HTJ2K Lossless RPCL', 'htj2k'),
    ts('1.2.840.10008.1.2.4.203', 'HTJ2K', 'htj2k'),
    ts('1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile', 'unsupported'),
    ts('1.2.840.10008.1.2.4.101', 'MPEG2 High Profile', 'unsupported'),
    ts('1.2.840.10008.1.2.4.102', 'MPEG-4 AVC/H.264', 'unsupported'),
    ts('1.2.840.10008.1.2.4.103', 'MPEG-4 AVC/H.264 BD', 'unsupported'),
    ts('1.2.840.10008.1.2.4.92', 'JPEG 2000 Part 2 Multi-component Lossless', 'unsupported'),
    ts('1.2.840.10008.1.2.4.93', 'JPEG 2000 Part 2 Multi-component', 'unsupported'),
  ].map((t) => [t.uid, t]),
);

/** The syntax for a UID; unknown UIDs are treated as encapsulated and refused when pixels are read. */
export function transferSyntax(uid: string): TransferSyntax {
  return TRANSFER_SYNTAXES.get(uid) ?? ts(uid, 'unknown transfer syntax', 'unsupported');
}

/** "JPEG Baseline (Process 1) (1.2.840.10008.1.2.4.50)": how errors name a syntax. */
export function describeSyntax(t: TransferSyntax): string {
  return `${t.name} (${t.uid})`;
}
