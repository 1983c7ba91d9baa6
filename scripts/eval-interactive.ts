// `npm run eval -- --interactive`: the interactive (click) models through the app's own prompt engine
// (main/engine/interactive: the crop, resampling and paste rules `delineate prompt` runs), with the standard protocol:
// the first click at the object's interior point farthest from its boundary; each next click at the point farthest
// from the boundary of the larger error region (larger inscribed distance; missed -> include, wrong -> exclude);
// every step gets all clicks so far and the previous mask; at most 20 clicks; stop at IoU 0.90.
// Reported: NoC@85 / NoC@90 (buildings also NoC@80; 20 when never reached), IoU after 1, 3 and 5 clicks (the last
// IoU carried forward once an object stopped), median model ms per click (onnxruntime time of each step), and
// for lesions the 3D Dice of one click on the largest slice + propagation. Objects, as the training script
// validates (models/training/train_interactive.py):
//   lesions    the slice where each validation patient's lesion is largest (>= 50 px), the slice's whole lesion
//   buildings  the validation quadrant of each Joplin tile (the quadrant is the image), instances >= 80 px whose box
//              does not touch the quadrant's edge
//   parcels    4-connected components of one class (>= 100 px) in the DeepGlobe and Sentinel-2 validation tiles
// Flags: --model interactive-brain-flair|interactive-geo-rgb (one model), --limit N (first N patients / tiles per
// set), --max-objects N (first N objects per set), --threads N (default 2). Summary in .tmp/eval-interactive-<id>.json.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ImageSource, PixelBlock, Region } from '../main/engine/image';
import { openImage } from '../main/engine/io';
import { scanModels, type ResolvedModel } from '../main/engine/inference/manifest';
import { connectedComponents } from '../main/engine/postprocess/components';
import { deepestPoint, MaskWindow, type Click2 } from '../main/engine/interactive/geometry';
import { openPromptModel, type PromptModel } from '../main/engine/interactive/models';
import { PromptImage } from '../main/engine/interactive/prompt-image';
import { runPrompt } from '../main/engine/interactive/prompt';
import { dice, mean, median } from '../main/engine/measure/agreement';
import { brainTruth, DATA, readSplit, ROOT, SPLITS } from './eval-data';

const MAX_CLICKS = 20;
const STOP_IOU = 0.9;
const MODELS = { brain: 'interactive-brain-flair', geo: 'interactive-geo-rgb' } as const;

interface Args {
  model?: string;
  limit?: number;
  maxObjects?: number;
  threads: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { threads: 2 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (v: string): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} needs a positive integer, got "${v}"`);
      return n;
    };
    if (a === '--model') args.model = value();
    else if (a === '--limit') args.limit = int(value());
    else if (a === '--max-objects') args.maxObjects = int(value());
    else if (a === '--threads') args.threads = int(value());
    else throw new Error(`unknown argument ${a} (with --interactive: --model <id>, --limit N, --max-objects N, --threads N)`);
  }
  if (args.model && !Object.values(MODELS).includes(args.model as (typeof MODELS)[keyof typeof MODELS])) throw new Error(`--interactive evaluates ${Object.values(MODELS).join(' or ')}, not "${args.model}"`);
  return args;
}

/** One object: the image, its slice and the reference mask of that slice (W x H). */
interface EvalObject {
  name: string;
  image: PromptImage;
  z: number;
  truth: Uint8Array;
}

/** The reference and the prediction on one window: the union of their boxes plus one pixel, clamped to the image. */
function pairWindow(pred: MaskWindow, truth: MaskWindow, W: number, H: number): { pred: Uint8Array; truth: Uint8Array; x0: number; y0: number; w: number; h: number } {
  const boxes = [pred.bbox(), truth.bbox()].filter((b) => b !== null);
  const x0 = Math.max(0, Math.min(...boxes.map((b) => b.x0)) - 1);
  const y0 = Math.max(0, Math.min(...boxes.map((b) => b.y0)) - 1);
  const x1 = Math.min(W - 1, Math.max(...boxes.map((b) => b.x1)) + 1);
  const y1 = Math.min(H - 1, Math.max(...boxes.map((b) => b.y1)) + 1);
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  return { pred: pred.resized(x0, y0, w, h).data, truth: truth.resized(x0, y0, w, h).data, x0, y0, w, h };
}

function iou(pred: Uint8Array, truth: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < truth.length; i++) {
    const p = pred[i]!;
    const t = truth[i]!;
    inter += p & t;
    union += p | t;
  }
  return union === 0 ? 1 : inter / union;
}

/**
 * The corrective click: the deepest point of the larger error region (false negatives -> include, false positives ->
 * exclude; ties go to the missed region). Searched within the box of reference and prediction plus one pixel, which
 * gives the same distances as the whole image: no error region reaches that box's border except at the image edge.
 */
function nextClick(pair: ReturnType<typeof pairWindow>): Click2 | null {
  const { pred, truth, x0, y0, w, h } = pair;
  const fn = new Uint8Array(w * h);
  const fp = new Uint8Array(w * h);
  let anyFn = false;
  let anyFp = false;
  for (let i = 0; i < w * h; i++) {
    if (truth[i] && !pred[i]) {
      fn[i] = 1;
      anyFn = true;
    } else if (pred[i] && !truth[i]) {
      fp[i] = 1;
      anyFp = true;
    }
  }
  const a = anyFn ? deepestPoint(fn, w, h) : null;
  const b = anyFp ? deepestPoint(fp, w, h) : null;
  if (!a && !b) return null;
  if (a && (!b || a.distance >= b.distance)) return { x: a.x + x0, y: a.y + y0, positive: true };
  return { x: b!.x + x0, y: b!.y + y0, positive: false };
}

interface Curve {
  ious: number[];
  stepMs: number[];
}

/** The NoC protocol on one object (spec: all clicks so far + the previous mask each step). */
async function nocCurve(model: PromptModel, o: EvalObject): Promise<Curve> {
  const { width: W, height: H } = o.image;
  const truth = new MaskWindow(0, 0, W, H, o.truth).tight();
  const clicks: Click2[] = [];
  let mask = MaskWindow.empty();
  const ious: number[] = [];
  const stepMs: number[] = [];
  model.reset();
  for (let k = 0; k < MAX_CLICKS; k++) {
    let click: Click2 | null;
    if (k === 0) {
      const p = deepestPoint(truth.data, truth.width, truth.height);
      click = p ? { x: p.x + truth.x, y: p.y + truth.y, positive: true } : null;
    } else click = nextClick(pairWindow(mask, truth, W, H));
    if (!click) break;
    clicks.push(click);
    const r = await model.step(o.image, { z: o.z, clicks: [...clicks], box: null, previous: mask });
    mask = r.mask;
    stepMs.push(r.modelMs);
    const pair = pairWindow(mask, truth, W, H);
    ious.push(iou(pair.pred, pair.truth));
    if (ious[ious.length - 1]! >= STOP_IOU) break;
  }
  return { ious, stepMs };
}

function summary(curves: Curve[], thresholds: number[]): Record<string, number> {
  const out: Record<string, number> = { objects: curves.length };
  for (const t of thresholds) {
    out[`NoC@${Math.round(t * 100)}`] = mean(curves.map((c) => (c.ious.findIndex((v) => v >= t) + 1 || MAX_CLICKS)));
  }
  for (const k of [1, 3, 5]) out[`IoU@${k}`] = mean(curves.map((c) => (c.ious.length >= k ? c.ious[k - 1]! : (c.ious.at(-1) ?? 0))));
  out.medianModelMsPerClick = median(curves.flatMap((c) => c.stepMs));
  out.clicks = curves.reduce((n, c) => n + c.ious.length, 0);
  return out;
}

const fmt = (v: number | undefined, d = 3): string => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(d));

function printSummary(name: string, s: Record<string, number>): void {
  const nocs = Object.keys(s)
    .filter((k) => k.startsWith('NoC@'))
    .map((k) => `${k} ${fmt(s[k], 2)}`)
    .join('  ');
  console.log(`  ${name.padEnd(10)} ${String(s.objects).padStart(4)} objects  ${nocs}  IoU@1 ${fmt(s['IoU@1'])}  IoU@3 ${fmt(s['IoU@3'])}  IoU@5 ${fmt(s['IoU@5'])}  model ${fmt(s.medianModelMsPerClick, 1)} ms/click (median of ${s.clicks})`);
}

async function runSet(model: PromptModel, objects: AsyncIterable<EvalObject>, max: number | undefined, verbose: boolean): Promise<Curve[]> {
  const curves: Curve[] = [];
  for await (const o of objects) {
    if (max !== undefined && curves.length >= max) break;
    const c = await nocCurve(model, o);
    curves.push(c);
    if (verbose) console.log(`    ${o.name}: ${c.ious.length} clicks, IoU ${c.ious.map((v) => v.toFixed(2)).join(' ')}`);
  }
  return curves;
}

// ---------------------------------------------------------------- lesions (and 3D)

async function evalBrain(resolved: ResolvedModel, args: Args): Promise<Record<string, unknown> | null> {
  const dataDir = path.join(DATA, 'tumor-lgg-flair');
  if (!existsSync(dataDir)) return skipData(dataDir);
  const model = await openPromptModel(resolved, { threads: args.threads });
  try {
    const curves: Curve[] = [];
    const dice3d: Array<{ patient: string; z: number; dice: number; slices: [number, number] | null }> = [];
    const patients = readSplit('brain_val.txt').slice(0, args.limit);
    for (const patient of patients) {
      if (args.maxObjects !== undefined && curves.length >= args.maxObjects) break;
      const src = await openImage(path.join(dataDir, patient));
      try {
        const truth = await brainTruth(path.join(dataDir, patient), src);
        const plane = src.width * src.height;
        let z = 0;
        let best = -1;
        for (let zz = 0; zz < src.depth; zz++) {
          let n = 0;
          for (let i = 0; i < plane; i++) n += truth[zz * plane + i]!;
          if (n > best) {
            best = n;
            z = zz;
          }
        }
        if (best < 50) {
          console.log(`    ${patient}: largest lesion slice has ${best} px (< 50): not an object`);
          continue;
        }
        const image = new PromptImage(src, resolved.manifest.input.channels.length);
        const sliceTruth = truth.slice(z * plane, (z + 1) * plane);
        const c = await nocCurve(model, { name: patient, image, z, truth: sliceTruth });
        curves.push(c);
        // 3D: one click at the deepest point of the largest slice's lesion, then propagation both ways.
        const seed = deepestPoint(sliceTruth, src.width, src.height)!;
        const run = await runPrompt(model, image, { clicks: [{ x: seed.x, y: seed.y, z, positive: true }], box: null, previous: new Map(), propagate: true });
        const pred = new Uint8Array(plane * src.depth);
        for (const [zz, m] of run.masks) pred.set(m.full(src.width, src.height), zz * plane);
        const d = dice(pred, truth);
        dice3d.push({ patient, z, dice: d, slices: run.propagated ?? null });
        console.log(`    ${patient}: slice ${z} (${best} px): ${c.ious.length} clicks, IoU ${c.ious.map((v) => v.toFixed(2)).join(' ')}; 3D Dice ${d.toFixed(3)} (slices ${run.propagated?.join('..') ?? '-'})`);
      } finally {
        await src.close();
      }
    }
    const s = summary(curves, [0.85, 0.9]);
    printSummary('lesions', s);
    const dices = dice3d.map((r) => r.dice);
    console.log(`  3D: one click on the largest slice + propagate: Dice mean ${fmt(mean(dices))}, median ${fmt(median(dices))} over ${dices.length} patients`);
    // The same figures per half: brain_test.txt holds 8 of the 16 as a test half (final figures only); the other
    // 8 are where choices (weights, flips, stop rule) are made.
    const test = new Set(existsSync(path.join(SPLITS, 'brain_test.txt')) ? readSplit('brain_test.txt') : []);
    const halves: Record<string, unknown> = {};
    if (test.size) {
      for (const [half, inHalf] of [['validation', (p: string) => !test.has(p)], ['test', (p: string) => test.has(p)]] as const) {
        const idx = dice3d.map((r, i) => (inHalf(r.patient) ? i : -1)).filter((i) => i >= 0);
        const hs = summary(idx.map((i) => curves[i]!), [0.85, 0.9]);
        const hd = idx.map((i) => dice3d[i]!.dice);
        printSummary(`${half} half`, hs);
        console.log(`  ${half} half 3D Dice mean ${fmt(mean(hd))}, median ${fmt(median(hd))} over ${hd.length} patients`);
        halves[half] = { lesions: hs, dice3d: { mean: mean(hd), median: median(hd) } };
      }
    }
    return { lesions: s, dice3d: { mean: mean(dices), median: median(dices), patients: dice3d }, ...(test.size ? { halves } : {}) };
  } finally {
    await model.dispose();
  }
}

// ---------------------------------------------------------------- buildings and parcels

/** A window of a source as an image of its own (the training code validates on the quadrant alone). */
function windowSource(src: ImageSource, x0: number, y0: number, width: number, height: number): ImageSource {
  const read = (region?: Region): Promise<PixelBlock> =>
    src.read({ ...region, x: x0 + (region?.x ?? 0), y: y0 + (region?.y ?? 0), width: region?.width ?? width - (region?.x ?? 0), height: region?.height ?? height - (region?.y ?? 0) });
  // A prototype view: everything else (kind, dtype, nodata, close) is the tile's.
  return Object.create(src, { width: { value: width }, height: { value: height }, read: { value: read }, readMask: { value: undefined }, readReduced: { value: undefined } }) as ImageSource;
}

async function* buildingObjects(dataDir: string, args: Args): AsyncGenerator<EvalObject> {
  const regions = readSplit('buildings_val.txt').slice(0, args.limit);
  for (const line of regions) {
    const [tile, r, c, s] = line.split(/\s+/);
    const [row0, col0, size] = [Number(r), Number(c), Number(s)];
    const src = await openImage(path.join(dataDir, 'images', `${tile}.tif`));
    const ins = await openImage(path.join(dataDir, 'instances', `${tile}.tif`));
    try {
      const ids = (await ins.read({ x: col0, y: row0, width: size, height: size, channels: [0] })).data;
      const image = new PromptImage(windowSource(src, col0, row0, size, size), 3);
      const boxes = new Map<number, { n: number; x0: number; y0: number; x1: number; y1: number }>();
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const id = ids[y * size + x]!;
          if (!id) continue;
          const b = boxes.get(id) ?? { n: 0, x0: x, y0: y, x1: x, y1: y };
          b.n++;
          b.x0 = Math.min(b.x0, x);
          b.y0 = Math.min(b.y0, y);
          b.x1 = Math.max(b.x1, x);
          b.y1 = Math.max(b.y1, y);
          boxes.set(id, b);
        }
      }
      for (const [id, b] of [...boxes].sort((p, q) => p[0] - q[0])) {
        if (b.n < 80 || b.x0 === 0 || b.y0 === 0 || b.x1 === size - 1 || b.y1 === size - 1) continue;
        yield { name: `${tile}#${id}`, image, z: 0, truth: Uint8Array.from(ids, (v) => (v === id ? 1 : 0)) };
      }
    } finally {
      await ins.close();
      await src.close();
    }
  }
}

async function* parcelObjects(set: { dir: string; split: string; image: (s: string) => string; label: (s: string) => string; classes: number[] }, args: Args): AsyncGenerator<EvalObject> {
  for (const stem of readSplit(set.split).slice(0, args.limit)) {
    const src = await openImage(path.join(set.dir, set.image(stem)));
    const lab = await openImage(path.join(set.dir, set.label(stem)));
    try {
      const W = src.width;
      const H = src.height;
      const classMap = Uint8Array.from((await lab.read({ channels: [0] })).data, (v) => (set.classes.includes(v) ? v : 0));
      const cc = connectedComponents({ labels: classMap, width: W, height: H, depth: 1, nodataLabel: 255, connectivity: 4, minPixels: 100 });
      const image = new PromptImage(src, 3);
      for (const s of cc.stats) yield { name: `${stem}#${s.id}(class ${s.classId})`, image, z: 0, truth: Uint8Array.from(cc.instances, (v) => (v === s.id ? 1 : 0)) };
    } finally {
      await lab.close();
      await src.close();
    }
  }
}

async function evalGeo(resolved: ResolvedModel, args: Args): Promise<Record<string, unknown> | null> {
  const model = await openPromptModel(resolved, { threads: args.threads });
  const out: Record<string, unknown> = {};
  try {
    const bdir = path.join(DATA, 'buildings-joplin');
    if (existsSync(bdir)) {
      const s = summary(await runSet(model, buildingObjects(bdir, args), args.maxObjects, false), [0.8, 0.85, 0.9]);
      printSummary('buildings', s);
      out.buildings = s;
    } else skipData(bdir);
    const sets = [
      { name: 'deepglobe', dir: path.join(DATA, 'landcover-deepglobe'), split: 'landcover_val.txt', image: (s: string) => path.join('images', `${s}.jpg`), label: (s: string) => path.join('masks', `${s}.png`), classes: [1, 2, 3, 4, 5, 6] },
      { name: 'sentinel2', dir: path.join(DATA, 'landcover-sentinel2-korea'), split: 'sentinel2_val.txt', image: (s: string) => path.join('images', `${s}.tif`), label: (s: string) => path.join('labels', `${s.replace('_patchN_', '_mask_')}.tif`), classes: [1, 2, 3, 4] },
    ];
    for (const set of sets) {
      if (!existsSync(set.dir)) {
        skipData(set.dir);
        continue;
      }
      const s = summary(await runSet(model, parcelObjects(set, args), args.maxObjects, false), [0.85, 0.9]);
      printSummary(set.name, s);
      out[`parcels-${set.name}`] = s;
    }
  } finally {
    await model.dispose();
  }
  return out;
}

function skipData(dir: string): null {
  console.log(`  skipped: data not found at ${dir} (set DELINEATE_DATA to the folder holding the data sets)`);
  return null;
}

export async function evalInteractive(argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  if (!existsSync(DATA)) {
    console.log(`skipped: the data sets are not at ${DATA} (set DELINEATE_DATA); nothing evaluated`);
    return;
  }
  const scan = await scanModels();
  const runs: Array<[string, (m: ResolvedModel, a: Args) => Promise<Record<string, unknown> | null>]> = [
    [MODELS.brain, evalBrain],
    [MODELS.geo, evalGeo],
  ];
  for (const [id, run] of runs) {
    if (args.model && args.model !== id) continue;
    console.log(`\n${id} (interactive: at most ${MAX_CLICKS} clicks, stop at IoU ${STOP_IOU})`);
    const model = scan.models.find((m) => m.manifest.id === id);
    if (!model) {
      console.log('  not trained yet (no manifest.json + model.onnx in the model folders): skipped');
      continue;
    }
    const t0 = performance.now();
    const result = await run(model, args);
    if (!result) continue;
    const doc = {
      model: { id, version: model.manifest.version, onnx: path.relative(ROOT, model.onnxPath), trainingSteps: model.manifest.training?.steps ?? null },
      protocol: 'first click at the deepest interior point; next clicks at the deepest point of the larger error region; all clicks + previous mask each step; at most 20 clicks; stop at IoU 0.90',
      limit: args.limit ?? null,
      maxObjects: args.maxObjects ?? null,
      threads: args.threads,
      seconds: (performance.now() - t0) / 1000,
      date: new Date().toISOString(),
      command: `npm run eval -- --interactive ${argv.join(' ')}`.trim(),
      ...result,
    };
    mkdirSync(path.join(ROOT, '.tmp'), { recursive: true });
    const file = path.join(ROOT, '.tmp', `eval-interactive-${id}.json`);
    writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
    console.log(`  summary: ${path.relative(ROOT, file)}`);
  }
}
