// The part of a tiled layer that does not depend on what the tiles hold, shared by the image tiles (tiles.ts) and
// the result overlay tiles (overlayTiles.ts), so the two choose levels, cover the view, queue, cache and give up on
// failing tiles the same way: the pyramid level that matches the zoom (level L = 2^L image px per tile px), only
// where it is finer than the preview; the tiles of a level that the view (plus a margin) crosses; missing ones
// queued nearest the view's centre first, the queue rebuilt on every draw so tiles that scrolled away are never
// asked for; a few requests in flight, none asked twice; an LRU of decoded entries; a tile that failed not asked for
// again until the source changes; late answers for an older source dropped.
import type { TileSize } from '../../preload/api';

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

/** What every tiled source has: its size in image pixels and how coarse the preview under the tiles is. */
export interface TiledSource {
  width: number;
  height: number;
  /** Image pixels per preview pixel: tiles are only worth asking for where they are finer than the preview. */
  previewScale: number;
}

export interface TileAddress {
  key: string;
  level: number;
  x: number;
  y: number;
}

export interface TileRange {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Image pixels per tile side at this level. */
  span: number;
}

/** Pyramid level whose resolution is the coarsest still at least the screen's (never blurrier than 1:1). */
export function levelFor(s: number, dpr: number, maxLevel: number): number {
  const imagePxPerDevicePx = 1 / Math.max(1e-9, s * dpr);
  return Math.max(0, Math.min(maxLevel, Math.floor(Math.log2(imagePxPerDevicePx) + 1e-6)));
}

export interface TileGridOptions<S extends TiledSource, E> {
  tileSize: TileSize;
  maxTiles: number;
  maxInFlight: number;
  /** Prefetch beyond the viewport edge, in CSS pixels. */
  marginPx: number;
  /** The layer's counters (it may add its own fields). */
  stats: TileStats;
  /**
   * Fetches and decodes one tile; resolves null when `isCurrent()` turned false on the way (nothing to keep), rejects
   * when the tile failed.
   */
  load(tile: TileAddress, source: S, isCurrent: () => boolean): Promise<E | null>;
  /** Called when a tile arrived for the current source, once it is cached (the viewer redraws). */
  onLoad(entry: E): void;
  /** Frees an entry leaving the cache, or one that arrived for an older source. */
  release?(entry: E): void;
}

export class TileGrid<S extends TiledSource, E> {
  private src: S | null = null;
  private sourceId = '';
  private generation = 0;
  private readonly cache = new Map<string, E>();
  private readonly inFlight = new Set<string>();
  private readonly failed = new Set<string>();
  private queue: TileAddress[] = [];

  constructor(private readonly o: TileGridOptions<S, E>) {}

  get tileSize(): TileSize {
    return this.o.tileSize;
  }

  get source(): S | null {
    return this.src;
  }

  /** `id` names what the tiles are of: a new id starts an empty cache and drops the answers still on the way. */
  setSource(source: S | null, id: string): void {
    this.src = source;
    if (id === this.sourceId) return;
    this.sourceId = id;
    this.generation++;
    if (this.o.release) for (const e of this.cache.values()) this.o.release(e);
    this.cache.clear();
    this.inFlight.clear();
    this.failed.clear();
    this.queue = [];
    this.o.stats.cached = 0;
    this.o.stats.inFlight = 0;
  }

  /** Levels of the pyramid: the top one fits one tile. */
  get maxLevel(): number {
    const src = this.src;
    if (!src) return 0;
    let l = 0;
    while (Math.max(src.width, src.height) / 2 ** l > this.o.tileSize) l++;
    return l;
  }

  /** The level the view wants, or null where the preview is as fine (no tiles then) or there is no source. */
  wantedLevel(view: TileView, dpr: number): number | null {
    const src = this.src;
    if (!src) return null;
    const level = levelFor(view.s, dpr, this.maxLevel);
    return 2 ** level < src.previewScale ? level : null;
  }

  /** Tile columns and rows of a level that intersect the view grown by margin CSS pixels (a source must be set). */
  visible(level: number, view: TileView, cssWidth: number, cssHeight: number, margin: number): TileRange {
    const src = this.src!;
    const span = this.o.tileSize * 2 ** level;
    const x0 = Math.max(0, Math.floor((-view.tx - margin) / view.s / span));
    const y0 = Math.max(0, Math.floor((-view.ty - margin) / view.s / span));
    const x1 = Math.min(Math.ceil(src.width / span) - 1, Math.floor((cssWidth - view.tx + margin) / view.s / span));
    const y1 = Math.min(Math.ceil(src.height / span) - 1, Math.floor((cssHeight - view.ty + margin) / view.s / span));
    return { x0, y0, x1, y1, span };
  }

  key(level: number, x: number, y: number): string {
    return `${level}/${x}/${y}`;
  }

  has(level: number, x: number, y: number): boolean {
    return this.cache.has(this.key(level, x, y));
  }

  /** A cached tile, without marking it used. */
  peek(level: number, x: number, y: number): E | undefined {
    return this.cache.get(this.key(level, x, y));
  }

  /** A cached tile about to be drawn: most recently used, so eviction takes tiles that left the screen first. */
  use(level: number, x: number, y: number): E | undefined {
    const key = this.key(level, x, y);
    const e = this.cache.get(key);
    if (!e) return undefined;
    this.cache.delete(key);
    this.cache.set(key, e);
    return e;
  }

  /** Nothing is wanted now (the preview suffices): drop the queue, keep what is in flight. */
  clearQueue(): void {
    this.queue = [];
  }

  /** Queues the level's missing tiles in the view and its margin, nearest the view's centre first, and asks. */
  request(level: number, view: TileView, cssWidth: number, cssHeight: number): void {
    const q = this.visible(level, view, cssWidth, cssHeight, this.o.marginPx);
    const cx = (cssWidth / 2 - view.tx) / view.s / q.span - 0.5;
    const cy = (cssHeight / 2 - view.ty) / view.s / q.span - 0.5;
    const wanted: Array<TileAddress & { d: number }> = [];
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
  }

  private pump(): void {
    const src = this.src;
    const stats = this.o.stats;
    while (src && this.inFlight.size < this.o.maxInFlight && this.queue.length > 0) {
      const t = this.queue.shift()!;
      const generation = this.generation;
      const isCurrent = () => generation === this.generation;
      this.inFlight.add(t.key);
      stats.inFlight = this.inFlight.size;
      stats.requested.push([t.level, t.x, t.y]);
      if (stats.requested.length > 4096) stats.requested.splice(0, 1024);
      this.o
        .load(t, src, isCurrent)
        .then((entry) => {
          if (entry === null) return;
          if (!isCurrent()) {
            this.o.release?.(entry);
            return;
          }
          this.store(t.key, entry);
          stats.received++;
          this.o.onLoad(entry);
        })
        .catch(() => {
          // A failing tile leaves the preview showing there; it is not asked for again until the source changes.
          if (isCurrent()) this.failed.add(t.key);
          stats.failed++;
        })
        .finally(() => {
          if (!isCurrent()) return;
          this.inFlight.delete(t.key);
          stats.inFlight = this.inFlight.size;
          this.pump();
        });
    }
  }

  private store(key: string, entry: E): void {
    this.cache.delete(key);
    this.cache.set(key, entry);
    while (this.cache.size > this.o.maxTiles) {
      const [oldest, e] = this.cache.entries().next().value as [string, E];
      this.o.release?.(e);
      this.cache.delete(oldest);
    }
    this.o.stats.cached = this.cache.size;
  }
}
