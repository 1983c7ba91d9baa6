// Model manifests and the model registry: loads and validates `models/<id>/manifest.json`, finds shipped
// and user models, and resolves `--model <id | file.onnx | folder>`. An .onnx without a manifest beside it
// is described from its Deepness-style metadata_props (QGIS Deepness / GeoDeep models work unchanged).
import { promises as fs, existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ImageKind, InteractiveSpec, ManifestClass, ModelCalibration, ModelManifest, ModelSummary, NormalizationSpec } from '../../../preload/formats';
import { InputError } from '../image';
import { readOnnxInfo, type OnnxModelInfo } from './onnx-meta';
import { isNonCommercialLicense } from './license';

/** A short, safe rendering of a bad value for an error message: never serialises deep or huge structures. */
function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (v === null || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? `an array of ${v.length}` : 'an object';
}

export type ModelSource = ModelSummary['source'];

/** A model ready to load: its manifest (read or derived), where the ONNX file is, and where it came from. */
export interface ResolvedModel {
  manifest: ModelManifest;
  /** Absolute path of the .onnx file. */
  onnxPath: string;
  /** manifest.json path, or null when the manifest was derived from ONNX metadata. */
  manifestPath: string | null;
  source: ModelSource;
  /** First paragraph of the model card, when there is one. */
  summary?: string;
}

const KINDS: readonly ImageKind[] = ['medical', 'geo', 'image'];
const COLOR_RE = /^#[0-9a-fA-F]{6}$/;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

// ---------------------------------------------------------------- validation

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Field-by-field validation with errors that name the file and the field (`normalization.std[1]`). */
class Checker {
  constructor(readonly file: string) {}

  fail(field: string, problem: string): never {
    throw new InputError(this.file, `invalid manifest: "${field}" ${problem}`);
  }

  obj(v: unknown, field: string): Json {
    if (!isObject(v)) this.fail(field, 'must be an object');
    return v;
  }

  str(v: unknown, field: string): string {
    if (typeof v !== 'string' || v.length === 0) this.fail(field, 'must be a non-empty string');
    return v;
  }

  optStr(v: unknown, field: string): string | undefined {
    return v === undefined ? undefined : this.str(v, field);
  }

  num(v: unknown, field: string, min = -Infinity, max = Infinity): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, 'must be a number');
    if (v < min || v > max) this.fail(field, `must be from ${min} to ${max}, got ${v}`);
    return v;
  }

  int(v: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
    const n = this.num(v, field, min, max);
    if (!Number.isInteger(n)) this.fail(field, `must be an integer, got ${n}`);
    return n;
  }

  bool(v: unknown, field: string): boolean {
    if (typeof v !== 'boolean') this.fail(field, 'must be true or false');
    return v;
  }

  arr(v: unknown, field: string, minLength = 0): unknown[] {
    if (!Array.isArray(v)) this.fail(field, 'must be an array');
    if (v.length < minLength) this.fail(field, `must have at least ${minLength} item${minLength === 1 ? '' : 's'}`);
    return v;
  }

  oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T {
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.fail(field, `must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${describeValue(v)}`);
    }
    return v as T;
  }
}

function checkNormalization(c: Checker, v: unknown, channels: number, allowCrop = false): NormalizationSpec {
  const n = c.obj(v, 'normalization');
  const type = c.oneOf(n.type, 'normalization.type', ['fixed', 'percentile', 'zscore'] as const);
  const scopes = allowCrop ? (['volume', 'slice', 'image', 'crop'] as const) : (['volume', 'slice', 'image'] as const);
  const mask = n.mask === undefined ? undefined : c.oneOf(n.mask, 'normalization.mask', ['nonzero', 'all'] as const);
  if (type === 'fixed') {
    const mean = c.arr(n.mean, 'normalization.mean', 1).map((x, i) => c.num(x, `normalization.mean[${i}]`));
    const std = c.arr(n.std, 'normalization.std', 1).map((x, i) => c.num(x, `normalization.std[${i}]`));
    std.forEach((s, i) => s <= 0 && c.fail(`normalization.std[${i}]`, 'must be positive'));
    // One value applies to every channel; otherwise one per channel.
    if (mean.length !== 1 && mean.length !== channels) c.fail('normalization.mean', `must have 1 or ${channels} values (one per input channel)`);
    if (std.length !== 1 && std.length !== channels) c.fail('normalization.std', `must have 1 or ${channels} values (one per input channel)`);
    return { type, mean, std };
  }
  const scope = c.oneOf(n.scope, 'normalization.scope', scopes);
  if (type === 'zscore') {
    if (scope === 'crop') c.fail('normalization.scope', '"crop" is for percentile normalisation');
    return { type, scope, ...(mask ? { mask } : {}) };
  }
  const pLow = c.num(n.pLow, 'normalization.pLow', 0, 100);
  const pHigh = c.num(n.pHigh, 'normalization.pHigh', 0, 100);
  if (pHigh <= pLow) c.fail('normalization.pHigh', `must be greater than pLow (${pLow})`);
  let clip: [number, number] | undefined;
  if (n.clip !== undefined) {
    const cl = c.arr(n.clip, 'normalization.clip', 2).map((x, i) => c.num(x, `normalization.clip[${i}]`));
    if (cl.length !== 2 || cl[1]! <= cl[0]!) c.fail('normalization.clip', 'must be [low, high] with low < high');
    clip = [cl[0]!, cl[1]!];
  }
  return { type, pLow, pHigh, scope, ...(mask ? { mask } : {}), ...(clip ? { clip } : {}) };
}

/** A path a manifest names must stay inside the model folder. */
function checkInsideFolder(c: Checker, v: string, field: string): string {
  if (path.isAbsolute(v) || v.split(/[\\/]/).includes('..')) c.fail(field, 'must be a path inside the model folder');
  return v;
}

/** SAM's pixel mean and standard deviation (0..255 RGB), the normalisation every SAM-family encoder expects. */
export const SAM_NORMALIZATION: NormalizationSpec = { type: 'fixed', mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375] };

/** The `interactive` block of a prompt model (task "prompt"): our click model or a SAM-family pair. */
function checkInteractive(c: Checker, v: unknown): InteractiveSpec {
  const i = c.obj(v, 'interactive');
  const format = c.oneOf(i.format, 'interactive.format', ['clickmaps', 'sam'] as const);
  const opt = (key: string, fallback: number, min: number, max: number, integer: boolean): number => {
    const raw = i[key];
    if (raw === undefined) return fallback;
    return integer ? c.int(raw, `interactive.${key}`, min, max) : c.num(raw, `interactive.${key}`, min, max);
  };
  if (format === 'sam') {
    return {
      format,
      encoder: checkInsideFolder(c, c.str(i.encoder, 'interactive.encoder'), 'interactive.encoder'),
      decoder: checkInsideFolder(c, c.str(i.decoder, 'interactive.decoder'), 'interactive.decoder'),
      imageSize: opt('imageSize', 1024, 16, 4096, true),
      maskThreshold: opt('maskThreshold', 0, -100, 100, false),
      cacheMb: opt('cacheMb', 256, 1, 65536, false),
    };
  }
  const spec = {
    format,
    cropSize: opt('cropSize', 128, 8, 2048, true),
    clickRadiusPx: opt('clickRadiusPx', 5, 0, 256, false),
    firstCropPx: opt('firstCropPx', 96, 4, 1 << 20, true),
    minCropPx: opt('minCropPx', 48, 4, 1 << 20, true),
    marginFraction: opt('marginFraction', 0.4, 0, 10, false),
    threshold: opt('threshold', 0.5, 0, 1, false),
    maxBorderGrow: opt('maxBorderGrow', 1, 0, 8, true),
    refinePasses: opt('refinePasses', 0, 0, 8, true),
    refineFirstOnly: i.refineFirstOnly === undefined ? false : c.bool(i.refineFirstOnly, 'interactive.refineFirstOnly'),
    clickLevelSetMin: opt('clickLevelSetMin', 0, 0, 0.5, false),
  };
  if (i.propagateStop === undefined) return spec;
  const r = c.obj(i.propagateStop, 'interactive.propagateStop');
  const num = (key: string, fallback: number, max: number, integer: boolean): number =>
    r[key] === undefined ? fallback : integer ? c.int(r[key], `interactive.propagateStop.${key}`, 1, max) : c.num(r[key], `interactive.propagateStop.${key}`, 0, max);
  return { ...spec, propagateStop: { minContrast: num('minContrast', 0, 100, false), minRelativeIntensity: num('minRelativeIntensity', 0, 1, false), ringPx: num('ringPx', 4, 64, true) } };
}

/** A prompt manifest may leave out what only segmentation models need; fill it so the common checks apply. */
function promptDefaults(m: Json, spec: InteractiveSpec): Json {
  const sam = spec.format === 'sam';
  const input = isObject(m.input) ? m.input : {};
  return {
    ...m,
    file: m.file ?? (sam ? spec.encoder : m.file),
    input: { ...input, channels: input.channels ?? (sam ? ['R', 'G', 'B'] : input.channels) },
    normalization: m.normalization ?? (sam ? SAM_NORMALIZATION : m.normalization),
    tileSize: m.tileSize ?? (sam ? [spec.imageSize, spec.imageSize] : [spec.cropSize, spec.cropSize]),
    classes: m.classes ?? [{ name: 'object', color: '#ffcc00' }],
    outputs: m.outputs ?? { type: 'sigmoid', threshold: sam ? 0.5 : spec.threshold },
  };
}

/** Validates parsed manifest JSON. `file` names the manifest in every error. */
export function validateManifest(value: unknown, file: string): ModelManifest {
  const c: Checker = new Checker(file);
  let m = c.obj(value, '(root)');
  const interactive = m.task === 'prompt' ? checkInteractive(c, m.interactive) : undefined;
  if (interactive) m = promptDefaults(m, interactive);
  const id = c.str(m.id, 'id');
  if (!ID_RE.test(id)) c.fail('id', 'may contain only letters, digits, ".", "_" and "-"');
  const kinds = c.arr(m.kinds, 'kinds', 1).map((k, i) => c.oneOf(k, `kinds[${i}]`, KINDS));

  const inp = c.obj(m.input, 'input');
  const channels = c.arr(inp.channels, 'input.channels', 1).map((x, i) => c.str(x, `input.channels[${i}]`));
  if (inp.layout !== undefined) c.oneOf(inp.layout, 'input.layout', ['NCHW'] as const);
  if (inp.dtype !== undefined) c.oneOf(inp.dtype, 'input.dtype', ['float32'] as const);
  const sliceMode = inp.sliceMode === undefined ? undefined : c.oneOf(inp.sliceMode, 'input.sliceMode', ['2d', '3d'] as const);
  const contextSlices = inp.contextSlices === undefined ? 0 : c.int(inp.contextSlices, 'input.contextSlices', 0, 8);
  if (contextSlices > 0 && sliceMode === '3d') c.fail('input.contextSlices', 'is for 2d models (a 3d model sees the whole volume)');

  const tile = c.arr(m.tileSize, 'tileSize');
  if (tile.length !== 2) c.fail('tileSize', 'must be [width, height]');
  const tileSize: [number, number] = [c.int(tile[0], 'tileSize[0]', 8, 8192), c.int(tile[1], 'tileSize[1]', 8, 8192)];

  const classes: ManifestClass[] = c.arr(m.classes, 'classes', 1).map((v, i) => {
    const k = c.obj(v, `classes[${i}]`);
    const color = c.str(k.color, `classes[${i}].color`);
    if (!COLOR_RE.test(color)) c.fail(`classes[${i}].color`, `must be "#rrggbb", got "${color}"`);
    return { name: c.str(k.name, `classes[${i}].name`), color };
  });
  if (classes.length > 65534) c.fail('classes', 'may have at most 65534 entries');

  const out = c.obj(m.outputs, 'outputs');
  const outType = c.oneOf(out.type, 'outputs.type', ['softmax', 'sigmoid', 'logits'] as const);
  const outputs: ModelManifest['outputs'] = { type: outType };
  if (out.name !== undefined) outputs.name = c.str(out.name, 'outputs.name');
  // null means "not applicable" (softmax models write threshold: null), the same as leaving it out.
  if (out.threshold !== undefined && out.threshold !== null) outputs.threshold = c.num(out.threshold, 'outputs.threshold', 0, 1);
  const bg = out.backgroundChannel;
  if (bg !== undefined) outputs.backgroundChannel = c.bool(bg, 'outputs.backgroundChannel');
  if (out.classChannels !== undefined) {
    const cc = c.arr(out.classChannels, 'outputs.classChannels').map((x, i) => c.int(x, `outputs.classChannels[${i}]`, 0));
    if (cc.length !== classes.length) c.fail('outputs.classChannels', `must have one channel per class (${classes.length})`);
    outputs.classChannels = cc;
    if (outputs.backgroundChannel === true && cc.includes(0)) c.fail('outputs.classChannels', 'maps a class onto channel 0, which outputs.backgroundChannel: true declares as background');
  }
  for (const key of ['boundaryChannel', 'distanceChannel'] as const) {
    const v = out[key];
    if (v !== undefined) outputs[key] = v === null ? null : c.int(v, `outputs.${key}`, 0);
  }

  const manifest: ModelManifest = {
    id,
    name: c.str(m.name, 'name'),
    version: c.str(m.version, 'version'),
    task: c.oneOf(m.task, 'task', ['semantic', 'instance', 'prompt'] as const),
    kinds,
    file: c.str(m.file, 'file'),
    input: { channels, ...(inp.name !== undefined ? { name: c.str(inp.name, 'input.name') } : {}), ...(sliceMode ? { sliceMode } : {}), ...(contextSlices ? { contextSlices } : {}) },
    normalization: checkNormalization(c, m.normalization, channels.length, interactive !== undefined),
    tileSize,
    classes,
    outputs,
    license: c.str(m.license, 'license'),
  };
  if (m.modality !== undefined) manifest.modality = c.str(m.modality, 'modality');
  if (m.sensor !== undefined) manifest.sensor = c.str(m.sensor, 'sensor');
  if (m.tileOverlap !== undefined) manifest.tileOverlap = c.num(m.tileOverlap, 'tileOverlap', 0, 0.9);
  if (m.resolution !== undefined) {
    const r = c.obj(m.resolution, 'resolution');
    const res: NonNullable<ModelManifest['resolution']> = {};
    for (const key of ['mmPerPx', 'mPerPx'] as const) {
      const v = r[key];
      if (v !== undefined) res[key] = v === null ? null : c.num(v, `resolution.${key}`, Number.MIN_VALUE);
    }
    manifest.resolution = res;
  }
  if (m.testTimeFlips !== undefined) {
    const flips = c.arr(m.testTimeFlips, 'testTimeFlips').map((f, i) => c.oneOf(f, `testTimeFlips[${i}]`, ['x', 'y', 'xy'] as const));
    if (new Set(flips).size !== flips.length) c.fail('testTimeFlips', 'lists a flip twice');
    manifest.testTimeFlips = flips;
  }
  if (m.testTimeFlipsMinProbability !== undefined) {
    if (!manifest.testTimeFlips?.length) c.fail('testTimeFlipsMinProbability', 'needs testTimeFlips');
    manifest.testTimeFlipsMinProbability = c.num(m.testTimeFlipsMinProbability, 'testTimeFlipsMinProbability', 0, 1);
  }
  if (m.postprocess !== undefined) {
    const pp = c.obj(m.postprocess, 'postprocess');
    const post: NonNullable<ModelManifest['postprocess']> = {};
    if (pp.keepLargestComponents !== undefined) post.keepLargestComponents = c.int(pp.keepLargestComponents, 'postprocess.keepLargestComponents', 1);
    if (pp.minComponentFraction !== undefined) post.minComponentFraction = c.num(pp.minComponentFraction, 'postprocess.minComponentFraction', 0, 1);
    if (pp.minComponentMeanProbability !== undefined) post.minComponentMeanProbability = c.num(pp.minComponentMeanProbability, 'postprocess.minComponentMeanProbability', 0, 1);
    if (pp.minObjectAreaM2 !== undefined) post.minObjectAreaM2 = c.num(pp.minObjectAreaM2, 'postprocess.minObjectAreaM2', 0, 1e12);
    if (pp.regularize !== undefined) {
      const r = c.obj(pp.regularize, 'postprocess.regularize');
      post.regularize = { shape: c.oneOf(r.shape, 'postprocess.regularize.shape', ['rectangle'] as const), minFill: c.num(r.minFill, 'postprocess.regularize.minFill', 0, 1) };
    }
    const known = ['keepLargestComponents', 'minComponentFraction', 'minComponentMeanProbability', 'minObjectAreaM2', 'regularize'];
    const unknown = Object.keys(pp).filter((k) => !known.includes(k));
    if (unknown.length) c.fail(`postprocess.${unknown[0]!}`, `is not a known post-processing step (${known.join(', ')})`);
    manifest.postprocess = post;
  }
  if (m.card !== undefined) manifest.card = c.str(m.card, 'card');
  if (m.training !== undefined) manifest.training = c.obj(m.training, 'training');
  if (interactive) manifest.interactive = interactive;
  if (m.calibration !== undefined) manifest.calibration = checkCalibration(c, m.calibration);
  if (path.isAbsolute(manifest.file) || manifest.file.split(/[\\/]/).includes('..')) c.fail('file', 'must be a path inside the model folder');
  return manifest;
}

/** The manifest's `calibration` block: a positive temperature, optional size-range thresholds (0..1). */
function checkCalibration(c: Checker, value: unknown): ModelCalibration {
  const k = c.obj(value, 'calibration');
  const out: ModelCalibration = { ...k, temperature: c.num(k.temperature, 'calibration.temperature', 0.05, 20), fittedOn: c.oneOf(k.fittedOn, 'calibration.fittedOn', ['validation'] as const) };
  for (const key of ['eceValidation', 'eceTest'] as const) if (k[key] !== undefined) out[key] = c.num(k[key], `calibration.${key}`, 0, 1);
  if (k.bias !== undefined) out.bias = c.num(k.bias, 'calibration.bias', -20, 20);
  if (k.curve !== undefined) {
    const cv = c.obj(k.curve, 'calibration.curve');
    const xs = c.arr(cv.p, 'calibration.curve.p', 2).map((v, i) => c.num(v, `calibration.curve.p[${i}]`, 0, 1));
    const ys = c.arr(cv.calibrated, 'calibration.curve.calibrated', 2).map((v, i) => c.num(v, `calibration.curve.calibrated[${i}]`, 0, 1));
    if (xs.length !== ys.length) c.fail('calibration.curve', `has ${xs.length} points p and ${ys.length} calibrated values`);
    // Strictly increasing both ways: the map must keep the order of probabilities, so a threshold keeps its pixels.
    for (let i = 1; i < xs.length; i++) if (!(xs[i]! > xs[i - 1]! && ys[i]! > ys[i - 1]!)) c.fail('calibration.curve', `must increase strictly (point ${i})`);
    out.curve = { p: xs, calibrated: ys };
  }
  if (k.sizeRange !== undefined) {
    const r = c.obj(k.sizeRange, 'calibration.sizeRange');
    const method = r.method === undefined ? 'thresholds' : c.oneOf(r.method, 'calibration.sizeRange.method', ['thresholds', 'probabilityMass'] as const);
    const outerThreshold = c.num(r.outerThreshold, 'calibration.sizeRange.outerThreshold', 0, 1);
    out.sizeRange = { ...r, method, outerThreshold };
    if (method === 'thresholds') out.sizeRange.innerThreshold = c.num(r.innerThreshold, 'calibration.sizeRange.innerThreshold', 0, 1);
    else {
      out.sizeRange.lowScale = c.num(r.lowScale, 'calibration.sizeRange.lowScale', 0, 1000);
      out.sizeRange.highScale = c.num(r.highScale, 'calibration.sizeRange.highScale', 0, 1000);
    }
    if (r.classScope !== undefined) out.sizeRange.classScope = c.oneOf(r.classScope, 'calibration.sizeRange.classScope', ['image', 'objects'] as const);
  }
  return out;
}

/** Reads, parses and validates one manifest.json. */
export async function loadManifest(manifestPath: string): Promise<ModelManifest> {
  let text: string;
  try {
    text = await fs.readFile(manifestPath, 'utf8');
  } catch (err) {
    throw new InputError(manifestPath, `cannot read the manifest (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(manifestPath, `invalid manifest: not JSON (${(err as Error).message})`);
  }
  return validateManifest(json, manifestPath);
}

// ---------------------------------------------------------------- Deepness metadata

/** Parses a Deepness value: JSON first, then the Python-literal form Deepness models often carry ({0: 'a'}). */
function parseLooseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const jsonish = text
      .replace(/'/g, '"')
      .replace(/([{,]\s*)(-?\d+)\s*:/g, '$1"$2":')
      .replace(/\bTrue\b/g, 'true')
      .replace(/\bFalse\b/g, 'false')
      .replace(/\bNone\b/g, 'null');
    return JSON.parse(jsonish);
  }
}

/** Evenly spread, distinct colours for models that do not name any. */
function defaultColor(i: number): string {
  const palette = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#bcf60c', '#fabebe'];
  return palette[i % palette.length]!;
}

/**
 * Builds a manifest from Deepness metadata_props. Deepness conventions: inputs are 8-bit RGB(A) divided by 255,
 * then standardised with `standardization_mean/std`; we fold the /255 into the fixed normalisation
 * (mean*255, std*255) so 8-bit imagery gets exactly what the model was trained on. `resolution` is cm/px,
 * `tiles_overlap` is percent, tile size is `tile_size` or `tiles_size` (both spellings occur) or the
 * static input shape. A one-channel output is a sigmoid mask thresholded at `seg_thresh`; several channels are a
 * softmax whose channel 0 is background.
 */
export function manifestFromOnnxMetadata(info: OnnxModelInfo, onnxPath: string): ModelManifest {
  const meta = info.metadata;
  const input = info.inputs[0]!;
  const output = info.outputs[0]!;
  const fail = (problem: string): never => {
    throw new InputError(onnxPath, `${problem}; add a manifest.json beside the model (see models/README.md)`);
  };
  if (meta.delineate_manifest !== undefined) {
    // Our own models carry their manifest inside (metadata_props.delineate_manifest): the file is this one.
    let embedded: unknown;
    try {
      embedded = JSON.parse(meta.delineate_manifest);
    } catch (err) {
      return fail(`metadata "delineate_manifest" is not JSON (${(err as Error).message})`);
    }
    return validateManifest(isObject(embedded) ? { ...embedded, file: path.basename(onnxPath) } : embedded, onnxPath);
  }
  if (Object.keys(meta).length === 0) fail('no manifest.json beside the model and no Deepness metadata_props inside it');
  const modelType = meta.model_type;
  if (modelType !== undefined && modelType.replace(/"/g, '').toLowerCase() !== 'segmentor') {
    fail(`model_type "${modelType}" is not supported (only Segmentor models segment)`);
  }
  const parse = (key: string): unknown => {
    const v = meta[key];
    if (v === undefined) return undefined;
    try {
      return parseLooseJson(v);
    } catch {
      return fail(`metadata "${key}" is not readable: ${describeValue(v)}`);
    }
  };

  const inChannelsDim = input.shape?.[1];
  const inChannels = typeof inChannelsDim === 'number' ? inChannelsDim : 3;
  const outChannelsDim = output.shape?.[1];

  let names: string[] = [];
  const classNames = parse('class_names');
  if (Array.isArray(classNames)) names = classNames.map(String);
  else if (isObject(classNames)) {
    names = Object.entries(classNames)
      .sort((a, b) => Number(a[0]) - Number(b[0]))
      .map(([, v]) => String(v));
  }
  const outChannels = typeof outChannelsDim === 'number' ? outChannelsDim : Math.max(names.length, 1);
  let classes: ManifestClass[];
  let outputs: ModelManifest['outputs'];
  const threshold = parse('seg_thresh');
  if (outChannels === 1) {
    const name = names.length > 0 ? names[names.length - 1]! : 'foreground';
    classes = [{ name, color: defaultColor(0) }];
    outputs = { type: 'sigmoid', threshold: typeof threshold === 'number' ? threshold : 0.5 };
  } else {
    const fgNames = names.length === outChannels ? names.slice(1) : Array.from({ length: outChannels - 1 }, (_, i) => names[i] ?? `class ${i + 1}`);
    classes = fgNames.map((name, i) => ({ name, color: defaultColor(i) }));
    outputs = { type: 'softmax', backgroundChannel: true };
  }
  if (output.name) outputs.name = output.name;

  const hDim = input.shape?.[2];
  const wDim = input.shape?.[3];
  const tileMeta = parse('tile_size') ?? parse('tiles_size');
  let tileSize: [number, number];
  if (typeof hDim === 'number' && typeof wDim === 'number') tileSize = [wDim, hDim];
  else if (typeof tileMeta === 'number' && tileMeta >= 8) tileSize = [tileMeta, tileMeta];
  else tileSize = [512, 512];

  const mean = parse('standardization_mean');
  const std = parse('standardization_std');
  const meanArr = Array.isArray(mean) ? mean.map(Number) : [0];
  const stdArr = Array.isArray(std) ? std.map(Number) : [1];
  const overlapPct = parse('tiles_overlap');
  const resolutionCm = parse('resolution');
  const manifest: ModelManifest = {
    id: path.basename(onnxPath).replace(/\.onnx$/i, '').replace(/[^A-Za-z0-9._-]/g, '_'),
    name: path.basename(onnxPath),
    version: meta.version ?? meta.model_version ?? '0',
    task: 'semantic',
    kinds: ['geo', 'image'],
    file: path.basename(onnxPath),
    input: { channels: Array.from({ length: inChannels }, (_, i) => ['R', 'G', 'B', 'A'][i] ?? `band ${i + 1}`), name: input.name },
    normalization: { type: 'fixed', mean: meanArr.map((v) => v * 255), std: stdArr.map((v) => v * 255) },
    tileSize,
    classes,
    outputs,
    license: meta.license ?? 'unknown (Deepness metadata)',
  };
  if (typeof overlapPct === 'number' && overlapPct >= 0 && overlapPct < 100) manifest.tileOverlap = Math.min(0.9, overlapPct / 100);
  if (typeof resolutionCm === 'number' && resolutionCm > 0) manifest.resolution = { mPerPx: resolutionCm / 100 };
  // Re-validate: the derived manifest must satisfy the same contract as a hand-written one.
  return validateManifest(manifest, onnxPath);
}

// ---------------------------------------------------------------- registry

/** The folder holding package.json with name "delineate" (the repo, or the app's resources in a package). */
export function findAppRoot(start: string = __dirname): string | null {
  let dir = path.resolve(start);
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name;
        if (name === 'delineate') return dir;
      } catch {
        // An unreadable package.json on the way up is not ours; keep walking.
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

/** Model folders in search order: shipped (or DELINEATE_MODELS_DIR), then the user's (DELINEATE_USER_MODELS_DIR). */
export function modelRoots(env: NodeJS.ProcessEnv = process.env): Array<{ dir: string; source: 'builtin' | 'user' }> {
  const roots: Array<{ dir: string; source: 'builtin' | 'user' }> = [];
  const builtin = env.DELINEATE_MODELS_DIR ?? (findAppRoot() ? path.join(findAppRoot()!, 'models') : null);
  if (builtin) roots.push({ dir: path.resolve(builtin), source: 'builtin' });
  if (env.DELINEATE_USER_MODELS_DIR) roots.push({ dir: path.resolve(env.DELINEATE_USER_MODELS_DIR), source: 'user' });
  return roots;
}

/** A card paragraph as plain text for the picker: emphasis, inline code and link targets dropped, one line. */
export function plainParagraph(markdown: string): string {
  return markdown
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .replace(/(^|[^\w*])[*_]([^*_\s][^*_]*?)[*_](?=[^\w*]|$)/g, '$1$2')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/^\s*>\s?/gm, '')
    .replace(/\s+/g, ' ')
    .trim();
}

async function readCardSummary(manifestPath: string, manifest: ModelManifest): Promise<string | undefined> {
  const card = path.join(path.dirname(manifestPath), manifest.card ?? 'README.md');
  try {
    const text = await fs.readFile(card, 'utf8');
    // First paragraph that is not a heading.
    const para = text
      .split(/\r?\n\s*\r?\n/)
      .map((p) => p.trim())
      .find((p) => p.length > 0 && !p.startsWith('#'));
    return para === undefined ? undefined : plainParagraph(para);
  } catch {
    return undefined;
  }
}

async function fromManifest(manifestPath: string, source: ModelSource): Promise<ResolvedModel> {
  const manifest = await loadManifest(manifestPath);
  const onnxPath = path.resolve(path.dirname(manifestPath), manifest.file);
  const summary = await readCardSummary(manifestPath, manifest);
  return { manifest, onnxPath, manifestPath, source, ...(summary ? { summary } : {}) };
}

export interface RegistryScan {
  models: ResolvedModel[];
  /** Manifests that failed validation: listed, not fatal, so one broken model does not hide the others. */
  problems: Array<{ file: string; message: string }>;
}

/** Every `<root>/<id>/manifest.json`. A user model with a shipped model's id is reported, not loaded. */
export async function scanModels(env: NodeJS.ProcessEnv = process.env): Promise<RegistryScan> {
  const scan: RegistryScan = { models: [], problems: [] };
  const seen = new Set<string>();
  for (const root of modelRoots(env)) {
    let entries: string[];
    let onnxFiles: string[];
    try {
      const dirents = await fs.readdir(root.dir, { withFileTypes: true });
      entries = dirents.filter((e) => e.isDirectory()).map((e) => e.name).sort();
      onnxFiles = dirents.filter((e) => e.isFile() && /\.onnx$/i.test(e.name)).map((e) => e.name).sort();
    } catch {
      continue;
    }
    for (const name of entries) {
      const manifestPath = path.join(root.dir, name, 'manifest.json');
      if (!existsSync(manifestPath)) continue;
      try {
        const model = await fromManifest(manifestPath, root.source);
        if (seen.has(model.manifest.id)) {
          scan.problems.push({ file: manifestPath, message: `a model with id "${model.manifest.id}" is already installed` });
          continue;
        }
        seen.add(model.manifest.id);
        scan.models.push(model);
      } catch (err) {
        scan.problems.push({ file: manifestPath, message: (err as Error).message });
      }
    }
    // A bare .onnx dropped into a models folder works when it carries Deepness metadata (id = its file name).
    for (const name of onnxFiles) {
      const onnxPath = path.join(root.dir, name);
      try {
        const model: ResolvedModel = { manifest: manifestFromOnnxMetadata(await readOnnxInfo(onnxPath), onnxPath), onnxPath, manifestPath: null, source: root.source };
        if (seen.has(model.manifest.id)) {
          scan.problems.push({ file: onnxPath, message: `a model with id "${model.manifest.id}" is already installed` });
          continue;
        }
        seen.add(model.manifest.id);
        scan.models.push(model);
      } catch (err) {
        scan.problems.push({ file: onnxPath, message: (err as Error).message });
      }
    }
  }
  return scan;
}

export function summarize(model: ResolvedModel): ModelSummary {
  const m = model.manifest;
  return {
    id: m.id,
    name: m.name,
    version: m.version,
    task: m.task,
    kinds: m.kinds,
    classes: m.classes,
    license: m.license,
    ...(isNonCommercialLicense(m.license) ? { nonCommercial: true as const } : {}),
    source: model.source,
    ...(model.summary ? { summary: model.summary } : {}),
    ...(m.postprocess && Object.keys(m.postprocess).length ? { postprocess: m.postprocess } : {}),
    ...(m.testTimeFlips?.length ? { testTimeFlips: m.testTimeFlips } : {}),
    // validateManifest accepts the bound only beside testTimeFlips.
    ...(m.testTimeFlipsMinProbability ? { testTimeFlipsMinProbability: m.testTimeFlipsMinProbability } : {}),
  };
}

/**
 * `--model` as the user wrote it: an installed id, a model folder (with manifest.json), a manifest.json, or an
 * .onnx file (manifest.json beside it when its `file` names this model, else the ONNX metadata).
 */
export async function resolveModel(spec: string, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedModel> {
  const looksLikePath = /[\\/]/.test(spec) || /\.(onnx|json)$/i.test(spec);
  if (looksLikePath || existsSync(spec)) {
    const abs = path.resolve(spec);
    let stat;
    try {
      stat = await fs.stat(abs);
    } catch {
      throw new InputError(spec, 'no such model file or folder');
    }
    if (stat.isDirectory()) {
      const manifestPath = path.join(abs, 'manifest.json');
      if (!existsSync(manifestPath)) throw new InputError(spec, 'model folder has no manifest.json');
      return fromManifest(manifestPath, 'file');
    }
    if (/\.json$/i.test(abs)) return fromManifest(abs, 'file');
    const besides = path.join(path.dirname(abs), 'manifest.json');
    if (existsSync(besides)) {
      const model = await fromManifest(besides, 'file');
      if (path.resolve(model.onnxPath) === abs) return model;
    }
    const info = await readOnnxInfo(abs);
    return { manifest: manifestFromOnnxMetadata(info, abs), onnxPath: abs, manifestPath: null, source: 'file' };
  }
  const scan = await scanModels(env);
  const found = scan.models.find((m) => m.manifest.id === spec);
  if (found) return found;
  const broken = scan.problems.find((p) => path.basename(path.dirname(p.file)) === spec);
  if (broken) throw new InputError(broken.file, broken.message.replace(`${broken.file}: `, ''));
  const known = scan.models.map((m) => m.manifest.id);
  throw new InputError(spec, `no such model (installed: ${known.length ? known.join(', ') : 'none'}; or give a path to an .onnx file)`);
}
