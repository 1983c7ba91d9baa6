// TIFF LZW (compression 5) decoder with bounds: replaces geotiff.js's, which loops forever (growing an array until
// V8 aborts) when a corrupt stream names a code past its 4093-entry table. Codes are MSB-first, 9 to 12 bits, with
// TIFF's "early change"; output stops at `maxBytes` (the block's expected size plus slack) with a clear error.

const CLEAR = 256;
const EOI = 257;

export function decodeLzw(input: Uint8Array, maxBytes: number): Uint8Array {
  const prefix = new Int16Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const length = new Uint16Array(4096);
  for (let i = 0; i < 256; i++) {
    prefix[i] = -1;
    suffix[i] = i;
    first[i] = i;
    length[i] = 1;
  }
  let out = new Uint8Array(Math.max(1024, Math.min(maxBytes, input.length * 4)));
  let n = 0;
  const ensure = (extra: number): void => {
    if (n + extra <= out.length) return;
    if (n + extra > maxBytes) throw new Error(`LZW block decodes to more than ${maxBytes} bytes (corrupt)`);
    const grown = new Uint8Array(Math.min(maxBytes, Math.max(n + extra, out.length * 2)));
    grown.set(out.subarray(0, n));
    out = grown;
  };
  const emit = (code: number): void => {
    const len = length[code]!;
    ensure(len);
    for (let c = code, at = n + len - 1; at >= n; at--) {
      out[at] = suffix[c]!;
      c = prefix[c]!;
    }
    n += len;
  };

  const totalBits = input.length * 8;
  let bitPos = 0;
  let width = 9;
  let next = 258;
  let old = -1;
  for (;;) {
    if (bitPos + width > totalBits) break; // ran out without EOI: keep what was decoded, as libtiff does
    let code = 0;
    for (let i = 0; i < width; i++, bitPos++) code = (code << 1) | ((input[bitPos >> 3]! >> (7 - (bitPos & 7))) & 1);
    if (code === EOI) break;
    if (code === CLEAR) {
      next = 258;
      width = 9;
      old = -1;
      continue;
    }
    if (old === -1) {
      if (code > 255) throw new Error(`corrupt LZW data: code ${code} right after a clear`);
      emit(code);
      old = code;
      continue;
    }
    if (code < next) {
      emit(code);
      if (next < 4096) add(old, first[code]!);
    } else if (code === next && next < 4096) {
      // KwKwK: the code being defined is the previous string plus its own first byte.
      add(old, first[old]!);
      emit(code);
    } else {
      throw new Error(`corrupt LZW data: code ${code} is not in the table (next ${next})`);
    }
    old = code;
    if (next >= (1 << width) - 1 && width < 12) width++;
  }
  return out.subarray(0, n);

  function add(pre: number, ch: number): void {
    if (next >= 4096) return;
    const len = length[pre]! + 1;
    if (len > 0xffff) throw new Error('corrupt LZW data: string too long');
    prefix[next] = pre;
    suffix[next] = ch;
    first[next] = first[pre]!;
    length[next] = len;
    next++;
  }
}
