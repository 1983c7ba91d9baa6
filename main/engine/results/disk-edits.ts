// Pixel edits on results kept on disk (results/disk.ts): the sparse overlay of edited pixels that every read of the
// maps consults, the window each named operation can touch, the operation moved into that window (so the pure ops
// of edit.ts / shapes.ts / accept.ts run unchanged on a crop), and the statistics of the edited objects gathered
// from a window, as the in-memory store gathers them from its maps (results/store.ts statsInBox).
import type { EditOperation, MaskRle } from '../../../preload/api';
import { InputError, type PixelArray } from '../image';
import { addPixel, newComponentStats, type ComponentStats } from '../postprocess/components';
import type { Patch } from './patch';

/** Side of the overlay's full-resolution tiles. */
export const OVERLAY_TILE = 256;

/** A window of the full-resolution raster: x0, y0 and its size. */
export interface PixelWindow {
  x0: number;
  y0: number;
  width: number;
  height: number;
}

interface OverlayTile {
  /** Instance id of each edited pixel as the edit wrote it (read through the id remaps, like stored ids). */
  ids: Uint32Array;
  labels: Uint16Array;
  /** Applied edits that wrote the pixel: 0 = not edited (the rasters on disk hold it). */
  counts: Uint16Array;
  /** Pixels of the tile with a count above 0 (the tile goes when none are left). */
  edited: number;
}

/** First index of a nondecreasing array whose value is >= v. */
function lowerBound(a: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The pixels applied edits wrote, per 256 x 256 full-resolution tile that has any: memory follows the edited area,
 * never the raster. A pixel's count says how many applied edits wrote it; undo writes the value before and lowers
 * it, so a pixel whose edits are all undone reads from the rasters again (undo and redo are last in, first out).
 */
export class PixelOverlay {
  private readonly tiles = new Map<number, OverlayTile>();
  private readonly tilesX: number;

  constructor(width: number) {
    this.tilesX = Math.ceil(width / OVERLAY_TILE);
  }

  get empty(): boolean {
    return this.tiles.size === 0;
  }

  /** Writes a crop-local patch (indices y * crop.width + x of the crop at crop.x0, crop.y0) forward or back. */
  apply(patch: Patch, crop: PixelWindow, direction: 'forward' | 'undo'): void {
    const ids = direction === 'forward' ? patch.afterInstance : patch.beforeInstance;
    const labels = direction === 'forward' ? patch.afterLabel : patch.beforeLabel;
    const cw = crop.width;
    for (let k = 0; k < patch.indices.length; k++) {
      const i = patch.indices[k]!;
      const cx = i % cw;
      const x = crop.x0 + cx;
      const y = crop.y0 + (i - cx) / cw;
      const key = Math.floor(y / OVERLAY_TILE) * this.tilesX + Math.floor(x / OVERLAY_TILE);
      let tile = this.tiles.get(key);
      if (!tile) {
        const n = OVERLAY_TILE * OVERLAY_TILE;
        tile = { ids: new Uint32Array(n), labels: new Uint16Array(n), counts: new Uint16Array(n), edited: 0 };
        this.tiles.set(key, tile);
      }
      const j = (y % OVERLAY_TILE) * OVERLAY_TILE + (x % OVERLAY_TILE);
      const c = tile.counts[j]!;
      tile.ids[j] = ids[k]!;
      tile.labels[j] = labels[k]!;
      if (direction === 'forward') {
        if (c === 0) tile.edited++;
        tile.counts[j] = Math.min(0xffff, c + 1);
      } else if (c > 0) {
        tile.counts[j] = c - 1;
        if (c === 1) tile.edited--;
      }
      if (tile.edited === 0) this.tiles.delete(key);
    }
  }

  /**
   * Calls fn for every sample (cols[ox], rows[oy]) that lands on an edited pixel, with what the edit wrote there.
   * cols and rows are nondecreasing full-resolution coordinates (a window: consecutive; a tile: every 2^level-th;
   * a preview: nearest pixel centres), so only the edited tiles are visited.
   */
  forEachEdited(cols: ArrayLike<number>, rows: ArrayLike<number>, fn: (ox: number, oy: number, id: number, label: number) => void): void {
    if (this.tiles.size === 0 || cols.length === 0 || rows.length === 0) return;
    for (const [key, tile] of this.tiles) {
      const tx = key % this.tilesX;
      const ty = (key - tx) / this.tilesX;
      const ax = lowerBound(cols, tx * OVERLAY_TILE);
      const bx = lowerBound(cols, (tx + 1) * OVERLAY_TILE);
      const ay = lowerBound(rows, ty * OVERLAY_TILE);
      const by = lowerBound(rows, (ty + 1) * OVERLAY_TILE);
      for (let oy = ay; oy < by; oy++) {
        const row = (rows[oy]! - ty * OVERLAY_TILE) * OVERLAY_TILE - tx * OVERLAY_TILE;
        for (let ox = ax; ox < bx; ox++) {
          const j = row + cols[ox]!;
          if (tile.counts[j]) fn(ox, oy, tile.ids[j]!, tile.labels[j]!);
        }
      }
    }
  }
}

/** Consecutive coordinates from..from+n-1 (a window's columns or rows). */
export function span(from: number, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = from + i;
  return out;
}

/** Every step-th coordinate from `from`, n of them (a pyramid tile's samples). */
export function stepped(from: number, n: number, step: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = from + i * step;
  return out;
}

/** The window [x0..x1] x [y0..y1] (inclusive, may reach outside) clipped to the raster; null when nothing is left. */
export function clipWindow(x0: number, y0: number, x1: number, y1: number, width: number, height: number): PixelWindow | null {
  const a = Math.max(0, x0);
  const b = Math.max(0, y0);
  const c = Math.min(width - 1, x1);
  const d = Math.min(height - 1, y1);
  return c < a || d < b ? null : { x0: a, y0: b, width: c - a + 1, height: d - b + 1 };
}

/** The smallest window holding both (either may be null). */
export function joinWindows(a: PixelWindow | null, b: PixelWindow | null): PixelWindow | null {
  if (!a) return b;
  if (!b) return a;
  const x0 = Math.min(a.x0, b.x0);
  const y0 = Math.min(a.y0, b.y0);
  return { x0, y0, width: Math.max(a.x0 + a.width, b.x0 + b.width) - x0, height: Math.max(a.y0 + a.height, b.y0 + b.height) - y0 };
}

type Op<N extends EditOperation['op']> = Extract<EditOperation, { op: N }>;

/** Operations that change pixels (the others are id remaps and record changes in results/disk.ts). */
export type PixelOperation = Op<'paintStroke' | 'eraseStroke' | 'fillPolygon' | 'erasePolygon' | 'fillHoles' | 'splitInstance' | 'regionGrow' | 'acceptPrompt'>;

export function isPixelOperation(op: EditOperation): op is PixelOperation {
  return op.op !== 'deleteInstance' && op.op !== 'setInstanceClass' && op.op !== 'mergeInstances';
}

function pointsBox(points: ReadonlyArray<readonly [number, number]>): [number, number, number, number] {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const [x, y] of points) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) throw new InputError('edit', `the point (${x}, ${y}) is not a pair of finite numbers`);
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  }
  return [minX, minY, maxX, maxY];
}

/**
 * The full-resolution window an operation can change or read, clipped to the raster (null: it touches nothing
 * there). Every pixel the operation could reach on the whole raster lies inside it, so running the operation on
 * this crop gives the same patch: a stroke's points' box +- its radius (strokePixels), a polygon's box + 1
 * (polygonPixels samples pixel centres), an object's box (fillHoles, splitInstance work inside it), the seed +-
 * maxRadiusPx (regionGrow), the masks' box (acceptPrompt). `boxOf` is the object's inclusive [x0, y0, x1, y1].
 */
export function operationWindow(op: PixelOperation, width: number, height: number, boxOf: (id: number) => [number, number, number, number] | undefined): PixelWindow | null {
  switch (op.op) {
    case 'paintStroke':
    case 'eraseStroke': {
      if (op.points.length === 0) return null;
      const [minX, minY, maxX, maxY] = pointsBox(op.points);
      const [rx, ry] = op.radiusPx;
      return clipWindow(Math.floor(minX - rx) - 1, Math.floor(minY - ry) - 1, Math.ceil(maxX + rx) + 1, Math.ceil(maxY + ry) + 1, width, height);
    }
    case 'fillPolygon':
    case 'erasePolygon': {
      if (op.points.length < 3) return null;
      const [minX, minY, maxX, maxY] = pointsBox(op.points);
      return clipWindow(Math.floor(minX) - 1, Math.floor(minY) - 1, Math.ceil(maxX) + 1, Math.ceil(maxY) + 1, width, height);
    }
    case 'fillHoles':
    case 'splitInstance': {
      const box = boxOf(op.instanceId);
      return box ? clipWindow(box[0], box[1], box[2], box[3], width, height) : null;
    }
    case 'regionGrow': {
      const r = Math.ceil(Math.max(0, op.maxRadiusPx));
      const sx = Math.floor(op.seed[0]);
      const sy = Math.floor(op.seed[1]);
      return clipWindow(sx - r, sy - r, sx + r, sy + r, width, height);
    }
    case 'acceptPrompt': {
      let out: PixelWindow | null = null;
      for (const m of op.masks) out = joinWindows(out, clipWindow(m.x0, m.y0, m.x0 + m.width - 1, m.y0 + m.height - 1, width, height));
      return out;
    }
  }
}

const shiftPoints = (points: ReadonlyArray<readonly [number, number]>, dx: number, dy: number): Array<[number, number]> => points.map(([x, y]) => [x - dx, y - dy]);

/**
 * The operation in the coordinates of a crop starting at (dx, dy): only coordinates move (integers subtracted, so
 * pixel tests at centres give the same pixels); ids, classes and tolerances stay.
 */
export function shiftOperation(op: PixelOperation, dx: number, dy: number): PixelOperation {
  switch (op.op) {
    case 'paintStroke':
    case 'eraseStroke':
    case 'fillPolygon':
    case 'erasePolygon':
      return { ...op, points: shiftPoints(op.points, dx, dy) };
    case 'splitInstance':
      return { ...op, line: shiftPoints(op.line, dx, dy) };
    case 'regionGrow':
      return { ...op, seed: [op.seed[0] - dx, op.seed[1] - dy] };
    case 'acceptPrompt':
      return { ...op, masks: op.masks.map((m): MaskRle => ({ ...m, x0: m.x0 - dx, y0: m.y0 - dy })) };
    case 'fillHoles':
      return op;
  }
}

/**
 * Checks the parts of an operation that the crop would hide: positions judged against the whole raster (a mask
 * reaching outside it, a seed outside it), with the messages the in-memory operations give.
 */
export function checkOnRaster(op: PixelOperation, width: number, height: number): void {
  if (op.op === 'acceptPrompt') {
    if (op.masks.length === 0) throw new InputError('acceptPrompt', 'there is no object to accept (no mask)');
    for (const m of op.masks) {
      if (!Number.isInteger(m.x0) || !Number.isInteger(m.y0) || m.x0 < 0 || m.y0 < 0 || m.x0 + m.width > width || m.y0 + m.height > height) throw new InputError('acceptPrompt', `the mask of slice ${m.z} reaches outside the ${width}x${height} image`);
    }
  }
  if (op.op === 'regionGrow') {
    const sx = Math.floor(op.seed[0]);
    const sy = Math.floor(op.seed[1]);
    if (!(sx >= 0 && sy >= 0 && sx < width && sy < height)) throw new InputError('edit', `the seed (${sx}, ${sy}) is outside the image`);
  }
}

/**
 * Statistics of the given objects inside a window of the (edited) maps, in full-resolution coordinates: the same
 * fields, in the same pixel order, as the in-memory store's statsInBox, so the measurements agree. `probability`
 * gives per class id its channel of the window (the model's probability x 255), `intensity` channel 0 of the image.
 * Strips of one window, top to bottom, add up into `byId` (sums in the same row-major order as one read).
 */
export function windowStats(
  win: PixelWindow,
  instances: Uint32Array,
  labels: ArrayLike<number>,
  ids: ReadonlySet<number>,
  probability: ReadonlyMap<number, ArrayLike<number>> | null,
  intensity: PixelArray | null,
  byId: Map<number, ComponentStats> = new Map(),
): ComponentStats[] {
  const { x0, y0, width: w, height: h } = win;
  for (let wy = 0; wy < h; wy++) {
    const y = y0 + wy;
    for (let wx = 0; wx < w; wx++) {
      const i = wy * w + wx;
      const id = instances[i]!;
      if (id === 0 || !ids.has(id)) continue;
      const x = x0 + wx;
      let s = byId.get(id);
      if (!s) {
        s = newComponentStats(id, labels[i]!, x, y, 0);
        byId.set(id, s);
      }
      const p = probability?.get(labels[i]!);
      addPixel(s, x, y, 0, p ? p[i]! / 255 : undefined, intensity ? intensity[i]! : undefined);
    }
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** Sets the pixels of object s that lie in a strip (a window of the instance map) in its mask over its bbox (s.min..s.max). */
export function fillMask(strip: PixelWindow, instances: Uint32Array, s: ComponentStats, mask: Uint8Array): void {
  const w = s.max[0] - s.min[0] + 1;
  const from = Math.max(s.min[1], strip.y0);
  const to = Math.min(s.max[1], strip.y0 + strip.height - 1);
  for (let y = from; y <= to; y++) {
    const row = (y - strip.y0) * strip.width + (s.min[0] - strip.x0);
    const out = (y - s.min[1]) * w;
    for (let x = 0; x < w; x++) if (instances[row + x] === s.id) mask[out + x] = 1;
  }
}
