// Input mutators for the parser fuzz harness (scripts/fuzz.ts): a seeded PRNG, generic byte mutations (bit flips,
// truncation, splices) and format-aware ones that aim at the fields readers trust (TIFF IFDs and byte counts,
// DICOM dimensions and encapsulated fragments, NIfTI header fields, PNG IHDR, manifest JSON values).
// Everything is a pure function of (seed bytes, rng), so a case id reproduces the same bytes.

import { crc32 } from 'node:zlib';

export type FuzzKind = 'dicom' | 'dicom-series' | 'nifti' | 'geotiff' | 'png' | 'onnx' | 'manifest';

/** mulberry32: small, fast, good enough to pick mutations; deterministic per seed. */
export function makeRng(seed: number): Rng {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)] as T;
    },
  };
}

export interface Rng {
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
}

export interface Mutation {
  bytes: Uint8Array;
  /** What was done, for the report (e.g. "tiff-recursive-ifd", "bitflip x3"). */
  name: string;
}

const INTERESTING_U32 = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];

// ---------------------------------------------------------------- generic

function bitflip(src: Uint8Array, rng: Rng): Mutation {
  const out = src.slice();
  const n = 1 + rng.int(8);
  for (let i = 0; i < n && out.length > 0; i++) {
    const at = rng.int(out.length);
    out[at] = (out[at] ?? 0) ^ (1 << rng.int(8));
  }
  return { bytes: out, name: `bitflip x${n}` };
}

function byteset(src: Uint8Array, rng: Rng): Mutation {
  const out = src.slice();
  const n = 1 + rng.int(4);
  for (let i = 0; i < n && out.length > 0; i++) out[rng.int(out.length)] = rng.pick([0, 0xff, 0x7f, 0x80, 0x01, 0xfe]);
  return { bytes: out, name: `byteset x${n}` };
}

function truncate(src: Uint8Array, rng: Rng): Mutation {
  // Bias towards cuts inside headers and near the end, where readers assume data that is not there.
  const at = rng.next() < 0.5 ? rng.int(Math.min(src.length, 1024)) : rng.int(src.length);
  return { bytes: src.slice(0, at), name: `truncate at ${at}` };
}

function splice(src: Uint8Array, rng: Rng): Mutation {
  if (src.length < 8) return bitflip(src, rng);
  const from = rng.int(src.length);
  const len = 1 + rng.int(Math.min(4096, src.length - from));
  const to = rng.int(src.length);
  const chunk = src.slice(from, from + len);
  const out = new Uint8Array(src.length + chunk.length);
  out.set(src.subarray(0, to));
  out.set(chunk, to);
  out.set(src.subarray(to), to + chunk.length);
  return { bytes: out, name: `duplicate ${len} bytes at ${to}` };
}

function zeroRange(src: Uint8Array, rng: Rng): Mutation {
  const out = src.slice();
  const from = rng.int(Math.max(1, out.length));
  const len = 1 + rng.int(256);
  out.fill(rng.pick([0, 0xff]), from, from + len);
  return { bytes: out, name: `fill ${len} bytes at ${from}` };
}

function u32set(src: Uint8Array, rng: Rng): Mutation {
  const out = src.slice();
  if (out.length < 4) return bitflip(src, rng);
  const at = rng.int(Math.min(out.length - 3, 2048));
  new DataView(out.buffer).setUint32(at, rng.pick(INTERESTING_U32), rng.next() < 0.5);
  return { bytes: out, name: `u32 at ${at}` };
}

const GENERIC = [bitflip, bitflip, byteset, truncate, splice, zeroRange, u32set];

export function genericMutation(src: Uint8Array, rng: Rng): Mutation {
  return rng.pick(GENERIC)(src, rng);
}

// ---------------------------------------------------------------- TIFF

export interface TiffEntry {
  /** Byte offset of the 12-byte IFD entry. */
  at: number;
  tag: number;
  type: number;
  count: number;
}

export interface TiffLayout {
  little: boolean;
  ifdOffset: number;
  entries: TiffEntry[];
  /** Offset of the 4-byte "next IFD" pointer after IFD0's entries. */
  nextAt: number;
}

/** IFD0 of a classic TIFF, or null (BigTIFF, or too broken to locate). */
export function tiffLayout(b: Uint8Array): TiffLayout | null {
  if (b.length < 16) return null;
  const little = b[0] === 0x49;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint16(2, little) !== 42) return null;
  const ifdOffset = v.getUint32(4, little);
  if (ifdOffset + 2 > b.length) return null;
  const n = v.getUint16(ifdOffset, little);
  if (ifdOffset + 2 + n * 12 + 4 > b.length) return null;
  const entries: TiffEntry[] = [];
  for (let i = 0; i < n; i++) {
    const at = ifdOffset + 2 + i * 12;
    entries.push({ at, tag: v.getUint16(at, little), type: v.getUint16(at + 2, little), count: v.getUint32(at + 4, little) });
  }
  return { little, ifdOffset, entries, nextAt: ifdOffset + 2 + n * 12 };
}

/** Sets an entry to a single LONG value (type 4, count 1) so any value fits. */
export function setTiffLong(out: Uint8Array, t: TiffLayout, e: TiffEntry, value: number): void {
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  v.setUint16(e.at + 2, 4, t.little);
  v.setUint32(e.at + 4, 1, t.little);
  v.setUint32(e.at + 8, value >>> 0, t.little);
}

function tiffMutation(src: Uint8Array, rng: Rng): Mutation {
  const t = tiffLayout(src);
  if (!t || t.entries.length === 0) return genericMutation(src, rng);
  const out = src.slice();
  const v = new DataView(out.buffer);
  const find = (...tags: number[]) => t.entries.filter((e) => tags.includes(e.tag));
  const choice = rng.int(9);
  switch (choice) {
    case 0: {
      // Recursive IFD chain: next IFD points back at IFD0 (or at itself through a SubIFD-like loop).
      v.setUint32(t.nextAt, rng.next() < 0.5 ? t.ifdOffset : t.nextAt - 2, t.little);
      return { bytes: out, name: 'tiff-recursive-ifd' };
    }
    case 1: {
      const dims = find(256, 257);
      const e = dims.length ? rng.pick(dims) : null;
      if (!e) break;
      setTiffLong(out, t, e, rng.pick([0, 1, 65535, 1_000_000, 0x7fffffff, 0xffffffff]));
      return { bytes: out, name: `tiff-huge-dim tag ${e.tag}` };
    }
    case 2: {
      const counts = find(279, 325);
      const e = counts.length ? rng.pick(counts) : null;
      if (!e) break;
      setTiffLong(out, t, e, rng.pick([0, 0x7fffffff, 0xfffffff0, src.length * 4]));
      return { bytes: out, name: `tiff-huge-bytecount tag ${e.tag}` };
    }
    case 3: {
      const offs = find(273, 324);
      const e = offs.length ? rng.pick(offs) : null;
      if (!e) break;
      if (e.count === 1 || rng.next() < 0.5) setTiffLong(out, t, e, rng.pick([0, 8, src.length - 1, src.length + 4096, 0xfffffff0]));
      else v.setUint32(e.at + 8, rng.pick([0, src.length + 16, 0xfffffff0]), t.little); // the offsets array pointer itself
      return { bytes: out, name: `tiff-wrong-offset tag ${e.tag}` };
    }
    case 4: {
      const e = rng.pick(t.entries);
      v.setUint32(e.at + 4, rng.pick([0, 0xffff, 0x0fffffff, 0xffffffff]), t.little);
      return { bytes: out, name: `tiff-entry-count tag ${e.tag}` };
    }
    case 5: {
      const e = find(258, 277, 339)[0];
      if (!e) break;
      setTiffLong(out, t, e, rng.pick([0, 3, 7, 64, 128, 255, 65535]));
      return { bytes: out, name: `tiff-sample-format tag ${e.tag}` };
    }
    case 6: {
      const e = find(322, 323, 278)[0];
      if (!e) break;
      setTiffLong(out, t, e, rng.pick([0, 1, 17, 0x10000, 0x7fffffff]));
      return { bytes: out, name: `tiff-block-size tag ${e.tag}` };
    }
    case 7: {
      const e = find(259)[0];
      if (!e) break;
      setTiffLong(out, t, e, rng.pick([0, 2, 6, 7, 8, 32773, 34887, 50000, 65535]));
      return { bytes: out, name: 'tiff-compression' };
    }
    case 8: {
      v.setUint16(t.ifdOffset, rng.pick([0, 1, 0xffff, 4097]), t.little);
      return { bytes: out, name: 'tiff-ifd-entries' };
    }
  }
  return genericMutation(src, rng);
}

// ---------------------------------------------------------------- DICOM

/** Offset of the value of a little-endian element (explicit or implicit VR), or -1. */
function dicomValueAt(b: Uint8Array, group: number, element: number, from = 132): { at: number; lengthAt: number; length: number } | -1 {
  const g0 = group & 0xff;
  const g1 = group >> 8;
  const e0 = element & 0xff;
  const e1 = element >> 8;
  for (let i = from; i + 8 <= b.length; i++) {
    if (b[i] !== g0 || b[i + 1] !== g1 || b[i + 2] !== e0 || b[i + 3] !== e1) continue;
    const vr = String.fromCharCode(b[i + 4] ?? 0, b[i + 5] ?? 0);
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (/^[A-Z]{2}$/.test(vr)) {
      if (['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'OD', 'OL', 'UC', 'UR', 'OV'].includes(vr)) {
        if (i + 12 > b.length) return -1;
        return { at: i + 12, lengthAt: i + 8, length: v.getUint32(i + 8, true) };
      }
      return { at: i + 8, lengthAt: i + 6, length: v.getUint16(i + 6, true) };
    }
    return { at: i + 8, lengthAt: i + 4, length: v.getUint32(i + 4, true) };
  }
  return -1;
}

function dicomMutation(src: Uint8Array, rng: Rng): Mutation {
  const out = src.slice();
  const v = new DataView(out.buffer);
  const choice = rng.int(7);
  const us = (group: number, element: number, values: number[], name: string): Mutation | null => {
    const f = dicomValueAt(out, group, element);
    if (f === -1 || f.at + 2 > out.length) return null;
    v.setUint16(f.at, rng.pick(values), true);
    return { bytes: out, name };
  };
  let m: Mutation | null = null;
  switch (choice) {
    case 0:
      m = us(0x0028, rng.pick([0x0010, 0x0011]), [0, 1, 0x7fff, 0xffff], 'dicom-huge-rows-cols');
      break;
    case 1:
      m = us(0x0028, 0x0100, [0, 1, 7, 12, 24, 32, 64, 0xffff], 'dicom-bits-allocated');
      break;
    case 2:
      m = us(0x0028, rng.pick([0x0002, 0x0101, 0x0102, 0x0103, 0x0006]), [0, 3, 4, 17, 255, 0xffff], 'dicom-pixel-description');
      break;
    case 3: {
      // Number of Frames is an IS string: fill its value with nines (or write a negative/float).
      const f = dicomValueAt(out, 0x0028, 0x0008);
      if (f === -1 || f.length === 0 || f.at + f.length > out.length) break;
      const text = rng.pick(['9', '-', '0', '.5']).repeat(f.length).slice(0, f.length);
      for (let i = 0; i < f.length; i++) out[f.at + i] = text.charCodeAt(i);
      m = { bytes: out, name: 'dicom-number-of-frames' };
      break;
    }
    case 4: {
      const f = dicomValueAt(out, 0x7fe0, 0x0010);
      if (f === -1) break;
      v.setUint32(f.lengthAt, rng.pick([0, 2, 0x7ffffffe, 0xfffffff0, 0xffffffff]), true);
      m = { bytes: out, name: 'dicom-pixel-data-length' };
      break;
    }
    case 5:
    case 6: {
      // Encapsulated pixel data: items (FFFE,E000) with lengths; corrupt one, or drop the delimiter.
      const f = dicomValueAt(out, 0x7fe0, 0x0010);
      if (f === -1) break;
      const items: number[] = [];
      for (let i = f.at; i + 8 <= out.length; i++) {
        if (out[i] === 0xfe && out[i + 1] === 0xff && (out[i + 2] === 0x00 || out[i + 2] === 0xdd) && out[i + 3] === 0xe0) items.push(i);
      }
      if (items.length === 0) break;
      const at = rng.pick(items);
      if (choice === 5) {
        v.setUint32(at + 4, rng.pick([0, 1, 3, 0x7fffffff, 0xfffffff0, 0xffffffff, v.getUint32(at + 4, true) + 2]), true);
        m = { bytes: out, name: 'dicom-fragment-length' };
      } else {
        out.fill(0, at, at + 4);
        m = { bytes: out, name: 'dicom-fragment-tag' };
      }
      break;
    }
  }
  return m ?? genericMutation(src, rng);
}

// ---------------------------------------------------------------- NIfTI (uncompressed header; .nii.gz seeds are mutated then re-gzipped)

export function niftiMutation(src: Uint8Array, rng: Rng): Mutation {
  if (src.length < 352) return genericMutation(src, rng);
  const out = src.slice();
  const v = new DataView(out.buffer);
  const little = v.getInt32(0, true) === 348;
  switch (rng.int(6)) {
    case 0:
      v.setInt16(40, rng.pick([0, -1, 3, 7, 8, 100]), little);
      return { bytes: out, name: 'nifti-rank' };
    case 1: {
      const d = 1 + rng.int(7);
      v.setInt16(40 + 2 * d, rng.pick([0, -1, 2, 4096, 32767, -32768]), little);
      return { bytes: out, name: `nifti-dim${d}` };
    }
    case 2:
      for (let d = 1; d <= 4; d++) v.setInt16(40 + 2 * d, 32767, little);
      v.setInt16(40, 4, little);
      return { bytes: out, name: 'nifti-huge-volume' };
    case 3:
      v.setInt16(70, rng.pick([0, 1, 32, 128, 511, 1536, 2304, 0x7fff]), little);
      v.setInt16(72, rng.pick([0, 1, 8, 64, 256]), little);
      return { bytes: out, name: 'nifti-datatype' };
    case 4:
      v.setFloat32(108, rng.pick([Number.NaN, -1, 1e12, Number.POSITIVE_INFINITY, src.length + 4, 0]), little);
      return { bytes: out, name: 'nifti-vox-offset' };
    default:
      v.setFloat32(76 + 4 * (1 + rng.int(3)), rng.pick([Number.NaN, 0, -1, 1e38, Number.NEGATIVE_INFINITY]), little);
      v.setFloat32(112, rng.pick([Number.NaN, 0, 1e38, -1e38]), little);
      return { bytes: out, name: 'nifti-spacing-scaling' };
  }
}

// ---------------------------------------------------------------- PNG

function pngMutation(src: Uint8Array, rng: Rng): Mutation {
  // IHDR sits at 8..33: length, "IHDR", width, height, depth, colour type, ..., CRC. Keep the CRC valid so
  // decoders get past it and act on the declared size.
  if (src.length < 33 || src[12] !== 0x49 || src[13] !== 0x48) return genericMutation(src, rng);
  const out = src.slice();
  const v = new DataView(out.buffer);
  const what = rng.int(3);
  if (what === 0) {
    v.setUint32(16, rng.pick([0, 1, 30000, 100_000, 0x7fffffff]), false);
    v.setUint32(20, rng.pick([0, 1, 30000, 100_000, 0x7fffffff]), false);
  } else if (what === 1) {
    out[24] = rng.pick([0, 1, 3, 16, 32]);
    out[25] = rng.pick([0, 1, 2, 3, 4, 6, 7]);
  } else {
    return genericMutation(src, rng);
  }
  v.setUint32(29, crc32(out.subarray(12, 29)) >>> 0, false);
  return { bytes: out, name: what === 0 ? 'png-huge-ihdr' : 'png-depth-colour' };
}

// ---------------------------------------------------------------- manifest JSON

const EVIL_VALUES: readonly unknown[] = [
  null,
  -1,
  0,
  1e308,
  -1e308,
  'x'.repeat(100_000),
  [],
  {},
  [1e9, 1e9],
  [0, 0],
  [-64, 64],
  Array.from({ length: 20_000 }, (_, i) => ({ name: `c${i}`, color: '#000000' })),
  true,
  '../../../../etc/passwd',
];

const DEEP = '__fuzz_deep__';

function manifestMutation(src: Uint8Array, rng: Rng): Mutation {
  if (rng.next() < 0.3) return genericMutation(src, rng);
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(Buffer.from(src).toString('utf8')) as Record<string, unknown>;
  } catch {
    return genericMutation(src, rng);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc) || Object.keys(doc).length === 0) return genericMutation(src, rng);
  const keys = Object.keys(doc);
  const key = rng.pick(keys);
  const what = rng.int(5);
  let name: string;
  if (what === 0) {
    doc[key] = rng.pick(EVIL_VALUES);
    name = `manifest-${key}-value`;
  } else if (what === 1) {
    // Written as text: JSON.stringify itself overflows the stack on the deepest of these.
    const depth = rng.pick([100, 5000, 200_000]);
    doc[key] = DEEP;
    const text = JSON.stringify(doc).replace(`"${DEEP}"`, `${'['.repeat(depth)}1${']'.repeat(depth)}`);
    return { bytes: new Uint8Array(Buffer.from(text)), name: `manifest-${key}-deep ${depth}` };
  } else if (what === 2) {
    delete doc[key];
    name = `manifest-drop-${key}`;
  } else if (what === 3) {
    // A nested field: tileSize, normalization.mean, input.channels, classes[0].color.
    const nested = rng.pick(['tileSize', 'tileOverlap', 'normalization', 'input', 'classes', 'outputs']);
    const inner = doc[nested];
    if (inner && typeof inner === 'object' && !Array.isArray(inner)) {
      const ik = rng.pick(Object.keys(inner));
      (inner as Record<string, unknown>)[ik] = rng.pick(EVIL_VALUES);
    } else {
      doc[nested] = rng.pick(EVIL_VALUES);
    }
    name = `manifest-${nested}-nested`;
  } else {
    const text = Buffer.from(src).toString('utf8').replace('{', '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}},');
    return { bytes: new Uint8Array(Buffer.from(text)), name: 'manifest-proto-keys' };
  }
  return { bytes: new Uint8Array(Buffer.from(JSON.stringify(doc))), name };
}

/** One mutation of a seed of this kind: format-aware about half the time, generic otherwise. */
export function mutate(kind: FuzzKind, src: Uint8Array, rng: Rng): Mutation {
  if (rng.next() < 0.45) return genericMutation(src, rng);
  try {
    return formatMutation(kind, src, rng);
  } catch {
    // A stacked mutation can leave input the format-aware mutator cannot walk (e.g. JSON too deep to re-serialise).
    return genericMutation(src, rng);
  }
}

function formatMutation(kind: FuzzKind, src: Uint8Array, rng: Rng): Mutation {
  switch (kind) {
    case 'geotiff':
      return tiffMutation(src, rng);
    case 'dicom':
    case 'dicom-series': // one slice of a series
      return dicomMutation(src, rng);
    case 'nifti':
      return niftiMutation(src, rng);
    case 'png':
      return pngMutation(src, rng);
    case 'manifest':
      return manifestMutation(src, rng);
    case 'onnx':
      return genericMutation(src, rng);
  }
}
