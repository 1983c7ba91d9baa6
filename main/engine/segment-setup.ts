// What both segmentation paths (in memory: pipeline.ts, window by window: windowed.ts) share: the options, the
// check that a model fits an image, the run parameters (tile, overlap, batch, activation, resampling) and the
// session with its timing, so the two paths cannot drift apart in what they validate or record.
import type { Geometry, InferenceRecord, InstancesDocument, ModelManifest, ModelPostprocess, RunWarning } from '../../preload/formats';
import { InputError, type ImageSource } from './image';
import type { OpenOptions, ProgressFn } from './service';
import { resolveModel, type ResolvedModel } from './inference/manifest';
import { readOnnxInfo, type OnnxModelInfo } from './inference/onnx-meta';
import type { DeviceRequest, ModelRuntime, ModelSession, Tensor4 } from './inference/runtime';
import { createOrtRuntime } from './inference/runtime';
import { planResample, type ResamplePlan } from './inference/resample';
import { sigmoidInPlace, softmaxChannels, type TiledRunOptions } from './inference/tiling';
import { classChannels } from './postprocess/labels';
import { pixelUnit } from './measure/basic';
import { contextChannels } from './inference/context';
import { checkCompatibility, imageTraits } from './inference/compatibility';
import type { Connectivity } from './postprocess/components';

export interface SegmentOptions {
  /** Installed id, model folder, manifest.json or .onnx path; or an already resolved model. */
  model: string | ResolvedModel;
  device?: DeviceRequest;
  /** Fraction 0..0.9; default: the manifest's, else 0.5 (nnU-Net). */
  overlap?: number;
  /** [width, height]; default: the manifest's (or the model's fixed input size). */
  tileSize?: [number, number];
  threads?: number;
  /** Tiles per model call (default 1; models with a fixed batch of 1 always use 1). */
  batch?: number;
  spacingMm?: number[];
  /** DICOM folders: the series to open (SeriesInstanceUID), and whether one with missing slices opens anyway. */
  seriesUid?: string;
  allowGaps?: boolean;
  /** Keep uint8 probability maps (p x 255) for the result folder. */
  probabilities?: boolean;
  /** Keep them only when they take at most this many bytes (classes x voxels); default no limit. */
  probabilitiesMaxBytes?: number;
  /** Apply the manifest's test-time flips (default true; `--no-tta` turns them off). */
  testTimeFlips?: boolean;
  /** Apply the manifest's probability calibration (default true; off to fit a new one on raw outputs). */
  calibration?: boolean;
  /** Apply the manifest's component filters (default true; `--no-postprocess` turns them off). */
  modelPostprocess?: boolean;
  /** Components connectivity; default 8 in 2D, 26 in 3D. */
  connectivity?: Connectivity;
  /** Drop objects with fewer pixels. */
  minSizePx?: number;
  /** Injected runtime (tests); default onnxruntime-node. */
  runtime?: ModelRuntime;
  /** Resample to the model's resolution when the image's differs (default true; `--no-resample` turns it off). */
  resample?: boolean;
  /** 2D rasters with more pixels than this run window by window, streaming to disk (default WINDOWED_MIN_PX). */
  windowedMinPx?: number;
  /** Core window edge in pixels for the windowed path (multiple of 16; default 2048). */
  windowPx?: number;
  /** Windowed models with a boundary head or regularisation get the whole-map instance stage up to this many pixels (default INSTANCE_MAX_PX); all else streams. */
  instanceMaxPx?: number;
  /** Told, before the first tile runs, how the model does not suit the image (the CLI prints them). */
  onWarnings?: (warnings: RunWarning[]) => void;
}

/** How a run opens its input: the spacing given for plain images, the DICOM series and gap choices. */
export function openOptionsOf(options: Pick<SegmentOptions, 'spacingMm' | 'seriesUid' | 'allowGaps'>): OpenOptions {
  return {
    ...(options.spacingMm ? { spacingMm: options.spacingMm } : {}),
    ...(options.seriesUid ? { seriesUid: options.seriesUid } : {}),
    ...(options.allowGaps ? { allowGaps: true } : {}),
  };
}


/** Geometry fields of InstancesDocument.source. */
export function sourceRecord(src: ImageSource, geometry: Geometry): InstancesDocument['source'] {
  const rec: InstancesDocument['source'] = { file: src.file, kind: src.kind, width: src.width, height: src.height, depth: src.depth };
  if (geometry.type === 'medical') Object.assign(rec, { spacingMm: geometry.spacingMm, originMm: geometry.originMm, direction: geometry.direction });
  else if (geometry.type === 'geo') Object.assign(rec, { geotransform: geometry.geotransform, crs: geometry.crs });
  else if (geometry.spacingMm) rec.spacingMm = geometry.spacingMm;
  // Which series of a DICOM folder this is: sessions reopen it and DICOM SEG references it.
  if (typeof src.meta.seriesInstanceUid === 'string') rec.seriesInstanceUid = src.meta.seriesInstanceUid;
  // One volume of a series that holds several (time points, echoes, b-values): which one, so it reopens the same.
  const volume = src.meta.seriesVolume as { index?: unknown } | undefined;
  if (typeof volume?.index === 'number' && volume.index >= 2) rec.seriesVolume = volume.index;
  return rec;
}

export function isNodata(v: number, nodata: number | 'nan' | undefined): boolean {
  return nodata !== undefined && (nodata === 'nan' ? Number.isNaN(v) : v === nodata);
}

/** Refuses a model that cannot run on this image, before any work starts. */
export function checkModelFitsImage(model: ResolvedModel, onnx: OnnxModelInfo, src: ImageSource): { inputName: string; outputName: string; fixedTile: [number, number] | null; fixedBatch1: boolean } {
  const m = model.manifest;
  const where = model.onnxPath;
  // A plain picture may be anything (a screenshot of a scan, a photo of a map); patient and map data must match.
  if (src.kind !== 'image' && !m.kinds.includes(src.kind)) {
    throw new InputError(src.file, `model "${m.id}" is for ${m.kinds.join('/')} images; this is a ${src.kind} image`);
  }
  if (m.input.sliceMode === '3d') throw new InputError(where, '3D models are not supported yet (coming with the inference engine)');
  const input = m.input.name ? onnx.inputs.find((i) => i.name === m.input.name) : onnx.inputs[0];
  if (!input) throw new InputError(where, `the model has no input "${m.input.name ?? ''}" (it has ${onnx.inputs.map((i) => i.name).join(', ')})`);
  const outName = m.outputs.name ?? onnx.outputs[0]!.name;
  const output = onnx.outputs.find((o) => o.name === outName);
  if (!output) throw new InputError(where, `the model has no output "${outName}" (it has ${onnx.outputs.map((o) => o.name).join(', ')})`);
  if (input.elemType !== 'float32') throw new InputError(where, `input "${input.name}" is ${input.elemType}; only float32 inputs are supported`);
  if (output.elemType !== 'float32') throw new InputError(where, `output "${output.name}" is ${output.elemType}; only float32 outputs are supported`);
  if (input.shape && input.shape.length !== 4) throw new InputError(where, `input "${input.name}" has rank ${input.shape.length}; a 2D model needs rank 4 (NCHW)`);
  const need = m.input.channels.length;
  const context = m.input.contextSlices ?? 0;
  const modelChannels = input.shape?.[1];
  if (typeof modelChannels === 'number' && modelChannels !== contextChannels(need, context)) {
    throw new InputError(
      where,
      context
        ? `the manifest lists ${need} input channel${need === 1 ? '' : 's'} with ${context} context slice${context === 1 ? '' : 's'} on each side (${contextChannels(need, context)} model channels) but the model's input has ${modelChannels}`
        : `the manifest lists ${need} input channels but the model's input has ${modelChannels}`,
    );
  }
  if (src.channels < need) {
    throw new InputError(src.file, `model "${m.id}" needs ${need} channel${need === 1 ? '' : 's'} (${m.input.channels.join(', ')}); the image has ${src.channels}`);
  }
  const outChannels = output.shape?.[1];
  if (typeof outChannels === 'number') {
    const chans = classChannels(m.outputs, m.classes.length, outChannels);
    const bad = chans.find((c) => c >= outChannels);
    if (bad !== undefined) throw new InputError(where, `class channel ${bad} does not exist: the model outputs ${outChannels} channels`);
    const split = splitChannel(m.outputs);
    if (split && split.channel >= outChannels) throw new InputError(where, `${split.kind} channel ${split.channel} does not exist: the model outputs ${outChannels} channels`);
  }
  const h = input.shape?.[2];
  const w = input.shape?.[3];
  return {
    inputName: input.name,
    outputName: output.name,
    fixedTile: typeof h === 'number' && typeof w === 'number' ? [w, h] : null,
    fixedBatch1: input.shape?.[0] === 1,
  };
}

/** Which output channel splits touching objects, if the model has a boundary or distance head. */
export function splitChannel(outputs: ModelManifest['outputs']): { kind: 'boundary' | 'distance'; channel: number } | null {
  if (typeof outputs.boundaryChannel === 'number') return { kind: 'boundary', channel: outputs.boundaryChannel };
  if (typeof outputs.distanceChannel === 'number') return { kind: 'distance', channel: outputs.distanceChannel };
  return null;
}


/** Everything decided before the first tile runs. */
export interface PreparedSegment {
  model: ResolvedModel;
  manifest: ModelManifest;
  fit: ReturnType<typeof checkModelFitsImage>;
  tileSize: [number, number];
  overlap: number;
  batch: number;
  /** Image channels the model reads (the first N). */
  channels: number;
  /** Neighbour slices on each side a 2.5D model also reads (0: plain 2D); its input has channels x (2k+1). */
  contextSlices: number;
  /** What runs on every tile's output: activation and test-time flips (spread into the tiled run's options). */
  tileTransforms: Pick<TiledRunOptions, 'activate' | 'flips' | 'flipsWhere'>;
  /** The manifest's component filters, when this run applies them. */
  postprocess: ModelPostprocess | null;
  resample: ResamplePlan | null;
  split: { kind: 'boundary' | 'distance'; channel: number } | null;
  /** How the model does not suit the image (instances.json `warnings`); the run goes ahead. */
  warnings: RunWarning[];
}

/** Resolves and validates the model against the image; refuses before any pixel is read. */
export async function prepareSegment(src: ImageSource, options: SegmentOptions): Promise<PreparedSegment> {
  const model = typeof options.model === 'string' ? await resolveModel(options.model) : options.model;
  const m = model.manifest;
  if (m.task === 'prompt') throw new InputError(model.manifestPath ?? model.onnxPath, `"${m.id}" is an interactive model (task "prompt"): run it with delineate prompt, not segment`);
  const onnx = await readOnnxInfo(model.onnxPath);
  const fit = checkModelFitsImage(model, onnx, src);
  const warnings = checkCompatibility(m, await imageTraits(src, [m]));
  if (warnings.length) options.onWarnings?.(warnings);
  const activate =
    m.outputs.type === 'logits'
      ? (tile: Float32Array, k: number, pixels: number): void => (k > 1 ? softmaxChannels(tile, k, pixels) : sigmoidInPlace(tile))
      : undefined;
  const flips = m.testTimeFlips?.length && options.testTimeFlips !== false ? m.testTimeFlips : null;
  return {
    model,
    manifest: m,
    fit,
    tileSize: fit.fixedTile ?? options.tileSize ?? m.tileSize,
    overlap: options.overlap ?? m.tileOverlap ?? 0.5,
    batch: fit.fixedBatch1 ? 1 : Math.max(1, options.batch ?? 1),
    channels: m.input.channels.length,
    contextSlices: m.input.contextSlices ?? 0,
    tileTransforms: {
      ...(activate ? { activate } : {}),
      ...(flips ? { flips } : {}),
      // The manifest's bound on where the flips run (it requires flips); each run counts its own tiles.
      ...(flips && m.testTimeFlipsMinProbability
        ? { flipsWhere: { minProbability: m.testTimeFlipsMinProbability, channels: (k: number) => classChannels(m.outputs, m.classes.length, k), tally: { tiles: 0, flipped: 0 } } }
        : {}),
    },
    postprocess: m.postprocess && options.modelPostprocess !== false && Object.keys(m.postprocess).length ? m.postprocess : null,
    resample: options.resample === false ? null : planResample(m.resolution, src.geometry, src.width, src.height),
    split: splitChannel(m.outputs),
    warnings,
  };
}

/**
 * The manifest's `postprocess.minObjectAreaM2` in pixels of this image, or null where it does not apply (switched
 * off, volumes, or no ground area per pixel: neither a projected geo raster nor a model resolution in metres).
 */
export function modelMinObjectPx(p: PreparedSegment, src: ImageSource): number | null {
  const areaM2 = p.postprocess?.minObjectAreaM2;
  if (!areaM2 || src.depth > 1) return null;
  const unit = pixelUnit(src.geometry);
  const mPerPx = p.manifest.resolution?.mPerPx;
  const pixelAreaM2 = unit.kind === 'm' ? unit.pixelAreaM2 : src.geometry.type !== 'geo' && mPerPx ? mPerPx * mPerPx : null;
  return pixelAreaM2 ? Math.ceil(areaM2 / pixelAreaM2 - 1e-9) : null;
}

/** Opens the model on the requested device (with fallback). */
export async function openSession(p: PreparedSegment, options: SegmentOptions): Promise<ModelSession> {
  const runtime = options.runtime ?? createOrtRuntime();
  return runtime.createSession(p.model.onnxPath, {
    device: options.device ?? 'auto',
    ...(options.threads ? { threads: options.threads } : {}),
    inputName: p.fit.inputName,
    outputName: p.fit.outputName,
  });
}

/** session.run wrapped to add its wall time to `clock.ms` (the "time inside the model" of the bench and the record). */
export function timedRun(session: ModelSession, clock: { ms: number }): (t: Tensor4) => Promise<Tensor4> {
  return async (t) => {
    const t0 = performance.now();
    const out = await session.run(t);
    clock.ms += performance.now() - t0;
    return out;
  };
}

/** The resampling fields of the inference record. */
/** Progress of the inference stage with an ETA from the rate so far; call it with the tiles done over all slices/windows. */
export function tileProgress(onProgress: ProgressFn, startedMs: number, totalTiles: number): (doneAll: number) => void {
  return (doneAll) => {
    const elapsedS = (performance.now() - startedMs) / 1000;
    onProgress({ stage: 'inference', done: doneAll, total: totalTiles, etaSeconds: (elapsedS / doneAll) * (totalTiles - doneAll) });
  };
}

/** The fields of `instances.json`'s inference record both segmentation paths fill the same way. */
export function inferenceRecord(r: {
  prep: PreparedSegment;
  session: ModelSession;
  tiles: number;
  seconds: number;
  inferenceMs: number;
  tilesSkipped: number;
  threads?: number;
  /** Which of the manifest's filters ran: all of them in memory; the windowed path only the per-object ones. */
  postprocessed: 'all' | 'per-object';
  /** The calibration applied to the probabilities. */
  calibration?: { temperature: number; bias: number; curve?: { p: readonly number[] } };
}): InferenceRecord {
  const { prep } = r;
  return {
    device: r.session.device,
    tileSize: prep.tileSize,
    overlap: prep.overlap,
    tiles: r.tiles,
    batch: prep.batch,
    seconds: r.seconds,
    inferenceSeconds: r.inferenceMs / 1000,
    ...(r.tilesSkipped ? { tilesSkipped: r.tilesSkipped } : {}),
    ...(r.threads ? { threads: r.threads } : {}),
    ...(r.session.skipped.length ? { skippedDevices: r.session.skipped } : {}),
    ...(prep.tileTransforms.flips ? { testTimeFlips: prep.tileTransforms.flips } : {}),
    ...(prep.tileTransforms.flipsWhere ? { testTimeFlipsMinProbability: prep.tileTransforms.flipsWhere.minProbability } : {}),
    // Tiles that ran the flips under that bound (absent where this run did not run the model: a merge of shards).
    ...(prep.tileTransforms.flipsWhere?.tally?.tiles ? { tilesFlipped: prep.tileTransforms.flipsWhere.tally.flipped } : {}),
    ...(r.calibration && (r.calibration.temperature !== 1 || r.calibration.bias !== 0 || r.calibration.curve)
      ? { calibration: { temperature: r.calibration.temperature, bias: r.calibration.bias, ...(r.calibration.curve ? { curvePoints: r.calibration.curve.p.length } : {}) } }
      : {}),
    ...appliedPostprocess(prep.postprocess, r.postprocessed),
    ...resampleRecord(prep.resample),
  };
}

/** The record of the filters a run applied (whole-raster component filters need the in-memory path). */
function appliedPostprocess(p: ModelPostprocess | null, which: 'all' | 'per-object'): { postprocess?: ModelPostprocess } {
  if (!p) return {};
  if (which === 'all') return { postprocess: p };
  const perObject: ModelPostprocess = {
    ...(p.minObjectAreaM2 !== undefined ? { minObjectAreaM2: p.minObjectAreaM2 } : {}),
    ...(p.regularize ? { regularize: p.regularize } : {}),
  };
  return Object.keys(perObject).length ? { postprocess: perObject } : {};
}

export function resampleRecord(plan: ResamplePlan | null): Record<string, unknown> {
  if (!plan) return { resampled: false };
  const r6 = (v: number): number => Number(v.toPrecision(6));
  return {
    resampled: true,
    resampleFactor: plan.factor.map(r6),
    [plan.unit === 'm' ? 'imageMPerPx' : 'imageMmPerPx']: plan.imagePerPx.map(r6),
    [plan.unit === 'm' ? 'modelMPerPx' : 'modelMmPerPx']: plan.modelPerPx,
    ...(plan.capped ? { resampleCapped: true } : {}),
  };
}

/** Validity (1 valid, 0 nodata) of a 2D window from the nodata value of the model channels and the file's mask. */
export function validityOf(
  data: ArrayLike<number>,
  pixels: number,
  channels: number,
  nodata: number | 'nan' | undefined,
  fileMask: Uint8Array | null,
  /** Layout: sample of channel c, pixel i at offset + c * channelStride + i (volumes: slice offset, depth x plane). */
  offset = 0,
  channelStride = pixels,
): Uint8Array | undefined {
  if (nodata === undefined && !fileMask) return undefined;
  const valid = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) {
    if (fileMask && fileMask[i] === 0) continue;
    if (nodata === undefined) {
      valid[i] = 1;
      continue;
    }
    // Nodata = every model channel holds the nodata value.
    for (let c = 0; c < channels; c++) {
      if (!isNodata(data[offset + c * channelStride + i]!, nodata)) {
        valid[i] = 1;
        break;
      }
    }
  }
  return valid;
}
