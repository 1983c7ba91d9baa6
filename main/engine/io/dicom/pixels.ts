// Pixel data of one frame: native (any endianness, 1..32 bits, planar or interleaved, YBR) or compressed
// (RLE, JPEG, JPEG-LS, JPEG 2000, HTJ2K), then the Modality LUT (slope/intercept) written into the volume.
// Undecodable syntaxes are refused with an error naming the syntax; wrong values are never returned.

import { open } from 'node:fs/promises';
import * as dicomParser from 'dicom-parser';
import type { DType } from '../../../../preload/formats';
import { InputError, type PixelArray } from '../../image';
import {
  decodeHtj2k,
  decodeJpeg2000,
  decodeJpegBaseline8,
  decodeJpegLossless,
  decodeJpegLs,
  jpegFrameHeader,
  type DecodedFrame,
} from './codecs';
import type { DicomFileHeader, FrameHeader } from './header';
import { parseFile, type DataSet, type Element } from './parse';
import { decodeRle } from './rle';
import { describeSyntax, TAG, transferSyntax } from './tags';

type RawSamples = Uint8Array | Uint16Array | Uint32Array;

/** A frame's samples before the Modality LUT. Colour frames are RGB after this stage. */
interface RawFrame {
  samples: RawSamples;
  /** True when samples are stored plane by plane (R...G...B...), false when interleaved (RGBRGB...). */
  planar: boolean;
  /** Colour already converted to RGB (YBR_*), so no bit masking applies. */
  colorConverted: boolean;
}

const COLOR_PHOTOMETRICS = new Set(['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_RCT', 'YBR_ICT', 'YBR_PARTIAL_422', 'YBR_PARTIAL_420']);

/** Why a header cannot be decoded at all, checked before any pixel is read; null when it can be tried. */
export function undecodableReason(h: DicomFileHeader): string | null {
  const t = transferSyntax(h.transferSyntaxUid);
  if (!h.pixel) return h.floatPixelData ? 'float pixel data (7FE0,0008/0009) is not supported' : null;
  if (t.codec === 'unsupported') return `unsupported transfer syntax ${describeSyntax(t)}`;
  if (t.codec === 'jpeg-lossy' && (h.bitsStored > 8 || h.bitsAllocated > 8)) {
    // No JS/WASM decoder here reproduces 12-bit lossy JPEG exactly; refusing beats returning shifted values.
    return `12-bit lossy JPEG is not supported: transfer syntax ${describeSyntax(t)}`;
  }
  if (![1, 8, 16, 32].includes(h.bitsAllocated)) return `BitsAllocated ${h.bitsAllocated} is not supported`;
  if (h.bitsStored < 1 || h.bitsStored > h.bitsAllocated) return `BitsStored ${h.bitsStored} is inconsistent with BitsAllocated ${h.bitsAllocated}`;
  if (h.samplesPerPixel !== 1 && h.samplesPerPixel !== 3) return `SamplesPerPixel ${h.samplesPerPixel} is not supported`;
  if (h.samplesPerPixel === 3 && !COLOR_PHOTOMETRICS.has(h.photometric)) return `photometric ${h.photometric} with 3 samples is not supported`;
  if (h.photometric === 'YBR_PARTIAL_420' || h.photometric === 'YBR_PARTIAL_422') return `photometric ${h.photometric} is not supported`;
  return null;
}

/** Output dtype for a series: colour keeps its storage; greyscale fits the modality-value range exactly. */
export function outputDType(h: DicomFileHeader, frames: FrameHeader[]): DType {
  if (h.bitsAllocated === 1) return 'uint8';
  if (h.samplesPerPixel === 3) return h.bitsAllocated <= 8 ? 'uint8' : h.bitsAllocated <= 16 ? 'uint16' : 'uint32';
  const signed = h.pixelRepresentation === 1;
  const bits = Math.min(h.bitsStored, 32);
  const storedMin = signed ? -(2 ** (bits - 1)) : 0;
  const storedMax = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  let lo = Infinity;
  let hi = -Infinity;
  let integral = true;
  for (const f of frames) {
    if (!Number.isInteger(f.rescaleSlope) || !Number.isInteger(f.rescaleIntercept)) integral = false;
    const a = storedMin * f.rescaleSlope + f.rescaleIntercept;
    const b = storedMax * f.rescaleSlope + f.rescaleIntercept;
    lo = Math.min(lo, a, b);
    hi = Math.max(hi, a, b);
  }
  if (!integral) return 'float32';
  const candidates: [DType, number, number][] = [
    ['uint8', 0, 255],
    ['int8', -128, 127],
    ['uint16', 0, 65535],
    ['int16', -32768, 32767],
    ['int32', -(2 ** 31), 2 ** 31 - 1],
    ['uint32', 0, 2 ** 32 - 1],
  ];
  for (const [dtype, min, max] of candidates) if (lo >= min && hi <= max) return dtype;
  return 'float64';
}

// ---------------------------------------------------------------- reading a file's frames

/** Access to one file's frames; opened once per file and dropped after its frames are written. */
export interface FrameReader {
  frame(index: number): Promise<RawFrame>;
}

function nativeFrameBytes(h: DicomFileHeader): number {
  const pixels = h.rows * h.columns;
  if (h.bitsAllocated === 1) return Math.ceil((pixels * h.samplesPerPixel) / 8);
  // YBR_FULL_422 native stores two luma and one pair of chroma samples per two pixels.
  const samples = h.photometric === 'YBR_FULL_422' && h.samplesPerPixel === 3 ? pixels * 2 : pixels * h.samplesPerPixel;
  return samples * (h.bitsAllocated / 8);
}

export async function openFrameReader(h: DicomFileHeader): Promise<FrameReader> {
  const reason = undecodableReason(h);
  if (reason) throw new InputError(h.path, reason);
  if (!h.pixel) throw new InputError(h.path, 'no pixel data');
  const t = transferSyntax(h.transferSyntaxUid);
  if (t.codec === 'native') {
    // 1-bit frames are packed back to back at bit level, so read the whole value for them.
    const frameBytes = nativeFrameBytes(h);
    const totalBytes = h.bitsAllocated === 1 ? Math.ceil((h.rows * h.columns * h.samplesPerPixel * h.numberOfFrames) / 8) : frameBytes * h.numberOfFrames;
    let value: Uint8Array;
    if (t.deflated || h.pixel.encapsulated) {
      const parsed = await parseFile(h.path);
      const el = parsed.dataSet.elements[TAG.pixelData];
      if (!el) throw new InputError(h.path, 'no pixel data');
      value = parsed.dataSet.byteArray.subarray(el.dataOffset, el.dataOffset + Math.min(el.length, parsed.dataSet.byteArray.length - el.dataOffset));
    } else {
      value = await readRange(h.path, h.pixel.dataOffset, Math.min(h.pixel.lengthBytes, Math.max(0, h.fileSizeBytes - h.pixel.dataOffset)));
    }
    if (value.length < totalBytes) {
      throw new InputError(h.path, `truncated pixel data: ${value.length} of ${totalBytes} bytes present`);
    }
    return {
      frame: async (index) => nativeFrame(h, value, index, frameBytes, t.bigEndian),
    };
  }
  const parsed = await parseFile(h.path);
  const ds = parsed.dataSet;
  const el = ds.elements[TAG.pixelData];
  if (!el || !el.encapsulatedPixelData) throw new InputError(h.path, `pixel data is not encapsulated as ${describeSyntax(t)} requires`);
  let offsets: number[] | undefined;
  return {
    frame: async (index) => {
      let bytes: Uint8Array;
      try {
        if (!offsets && h.numberOfFrames > 1 && !(el.basicOffsetTable?.length) && (el.fragments?.length ?? 0) !== h.numberOfFrames) {
          // Several frames, no offset table, fragments not one per frame: find frame boundaries (JPEG markers).
          offsets = dicomParser.createJPEGBasicOffsetTable(ds, el);
        }
        bytes = encapsulatedFrame(ds, el, index, h.numberOfFrames, offsets);
      } catch (e) {
        throw new InputError(h.path, `cannot locate frame ${index + 1} in the encapsulated pixel data (${e instanceof Error ? e.message : String(e)})`);
      }
      try {
        return await compressedFrame(h, bytes);
      } catch (e) {
        if (e instanceof InputError) throw e;
        const msg = e instanceof Error ? e.message : typeof e === 'number' ? `codec error ${e}` : String(e);
        throw new InputError(h.path, `cannot decode ${describeSyntax(t)} frame ${index + 1}: ${msg.slice(0, 160)}`);
      }
    },
  };
}

async function readRange(path: string, offset: number, lengthBytes: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(lengthBytes);
    const { bytesRead } = await handle.read(buf, 0, lengthBytes, offset);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function encapsulatedFrame(ds: DataSet, el: Element, index: number, frames: number, offsets: number[] | undefined): Uint8Array {
  const fragments = el.fragments ?? [];
  if (frames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, fragments.length);
  if (el.basicOffsetTable && el.basicOffsetTable.length > 0) return dicomParser.readEncapsulatedImageFrame(ds, el, index);
  if (fragments.length === frames) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, index, 1);
  return dicomParser.readEncapsulatedImageFrame(ds, el, index, offsets);
}

function nativeFrame(h: DicomFileHeader, value: Uint8Array, index: number, frameBytes: number, bigEndian: boolean): RawFrame {
  const pixels = h.rows * h.columns;
  if (h.bitsAllocated === 1) {
    // Bits are packed LSB first across the whole value, frames included.
    const out = new Uint8Array(pixels * h.samplesPerPixel);
    const startBit = index * out.length;
    for (let i = 0; i < out.length; i++) {
      const bit = startBit + i;
      out[i] = ((value[bit >> 3] ?? 0) >> (bit & 7)) & 1;
    }
    return { samples: out, planar: false, colorConverted: false };
  }
  // A real copy (Buffer#slice would be a view): aligned for typed views and safe to byte-swap.
  const bytes = Uint8Array.prototype.slice.call(value, index * frameBytes, (index + 1) * frameBytes);
  let samples: RawSamples;
  if (h.bitsAllocated === 8) samples = bytes;
  else if (h.bitsAllocated === 16) samples = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1);
  else samples = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
  if (bigEndian && h.bitsAllocated > 8) swapBytes(bytes, h.bitsAllocated / 8);
  if (h.samplesPerPixel === 3 && h.photometric === 'YBR_FULL_422' && samples instanceof Uint8Array) {
    return { samples: ybr422ToRgb(samples, h.columns, h.rows), planar: false, colorConverted: true };
  }
  const planar = h.samplesPerPixel > 1 && h.planarConfiguration === 1;
  if (h.samplesPerPixel === 3 && h.photometric === 'YBR_FULL' && samples instanceof Uint8Array) {
    return { samples: ybrFullToRgb(samples, pixels, planar), planar, colorConverted: true };
  }
  return { samples, planar, colorConverted: false };
}

function swapBytes(bytes: Uint8Array, width: number): void {
  if (width === 2) {
    for (let i = 0; i + 1 < bytes.length; i += 2) {
      const a = bytes[i] ?? 0;
      bytes[i] = bytes[i + 1] ?? 0;
      bytes[i + 1] = a;
    }
  } else if (width === 4) {
    for (let i = 0; i + 3 < bytes.length; i += 4) {
      const a = bytes[i] ?? 0;
      const b = bytes[i + 1] ?? 0;
      bytes[i] = bytes[i + 3] ?? 0;
      bytes[i + 1] = bytes[i + 2] ?? 0;
      bytes[i + 2] = b;
      bytes[i + 3] = a;
    }
  }
}

// YBR_FULL -> RGB with the coefficients and rounding of PS3.3 C.7.6.3.1.2 (as pydicom does, so results match).
const CR_R = 1.402;
const CB_G = (-0.114 * 1.772) / 0.587;
const CR_G = (-0.299 * 1.402) / 0.587;
const CB_B = 1.772;

function clamp8(v: number): number {
  const r = Math.floor(v + 0.5);
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

function ybrPixel(out: Uint8Array, o: number, y: number, cb: number, cr: number): void {
  const b = cb - 128;
  const r = cr - 128;
  out[o] = clamp8(Math.fround(y + Math.fround(CR_R * r)));
  out[o + 1] = clamp8(Math.fround(y + Math.fround(CB_G * b) + Math.fround(CR_G * r)));
  out[o + 2] = clamp8(Math.fround(y + Math.fround(CB_B * b)));
}

function ybrFullToRgb(s: Uint8Array, pixels: number, planar: boolean): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const y = planar ? s[p] : s[p * 3];
    const cb = planar ? s[pixels + p] : s[p * 3 + 1];
    const cr = planar ? s[2 * pixels + p] : s[p * 3 + 2];
    ybrPixel(out, p * 3, y ?? 0, cb ?? 0, cr ?? 0);
  }
  if (!planar) return out;
  // Return in the planar layout the caller declared.
  const planarOut = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) for (let c = 0; c < 3; c++) planarOut[c * pixels + p] = out[p * 3 + c] ?? 0;
  return planarOut;
}

function ybr422ToRgb(s: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  let i = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x += 2) {
      const y0 = s[i] ?? 0;
      const y1 = s[i + 1] ?? 0;
      const cb = s[i + 2] ?? 0;
      const cr = s[i + 3] ?? 0;
      i += 4;
      ybrPixel(out, (y * width + x) * 3, y0, cb, cr);
      if (x + 1 < width) ybrPixel(out, (y * width + x + 1) * 3, y1, cb, cr);
    }
  }
  return out;
}

async function compressedFrame(h: DicomFileHeader, data: Uint8Array): Promise<RawFrame> {
  const t = transferSyntax(h.transferSyntaxUid);
  const pixels = h.rows * h.columns;
  let decoded: DecodedFrame;
  switch (t.codec) {
    case 'rle': {
      const bytesPerSample = h.bitsAllocated / 8;
      if (!Number.isInteger(bytesPerSample)) throw new InputError(h.path, `RLE with BitsAllocated ${h.bitsAllocated} is not supported`);
      const samples = decodeRle(data, pixels, h.samplesPerPixel, bytesPerSample);
      if (h.samplesPerPixel === 3 && h.photometric === 'YBR_FULL' && samples instanceof Uint8Array) {
        return { samples: ybrFullToRgb(samples, pixels, true), planar: true, colorConverted: true };
      }
      return { samples, planar: h.samplesPerPixel > 1, colorConverted: false };
    }
    case 'jpeg-lossy': {
      const sof = jpegFrameHeader(data);
      if (!sof) throw new InputError(h.path, `no JPEG frame header in ${describeSyntax(t)} pixel data`);
      if (sof.precision > 8) throw new InputError(h.path, `12-bit lossy JPEG is not supported: transfer syntax ${describeSyntax(t)}`);
      decoded = await decodeJpegBaseline8(data, h.samplesPerPixel === 3 ? h.photometric === 'RGB' : undefined);
      break;
    }
    case 'jpeg-lossless':
      decoded = await decodeJpegLossless(data);
      break;
    case 'jpeg-ls':
      decoded = await decodeJpegLs(data);
      break;
    case 'jpeg2000':
      decoded = await decodeJpeg2000(data);
      break;
    case 'htj2k':
      decoded = await decodeHtj2k(data);
      break;
    default:
      throw new InputError(h.path, `unsupported transfer syntax ${describeSyntax(t)}`);
  }
  if (decoded.samples.length < pixels * h.samplesPerPixel) {
    throw new InputError(h.path, `decoded ${describeSyntax(t)} frame is smaller than ${h.columns}x${h.rows}x${h.samplesPerPixel}`);
  }
  if (decoded.components !== h.samplesPerPixel) {
    throw new InputError(h.path, `the ${describeSyntax(t)} stream has ${decoded.components} components, the header says ${h.samplesPerPixel}`);
  }
  // libjpeg-turbo converts YCbCr to RGB itself; lossless codecs return what was encoded.
  const colourDoneByCodec = t.codec === 'jpeg-lossy' || t.codec === 'jpeg2000' || t.codec === 'htj2k';
  if (h.samplesPerPixel === 3 && h.photometric === 'YBR_FULL' && !colourDoneByCodec && decoded.samples instanceof Uint8Array) {
    return { samples: ybrFullToRgb(decoded.samples, pixels, false), planar: false, colorConverted: true };
  }
  return { samples: decoded.samples, planar: false, colorConverted: h.samplesPerPixel === 3 };
}

// ---------------------------------------------------------------- Modality LUT into the volume

/**
 * Writes one frame into `out` at slice z (channel-planar volume): masks BitsStored below HighBit, restores the
 * sign from PixelRepresentation, applies RescaleSlope/Intercept for greyscale.
 */
export function writeFrame(
  h: DicomFileHeader,
  frame: RawFrame,
  f: FrameHeader,
  out: PixelArray,
  z: number,
  depth: number,
): void {
  const pixels = h.rows * h.columns;
  const spp = h.samplesPerPixel;
  const s = frame.samples;
  if (spp === 3) {
    for (let c = 0; c < 3; c++) {
      const base = (c * depth + z) * pixels;
      if (frame.planar) {
        out.set(s.subarray(c * pixels, (c + 1) * pixels), base);
      } else {
        for (let p = 0; p < pixels; p++) out[base + p] = s[p * 3 + c] ?? 0;
      }
    }
    return;
  }
  const base = z * pixels;
  if (h.bitsAllocated === 1) {
    out.set(s.subarray(0, pixels), base);
    return;
  }
  const bits = h.bitsStored;
  const shift = Math.max(0, h.highBit + 1 - bits);
  const signed = h.pixelRepresentation === 1;
  const slope = f.rescaleSlope;
  const intercept = f.rescaleIntercept;
  const identity = slope === 1 && intercept === 0;
  if (bits >= 32) {
    for (let p = 0; p < pixels; p++) {
      const raw = s[p] ?? 0;
      const v = signed ? raw | 0 : raw;
      out[base + p] = identity ? v : v * slope + intercept;
    }
    return;
  }
  const mask = 2 ** bits - 1;
  const half = 2 ** (bits - 1);
  const full = 2 ** bits;
  for (let p = 0; p < pixels; p++) {
    let v = ((s[p] ?? 0) >>> shift) & mask;
    if (signed && v >= half) v -= full;
    out[base + p] = identity ? v : v * slope + intercept;
  }
}
