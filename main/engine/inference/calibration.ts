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
  const logs = new Float64Array(chans.length);
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
