// NIfTI-1 reading and writing (.nii, .nii.gz) with qform/sform mapped to patient LPS geometry.
// NIfTI world coordinates are RAS; ours are DICOM LPS, so the x and y rows of the affine change sign both ways.
import { promises as fs } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import type { DType, MedicalGeometry, Vec3 } from '../../../preload/formats';
import { BYTES_PER_SAMPLE, InputError, allocPixels, dtypeOf, type ImageSource, type PixelArray, type PixelBlock, type Region } from '../image';
import type { VolumeData } from './volume';
import { writeFileAtomic } from './atomic';
import { cropPlanar, firstLine, resolveRegion } from './region';
import { checkDecodedSize, maxDecodedBytes } from './limits';

/** NIfTI datatype codes we read and write. */
const DTYPE_OF_CODE: Record<number, DType> = {
  2: 'uint8',
  4: 'int16',
  8: 'int32',
  16: 'float32',
  64: 'float64',
  256: 'int8',
  512: 'uint16',
  768: 'uint32',
};
const CODE_OF_DTYPE: Record<DType, number> = {
  uint8: 2,
  int16: 4,
  int32: 8,
  float32: 16,
  float64: 64,
  int8: 256,
  uint16: 512,
  uint32: 768,
};

type Mat3 = [Vec3, Vec3, Vec3];

/** Geometry from a 4x4 RAS affine (rows): spacing = column norms, direction = unit columns, both in LPS. */
export function geometryFromRasAffine(affine: number[][]): MedicalGeometry {
  const lps = (row: number, col: number): number => (row < 2 ? -1 : 1) * (affine[row]?.[col] ?? 0);
  const spacingMm: Vec3 = [0, 0, 0];
  const direction: number[] = [];
  for (let col = 0; col < 3; col++) {
    const v: Vec3 = [lps(0, col), lps(1, col), lps(2, col)];
    let norm = Math.hypot(v[0], v[1], v[2]);
    // A degenerate column (zero pixdim) would divide by zero: fall back to a unit axis, spacing 1.
    if (!(norm > 0) || !Number.isFinite(norm)) {
      v[0] = col === 0 ? 1 : 0;
      v[1] = col === 1 ? 1 : 0;
      v[2] = col === 2 ? 1 : 0;
      norm = 1;
      spacingMm[col] = 1;
    } else {
      spacingMm[col] = norm;
    }
    direction.push(v[0] / norm, v[1] / norm, v[2] / norm);
  }
  return { type: 'medical', spacingMm, originMm: [lps(0, 3), lps(1, 3), lps(2, 3)], direction };
}

/** RAS affine (rows of 4) from LPS geometry: column j = direction_j * spacing_j, x and y rows negated. */
export function rasAffineFromGeometry(g: MedicalGeometry): number[][] {
  const rows: number[][] = [];
  for (let row = 0; row < 3; row++) {
    const sign = row < 2 ? -1 : 1;
    const r: number[] = [];
    for (let col = 0; col < 3; col++) r.push(sign * (g.direction[col * 3 + row] ?? 0) * g.spacingMm[col]!);
    r.push(sign * g.originMm[row]!);
    rows.push(r);
  }
  rows.push([0, 0, 0, 1]);
  return rows;
}

/** Rotation matrix -> NIfTI quaternion (b, c, d) and qfac, as nifti1_io's nifti_mat44_to_quatern. */
function quaternFromRotation(m: Mat3): { b: number; c: number; d: number; qfac: number } {
  const r: Mat3 = [[...m[0]], [...m[1]], [...m[2]]];
  const det =
    r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1]) -
    r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0]) +
    r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
  let qfac = 1;
  if (det < 0) {
    // Left-handed voxel axes: NIfTI stores that as qfac = -1 with the third column flipped.
    qfac = -1;
    for (let i = 0; i < 3; i++) r[i]![2] = -r[i]![2];
  }
  const [r11, r12, r13] = r[0];
  const [r21, r22, r23] = r[1];
  const [r31, r32, r33] = r[2];
  let a = r11 + r22 + r33 + 1;
  let b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) {
      b = -b;
      c = -c;
      d = -d;
    }
  }
  return { b, c, d, qfac };
}

/** qform parameters -> RAS affine (nifti1_io's nifti_quatern_to_mat44). */
function affineFromQuatern(b: number, c: number, d: number, qx: number, qy: number, qz: number, spacing: Vec3, qfac: number): number[][] {
  let a = 1 - (b * b + c * c + d * d);
  if (a < 1e-7) {
    // Rounding made the quaternion slightly longer than 1: renormalise (b, c, d), a = 0 (a 180-degree rotation).
    const s = 1 / Math.sqrt(b * b + c * c + d * d);
    b *= s;
    c *= s;
    d *= s;
    a = 0;
  } else {
    a = Math.sqrt(a);
  }
  const [xd, yd, zd0] = spacing.map((v) => (v > 0 ? v : 1)) as Vec3;
  const zd = qfac < 0 ? -zd0 : zd0;
  return [
    [(a * a + b * b - c * c - d * d) * xd, 2 * (b * c - a * d) * yd, 2 * (b * d + a * c) * zd, qx],
    [2 * (b * c + a * d) * xd, (a * a + c * c - b * b - d * d) * yd, 2 * (c * d - a * b) * zd, qy],
    [2 * (b * d - a * c) * xd, 2 * (c * d + a * b) * yd, (a * a + d * d - c * c - b * b) * zd, qz],
    [0, 0, 0, 1],
  ];
}

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/** What a NIfTI header says about the voxels that follow it: size, types, scaling, data offset and geometry. */
export interface NiftiLayout {
  width: number;
  height: number;
  depth: number;
  channels: number;
  storedDtype: DType;
  /** The type read() returns: the stored one, or float when scl_slope/scl_inter scale the values. */
  dtype: DType;
  scaled: boolean;
  slope: number;
  inter: number;
  /** Byte offset of the first voxel. */
  offset: number;
  littleEndian: boolean;
  geometry: MedicalGeometry;
  meta: Record<string, unknown>;
}

/** Parses the header at the start of `head` (the decompressed file, or at least its first 544 bytes + vox_offset). */
export function niftiLayout(file: string, head: Buffer): NiftiLayout {
  const ab = toArrayBuffer(head);
  if (!nifti.isNIFTI(ab)) throw new InputError(file, 'not a NIfTI file (no n+1/n+2 magic; .hdr/.img pairs are not supported)');
  let header: nifti.NIFTI1 | nifti.NIFTI2;
  try {
    header = nifti.readHeader(ab);
  } catch (err) {
    throw new InputError(file, `unreadable NIfTI header (${firstLine(err)})`);
  }
  const dims = header.dims;
  const rank = dims[0] ?? 0;
  if (rank < 1 || rank > 7) throw new InputError(file, `NIfTI header has an invalid dimension count (${rank})`);
  const dim = (i: number): number => (i <= rank ? Math.max(1, dims[i] ?? 1) : 1);
  const width = dim(1);
  const height = dim(2);
  const depth = dim(3);
  // Time points / vector components become channels, in file order (x fastest, then y, z, t, u ...).
  let channels = 1;
  for (let i = 4; i <= rank; i++) channels *= dim(i);
  const storedDtype = DTYPE_OF_CODE[header.datatypeCode];
  if (!storedDtype) throw new InputError(file, `NIfTI datatype ${header.datatypeCode} is not supported (integers and float32/64 only)`);
  const voxOffset = Number.isFinite(header.vox_offset) ? Math.round(header.vox_offset) : 0;
  const offset = Math.max(voxOffset, header instanceof nifti.NIFTI2 ? 544 : 348);
  const slope = header.scl_slope;
  const inter = header.scl_inter;
  // scl_slope 0 means "no scaling" (NIfTI-1 spec); identity scaling keeps the stored type.
  const scaled = Number.isFinite(slope) && slope !== 0 && (slope !== 1 || (Number.isFinite(inter) && inter !== 0));
  const dtype: DType = scaled ? (storedDtype === 'float64' ? 'float64' : 'float32') : storedDtype;

  const spacing: Vec3 = [header.pixDims[1] || 1, header.pixDims[2] || 1, header.pixDims[3] || 1].map(Math.abs) as Vec3;
  let affine: number[][];
  let transform: 'sform' | 'qform' | 'pixdim';
  if (header.sform_code > 0) {
    transform = 'sform';
    affine = header.sform_code >= header.qform_code || header instanceof nifti.NIFTI2 ? header.affine : readSform(head, header.littleEndian);
  } else if (header.qform_code > 0) {
    transform = 'qform';
    const qfac = (header.pixDims[0] ?? 1) < 0 ? -1 : 1;
    affine = affineFromQuatern(header.quatern_b, header.quatern_c, header.quatern_d, header.qoffset_x, header.qoffset_y, header.qoffset_z, spacing, qfac);
  } else {
    // NIfTI "method 1": no orientation, only voxel sizes (scanner-anonymous); map straight to RAS axes.
    transform = 'pixdim';
    affine = [
      [spacing[0], 0, 0, 0],
      [0, spacing[1], 0, 0],
      [0, 0, spacing[2], 0],
      [0, 0, 0, 1],
    ];
  }
  const geometry = geometryFromRasAffine(affine);

  return {
    width,
    height,
    depth,
    channels,
    storedDtype,
    dtype,
    scaled,
    slope,
    inter,
    offset,
    littleEndian: header.littleEndian,
    geometry,
    meta: {
      niftiVersion: header instanceof nifti.NIFTI2 ? 2 : 1,
      niftiDatatype: storedDtype,
      transform,
      qformCode: header.qform_code,
      sformCode: header.sform_code,
      ...(scaled ? { sclSlope: slope, sclInter: inter } : {}),
    },
  };
}

/** Reads a whole .nii / .nii.gz (NIfTI voxel data is not tiled: a window still needs the full decompressed file). */
export async function openNifti(file: string): Promise<ImageSource> {
  let bytes: Buffer = await fs.readFile(file);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      // Capped: a few hundred KiB of gzip can inflate to gigabytes.
      bytes = gunzipSync(bytes, { maxOutputLength: maxDecodedBytes() + 4096 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') checkDecodedSize(file, 'the gzip stream', Number.POSITIVE_INFINITY);
      throw new InputError(file, `corrupt or truncated gzip data (${firstLine(err)})`);
    }
  }
  const layout = niftiLayout(file, bytes);
  const { width, height, depth, channels, storedDtype, dtype, scaled, slope, inter, offset, littleEndian, geometry } = layout;
  const voxels = width * height * depth * channels;
  const bytesPer = BYTES_PER_SAMPLE[storedDtype];
  checkDecodedSize(file, `a ${width}x${height}x${depth}x${channels} ${storedDtype} volume`, voxels * bytesPer);
  if (offset + voxels * bytesPer > bytes.length) {
    throw new InputError(file, `truncated NIfTI: ${voxels} voxels need ${voxels * bytesPer} bytes after the header, the file has ${Math.max(0, bytes.length - offset)}`);
  }
  // Own, aligned copy of the voxel data, byte-swapped when the file is big-endian.
  const stored = allocPixels(storedDtype, voxels);
  const storedBytes = new Uint8Array(stored.buffer);
  storedBytes.set(bytes.subarray(offset, offset + voxels * bytesPer));
  if (!littleEndian && bytesPer > 1) {
    for (let i = 0; i < storedBytes.length; i += bytesPer) storedBytes.subarray(i, i + bytesPer).reverse();
  }

  const storedType: DType = storedDtype;
  async function read(region: Region = {}): Promise<PixelBlock> {
    const r = resolveRegion(region, width, height, depth, channels, file);
    const n = r.width * r.height * r.depth * r.channels.length;
    const raw = allocPixels(storedType, n);
    cropPlanar(stored, { width, height, depth }, r, raw);
    let data: PixelArray = raw;
    if (scaled) {
      data = allocPixels(dtype, n);
      for (let i = 0; i < n; i++) data[i] = raw[i]! * slope + inter;
    }
    return { data, width: r.width, height: r.height, depth: r.depth, channels: r.channels.length, dtype };
  }

  return {
    file,
    format: 'nifti',
    kind: 'medical',
    width,
    height,
    depth,
    channels,
    dtype,
    geometry,
    meta: layout.meta,
    read,
    close: async () => undefined,
  };
}

/** srow_x/y/z straight from a NIfTI-1 header (the library prefers the qform when its code is higher). */
function readSform(bytes: Buffer, littleEndian: boolean): number[][] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rows: number[][] = [];
  for (let row = 0; row < 3; row++) {
    const r: number[] = [];
    for (let col = 0; col < 4; col++) r.push(view.getFloat32(280 + row * 16 + col * 4, littleEndian));
    rows.push(r);
  }
  rows.push([0, 0, 0, 1]);
  return rows;
}

/** Geometry a writer uses: medical as is; pixel/geo as an LPS-identity grid with the known (or unit) spacing. */
function writerGeometry(volume: Pick<VolumeData, 'geometry'>): MedicalGeometry {
  const g = volume.geometry;
  if (g.type === 'medical') return g;
  const spacingMm: Vec3 = g.type === 'pixel' && g.spacingMm ? g.spacingMm : [1, 1, 1];
  // LPS identity: x -> patient left, y -> posterior, which viewers show like an axial DICOM slice, as the picture looked.
  return { type: 'medical', spacingMm, originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
}

/** Writes atomically; .gz in the name means gzip. Geometry: medical (LPS) or pixel (unit spacing). */
export async function writeNifti(path: string, volume: VolumeData): Promise<void> {
  await writeFileAtomic(path, encodeNifti(volume, /\.gz$/i.test(path)));
}

/** qform: the rotation part of the affine (in RAS) as a quaternion; exact for orthonormal directions. */
function qformOf(g: MedicalGeometry, affine: number[][]): ReturnType<typeof quaternFromRotation> {
  const rot: Mat3 = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  for (let row = 0; row < 3; row++) for (let col = 0; col < 3; col++) rot[row]![col] = affine[row]![col]! / g.spacingMm[col]!;
  return quaternFromRotation(rot);
}

/** NIfTI-1 keeps each dimension in an int16: a larger image (a 65535-row scan) is written as NIfTI-2. */
const NIFTI1_MAX_DIM = 32767;

/**
 * The bytes before the voxels of a NIfTI file written here (header + empty extension flag), for writers that stream
 * the voxels after it (postprocess/streaming-volume.ts) as well as encodeNifti: NIfTI-1 (352 bytes), or NIfTI-2
 * (544 bytes) when a dimension exceeds what NIfTI-1 can hold.
 */
export function niftiHeader(volume: Pick<VolumeData, 'width' | 'height' | 'depth' | 'channels' | 'geometry'> & { dtype: DType }): Buffer {
  const { width, height, depth, channels, dtype } = volume;
  const g = writerGeometry(volume);
  const affine = rasAffineFromGeometry(g);
  if (Math.max(width, height, depth, channels) > NIFTI1_MAX_DIM) return nifti2Header(volume, g, affine);
  const header = Buffer.alloc(352);
  header.writeInt32LE(348, 0);
  const rank = channels > 1 ? 4 : depth > 1 ? 3 : 2;
  const dims = [rank, width, height, depth, channels, 1, 1, 1];
  dims.forEach((v, i) => header.writeInt16LE(v, 40 + i * 2));
  header.writeInt16LE(CODE_OF_DTYPE[dtype], 70);
  header.writeInt16LE(BYTES_PER_SAMPLE[dtype] * 8, 72);

  const q = qformOf(g, affine);
  const pixdim = [q.qfac, g.spacingMm[0], g.spacingMm[1], g.spacingMm[2], 1, 1, 1, 1];
  pixdim.forEach((v, i) => header.writeFloatLE(v, 76 + i * 4));
  header.writeFloatLE(352, 108); // vox_offset
  header.writeFloatLE(1, 112); // scl_slope: values are stored unscaled
  header.writeFloatLE(0, 116);
  header.writeUInt8(2, 123); // xyzt_units: millimetres
  header.write('Delineate', 148, 80, 'latin1');
  header.writeInt16LE(1, 252); // qform_code: scanner anatomical
  header.writeInt16LE(1, 254); // sform_code
  header.writeFloatLE(q.b, 256);
  header.writeFloatLE(q.c, 260);
  header.writeFloatLE(q.d, 264);
  header.writeFloatLE(affine[0]![3]!, 268);
  header.writeFloatLE(affine[1]![3]!, 272);
  header.writeFloatLE(affine[2]![3]!, 276);
  for (let row = 0; row < 3; row++) for (let col = 0; col < 4; col++) header.writeFloatLE(affine[row]![col]!, 280 + row * 16 + col * 4);
  header.write('n+1\0', 344, 4, 'latin1');
  // Bytes 348..351: extension flag 0 (no extensions).
  return header;
}

/** The same header as NIfTI-2 (540 bytes, 64-bit dimensions and doubles; Cox et al., the NIfTI-2 format). */
function nifti2Header(volume: Pick<VolumeData, 'width' | 'height' | 'depth' | 'channels'> & { dtype: DType }, g: MedicalGeometry, affine: number[][]): Buffer {
  const { width, height, depth, channels, dtype } = volume;
  const header = Buffer.alloc(544);
  header.writeInt32LE(540, 0);
  header.write('n+2\0\r\n\x1a\n', 4, 8, 'latin1');
  header.writeInt16LE(CODE_OF_DTYPE[dtype], 12);
  header.writeInt16LE(BYTES_PER_SAMPLE[dtype] * 8, 14);
  const rank = channels > 1 ? 4 : depth > 1 ? 3 : 2;
  [rank, width, height, depth, channels, 1, 1, 1].forEach((v, i) => header.writeBigInt64LE(BigInt(v), 16 + i * 8));
  const q = qformOf(g, affine);
  [q.qfac, g.spacingMm[0], g.spacingMm[1], g.spacingMm[2], 1, 1, 1, 1].forEach((v, i) => header.writeDoubleLE(v, 104 + i * 8));
  header.writeBigInt64LE(544n, 168); // vox_offset
  header.writeDoubleLE(1, 176); // scl_slope: values are stored unscaled
  header.writeDoubleLE(0, 184);
  header.write('Delineate', 240, 80, 'latin1');
  header.writeInt32LE(1, 344); // qform_code: scanner anatomical
  header.writeInt32LE(1, 348); // sform_code
  [q.b, q.c, q.d, affine[0]![3]!, affine[1]![3]!, affine[2]![3]!].forEach((v, i) => header.writeDoubleLE(v, 352 + i * 8));
  for (let row = 0; row < 3; row++) for (let col = 0; col < 4; col++) header.writeDoubleLE(affine[row]![col]!, 400 + row * 32 + col * 8);
  header.writeInt32LE(2, 500); // xyzt_units: millimetres
  // Bytes 540..543: extension flag 0 (no extensions).
  return header;
}

/** NIfTI single-file bytes: the header (NIfTI-1, or NIfTI-2 past 32767 per dimension), voxels (x fastest, channels as dim 4). */
export function encodeNifti(volume: VolumeData, gzip: boolean): Buffer {
  const { width, height, depth, channels, data } = volume;
  if (data.length !== width * height * depth * channels) {
    throw new RangeError(`writeNifti: ${data.length} samples for ${width}x${height}x${depth}x${channels}`);
  }
  const header = niftiHeader({ width, height, depth, channels, dtype: dtypeOf(data), geometry: volume.geometry });
  const voxels = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const out = Buffer.concat([header, voxels]);
  return gzip ? gzipSync(out, { level: 6 }) : out;
}
