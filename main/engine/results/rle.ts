// Run-length encoding of one slice's mask window (preload/api.ts MaskRle): how the AI tool's object travels to the
// renderer and inside the acceptPrompt edit, so undo, redo and session replay need no model. Row-major within the
// window, alternating runs starting with 0s; a lesion of a few hundred pixels is a few dozen numbers.
import type { MaskRle } from '../../../preload/api';
import { InputError } from '../image';

/** Encodes a window's bits (non-zero = set) as alternating runs, the first of 0s (possibly 0 long). */
export function encodeMaskRle(z: number, x0: number, y0: number, width: number, height: number, bits: ArrayLike<number>): MaskRle {
  const n = width * height;
  if (bits.length < n) throw new RangeError(`mask window ${width}x${height} needs ${n} values, got ${bits.length}`);
  const runs: number[] = [];
  let current = 0;
  let length = 0;
  for (let i = 0; i < n; i++) {
    const v = bits[i] ? 1 : 0;
    if (v === current) length++;
    else {
      runs.push(length);
      current = v;
      length = 1;
    }
  }
  // A trailing run of 0s is implied by the window size; a trailing run of 1s must be written.
  if (current === 1 || runs.length === 0) runs.push(length);
  return { z, x0, y0, width, height, runs };
}

/**
 * Checks a MaskRle (integers, runs within the window) and decodes it to width*height bits (1 = set). `what` names
 * it in errors; a session file or a renderer message may hold anything.
 */
export function decodeMaskRle(m: MaskRle, what = 'mask'): Uint8Array {
  const { width, height, runs } = m;
  for (const [k, v] of [['z', m.z], ['x0', m.x0], ['y0', m.y0], ['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new InputError(what, `${k} must be a whole number >= 0 (got ${String(v)})`);
  }
  const n = width * height;
  const out = new Uint8Array(n);
  let at = 0;
  for (let k = 0; k < runs.length; k++) {
    const len = runs[k]!;
    if (!Number.isInteger(len) || len < 0) throw new InputError(what, `run ${k} must be a whole number >= 0 (got ${String(len)})`);
    if (at + len > n) throw new InputError(what, `the runs cover more than the ${width}x${height} window`);
    if (k % 2 === 1) out.fill(1, at, at + len);
    at += len;
  }
  return out;
}

/** Pixels a MaskRle sets (without decoding). */
export function maskRleCount(m: MaskRle): number {
  let n = 0;
  for (let k = 1; k < m.runs.length; k += 2) n += m.runs[k]!;
  return n;
}
