// `npm run eval -- --fit-calibration [--model <id>]`: fits each shipped model's calibration on its VALIDATION split
// only (test items are never read here) and writes the manifest's `calibration` block:
//   1. temperature T (softmax) or temperature and bias (sigmoid, Platt scaling of logit p) minimising the negative
//      log-likelihood of the reference over all validation pixels (voxels), from the model's uncalibrated
//      probabilities as the app computes them (flips averaged; cached by calibration-cache.ts); for sigmoid models
//      whose validation ECE stays above ECE_FIT_LIMIT at the optimum, the lowest-NLL pair within that limit;
//   2. the size range (calibration.sizeRange, measure/ranges.ts) on the calibrated probabilities: the method
//      (thresholds or probability mass), its parameters and the class totals' scope (the image or the objects) with
//      the smallest mean relative width among those whose range holds the true size for at least RANGE_TARGET of
//      the validation cases (range-fit.ts; brain: the lesion volume per patient; land cover: each class's area per
//      tile where the true or the reported area is >= 1 % of the tile; buildings: the footprint area of each
//      building matched at IoU >= 0.5).
// `--fit-ranges` refits only the size range, on the manifest's current calibration (after a model changes, or to
// try another range definition without touching the temperature).
// DELINEATE_CALIB_DEBUG=1 prints every range object, =grid the coverage/width grid, =ece / =bins the reliability.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ModelCalibration } from '../preload/formats';
import type { ResolvedModel } from '../main/engine/inference/manifest';
import { applyCalibration, calibratedOutputs, calibrateSigmoid, calibrationOf, type CalibrationParams } from '../main/engine/inference/calibration';
import { probabilitiesToLabels } from '../main/engine/postprocess/labels';
import { sizeRangesPx } from '../main/engine/measure/ranges';
import { chooseRange, INNER_GRID, isRangeCase, OUTER_GRID, RANGE_TARGET, rangeOf, type RangeObject, type RangePart } from './range-fit';
import { matchInstances } from '../main/engine/measure/agreement';
import { openImage } from '../main/engine/io';
import { cacheSplit, type CachedItem } from './calibration-cache';
import { accumulate, addPrediction, ece, newReliability } from './calibration-stats';
import { DATA, readSplit, ROOT } from './eval-data';
import { buildingBlocks, IGNORE_LABEL, type Block } from './eval-sets';

/** Validation ECE above which a sigmoid model gets an isotonic curve instead of T and bias (target 0.05, a margin). */
const ECE_FIT_LIMIT = 0.03;

/** Validation pixels of an item as the fit sees them: reference per pixel (IGNORE_LABEL = not scored). */
export interface FitItem {
  item: CachedItem;
  truth: Uint8Array;
}

/** The buildings reference moved onto the roofs, scored only inside the item's validation blocks. */
export function buildingsTruth(item: CachedItem, blocks: Block[], shift: [number, number]): Uint8Array {
  const [dy, dx] = shift;
  const W = item.width;
  const H = item.height;
  const out = new Uint8Array(W * H).fill(IGNORE_LABEL);
  for (const b of blocks) {
    if (b.tile !== item.id) continue;
    for (let y = b.row0; y < b.row0 + b.size; y++) {
      for (let x = b.col0; x < b.col0 + b.size; x++) {
        const sy = y - dy;
        const sx = x - dx;
        out[y * W + x] = sy >= 0 && sx >= 0 && sy < H && sx < W ? item.truth[sy * W + sx]! : 0;
      }
    }
  }
  return out;
}

/** The footprint shift estimated on the training quadrants only (splits/buildings_eval_shift.txt). */
export function readShift(): [number, number] {
  const [dy, dx] = readSplit('buildings_eval_shift.txt')[0]!.split(/\s+/).map(Number);
  return [dy!, dx!];
}

/** The softmax channels the engine sees: the cached class channels, plus background (1 - their sum) when the model has one. */
export function engineChannels(model: ResolvedModel, item: CachedItem, cal: CalibrationParams): { data: Float32Array; channels: number } {
  const m = model.manifest;
  const K = item.classes;
  const P = item.width * item.height * item.depth;
  const withBg = m.outputs.type === 'softmax' && m.outputs.backgroundChannel !== false;
  const channels = withBg ? K + 1 : K;
  const data = new Float32Array(channels * P);
  const off = withBg ? 1 : 0;
  for (let k = 0; k < K; k++) for (let i = 0; i < P; i++) data[(k + off) * P + i] = item.probs[k * P + i]! / 255;
  if (withBg) {
    for (let i = 0; i < P; i++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += data[(k + 1) * P + i]!;
      data[i] = Math.max(0, 1 - s);
    }
  }
  const outputs = withBg ? { ...m.outputs, classChannels: Array.from({ length: K }, (_, k) => k + 1) } : { ...m.outputs, classChannels: Array.from({ length: K }, (_, k) => k) };
  applyCalibration(data, channels, P, outputs, K, cal);
  return { data, channels };
}

const EPS = 0.5 / 255;

/** Sigmoid models: scored pixels counted per cached probability level (p x 255) and reference (0 / 1). */
function sigmoidHistogram(items: FitItem[]): Float64Array {
  const h = new Float64Array(256 * 2);
  for (const { item, truth } of items) {
    const P = truth.length;
    for (let k = 0; k < item.classes; k++) {
      for (let i = 0; i < P; i++) {
        const t = truth[i]!;
        if (t === IGNORE_LABEL) continue;
        h[item.probs[k * P + i]! * 2 + (t === k + 1 ? 1 : 0)]!++;
      }
    }
  }
  return h;
}

function sigmoidNll(h: Float64Array, c: CalibrationParams): number {
  let total = 0;
  let n = 0;
  for (let q = 0; q < 256; q++) {
    const p = Math.min(1 - EPS, Math.max(EPS, c.curve ? calibrateSigmoid(q / 255, c) : q / 255));
    const l = c.curve ? Math.log(p / (1 - p)) : Math.log(p / (1 - p)) / c.temperature + c.bias;
    const softplus = (z: number): number => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
    total += h[q * 2 + 1]! * softplus(-l) + h[q * 2]! * softplus(l);
    n += h[q * 2]! + h[q * 2 + 1]!;
  }
  return n > 0 ? total / n : 0;
}

function sigmoidEce(h: Float64Array, c: CalibrationParams): number {
  const r = newReliability();
  for (let q = 0; q < 256; q++) {
    const p = calibrateSigmoid(q / 255, c);
    addPrediction(r, p, false, h[q * 2]!);
    addPrediction(r, p, true, h[q * 2 + 1]!);
  }
  return ece(r);
}

/** Golden-section minimum of f on [a, b]. */
function golden(f: (x: number) => number, a: number, b: number, tol: number): number {
  const g = (Math.sqrt(5) - 1) / 2;
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let fc = f(c);
  let fd = f(d);
  while (b - a > tol) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = f(d);
    }
  }
  return (a + b) / 2;
}

/** Isotonic regression of the reference on the probability levels (pool adjacent violators), strictly increasing. */
export function isotonicCurve(h: Float64Array): { p: number[]; calibrated: number[] } {
  const blocks: Array<{ w: number; v: number; levels: number[] }> = [];
  for (let q = 0; q < 256; q++) {
    const w = h[q * 2]! + h[q * 2 + 1]!;
    if (w === 0) continue;
    blocks.push({ w, v: h[q * 2 + 1]! / w, levels: [q] });
    while (blocks.length > 1 && blocks[blocks.length - 2]!.v >= blocks[blocks.length - 1]!.v) {
      const b = blocks.pop()!;
      const a = blocks[blocks.length - 1]!;
      a.v = (a.v * a.w + b.v * b.w) / (a.w + b.w);
      a.w += b.w;
      a.levels.push(...b.levels);
    }
  }
  const p: number[] = [];
  const calibrated: number[] = [];
  const BLEND = 0.001;
  for (const b of blocks) {
    for (const q of b.levels) {
      const x = q / 255;
      p.push(x);
      calibrated.push(Math.round(((1 - BLEND) * b.v + BLEND * x) * 1e6) / 1e6);
    }
  }
  return { p, calibrated };
}

/** Sigmoid models: temperature and bias minimising the NLL (Platt scaling on logit(p)). */
function fitSigmoid(h: Float64Array): { cal: CalibrationParams; nllBefore: number; nllAfter: number; eceLimited: boolean } {
  const bestBias = (t: number): number => golden((b) => sigmoidNll(h, { temperature: t, bias: b }), -4, 4, 0.001);
  const lt = golden((x) => sigmoidNll(h, { temperature: Math.exp(x), bias: bestBias(Math.exp(x)) }), Math.log(0.25), Math.log(8), 0.002);
  const temperature = Math.round(Math.exp(lt) * 1000) / 1000;
  const bias = Math.round(bestBias(temperature) * 1000) / 1000;
  const cal: CalibrationParams = { temperature, bias };
  if (sigmoidEce(h, cal) > ECE_FIT_LIMIT) {
    // A two-parameter map cannot follow this model's reliability (the brain's boundary voxels: from p 0.02 to
    // 0.97 the share of lesion only rises from 0.19 to 0.59). Isotonic regression on the validation voxels instead:
    // pooled adjacent violators over the 256 cached probability levels, then made strictly increasing (a 0.1 %
    // blend with the identity) so that every threshold keeps its pixels.
    const curve = isotonicCurve(h);
    const iso: CalibrationParams = { temperature: 1, bias: 0, curve };
    return { cal: iso, nllBefore: sigmoidNll(h, { temperature: 1, bias: 0 }), nllAfter: sigmoidNll(h, iso), eceLimited: true };
  }
  return { cal, nllBefore: sigmoidNll(h, { temperature: 1, bias: 0 }), nllAfter: sigmoidNll(h, cal), eceLimited: false };
}

/** Negative log-likelihood per scored pixel at temperature T (softmax models). */
function nll(model: ResolvedModel, items: FitItem[], T: number): number {
  const sigmoid = model.manifest.outputs.type === 'sigmoid';
  let total = 0;
  let n = 0;
  for (const { item, truth } of items) {
    const P = truth.length;
    const K = item.classes;
    if (sigmoid) {
      for (let k = 0; k < K; k++) {
        for (let i = 0; i < P; i++) {
          const t = truth[i]!;
          if (t === IGNORE_LABEL) continue;
          const p = Math.min(1 - EPS, Math.max(EPS, item.probs[k * P + i]! / 255));
          const l = Math.log(p / (1 - p)) / T;
          // -log sigmoid(l) = softplus(-l); -log(1 - sigmoid(l)) = softplus(l)
          const z = t === k + 1 ? -l : l;
          total += z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
          n++;
        }
      }
      continue;
    }
    const withBg = model.manifest.outputs.backgroundChannel !== false;
    const C = withBg ? K + 1 : K;
    const logs = new Float64Array(C);
    for (let i = 0; i < P; i++) {
      const t = truth[i]!;
      if (t === IGNORE_LABEL) continue;
      const target = withBg ? t : t - 1;
      if (target < 0) continue;
      let s = 0;
      for (let k = 0; k < K; k++) {
        const p = Math.max(EPS, item.probs[k * P + i]! / 255);
        s += item.probs[k * P + i]! / 255;
        logs[withBg ? k + 1 : k] = Math.log(p) / T;
      }
      if (withBg) logs[0] = Math.log(Math.max(EPS, 1 - s)) / T;
      let max = -Infinity;
      for (let c = 0; c < C; c++) max = Math.max(max, logs[c]!);
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(logs[c]! - max);
      total += max + Math.log(z) - logs[target]!;
      n++;
    }
  }
  return n > 0 ? total / n : 0;
}

/** Softmax models: the temperature minimising the NLL (log T searched on [log 0.25, log 6]). */
function fitTemperature(model: ResolvedModel, items: FitItem[]): { cal: CalibrationParams; nllBefore: number; nllAfter: number; eceLimited: boolean } {
  const lt = golden((x) => nll(model, items, Math.exp(x)), Math.log(0.25), Math.log(6), 0.005);
  const cal = { temperature: Math.round(Math.exp(lt) * 1000) / 1000, bias: 0 };
  return { cal, nllBefore: nll(model, items, 1), nllAfter: nll(model, items, cal.temperature), eceLimited: false };
}

/** ECE of the calibrated class probabilities over the scored pixels. */
function eceAt(model: ResolvedModel, items: FitItem[], cal: CalibrationParams): number {
  const r = newReliability();
  for (const { item, truth } of items) {
    const { data, channels } = engineChannels(model, item, cal);
    const P = truth.length;
    const off = channels > item.classes ? 1 : 0;
    accumulate(r, data.subarray(off * P), 1, item.classes, truth, IGNORE_LABEL);
  }
  return ece(r);
}

export { rangeFigures, RANGE_TARGET, type RangeFigures } from './range-fit';
import { rangeFigures, type RangeFigures } from './range-fit';

/** A range case is a class area of at least this share of the tile (land cover); every lesion and matched building. */
export function minCaseShare(modelId: string): number {
  return modelId === 'landcover-deepglobe' || modelId === 'landcover-sentinel2-korea' ? 0.01 : 0;
}

/** Range objects of one item, every inner/outer threshold of the grids. */
async function rangeObjects(model: ResolvedModel, fit: FitItem, cal: CalibrationParams, blocks: Block[], shift: [number, number]): Promise<RangeObject[]> {
  const { item } = fit;
  const m = model.manifest;
  const K = item.classes;
  const P = item.width * item.height * item.depth;
  const { data, channels } = engineChannels(model, item, cal);
  const outputs = channels > K ? { ...m.outputs, classChannels: Array.from({ length: K }, (_, k) => k + 1) } : { ...m.outputs, classChannels: Array.from({ length: K }, (_, k) => k) };
  const lr = probabilitiesToLabels(data, channels, P, calibratedOutputs(outputs, cal), K);
  let n = 0;
  for (let i = 0; i < P; i++) if (item.instances[i]! > n) n = item.instances[i]!;
  const instanceClass = new Array<number>(n).fill(0);
  for (let i = 0; i < P; i++) if (item.instances[i]) instanceClass[item.instances[i]! - 1] = item.labels[i]!;
  const base = { instances: item.instances, instanceClass, probability: lr.probability, assignedLabels: lr.labels, altLabels: lr.altLabels, altProbability: lr.altProbability, width: item.width, height: item.height, depth: item.depth, connectivity: (item.depth > 1 ? 26 : 8) as 26 | 8, classCount: K };
  // low depends on the inner threshold only, high on the outer only: one growth per outer threshold.
  // low: the instance's pixels at or above the inner threshold (as sizeRangesPx counts them, without its growth pass).
  const lows = INNER_GRID.map(() => new Array<number>(n).fill(0));
  for (let i = 0; i < P; i++) {
    const id = item.instances[i]!;
    if (!id) continue;
    const p = lr.probability[i]!;
    INNER_GRID.forEach((t, a) => {
      if (p >= t) lows[a]![id - 1]!++;
    });
  }
  const grownAt = OUTER_GRID.map((t) => sizeRangesPx({ ...base, innerThreshold: 1, outerThreshold: t }));
  const g0 = grownAt[0]!;
  const sizes = g0.sizePx;
  const sum = (xs: number[], ids: number[]): number => ids.reduce((t, id) => t + xs[id]!, 0);
  const part = (j: number): RangePart => ({ sizePx: sizes[j]!, doubtPx: g0.doubtPx[j]!, grownPx: grownAt.map((g) => g.highPx[j]! - sizes[j]!), grownMassPx: grownAt.map((g) => g.grownMassPx[j]!) });
  if (m.id === 'buildings-joplin') {
    // Buildings matched one-to-one (IoU >= 0.5) with the footprints moved onto the roofs, centroid in a validation block.
    const gt = await openImage(path.join(DATA, 'buildings-joplin', 'instances', `${item.id}.tif`));
    let ref: Uint32Array;
    try {
      const full = (await gt.read({ channels: [0] })).data;
      ref = new Uint32Array(P);
      const [dy, dx] = shift;
      for (let y = Math.max(dy, 0); y < item.height + Math.min(dy, 0); y++) for (let x = Math.max(dx, 0); x < item.width + Math.min(dx, 0); x++) ref[y * item.width + x] = full[(y - dy) * item.width + (x - dx)]!;
    } finally {
      await gt.close();
    }
    const refArea = new Map<number, number>();
    for (let i = 0; i < P; i++) if (ref[i]) refArea.set(ref[i]!, (refArea.get(ref[i]!) ?? 0) + 1);
    const cx = new Float64Array(n);
    const cy = new Float64Array(n);
    for (let i = 0; i < P; i++) {
      const id = item.instances[i]!;
      if (!id) continue;
      cx[id - 1]! += i % item.width;
      cy[id - 1]! += Math.floor(i / item.width);
    }
    const inBlock = (id: number): boolean => {
      const x = cx[id - 1]! / sizes[id - 1]!;
      const y = cy[id - 1]! / sizes[id - 1]!;
      return blocks.some((b) => b.tile === item.id && y >= b.row0 && y < b.row0 + b.size && x >= b.col0 && x < b.col0 + b.size);
    };
    return matchInstances(item.instances, ref, { iouThreshold: 0.5 })
      .pairs.filter(([p]) => inBlock(p))
      .map(([p, r]) => {
        const o: RangeObject = { truePx: refArea.get(r)!, sizePx: sizes[p - 1]!, lowPx: lows.map((l) => l[p - 1]!), parts: [part(p - 1)] };
        return o;
      });
  }
  // Class totals: brain = the lesion volume of the patient; land cover = each class's area in the tile.
  const out: RangeObject[] = [];
  for (let c = 1; c <= K; c++) {
    const ids = instanceClass.flatMap((k, j) => (k === c ? [j] : []));
    let truePx = 0;
    for (let i = 0; i < P; i++) if (fit.truth[i] === c) truePx++;
    const sizePx = sum(sizes, ids);
    if (!isRangeCase(truePx, sizePx, P, minCaseShare(m.id))) continue;
    out.push({ truePx, sizePx, lowPx: lows.map((l) => sum(l, ids)), parts: ids.map(part), imagePx: grownAt.map((g) => g.classHighPx[c]! - sizePx), imageMassPx: grownAt.map((g) => g.classMassPx[c]!) });
  }
  return out;
}

/** Writes (or replaces) the manifest's top-level "calibration" block, leaving the rest of the file's text as it is. */
function writeCalibration(manifestPath: string, block: ModelCalibration): void {
  const text = readFileSync(manifestPath, 'utf8');
  // Number arrays (the curve's 256 points) on one line each, so the block stays readable.
  const json = JSON.stringify(block, null, 2)
    .replace(/\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]/g, (_m, inner: string) => `[${inner.split(/,\s+/).join(', ')}]`)
    .replace(/\n/g, '\n  ');
  const start = text.indexOf('\n  "calibration": {');
  let body: string;
  if (start >= 0) {
    const end = text.indexOf('\n  }', start);
    body = `${text.slice(0, start)}\n  "calibration": ${json}${text.slice(end + 4)}`;
  } else {
    const close = text.lastIndexOf('}');
    body = `${text.slice(0, close).trimEnd()},\n  "calibration": ${json}\n}\n`;
  }
  JSON.parse(body);
  writeFileSync(manifestPath, body);
}

/** The size-range block fitted on the validation objects measured with the calibration cal. */
async function fitSizeRange(model: ResolvedModel, fits: FitItem[], cal: CalibrationParams, blocks: Block[], shift: [number, number], log: (s: string) => void): Promise<NonNullable<ModelCalibration['sizeRange']>> {
  const id = model.manifest.id;
  const perItem: RangeObject[][] = [];
  for (const f of fits) perItem.push(await rangeObjects(model, f, cal, blocks, shift));
  const objs = perItem.flat();
  // The margin for patients and tiles the fit has not seen, chosen on validation alone: the narrowest choice that
  // holds RANGE_TARGET of the fitted cases is tuned to those very cases (8 patients, 11 class areas) and holds
  // fewer elsewhere. So the in-sample target is raised step by step until the choice made on all items but one
  // holds the true size for RANGE_TARGET of the left-out items' cases (leave one item out); the test split is not read.
  let target = RANGE_TARGET;
  let heldOut: RangeFigures | null = null;
  for (const t of FIT_TARGETS) {
    target = t;
    heldOut = perItem.length > 1 ? leaveOneItemOut(perItem, t) : null;
    if (heldOut) log(`  in-sample target ${(t * 100).toFixed(0)} %: leave one item out (${perItem.length} folds) coverage ${(heldOut.coverage * 100).toFixed(1)} % of ${heldOut.objects} cases, mean width ${(heldOut.meanRelativeWidth * 100).toFixed(1)} %`);
    if (!heldOut || heldOut.coverage >= RANGE_TARGET) break;
  }
  const { choice, figures: r } = chooseRange(objs, target);
  if (process.env.DELINEATE_CALIB_DEBUG === 'methods') {
    // The narrowest of each method alone, to see what the choice was between.
    for (const method of ['thresholds', 'probabilityMass'] as const) {
      const alone = chooseRange(objs, RANGE_TARGET, [method]);
      log(`    ${method}: ${JSON.stringify(alone.choice)} coverage ${(alone.figures.coverage * 100).toFixed(1)} %, mean width ${(alone.figures.meanRelativeWidth * 100).toFixed(1)} %`);
    }
  }
  if (process.env.DELINEATE_CALIB_DEBUG === '1') {
    for (const o of objs) {
      const x = rangeOf(o, choice);
      log(`    true ${o.truePx} size ${o.sizePx} range ${x.lowPx}-${x.highPx}${x.lowPx <= o.truePx && o.truePx <= x.highPx ? '' : '  (outside)'}`);
    }
  }
  const params = choice.method === 'thresholds' ? `inner ${choice.innerThreshold}, outer ${choice.outerThreshold}` : `low scale ${choice.lowScale}, high scale ${choice.highScale}, outer ${choice.outerThreshold}`;
  log(`  size range: ${choice.method} (${params}), class totals over the ${choice.classScope === 'image' ? 'image' : 'objects'}: coverage ${(r.coverage * 100).toFixed(1)} % of ${r.objects} validation cases, mean width ${(r.meanRelativeWidth * 100).toFixed(1)} % of the size (median ${(r.medianRelativeWidth * 100).toFixed(1)} %)`);
  const minShare = minCaseShare(id);
  return {
    ...choice,
    objects: id === 'brain-flair-lgg' ? 'lesion volume per patient' : id === 'buildings-joplin' ? 'footprint area of each building matched at IoU >= 0.5 (footprints moved onto the roofs)' : `area of each class per tile where the true or the reported area is >= ${minShare * 100} % of the tile`,
    ...(minShare > 0 ? { minCaseShare: minShare } : {}),
    widthDefinition: 'mean over the cases with a reported size of (high - low) / reported size',
    target: RANGE_TARGET,
    inSampleTarget: target,
    validationObjects: r.objects,
    coverageValidation: round4(r.coverage),
    meanRelativeWidthValidation: round4(r.meanRelativeWidth),
    medianRelativeWidthValidation: round4(r.medianRelativeWidth),
    ...(heldOut ? { coverageValidationLeaveOneItemOut: round4(heldOut.coverage), meanRelativeWidthValidationLeaveOneItemOut: round4(heldOut.meanRelativeWidth) } : {}),
    fit: 'npm run eval -- --fit-ranges --model <id> (scripts/range-fit.ts)',
  };
}

/** In-sample coverage targets tried in turn (calibration-fit.ts raises it until held-out items reach RANGE_TARGET). */
const FIT_TARGETS = [RANGE_TARGET, 0.9, 0.95, 1];

/** Figures of every item's cases under the range chosen (at the in-sample target) on the other items. */
function leaveOneItemOut(perItem: RangeObject[][], target: number): RangeFigures {
  const ranges: Array<{ truePx: number; sizePx: number; lowPx: number; highPx: number }> = [];
  perItem.forEach((held, k) => {
    if (!held.length) return;
    const rest = perItem.filter((_, j) => j !== k).flat();
    if (!rest.length) return;
    const { choice } = chooseRange(rest, target);
    for (const o of held) ranges.push({ truePx: o.truePx, sizePx: o.sizePx, ...rangeOf(o, choice) });
  });
  return rangeFigures(ranges);
}

/** The validation items of a model with the reference the fit scores against. */
async function validationFits(model: ResolvedModel, threads: number, log: (s: string) => void): Promise<{ fits: FitItem[]; blocks: Block[]; shift: [number, number] }> {
  const id = model.manifest.id;
  const items = await cacheSplit(model, 'validation', threads, log);
  const blocks = buildingBlocks().validation;
  const shift = readShift();
  return { fits: items.map((item) => ({ item, truth: id === 'buildings-joplin' ? buildingsTruth(item, blocks, shift) : item.truth })), blocks, shift };
}

/** `--fit-ranges`: only the size range, on the manifest's calibration as it stands; the rest of the block is kept. */
export async function fitRanges(model: ResolvedModel, threads: number, dryRun = false): Promise<ModelCalibration> {
  const id = model.manifest.id;
  const log = (s: string): void => console.log(s);
  const current = model.manifest.calibration;
  if (!current) throw new Error(`${id}: the manifest has no calibration block; run --fit-calibration first`);
  const { fits, blocks, shift } = await validationFits(model, threads, log);
  const sizeRange = await fitSizeRange(model, fits, calibrationOf(model.manifest), blocks, shift, log);
  // The whole sizeRange block is replaced: test figures of the old range do not describe the new one.
  const block: ModelCalibration = { ...current, sizeRange };
  return writeBlock(model, block, dryRun, log);
}

function writeBlock(model: ResolvedModel, block: ModelCalibration, dryRun: boolean, log: (s: string) => void): ModelCalibration {
  const id = model.manifest.id;
  if (!model.manifestPath) throw new Error(`${id}: no manifest.json to write the calibration to`);
  if (dryRun) {
    const { curve: _curve, ...shown } = block;
    void _curve;
    log(`  --dry-run: ${path.relative(ROOT, model.manifestPath)} left as it is; the block would be (curve left out):\n${JSON.stringify(shown, null, 2)}`);
    return block;
  }
  writeCalibration(model.manifestPath, block);
  log(`  written: ${path.relative(ROOT, model.manifestPath)} (calibration); copy it into the ONNX file: /usr/bin/python3 models/training/embed_manifest.py ${id}`);
  return block;
}

export async function fitCalibration(model: ResolvedModel, threads: number, dryRun = false): Promise<ModelCalibration> {
  const log = (s: string): void => console.log(s);
  const { fits, blocks, shift } = await validationFits(model, threads, log);
  const items = fits.map((f) => f.item);
  const sigmoid = model.manifest.outputs.type === 'sigmoid';
  const hist = sigmoid ? sigmoidHistogram(fits) : null;
  const t = hist ? fitSigmoid(hist) : fitTemperature(model, fits);
  const eceBefore = hist ? sigmoidEce(hist, { temperature: 1, bias: 0 }) : eceAt(model, fits, { temperature: 1, bias: 0 });
  const eceAfter = hist ? sigmoidEce(hist, t.cal) : eceAt(model, fits, t.cal);
  log(`  temperature ${t.cal.temperature}${sigmoid ? `, bias ${t.cal.bias}` : ''} (NLL ${t.nllBefore.toFixed(4)} -> ${t.nllAfter.toFixed(4)}); validation ECE ${eceBefore.toFixed(4)} -> ${eceAfter.toFixed(4)}`);
  if (process.env.DELINEATE_CALIB_DEBUG === 'bins' && hist) {
    for (const c of [{ temperature: 1, bias: 0 }, t.cal]) {
      const r = newReliability();
      for (let q = 0; q < 256; q++) {
        const p = calibrateSigmoid(q / 255, c);
        addPrediction(r, p, false, hist[q * 2]!);
        addPrediction(r, p, true, hist[q * 2 + 1]!);
      }
      log(`    T ${c.temperature} b ${c.bias}: ` + Array.from(r.count, (n, b) => (n ? `${(r.confidenceSum[b]! / n).toFixed(2)}:${(r.positives[b]! / n).toFixed(2)}(${n})` : '-')).join(' '));
    }
  }
  if (process.env.DELINEATE_CALIB_DEBUG === 'ece' && hist) {
    for (const T of [0.5, 0.7, 1, 1.5, 2, 2.5, 3, 4]) log(`    T ${T}: ` + [-1.5, -1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 1].map((b) => `${b}:${sigmoidEce(hist, { temperature: T, bias: b }).toFixed(3)}/${sigmoidNll(hist, { temperature: T, bias: b }).toFixed(3)}`).join(' '));
  }
  const sizeRange = await fitSizeRange(model, fits, t.cal, blocks, shift, log);
  const block: ModelCalibration = {
    temperature: t.cal.temperature,
    ...(sigmoid ? { bias: t.cal.bias } : {}),
    ...(t.cal.curve ? { curve: { p: [...t.cal.curve.p], calibrated: [...t.cal.curve.calibrated] } } : {}),
    fittedOn: 'validation',
    method: `${sigmoid ? 'temperature and bias (p\' = sigmoid(logit(p) / T + bias))' : 'temperature (p\' = softmax(log p / T))'}${t.eceLimited ? `: the NLL optimum left the validation ECE above ${ECE_FIT_LIMIT}, so instead an isotonic curve (pool adjacent violators over the 256 probability levels, blended 0.1 % with the identity to increase strictly)` : ' minimising the NLL'} over the validation ${model.manifest.kinds.includes('medical') ? 'voxels' : 'pixels'} (the app's averaged flips, p x 255 as cached), ${items.length} items of ${path.relative(ROOT, path.join(ROOT, 'models', 'training', 'splits'))} (validation = <m>_val.txt minus <m>_test.txt); npm run eval -- --fit-calibration`,
    nllValidation: [round4(t.nllBefore), round4(t.nllAfter)],
    eceValidationUncalibrated: round4(eceBefore),
    eceValidation: round4(eceAfter),
    sizeRange,
  };
  return writeBlock(model, block, dryRun, log);
}

const round4 = (v: number): number => Math.round(v * 10000) / 10000;
