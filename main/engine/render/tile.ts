// Tiles of a slice's resolution pyramid for the viewer ('image:tile'): level L has 2^L image pixels per tile pixel.
// A tile comes from the coarsest stored level (full resolution or a GeoTIFF overview) that is at most 2x finer than
// asked, area-averaged down; when no stored level is that close (no overviews), it is built from its four children
// at level L-1, recursively. Tiles are kept as modality values (before windowing) in a byte-bounded LRU, so a pan
// or a zoom reuses them and a window/level change re-colours without re-reading the file.
import type { TileBitmap, TileRequest } from '../../../preload/api';
import type { ImageSource } from '../image';
import { byteMaps, downsample, renderSlice } from './slice';

interface Planes {
  width: number;
  height: number;
  /** One plane per requested band (NaN = invalid), row-major. */
  planes: Float32Array[];
}

interface Entry {
  planes: Promise<Planes>;
  bytes: number;
}

type Request = Omit<TileRequest, 'handle'>;

interface DefaultWindow {
  window: { center: number; width: number };
  bandWindows: Array<{ center: number; width: number }> | undefined;
}

/** Full-resolution pixel rect a tile covers, and its size in tile pixels. */
export function tileRect(width: number, height: number, level: number, x: number, y: number, tileSize: number): { x0: number; y0: number; w: number; h: number; outW: number; outH: number } | null {
  const f = 2 ** level;
  const span = tileSize * f;
  const x0 = x * span;
  const y0 = y * span;
  if (x0 >= width || y0 >= height) return null;
  const w = Math.min(span, width - x0);
  const h = Math.min(span, height - y0);
  return { x0, y0, w, h, outW: Math.max(1, Math.ceil(w / f)), outH: Math.max(1, Math.ceil(h / f)) };
}

/** Level count of a pyramid whose top level fits in one tile. */
export function levelCount(width: number, height: number, tileSize: number): number {
  let levels = 1;
  while (Math.max(width, height) / 2 ** (levels - 1) > tileSize) levels++;
  return levels;
}

export class TileRenderer {
  private readonly ids = new WeakMap<ImageSource, number>();
  private nextId = 1;
  private readonly cache = new Map<string, Entry>();
  private readonly windows = new Map<string, Promise<DefaultWindow>>();
  private bytes = 0;

  /** budgetBytes bounds the kept tiles (Float32 planes); the default holds ~80 RGB tiles of 512 px. */
  constructor(private readonly budgetBytes = 256 * 2 ** 20) {}

  async render(src: ImageSource, request: Request): Promise<TileBitmap> {
    const { level, x, y, tileSize, z } = request;
    if (!Number.isInteger(z) || z < 0 || z >= src.depth) throw new RangeError(`slice ${z} is outside 0..${src.depth - 1}`);
    if (!Number.isInteger(level) || level < 0 || level >= levelCount(src.width, src.height, tileSize)) throw new RangeError(`level ${level} is outside the pyramid`);
    const rect = tileRect(src.width, src.height, level, x, y, tileSize);
    if (!rect || !Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0) throw new RangeError(`tile ${x},${y} is outside level ${level}`);
    let bands = request.bands && request.bands.length > 0 ? request.bands : src.channels >= 3 ? [0, 1, 2] : [0];
    if (bands.some((b) => !Number.isInteger(b) || b < 0 || b >= src.channels)) {
      throw new RangeError(`bands ${JSON.stringify(request.bands)} are outside 0..${src.channels - 1}`);
    }
    if (bands.length !== 1 && bands.length !== 3) bands = [bands[0]!];
    const unique = [...new Set(bands)];
    const { planes, width, height } = await this.planes(src, z, unique, tileSize, level, x, y);
    const chosen = request.bandWindows && request.bandWindows.length > 0 ? { window: request.bandWindows[0]!, bandWindows: request.bandWindows } : request.window ? { window: request.window, bandWindows: undefined } : await this.defaultWindow(src, z, bands);
    const { window, bandWindows } = chosen;
    const shown = bands.map((b) => planes[unique.indexOf(b)]!);
    const n = width * height;
    const rgba = new Uint8Array(n * 4);
    const [toR, toG, toB] = byteMaps(window, bandWindows, shown.length);
    const [r, g = r, b = r] = shown.length === 3 ? shown : [shown[0]!];
    for (let i = 0; i < n; i++) {
      const rv = r![i]!;
      const gv = g![i]!;
      const bv = b![i]!;
      const valid = !Number.isNaN(rv) && !Number.isNaN(gv) && !Number.isNaN(bv);
      rgba[i * 4] = valid ? toR(rv) : 0;
      rgba[i * 4 + 1] = valid ? toG(gv) : 0;
      rgba[i * 4 + 2] = valid ? toB(bv) : 0;
      rgba[i * 4 + 3] = valid ? 255 : 0;
    }
    return { level, x, y, width, height, imageRect: [rect.x0, rect.y0, rect.w, rect.h], rgba, window: { center: window.center, width: window.width } };
  }

  /** The window(s) 'image:slice' would pick (file window, uint8 as stored, per-band stretch, else a percentile stretch of a small preview). */
  private defaultWindow(src: ImageSource, z: number, bands: number[]): Promise<DefaultWindow> {
    const key = `${this.idOf(src)}|${z}|${bands.join(',')}`;
    let w = this.windows.get(key);
    if (!w) {
      w = renderSlice(src, { z, maxSize: 512, bands }).then((s) => ({ window: s.window, bandWindows: s.bandWindows }));
      w.catch(() => this.windows.delete(key));
      this.windows.set(key, w);
    }
    return w;
  }

  private idOf(src: ImageSource): number {
    let id = this.ids.get(src);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(src, id);
    }
    return id;
  }

  /** Modality-value planes of one tile, from the LRU or computed (concurrent askers share one computation). */
  private planes(src: ImageSource, z: number, bands: number[], tileSize: number, level: number, x: number, y: number): Promise<Planes> {
    const key = `${this.idOf(src)}|${z}|${bands.join(',')}|${tileSize}|${level}|${x}|${y}`;
    const hit = this.cache.get(key);
    if (hit) {
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit.planes;
    }
    const rect = tileRect(src.width, src.height, level, x, y, tileSize)!;
    const bytes = rect.outW * rect.outH * bands.length * 4;
    const planes = this.compute(src, z, bands, tileSize, level, x, y);
    const entry: Entry = { planes, bytes };
    this.cache.set(key, entry);
    this.bytes += bytes;
    planes.catch(() => this.drop(key, entry));
    this.evict();
    return planes;
  }

  private drop(key: string, entry: Entry): void {
    if (this.cache.get(key) !== entry) return;
    this.cache.delete(key);
    this.bytes -= entry.bytes;
  }

  private evict(): void {
    for (const [key, entry] of this.cache) {
      if (this.bytes <= this.budgetBytes) break;
      this.drop(key, entry);
    }
  }

  private async compute(src: ImageSource, z: number, bands: number[], tileSize: number, level: number, x: number, y: number): Promise<Planes> {
    const rect = tileRect(src.width, src.height, level, x, y, tileSize)!;
    const f = 2 ** level;
    if (level === 0 || storedScaleAtMost(src, f) >= f / 2) return this.readStored(src, z, bands, rect);
    // No stored level within 2x: four children one level down (each cached), averaged 2x2.
    const kids: Array<Promise<Planes> | null> = [];
    for (const [dx, dy] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ] as const) {
      const ok = tileRect(src.width, src.height, level - 1, 2 * x + dx, 2 * y + dy, tileSize) !== null;
      kids.push(ok ? this.planes(src, z, bands, tileSize, level - 1, 2 * x + dx, 2 * y + dy) : null);
    }
    const [a, b, c, d] = await Promise.all(kids);
    const mw = a!.width + (b?.width ?? 0);
    const mh = a!.height + (c?.height ?? 0);
    const planes = bands.map((_, i) => {
      const mosaic = new Float32Array(mw * mh).fill(NaN);
      const put = (p: Planes | null | undefined, ox: number, oy: number): void => {
        if (!p) return;
        const src = p.planes[i]!;
        for (let row = 0; row < p.height; row++) mosaic.set(src.subarray(row * p.width, (row + 1) * p.width), (oy + row) * mw + ox);
      };
      put(a, 0, 0);
      put(b, a!.width, 0);
      put(c, 0, a!.height);
      put(d, a!.width, a!.height);
      return downsample(mosaic, mw, mh, rect.outW, rect.outH);
    });
    return { width: rect.outW, height: rect.outH, planes };
  }

  /** Reads the tile's region from the best stored level (with its validity mask) and area-averages it to tile size. */
  private async readStored(src: ImageSource, z: number, bands: number[], rect: NonNullable<ReturnType<typeof tileRect>>): Promise<Planes> {
    const region = { x: rect.x0, y: rect.y0, z, width: rect.w, height: rect.h, depth: 1, channels: bands };
    const reduced = src.readReduced && src.depth === 1 ? await src.readReduced(region, rect.outW, rect.outH) : null;
    const block = reduced ?? (await src.read(region));
    const mask = reduced?.mask;
    const plane = block.width * block.height;
    const nodataRaw = src.nodata === 'nan' ? NaN : src.nodata;
    const nodata = nodataRaw !== undefined && src.dtype === 'float32' ? Math.fround(nodataRaw) : nodataRaw;
    const planes = bands.map((_, i) => {
      const p = new Float32Array(plane);
      const data = block.data;
      for (let j = 0; j < plane; j++) {
        const v = data[i * plane + j]!;
        p[j] = v === nodata || (mask !== undefined && mask[j] === 0) ? NaN : v;
      }
      return downsample(p, block.width, block.height, rect.outW, rect.outH);
    });
    return { width: rect.outW, height: rect.outH, planes };
  }
}

/** Scale (full-resolution pixels per stored pixel) of the coarsest stored level that is no coarser than `f`. */
function storedScaleAtMost(src: ImageSource, f: number): number {
  if (!src.readReduced || src.depth !== 1) return 1;
  const overviews = Array.isArray(src.meta.overviews) ? (src.meta.overviews as unknown[]) : [];
  let best = 1;
  for (const o of overviews) {
    const w = typeof o === 'object' && o !== null ? (o as { width?: unknown }).width : undefined;
    if (typeof w !== 'number' || !(w > 0)) continue;
    const s = src.width / w;
    if (s <= f * 1.001 && s > best) best = s;
  }
  return best;
}
