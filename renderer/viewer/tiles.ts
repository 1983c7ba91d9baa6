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
import { TileGrid, type TileStats, type TileView } from './tileGrid';

export { levelFor, type TileStats, type TileView } from './tileGrid';

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

export class TileLayer {
  readonly tileSize: TileSize;
  readonly stats: TileStats = { requested: [], received: 0, failed: 0, drawn: 0, level: null, cached: 0, inFlight: 0 };
  private readonly grid: TileGrid<TileSourceKey, Cached>;

  constructor(
    private readonly fetchTile: FetchTile,
    /** Called when a tile arrived that the current view may show (the viewer redraws). */
    private readonly onLoad: () => void,
    options: TileLayerOptions = {},
  ) {
    this.tileSize = options.tileSize ?? 512;
    this.grid = new TileGrid<TileSourceKey, Cached>({
      tileSize: this.tileSize,
      maxTiles: options.maxTiles ?? 160,
      maxInFlight: options.maxInFlight ?? 4,
      marginPx: options.marginPx ?? 192,
      stats: this.stats,
      load: (t, src, isCurrent) => this.load(t.level, t.x, t.y, src, isCurrent),
      onLoad: () => this.onLoad(),
      release: (c) => c.bitmap.close(),
    });
  }

  setSource(source: TileSourceKey | null): void {
    const id = source ? JSON.stringify([source.handle, source.z, source.width, source.height, source.window.center, source.window.width, source.bandWindows ?? null, source.bands]) : '';
    this.grid.setSource(source, id);
  }

  /** Levels of the pyramid: the top one fits one tile. */
  get maxLevel(): number {
    return this.grid.maxLevel;
  }

  /** Whether cached tiles of the level the view wants cover all of it (then the preview under them need not be drawn). */
  covers(view: TileView, cssWidth: number, cssHeight: number, dpr: number): boolean {
    const src = this.grid.source;
    const level = this.grid.wantedLevel(view, dpr);
    if (!src || level === null) return false;
    const v = this.grid.visible(level, view, cssWidth, cssHeight, 0);
    // Margins around the image show the background: only a view inside the image can be covered.
    if (view.tx > 0 || view.ty > 0 || view.tx + src.width * view.s < cssWidth || view.ty + src.height * view.s < cssHeight) return false;
    for (let y = v.y0; y <= v.y1; y++) for (let x = v.x0; x <= v.x1; x++) if (!this.grid.has(level, x, y)) return false;
    return true;
  }

  /**
   * Paints cached tiles for the view onto ctx, whose transform must already map image pixels to device pixels, and
   * queues the missing visible ones. Returns how many tiles it drew.
   */
  draw(ctx: CanvasRenderingContext2D, view: TileView, cssWidth: number, cssHeight: number, dpr: number): number {
    const grid = this.grid;
    const src = grid.source;
    this.stats.drawn = 0;
    this.stats.level = null;
    if (!src) return 0;
    const level = grid.wantedLevel(view, dpr);
    // The preview is as sharp as this level or sharper: nothing to add.
    if (level === null) {
      grid.clearQueue();
      return 0;
    }
    this.stats.level = level;
    const visible = (l: number) => grid.visible(l, view, cssWidth, cssHeight, 0);
    let drawn = 0;
    const paint = (l: number, x: number, y: number): void => {
      const c = grid.use(l, x, y);
      if (!c) return;
      // Smooth when minified or mildly magnified; crisp pixels when reading values up close.
      ctx.imageSmoothingEnabled = view.s * 2 ** l < 2;
      ctx.drawImage(c.bitmap, c.rect[0], c.rect[1], c.rect[2], c.rect[3]);
      drawn++;
    };
    // Coarser cached tiles first (finer than the preview only), where the wanted level has gaps; then that level.
    const v = visible(level);
    let gaps = false;
    for (let y = v.y0; y <= v.y1 && !gaps; y++) for (let x = v.x0; x <= v.x1 && !gaps; x++) gaps = !grid.has(level, x, y);
    for (let l = Math.min(grid.maxLevel, level + 2); gaps && l > level; l--) {
      if (2 ** l >= src.previewScale) continue;
      const c = visible(l);
      for (let y = c.y0; y <= c.y1; y++) for (let x = c.x0; x <= c.x1; x++) paint(l, x, y);
    }
    for (let y = v.y0; y <= v.y1; y++) for (let x = v.x0; x <= v.x1; x++) paint(level, x, y);
    // Queue what is missing, visible and margin, nearest the view's centre first.
    grid.request(level, view, cssWidth, cssHeight);
    this.stats.drawn = drawn;
    return drawn;
  }

  private async load(level: number, x: number, y: number, src: TileSourceKey, isCurrent: () => boolean): Promise<Cached | null> {
    const request: TileRequest = {
      handle: src.handle,
      level,
      x,
      y,
      tileSize: this.tileSize,
      z: src.z,
      window: src.window,
      ...(src.bandWindows ? { bandWindows: src.bandWindows } : {}),
      ...(src.bands ? { bands: src.bands } : {}),
    };
    const tile = await this.fetchTile(request);
    // Another image, slice or window since: not worth decoding.
    if (!isCurrent()) return null;
    const rgba = new Uint8ClampedArray(tile.rgba.buffer as ArrayBuffer, tile.rgba.byteOffset, tile.width * tile.height * 4);
    const bitmap = await createImageBitmap(new ImageData(rgba, tile.width, tile.height));
    return { bitmap, rect: tile.imageRect };
  }

  /** Frees the decoded tiles (the viewer unmounts or the image closes). */
  dispose(): void {
    this.setSource(null);
  }
}
