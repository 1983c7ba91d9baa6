// Calibration figures shared by the fit (calibration-fit.ts) and `npm run eval -- --calibration`: reliability
// bins, expected calibration error and the reliability diagram (PNG).
// ECE: 15 equal-width bins over the pixels (voxels) whose class probability lies in [0.01, 0.99] (the sure
// background would make any model look calibrated), one-vs-rest per class for softmax models (every class
// channel of every pixel is one prediction), ECE = sum over bins of (n_b / N) |accuracy_b - confidence_b|.
import { writePng } from '../main/engine/io/png';

export const ECE_BINS = 15;
export const ECE_P_MIN = 0.01;
export const ECE_P_MAX = 0.99;

export interface Reliability {
  count: Float64Array;
  confidenceSum: Float64Array;
  positives: Float64Array;
}

export const newReliability = (): Reliability => ({ count: new Float64Array(ECE_BINS), confidenceSum: new Float64Array(ECE_BINS), positives: new Float64Array(ECE_BINS) });

/** One prediction p of "this class" and whether it was (weight: how many identical predictions). */
export function addPrediction(r: Reliability, p: number, positive: boolean, weight = 1): void {
  if (!(p >= ECE_P_MIN && p <= ECE_P_MAX)) return;
  const b = Math.min(ECE_BINS - 1, Math.floor(p * ECE_BINS));
  r.count[b]! += weight;
  r.confidenceSum[b]! += p * weight;
  if (positive) r.positives[b]! += weight;
}

export function mergeReliability(into: Reliability, from: Reliability): void {
  for (let b = 0; b < ECE_BINS; b++) {
    into.count[b]! += from.count[b]!;
    into.confidenceSum[b]! += from.confidenceSum[b]!;
    into.positives[b]! += from.positives[b]!;
  }
}

export function ece(r: Reliability): number {
  let n = 0;
  let e = 0;
  for (let b = 0; b < ECE_BINS; b++) {
    const c = r.count[b]!;
    if (c === 0) continue;
    n += c;
    e += Math.abs(r.positives[b]! / c - r.confidenceSum[b]! / c) * c;
  }
  return n > 0 ? e / n : 0;
}

/** Per bin: [mean confidence, accuracy, count] (null where empty), for the JSON figures. */
export function reliabilityTable(r: Reliability): Array<[number, number, number] | null> {
  return Array.from(r.count, (c, b) => (c > 0 ? [r.confidenceSum[b]! / c, r.positives[b]! / c, c] : null));
}

/**
 * Class-channel probabilities (classes x pixels, 0..1 as p x 255 bytes or floats) against a reference in model
 * labels (0 = no class, 1..K, `ignore` skipped) into one reliability table; `use(i)` false skips pixel i.
 */
export function accumulate(r: Reliability, probs: ArrayLike<number>, scale: number, classes: number, truth: ArrayLike<number>, ignore: number, use?: (i: number) => boolean): void {
  const P = truth.length;
  for (let k = 0; k < classes; k++) {
    for (let i = 0; i < P; i++) {
      const t = truth[i]!;
      if (t === ignore || (use && !use(i))) continue;
      addPrediction(r, probs[k * P + i]! / scale, t === k + 1);
    }
  }
}

/** A reliability diagram per split, side by side: accuracy per bin (bars), the diagonal, bin counts (grey). */
export async function writeReliabilityPng(file: string, panels: Array<{ reliability: Reliability }>): Promise<void> {
  const S = 240;
  const M = 20;
  const W = panels.length * (S + 2 * M);
  const H = S + 2 * M;
  const img = new Uint8Array(W * H * 3).fill(255);
  const put = (x: number, y: number, rgb: [number, number, number]): void => {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    img.set(rgb, (y * W + x) * 3);
  };
  panels.forEach((panel, k) => {
    const ox = k * (S + 2 * M) + M;
    const oy = M;
    const r = panel.reliability;
    const maxCount = Math.max(1, ...r.count);
    const bw = S / ECE_BINS;
    for (let b = 0; b < ECE_BINS; b++) {
      const c = r.count[b]!;
      if (c === 0) continue;
      const acc = r.positives[b]! / c;
      const conf = r.confidenceSum[b]! / c;
      const x0 = Math.round(ox + b * bw) + 1;
      const x1 = Math.round(ox + (b + 1) * bw) - 1;
      // Share of the predictions in the bin (log scale), light grey from the bottom; accuracy as a blue bar.
      const share = Math.log1p(c) / Math.log1p(maxCount);
      for (let x = x0; x <= x1; x++) {
        for (let y = 0; y < Math.round(share * S * 0.25); y++) put(x, oy + S - 1 - y, [215, 215, 215]);
        for (let y = 0; y < Math.round(acc * S); y++) if (x > x0 && x < x1) put(x, oy + S - 1 - y, [40, 100, 200]);
        // Gap to the mean confidence in red.
        const yc = oy + S - 1 - Math.round(conf * S);
        put(x, yc, [220, 30, 30]);
        put(x, yc + 1, [220, 30, 30]);
      }
    }
    for (let i = 0; i < S; i++) {
      put(ox + i, oy + S - 1 - i, [0, 0, 0]);
      put(ox + i, oy + S, [0, 0, 0]);
      put(ox - 1, oy + i, [0, 0, 0]);
    }
  });
  await writePng(file, img, W, H, 3);
}
