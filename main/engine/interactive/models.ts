// Prompt models: a manifest with "task": "prompt" names either our click model ("clickmaps": image crop + click
// disks + previous mask -> probability) or a SAM-family encoder/decoder pair ("sam"). Both run one click step on
// one slice (or tile): all clicks so far, an optional box and the previous mask in, the new mask out. Files and
// input/output names are checked from the ONNX headers before onnxruntime opens anything, so a wrong export is one
// clear line naming the file, not a native error.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { ClickmapsSpec, ModelManifest, SamSpec } from '../../../preload/formats';
import { InputError } from '../image';
import type { ResolvedModel } from '../inference/manifest';
import { readOnnxInfo, type OnnxModelInfo } from '../inference/onnx-meta';
import { addFlipped, flipTensor } from '../inference/tiling';
import { createOrtRuntime, type DeviceRequest, type ModelRuntime, type ModelSession, type MultiSession, type NamedTensor } from '../inference/runtime';
import { chooseCrop, clickMaps, clipCrop, growCrop, MaskWindow, pasteCrop, resampleCrop, resampleMaskNearest, touchesInnerSide, upsampleThreshold, honourLastClick, linearTaps, type Click2, type Crop, type PixelBox } from './geometry';
import { normalizeRegion, regionAffines, type PromptImage, type RawRegion } from './prompt-image';

/** One click step's input on slice z. */
export interface StepInput {
  z: number;
  /** Every click so far on this slice, in order. */
  clicks: readonly Click2[];
  box: PixelBox | null;
  /** The mask before this step (empty for the first). */
  previous: MaskWindow;
  /**
   * True for Propagate's steps (previous = the neighbouring slice's mask, the click its deepest point): the manifest's
   * `clickLevelSetMin` honours the user's own clicks only, so that a slice past the object's end can come out empty.
   */
  propagating?: boolean;
}

export interface StepResult {
  mask: MaskWindow;
  /** The region the model saw (the final crop or the SAM tile), native pixels. */
  crop: Crop | { x0: number; y0: number; width: number; height: number };
  /** onnxruntime time of this step, ms (SAM: encoder runs included when the embedding was not cached). */
  modelMs: number;
}

export interface PromptModel {
  readonly manifest: ModelManifest;
  readonly format: 'clickmaps' | 'sam';
  step(image: PromptImage, input: StepInput): Promise<StepResult>;
  /** Forget per-slice state from earlier steps (SAM low-res masks), e.g. before replaying clicks from scratch. */
  reset(): void;
  dispose(): Promise<void>;
}

export interface OpenPromptOptions {
  device?: DeviceRequest;
  threads?: number;
  runtime?: ModelRuntime;
}

export const SAM_DECODER_INPUTS = ['image_embeddings', 'point_coords', 'point_labels', 'mask_input', 'has_mask_input', 'orig_im_size'] as const;
export const SAM_DECODER_OUTPUTS = ['masks', 'low_res_masks'] as const;

/** The manifest's prompt spec, or a clear refusal when the model is not a prompt model. */
function promptSpec(model: ResolvedModel): ClickmapsSpec | SamSpec {
  const spec = model.manifest.interactive;
  const where = model.manifestPath ?? model.onnxPath;
  if (model.manifest.task !== 'prompt' || !spec) throw new InputError(where, `"${model.manifest.id}" is not an interactive model (its manifest needs "task": "prompt" and an "interactive" block)`);
  return spec;
}

async function onnxHeader(file: string, role: string, manifestFile: string): Promise<OnnxModelInfo> {
  if (!existsSync(file)) throw new InputError(manifestFile, `${role} "${path.basename(file)}" does not exist (looked for ${file})`);
  return readOnnxInfo(file);
}

function names(list: ReadonlyArray<{ name: string }>): string {
  return list.map((t) => t.name).join(', ') || 'none';
}

/** Checks a prompt model's files and input/output names; returns the paths to open. */
export async function checkPromptModel(model: ResolvedModel): Promise<{ spec: ClickmapsSpec | SamSpec; files: string[] }> {
  const spec = promptSpec(model);
  const where = model.manifestPath ?? model.onnxPath;
  const dir = path.dirname(model.manifestPath ?? model.onnxPath);
  if (spec.format === 'clickmaps') {
    const info = await onnxHeader(model.onnxPath, 'model file', where);
    const inputName = model.manifest.input.name ?? 'input';
    const outputName = model.manifest.outputs.name ?? 'output';
    const input = info.inputs.find((i) => i.name === inputName);
    if (!input) throw new InputError(model.onnxPath, `has no input "${inputName}" (it has ${names(info.inputs)})`);
    if (!info.outputs.some((o) => o.name === outputName)) throw new InputError(model.onnxPath, `has no output "${outputName}" (it has ${names(info.outputs)})`);
    const channels = model.manifest.input.channels.length + 3;
    const declared = input.shape?.[1];
    if (input.shape && input.shape.length !== 4) throw new InputError(model.onnxPath, `input "${inputName}" has rank ${input.shape.length}; a click model takes [N, C, S, S]`);
    if (typeof declared === 'number' && declared !== channels) {
      throw new InputError(model.onnxPath, `input "${inputName}" has ${declared} channels; the manifest's ${model.manifest.input.channels.length} image channels + 3 click/mask maps make ${channels}`);
    }
    return { spec, files: [model.onnxPath] };
  }
  const encoder = path.resolve(dir, spec.encoder);
  const decoder = path.resolve(dir, spec.decoder);
  const enc = await onnxHeader(encoder, 'encoder', where);
  const dec = await onnxHeader(decoder, 'decoder', where);
  if (enc.inputs.length !== 1) throw new InputError(encoder, `a SAM encoder takes one image input; this has ${enc.inputs.length} (${names(enc.inputs)})`);
  const encShape = enc.inputs[0]!.shape;
  if (encShape && encShape.length !== 4) throw new InputError(encoder, `input "${enc.inputs[0]!.name}" has rank ${encShape.length}; a SAM encoder takes [1, 3, ${spec.imageSize}, ${spec.imageSize}]`);
  if (encShape) {
    const [, c, h, w] = encShape;
    if ((typeof c === 'number' && c !== 3) || (typeof h === 'number' && h !== spec.imageSize) || (typeof w === 'number' && w !== spec.imageSize)) {
      throw new InputError(encoder, `input "${enc.inputs[0]!.name}" is [${encShape.join(', ')}]; the manifest's imageSize ${spec.imageSize} needs [1, 3, ${spec.imageSize}, ${spec.imageSize}]`);
    }
  }
  const missingIn = SAM_DECODER_INPUTS.filter((n) => !dec.inputs.some((i) => i.name === n));
  if (missingIn.length) throw new InputError(decoder, `is not a SAM decoder: missing input${missingIn.length > 1 ? 's' : ''} ${missingIn.join(', ')} (it has ${names(dec.inputs)})`);
  const extra = dec.inputs.filter((i) => !(SAM_DECODER_INPUTS as readonly string[]).includes(i.name));
  if (extra.length) throw new InputError(decoder, `has inputs a SAM decoder does not have: ${names(extra)}`);
  const missingOut = SAM_DECODER_OUTPUTS.filter((n) => !dec.outputs.some((o) => o.name === n));
  if (missingOut.length) throw new InputError(decoder, `is not a SAM decoder: missing output${missingOut.length > 1 ? 's' : ''} ${missingOut.join(', ')} (it has ${names(dec.outputs)})`);
  for (const t of [...dec.inputs, ...enc.inputs]) {
    if (t.elemType !== 'float32') throw new InputError(t === enc.inputs[0] ? encoder : decoder, `input "${t.name}" is ${t.elemType}; float32 is expected`);
  }
  return { spec, files: [encoder, decoder] };
}

/** Opens a prompt model after checking it. */
export async function openPromptModel(model: ResolvedModel, options: OpenPromptOptions = {}): Promise<PromptModel> {
  const { spec, files } = await checkPromptModel(model);
  const runtime = options.runtime ?? createOrtRuntime();
  const device = options.device ?? 'cpu';
  const threads = options.threads;
  if (spec.format === 'clickmaps') {
    const session = await runtime.createSession(files[0]!, {
      device,
      ...(threads ? { threads } : {}),
      inputName: model.manifest.input.name ?? 'input',
      outputName: model.manifest.outputs.name ?? 'output',
    });
    return new ClickmapsModel(model.manifest, spec, session);
  }
  if (!runtime.createMultiSession) throw new Error('this runtime cannot open models with several inputs');
  const encoder = await runtime.createMultiSession(files[0]!, { device, ...(threads ? { threads } : {}) });
  try {
    const decoder = await runtime.createMultiSession(files[1]!, { device, ...(threads ? { threads } : {}) });
    return new SamModel(model.manifest, spec, encoder, decoder);
  } catch (err) {
    await encoder.dispose();
    throw err;
  }
}

// ---------------------------------------------------------------- our click model

class ClickmapsModel implements PromptModel {
  readonly format = 'clickmaps';
  constructor(
    readonly manifest: ModelManifest,
    private readonly spec: ClickmapsSpec,
    private readonly session: ModelSession,
  ) {}

  reset(): void {}

  /** The normalised inside-the-image part of a crop. */
  private async cropPart(image: PromptImage, z: number, crop: Crop): Promise<{ part: Float32Array; region: ReturnType<typeof clipCrop> }> {
    const region = clipCrop(crop, image.width, image.height);
    const raw: RawRegion = await image.read(z, region.x, region.y, region.width, region.height);
    const norm = this.manifest.normalization;
    const affines = norm.type === 'percentile' && norm.scope === 'crop' ? regionAffines(norm, raw) : await image.wholeAffines(norm, z);
    return { part: normalizeRegion(raw, affines), region };
  }

  /**
   * One click step, then the manifest's refinement passes (`refinePasses`; with `refineFirstOnly` only for a first
   * step): the same clicks and box again with the new mask as the previous mask, so the crop zooms in on the object.
   * The result is the last pass's mask and crop; modelMs counts every pass.
   */
  async step(image: PromptImage, input: StepInput): Promise<StepResult> {
    let r = await this.stepOnce(image, input);
    const { refinePasses, refineFirstOnly } = this.spec;
    // Only a refining model looks at whether this is a first step (a scan of the previous mask).
    if (refinePasses === 0 || (refineFirstOnly && (input.box !== null || input.previous.bbox() !== null))) return r;
    for (let i = 0; i < refinePasses && r.mask.count() > 0; i++) {
      const again = await this.stepOnce(image, { ...input, previous: r.mask });
      r = { ...again, modelMs: r.modelMs + again.modelMs };
    }
    return r;
  }

  private async stepOnce(image: PromptImage, input: StepInput): Promise<StepResult> {
    const { spec } = this;
    const S = spec.cropSize;
    const C = this.manifest.input.channels.length;
    const { width: W, height: H } = image;
    let crop = chooseCrop(input.clicks, input.previous.bbox(), input.box, spec);
    let modelMs = 0;
    for (let level = 0; ; level++) {
      const x = new Float32Array((C + 3) * S * S);
      const { part, region } = await this.cropPart(image, input.z, crop);
      resampleCrop(part, C, region.width, region.height, region.x - crop.x0, region.y - crop.y0, crop.side, S, x);
      clickMaps(input.clicks, crop, S, spec.clickRadiusPx, x.subarray(C * S * S, (C + 2) * S * S));
      resampleMaskNearest(input.previous, crop, S, W, H, x.subarray((C + 2) * S * S));
      const t0 = performance.now();
      const prob = await this.predict(x, C + 3, S);
      modelMs += performance.now() - t0;
      const pred = upsampleThreshold(prob, S, crop.side, spec.threshold);
      const last = input.clicks[input.clicks.length - 1];
      if (spec.clickLevelSetMin > 0 && !input.propagating && last) honourLastClick(pred, prob, S, crop, last, spec.clickLevelSetMin);
      if (level < spec.maxBorderGrow && touchesInnerSide(pred, crop, W, H)) {
        crop = growCrop(crop);
        continue;
      }
      return { mask: pasteCrop(input.previous, pred, crop, W, H), crop, modelMs };
    }
  }

  /**
   * The object's probability on the S x S crop: one model call, with the manifest's test-time flips as more items
   * of the same batch (every input plane mirrored alike), the outputs mirrored back and averaged.
   */
  private async predict(x: Float32Array, planes: number, S: number): Promise<Float32Array> {
    const flips = this.manifest.testTimeFlips ?? [];
    const n = 1 + flips.length;
    const plane = planes * S * S;
    let input = x;
    if (flips.length) {
      input = new Float32Array(n * plane);
      input.set(x);
      flips.forEach((f, i) => flipTensor(x, planes, S, S, f, input.subarray((i + 1) * plane, (i + 2) * plane)));
    }
    const out = await this.session.run({ data: input, dims: [n, planes, S, S] });
    if (out.dims[0] !== n || out.dims[2] !== S || out.dims[3] !== S) throw new Error(`the click model returned ${out.dims.join('x')}; expected ${n}x1x${S}x${S}`);
    if (!flips.length) return out.data.subarray(0, S * S);
    // (plain + mirrored back ...) / n, the scaling folded into the last addition (as the automatic models' flips).
    const sum = out.data.slice(0, S * S);
    flips.forEach((f, i) => addFlipped(sum, out.data.subarray((i + 1) * S * S, (i + 2) * S * S), 1, S, S, f, i === flips.length - 1 ? 1 / n : 1));
    return sum;
  }

  async dispose(): Promise<void> {
    await this.session.dispose();
  }
}

// ---------------------------------------------------------------- SAM-family pairs

/** The part of a slice one embedding covers: the whole slice, or a tile of a large raster. */
interface Tile {
  z: number;
  x0: number;
  y0: number;
  width: number;
  height: number;
}

interface Embedding {
  tensor: NamedTensor;
  bytes: number;
}

/** Least recently used cache bounded by bytes. */
export class ByteLru<V extends { bytes: number }> {
  private readonly map = new Map<string, V>();
  private total = 0;
  constructor(readonly maxBytes: number) {}

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v) {
      // Re-insert: Map keeps insertion order, so the first key is always the least recently used.
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, value: V): void {
    const old = this.map.get(key);
    if (old) {
      this.total -= old.bytes;
      this.map.delete(key);
    }
    this.map.set(key, value);
    this.total += value.bytes;
    for (const [k, v] of this.map) {
      if (this.total <= this.maxBytes || k === key) break;
      this.map.delete(k);
      this.total -= v.bytes;
    }
  }

  get size(): number {
    return this.map.size;
  }
  get bytes(): number {
    return this.total;
  }
}

/** Percentile (0..100, linear) of valid values of one channel. */
function channelPercentiles(region: RawRegion, c: number, ps: number[]): number[] {
  const n = region.width * region.height;
  const vals: number[] = [];
  for (let i = 0; i < n; i++) if (region.valid[i]) vals.push(region.data[c * n + i]!);
  if (vals.length === 0) return ps.map(() => 0);
  vals.sort((a, b) => a - b);
  return ps.map((p) => {
    const r = (p / 100) * (vals.length - 1);
    const lo = Math.floor(r);
    const hi = Math.min(vals.length - 1, lo + 1);
    return vals[lo]! + (vals[hi]! - vals[lo]!) * (r - lo);
  });
}

class SamModel implements PromptModel {
  readonly format = 'sam';
  private readonly cache: ByteLru<Embedding>;
  /** The decoder's last low-res logits per tile: the next click refines them (how SAM takes corrections). */
  private readonly lowRes = new Map<string, NamedTensor>();
  /** The tile of each slice once chosen, so every click of one object reuses one embedding. */
  private readonly tiles = new Map<number, Tile>();
  /** Encoder runs so far (tests check the cache). */
  encoderRuns = 0;

  constructor(
    readonly manifest: ModelManifest,
    private readonly spec: SamSpec,
    private readonly encoder: MultiSession,
    private readonly decoder: MultiSession,
  ) {
    this.cache = new ByteLru<Embedding>(spec.cacheMb * 1024 * 1024);
  }

  reset(): void {
    this.lowRes.clear();
    this.tiles.clear();
  }

  private tileFor(image: PromptImage, input: StepInput): Tile {
    const known = this.tiles.get(input.z);
    if (known) return known;
    const { width: W, height: H } = image;
    const S = this.spec.imageSize;
    let tile: Tile;
    if (Math.max(W, H) <= 2 * S) tile = { z: input.z, x0: 0, y0: 0, width: W, height: H };
    else {
      // Large rasters: one S x S tile at native resolution around the prompt, on a grid of S/2 so nearby objects
      // share embeddings.
      const b = input.box ?? input.previous.bbox() ?? { x0: input.clicks[0]!.x, y0: input.clicks[0]!.y, x1: input.clicks[0]!.x, y1: input.clicks[0]!.y };
      const half = Math.floor(S / 2);
      const snap = (centre: number, extent: number): number => Math.max(0, Math.min(Math.max(0, extent - S), Math.round((centre - half) / half) * half));
      const x0 = snap((b.x0 + b.x1) / 2, W);
      const y0 = snap((b.y0 + b.y1) / 2, H);
      tile = { z: input.z, x0, y0, width: Math.min(S, W - x0), height: Math.min(S, H - y0) };
    }
    this.tiles.set(input.z, tile);
    return tile;
  }

  private scaleOf(tile: Tile): { scale: number; newW: number; newH: number } {
    const S = this.spec.imageSize;
    const scale = S / Math.max(tile.width, tile.height);
    return { scale, newW: Math.floor(tile.width * scale + 0.5), newH: Math.floor(tile.height * scale + 0.5) };
  }

  /** Encoder input: the tile as 0..255 RGB, resized to the longest side S, normalised, zero-padded to S x S. */
  private async encoderInput(image: PromptImage, tile: Tile): Promise<Float32Array> {
    const S = this.spec.imageSize;
    const raw = await image.read(tile.z, tile.x0, tile.y0, tile.width, tile.height);
    const n = tile.width * tile.height;
    const rgb = new Float32Array(3 * n);
    const eightBit = image.src.dtype === 'uint8';
    for (let c = 0; c < 3; c++) {
      const sc = Math.min(c, raw.channels - 1);
      // Not 8-bit (MRI, CT, 16-bit satellite): each band's 0.5-99.5 percentiles -> 0..255, as MedSAM prepares images.
      const [lo, hi] = eightBit ? [0, 255] : (channelPercentiles(raw, sc, [0.5, 99.5]) as [number, number]);
      const k = hi > lo ? 255 / (hi - lo) : 0;
      for (let i = 0; i < n; i++) rgb[c * n + i] = raw.valid[i] ? Math.min(255, Math.max(0, (raw.data[sc * n + i]! - lo) * k)) : 0;
    }
    const { newW, newH } = this.scaleOf(tile);
    const tx = linearTaps(newW, tile.width);
    const ty = linearTaps(newH, tile.height);
    const norm = this.manifest.normalization;
    const out = new Float32Array(3 * S * S);
    for (let c = 0; c < 3; c++) {
      const mean = norm.type === 'fixed' ? (norm.mean[c] ?? norm.mean[0]!) : 0;
      const std = norm.type === 'fixed' ? (norm.std[c] ?? norm.std[0]!) : 255;
      for (let y = 0; y < newH; y++) {
        const r0 = ty.i0[y]! * tile.width;
        const r1 = ty.i1[y]! * tile.width;
        const wr = ty.w1[y]!;
        for (let x = 0; x < newW; x++) {
          const c0 = tx.i0[x]!;
          const c1 = tx.i1[x]!;
          const wc = tx.w1[x]!;
          const top = rgb[c * n + r0 + c0]! * (1 - wc) + rgb[c * n + r0 + c1]! * wc;
          const bot = rgb[c * n + r1 + c0]! * (1 - wc) + rgb[c * n + r1 + c1]! * wc;
          out[(c * S + y) * S + x] = (top * (1 - wr) + bot * wr - mean) / std;
        }
      }
    }
    return out;
  }

  private async embedding(image: PromptImage, tile: Tile): Promise<{ tensor: NamedTensor; ms: number }> {
    const key = `${tile.z}:${tile.x0}:${tile.y0}:${tile.width}:${tile.height}`;
    const hit = this.cache.get(key);
    if (hit) return { tensor: hit.tensor, ms: 0 };
    const S = this.spec.imageSize;
    const input = await this.encoderInput(image, tile);
    const t0 = performance.now();
    const out = await this.encoder.run({ [this.encoder.inputNames[0]!]: { data: input, dims: [1, 3, S, S] } });
    const ms = performance.now() - t0;
    this.encoderRuns++;
    const name = this.encoder.outputNames.includes('image_embeddings') ? 'image_embeddings' : this.encoder.outputNames[0]!;
    const tensor = out[name]!;
    this.cache.set(key, { tensor, bytes: tensor.data.byteLength });
    return { tensor, ms };
  }

  /** A binary mask (previous slice or --mask) as low-res logits in SAM's padded frame: how SAM is shown a mask. */
  private maskLogits(mask: MaskWindow, tile: Tile, size: [number, number]): NamedTensor {
    const [mh, mw] = size;
    const S = this.spec.imageSize;
    const { scale } = this.scaleOf(tile);
    const data = new Float32Array(mh * mw);
    for (let y = 0; y < mh; y++) {
      for (let x = 0; x < mw; x++) {
        // Centre of this low-res cell in the padded S x S frame, back to tile pixels.
        const px = Math.floor((((x + 0.5) * S) / mw) / scale);
        const py = Math.floor((((y + 0.5) * S) / mh) / scale);
        const inside = px < tile.width && py < tile.height && mask.get(tile.x0 + px, tile.y0 + py);
        data[y * mw + x] = inside ? 20 : -20;
      }
    }
    return { data, dims: [1, 1, mh, mw] };
  }

  async step(image: PromptImage, input: StepInput): Promise<StepResult> {
    const tile = this.tileFor(image, input);
    const key = `${tile.z}:${tile.x0}:${tile.y0}`;
    const emb = await this.embedding(image, tile);
    const { scale } = this.scaleOf(tile);
    const coords: number[] = [];
    const labels: number[] = [];
    for (const c of input.clicks) {
      coords.push((c.x - tile.x0) * scale, (c.y - tile.y0) * scale);
      labels.push(c.positive ? 1 : 0);
    }
    if (input.box) {
      coords.push((input.box.x0 - tile.x0) * scale, (input.box.y0 - tile.y0) * scale, (input.box.x1 - tile.x0) * scale, (input.box.y1 - tile.y0) * scale);
      labels.push(2, 3);
    } else {
      // SAM's export expects a padding point (label -1) when there is no box.
      coords.push(0, 0);
      labels.push(-1);
    }
    const embDims = emb.tensor.dims;
    const maskSize: [number, number] = [4 * (embDims[2] ?? 64), 4 * (embDims[3] ?? 64)];
    let maskInput = this.lowRes.get(key);
    if (!maskInput && input.previous.bbox()) maskInput = this.maskLogits(input.previous, tile, maskSize);
    const feeds: Record<string, NamedTensor> = {
      image_embeddings: emb.tensor,
      point_coords: { data: Float32Array.from(coords), dims: [1, labels.length, 2] },
      point_labels: { data: Float32Array.from(labels), dims: [1, labels.length] },
      mask_input: maskInput ?? { data: new Float32Array(maskSize[0] * maskSize[1]), dims: [1, 1, maskSize[0], maskSize[1]] },
      has_mask_input: { data: Float32Array.of(maskInput ? 1 : 0), dims: [1] },
      orig_im_size: { data: Float32Array.of(tile.height, tile.width), dims: [2] },
    };
    const t0 = performance.now();
    const wanted = this.decoder.outputNames.includes('iou_predictions') ? ['masks', 'low_res_masks', 'iou_predictions'] : ['masks', 'low_res_masks'];
    const out = await this.decoder.run(feeds, wanted);
    const modelMs = emb.ms + performance.now() - t0;
    const masks = out.masks!;
    const low = out.low_res_masks!;
    const k = masks.dims[1] ?? 1;
    // Multi-mask exports: take the mask the decoder scores best.
    let best = 0;
    const iou = out.iou_predictions;
    if (iou && k > 1) for (let i = 1; i < k; i++) if (iou.data[i]! > iou.data[best]!) best = i;
    const [mh, mw] = [masks.dims[2]!, masks.dims[3]!];
    if (mh !== tile.height || mw !== tile.width) throw new Error(`the SAM decoder returned a ${mw}x${mh} mask for a ${tile.width}x${tile.height} image (orig_im_size)`);
    const plane = mh * mw;
    const pred = new Uint8Array(plane);
    for (let i = 0; i < plane; i++) pred[i] = masks.data[best * plane + i]! > this.spec.maskThreshold ? 1 : 0;
    const lowPlane = (low.dims[2] ?? 0) * (low.dims[3] ?? 0);
    this.lowRes.set(key, { data: low.data.slice(best * lowPlane, (best + 1) * lowPlane), dims: [1, 1, low.dims[2]!, low.dims[3]!] });
    // New mask: the previous one outside the tile, the decoder's inside it.
    const region = { x0: tile.x0, y0: tile.y0, width: tile.width, height: tile.height };
    const pasted = pasteTile(input.previous, pred, tile, image.width, image.height);
    return { mask: pasted, crop: region, modelMs };
  }

  async dispose(): Promise<void> {
    await this.encoder.dispose();
    await this.decoder.dispose();
  }
}

/** The previous mask outside the tile, the prediction (tile.width x tile.height) inside it. */
function pasteTile(previous: MaskWindow, pred: Uint8Array, tile: Tile, W: number, H: number): MaskWindow {
  const prevBox = previous.bbox();
  const x0 = Math.min(tile.x0, prevBox?.x0 ?? Infinity);
  const y0 = Math.min(tile.y0, prevBox?.y0 ?? Infinity);
  const x1 = Math.max(tile.x0 + tile.width, prevBox ? prevBox.x1 + 1 : -Infinity);
  const y1 = Math.max(tile.y0 + tile.height, prevBox ? prevBox.y1 + 1 : -Infinity);
  const out = previous.resized(x0, y0, Math.min(W, x1) - x0, Math.min(H, y1) - y0);
  for (let y = 0; y < tile.height; y++) {
    for (let x = 0; x < tile.width; x++) out.data[(tile.y0 + y - y0) * out.width + (tile.x0 + x - x0)] = pred[y * tile.width + x]!;
  }
  return out;
}
