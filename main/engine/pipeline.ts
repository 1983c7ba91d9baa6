// Segmentation pipeline: open -> validate model against image -> normalise -> tiled inference (slice by slice
// for 2D models on volumes, at the model's resolution) -> labels -> connected components -> measurements ->
// InstancesDocument, plus the result folder for the CLI. Also `measureFiles`, the same post-processing on an
// existing label map. In memory, everything is computed before anything is written, so a cancelled or failed run
// leaves no files; 2D rasters too large for that go window by window through windowed.ts, which streams to disk,
// and `measure` on such rasters reads the label map strip by strip (measure-streamed.ts).
import * as path from 'node:path';
import type { ClassRecord, Geometry, InstancesDocument, ManifestClass, ModelPostprocess, ModelSummary } from '../../preload/formats';
import type { SegmentRequest, SliceBitmap } from '../../preload/api';
import type { OpenOptions, ProgressFn } from './service';
import { InputError, type ImageSource, type PixelArray, type PixelBlock } from './image';
import { openImage } from './io';
import { resolveModel, scanModels, summarize } from './inference/manifest';
import type { ModelSession } from './inference/runtime';
import { normalizeSlice, planNormalization } from './inference/normalize';
import { throwIfAborted } from './inference/tiling';
import { countPlaneTiles, runPlane } from './inference/plane';
import { contextChannels, contextStacker } from './inference/context';
import { classChannels, labelArrayFor, probabilitiesToLabels, type LabelArray } from './postprocess/labels';
import { connectedComponents, instancesFromValues, type ComponentStats, type Connectivity } from './postprocess/components';
import { boundaryFromDistance, splitInstancesByBoundary, statsFromInstanceMap, type InstanceSplitMethod } from './postprocess/instances';
import { filterComponents } from './postprocess/filter';
import { regularizeRectangles } from './postprocess/regularize';
import { countLabels, measureInstances, pixelUnit } from './measure/index';
import { geoMeasurer } from './measure/geo';
import { writeZones } from './measure/zones';
import { addSizeRanges, rangesFromPixels, sizeRangesPx, type SizeRangeParams } from './measure/ranges';
import { applyCalibration, calibratedOutputs, calibrationOf } from './inference/calibration';
import { overlayBitmap } from './export/overlay';
import { resultRasters, writeResultFolder, type ResultRasters } from './export/results';
import { segAsLabels, segReferencedSeries } from './export/dicom-seg';
import { modelMinObjectPx, openOptionsOf, openSession, prepareSegment, inferenceRecord, sourceRecord, tileProgress, timedRun, validityOf, type SegmentOptions } from './segment-setup';
import { segmentWindowed, useWindowed } from './windowed';
import { planResample } from './inference/resample';
import { streamingThresholdPx } from './postprocess/streaming';
import { measureFilesStreamed, measureVolumeFilesStreamed, openStreamedVolume } from './measure-streamed';

export type { SegmentOptions } from './segment-setup';

export async function listModels(): Promise<ModelSummary[]> {
  const scan = await scanModels();
  // The segmentation picker's list: interactive (task "prompt") models run from clicks, never from Run.
  return scan.models.filter((m) => m.manifest.task !== 'prompt').map(summarize);
}

export interface SegmentOutcome {
  document: InstancesDocument;
  overlay: SliceBitmap;
  rasters: ResultRasters;
  /** Providers skipped before the one used, with reasons. */
  skippedDevices: string[];
}

/**
 * What inference leaves for the rest of a 2D in-memory run, on the whole plane: a merge of shards (shards.ts)
 * supplies these from the shards' windows instead of running the model, and everything after is the same code.
 */
export interface SuppliedPlane {
  labels: LabelArray;
  probability: Float32Array;
  boundary: Float32Array | null;
  probBytes: Uint8Array | null;
  /** The most probable other class and its probability, where the run gives sizes a range. */
  alternative?: { labels: LabelArray; probability: Float32Array } | null;
  tilesSkipped: number;
}

/** Runs a model on an opened image, in memory. Nothing is written; the caller decides what to keep. */
export async function segmentImage(src: ImageSource, options: SegmentOptions, onProgress: ProgressFn, signal?: AbortSignal, supplied?: SuppliedPlane): Promise<SegmentOutcome> {
  const started = performance.now();
  const prep = await prepareSegment(src, options);
  const { manifest: m, model, tileSize, overlap, batch, channels, split } = prep;
  const factor = prep.resample?.factor ?? null;
  const { width: W, height: H, depth: D } = src;

  throwIfAborted(signal);
  onProgress({ stage: 'reading', done: 0, total: 1 });
  const block: PixelBlock = await src.read({ channels: Array.from({ length: channels }, (_, c) => c) });
  // A file's validity mask (GeoTIFF internal or .msk) counts like nodata; volumes have none.
  const fileMask = D === 1 && src.readMask ? await src.readMask() : null;
  throwIfAborted(signal);
  const input = { data: block.data, width: W, height: H, depth: D, channels, ...(src.nodata !== undefined ? { nodata: src.nodata } : {}) };
  if (supplied && D !== 1) throw new InputError(src.file, 'supplied inference results are 2D only');
  const normalizer = supplied ? null : planNormalization(m.normalization, input);

  const session: ModelSession = await openSession(prep, options);
  const clock = { ms: 0 };
  const run = timedRun(session, clock);

  const plane = W * H;
  const { labels, nodataLabel } = labelArrayFor(m.classes.length, plane * D);
  const probability = new Float32Array(plane * D);
  const calibration = calibrationOf(m, options.calibration !== false);
  const outputs = calibratedOutputs(m.outputs, calibration);
  // The clean-up's mean-probability bound was chosen on the model's own probabilities; a calibration (monotone, so
  // the labels stay) would move every mean, so the rule reads the probabilities as they were before it.
  const calibrated = calibration.temperature !== 1 || calibration.bias !== 0 || calibration.curve !== undefined;
  const uncalibrated = calibrated && prep.postprocess?.minComponentMeanProbability !== undefined ? new Float32Array(plane * D) : null;
  // The size ranges need the calibrated probabilities and the thresholds fitted on them.
  const sizeRange = options.calibration !== false ? m.calibration?.sizeRange : undefined;
  const alternative = sizeRange ? { labels: labelArrayFor(m.classes.length, plane * D).labels, probability: new Float32Array(plane * D) } : null;
  // The boundary (or distance) head of each slice, kept for the instance split after all slices ran.
  const boundary = split ? new Float32Array(plane * D) : null;
  const probLength = m.classes.length * plane * D;
  const probBytes = options.probabilities && probLength <= (options.probabilitiesMaxBytes ?? Infinity) ? new Uint8Array(probLength) : null;
  const tilesPerSlice = countPlaneTiles(W, H, tileSize, overlap, factor);
  const totalTiles = tilesPerSlice * D;
  let tilesDone = 0;
  const reportTiles = tileProgress(onProgress, started, totalTiles);
  let tilesSkipped = 0;
  try {
    if (supplied) {
      labels.set(supplied.labels);
      probability.set(supplied.probability);
      if (boundary && supplied.boundary) boundary.set(supplied.boundary);
      if (probBytes && supplied.probBytes) probBytes.set(supplied.probBytes);
      tilesSkipped = supplied.tilesSkipped;
      if (alternative && supplied.alternative) {
        alternative.labels.set(supplied.alternative.labels);
        alternative.probability.set(supplied.alternative.probability);
      }
    }
    const modelInput = contextStacker((z) => normalizeSlice(input, z, normalizer!), D, prep.contextSlices);
    const modelChannels = contextChannels(channels, prep.contextSlices);
    for (let z = 0; z < (supplied ? 0 : D); z++) {
      const normalized = modelInput(z);
      const valid = validityOf(block.data, plane, channels, src.nodata, fileMask, z * plane, D * plane);
      const result = await runPlane({ data: normalized, width: W, height: H, channels: modelChannels }, run, {
        tileSize,
        overlap,
        batch,
        factor,
        valid,
        ...(signal ? { signal } : {}),
        ...prep.tileTransforms,
        onTiles: (done) => reportTiles(tilesDone + done),
      });
      tilesDone += tilesPerSlice;
      tilesSkipped += result.skipped;
      if (result.channels === 0) {
        // Every tile of the slice was nodata.
        labels.fill(nodataLabel, z * plane, (z + 1) * plane);
        continue;
      }
      // Probability outputs: keep the class channels and read each labelled pixel's own class after labelling
      // (cheap); logits need the activation, so those go through the labelling once more.
      const ownChannels = uncalibrated && m.outputs.type !== 'logits' ? classChannels(m.outputs, m.classes.length, result.channels).map((ch) => result.data.slice(ch * plane, (ch + 1) * plane)) : null;
      if (uncalibrated && !ownChannels) uncalibrated.set(probabilitiesToLabels(result.data, result.channels, plane, m.outputs, m.classes.length, valid).probability, z * plane);
      applyCalibration(result.data, result.channels, plane, m.outputs, m.classes.length, calibration);
      const sliceLabels = probabilitiesToLabels(result.data, result.channels, plane, outputs, m.classes.length, valid);
      if (uncalibrated && ownChannels) {
        // Labels 1..K only (0 is background, the nodata label is past K): a negative or past-the-end index would
        // send every background pixel through a slow dictionary lookup.
        const K = ownChannels.length;
        for (let i = 0; i < plane; i++) {
          const l = sliceLabels.labels[i]!;
          if (l >= 1 && l <= K) uncalibrated[z * plane + i] = ownChannels[l - 1]![i]!;
        }
      }
      labels.set(sliceLabels.labels, z * plane);
      probability.set(sliceLabels.probability, z * plane);
      if (alternative) {
        alternative.labels.set(sliceLabels.altLabels, z * plane);
        alternative.probability.set(sliceLabels.altProbability, z * plane);
      }
      if (boundary && split) {
        if (split.channel >= result.channels) throw new InputError(model.onnxPath, `${split.kind} channel ${split.channel} does not exist: the model outputs ${result.channels} channels`);
        const head = result.data.subarray(split.channel * plane, (split.channel + 1) * plane);
        boundary.set(split.kind === 'distance' ? boundaryFromDistance(head) : head, z * plane);
      }
      if (probBytes) {
        const chans = classChannels(m.outputs, m.classes.length, result.channels);
        chans.forEach((ch, k) => {
          const dst = (k * D + z) * plane;
          for (let i = 0; i < plane; i++) probBytes[dst + i] = Math.round(Math.min(1, Math.max(0, result.data[ch * plane + i]!)) * 255);
        });
      }
    }
  } finally {
    await session.dispose();
  }
  throwIfAborted(signal);

  const postStep = postprocessProgress(onProgress, plane * D);
  const geometry = src.geometry;
  const post = postprocess({
    onStep: postStep,
    labels,
    nodataLabel,
    width: W,
    height: H,
    depth: D,
    classes: m.classes,
    geometry,
    probability,
    intensity: block.data.subarray(0, plane * D),
    connectivity: options.connectivity ?? (D > 1 ? 26 : 8),
    ...minSizeOption(options.minSizePx, modelMinObjectPx(prep, src)),
    ...(boundary ? { boundary } : {}),
    ...(prep.postprocess ? { filter: prep.postprocess } : {}),
    ...(uncalibrated ? { filterProbability: uncalibrated } : {}),
    ...(prep.postprocess?.regularize ? { regularize: prep.postprocess.regularize } : {}),
    ...(alternative && sizeRange ? { alternative, sizeRange } : {}),
  });
  // Post-processing runs in one piece: a cancel that arrived meanwhile still discards the run.
  throwIfAborted(signal);
  const seconds = (performance.now() - started) / 1000;
  const document: InstancesDocument = {
    source: sourceRecord(src, geometry),
    model: { id: m.id, name: m.name, version: m.version },
    inference: {
      ...inferenceRecord({ prep, session, tiles: totalTiles, seconds, inferenceMs: clock.ms, tilesSkipped, ...(options.threads ? { threads: options.threads } : {}), postprocessed: 'all', calibration }),
      instanceSplit: post.instanceSplit,
    },
    ...(prep.warnings.length ? { warnings: prep.warnings } : {}),
    classes: post.classes,
    instances: post.instances,
  };
  const z = Math.floor(D / 2);
  const maps = { width: W, height: H, depth: D, geometry, classes: m.classes, labels, nodataLabel, instances: post.instanceMap };
  const rasters: ResultRasters = {
    ...resultRasters(src.kind, maps, post.instances.length, { data: block.data, channels }, z),
    ...(probBytes ? { probabilities: { data: probBytes, channels: m.classes.length } } : {}),
  };
  onProgress({ stage: 'done', done: 1, total: 1 });
  return { document, overlay: overlayBitmap(labels, W, H, z, m.classes), rasters, skippedDevices: session.skipped };
}

export interface PostprocessInput {
  labels: LabelArray;
  nodataLabel: number;
  width: number;
  height: number;
  depth: number;
  classes: ManifestClass[];
  geometry: Geometry;
  probability?: Float32Array;
  intensity?: PixelArray;
  connectivity: Connectivity;
  minSizePx?: number;
  /** Boundary probability (0..1, same layout as labels): touching objects are split by watershed instead of joined. */
  boundary?: Float32Array;
  /** Instances given by the user (`--labels-are instances`), used instead of components. */
  given?: { instances: Uint32Array; stats: ComponentStats[] };
  /** The model's component filters (manifest `postprocess`), applied to the labels first. */
  filter?: ModelPostprocess;
  /** Probabilities the filters read instead of `probability` (the model's own, when that one is calibrated). */
  filterProbability?: Float32Array;
  /** Footprint regularisation of the instances (manifest `postprocess.regularize`); 2D only, after minSizePx. */
  regularize?: ModelPostprocess['regularize'];
  /** Told after each step how much of the work (by step weight) is done: `done` of `total`. */
  onStep?: (done: number, total: number) => void;
  /** Most probable other class per pixel and its probability (probabilitiesToLabels), for the size ranges. */
  alternative?: { labels: LabelArray; probability: Float32Array };
  /** The manifest's calibration.sizeRange: with probability and alternative, every size gets a [low, high]. */
  sizeRange?: SizeRangeParams;
}

/** Rough cost of post-processing one voxel (components, measurements), for the estimate before the first step ends. */
export const POSTPROCESS_NS_PER_VOXEL = 120;

/**
 * Progress of the post-processing stage in percent, with an estimate of the time left: before the first step ends
 * from the voxel count, then from the time the steps done so far took. Returns the postprocess() step callback.
 */
export function postprocessProgress(onProgress: ProgressFn, voxels: number, now: () => number = () => performance.now()): (done: number, total: number) => void {
  const started = now();
  onProgress({ stage: 'postprocess', done: 0, total: 100, etaSeconds: (voxels * POSTPROCESS_NS_PER_VOXEL) / 1e9 });
  return (done, total) => {
    const f = total > 0 ? Math.min(1, done / total) : 1;
    const elapsedS = (now() - started) / 1000;
    onProgress({ stage: 'postprocess', done: Math.round(f * 100), total: 100, ...(f > 0 ? { etaSeconds: (elapsedS / f) * (1 - f) } : {}) });
  };
}

/** How much each post-processing step weighs in its progress (components and measurements cost the most). */
const STEP_WEIGHT = { filter: 1, instances: 2, regularize: 2, measure: 2 } as const;

/** The larger of the user's and the model's minimum object size, as a postprocess option. */
function minSizeOption(userPx: number | undefined, modelPx: number | null): { minSizePx?: number } {
  const px = Math.max(userPx ?? 0, modelPx ?? 0);
  return px > 1 ? { minSizePx: px } : {};
}

/** Components + measurements on a label map (shared by segment and measure). */
export function postprocess(p: PostprocessInput): { instances: InstancesDocument['instances']; classes: ClassRecord[]; instanceMap: Uint32Array; instanceSplit: InstanceSplitMethod } {
  let cc: { instances: Uint32Array; stats: ComponentStats[] };
  let instanceSplit: InstanceSplitMethod = 'components';
  const filtering = Boolean(p.filter && !p.given);
  const regularizing = Boolean(p.regularize && !p.given && p.depth === 1);
  const totalWeight = (filtering ? STEP_WEIGHT.filter : 0) + STEP_WEIGHT.instances + (regularizing ? STEP_WEIGHT.regularize : 0) + STEP_WEIGHT.measure;
  let doneWeight = 0;
  // The model's labels before the clean-up, so the size ranges can count pixels it removed.
  const assignedLabels = p.sizeRange && p.alternative && p.probability && !p.given ? p.labels.slice() : null;
  const stepDone = (w: number): void => {
    doneWeight += w;
    p.onStep?.(doneWeight, totalWeight);
  };
  if (p.filter && !p.given) {
    const filterP = p.filterProbability ?? p.probability;
    filterComponents({ labels: p.labels, width: p.width, height: p.height, depth: p.depth, nodataLabel: p.nodataLabel, connectivity: p.connectivity, ...(filterP ? { probability: filterP } : {}) }, p.filter);
    stepDone(STEP_WEIGHT.filter);
  }
  if (p.given) {
    // --labels-are instances: the user's instances are kept as they are.
    cc = p.given;
  } else if (p.boundary) {
    // Split before counting: dropping small split objects clears their labels, as components' minPixels does.
    const instances = splitInstancesByBoundary({
      labels: p.labels,
      width: p.width,
      height: p.height,
      depth: p.depth,
      nodataLabel: p.nodataLabel,
      boundary: p.boundary,
      ...(p.minSizePx ? { minPixels: p.minSizePx } : {}),
    });
    const stats = statsFromInstanceMap({
      instances,
      labels: p.labels,
      width: p.width,
      height: p.height,
      depth: p.depth,
      ...(p.probability ? { probability: p.probability } : {}),
      ...(p.intensity ? { intensity: p.intensity } : {}),
    });
    cc = { instances, stats };
    instanceSplit = 'boundary-watershed';
  } else {
    cc = connectedComponents({
      labels: p.labels,
      width: p.width,
      height: p.height,
      depth: p.depth,
      nodataLabel: p.nodataLabel,
      connectivity: p.connectivity,
      ...(p.probability ? { probability: p.probability } : {}),
      ...(p.intensity ? { intensity: p.intensity } : {}),
      ...(p.minSizePx ? { minPixels: p.minSizePx } : {}),
    });
  }
  stepDone(STEP_WEIGHT.instances);
  if (p.regularize && !p.given && p.depth === 1) {
    // Squared-off outlines change the pixels, so the statistics are gathered again from the new map.
    regularizeRectangles({ instances: cc.instances, labels: p.labels, width: p.width, height: p.height, minFill: p.regularize.minFill });
    cc = {
      instances: cc.instances,
      stats: statsFromInstanceMap({
        instances: cc.instances,
        labels: p.labels,
        width: p.width,
        height: p.height,
        depth: 1,
        ...(p.probability ? { probability: p.probability } : {}),
        ...(p.intensity ? { intensity: p.intensity } : {}),
      }),
    };
    stepDone(STEP_WEIGHT.regularize);
  }
  const counts = countLabels(p.labels, p.classes.length, p.nodataLabel);
  const measured = measureInstances(cc.stats, {
    geometry: p.geometry,
    depth: p.depth,
    classes: p.classes,
    validPixelCount: counts.valid,
    classPixelCounts: counts.perClass,
    hasProbability: p.probability !== undefined,
    hasIntensity: p.intensity !== undefined,
    instanceMap: cc.instances,
    width: p.width,
    height: p.height,
    connectivity: p.connectivity,
  });
  stepDone(STEP_WEIGHT.measure);
  if (p.sizeRange && p.probability && p.alternative && assignedLabels) {
    const ranges = sizeRangesPx({
      instances: cc.instances,
      instanceClass: cc.stats.map((s) => s.classId),
      probability: p.probability,
      assignedLabels,
      altLabels: p.alternative.labels,
      altProbability: p.alternative.probability,
      width: p.width,
      height: p.height,
      depth: p.depth,
      connectivity: p.connectivity,
      classCount: p.classes.length,
      innerThreshold: p.sizeRange.innerThreshold ?? 1,
      outerThreshold: p.sizeRange.outerThreshold,
    });
    const classRanges = rangesFromPixels(ranges, p.sizeRange);
    return { ...addSizeRanges(measured.instances, measured.classes, classRanges), instanceMap: cc.instances, instanceSplit };
  }
  return { ...measured, instanceMap: cc.instances, instanceSplit };
}

/** The engine service's segment: runs and returns the document and the overlay; writes nothing. */
export async function segmentFile(
  filePath: string,
  request: Omit<SegmentRequest, 'handle'>,
  onProgress: ProgressFn,
  signal: AbortSignal,
): Promise<{ document: InstancesDocument; overlay?: SliceBitmap }> {
  const src = await openImage(filePath);
  try {
    const out = await segmentImage(
      src,
      { model: request.modelId, ...(request.device ? { device: request.device } : {}), ...(request.overlap !== undefined ? { overlap: request.overlap } : {}) },
      onProgress,
      signal,
    );
    return { document: out.document, overlay: out.overlay };
  } finally {
    await src.close();
  }
}

/** The CLI's segment: runs, then writes the result folder (only after everything succeeded). */
export async function segmentToFolder(
  filePath: string,
  outDir: string,
  options: SegmentOptions,
  onProgress: ProgressFn,
  signal?: AbortSignal,
): Promise<{ outcome: Omit<SegmentOutcome, 'rasters'> & { rasters?: ResultRasters; instanceCount?: number }; files: string[] }> {
  const src = await openImage(filePath, openOptionsOf(options));
  try {
    // Resolve the model once: its resolution decides how large the image becomes on the model's grid.
    const model = typeof options.model === 'string' ? await resolveModel(options.model) : options.model;
    const resolved: SegmentOptions = { ...options, model };
    const plan = options.resample === false ? null : planResample(model.manifest.resolution, src.geometry, src.width, src.height);
    const pixelScale = plan ? plan.factor[0] * plan.factor[1] : 1;
    if (useWindowed(src, resolved, pixelScale)) return await segmentWindowed(src, outDir, resolved, onProgress, signal, postprocess);
    const outcome = await segmentImage(src, resolved, onProgress, signal);
    throwIfAborted(signal);
    onProgress({ stage: 'writing', done: 0, total: 1 });
    const files = await writeResultFolder(outDir, outcome.document, outcome.rasters);
    return { outcome, files };
  } finally {
    await src.close();
  }
}

// ---------------------------------------------------------------- measure an existing label map

export interface MeasureOptions {
  connectivity?: Connectivity;
  /** Minimum object size in physical units: mm² (2D) / mm³ (3D) for medical and spaced images, m² for geo. */
  minSize?: number;
  minSizePx?: number;
  /** Class names/colours (label value = index + 1). */
  classes?: ManifestClass[];
  /** Label values are classes (default) or instance ids (class 1 unless `classOfInstance` maps it). */
  labelsAre?: 'classes' | 'instances';
  /** --labels-are instances: instance value -> class id. */
  classOfInstance?: Map<number, number>;
  spacingMm?: number[];
  /** Polygon layer (GeoJSON) for zonal statistics: zones.csv + zones.geojson. Geo images only. */
  zones?: string;
}

const DEFAULT_COLORS = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4', '#46f0f0', '#f032e6'];

/** Reads a label raster into labels (uint8/uint16) and refuses values that cannot be labels. */
function toLabelArray(block: PixelBlock, file: string): { labels: LabelArray; maxValue: number } {
  let max = 0;
  let maxLabel = 0;
  for (let i = 0; i < block.data.length; i++) {
    const v = block.data[i]!;
    if (!Number.isInteger(v) || v < 0) throw new InputError(file, `label maps hold non-negative integers; found ${v}`);
    if (v > max) max = v;
    // 255 / 65535 are nodata by the label contract, not classes.
    if (v > maxLabel && v !== 255 && v !== 65535) maxLabel = v;
  }
  if (max > 65535) throw new InputError(file, `label value ${max} is above 65535`);
  return { labels: max > 255 ? Uint16Array.from(block.data) : Uint8Array.from(block.data), maxValue: maxLabel };
}

/** --min-size in pixels: the larger of --min-size-px and --min-size over the pixel (voxel) area (volume). */
function minSizePixels(image: ImageSource, options: MeasureOptions): number | undefined {
  let minSizePx = options.minSizePx;
  if (options.minSize !== undefined) {
    const unit = pixelUnit(image.geometry);
    if (unit.kind === 'px') throw new InputError(image.file, '--min-size needs physical spacing (give --spacing, or use --min-size-px)');
    const perPixel = unit.kind === 'm' ? unit.pixelAreaM2 : image.depth > 1 ? unit.voxelVolumeMm3 : unit.pixelAreaMm2;
    minSizePx = Math.max(minSizePx ?? 0, Math.ceil(options.minSize / perPixel - 1e-9));
  }
  return minSizePx;
}

/** `delineate measure`: components and measurements of a label map against its image; writes the result folder. */
/**
 * `delineate measure`: the result folder of a label map against its image. `instanceCount` is the number of
 * instances written; the streamed path for class-id rasters leaves `document.instances` empty (they are on disk).
 */
export async function measureFiles(imagePath: string, labelsPath: string, outDir: string, options: MeasureOptions): Promise<{ document: InstancesDocument; instanceCount: number; files: string[] }> {
  // A DICOM SEG (an expert's outline from another tool, or our own export) is put back onto the series it references.
  const segRef = await segReferencedSeries(labelsPath);
  const seg = segRef ? await segAsLabels(imagePath, labelsPath, segRef.seriesInstanceUid) : null;
  if (seg && options.labelsAre === 'instances') throw new InputError(labelsPath, 'a DICOM SEG holds segments (classes), not instance ids: leave out --labels-are instances');
  const openOptions: OpenOptions = { ...(options.spacingMm ? { spacingMm: options.spacingMm } : {}), ...(seg?.seriesUid ? { seriesUid: seg.seriesUid, allowGaps: true } : {}) };
  if (seg) options = { ...options, classes: options.classes ?? seg.segmentNames.map((name, i) => ({ name, color: DEFAULT_COLORS[i % DEFAULT_COLORS.length]! })) };
  // NIfTI volumes above the streaming threshold are read slice by slice, never whole (given instances: in memory).
  const volume = options.labelsAre !== 'instances' && !seg ? await openStreamedVolume(imagePath, labelsPath, streamingThresholdPx()) : null;
  if (volume) {
    if (options.zones) throw new InputError(imagePath, '--zones needs a georeferenced image');
    const minSizePx = minSizePixels(volume.info, options);
    return measureVolumeFilesStreamed(volume, outDir, {
      connectivity: options.connectivity ?? 26,
      defaultClass: (id) => ({ name: `class ${id}`, color: DEFAULT_COLORS[(id - 1) % DEFAULT_COLORS.length]! }),
      ...(minSizePx ? { minSizePx } : {}),
      ...(options.classes ? { classes: options.classes } : {}),
    });
  }
  const image = await openImage(imagePath, openOptions);
  try {
    let block: PixelBlock;
    if (seg) block = { data: seg.labels, width: image.width, height: image.height, depth: image.depth, channels: 1, dtype: seg.labels instanceof Uint16Array ? 'uint16' : 'uint8' };
    else {
      const labelSrc = await openImage(labelsPath, openOptions);
      try {
        if (labelSrc.width !== image.width || labelSrc.height !== image.height || labelSrc.depth !== image.depth) {
          throw new InputError(labelsPath, `label map is ${labelSrc.width}x${labelSrc.height}x${labelSrc.depth}; the image is ${image.width}x${image.height}x${image.depth}`);
        }
        if (labelSrc.channels !== 1) throw new InputError(labelsPath, `a label map has one channel; this has ${labelSrc.channels}`);
        // 2D rasters above the streaming threshold are read strip by strip (classes or given instances, with zones).
        if (image.depth === 1 && image.kind !== 'medical' && image.width * image.height > streamingThresholdPx()) {
          const minSizePx = minSizePixels(image, options);
          return await measureFilesStreamed(image, labelSrc, outDir, {
            connectivity: options.connectivity ?? 8,
            defaultClass: (id) => ({ name: `class ${id}`, color: DEFAULT_COLORS[(id - 1) % DEFAULT_COLORS.length]! }),
            ...(minSizePx ? { minSizePx } : {}),
            ...(options.classes ? { classes: options.classes } : {}),
            ...(options.labelsAre === 'instances' ? { labelsAre: 'instances' as const } : {}),
            ...(options.classOfInstance ? { classOfInstance: options.classOfInstance } : {}),
            ...(options.zones ? { zones: options.zones } : {}),
          });
        }
        block = await labelSrc.read();
      } finally {
        await labelSrc.close();
      }
    }
    const { width: W, height: H, depth: D } = image;
    let { labels, maxValue } = toLabelArray(block, labelsPath);
    const is16 = labels instanceof Uint16Array;
    let nodataLabel = is16 ? 65535 : 255;
    let classes = options.classes;
    let instanceValues: LabelArray | undefined;
    if (options.labelsAre === 'instances') {
      // Each value is one instance (kept apart from touching ones, below); here only its class, for the class list.
      instanceValues = labels;
      const classOf = options.classOfInstance ?? new Map<number, number>();
      const mapped = new Uint8Array(labels.length);
      let maxClass = 1;
      for (let i = 0; i < labels.length; i++) {
        const v = labels[i]!;
        if (v === 0) continue;
        const c = classOf.get(v) ?? 1;
        mapped[i] = c;
        if (c > maxClass) maxClass = c;
      }
      labels = mapped;
      maxValue = maxClass;
      nodataLabel = 255;
    }
    const classCount = Math.max(classes?.length ?? 0, maxValue);
    classes = Array.from({ length: classCount }, (_, i) => classes?.[i] ?? { name: `class ${i + 1}`, color: DEFAULT_COLORS[i % DEFAULT_COLORS.length]! });
    const geometry = image.geometry;
    const intensityBlock = await image.read({ channels: [0] });
    const minSizePx = minSizePixels(image, options);
    const classOfValue = options.classOfInstance;
    const given = instanceValues
      ? instancesFromValues({ values: instanceValues, width: W, height: H, depth: D, intensity: intensityBlock.data, ...(classOfValue ? { classOf: (v: number) => classOfValue.get(v) ?? 1 } : {}), ...(minSizePx ? { minPixels: minSizePx } : {}) })
      : undefined;
    if (given) labels = given.labels;
    const post = postprocess({
      labels,
      nodataLabel,
      width: W,
      height: H,
      depth: D,
      classes,
      geometry,
      intensity: intensityBlock.data,
      connectivity: options.connectivity ?? (D > 1 ? 26 : 8),
      ...(minSizePx ? { minSizePx } : {}),
      ...(given ? { given } : {}),
    });
    // With --labels-are instances, each record also names the label value it came from.
    const instances = given ? post.instances.map((r, i) => ({ ...r, labelValue: given.valueOfId[i] })) : post.instances;
    const document: InstancesDocument = { source: sourceRecord(image, geometry), classes: post.classes, instances };
    const z = Math.floor(D / 2);
    const channels = image.channels >= 3 ? 3 : 1;
    const display = channels === 3 ? await image.read({ channels: [0, 1, 2] }) : intensityBlock;
    const maps = { width: W, height: H, depth: D, geometry, classes, labels, nodataLabel, instances: post.instanceMap };
    const rasters = resultRasters(image.kind, maps, post.instances.length, { data: display.data, channels }, z);
    if (options.zones && geometry.type !== 'geo') throw new InputError(imagePath, '--zones needs a georeferenced image');
    const files = await writeResultFolder(outDir, document, rasters);
    if (options.zones && geometry.type === 'geo') {
      const zoneInput = { geometry, width: W, height: H, labels, nodataLabel, classes, instances: document.instances, geo: geoMeasurer(geometry, W, H) };
      files.push(...(await writeZones(outDir, options.zones, zoneInput)));
    }
    return { document, instanceCount: document.instances.length, files };
  } finally {
    await image.close();
  }
}

/** Output folder name for an input: base name without image extensions. */
export function resultName(filePath: string): string {
  return path.basename(filePath.replace(/[\\/]+$/, '')).replace(/\.(nii\.gz|nii|png|jpe?g|tiff?)$/i, '') || 'image';
}
