// Reads one DICOM file's data set with dicom-parser and turns every parser failure into one InputError.
// Handles Part 10 files, files without a meta header (guessing implicit/explicit VR, little/big endian),
// a meta header missing its transfer syntax, and deflated data sets.

import { open, readFile, stat } from 'node:fs/promises';
import { inflateRawSync } from 'node:zlib';
import * as dicomParser from 'dicom-parser';
import type { DataSet, Element } from 'dicom-parser';
import { InputError } from '../../image';
import { TAG } from './tags';

export type { DataSet, Element };

const PREFIX_BYTES = 132;
/** Header pass reads this much first: enough for almost every header, so a 512 KB CT slice is not read twice. */
const HEAD_CHUNK_BYTES = 64 * 1024;

const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';
const DEFLATED = '1.2.840.10008.1.2.1.99';

const KNOWN_VRS = new Set(
  'AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(' '),
);

export interface ParsedFile {
  dataSet: DataSet;
  /** Transfer syntax actually used to parse (from the meta header, or guessed when there is none). */
  transferSyntaxUid: string;
  /** True when the file had no "DICM" Part 10 header. */
  noMetaHeader: boolean;
  fileSizeBytes: number;
  /** True when only the head of the file was parsed (up to the pixel data element). */
  partial: boolean;
}

/** dicom-parser throws strings as well as Errors; keep the message short and free of data values. */
function parserMessage(e: unknown): string {
  // parseDicom wraps failures as { exception, dataSet }.
  if (typeof e === 'object' && e !== null && !(e instanceof Error) && 'exception' in e) return parserMessage(e.exception);
  const text = e instanceof Error ? e.message : typeof e === 'string' ? e : 'unknown parser error';
  return text.replace(/^dicomParser\.[A-Za-z0-9_]+: /, '').slice(0, 200);
}

function hasPart10Prefix(bytes: Uint8Array): boolean {
  return (
    bytes.length >= PREFIX_BYTES &&
    bytes[128] === 0x44 && // D
    bytes[129] === 0x49 && // I
    bytes[130] === 0x43 && // C
    bytes[131] === 0x4d // M
  );
}

function u16le(b: Uint8Array, p: number): number {
  return (b[p] ?? 0) | ((b[p + 1] ?? 0) << 8);
}

function vrAt(b: Uint8Array, p: number): string {
  return String.fromCharCode(b[p] ?? 0, b[p + 1] ?? 0);
}

/**
 * Guesses the encoding of a data set that starts at `pos` without a meta header, or returns null when the bytes
 * do not look like a data set (a first tag in groups 0002..0010 with a sane VR or length).
 */
export function guessRawSyntax(b: Uint8Array, pos: number, sizeBytes: number, afterMeta = false): string | null {
  if (b.length < pos + 8) return null;
  if (afterMeta) {
    // A valid meta header already says this is DICOM: only the encoding is in question.
    if (KNOWN_VRS.has(vrAt(b, pos + 4))) return EXPLICIT_LE;
    return IMPLICIT_LE;
  }
  const groupLe = u16le(b, pos);
  const groupBe = ((b[pos] ?? 0) << 8) | (b[pos + 1] ?? 0);
  const explicit = KNOWN_VRS.has(vrAt(b, pos + 4));
  if (groupLe >= 0x0002 && groupLe <= 0x0010) {
    if (explicit) return EXPLICIT_LE;
    const lengthBytes = u16le(b, pos + 4) + u16le(b, pos + 6) * 65536;
    return lengthBytes < sizeBytes || lengthBytes === 0xffffffff ? IMPLICIT_LE : null;
  }
  if (groupBe >= 0x0002 && groupBe <= 0x0010 && explicit) return EXPLICIT_BE;
  return null;
}

/** Cheap content check: "DICM" at 128, or a plausible data set without a meta header. */
export async function isDicomFile(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'r');
    const head = new Uint8Array(PREFIX_BYTES);
    const { bytesRead } = await handle.read(head, 0, PREFIX_BYTES, 0);
    const size = (await handle.stat()).size;
    const b = head.subarray(0, bytesRead);
    return hasPart10Prefix(b) || guessRawSyntax(b, 0, size) !== null;
  } catch {
    return false;
  } finally {
    await handle?.close();
  }
}

const inflater = (arr: Uint8Array, position: number): Uint8Array => {
  const inflated = inflateRawSync(arr.subarray(position));
  const full = Buffer.alloc(position + inflated.length);
  full.set(arr.subarray(0, position), 0);
  full.set(inflated, position);
  return full;
};

/** Where the meta header (group 0002) ends, read by hand so a meta header without (0002,0010) still parses. */
function metaHeaderEnd(b: Uint8Array): number {
  let p = PREFIX_BYTES;
  while (p + 8 <= b.length && u16le(b, p) === 0x0002) {
    const vr = vrAt(b, p + 4);
    if (['OB', 'OW', 'OF', 'SQ', 'UT', 'UN'].includes(vr)) {
      p += 12 + u16le(b, p + 8) + u16le(b, p + 10) * 65536;
    } else {
      p += 8 + u16le(b, p + 6);
    }
  }
  return p;
}

/**
 * Parses bytes as a DICOM data set. `untilPixelData` stops at (7FE0,0010) so a partial read of a file's head parses.
 * Throws InputError naming the file and the problem; never anything else.
 */
export function parseBytes(bytes: Uint8Array, file: string, fileSizeBytes: number, untilPixelData: boolean): ParsedFile {
  const untilTag = untilPixelData ? TAG.pixelData : undefined;
  const partial = untilPixelData && bytes.length < fileSizeBytes;
  try {
    if (hasPart10Prefix(bytes)) {
      const meta = dicomParser.readPart10Header(bytes);
      const tsUid = meta.string(TAG.transferSyntaxUid);
      if (tsUid) {
        const dataSet = dicomParser.parseDicom(bytes, { untilTag, inflater });
        return { dataSet, transferSyntaxUid: tsUid.trim(), noMetaHeader: false, fileSizeBytes, partial };
      }
      // Meta header without a transfer syntax: parse what follows it as a raw data set.
      const start = metaHeaderEnd(bytes);
      const guessed = guessRawSyntax(bytes, start, fileSizeBytes, true);
      if (!guessed) throw new InputError(file, 'not a DICOM file: the meta header has no transfer syntax and the data set is unreadable');
      const dataSet = parseRaw(bytes.subarray(start), guessed, untilTag);
      return { dataSet, transferSyntaxUid: guessed, noMetaHeader: true, fileSizeBytes, partial };
    }
    const guessed = guessRawSyntax(bytes, 0, fileSizeBytes);
    if (!guessed) throw new InputError(file, 'not a DICOM file (no "DICM" header and no recognisable data set)');
    const dataSet = parseRaw(bytes, guessed, untilTag);
    return { dataSet, transferSyntaxUid: guessed, noMetaHeader: true, fileSizeBytes, partial };
  } catch (e) {
    if (e instanceof InputError) throw e;
    const message = parserMessage(e);
    const truncated = /end of|beyond|buffer|truncat|outside|past|maxP ?osition|greater than/i.test(message);
    throw new InputError(file, truncated ? `truncated or corrupt DICOM file (${message})` : `corrupt DICOM file (${message})`);
  }
}

function parseRaw(bytes: Uint8Array, tsUid: string, untilTag: string | undefined): DataSet {
  // dicom-parser only accepts a missing "DICM" if the buffer is longer than 132 bytes or TransferSyntaxUID is set.
  const padded = bytes.length > PREFIX_BYTES ? bytes : concat(bytes, new Uint8Array(PREFIX_BYTES + 1 - bytes.length));
  return dicomParser.parseDicom(padded, { TransferSyntaxUID: tsUid, untilTag, inflater });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

async function readHead(path: string, sizeBytes: number, lengthBytes: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(lengthBytes, sizeBytes));
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

async function fileSize(path: string): Promise<number> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new InputError(path, 'not a file');
    return s.size;
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(path, 'cannot read the file');
  }
}

/** Parses a file's header (everything before the pixel data), reading only its head when that is enough. */
export async function parseHeader(path: string): Promise<ParsedFile> {
  const sizeBytes = await fileSize(path);
  if (sizeBytes > HEAD_CHUNK_BYTES * 4) {
    const head = await readHead(path, sizeBytes, HEAD_CHUNK_BYTES);
    try {
      const parsed = parseBytes(head, path, sizeBytes, true);
      // Deflated data sets must be inflated whole; a header that did not reach the pixel data needs the full file.
      if (!parsed.dataSet.elements[TAG.pixelData] || parsed.transferSyntaxUid === DEFLATED) throw new Error('need all');
      return parsed;
    } catch {
      // fall through to the full read, which reports the real problem if there is one
    }
  }
  return parseFile(path, true, sizeBytes);
}

/** Parses a whole file (pixel data included unless untilPixelData). */
export async function parseFile(path: string, untilPixelData = false, knownSizeBytes?: number): Promise<ParsedFile> {
  const sizeBytes = knownSizeBytes ?? (await fileSize(path));
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch {
    throw new InputError(path, 'cannot read the file');
  }
  if (bytes.length === 0) throw new InputError(path, 'empty file');
  return parseBytes(bytes, path, sizeBytes, untilPixelData);
}
