// `npm run eval`: measures the shipped models through the app's own inference path (openImage -> segmentImage,
// exactly what `delineate segment` runs; not the Python training code) on the committed validation splits in
// models/training/splits/, reading the data in place from ../shared/data (or $DELINEATE_DATA).
//   brain-flair-lgg      per-patient volumetric Dice (mean, median), and again with the input x16 as uint16
//   landcover-deepglobe  per-class IoU and mIoU over the six classes, accumulated over all tiles, unknown ignored
//   buildings-joplin     instance precision / recall / F1 at IoU 0.5 on the validation regions
//   landcover-sentinel2-korea  per-class IoU over building, road, field, forest and "other" (the model's no class)
// Flags: --model <id> (one model), --limit N (first N patients/tiles/regions: a quick check), --threads N (default 2),
// --no-tta / --no-postprocess (the plain model, without the manifest's test-time flips / component filters).
// Each model's figures also go to .tmp/eval-<id>[-no-tta][-no-postprocess].json. Missing models or data are reported and skipped (exit 0).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ImageSource, PixelBlock, Region } from '../main/engine/image';
import { openImage } from '../main/engine/io';
import { scanModels, type ResolvedModel } from '../main/engine/inference/manifest';
import { brainTruth, DATA, readSplit, ROOT, SPLITS } from './eval-data';
import { evalInteractive } from './eval-interactive';
import { segmentImage, type SegmentOutcome } from '../main/engine/pipeline';
import { accumulateIou, createIouAccumulator, detectionScores, dice, iouScores, matchInstances, mean, median } from '../main/engine/measure/agreement';

const OUT_DIR = path.join(ROOT, '.tmp');
/** The brain acceptance: scaling the input to a 12-bit range may move the mean Dice by less than this. */
const SCALE_TOLERANCE = 0.01;
const SCALE_FACTOR = 16;
/** Secondary buildings figure: objects below this size in the region ignored, as the training script validates. */
const TRAINING_MIN_AREA_PX = 10;

interface Args {
  model?: string;
  limit?: number;
  threads: number;
  /** Skip the manifest's test-time flips / component filters (to report the plain model beside them). */
  noTta?: boolean;
  noPostprocess?: boolean;
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
    if (a === '--help' || a === '-h') {
      console.log('usage: npm run eval [-- --model <id>] [--limit N] [--threads N] [--no-tta] [--no-postprocess]\n       npm run eval -- --interactive [--model interactive-brain-flair|interactive-geo-rgb] [--limit N] [--threads N]');
      process.exit(0);
    }
    if (a === '--model') args.model = value();
    else if (a === '--limit') args.limit = positiveInt(a, value());
    else if (a === '--threads') args.threads = positiveInt(a, value());
    else if (a === '--no-tta') args.noTta = true;
    else if (a === '--no-postprocess') args.noPostprocess = true;
    else throw new Error(`unknown argument ${a} (use --model <id>, --limit N, --threads N, --no-tta, --no-postprocess)`);
  }
  return args;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, got "${v}"`);
  return n;
}

const fmt = (v: number | null, digits = 4): string => (v === null || Number.isNaN(v) ? '-' : v.toFixed(digits));

/** What identifies the model behind the figures: version, training steps, and the ONNX file's hash. */
function modelRecord(model: ResolvedModel): Record<string, unknown> {
  const sha256 = createHash('sha256').update(readFileSync(model.onnxPath)).digest('hex');
  const steps = model.manifest.training?.steps;
  return { id: model.manifest.id, version: model.manifest.version, onnx: path.relative(ROOT, model.onnxPath), sha256: sha256.slice(0, 16), ...(steps !== undefined ? { trainingSteps: steps } : {}) };
}

interface RunTotals {
  inferenceSeconds: number;
  wallSeconds: number;
  tiles: number;
  images: number;
}

async function segment(src: ImageSource, model: ResolvedModel, args: Args, totals: RunTotals): Promise<SegmentOutcome> {
  const t0 = performance.now();
  const out = await segmentImage(
    src,
    { model, device: 'cpu', threads: args.threads, ...(args.noTta ? { testTimeFlips: false } : {}), ...(args.noPostprocess ? { modelPostprocess: false } : {}) },
    () => {},
  );
  totals.wallSeconds += (performance.now() - t0) / 1000;
  const inf = out.document.inference;
  totals.inferenceSeconds += typeof inf?.inferenceSeconds === 'number' ? inf.inferenceSeconds : 0;
  totals.tiles += inf?.tiles ?? 0;
  totals.images++;
  return out;
}

const newTotals = (): RunTotals => ({ inferenceSeconds: 0, wallSeconds: 0, tiles: 0, images: 0 });

function timingLine(t: RunTotals): string {
  return `inference ${t.inferenceSeconds.toFixed(1)} s (model calls) / ${t.wallSeconds.toFixed(1)} s (whole pipeline) for ${t.tiles} tiles in ${t.images} images`;
}

/** Predicted foreground: any class label (not 0, not nodata). */
function foreground(out: SegmentOutcome): Uint8Array {
  const { labels, nodataLabel } = out.rasters;
  const fg = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) fg[i] = labels[i] !== 0 && labels[i] !== nodataLabel ? 1 : 0;
  return fg;
}

/** The same image with every sample multiplied (as uint16): a 12-bit-range copy, built in memory. */
function scaledSource(src: ImageSource, factor: number): ImageSource {
  return {
    ...src,
    file: `${src.file} (x${factor}, uint16)`,
    dtype: 'uint16',
    meta: { ...src.meta, scaledBy: factor },
    read: async (region?: Region): Promise<PixelBlock> => {
      const block = await src.read(region);
      const data = new Uint16Array(block.data.length);
      for (let i = 0; i < data.length; i++) {
        const v = block.data[i]! * factor;
        if (v > 65535 || v < 0) throw new RangeError(`x${factor} does not fit uint16: ${block.data[i]}`);
        data[i] = v;
      }
      return { ...block, data, dtype: 'uint16' };
    },
  };
}

// ---------------------------------------------------------------- brain-flair-lgg

async function evalBrain(model: ResolvedModel, args: Args): Promise<Record<string, unknown> | null> {
  const dataDir = path.join(DATA, 'tumor-lgg-flair');
  if (!existsSync(dataDir)) return skipData(dataDir);
  const patients = readSplit('brain_val.txt').slice(0, args.limit);
  const totals = newTotals();
  const totalsScaled = newTotals();
  const rows: Array<{ patient: string; slices: number; tumorPx: number; predictedPx: number; dice: number; diceX16: number }> = [];
  for (const patient of patients) {
    const dir = path.join(dataDir, patient);
    const src = await openImage(dir);
    try {
      const truth = await brainTruth(dir, src);
      const predicted = foreground(await segment(src, model, args, totals));
      const d = dice(predicted, truth);
      const d16 = dice(foreground(await segment(scaledSource(src, SCALE_FACTOR), model, args, totalsScaled)), truth);
      rows.push({ patient, slices: src.depth, tumorPx: sum(truth), predictedPx: sum(predicted), dice: d, diceX16: d16 });
      console.log(`  ${patient}  ${String(src.depth).padStart(3)} slices  tumor ${String(sum(truth)).padStart(6)} px  predicted ${String(sum(predicted)).padStart(6)} px  Dice ${fmt(d)}  x16 ${fmt(d16)}`);
    } finally {
      await src.close();
    }
  }
  const dices = rows.map((r) => r.dice);
  const dices16 = rows.map((r) => r.diceX16);
  const meanDiff = Math.abs(mean(dices) - mean(dices16));
  const maxPatientDiff = Math.max(0, ...rows.map((r) => Math.abs(r.dice - r.diceX16)));
  console.log(`  per-patient Dice: mean ${fmt(mean(dices))}, median ${fmt(median(dices))} over ${rows.length} patients (no tumor and no prediction scores 1)`);
  console.log(`  input x${SCALE_FACTOR} (uint16): mean ${fmt(mean(dices16))}, median ${fmt(median(dices16))}; |difference of means| ${fmt(meanDiff, 5)} (acceptance < ${SCALE_TOLERANCE}: ${meanDiff < SCALE_TOLERANCE ? 'pass' : 'FAIL'}); largest per-patient difference ${fmt(maxPatientDiff, 5)}`);
  console.log(`  ${timingLine(totals)}; x${SCALE_FACTOR} run: ${timingLine(totalsScaled)}`);
  return {
    metric: 'per-patient volumetric Dice over the slice stack (empty reference and empty prediction = 1)',
    patients: rows.length,
    meanDice: mean(dices),
    medianDice: median(dices),
    scaledInput: { factor: SCALE_FACTOR, dtype: 'uint16', meanDice: mean(dices16), medianDice: median(dices16), absMeanDifference: meanDiff, maxPatientDifference: maxPatientDiff, pass: meanDiff < SCALE_TOLERANCE },
    timing: totals,
    timingScaled: totalsScaled,
    perPatient: rows,
  };
}

function sum(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i]!;
  return n;
}

// ---------------------------------------------------------------- land cover (semantic)

interface SemanticEval {
  /** Folder under the data root, with classes.json. */
  dataset: string;
  split: string;
  imagePath: (stem: string) => string;
  labelPath: (stem: string) => string;
  /**
   * true: the data's class 0 is a real class the model predicts as "no class" (a background channel), scored as
   * one more class. false: class 0 is "unknown" and its pixels are ignored.
   */
  zeroIsClass: boolean;
}

async function evalSemantic(spec: SemanticEval, model: ResolvedModel, args: Args): Promise<Record<string, unknown> | null> {
  const dataDir = path.join(DATA, spec.dataset);
  if (!existsSync(dataDir)) return skipData(dataDir);
  const dataClasses = JSON.parse(readFileSync(path.join(dataDir, 'classes.json'), 'utf8')) as Record<string, { name: string }>;
  const byIndex = Object.entries(dataClasses).sort((a, b) => Number(a[0]) - Number(b[0]));
  const dataName = (k: number): string => byIndex.find(([i]) => Number(i) === k)?.[1].name ?? String(k);
  // Model label (manifest class index + 1) -> data class index, by name, so a reordered manifest still scores right.
  const toData = new Map<number, number>();
  model.manifest.classes.forEach((c, k) => {
    const hit = byIndex.find(([i, v]) => i !== '0' && v.name.toLowerCase() === c.name.toLowerCase());
    if (!hit) throw new Error(`model class "${c.name}" is not a class of ${spec.dataset} (${byIndex.map(([, v]) => v.name).join(', ')})`);
    toData.set(k + 1, Number(hit[0]));
  });
  // Scored ids: data index k -> k + shift, so that with zeroIsClass the data's class 0 becomes id 1 and nothing is ignored.
  const shift = spec.zeroIsClass ? 1 : 0;
  const dataIds = byIndex.map(([i]) => Number(i)).filter((k) => spec.zeroIsClass || k !== 0);
  const names = dataIds.map((k) => (k === 0 ? `${dataName(0)} (no class)` : dataName(k)));
  // Scored id of each model label (0 = no class, 1..N = classes); nodata and anything else score 0, which with
  // zeroIsClass lies outside the scored ids, i.e. counts as a miss.
  const scoredOf = [spec.zeroIsClass ? shift : 0, ...model.manifest.classes.map((_, k) => toData.get(k + 1)! + shift)];
  const stems = readSplit(spec.split).slice(0, args.limit);
  const acc = createIouAccumulator(Math.max(...dataIds) + shift);
  const totals = newTotals();
  for (const stem of stems) {
    const src = await openImage(path.join(dataDir, spec.imagePath(stem)));
    let predicted: Uint8Array;
    try {
      const out = await segment(src, model, args, totals);
      predicted = Uint8Array.from(out.rasters.labels, (v) => scoredOf[v] ?? 0);
    } finally {
      await src.close();
    }
    const mask = await openImage(path.join(dataDir, spec.labelPath(stem)));
    try {
      const truth = (await mask.read({ channels: [0] })).data;
      accumulateIou(acc, predicted, shift ? Uint8Array.from(truth, (v) => v + shift) : truth, 0);
    } finally {
      await mask.close();
    }
  }
  const scores = iouScores(acc);
  const perClass = dataIds.map((k) => scores.perClass[k + shift - 1] ?? null);
  const valid = (xs: Array<number | null>): number[] => xs.filter((v): v is number => v !== null);
  names.forEach((n, j) => console.log(`  ${n.padEnd(12)} IoU ${fmt(perClass[j] ?? null)}`));
  const meanIou = mean(valid(perClass));
  console.log(`  mIoU ${fmt(meanIou)} over ${valid(perClass).length} classes, ${stems.length} tiles (intersection and union summed over tiles${spec.zeroIsClass ? '' : '; unknown pixels ignored'})`);
  let withoutZero: number | undefined;
  if (spec.zeroIsClass) {
    withoutZero = mean(valid(perClass.filter((_, j) => dataIds[j] !== 0)));
    console.log(`  mIoU ${fmt(withoutZero)} over the model's ${dataIds.length - 1} classes (the same IoUs, "${dataName(0)}" left out of the mean)`);
  }
  console.log(`  ${timingLine(totals)}`);
  return {
    metric: `per-class IoU with intersection and union summed over all validation images; ${spec.zeroIsClass ? `reference 0 (${dataName(0)}) scored as a class against the model's "no class"` : 'reference 0 (unknown) ignored'}`,
    tiles: stems.length,
    perClassIou: Object.fromEntries(names.map((n, j) => [n, perClass[j] ?? null])),
    meanIou,
    ...(withoutZero !== undefined ? { meanIouModelClasses: withoutZero } : {}),
    timing: totals,
  };
}

const evalLandcover = (model: ResolvedModel, args: Args): Promise<Record<string, unknown> | null> =>
  evalSemantic({ dataset: 'landcover-deepglobe', split: 'landcover_val.txt', imagePath: (s) => path.join('images', `${s}.jpg`), labelPath: (s) => path.join('masks', `${s}.png`), zeroIsClass: false }, model, args);

// Sentinel-2 patches: images/<YYYYMM>_patchN_<k>.tif pair with labels/<YYYYMM>_mask_<k>.tif.
const evalSentinel2 = (model: ResolvedModel, args: Args): Promise<Record<string, unknown> | null> =>
  evalSemantic({ dataset: 'landcover-sentinel2-korea', split: 'sentinel2_val.txt', imagePath: (s) => path.join('images', `${s}.tif`), labelPath: (s) => path.join('labels', `${s.replace('_patchN_', '_mask_')}.tif`), zeroIsClass: true }, model, args);

// ---------------------------------------------------------------- buildings-joplin

function cropInstances(map: ArrayLike<number>, width: number, row0: number, col0: number, size: number): Uint32Array {
  const out = new Uint32Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) out[y * size + x] = map[(row0 + y) * width + col0 + x]!;
  return out;
}

/** The map moved by dy rows and dx columns (positive = down / right); uncovered pixels are 0. */
function shiftMap(map: ArrayLike<number>, width: number, height: number, dy: number, dx: number): Uint32Array {
  const out = new Uint32Array(width * height);
  for (let y = Math.max(dy, 0); y < height + Math.min(dy, 0); y++) {
    for (let x = Math.max(dx, 0); x < width + Math.min(dx, 0); x++) out[y * width + x] = map[(y - dy) * width + (x - dx)]!;
  }
  return out;
}

async function evalBuildings(model: ResolvedModel, args: Args): Promise<Record<string, unknown> | null> {
  const dataDir = path.join(DATA, 'buildings-joplin');
  if (!existsSync(dataDir)) return skipData(dataDir);
  // Split lines: "<tile> <row0> <col0> <size>", the region's top-left corner in pixels.
  const regions = readSplit('buildings_val.txt')
    .slice(0, args.limit)
    .map((l) => {
      const [tile, r, c, s] = l.split(/\s+/);
      return { tile: tile!, row0: Number(r), col0: Number(c), size: Number(s) };
    });
  // Second score: the footprints moved onto the roofs (the shift the training script's --registered stage uses).
  const [dy, dx] = readSplit('buildings_label_shift.txt')[0]!.split(/\s+/).map(Number) as [number, number];
  const totals = newTotals();
  const counts = { all: { tp: 0, fp: 0, fn: 0 }, min10: { tp: 0, fp: 0, fn: 0 }, registered: { tp: 0, fp: 0, fn: 0 } };
  const rows: Array<Record<string, unknown>> = [];
  const splits = new Set<string>();
  console.log('  predicted on the whole 1024x1024 tile (context for objects at the region border), then cropped to the region');
  for (const reg of regions) {
    const src = await openImage(path.join(dataDir, 'images', `${reg.tile}.tif`));
    let predicted: Uint32Array;
    try {
      if (reg.row0 + reg.size > src.height || reg.col0 + reg.size > src.width) throw new Error(`region ${JSON.stringify(reg)} is outside the ${src.width}x${src.height} tile`);
      const out = await segment(src, model, args, totals);
      splits.add(String(out.document.inference?.instanceSplit ?? 'components'));
      predicted = cropInstances(out.rasters.instances, src.width, reg.row0, reg.col0, reg.size);
    } finally {
      await src.close();
    }
    const gtSrc = await openImage(path.join(dataDir, 'instances', `${reg.tile}.tif`));
    let truth: Uint32Array;
    let truthRegistered: Uint32Array;
    try {
      const full = (await gtSrc.read({ channels: [0] })).data;
      truth = cropInstances(full, gtSrc.width, reg.row0, reg.col0, reg.size);
      truthRegistered = cropInstances(shiftMap(full, gtSrc.width, gtSrc.height, dy, dx), gtSrc.width, reg.row0, reg.col0, reg.size);
    } finally {
      await gtSrc.close();
    }
    // Reference instances with no pixel in the region are absent from the crop, so they never count.
    const all = matchInstances(predicted, truth, { iouThreshold: 0.5 });
    const min10 = matchInstances(predicted, truth, { iouThreshold: 0.5, minPixels: TRAINING_MIN_AREA_PX });
    const registered = matchInstances(predicted, truthRegistered, { iouThreshold: 0.5 });
    for (const [key, m] of [['all', all], ['min10', min10], ['registered', registered]] as const) {
      counts[key].tp += m.truePositives;
      counts[key].fp += m.falsePositives;
      counts[key].fn += m.falseNegatives;
    }
    const s = detectionScores(all.truePositives, all.falsePositives, all.falseNegatives);
    rows.push({ ...reg, tp: all.truePositives, fp: all.falsePositives, fn: all.falseNegatives, ...s });
    console.log(`  ${reg.tile} rows ${reg.row0}.. cols ${reg.col0}.. ${reg.size}x${reg.size}: TP ${all.truePositives} FP ${all.falsePositives} FN ${all.falseNegatives}  P ${fmt(s.precision, 3)} R ${fmt(s.recall, 3)} F1 ${fmt(s.f1, 3)}`);
  }
  const overall = detectionScores(counts.all.tp, counts.all.fp, counts.all.fn);
  const overall10 = detectionScores(counts.min10.tp, counts.min10.fp, counts.min10.fn);
  const overallReg = detectionScores(counts.registered.tp, counts.registered.fp, counts.registered.fn);
  console.log(`  instance split: ${[...splits].join(', ')}; one-to-one matching, greedy by IoU, IoU >= 0.5; counts summed over regions`);
  console.log(`  precision ${fmt(overall.precision)}  recall ${fmt(overall.recall)}  F1 ${fmt(overall.f1)}  (every object with a pixel in the region)`);
  console.log(`  precision ${fmt(overall10.precision)}  recall ${fmt(overall10.recall)}  F1 ${fmt(overall10.f1)}  (objects < ${TRAINING_MIN_AREA_PX} px in the region ignored, as the training script validates)`);
  console.log(`  precision ${fmt(overallReg.precision)}  recall ${fmt(overallReg.recall)}  F1 ${fmt(overallReg.f1)}  (footprints moved ${dy} rows, ${dx} columns onto the roofs: models/training/splits/buildings_label_shift.txt)`);
  console.log(`  ${timingLine(totals)}`);
  return {
    metric: 'instance precision/recall/F1 at IoU >= 0.5, one-to-one greedy matching, counts summed over the validation regions; predicted on the whole tile, cropped to the region',
    regions: regions.length,
    instanceSplit: [...splits],
    ...overall,
    counts: counts.all,
    ignoringBelowMinArea: { minPixels: TRAINING_MIN_AREA_PX, ...overall10, counts: counts.min10 },
    registeredFootprints: { shiftRowsCols: [dy, dx], ...overallReg, counts: counts.registered },
    timing: totals,
    perRegion: rows,
  };
}

// ---------------------------------------------------------------- main

function skipData(dir: string): null {
  console.log(`  skipped: data not found at ${dir} (set DELINEATE_DATA to the folder holding the data sets)`);
  return null;
}

const EVALS: Record<string, (model: ResolvedModel, args: Args) => Promise<Record<string, unknown> | null>> = {
  'brain-flair-lgg': evalBrain,
  'landcover-deepglobe': evalLandcover,
  'buildings-joplin': evalBuildings,
  'landcover-sentinel2-korea': evalSentinel2,
};

async function main(): Promise<void> {
  // The interactive (click) models have their own protocol and flags: scripts/eval-interactive.ts.
  if (process.argv.includes('--interactive')) return evalInteractive(process.argv.slice(2).filter((a) => a !== '--interactive'));
  const args = parseArgs(process.argv.slice(2));
  if (args.model && !(args.model in EVALS)) throw new Error(`no evaluation for "${args.model}" (known: ${Object.keys(EVALS).join(', ')})`);
  if (!existsSync(DATA)) {
    console.log(`skipped: the data sets are not at ${DATA} (set DELINEATE_DATA); nothing evaluated`);
    return;
  }
  const scan = await scanModels();
  for (const p of scan.problems) console.log(`model problem: ${p.file}: ${p.message}`);
  for (const [id, run] of Object.entries(EVALS)) {
    if (args.model && id !== args.model) continue;
    console.log(`\n${id}`);
    const model = scan.models.find((m) => m.manifest.id === id);
    if (!model) {
      console.log('  not trained yet (no manifest.json + model.onnx in the model folders): skipped');
      continue;
    }
    const t0 = performance.now();
    const result = await run(model, args);
    if (!result) continue;
    const summary = {
      model: modelRecord(model),
      split: path.relative(ROOT, SPLITS),
      limit: args.limit ?? null,
      threads: args.threads,
      seconds: (performance.now() - t0) / 1000,
      date: new Date().toISOString(),
      command: `npm run eval -- ${process.argv.slice(2).join(' ')}`.trim(),
      ...result,
    };
    mkdirSync(OUT_DIR, { recursive: true });
    const file = path.join(OUT_DIR, `eval-${id}${args.noTta ? '-no-tta' : ''}${args.noPostprocess ? '-no-postprocess' : ''}.json`);
    writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
    console.log(`  summary: ${path.relative(ROOT, file)}`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
