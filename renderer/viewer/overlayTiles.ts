// Full-resolution overlay for results larger than their preview map: where the view is finer than the preview map
// ('result:slice', nearest-sampled), the viewer asks this layer to paint the result's instance tiles ('result:tile')
// or one class's probability tiles ('result:probability-tile') of the pyramid level that matches the zoom, as
// tiles.ts does for the image. The preview map stays the backdrop outside the tiles drawn (the caller clips it
// away under them, so the two never blend twice). Tiles keep their ids, so fills, outlines and the selection rim
// are painted here, per tile, from the ids: an outline pixel at a tile's edge looks at the neighbouring tile's
// border row or column (repainted once that neighbour arrives), so no outline appears along tile seams. Painted
// tiles are drawn unsmoothed: at 1:1 every overlay pixel sits on one image pixel. A new revision (an edit) or
// another result, slice, mode or class starts an empty cache; a style change (colours, opacity, outline,
// selection) repaints the cached tiles lazily, when they are drawn.
import type { ResultProbabilityTile, ResultProbabilityTileRequest, ResultTile, ResultTileRequest, TileSize } from '../../preload/api';
import { overlayAlphas, paintProbability, putOverlayPixel, type Rgb } from '../overlays/colors';
import { TileGrid, type TileStats, type TileView } from './tileGrid';

/** What the tiles are of: a new key starts an empty cache. */
export interface OverlaySource {
  resultId: string;
  /** Edit revision: tiles of an older revision are dropped. */
  revision: number;
  z: number;
  /** Result size in image pixels. */
  width: number;
  height: number;
  /** Image pixels per preview-map pixel: tiles are only asked for where they are finer than the map. */
  previewScale: number;
  mode: 'labels' | 'probability';
  /** Probability mode: the class shown. */
  classId: number;
}

/** How instance tiles are painted; `key` names the style (a new key repaints). */
export interface OverlayTileStyle {
  key: string;
  /** Colour of an instance id; undefined: not drawn (hidden class, or class not known yet). */
  colorOf(id: number): Rgb | undefined;
  /** 0..1 fill opacity. */
  opacity: number;
  outline: boolean;
  selectedId: number | null;
}

/** Counters the benchmark and the end-to-end test read. */
export interface OverlayTileStats extends TileStats {
  /** Tiles painted (first paint, neighbour arrived, style changed). */
  painted: number;
}

interface Entry {
  level: number;
  x: number;
  y: number;
  width: number;
  height: number;
  rect: [number, number, number, number];
  ids: Uint32Array | null;
  probability: Uint8Array | null;
  /** Ids present in the tile: a selection change repaints only the tiles it touches. */
  present: Set<number> | null;
  canvas: HTMLCanvasElement | null;
  /** Style key and the neighbours known when it was painted ('' = not painted). */
  paintedKey: string;
}

export interface OverlayFetch {
  tile(request: ResultTileRequest): Promise<ResultTile>;
  probability(request: ResultProbabilityTileRequest): Promise<ResultProbabilityTile>;
}

export interface OverlayTileOptions {
  tileSize?: TileSize;
  /** Tiles kept: a 512-px tile holds 1 MiB of ids and 1 MiB of painted RGBA. */
  maxTiles?: number;
  maxInFlight?: number;
  marginPx?: number;
}

/** The four neighbours' ids along a tile's border: left/right columns and top/bottom rows (null: unknown). */
export interface TileBorders {
  left: Uint32Array | null;
  right: Uint32Array | null;
  top: Uint32Array | null;
  bottom: Uint32Array | null;
}

/**
 * RGBA of one instance tile, the rules of paintOverlay (overlays/colors.ts) with the neighbours' borders: a pixel is
 * an edge when a 4-neighbour has another id, or lies outside the result (image border). A side whose neighbour tile
 * is unknown is treated as the same id (no edge) until it arrives.
 */
export function paintInstanceTile(
  ids: Uint32Array,
  w: number,
  h: number,
  borders: TileBorders,
  atImageEdge: { left: boolean; right: boolean; top: boolean; bottom: boolean },
  style: Pick<OverlayTileStyle, 'colorOf' | 'opacity' | 'outline' | 'selectedId'>,
): Uint8ClampedArray {
  const out = new Uint8ClampedArray(w * h * 4);
  const { fillA, selA } = overlayAlphas(style.opacity);
  // Colours are looked up once per id run, not per pixel.
  let lastId = -1;
  let lastRgb: Rgb | undefined;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const i = row + x;
      const id = ids[i]!;
      if (id === 0) continue;
      if (id !== lastId) {
        lastId = id;
        lastRgb = style.colorOf(id);
      }
      const rgb = lastRgb;
      if (!rgb) continue;
      const l = x > 0 ? ids[i - 1] : atImageEdge.left ? -1 : (borders.left?.[y] ?? id);
      const r = x < w - 1 ? ids[i + 1] : atImageEdge.right ? -1 : (borders.right?.[y] ?? id);
      const t = y > 0 ? ids[i - w] : atImageEdge.top ? -1 : (borders.top?.[x] ?? id);
      const b = y < h - 1 ? ids[i + w] : atImageEdge.bottom ? -1 : (borders.bottom?.[x] ?? id);
      const edge = l !== id || r !== id || t !== id || b !== id;
      putOverlayPixel(out, i, rgb, edge, id === style.selectedId, style.outline, fillA, selA);
    }
  }
  return out;
}

/** RGBA of one probability tile in the heat-map colours (as paintProbability, without edited pixels). */
export function paintProbabilityTile(values: Uint8Array, opacity: number): Uint8ClampedArray {
  return paintProbability(values, null, opacity);
}

function column(ids: Uint32Array, w: number, h: number, x: number): Uint32Array {
  const out = new Uint32Array(h);
  for (let y = 0; y < h; y++) out[y] = ids[y * w + x]!;
  return out;
}

/** Distinct ids of a tile (runs of one id are common: one Set insertion per run). */
function idsIn(ids: Uint32Array): Set<number> {
  const out = new Set<number>();
  let last = -1;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id !== last) {
      out.add(id);
      last = id;
    }
  }
  return out;
}

export class OverlayTileLayer {
  readonly tileSize: TileSize;
  private style: OverlayTileStyle | null = null;
  readonly stats: OverlayTileStats = { requested: [], received: 0, failed: 0, drawn: 0, level: null, cached: 0, inFlight: 0, painted: 0 };
  private readonly grid: TileGrid<OverlaySource, Entry>;

  constructor(
    private readonly fetch: OverlayFetch,
    /** A tile arrived that the current view may show (the viewer redraws). */
    private readonly onLoad: () => void,
    options: OverlayTileOptions = {},
  ) {
    this.tileSize = options.tileSize ?? 512;
    this.grid = new TileGrid<OverlaySource, Entry>({
      tileSize: this.tileSize,
      maxTiles: options.maxTiles ?? 64,
      maxInFlight: options.maxInFlight ?? 4,
      marginPx: options.marginPx ?? 128,
      stats: this.stats,
      load: (t, src, isCurrent) => this.load(t.level, t.x, t.y, src, isCurrent),
      onLoad: (entry) => {
        // Painted now, between frames, not in the next draw; so are the neighbours whose shared seam it settles.
        this.paint(entry);
        for (const n of this.neighbours(entry)) if (n) this.paint(n);
        this.onLoad();
      },
    });
  }

  setSource(source: OverlaySource | null): void {
    const id = source ? JSON.stringify([source.resultId, source.revision, source.z, source.width, source.height, source.mode, source.mode === 'probability' ? source.classId : 0]) : '';
    this.grid.setSource(source, id);
  }

  setStyle(style: OverlayTileStyle): void {
    this.style = style;
  }

  get maxLevel(): number {
    return this.grid.maxLevel;
  }

  /** The level the view wants, or null where the preview map is as fine (no tiles then). */
  wantedLevel(view: TileView, dpr: number): number | null {
    return this.grid.wantedLevel(view, dpr);
  }

  /**
   * Image rectangles of the cached tiles the view would draw now (the caller keeps the preview overlay out of
   * them), or null when the preview map is as fine as the view.
   */
  coveredRects(view: TileView, cssWidth: number, cssHeight: number, dpr: number): Array<[number, number, number, number]> | null {
    const level = this.wantedLevel(view, dpr);
    if (level === null) return null;
    const v = this.grid.visible(level, view, cssWidth, cssHeight, 0);
    const out: Array<[number, number, number, number]> = [];
    for (let y = v.y0; y <= v.y1; y++) {
      for (let x = v.x0; x <= v.x1; x++) {
        const e = this.grid.peek(level, x, y);
        if (e) out.push(e.rect);
      }
    }
    return out;
  }

  /**
   * Paints the cached tiles of the wanted level onto ctx (its transform maps image pixels to device pixels),
   * repainting those whose style changed, and queues the missing visible ones. Returns the tiles drawn.
   */
  draw(ctx: CanvasRenderingContext2D, view: TileView, cssWidth: number, cssHeight: number, dpr: number): number {
    this.stats.drawn = 0;
    this.stats.level = null;
    const level = this.wantedLevel(view, dpr);
    if (level === null || !this.style) {
      this.grid.clearQueue();
      return 0;
    }
    this.stats.level = level;
    const v = this.grid.visible(level, view, cssWidth, cssHeight, 0);
    let drawn = 0;
    // Crisp: each overlay pixel covers its image pixels exactly (no blur into the neighbours).
    ctx.imageSmoothingEnabled = false;
    for (let y = v.y0; y <= v.y1; y++) {
      for (let x = v.x0; x <= v.x1; x++) {
        const e = this.grid.use(level, x, y);
        if (!e) continue;
        this.paint(e);
        if (e.canvas) ctx.drawImage(e.canvas, e.rect[0], e.rect[1], e.rect[2], e.rect[3]);
        drawn++;
      }
    }
    this.grid.request(level, view, cssWidth, cssHeight);
    this.stats.drawn = drawn;
    return drawn;
  }

  /** Instance id at image pixel (x, y) from a cached finest tile, or null when no cached tile of level 0 holds it. */
  idAt(x: number, y: number): number | null {
    const tx = Math.floor(x / this.tileSize);
    const ty = Math.floor(y / this.tileSize);
    const e = this.grid.peek(0, tx, ty);
    if (!e?.ids) return null;
    const lx = Math.floor(x) - e.rect[0];
    const ly = Math.floor(y) - e.rect[1];
    if (lx < 0 || ly < 0 || lx >= e.width || ly >= e.height) return null;
    return e.ids[ly * e.width + lx] ?? null;
  }

  /** The same-level neighbours of a tile that are cached with ids of matching size (left, right, top, bottom). */
  private neighbours(e: Entry): [Entry | null, Entry | null, Entry | null, Entry | null] {
    const get = (dx: number, dy: number, sameRows: boolean) => {
      const n = this.grid.peek(e.level, e.x + dx, e.y + dy);
      return n?.ids && (sameRows ? n.height === e.height : n.width === e.width) ? n : null;
    };
    return [get(-1, 0, true), get(1, 0, true), get(0, -1, false), get(0, 1, false)];
  }

  /** (Re)paints a tile when its style or known neighbours changed since it was painted. */
  private paint(e: Entry): void {
    const style = this.style;
    const src = this.grid.source;
    if (!style || !src) return;
    let rgba: Uint8ClampedArray;
    if (e.probability) {
      const key = `p:${style.opacity}`;
      if (e.paintedKey === key) return;
      rgba = paintProbabilityTile(e.probability, Math.max(style.opacity, 0.35));
      e.paintedKey = key;
    } else if (e.ids) {
      const sel = style.selectedId !== null && e.present?.has(style.selectedId) ? style.selectedId : 0;
      // Sides on the image border need no neighbour: they are always edges (as paintOverlay's map border).
      const atImageEdge = { left: e.rect[0] <= 0, top: e.rect[1] <= 0, right: e.rect[0] + e.rect[2] >= src.width, bottom: e.rect[1] + e.rect[3] >= src.height };
      const [l, r, t, b] = this.neighbours(e);
      // Which neighbours were known is part of the key: one arriving later repaints the seam it shares.
      const key = `i:${style.key}:${sel}:${l ? 1 : 0}${r ? 1 : 0}${t ? 1 : 0}${b ? 1 : 0}`;
      if (e.paintedKey === key) return;
      const borders: TileBorders = {
        left: l?.ids ? column(l.ids, l.width, l.height, l.width - 1) : null,
        right: r?.ids ? column(r.ids, r.width, r.height, 0) : null,
        top: t?.ids ? t.ids.subarray((t.height - 1) * t.width, t.height * t.width) : null,
        bottom: b?.ids ? b.ids.subarray(0, b.width) : null,
      };
      rgba = paintInstanceTile(e.ids, e.width, e.height, borders, atImageEdge, { ...style, selectedId: sel === 0 ? null : sel });
      e.paintedKey = key;
    } else {
      return;
    }
    if (!e.canvas) {
      e.canvas = document.createElement('canvas');
      e.canvas.width = e.width;
      e.canvas.height = e.height;
    }
    e.canvas.getContext('2d')?.putImageData(new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, e.width, e.height), 0, 0);
    this.stats.painted++;
  }

  private async load(level: number, x: number, y: number, src: OverlaySource, isCurrent: () => boolean): Promise<Entry | null> {
    const request: ResultTileRequest = { resultId: src.resultId, level, x, y, tileSize: this.tileSize, z: src.z };
    const tile: Omit<Entry, 'present' | 'canvas' | 'paintedKey'> =
      src.mode === 'probability'
        ? await this.fetch.probability({ ...request, classId: src.classId }).then((p) => ({ level: p.level, x: p.x, y: p.y, width: p.width, height: p.height, rect: p.imageRect, ids: null, probability: p.probability }))
        : await this.fetch.tile(request).then((p) => ({ level: p.level, x: p.x, y: p.y, width: p.width, height: p.height, rect: p.imageRect, ids: p.instances, probability: null }));
    // Another result, revision, slice or class since: dropped.
    if (!isCurrent()) return null;
    if (tile.width * tile.height <= 0) throw new Error('empty tile');
    return { ...tile, present: tile.ids ? idsIn(tile.ids) : null, canvas: null, paintedKey: '' };
  }

  dispose(): void {
    this.setSource(null);
  }
}
