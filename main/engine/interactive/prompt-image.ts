// Pixel access for prompt models: a region of one slice, as float32 channel-planar raw values plus validity.
// Volumes and small images are read once and kept (propagation visits every slice; volume statistics need all of
// it); large 2D rasters are read window by window around the crop, so a click on a 10000 x 10000 GeoTIFF decodes
// only the tiles under the crop.
import type { NormalizationSpec } from '../../../preload/formats';
import type { ImageSource, PixelArray } from '../image';
import { planNormalization, type ChannelAffine } from '../inference/normalize';
import { isNodata } from '../segment-setup';

/** Images with more pixels than this (and one slice) are read by window instead of whole. */
export const WHOLE_READ_MAX_PX = 4096 * 4096;

export interface RawRegion {
  /** C x h x w raw values (channel-planar). */
  data: Float32Array;
  /** 1 = valid (not nodata, inside the file's validity mask). */
  valid: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

export class PromptImage {
  private whole: PixelArray | null = null;
  private wholeMask: Uint8Array | null = null;
  private readonly affines = new Map<string, ChannelAffine[]>();

  constructor(
    readonly src: ImageSource,
    /** Channels the model reads (first N of the image, the grey channel repeated for 3-channel models). */
    readonly channels: number,
    /** 2D images above this many pixels are read window by window. */
    private readonly wholeReadMaxPx: number = WHOLE_READ_MAX_PX,
  ) {}

  get width(): number {
    return this.src.width;
  }
  get height(): number {
    return this.src.height;
  }
  get depth(): number {
    return this.src.depth;
  }

  /** Whether the image is kept whole in memory (volumes, small rasters). */
  get inMemory(): boolean {
    return this.src.depth > 1 || this.src.kind === 'medical' || this.src.width * this.src.height <= this.wholeReadMaxPx;
  }

  private sourceChannel(c: number): number {
    return Math.min(c, this.src.channels - 1);
  }

  private async loadWhole(): Promise<PixelArray> {
    if (!this.whole) {
      const chans = Array.from({ length: Math.min(this.channels, this.src.channels) }, (_, c) => c);
      this.whole = (await this.src.read({ channels: chans })).data;
      this.wholeMask = this.src.depth === 1 && this.src.readMask ? await this.src.readMask() : null;
    }
    return this.whole;
  }

  /** Channel 0 of the whole image (in-memory images only), for the intensity measurements. */
  async channelZero(): Promise<PixelArray> {
    const whole = await this.loadWhole();
    return whole.subarray(0, this.width * this.height * this.depth);
  }

  /** Raw region of slice z (must lie inside the image). */
  async read(z: number, x: number, y: number, width: number, height: number): Promise<RawRegion> {
    const C = this.channels;
    const n = width * height;
    const data = new Float32Array(C * n);
    const valid = new Uint8Array(n).fill(1);
    if (n === 0) return { data, valid, width, height, channels: C };
    const { width: W, height: H, depth: D } = this.src;
    const nodata = this.src.nodata;
    if (this.inMemory) {
      const whole = await this.loadWhole();
      const stored = Math.min(this.channels, this.src.channels);
      for (let c = 0; c < C; c++) {
        const sc = Math.min(c, stored - 1);
        for (let yy = 0; yy < height; yy++) {
          const src = ((sc * D + z) * H + (y + yy)) * W + x;
          const dst = (c * height + yy) * width;
          for (let xx = 0; xx < width; xx++) data[dst + xx] = whole[src + xx]!;
        }
      }
      for (let yy = 0; yy < height; yy++) {
        for (let xx = 0; xx < width; xx++) {
          const i = yy * width + xx;
          if (this.wholeMask && this.wholeMask[(y + yy) * W + x + xx] === 0) valid[i] = 0;
          for (let c = 0; c < stored && valid[i]; c++) if (isNodata(whole[((c * D + z) * H + (y + yy)) * W + x + xx]!, nodata)) valid[i] = 0;
        }
      }
    } else {
      const stored = Math.min(this.channels, this.src.channels);
      const block = await this.src.read({ x, y, z, width, height, depth: 1, channels: Array.from({ length: stored }, (_, c) => this.sourceChannel(c)) });
      for (let c = 0; c < C; c++) {
        const sc = Math.min(c, stored - 1);
        for (let i = 0; i < n; i++) data[c * n + i] = block.data[sc * n + i]!;
      }
      const mask = this.src.readMask ? await this.src.readMask({ x, y, width, height }) : null;
      for (let i = 0; i < n; i++) {
        if (mask && mask[i] === 0) valid[i] = 0;
        for (let c = 0; c < stored && valid[i]; c++) if (isNodata(block.data[c * n + i]!, nodata)) valid[i] = 0;
      }
    }
    return { data, valid, width, height, channels: C };
  }

  /**
   * Per-channel affines for a whole-image scope ('volume' / 'image' / 'slice' of slice z, or fixed): computed once
   * from the whole image, as the segmentation pipeline does, so a prompt model sees what its training saw.
   */
  async wholeAffines(spec: NormalizationSpec, z: number): Promise<ChannelAffine[]> {
    const key = spec.type === 'percentile' || spec.type === 'zscore' ? (spec.scope === 'slice' ? `slice:${z}` : 'whole') : 'fixed';
    const hit = this.affines.get(key);
    if (hit) return hit;
    let affines: ChannelAffine[];
    if (spec.type === 'fixed' || this.inMemory) {
      const whole = spec.type === 'fixed' ? new Float32Array(0) : await this.loadWhole();
      const stored = Math.min(this.channels, this.src.channels);
      const normalizer = planNormalization(spec, {
        data: whole,
        width: spec.type === 'fixed' ? 0 : this.width,
        height: spec.type === 'fixed' ? 0 : this.height,
        depth: spec.type === 'fixed' ? 1 : this.depth,
        channels: spec.type === 'fixed' ? this.channels : stored,
        ...(this.src.nodata !== undefined ? { nodata: this.src.nodata } : {}),
      });
      affines = normalizer(z);
      while (affines.length < this.channels) affines = [...affines, affines[affines.length - 1]!];
    } else {
      // A raster too large to read whole: statistics from a grid of samples, as the windowed segmentation does.
      const grid = 8;
      const s = Math.min(128, Math.floor(this.width / grid), Math.floor(this.height / grid));
      const parts: RawRegion[] = [];
      for (let gy = 0; gy < grid; gy++) {
        for (let gx = 0; gx < grid; gx++) {
          parts.push(await this.read(0, Math.floor(((gx + 0.5) * this.width) / grid - s / 2), Math.floor(((gy + 0.5) * this.height) / grid - s / 2), s, s));
        }
      }
      affines = regionAffines(spec, joinRegions(parts));
    }
    this.affines.set(key, affines);
    return affines;
  }
}

/** Regions side by side (per channel) as one region, for statistics. */
function joinRegions(parts: RawRegion[]): RawRegion {
  const C = parts[0]!.channels;
  const n = parts.reduce((t, p) => t + p.width * p.height, 0);
  const data = new Float32Array(C * n);
  const valid = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    const m = p.width * p.height;
    for (let c = 0; c < C; c++) data.set(p.data.subarray(c * m, (c + 1) * m), c * n + o);
    valid.set(p.valid, o);
    o += m;
  }
  return { data, valid, width: n, height: 1, channels: C };
}

/** Affines from a region's valid pixels (the 'crop' scope, and samples of huge rasters). */
export function regionAffines(spec: NormalizationSpec, region: RawRegion): ChannelAffine[] {
  const n = region.width * region.height;
  let k = 0;
  for (let i = 0; i < n; i++) k += region.valid[i] ? 1 : 0;
  const C = region.channels;
  const packed = new Float32Array(C * k);
  for (let c = 0; c < C; c++) {
    let j = 0;
    for (let i = 0; i < n; i++) if (region.valid[i]) packed[c * k + j++] = region.data[c * n + i]!;
  }
  // The crop scope is a plain percentile over the crop's valid pixels; the trainer clips to [0, 1].
  let asImage: NormalizationSpec = spec;
  if (spec.type === 'percentile') {
    const clip: [number, number] | undefined = spec.clip ?? (spec.scope === 'crop' ? [0, 1] : undefined);
    asImage = { type: 'percentile', pLow: spec.pLow, pHigh: spec.pHigh, scope: 'image', ...(spec.mask ? { mask: spec.mask } : {}), ...(clip ? { clip } : {}) };
  } else if (spec.type === 'zscore') asImage = { ...spec, scope: 'image' };
  const clip = asImage.type === 'percentile' ? asImage.clip : undefined;
  if (k === 0) return Array.from({ length: C }, () => ({ offset: 0, scale: 1, ...(clip ? { clip } : {}) }));
  const normalizer = planNormalization(asImage, { data: packed, width: k, height: 1, depth: 1, channels: C });
  return normalizer(0);
}

/** Applies affines to a region in place; invalid pixels become 0. */
export function normalizeRegion(region: RawRegion, affines: readonly ChannelAffine[]): Float32Array {
  const n = region.width * region.height;
  const out = region.data;
  for (let c = 0; c < region.channels; c++) {
    const { offset, scale, clip } = affines[c] ?? affines[affines.length - 1]!;
    for (let i = 0; i < n; i++) {
      if (!region.valid[i]) {
        out[c * n + i] = 0;
        continue;
      }
      let v = (out[c * n + i]! - offset) * scale;
      if (clip) v = v < clip[0] ? clip[0] : v > clip[1] ? clip[1] : v;
      out[c * n + i] = v;
    }
  }
  return out;
}
