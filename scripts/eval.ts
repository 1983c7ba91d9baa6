// `npm run eval`: measures the shipped models through the app's own inference path (openImage -> segmentImage,
// exactly what `delineate segment` runs; not the Python training code) on the committed splits in
// models/training/splits/, reading the data in place from ../shared/data (or $DELINEATE_DATA). Every figure is
// given for the validation split (where every choice is made) and, beside it, the test split (<m>_test.txt, a
// seeded half of the former validation set, used for nothing but these figures): see eval-sets.ts.
// Beside the task figures: the expected calibration error (ECE, calibration-stats.ts) of the calibrated
// probabilities and the size ranges' coverage of the true size and mean relative width (measure/ranges.ts).
//   brain-flair-lgg      per-patient volumetric Dice (mean, median), and again with the input x16 as uint16
//   landcover-deepglobe  per-class IoU and mIoU over the six classes, accumulated over all tiles, unknown ignored
//   buildings-joplin     instance precision / recall / F1 at IoU 0.5 on the validation regions
//   landcover-sentinel2-korea  per-class IoU over building, road, field, forest and "other" (the model's no class)
// Flags: --model <id> (one model), --limit N (first N patients/tiles/regions: a quick check), --threads N (default 2),
// --no-tta / --no-postprocess (the plain model, without the manifest's test-time flips / component filters),
// --calibration (also writes the reliability diagrams .tmp/eval-<id>-reliability.png, validation left, test right),
// --fit-calibration (fits the temperature and the size-range thresholds on validation, calibration-fit.ts, and
// writes them into the manifest; --dry-run prints the block instead), --fit-ranges (refits only the size range on
// validation, on the manifest's calibration as it stands: after the model changes). Each model's figures also go to .tmp/eval-<id>[-no-tta][-no-postprocess].json.
// Missing models or data are reported and skipped (exit 0).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ImageSource, PixelBlock, Region } from '../main/engine/image';
import { openImage } from '../main/engine/io';
import { scanModels, type ResolvedModel } from '../main/engine/inference/manifest';
import { DATA, ROOT, SPLITS } from './eval-data';
import { buildingBlocks, DEEPGLOBE, foreground, IGNORE_LABEL, openBrain, semanticLabelMap, SENTINEL2, SPLIT_NAMES, splitIds, type Block, type SemanticSet, type SplitName } from './eval-sets';
import { accumulate, ece, newReliability, reliabilityTable, writeReliabilityPng, type Reliability } from './calibration-stats';
import { fitCalibration, fitRanges, minCaseShare, rangeFigures, readShift } from './calibration-fit';
import { isRangeCase } from './range-fit';
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
  calibration?: boolean;
  fitCalibration?: boolean;
  fitRanges?: boolean;
  dryRun?: boolean;
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
      console.log('usage: npm run eval [-- --model <id>] [--limit N] [--threads N] [--no-tta] [--no-postprocess] [--calibration] [--fit-calibration | --fit-ranges [--dry-run]]\n       npm run eval -- --interactive [--model interactive-brain-flair|interactive-geo-rgb] [--limit N] [--threads N]');
      process.exit(0);
    }
    if (a === '--model') args.model = value();
    else if (a === '--limit') args.limit = positiveInt(a, value());
    else if (a === '--threads') args.threads = positiveInt(a, value());
    else if (a === '--no-tta') args.noTta = true;
    else if (a === '--no-postprocess') args.noPostprocess = true;
    else if (a === '--calibration') args.calibration = true;
    else if (a === '--fit-calibration') args.fitCalibration = true;
    else if (a === '--fit-ranges') args.fitRanges = true;
    else if (a === '--dry-run') args.dryRun = true;
    else throw new Error(`unknown argument ${a} (use --model <id>, --limit N, --threads N, --no-tta, --no-postprocess, --calibration, --fit-calibration, --fit-ranges)`);
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
    { model, device: 'cpu', threads: args.threads, probabilities: true, ...(args.noTta ? { testTimeFlips: false } : {}), ...(args.noPostprocess ? { modelPostprocess: false } : {}) },
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

// ---------------------------------------------------------------- per split: calibration and size ranges

/** What every model adds per split beside its task figures: reliability bins and size-range objects. */
interface SplitExtras {
  reliability: Reliability;
  ranges: Array<{ truePx: number; sizePx: number; lowPx: number; highPx: number }>;
}

const newExtras = (): SplitExtras => ({ reliability: newReliability(), ranges: [] });

/** The calibrated class probabilities of a run (p x 255, classes x pixels) against a reference in model labels. */
function addReliability(x: SplitExtras, out: SegmentOutcome, truth: ArrayLike<number>, use?: (i: number) => boolean): void {
  const probs = out.rasters.probabilities;
  if (!probs) throw new Error('the run kept no probability maps');
  accumulate(x.reliability, probs.data, 255, probs.channels, truth, IGNORE_LABEL, use);
}

/** A record's pixelCountRange (measure/ranges.ts) as a range object, or nothing when the model has no ranges. */
function addRange(x: SplitExtras, rec: { pixelCount: number; [k: string]: unknown } | undefined, truePx: number): void {
  const r = rec?.pixelCountRange;
  if (!rec || !Array.isArray(r)) return;
  x.ranges.push({ truePx, sizePx: rec.pixelCount, lowPx: Number(r[0]), highPx: Number(r[1]) });
}

function extrasSummary(x: SplitExtras): Record<string, unknown> {
  return {
    ece: ece(x.reliability),
    reliability: reliabilityTable(x.reliability),
    ...(x.ranges.length ? { sizeRange: rangeFigures(x.ranges) } : {}),
  };
}

/** Key figures of both splits: [label, validation, test]. */
type Rows = Array<[string, number | null, number | null]>;

function extrasRows(v: SplitExtras, t: SplitExtras): Rows {
  const rv = v.ranges.length ? rangeFigures(v.ranges) : null;
  const rt = t.ranges.length ? rangeFigures(t.ranges) : null;
  return [
    ['ECE (15 bins, p in [0.01, 0.99])', ece(v.reliability), ece(t.reliability)],
    ...(rv || rt
      ? ([
          ['size range: coverage of the true size', rv?.coverage ?? null, rt?.coverage ?? null],
          ['size range: mean width / size', rv?.meanRelativeWidth ?? null, rt?.meanRelativeWidth ?? null],
          ['size range: median width / size', rv?.medianRelativeWidth ?? null, rt?.medianRelativeWidth ?? null],
          ['size range: mean width / true size', rv?.meanWidthOverTrueSize ?? null, rt?.meanWidthOverTrueSize ?? null],
          ['size range: total width / total size', rv?.totalWidthOverTotalSize ?? null, rt?.totalWidthOverTotalSize ?? null],
          ['yardstick: narrowest fixed band, 80 % inside', rv?.fixedBandWidth ?? null, rt?.fixedBandWidth ?? null],
          ['size range: objects', rv?.objects ?? null, rt?.objects ?? null],
        ] as Rows)
      : []),
  ];
}

interface SplitResult {
  perSplit: Record<SplitName, Record<string, unknown>>;
  rows: Rows;
  extras: Record<SplitName, SplitExtras>;
}

// ---------------------------------------------------------------- brain-flair-lgg

async function evalBrain(model: ResolvedModel, args: Args): Promise<SplitResult | null> {
  const dataDir = path.join(DATA, 'tumor-lgg-flair');
  if (!existsSync(dataDir)) return skipData(dataDir);
  const ids = splitIds('brain_val.txt', 'brain_test.txt');
  const perSplit = {} as Record<SplitName, Record<string, unknown>>;
  const extras = { validation: newExtras(), test: newExtras() };
  const rowsOf = {} as Record<SplitName, { dice: number[]; dice16: number[] }>;
  for (const split of SPLIT_NAMES) {
    const patients = ids[split].slice(0, args.limit);
    const totals = newTotals();
    const totalsScaled = newTotals();
    const rows: Array<{ patient: string; slices: number; tumorPx: number; predictedPx: number; dice: number; diceX16: number }> = [];
    console.log(`  ${split}:`);
    for (const patient of patients) {
      const { src, truth: readTruth } = await openBrain(patient);
      try {
        const truth = await readTruth();
        const out = await segment(src, model, args, totals);
        const predicted = foreground(out);
        const d = dice(predicted, truth);
        const d16 = dice(foreground(await segment(scaledSource(src, SCALE_FACTOR), model, args, totalsScaled)), truth);
        addReliability(extras[split], out, truth);
        addRange(extras[split], out.document.classes[0], sum(truth));
        rows.push({ patient, slices: src.depth, tumorPx: sum(truth), predictedPx: sum(predicted), dice: d, diceX16: d16 });
        const range = out.document.classes[0]?.volumeMlRange;
        console.log(`  ${patient}  ${String(src.depth).padStart(3)} slices  tumor ${String(sum(truth)).padStart(6)} px  predicted ${String(sum(predicted)).padStart(6)} px${Array.isArray(range) ? ` (${fmt(Number(range[0]), 2)}-${fmt(Number(range[1]), 2)} mL)` : ''}  Dice ${fmt(d)}  x16 ${fmt(d16)}`);
      } finally {
        await src.close();
      }
    }
    const dices = rows.map((r) => r.dice);
    const dices16 = rows.map((r) => r.diceX16);
    rowsOf[split] = { dice: dices, dice16: dices16 };
    const meanDiff = Math.abs(mean(dices) - mean(dices16));
    const maxPatientDiff = Math.max(0, ...rows.map((r) => Math.abs(r.dice - r.diceX16)));
    console.log(`  ${split} per-patient Dice: mean ${fmt(mean(dices))}, median ${fmt(median(dices))} over ${rows.length} patients (no tumor and no prediction scores 1)`);
    console.log(`  ${split} input x${SCALE_FACTOR} (uint16): mean ${fmt(mean(dices16))}; |difference of means| ${fmt(meanDiff, 5)} (acceptance < ${SCALE_TOLERANCE}: ${meanDiff < SCALE_TOLERANCE ? 'pass' : 'FAIL'}); largest per-patient difference ${fmt(maxPatientDiff, 5)}`);
    console.log(`  ${timingLine(totals)}; x${SCALE_FACTOR} run: ${timingLine(totalsScaled)}`);
    perSplit[split] = {
      metric: 'per-patient volumetric Dice over the slice stack (empty reference and empty prediction = 1)',
      patients: rows.length,
      meanDice: mean(dices),
      medianDice: median(dices),
      scaledInput: { factor: SCALE_FACTOR, dtype: 'uint16', meanDice: mean(dices16), medianDice: median(dices16), absMeanDifference: meanDiff, maxPatientDifference: maxPatientDiff, pass: meanDiff < SCALE_TOLERANCE },
      ...extrasSummary(extras[split]),
      timing: totals,
      timingScaled: totalsScaled,
      perPatient: rows,
    };
  }
  const rows: Rows = [
    ['patients', rowsOf.validation.dice.length, rowsOf.test.dice.length],
    ['mean per-patient Dice', mean(rowsOf.validation.dice), mean(rowsOf.test.dice)],
    ['median per-patient Dice', median(rowsOf.validation.dice), median(rowsOf.test.dice)],
    [`mean Dice, input x${SCALE_FACTOR} uint16`, mean(rowsOf.validation.dice16), mean(rowsOf.test.dice16)],
    ...extrasRows(extras.validation, extras.test),
  ];
  return { perSplit, rows, extras };
}

function sum(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i]!;
  return n;
}

// ---------------------------------------------------------------- land cover (semantic)

async function evalSemantic(spec: SemanticSet, model: ResolvedModel, args: Args): Promise<SplitResult | null> {
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
  const toLabel = semanticLabelMap(spec, model);
  // Scored ids: data index k -> k + shift, so that with zeroIsClass the data's class 0 becomes id 1 and nothing is ignored.
  const shift = spec.zeroIsClass ? 1 : 0;
  const dataIds = byIndex.map(([i]) => Number(i)).filter((k) => spec.zeroIsClass || k !== 0);
  const names = dataIds.map((k) => (k === 0 ? `${dataName(0)} (no class)` : dataName(k)));
  // Scored id of each model label (0 = no class, 1..N = classes); nodata and anything else score 0, which with
  // zeroIsClass lies outside the scored ids, i.e. counts as a miss.
  const scoredOf = [spec.zeroIsClass ? shift : 0, ...model.manifest.classes.map((_, k) => toData.get(k + 1)! + shift)];
  const ids = splitIds(spec.val, spec.test);
  const perSplit = {} as Record<SplitName, Record<string, unknown>>;
  const extras = { validation: newExtras(), test: newExtras() };
  const mious = {} as Record<SplitName, { meanIou: number; withoutZero?: number; tiles: number }>;
  const valid = (xs: Array<number | null>): number[] => xs.filter((v): v is number => v !== null);
  for (const split of SPLIT_NAMES) {
    const stems = ids[split].slice(0, args.limit);
    const acc = createIouAccumulator(Math.max(...dataIds) + shift);
    const totals = newTotals();
    for (const stem of stems) {
      const src = await openImage(path.join(dataDir, spec.imagePath(stem)));
      let out: SegmentOutcome;
      try {
        out = await segment(src, model, args, totals);
      } finally {
        await src.close();
      }
      const predicted = Uint8Array.from(out.rasters.labels, (v) => scoredOf[v] ?? 0);
      const mask = await openImage(path.join(dataDir, spec.labelPath(stem)));
      try {
        const truth = (await mask.read({ channels: [0] })).data;
        accumulateIou(acc, predicted, shift ? Uint8Array.from(truth, (v) => v + shift) : truth, 0);
        const truthLabels = Uint8Array.from(truth, (v) => toLabel(v));
        addReliability(extras[split], out, truthLabels);
        const truePx = new Array<number>(model.manifest.classes.length + 1).fill(0);
        for (let i = 0; i < truthLabels.length; i++) if (truthLabels[i] !== IGNORE_LABEL) truePx[truthLabels[i]!]!++;
        // A case: the class's true or reported area is at least minCaseShare of the tile (as the fit counts them).
        for (const c of out.document.classes) if (isRangeCase(truePx[c.id] ?? 0, c.pixelCount, truthLabels.length, minCaseShare(model.manifest.id))) addRange(extras[split], c, truePx[c.id] ?? 0);
      } finally {
        await mask.close();
      }
    }
    const scores = iouScores(acc);
    const perClass = dataIds.map((k) => scores.perClass[k + shift - 1] ?? null);
    console.log(`  ${split}:`);
    names.forEach((n, j) => console.log(`  ${n.padEnd(12)} IoU ${fmt(perClass[j] ?? null)}`));
    const meanIou = mean(valid(perClass));
    console.log(`  ${split} mIoU ${fmt(meanIou)} over ${valid(perClass).length} classes, ${stems.length} tiles (intersection and union summed over tiles${spec.zeroIsClass ? '' : '; unknown pixels ignored'})`);
    let withoutZero: number | undefined;
    if (spec.zeroIsClass) {
      withoutZero = mean(valid(perClass.filter((_, j) => dataIds[j] !== 0)));
      console.log(`  ${split} mIoU ${fmt(withoutZero)} over the model's ${dataIds.length - 1} classes (the same IoUs, "${dataName(0)}" left out of the mean)`);
    }
    console.log(`  ${timingLine(totals)}`);
    mious[split] = { meanIou, tiles: stems.length, ...(withoutZero !== undefined ? { withoutZero } : {}) };
    perSplit[split] = {
      metric: `per-class IoU with intersection and union summed over all images of the split; ${spec.zeroIsClass ? `reference 0 (${dataName(0)}) scored as a class against the model's "no class"` : 'reference 0 (unknown) ignored'}`,
      tiles: stems.length,
      perClassIou: Object.fromEntries(names.map((n, j) => [n, perClass[j] ?? null])),
      meanIou,
      ...(withoutZero !== undefined ? { meanIouModelClasses: withoutZero } : {}),
      ...extrasSummary(extras[split]),
      timing: totals,
    };
  }
  const rows: Rows = [
    ['tiles', mious.validation.tiles, mious.test.tiles],
    ['mIoU', mious.validation.meanIou, mious.test.meanIou],
    ...(spec.zeroIsClass ? ([["mIoU over the model's classes", mious.validation.withoutZero ?? null, mious.test.withoutZero ?? null]] as Rows) : []),
    ...extrasRows(extras.validation, extras.test),
  ];
  return { perSplit, rows, extras };
}

const evalLandcover = (model: ResolvedModel, args: Args): Promise<SplitResult | null> => evalSemantic(DEEPGLOBE, model, args);
const evalSentinel2 = (model: ResolvedModel, args: Args): Promise<SplitResult | null> => evalSemantic(SENTINEL2, model, args);

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

type Counts = { tp: number; fp: number; fn: number };
const newCounts = (): { all: Counts; min10: Counts; registered: Counts } => ({ all: { tp: 0, fp: 0, fn: 0 }, min10: { tp: 0, fp: 0, fn: 0 }, registered: { tp: 0, fp: 0, fn: 0 } });

async function evalBuildings(model: ResolvedModel, args: Args): Promise<SplitResult | null> {
  const dataDir = path.join(DATA, 'buildings-joplin');
  if (!existsSync(dataDir)) return skipData(dataDir);
  const blocks = buildingBlocks();
  // Second score: the footprints moved onto the roofs by the shift estimated on the training quadrants only.
  const [dy, dx] = readShift();
  const totals = newTotals();
  const counts = { validation: newCounts(), test: newCounts() };
  const extras = { validation: newExtras(), test: newExtras() };
  const rows: Record<SplitName, Array<Record<string, unknown>>> = { validation: [], test: [] };
  const splits = new Set<string>();
  const tiles = [...new Set([...blocks.validation, ...blocks.test].map((b) => b.tile))].slice(0, args.limit);
  console.log('  predicted on the whole 1024x1024 tile (context for objects at the block border), then cropped to each 256x256 block');
  for (const tile of tiles) {
    const src = await openImage(path.join(dataDir, 'images', `${tile}.tif`));
    let out: SegmentOutcome;
    try {
      out = await segment(src, model, args, totals);
      splits.add(String(out.document.inference?.instanceSplit ?? 'components'));
    } finally {
      await src.close();
    }
    const W = out.document.source.width;
    const gtSrc = await openImage(path.join(dataDir, 'instances', `${tile}.tif`));
    let full: ArrayLike<number>;
    let fullRegistered: Uint32Array;
    try {
      full = (await gtSrc.read({ channels: [0] })).data;
      fullRegistered = shiftMap(full, gtSrc.width, gtSrc.height, dy, dx);
    } finally {
      await gtSrc.close();
    }
    const inBlockOf = (b: Block) => (i: number): boolean => {
      const y = Math.floor(i / W);
      const x = i - y * W;
      return y >= b.row0 && y < b.row0 + b.size && x >= b.col0 && x < b.col0 + b.size;
    };
    // Size ranges: each building matched (IoU >= 0.5, whole tile) with a moved footprint, counted in the block of its centroid.
    const refArea = new Map<number, number>();
    for (let i = 0; i < fullRegistered.length; i++) if (fullRegistered[i]) refArea.set(fullRegistered[i]!, (refArea.get(fullRegistered[i]!) ?? 0) + 1);
    const matched = matchInstances(out.rasters.instances, fullRegistered, { iouThreshold: 0.5 }).pairs;
    const truthBinary = Uint8Array.from(fullRegistered, (v) => (v > 0 ? 1 : 0));
    for (const split of SPLIT_NAMES) {
      for (const b of blocks[split].filter((bl) => bl.tile === tile)) {
        const predicted = cropInstances(out.rasters.instances, W, b.row0, b.col0, b.size);
        const truth = cropInstances(full, W, b.row0, b.col0, b.size);
        const truthRegistered = cropInstances(fullRegistered, W, b.row0, b.col0, b.size);
        // Reference instances with no pixel in the block are absent from the crop, so they never count.
        const all = matchInstances(predicted, truth, { iouThreshold: 0.5 });
        const min10 = matchInstances(predicted, truth, { iouThreshold: 0.5, minPixels: TRAINING_MIN_AREA_PX });
        const registered = matchInstances(predicted, truthRegistered, { iouThreshold: 0.5 });
        for (const [key, m] of [['all', all], ['min10', min10], ['registered', registered]] as const) {
          counts[split][key].tp += m.truePositives;
          counts[split][key].fp += m.falsePositives;
          counts[split][key].fn += m.falseNegatives;
        }
        addReliability(extras[split], out, truthBinary, inBlockOf(b));
        for (const [p, r] of matched) {
          const rec = out.document.instances[p - 1];
          const c = rec?.centroidPx;
          if (!rec || !Array.isArray(c)) continue;
          const [cx, cy] = c as number[];
          if (cy! >= b.row0 && cy! < b.row0 + b.size && cx! >= b.col0 && cx! < b.col0 + b.size) addRange(extras[split], rec, refArea.get(r) ?? 0);
        }
        const sc = detectionScores(all.truePositives, all.falsePositives, all.falseNegatives);
        rows[split].push({ ...b, tp: all.truePositives, fp: all.falsePositives, fn: all.falseNegatives, ...sc });
        console.log(`  ${split.padEnd(10)} ${b.tile} rows ${b.row0}.. cols ${b.col0}.. ${b.size}x${b.size}: TP ${all.truePositives} FP ${all.falsePositives} FN ${all.falseNegatives}  P ${fmt(sc.precision, 3)} R ${fmt(sc.recall, 3)} F1 ${fmt(sc.f1, 3)}`);
      }
    }
  }
  console.log(`  instance split: ${[...splits].join(', ')}; one-to-one matching, greedy by IoU, IoU >= 0.5; counts summed over blocks`);
  console.log(`  ${timingLine(totals)}`);
  const perSplit = {} as Record<SplitName, Record<string, unknown>>;
  const score = (c: Counts): { precision: number; recall: number; f1: number } => detectionScores(c.tp, c.fp, c.fn);
  for (const split of SPLIT_NAMES) {
    const c = counts[split];
    perSplit[split] = {
      metric: 'instance precision/recall/F1 at IoU >= 0.5, one-to-one greedy matching, counts summed over the 256x256 blocks of the split; predicted on the whole tile, cropped to the block',
      blocks: rows[split].length,
      instanceSplit: [...splits],
      ...score(c.all),
      counts: c.all,
      ignoringBelowMinArea: { minPixels: TRAINING_MIN_AREA_PX, ...score(c.min10), counts: c.min10 },
      registeredFootprints: { shiftRowsCols: [dy, dx], shiftFile: 'models/training/splits/buildings_eval_shift.txt (training quadrants only)', ...score(c.registered), counts: c.registered },
      ...extrasSummary(extras[split]),
      perBlock: rows[split],
    };
  }
  const v = counts.validation;
  const t = counts.test;
  return {
    perSplit,
    rows: [
      ['blocks', rows.validation.length, rows.test.length],
      ['F1 (every object with a pixel in the block)', score(v.all).f1, score(t.all).f1],
      ['precision', score(v.all).precision, score(t.all).precision],
      ['recall', score(v.all).recall, score(t.all).recall],
      [`F1, objects < ${TRAINING_MIN_AREA_PX} px ignored`, score(v.min10).f1, score(t.min10).f1],
      [`F1, footprints moved ${dy} rows, ${dx} columns onto the roofs`, score(v.registered).f1, score(t.registered).f1],
      ...extrasRows(extras.validation, extras.test),
    ],
    extras,
  };
}

// ---------------------------------------------------------------- main

function skipData(dir: string): null {
  console.log(`  skipped: data not found at ${dir} (set DELINEATE_DATA to the folder holding the data sets)`);
  return null;
}

const EVALS: Record<string, (model: ResolvedModel, args: Args) => Promise<SplitResult | null>> = {
  'brain-flair-lgg': evalBrain,
  'landcover-deepglobe': evalLandcover,
  'buildings-joplin': evalBuildings,
  'landcover-sentinel2-korea': evalSentinel2,
};

function printRows(rows: Rows): void {
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`  ${''.padEnd(w)}  ${'validation'.padStart(10)}  ${'test'.padStart(10)}`);
  for (const [label, v, t] of rows) {
    const f = (x: number | null): string => (x === null ? '-' : Number.isInteger(x) ? String(x) : fmt(x));
    console.log(`  ${label.padEnd(w)}  ${f(v).padStart(10)}  ${f(t).padStart(10)}`);
  }
}

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
    if (args.fitCalibration) {
      await fitCalibration(model, args.threads, args.dryRun);
      continue;
    }
    if (args.fitRanges) {
      await fitRanges(model, args.threads, args.dryRun);
      continue;
    }
    const result = await run(model, args);
    if (!result) continue;
    console.log(`\n  ${id}: validation (every choice made here) and test (final figures only)`);
    printRows(result.rows);
    mkdirSync(OUT_DIR, { recursive: true });
    const suffix = `${args.noTta ? '-no-tta' : ''}${args.noPostprocess ? '-no-postprocess' : ''}`;
    let diagram: string | undefined;
    if (args.calibration) {
      diagram = path.join(OUT_DIR, `eval-${id}${suffix}-reliability.png`);
      await writeReliabilityPng(diagram, [{ reliability: result.extras.validation.reliability }, { reliability: result.extras.test.reliability }]);
      console.log(`  reliability diagram (validation left, test right; blue = share of positives per bin, red = mean probability, grey = bin size, log): ${path.relative(ROOT, diagram)}`);
    }
    const summary = {
      model: modelRecord(model),
      splits: path.relative(ROOT, SPLITS),
      calibration: model.manifest.calibration ?? null,
      limit: args.limit ?? null,
      threads: args.threads,
      seconds: (performance.now() - t0) / 1000,
      date: new Date().toISOString(),
      command: `npm run eval -- ${process.argv.slice(2).join(' ')}`.trim(),
      ...(diagram ? { reliabilityDiagram: path.relative(ROOT, diagram) } : {}),
      keyFigures: result.rows.map(([label, validation, test]) => ({ label, validation, test })),
      validation: result.perSplit.validation,
      test: result.perSplit.test,
    };
    const file = path.join(OUT_DIR, `eval-${id}${suffix}.json`);
    writeFileSync(file, `${JSON.stringify(summary, null, 2)}\n`);
    console.log(`  summary: ${path.relative(ROOT, file)}`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
