// Tiled multi-resolution display for rasters far larger than the screen: on each draw, the viewer asks this layer to
// paint the tiles of the pyramid level that matches the zoom ('image:tile', level L = 2^L image px per tile px) over
// the low-resolution preview, which stays as the backdrop while tiles load (cached coarser tiles go in between).
// Only visible tiles (plus a small margin) are queued, nearest the centre first; the queue is rebuilt on every draw,
// so tiles that scrolled off-screen before their turn are never asked for, and late answers for another image,
// slice, window or band mix are dropped. Decoded tiles live in an LRU of ImageBitmaps.
//
// Canvas 2D, not WebGL2, measured with `npm run bench -- viewer` (headless Chromium, software rendering, 2 shared
// cores): the same 12 tiles of 512 px per 1400x860 frame took 0.4 ms median with drawImage + a 1-px getImageData
// and ~21 ms with WebGL2 through SwiftShader (gl.finish + readPixels); panning a 10000x10000 raster with an overlay
// drew in 1.5 ms median (1:1) and 4.8 ms (40 %). The engine already windows and composes bands, so a shader buys
// nothing yet, and 2D keeps one context for the overlay, brush and decorations, and getImageData for the tests.
// OpenLayers (DataTile + WebGLTile) was weighed too: its WebGL path has the same SwiftShader cost here and would
// take over interactions the viewer already has (brush, selection, RECIST axes), for a ~300-line gain.
// Revisit (WebGL2 with style expressions, as OpenLayers' WebGLTile does) when window/level on 16-bit tiles must be
// instant: then tiles would carry values, not RGBA.
import type { TileBitmap, TileRequest, TileSize } from '../../preload/api';

/** What the tiles are of: a new key (another image, slice, window or band mix) starts an empty cache. */
export interface TileSourceKey {
  handle: string;
  z: number;
  width: number;
  height: number;
  window: { center: number; width: number };
  /** One window per shown band (the preview's per-band stretch of 16-bit and float rasters), when it has them. */
  bandWindows?: Array<{ center: number; width: number }>;
  bands: number[] | null;
  /** Image pixels per preview pixel: tiles are only worth asking for where they are finer than the preview. */
  previewScale: number;
}

export interface TileView {
  /** CSS pixels per image pixel, and where image pixel (0,0) lands. */
  s: number;
  tx: number;
  ty: number;
}

/** Counters the benchmark and the end-to-end test read. */
export interface TileStats {
  /** Every tile asked of the engine, oldest first (level, column, row). */
  requested: Array<[number, number, number]>;
  received: number;
  failed: number;
  /** Tiles drawn by the last draw, and the level it wanted. */
  drawn: number;
  level: number | null;
  cached: number;
  inFlight: number;
}

interface Cached {
  bitmap: ImageBitmap;
  rect: [number, number, number, number];
}

export type FetchTile = (request: TileRequest) => Promise<TileBitmap>;

export interface TileLayerOptions {
  tileSize?: TileSize;
  /** Decoded tiles kept (a 512-px tile is 1 MiB of RGBA). */
  maxTiles?: number;
  maxInFlight?: number;
  /** Prefetch beyond the viewport edge, in CSS pixels. */
  marginPx?: number;
}

/** Pyramid level whose resolution is the coarsest still at least the screen's (never blurrier than 1:1). */
export function levelFor(s: number, dpr: number, maxLevel: number): number {
  const imagePxPerDevicePx = 1 / Math.max(1e-9, s * dpr);
  return Math.max(0, Math.min(maxLevel, Math.floor(Math.log2(imagePxPerDevicePx) + 1e-6)));
}

export class TileLayer {
  readonly tileSize: TileSize;
  private readonly maxTiles: number;
  private readonly maxInFlight: number;
  private readonly marginPx: number;
  private source: TileSourceKey | null = null;
  private sourceId = '';
  private generation = 0;
  private readonly cache = new Map<string, Cached>();
  private readonly inFlight = new Set<string>();
  private readonly failed = new Set<string>();
  private queue: Array<{ key: string; level: number; x: number; y: number }> = [];
  readonly stats: TileStats = { requested: [], received: 0, failed: 0, drawn: 0, level: null, cached: 0, inFlight: 0 };

  constructor(
    private readonly fetchTile: FetchTile,
    /** Called when a tile arrived that the current view may show (the viewer redraws). */
    private readonly onLoad: () => void,
    options: TileLayerOptions = {},
  ) {
    this.tileSize = options.tileSize ?? 512;
    this.maxTiles = options.maxTiles ?? 160;
    this.maxInFlight = options.maxInFlight ?? 4;
    this.marginPx = options.marginPx ?? 192;
  }

  setSource(source: TileSourceKey | null): void {
    const id = source ? JSON.stringify([source.handle, source.z, source.width, source.height, source.window.center, source.window.width, source.bandWindows ?? null, source.bands]) : '';
    this.source = source;
    if (id === this.sourceId) return;
    this.sourceId = id;
    this.generation++;
    for (const c of this.cache.values()) c.bitmap.close();
    this.cache.clear();
    this.inFlight.clear();
    this.failed.clear();
    this.queue = [];
    this.stats.cached = 0;
    this.stats.inFlight = 0;
  }

  /** Levels of the pyramid: the top one fits one tile. */
  get maxLevel(): number {
    const src = this.source;
    if (!src) return 0;
    let l = 0;
    while (Math.max(src.width, src.height) / 2 ** l > this.tileSize) l++;
    return l;
  }

  /** Whether cached tiles of the level the view wants cover all of it (then the preview under them need not be drawn). */
  covers(view: TileView, cssWidth: number, cssHeight: number, dpr: number): boolean {
    const src = this.source;
    if (!src) return false;
    const level = levelFor(view.s, dpr, this.maxLevel);
    if (2 ** level >= src.previewScale) return false;
    const v = this.visible(level, view, cssWidth, cssHeight, 0);
    // Margins around the image show the background: only a view inside the image can be covered.
    if (view.tx > 0 || view.ty > 0 || view.tx + src.width * view.s < cssWidth || view.ty + src.height * view.s < cssHeight) return false;
    for (let y = v.y0; y <= v.y1; y++) for (let x = v.x0; x <= v.x1; x++) if (!this.cache.has(this.key(level, x, y))) return false;
    return true;
  }

  /** Tile columns and rows of a level that intersect the view grown by marginPx. */
  private visible(level: number, view: TileView, cssWidth: number, cssHeight: number, margin: number): { x0: number; y0: number; x1: number; y1: number; span: number } {
    const src = this.source!;
    const span = this.tileSize * 2 ** level;
    const x0 = Math.max(0, Math.floor((-view.tx - margin) / view.s / span));
    const y0 = Math.max(0, Math.floor((-view.ty - margin) / view.s / span));
    const x1 = Math.min(Math.ceil(src.width / span) - 1, Math.floor((cssWidth - view.tx + margin) / view.s / span));
    const y1 = Math.min(Math.ceil(src.height / span) - 1, Math.floor((cssHeight - view.ty + margin) / view.s / span));
    return { x0, y0, x1, y1, span };
  }

  /**
   * Paints cached tiles for the view onto ctx, whose transform must already map image pixels to device pixels, and
   * queues the missing visible ones. Returns how many tiles it drew.
   */
  draw(ctx: CanvasRenderingContext2D, view: TileView, cssWidth: number, cssHeight: number, dpr: number): number {
    const src = this.source;
    this.stats.drawn = 0;
    this.stats.level = null;
    if (!src) return 0;
    const level = levelFor(view.s, dpr, this.maxLevel);
    // The preview is as sharp as this level or sharper: nothing to add.
    if (2 ** level >= src.previewScale) {
      this.queue = [];
      return 0;
    }
    this.stats.level = level;
    const m = this.marginPx;
    const visible = (l: number, margin: number) => this.visible(l, view, cssWidth, cssHeight, margin);
    let drawn = 0;
    const paint = (l: number, x: number, y: number): boolean => {
      const key = this.key(l, x, y);
      const c = this.cache.get(key);
      if (!c) return false;
      // Drawn now: most recently used, so eviction takes tiles that left the screen first.
      this.cache.delete(key);
      this.cache.set(key, c);
      // Smooth when minified or mildly magnified; crisp pixels when reading values up close.
      ctx.imageSmoothingEnabled = view.s * 2 ** l < 2;
      ctx.drawImage(c.bitmap, c.rect[0], c.rect[1], c.rect[2], c.rect[3]);
      drawn++;
      return true;
    };
    // Coarser cached tiles first (finer than the preview only), where the wanted level has gaps; then that level.
    const v = visible(level, 0);
    let gaps = false;
    for (let y = v.y0; y <= v.y1 && !gaps; y++) for (let x = v.x0; x <= v.x1 && !gaps; x++) gaps = !this.cache.has(this.key(level, x, y));
    for (let l = Math.min(this.maxLevel, level + 2); gaps && l > level; l--) {
      if (2 ** l >= src.previewScale) continue;
      const c = visible(l, 0);
      for (let y = c.y0; y <= c.y1; y++) for (let x = c.x0; x <= c.x1; x++) paint(l, x, y);
    }
    for (let y = v.y0; y <= v.y1; y++) for (let x = v.x0; x <= v.x1; x++) paint(level, x, y);
    // Queue what is missing, visible and margin, nearest the view's centre first.
    const q = visible(level, m);
    const cx = (cssWidth / 2 - view.tx) / view.s / q.span - 0.5;
    const cy = (cssHeight / 2 - view.ty) / view.s / q.span - 0.5;
    const wanted: Array<{ key: string; level: number; x: number; y: number; d: number }> = [];
    for (let y = q.y0; y <= q.y1; y++) {
      for (let x = q.x0; x <= q.x1; x++) {
        const key = this.key(level, x, y);
        if (this.cache.has(key) || this.inFlight.has(key) || this.failed.has(key)) continue;
        wanted.push({ key, level, x, y, d: (x - cx) ** 2 + (y - cy) ** 2 });
      }
    }
    wanted.sort((a, b) => a.d - b.d);
    this.queue = wanted;
    this.pump();
    this.stats.drawn = drawn;
    return drawn;
  }

  private key(level: number, x: number, y: number): string {
    return `${level}/${x}/${y}`;
  }

  private pump(): void {
    const src = this.source;
    while (src && this.inFlight.size < this.maxInFlight && this.queue.length > 0) {
      const t = this.queue.shift()!;
      const generation = this.generation;
      this.inFlight.add(t.key);
      this.stats.inFlight = this.inFlight.size;
      this.stats.requested.push([t.level, t.x, t.y]);
      if (this.stats.requested.length > 4096) this.stats.requested.splice(0, 1024);
      const request: TileRequest = {
        handle: src.handle,
        level: t.level,
        x: t.x,
        y: t.y,
        tileSize: this.tileSize,
        z: src.z,
        window: src.window,
        ...(src.bandWindows ? { bandWindows: src.bandWindows } : {}),
        ...(src.bands ? { bands: src.bands } : {}),
      };
      this.fetchTile(request)
        .then(async (tile) => {
          if (generation !== this.generation) return;
          const rgba = new Uint8ClampedArray(tile.rgba.buffer as ArrayBuffer, tile.rgba.byteOffset, tile.width * tile.height * 4);
          const bitmap = await createImageBitmap(new ImageData(rgba, tile.width, tile.height));
          if (generation !== this.generation) {
            bitmap.close();
            return;
          }
          this.store(t.key, { bitmap, rect: tile.imageRect });
          this.stats.received++;
          this.onLoad();
        })
        .catch(() => {
          // A failing tile stays on the preview; it is not asked for again until the source changes.
          if (generation === this.generation) this.failed.add(t.key);
          this.stats.failed++;
        })
        .finally(() => {
          if (generation !== this.generation) return;
          this.inFlight.delete(t.key);
          this.stats.inFlight = this.inFlight.size;
          this.pump();
        });
    }
  }

  private store(key: string, tile: Cached): void {
    this.cache.delete(key);
    this.cache.set(key, tile);
    while (this.cache.size > this.maxTiles) {
      const [oldest, c] = this.cache.entries().next().value as [string, Cached];
      c.bitmap.close();
      this.cache.delete(oldest);
    }
    this.stats.cached = this.cache.size;
  }

  /** Frees the decoded tiles (the viewer unmounts or the image closes). */
  dispose(): void {
    this.setSource(null);
  }
}
