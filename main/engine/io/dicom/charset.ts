// Text attributes in the character set the file declares (Specific Character Set, 0008,0005; PS3.3 C.12.1.1.2 and
// PS3.5 6.1). dicom-parser reads every byte as one character (Latin-1), which is right only for ISO_IR 100: a UTF-8
// (ISO_IR 192), GB18030, Cyrillic or Japanese patient name came out garbled in the header over the views, in the
// study browser, and, worse, in the DICOM SEG and SR we export (they declare ISO_IR 192 and copied the garbled
// name, so the result no longer matched its patient in a PACS).
//
// Single-byte and Unicode/GB sets decode with the platform's WHATWG TextDecoder (Node and Electron ship full ICU).
// ISO 2022 code extensions (Japanese, Korean, Chinese GB2312, and the 8859 sets with escapes) are read here: the
// escape sequences switch G0 (bytes 0x21-0x7E) or G1 (0xA1-0xFE), each run is decoded with its set's decoder, and
// the sets return to the first value's at the delimiters PS3.5 6.1.2.5.3 names (value and person-name component
// separators, line breaks).

import type { DataSet } from './parse';

/** The single-byte or multi-byte sets named without code extensions -> WHATWG encoding labels. */
const PLAIN_SETS: Record<string, string> = {
  'ISO_IR 6': 'ascii',
  'ISO_IR 100': 'iso-8859-1',
  'ISO_IR 101': 'iso-8859-2',
  'ISO_IR 109': 'iso-8859-3',
  'ISO_IR 110': 'iso-8859-4',
  'ISO_IR 144': 'iso-8859-5',
  'ISO_IR 127': 'iso-8859-6',
  'ISO_IR 126': 'iso-8859-7',
  'ISO_IR 138': 'iso-8859-8',
  'ISO_IR 148': 'iso-8859-9',
  'ISO_IR 203': 'iso-8859-15',
  'ISO_IR 166': 'tis-620',
  'ISO_IR 13': 'shift_jis',
  'ISO_IR 192': 'utf-8',
  GB18030: 'gb18030',
  GBK: 'gbk',
};

/** What a graphic set register holds: a TextDecoder-backed set, ASCII, or half-width katakana (JIS X 0201). */
type G0 = 'ascii' | 'jisx0208' | 'jisx0212';
type G1 = 'none' | 'katakana' | 'euc-kr' | 'gbk' | `8859:${string}`;

/** Escape sequences after ESC, with the register they designate (PS3.3 Tables C.12-3 and C.12-4). */
const ESCAPES: Array<[number[], { g0?: G0; g1?: G1 }]> = [
  [[0x28, 0x42], { g0: 'ascii' }], // ( B   ISO 2022 IR 6
  [[0x28, 0x4a], { g0: 'ascii' }], // ( J   JIS X 0201 Romaji (ISO 2022 IR 13, G0): ASCII but for 0x5C / 0x7E
  [[0x29, 0x49], { g1: 'katakana' }], // ) I   JIS X 0201 Katakana (ISO 2022 IR 13, G1)
  [[0x24, 0x42], { g0: 'jisx0208' }], // $ B   ISO 2022 IR 87
  [[0x24, 0x40], { g0: 'jisx0208' }], // $ @   JIS C 6226-1978, read as JIS X 0208
  [[0x24, 0x28, 0x44], { g0: 'jisx0212' }], // $ ( D   ISO 2022 IR 159
  [[0x24, 0x29, 0x43], { g1: 'euc-kr' }], // $ ) C   ISO 2022 IR 149 (KS X 1001)
  [[0x24, 0x29, 0x41], { g1: 'gbk' }], // $ ) A   ISO 2022 IR 58 (GB 2312)
  [[0x2d, 0x41], { g1: '8859:iso-8859-1' }], // - A   ISO 2022 IR 100
  [[0x2d, 0x42], { g1: '8859:iso-8859-2' }], // - B   ISO 2022 IR 101
  [[0x2d, 0x43], { g1: '8859:iso-8859-3' }], // - C   ISO 2022 IR 109
  [[0x2d, 0x44], { g1: '8859:iso-8859-4' }], // - D   ISO 2022 IR 110
  [[0x2d, 0x4c], { g1: '8859:iso-8859-5' }], // - L   ISO 2022 IR 144
  [[0x2d, 0x47], { g1: '8859:iso-8859-6' }], // - G   ISO 2022 IR 127
  [[0x2d, 0x46], { g1: '8859:iso-8859-7' }], // - F   ISO 2022 IR 126
  [[0x2d, 0x48], { g1: '8859:iso-8859-8' }], // - H   ISO 2022 IR 138
  [[0x2d, 0x4d], { g1: '8859:iso-8859-9' }], // - M   ISO 2022 IR 148
  [[0x2d, 0x62], { g1: '8859:iso-8859-15' }], // - b   ISO 2022 IR 203
  [[0x2d, 0x54], { g1: '8859:tis-620' }], // - T   ISO 2022 IR 166
];

/** The G0 / G1 a first value of the form "ISO 2022 IR n" starts with (none named: ASCII and no G1). */
function initialSets(first: string): { g0: G0; g1: G1 } {
  const n = /^ISO 2022 IR (\d+)$/.exec(first)?.[1];
  if (n === '13') return { g0: 'ascii', g1: 'katakana' };
  if (n && n !== '6' && PLAIN_SETS[`ISO_IR ${n}`]) return { g0: 'ascii', g1: `8859:${PLAIN_SETS[`ISO_IR ${n}`]}` };
  return { g0: 'ascii', g1: 'none' };
}

const decoders = new Map<string, TextDecoder | null>();
function decoder(label: string): TextDecoder | null {
  let d = decoders.get(label);
  if (d === undefined) {
    try {
      d = new TextDecoder(label);
    } catch {
      d = null; // a platform without this encoding: Latin-1 below
    }
    decoders.set(label, d);
  }
  return d;
}

const latin1 = (bytes: Uint8Array): string => {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
};

const decodeWith = (label: string, bytes: Uint8Array): string => decoder(label)?.decode(bytes) ?? latin1(bytes);

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Value representations whose values may use the declared character set; the others are the default repertoire. */
const TEXT_VRS = new Set(['SH', 'LO', 'ST', 'LT', 'PN', 'UC', 'UT']);

/** The terms of Specific Character Set as stored: "" for an empty first value (the default repertoire). */
export function charsetTermsOf(ds: DataSet): string[] {
  const el = ds.elements['x00080005'];
  if (!el || el.length === 0) return [];
  return latin1(ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length))
    .replace(/\0+$/, '')
    .split('\\')
    .map((t) => t.trim().toUpperCase());
}

/**
 * Bytes of one text value -> string, in the character set `terms` declares (the values of Specific Character Set).
 * `vr` decides the delimiters that reset ISO 2022 sets (PN: also ^ and =) and whether the declared set applies at
 * all. Nothing declared: UTF-8 where the bytes are valid UTF-8 beyond ASCII (what some software writes without
 * saying), else Latin-1 as before. An unknown term reads as Latin-1 too, never as an error.
 */
export function decodeDicomText(bytes: Uint8Array, terms: readonly string[], vr = 'LO'): string {
  let hasHigh = false;
  let hasEsc = false;
  for (const b of bytes) {
    if (b >= 0x80) hasHigh = true;
    else if (b === 0x1b) hasEsc = true;
  }
  if (!hasHigh && !hasEsc) return latin1(bytes);
  const declared = terms.filter((t) => t !== '');
  if (!TEXT_VRS.has(vr) || (declared.length === 0 && !hasEsc)) {
    try {
      return utf8Strict.decode(bytes);
    } catch {
      return latin1(bytes);
    }
  }
  const iso2022 = hasEsc || terms.length > 1 || (terms[0] ?? '').startsWith('ISO 2022');
  if (!iso2022) return decodeWith(PLAIN_SETS[terms[0] ?? ''] ?? 'iso-8859-1', bytes);
  return decodeIso2022(bytes, terms[0] ?? '', vr === 'PN');
}

function decodeIso2022(bytes: Uint8Array, first: string, personName: boolean): string {
  const start = initialSets(first);
  let { g0, g1 } = start;
  let out = '';
  // A run of bytes in one set, decoded when the set changes.
  let run: number[] = [];
  let runSet = '';
  const flush = (): void => {
    if (run.length === 0) return;
    const b = Uint8Array.from(run);
    if (runSet === 'ascii') out += latin1(b);
    else if (runSet === 'jisx0208') out += decodeWith('euc-jp', b.map((x) => x | 0x80));
    else if (runSet === 'jisx0212') {
      const e: number[] = [];
      for (let i = 0; i + 1 < b.length; i += 2) e.push(0x8f, b[i]! | 0x80, b[i + 1]! | 0x80);
      out += decodeWith('euc-jp', Uint8Array.from(e));
    } else if (runSet === 'katakana') {
      for (const x of b) out += String.fromCharCode(x >= 0xa1 && x <= 0xdf ? 0xff61 + x - 0xa1 : x);
    }
    else if (runSet === 'euc-kr' || runSet === 'gbk') out += decodeWith(runSet, b);
    else if (runSet.startsWith('8859:')) out += decodeWith(runSet.slice(5), b);
    else out += latin1(b); // high bytes with no G1 designated
    run = [];
  };
  const push = (set: string, b: number): void => {
    if (set !== runSet) {
      flush();
      runSet = set;
    }
    run.push(b);
  };
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x1b) {
      const hit = ESCAPES.find(([seq]) => seq.every((s, k) => bytes[i + 1 + k] === s));
      if (hit) {
        if (hit[1].g0) g0 = hit[1].g0;
        if (hit[1].g1) g1 = hit[1].g1;
        i += hit[0].length;
        continue;
      }
      push('ascii', b); // an unknown escape stays as it was
      continue;
    }
    const delimiter = b === 0x5c || b === 0x0d || b === 0x0a || b === 0x09 || b === 0x0c || (personName && (b === 0x5e || b === 0x3d));
    if (delimiter && g0 !== 'jisx0208' && g0 !== 'jisx0212') {
      push('ascii', b);
      g0 = start.g0;
      g1 = start.g1;
      continue;
    }
    if (b < 0x80) {
      if (g0 === 'ascii' || b < 0x21 || b > 0x7e) push('ascii', b);
      else push(g0, b);
    } else push(g1, b);
  }
  flush();
  return out;
}

/** One text element of `ds`, decoded in its declared character set, padding (spaces, NUL) trimmed; undefined when absent or empty. */
export function dicomText(ds: DataSet, tag: string, vr?: string): string | undefined {
  const el = ds.elements[tag];
  if (!el || el.length === 0 || el.dataOffset + el.length > ds.byteArray.length) return undefined;
  let bytes = ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length);
  const nul = bytes.indexOf(0);
  if (nul >= 0) bytes = bytes.subarray(0, nul);
  const text = decodeDicomText(bytes, charsetTermsOf(ds), el.vr ?? vr ?? 'LO').replace(/^[\s]+|[\s]+$/g, '');
  return text === '' ? undefined : text;
}
