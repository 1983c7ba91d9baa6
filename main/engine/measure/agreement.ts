// Agreement between a segmentation and a reference: Dice of binary masks, per-class IoU accumulated over many
// images (with an ignored label), and instance precision/recall/F1 by one-to-one matching at an IoU threshold.
// Used by `npm run eval` on the validation splits; pure functions on pixel arrays, so the app can later show
// agreement with a reference segmentation the user opens.

/** Dice = 2|A∩B| / (|A| + |B|) of two masks (nonzero = inside). Both empty scores 1: nothing to find, nothing found. */
export function dice(predicted: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (predicted.length !== reference.length) throw new RangeError(`masks differ in length: ${predicted.length} vs ${reference.length}`);
  let both = 0;
  let sizeA = 0;
  let sizeB = 0;
  for (let i = 0; i < predicted.length; i++) {
    const a = predicted[i] !== 0;
    const b = reference[i] !== 0;
    if (a) sizeA++;
    if (b) sizeB++;
    if (a && b) both++;
  }
  return diceFromCounts(both, sizeA, sizeB);
}

export function diceFromCounts(intersection: number, sizeA: number, sizeB: number): number {
  return sizeA + sizeB === 0 ? 1 : (2 * intersection) / (sizeA + sizeB);
}

export function mean(values: number[]): number {
  return values.length ? values.reduce((s, v) => s + v, 0) / values.length : Number.NaN;
}

export function median(values: number[]): number {
  if (!values.length) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// ---------------------------------------------------------------- semantic IoU

/** Intersection and union pixel counts per class (index = class id, 0 unused), summed over images. */
export interface IouAccumulator {
  classCount: number;
  intersection: number[];
  union: number[];
}

export function createIouAccumulator(classCount: number): IouAccumulator {
  return { classCount, intersection: new Array<number>(classCount + 1).fill(0), union: new Array<number>(classCount + 1).fill(0) };
}

/**
 * Adds one image. Class ids 1..classCount; pixels whose reference is `ignoreLabel` (default 0, "unknown") do not
 * count at all, whatever was predicted there. Predicted values outside 1..classCount (no class, nodata) count as
 * a miss for the reference class.
 */
export function accumulateIou(acc: IouAccumulator, predicted: ArrayLike<number>, reference: ArrayLike<number>, ignoreLabel = 0): void {
  if (predicted.length !== reference.length) throw new RangeError(`label maps differ in length: ${predicted.length} vs ${reference.length}`);
  const K = acc.classCount;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]!;
    if (r === ignoreLabel) continue;
    const p = predicted[i]!;
    const pIn = p >= 1 && p <= K;
    const rIn = r >= 1 && r <= K;
    if (pIn && p === r) {
      acc.intersection[p]!++;
      acc.union[p]!++;
      continue;
    }
    if (pIn) acc.union[p]!++;
    if (rIn) acc.union[r]!++;
  }
}

/** IoU per class (index 0 = class 1); null for a class absent from both prediction and reference. mIoU over the rest. */
export function iouScores(acc: IouAccumulator): { perClass: Array<number | null>; meanIou: number } {
  const perClass: Array<number | null> = [];
  for (let c = 1; c <= acc.classCount; c++) {
    const u = acc.union[c]!;
    perClass.push(u === 0 ? null : acc.intersection[c]! / u);
  }
  return { perClass, meanIou: mean(perClass.filter((v): v is number => v !== null)) };
}

// ---------------------------------------------------------------- instance matching

export interface InstanceMatchOptions {
  /** A pair matches when IoU >= this (default 0.5). */
  iouThreshold?: number;
  /** Instances (either side) with fewer pixels are ignored, as if absent (default 1: every instance counts). */
  minPixels?: number;
}

export interface InstanceMatch {
  /** Counts of matched pairs, unmatched predictions and unmatched references. */
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  /** Matched pairs: [predicted id, reference id, IoU], best IoU first. */
  pairs: Array<[number, number, number]>;
}

/**
 * One-to-one matching of two instance maps (0 = background, ids arbitrary positive integers), greedy by IoU:
 * pairs are taken best first while both sides are still free. Above IoU 0.5 the greedy choice is the only one,
 * since an instance can overlap at most one other by more than half their union.
 */
export function matchInstances(predicted: ArrayLike<number>, reference: ArrayLike<number>, options: InstanceMatchOptions = {}): InstanceMatch {
  if (predicted.length !== reference.length) throw new RangeError(`instance maps differ in length: ${predicted.length} vs ${reference.length}`);
  const threshold = options.iouThreshold ?? 0.5;
  const minPixels = options.minPixels ?? 1;
  const areaP = new Map<number, number>();
  const areaR = new Map<number, number>();
  // Overlap per (predicted, reference) pair; the key packs both ids (ids < 2^26 each keeps it exact).
  const overlap = new Map<number, number>();
  const KEY = 2 ** 26;
  for (let i = 0; i < predicted.length; i++) {
    const p = predicted[i]!;
    const r = reference[i]!;
    if (p !== 0) areaP.set(p, (areaP.get(p) ?? 0) + 1);
    if (r !== 0) areaR.set(r, (areaR.get(r) ?? 0) + 1);
    if (p !== 0 && r !== 0) {
      if (p >= KEY || r >= KEY) throw new RangeError(`instance id ${Math.max(p, r)} is too large`);
      const k = p * KEY + r;
      overlap.set(k, (overlap.get(k) ?? 0) + 1);
    }
  }
  const keptP = [...areaP].filter(([, a]) => a >= minPixels).map(([id]) => id);
  const keptR = [...areaR].filter(([, a]) => a >= minPixels).map(([id]) => id);
  const candidates: Array<[number, number, number]> = [];
  for (const [k, inter] of overlap) {
    const p = Math.floor(k / KEY);
    const r = k - p * KEY;
    const ap = areaP.get(p)!;
    const ar = areaR.get(r)!;
    if (ap < minPixels || ar < minPixels) continue;
    const iou = inter / (ap + ar - inter);
    if (iou >= threshold) candidates.push([p, r, iou]);
  }
  // Best IoU first; ties by ids so the result never depends on Map order.
  candidates.sort((a, b) => b[2] - a[2] || a[0] - b[0] || a[1] - b[1]);
  const usedP = new Set<number>();
  const usedR = new Set<number>();
  const pairs: Array<[number, number, number]> = [];
  for (const c of candidates) {
    if (usedP.has(c[0]) || usedR.has(c[1])) continue;
    usedP.add(c[0]);
    usedR.add(c[1]);
    pairs.push(c);
  }
  return { truePositives: pairs.length, falsePositives: keptP.length - pairs.length, falseNegatives: keptR.length - pairs.length, pairs };
}

/** Precision, recall and F1 from counts; with nothing predicted and nothing to find, all three are 1. */
export function detectionScores(tp: number, fp: number, fn: number): { precision: number; recall: number; f1: number } {
  return {
    precision: tp + fp === 0 ? (fn === 0 ? 1 : 0) : tp / (tp + fp),
    recall: tp + fn === 0 ? 1 : tp / (tp + fn),
    f1: 2 * tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn),
  };
}
