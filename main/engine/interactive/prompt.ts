// Prompts -> one object: clicks (in command-line order), an optional box and an optional previous mask run through
// a prompt model step by step on one slice (each step sees every click so far and the mask of the step before, as
// in an interactive session); on volumes, Propagate carries the object slice by slice both ways (the neighbour's
// mask plus a positive click at its deepest point) until a slice comes out empty. The result is one instance,
// measured like any segmentation (measure/), and written as a result folder `delineate export` reads.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { NODATA_LABEL, type ClassRecord, type Geometry, type InstanceRecord, type InstancesDocument, type ManifestClass } from '../../../preload/formats';
import { InputError, type ImageSource } from '../image';
import { openImage } from '../io';
import { resolveModel, type ResolvedModel } from '../inference/manifest';
import type { DeviceRequest, ModelRuntime } from '../inference/runtime';
import { epsgCode, lonLatTransform, mapToPixel } from '../geo/crs';
import { writeFileAtomic } from '../io/atomic';
import { TiffWriter } from '../io/tiff-writer';
import { statsFromInstanceMap } from '../postprocess/instances';
import { addPixel, newComponentStats, type ComponentStats } from '../postprocess/components';
import { measureInstances, planeShapeFields, shapeContext } from '../measure/index';
import { labelColormap } from '../export/overlay';
import { measurementsCsv, resultRasters, writeResultFolder } from '../export/results';
import { sourceRecord } from '../segment-setup';
import { postprocess } from '../pipeline';
import { throwIfAborted } from '../inference/tiling';
import { deepestPointOf, MaskWindow, type Click2, type PixelBox } from './geometry';
import { openPromptModel, type PromptModel, type StepResult } from './models';
import { PromptImage } from './prompt-image';
import { maskContrast, propagationStops } from './propagate-stop';

/** A click as the user gives it: pixel indices (or map coordinates with pointCrs), z = slice. */
export interface Click {
  x: number;
  y: number;
  z?: number;
  positive: boolean;
}

export interface PromptBoxInput extends PixelBox {
  z?: number;
}

/** The object on each slice that holds some of it (slice -> mask). */
export type VolumeMask = Map<number, MaskWindow>;

/** Shipped interactive models by image kind. */
export const DEFAULT_PROMPT_MODELS = { medical: 'interactive-brain-flair', geo: 'interactive-geo-rgb' } as const;

export function defaultPromptModel(src: Pick<ImageSource, 'kind' | 'channels'>): string {
  if (src.kind === 'medical') return DEFAULT_PROMPT_MODELS.medical;
  if (src.kind === 'geo') return DEFAULT_PROMPT_MODELS.geo;
  return src.channels >= 3 ? DEFAULT_PROMPT_MODELS.geo : DEFAULT_PROMPT_MODELS.medical;
}

export interface StepRecord {
  z: number;
  clicks: number;
  crop: StepResult['crop'];
  modelMs: number;
  pixels: number;
}

export interface PromptRun {
  z: number;
  masks: VolumeMask;
  steps: StepRecord[];
  modelMs: number;
  /** Slices the object spans after propagation (inclusive), when it ran. */
  propagated?: [number, number];
}

/** Runs the clicks (and box) on their slice, then propagates when asked. Pure: nothing is written. */
export async function runPrompt(
  model: PromptModel,
  image: PromptImage,
  request: {
    clicks: ReadonlyArray<Click2 & { z: number }>;
    box: (PixelBox & { z: number }) | null;
    previous: VolumeMask;
    propagate: boolean;
    /** Without clicks or box: propagate the previous mask of this slice as it is. */
    startSlice?: number;
    /** Checked before each propagation step (the app's Cancel). */
    signal?: AbortSignal;
    /** After each propagation step: slices done of the volume's depth. */
    onSlice?: (done: number, total: number) => void;
  },
): Promise<PromptRun> {
  const zs = new Set([...request.clicks.map((c) => c.z), ...(request.box ? [request.box.z] : [])]);
  if (zs.size === 0 && request.startSlice === undefined) throw new RangeError('a prompt needs a click or a box');
  if (zs.size > 1) throw new RangeError(`every click and the box must be on one slice (got slices ${[...zs].sort((a, b) => a - b).join(', ')})`);
  const z = zs.size ? [...zs][0]! : request.startSlice!;
  const steps: StepRecord[] = [];
  let modelMs = 0;
  const record = (r: StepResult, zz: number, clicks: number): void => {
    modelMs += r.modelMs;
    steps.push({ z: zz, clicks, crop: r.crop, modelMs: r.modelMs, pixels: r.mask.count() });
  };
  model.reset();
  let mask = request.previous.get(z) ?? MaskWindow.empty();
  const box = request.box ? { x0: request.box.x0, y0: request.box.y0, x1: request.box.x1, y1: request.box.y1 } : null;
  const clicks: Click2[] = request.clicks.map((c) => ({ x: c.x, y: c.y, positive: c.positive }));
  // Click by click, as a user would have clicked them: each step sees the clicks so far and the last mask.
  const prefixes = clicks.length > 0 ? clicks.map((_, i) => i + 1) : box ? [0] : [];
  for (const k of prefixes) {
    const r = await model.step(image, { z, clicks: clicks.slice(0, k), box, previous: mask });
    record(r, z, k);
    mask = r.mask;
  }
  const masks: VolumeMask = new Map(request.previous);
  masks.set(z, mask.tight());
  if (!request.propagate || image.depth === 1) return { z, masks, steps, modelMs };

  // Propagate: the object on every other slice comes from this slice outward (a correction re-propagates).
  const out: VolumeMask = new Map([[z, mask.tight()]]);
  const spec = model.manifest.interactive;
  const stop = spec?.format === 'clickmaps' ? spec.propagateStop : undefined;
  const norm = model.manifest.normalization;
  const insideStart = stop ? (await maskContrast(image, norm, z, mask, 1)).inside : 0;
  let lo = z;
  let hi = z;
  for (const dir of [1, -1]) {
    let prev = mask;
    for (let zz = z + dir; zz >= 0 && zz < image.depth; zz += dir) {
      const seed = deepestPointOf(prev.tight());
      if (!seed) break;
      throwIfAborted(request.signal);
      const r = await model.step(image, { z: zz, clicks: [{ x: seed.x, y: seed.y, positive: true }], box: null, previous: prev, propagating: true });
      record(r, zz, 1);
      request.onSlice?.(steps.length - prefixes.length, image.depth - 1);
      if (r.mask.count() < 1) break;
      if (stop && propagationStops(await maskContrast(image, norm, zz, r.mask, stop.ringPx), insideStart, stop)) break;
      out.set(zz, r.mask.tight());
      lo = Math.min(lo, zz);
      hi = Math.max(hi, zz);
      prev = r.mask;
    }
  }
  return { z, masks: out, steps, modelMs, propagated: [lo, hi] };
}

// ---------------------------------------------------------------- files

export interface PromptFileOptions {
  /** Model id, manifest, folder or .onnx; default: the shipped interactive model for the image's kind. */
  model?: string | ResolvedModel;
  clicks: Click[];
  box?: PromptBoxInput | null;
  /** Previous labels file (same grid as the image). */
  maskFile?: string;
  propagate?: boolean;
  /** Label value of the object (default 1). */
  classId?: number;
  /** Clicks and box in this CRS's map coordinates instead of pixels ("EPSG:n"). */
  pointCrs?: string;
  device?: DeviceRequest;
  threads?: number;
  runtime?: ModelRuntime;
  openOptions?: { spacingMm?: number[] };
  /** 2D rasters above this many pixels are read and written window by window (default 4096 x 4096). */
  wholeReadMaxPx?: number;
}

export interface PromptFileOutcome {
  document: InstancesDocument;
  prompt: PromptJson;
  files: string[];
}

export interface PromptJson {
  model: { id: string; name: string; version: string; format: string };
  clicks: Array<{ x: number; y: number; z?: number; positive: boolean }>;
  box: { x0: number; y0: number; x1: number; y1: number; z?: number } | null;
  /** Whole call, from opening the image to the written folder. */
  seconds: number;
  /** onnxruntime run time of this call only (no loading or file IO). */
  modelSeconds: number;
  /** The region the model saw in the last step on the clicked slice. */
  crop: (StepResult['crop'] & { z?: number }) | null;
  steps: StepRecord[];
  propagated?: [number, number];
}

/** Clicks in map coordinates (pointCrs) -> pixel indices of the image. */
function mapToPixelIndex(src: ImageSource, crs: string, x: number, y: number): [number, number] {
  const g = src.geometry;
  if (g.type !== 'geo' || !g.crs) throw new InputError(src.file, '--point-crs needs a georeferenced image with a CRS');
  let mx = x;
  let my = y;
  const same = epsgCode(crs) !== null && epsgCode(crs) === epsgCode(g.crs);
  if (!same) {
    try {
      const [lon, lat] = lonLatTransform(crs).toLonLat(x, y);
      [mx, my] = lonLatTransform(g.crs).fromLonLat(lon, lat);
    } catch (err) {
      throw new InputError(src.file, `cannot transform --point-crs ${crs} to the image's CRS (${(err as Error).message})`);
    }
  }
  const [col, row] = mapToPixel(g.geotransform, mx, my);
  return [Math.floor(col), Math.floor(row)];
}

/** Refuses coordinates outside the image, naming the option and the valid range. */
function checkPixel(src: ImageSource, what: string, x: number, y: number, z: number | undefined): number {
  const where = `${what} ${x},${y}${z !== undefined ? `,${z}` : ''}`;
  if (![x, y].every(Number.isInteger)) throw new InputError(src.file, `${where}: pixel coordinates are whole numbers (zero-based column,row)`);
  if (x < 0 || x >= src.width) throw new InputError(src.file, `${where}: x is outside the image (0..${src.width - 1})`);
  if (y < 0 || y >= src.height) throw new InputError(src.file, `${where}: y is outside the image (0..${src.height - 1})`);
  if (z === undefined) {
    if (src.depth > 1) throw new InputError(src.file, `${where}: the image has ${src.depth} slices; give x,y,z`);
    return 0;
  }
  if (!Number.isInteger(z) || z < 0 || z >= src.depth) throw new InputError(src.file, `${where}: z is outside the image (0..${src.depth - 1})`);
  return z;
}

/** Reads --mask into per-slice windows (the object: value === classId when given, else any label but nodata). */
async function readPreviousMask(file: string, src: ImageSource, classId: number | undefined, image: PromptImage): Promise<VolumeMask> {
  const labels = await openImage(file);
  try {
    if (labels.width !== src.width || labels.height !== src.height || labels.depth !== src.depth) {
      throw new InputError(file, `label map is ${labels.width}x${labels.height}x${labels.depth}; the image is ${src.width}x${src.height}x${src.depth}`);
    }
    if (labels.channels !== 1) throw new InputError(file, `a label map has one channel; this has ${labels.channels}`);
    const isObject = (v: number): boolean => (classId !== undefined ? v === classId : v !== 0 && v !== 255 && v !== 65535 && !Number.isNaN(v));
    const { width: W, height: H, depth: D } = src;
    const out: VolumeMask = new Map();
    if (image.inMemory) {
      const block = await labels.read();
      for (let z = 0; z < D; z++) {
        const m = new MaskWindow(0, 0, W, H);
        let any = false;
        for (let i = 0; i < W * H; i++) {
          if (isObject(block.data[z * W * H + i]!)) {
            m.data[i] = 1;
            any = true;
          }
        }
        if (any) out.set(z, m.tight());
      }
      return out;
    }
    // Large raster: find the object's rows strip by strip, then read only its box.
    const strip = 512;
    let box: PixelBox | null = null;
    for (let y = 0; y < H; y += strip) {
      const h = Math.min(strip, H - y);
      const block = await labels.read({ x: 0, y, width: W, height: h, channels: [0] });
      const m = new MaskWindow(0, y, W, h);
      for (let i = 0; i < W * h; i++) if (isObject(block.data[i]!)) m.data[i] = 1;
      const b = m.bbox();
      if (b) box = box ? { x0: Math.min(box.x0, b.x0), y0: Math.min(box.y0, b.y0), x1: Math.max(box.x1, b.x1), y1: Math.max(box.y1, b.y1) } : b;
    }
    if (box) {
      const w = box.x1 - box.x0 + 1;
      const h = box.y1 - box.y0 + 1;
      const block = await labels.read({ x: box.x0, y: box.y0, width: w, height: h, channels: [0] });
      const m = new MaskWindow(box.x0, box.y0, w, h);
      for (let i = 0; i < w * h; i++) if (isObject(block.data[i]!)) m.data[i] = 1;
      out.set(0, m);
    }
    return out;
  } finally {
    await labels.close();
  }
}

const DEFAULT_COLORS = ['#e6194b', '#3cb44b', '#ffe119', '#4363d8', '#f58231', '#911eb4', '#46f0f0', '#f032e6'];

/** Class list whose entry classId is the object's class (the others are placeholders, as `measure` names them). */
function classList(classId: number, objectClass: ManifestClass): ManifestClass[] {
  return Array.from({ length: classId }, (_, i) => (i === classId - 1 ? objectClass : { name: `class ${i + 1}`, color: DEFAULT_COLORS[i % DEFAULT_COLORS.length]! }));
}

/** Result files other runs may have left that this one does not write (the folder holds exactly one labels.*). */
async function removeStale(outDir: string, written: string[]): Promise<void> {
  const keep = new Set(written.map((f) => path.basename(f)));
  const names = await fs.readdir(outDir).catch(() => [] as string[]);
  for (const n of names) {
    if (/^(labels|instances|probabilities)\.(tif|nii|nii\.gz)$/.test(n) || n === 'overlay.png') {
      if (!keep.has(n)) await fs.rm(path.join(outDir, n), { force: true });
    }
  }
}

/** In memory: the full label and instance maps, measured by the segmentation's own post-processing. */
async function writeInMemory(src: ImageSource, image: PromptImage, masks: VolumeMask, z: number, outDir: string, classes: ManifestClass[], classId: number, model: InstancesDocument['model']): Promise<{ document: InstancesDocument; files: string[] }> {
  const { width: W, height: H, depth: D } = src;
  const plane = W * H;
  const labels = classId > 254 ? new Uint16Array(plane * D) : new Uint8Array(plane * D);
  const instances = new Uint32Array(plane * D);
  for (const [z, m] of masks) {
    const full = m.full(W, H);
    for (let i = 0; i < plane; i++) {
      if (!full[i]) continue;
      labels[z * plane + i] = classId;
      instances[z * plane + i] = 1;
    }
  }
  const intensity = await image.channelZero();
  const stats = statsFromInstanceMap({ instances, labels, width: W, height: H, depth: D, intensity });
  const geometry = src.geometry;
  const nodataLabel = classId > 254 ? 65535 : NODATA_LABEL;
  const post = postprocess({ labels, nodataLabel, width: W, height: H, depth: D, classes, geometry, intensity, connectivity: D > 1 ? 26 : 8, given: { instances, stats } });
  const document: InstancesDocument = { source: sourceRecord(src, geometry), ...(model ? { model } : {}), classes: post.classes, instances: post.instances };
  const displayChannels = src.channels >= 3 ? 3 : 1;
  const display = await src.read({ channels: Array.from({ length: displayChannels }, (_, c) => c) });
  const maps = { width: W, height: H, depth: D, geometry, classes, labels, nodataLabel, instances: post.instanceMap };
  const rasters = resultRasters(src.kind, maps, post.instances.length, { data: display.data, channels: displayChannels }, z);
  return { document, files: await writeResultFolder(outDir, document, rasters) };
}

/**
 * Large 2D rasters: the object is measured from its own box (same fields as the in-memory path) and the label and
 * instance rasters are streamed strip by strip, so memory follows the object, not the raster.
 */
async function writeStreamed(src: ImageSource, masks: VolumeMask, outDir: string, classes: ManifestClass[], classId: number, model: InstancesDocument['model']): Promise<{ document: InstancesDocument; files: string[] }> {
  const { width: W, height: H } = src;
  const geometry: Geometry = src.geometry;
  const mask = (masks.get(0) ?? MaskWindow.empty()).tight();
  const instances: InstanceRecord[] = [];
  let classRecords: ClassRecord[];
  const count = mask.count();
  if (count > 0) {
    const inten = (await src.read({ x: mask.x, y: mask.y, width: mask.width, height: mask.height, channels: [0] })).data;
    let stat: ComponentStats | null = null;
    for (let y = 0; y < mask.height; y++) {
      for (let x = 0; x < mask.width; x++) {
        if (!mask.data[y * mask.width + x]) continue;
        // Statistics start at the first pixel in raster order, as connected components gathers them.
        stat ??= newComponentStats(1, classId, mask.x + x, mask.y + y, 0);
        addPixel(stat, mask.x + x, mask.y + y, 0, undefined, inten[y * mask.width + x]);
      }
    }
    if (!stat) throw new Error('unreachable: a non-empty mask has a first pixel');
    const shapes = [planeShapeFields(stat, mask.data, shapeContext(geometry, W, H, 8))];
    const classPixelCounts = new Array<number>(classId + 1).fill(0);
    classPixelCounts[classId] = count;
    const measured = measureInstances([stat], { geometry, depth: 1, classes, validPixelCount: W * H, classPixelCounts, hasProbability: false, hasIntensity: true, shapes, width: W, height: H });
    instances.push(...measured.instances);
    classRecords = measured.classes;
  } else {
    classRecords = measureInstances([], { geometry, depth: 1, classes, validPixelCount: W * H, classPixelCounts: [], hasProbability: false, hasIntensity: false }).classes;
  }
  await fs.mkdir(outDir, { recursive: true });
  const labelsPath = path.join(outDir, 'labels.tif');
  const instancesPath = path.join(outDir, 'instances.tif');
  const classNames = classes.map((c, i) => `${i + 1}=${c.name}`).join(';');
  const dtype = classId > 254 ? 'uint16' : 'uint8';
  const nodataLabel = classId > 254 ? 65535 : NODATA_LABEL;
  const lw = await TiffWriter.open(labelsPath, { width: W, height: H, channels: 1, dtype, geometry, nodata: nodataLabel }, { colormap: labelColormap(classes, dtype === 'uint8' ? 256 : 65536), description: `labels: 0=none;${classNames};${nodataLabel}=nodata` });
  const iw = await TiffWriter.open(instancesPath, { width: W, height: H, channels: 1, dtype: 'uint16', geometry }, { description: 'instances: value = id in instances.json, 0 = none' });
  try {
    const rows = lw.tileSize;
    for (let y = 0; y < H; y += rows) {
      const h = Math.min(rows, H - y);
      const l = dtype === 'uint8' ? new Uint8Array(W * h) : new Uint16Array(W * h);
      const inst = new Uint16Array(W * h);
      for (let yy = Math.max(y, mask.y); yy < Math.min(y + h, mask.y + mask.height); yy++) {
        for (let x = 0; x < mask.width; x++) {
          if (!mask.data[(yy - mask.y) * mask.width + x]) continue;
          l[(yy - y) * W + mask.x + x] = classId;
          inst[(yy - y) * W + mask.x + x] = 1;
        }
      }
      await lw.writeWindow(0, y, W, h, l);
      await iw.writeWindow(0, y, W, h, inst);
    }
    await lw.close();
    await iw.close();
  } catch (err) {
    await lw.abort();
    await iw.abort();
    throw err;
  }
  const document: InstancesDocument = { source: sourceRecord(src, geometry), ...(model ? { model } : {}), classes: classRecords, instances };
  const jsonPath = path.join(outDir, 'instances.json');
  const csvPath = path.join(outDir, 'measurements.csv');
  await writeFileAtomic(jsonPath, JSON.stringify(document, null, 2) + '\n');
  await writeFileAtomic(csvPath, measurementsCsv(document.instances));
  return { document, files: [labelsPath, instancesPath, jsonPath, csvPath] };
}

/** `delineate prompt`: opens the image and model, runs the prompts, writes the result folder and prompt.json. */
export async function promptToFolder(imagePath: string, outDir: string, options: PromptFileOptions): Promise<PromptFileOutcome> {
  const started = performance.now();
  const src = await openImage(imagePath, options.openOptions ?? {});
  let model: PromptModel | null = null;
  try {
    const resolved = typeof options.model === 'object' ? options.model : await resolveModel(options.model ?? defaultPromptModel(src));
    const m = resolved.manifest;
    if (m.task !== 'prompt' || !m.interactive) throw new InputError(resolved.manifestPath ?? resolved.onnxPath, `"${m.id}" is not an interactive model (task "${m.task}"); prompt needs a model with "task": "prompt"`);
    if (!m.kinds.includes(src.kind)) throw new InputError(imagePath, `model "${m.id}" is for ${m.kinds.join('/')} images; this image is ${src.kind}`);
    const classId = options.classId ?? 1;
    // Coordinates: map -> pixel when asked, then checked against the image (one line naming the option).
    const toPixel = (what: string, x: number, y: number, z: number | undefined): { x: number; y: number; z: number } => {
      const [px, py] = options.pointCrs ? mapToPixelIndex(src, options.pointCrs, x, y) : [x, y];
      return { x: px, y: py, z: checkPixel(src, what, px, py, z) };
    };
    const clicks = options.clicks.map((c) => ({ ...toPixel(c.positive ? '--point' : '--negative', c.x, c.y, c.z), positive: c.positive }));
    let box: (PixelBox & { z: number }) | null = null;
    if (options.box) {
      const a = toPixel('--box', options.box.x0, options.box.y0, options.box.z);
      const b = toPixel('--box', options.box.x1, options.box.y1, options.box.z);
      box = { x0: Math.min(a.x, b.x), y0: Math.min(a.y, b.y), x1: Math.max(a.x, b.x), y1: Math.max(a.y, b.y), z: a.z };
    }
    if (clicks.length === 0 && !box) throw new InputError(imagePath, 'give at least one --point or a --box');
    const zs = new Set([...clicks.map((c) => c.z), ...(box ? [box.z] : [])]);
    if (zs.size > 1) throw new InputError(imagePath, `clicks and box must be on one slice (got slices ${[...zs].sort((a, b) => a - b).join(', ')}); run prompt once per slice`);
    if (clicks.length > 0 && !box && !clicks.some((c) => c.positive) && !options.maskFile) throw new InputError(imagePath, 'the first prompt needs a --point (include) or a --box; --negative only corrects an object');

    const channels = m.interactive.format === 'sam' ? Math.min(3, src.channels) : m.input.channels.length;
    const image = new PromptImage(src, channels, options.wholeReadMaxPx);
    const previous = options.maskFile ? await readPreviousMask(options.maskFile, src, options.classId, image) : new Map<number, MaskWindow>();
    model = await openPromptModel(resolved, { device: options.device ?? 'cpu', ...(options.threads ? { threads: options.threads } : {}), ...(options.runtime ? { runtime: options.runtime } : {}) });
    const run = await runPrompt(model, image, { clicks, box, previous, propagate: options.propagate === true });

    const classes = classList(classId, m.classes[0] ?? { name: 'object', color: '#ffcc00' });
    const modelRecord = { id: m.id, name: m.name, version: m.version };
    const written = image.inMemory ? await writeInMemory(src, image, run.masks, run.z, outDir, classes, classId, modelRecord) : await writeStreamed(src, run.masks, outDir, classes, classId, modelRecord);
    const last = [...run.steps].reverse().find((s) => s.z === run.z) ?? null;
    const prompt: PromptJson = {
      model: { ...modelRecord, format: m.interactive.format },
      clicks: clicks.map((c) => ({ x: c.x, y: c.y, ...(src.depth > 1 ? { z: c.z } : {}), positive: c.positive })),
      box: box ? { x0: box.x0, y0: box.y0, x1: box.x1, y1: box.y1, ...(src.depth > 1 ? { z: box.z } : {}) } : null,
      seconds: 0,
      modelSeconds: run.modelMs / 1000,
      crop: last ? { ...last.crop, ...(src.depth > 1 ? { z: last.z } : {}) } : null,
      steps: run.steps,
      ...(run.propagated ? { propagated: run.propagated } : {}),
    };
    const promptPath = path.join(outDir, 'prompt.json');
    prompt.seconds = (performance.now() - started) / 1000;
    await writeFileAtomic(promptPath, JSON.stringify(prompt, null, 2) + '\n');
    const files = [...written.files, promptPath];
    await removeStale(outDir, files);
    return { document: written.document, prompt, files };
  } finally {
    await model?.dispose();
    await src.close();
  }
}
