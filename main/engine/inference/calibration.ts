// Calibration of a model's output probabilities (manifest `calibration`), applied in place to the averaged output
// of a plane before thresholds and argmax: sigmoid p' = sigmoid(logit(p) / T + bias) (temperature and, where the
// manifest gives one, a bias: Platt scaling), then a strictly increasing curve where the manifest has one; softmax p'_k = softmax(log p / T)_k over the channels that form the
// softmax (classes + background). Argmax is unchanged by T; the sigmoid threshold is moved with the map
// (calibratedOutputs) so the labels stay those of the uncalibrated model.
import type { ModelManifest } from '../../../preload/formats';
import { classChannels } from '../postprocess/labels';

/** Probabilities are clamped this far from 0 and 1 before the logit (float32 outputs reach exactly 0 and 1). */
const P_EPS = 1e-7;

export interface CalibrationParams {
  temperature: number;
  /** Added to logit(p) / T (sigmoid outputs only). */
  bias: number;
  /**
   * Sigmoid outputs only: a strictly increasing curve applied after T and bias, linear between its points
   * (isotonic regression fitted on validation, for models whose reliability a two-parameter map cannot follow).
   */
  curve?: { p: readonly number[]; calibrated: readonly number[] };
}

export const NO_CALIBRATION: CalibrationParams = { temperature: 1, bias: 0 };

const logit = (p: number): number => {
  const q = Math.min(1 - P_EPS, Math.max(P_EPS, p));
  return Math.log(q / (1 - q));
};

/** The curve at p: linear between its points, flat beyond its ends. */
function onCurve(p: number, curve: NonNullable<CalibrationParams['curve']>): number {
  const xs = curve.p;
  const ys = curve.calibrated;
  const n = xs.length;
  if (p <= xs[0]!) return ys[0]!;
  if (p >= xs[n - 1]!) return ys[n - 1]!;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (xs[mid]! <= p) lo = mid;
    else hi = mid;
  }
  const t = (p - xs[lo]!) / (xs[hi]! - xs[lo]!);
  return ys[lo]! + t * (ys[hi]! - ys[lo]!);
}

/** sigmoid(logit(p) / T + bias), then the curve when there is one. */
export function calibrateSigmoid(p: number, c: CalibrationParams): number {
  const q = c.temperature === 1 && c.bias === 0 ? p : 1 / (1 + Math.exp(-(logit(p) / c.temperature + c.bias)));
  return c.curve ? onCurve(q, c.curve) : q;
}

const isIdentity = (c: CalibrationParams): boolean => c.temperature === 1 && c.bias === 0 && !c.curve;

function isSigmoid(outputs: ModelManifest['outputs'], channels: number): boolean {
  return outputs.type === 'sigmoid' || (outputs.type === 'logits' && channels === 1);
}

/** The channels that hold class (and background) probabilities, i.e. not the boundary/distance heads. */
function probabilityChannels(outputs: ModelManifest['outputs'], classCount: number, channels: number): number[] {
  const chans = classChannels(outputs, classCount, channels);
  if (isSigmoid(outputs, channels)) return chans;
  const bg = outputs.backgroundChannel !== false && !chans.includes(0) && outputs.boundaryChannel !== 0 && outputs.distanceChannel !== 0;
  return bg ? [0, ...chans] : chans;
}

/** Mantissa bits a PowerTable indexes (the rest interpolate): 16385 points on [1, 2]. */
const POW_TABLE_BITS = 14;

/**
 * x^e for float32 x >= P_EPS, from the bits of x: x = m 2^k with m in [1, 2); m^e is linear between 16385 exact
 * points of [1, 2] (relative error below e |e - 1| h^2 / 8 with h = 2^-14: under 6e-9, a tenth of a float32 step, for
 * 0 < e <= 4) and 2^(k e) comes from a table of the 256 exponents. Four times faster than exp(e log x) on the
 * 6 x 4 Mpx of a land-cover window, where the softmax calibration was 14 % of the time spent outside the model.
 * Smaller x count as P_EPS, as in the exact formula.
 */
export class PowerTable {
  private readonly mantissa: Float64Array;
  private readonly exponent = new Float64Array(256);
  private readonly epsBits: number;

  constructor(readonly e: number) {
    const M = 1 << POW_TABLE_BITS;
    this.mantissa = new Float64Array(M + 1);
    for (let j = 0; j <= M; j++) this.mantissa[j] = Math.pow(1 + j / M, e);
    for (let k = 0; k < 256; k++) this.exponent[k] = Math.pow(2, (k - 127) * e);
    this.epsBits = new Int32Array(Float32Array.of(P_EPS).buffer)[0]!;
  }

  /** Whether the table is that exact for e (temperatures from 0.25 up). */
  static suits(e: number): boolean {
    return e > 0 && e <= 4;
  }

  /** x^e for the float32 whose bits are `bits` (its Int32Array view). */
  at(bits: number): number {
    const b = bits < this.epsBits ? this.epsBits : bits;
    const shift = 23 - POW_TABLE_BITS;
    const j = (b >>> shift) & ((1 << POW_TABLE_BITS) - 1);
    const f = (b & ((1 << shift) - 1)) / (1 << shift);
    const m = this.mantissa;
    const a = m[j]!;
    return this.exponent[b >>> 23]! * (a + (m[j + 1]! - a) * f);
  }
}

/** Applies the calibration to probs (channels x pixels) in place; the identity leaves them as they are. */
export function applyCalibration(probs: Float32Array, channels: number, pixels: number, outputs: ModelManifest['outputs'], classCount: number, c: CalibrationParams): void {
  if (isIdentity(c) || channels === 0) return;
  const chans = probabilityChannels(outputs, classCount, channels);
  if (isSigmoid(outputs, channels)) {
    for (const ch of chans) {
      const o = ch * pixels;
      for (let i = 0; i < pixels; i++) probs[o + i] = calibrateSigmoid(probs[o + i]!, c);
    }
    return;
  }
  const inv = 1 / c.temperature;
  const n = chans.length;
  const logs = new Float64Array(n);
  if (PowerTable.suits(inv)) {
    // softmax(log p / T)_k = p_k^(1/T) / sum_j p_j^(1/T): with p >= P_EPS and 1/T <= 4 no term underflows, so no max
    // to subtract.
    const table = new PowerTable(inv);
    const bits = new Int32Array(probs.buffer, probs.byteOffset, probs.length);
    const offs = Int32Array.from(chans, (ch) => ch * pixels);
    for (let i = 0; i < pixels; i++) {
      let sum = 0;
      for (let k = 0; k < n; k++) {
        const v = table.at(bits[offs[k]! + i]!);
        logs[k] = v;
        sum += v;
      }
      const r = 1 / sum;
      for (let k = 0; k < n; k++) probs[offs[k]! + i] = logs[k]! * r;
    }
    return;
  }
  for (let i = 0; i < pixels; i++) {
    let max = -Infinity;
    for (let k = 0; k < chans.length; k++) {
      const v = Math.log(Math.max(P_EPS, probs[chans[k]! * pixels + i]!)) * inv;
      logs[k] = v;
      if (v > max) max = v;
    }
    let sum = 0;
    for (let k = 0; k < chans.length; k++) {
      logs[k] = Math.exp(logs[k]! - max);
      sum += logs[k]!;
    }
    for (let k = 0; k < chans.length; k++) probs[chans[k]! * pixels + i] = logs[k]! / sum;
  }
}

/** The outputs block with its sigmoid threshold moved onto the calibrated scale (the same pixels pass it). */
export function calibratedOutputs(outputs: ModelManifest['outputs'], c: CalibrationParams): ModelManifest['outputs'] {
  return !isIdentity(c) && outputs.threshold !== undefined ? { ...outputs, threshold: calibrateSigmoid(outputs.threshold, c) } : outputs;
}

/** The manifest's calibration, or the identity when it has none or calibration is turned off. */
export function calibrationOf(manifest: ModelManifest, enabled = true): CalibrationParams {
  const k = manifest.calibration;
  return enabled && k ? { temperature: k.temperature, bias: k.bias ?? 0, ...(k.curve ? { curve: k.curve } : {}) } : NO_CALIBRATION;
}
