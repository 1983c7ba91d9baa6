// Inference on one part (a core window) of a 2D plane, giving exactly the probabilities the whole-plane run
// (runPlane over the whole image) gives on that part. The tile grid is the whole plane's (tileStarts over the full
// model-grid size, not over the window), the window runs every tile of that grid that touches the pixels its core
// needs, in the whole run's order, and resampling uses the whole plane's taps; every blended sum therefore adds the
// same terms in the same order as the whole run does. Windowed runs and shards (../shards.ts) use it, so a raster
// cut into windows, or into shards run on different machines, still gets the labels of one run.
import type { Tensor4 } from './runtime';
import { axisTaps, modelGridSize, type AxisTaps } from './resample';
import { gaussianWeights, reflectIndex, runTileBatch, throwIfAborted, tileStarts, type TiledRunOptions } from './tiling';
import type { PlaneResult } from './plane';

/** The whole plane's tile grid (on the model grid when resampled) and resampling taps. */
export interface GlobalGrid {
  /** Image size. */
  width: number;
  height: number;
  /** Model-grid size (the image size when not resampled). */
  gridW: number;
  gridH: number;
  factor: [number, number] | null;
  tileW: number;
  tileH: number;
  xs: number[];
  ys: number[];
  /** Image -> grid taps (forward) and grid -> image taps (back); null when not resampled. */
  fwd: { x: AxisTaps; y: AxisTaps } | null;
  back: { x: AxisTaps; y: AxisTaps } | null;
}

export function planGlobalGrid(width: number, height: number, tileSize: [number, number], overlap: number, factor: [number, number] | null): GlobalGrid {
  const gridW = factor ? modelGridSize(width, factor[0]) : width;
  const gridH = factor ? modelGridSize(height, factor[1]) : height;
  const resampled = factor !== null && (gridW !== width || gridH !== height);
  return {
    width,
    height,
    gridW,
    gridH,
    factor: resampled ? factor : null,
    tileW: tileSize[0],
    tileH: tileSize[1],
    xs: tileStarts(gridW, tileSize[0], overlap),
    ys: tileStarts(gridH, tileSize[1], overlap),
    fwd: resampled ? { x: axisTaps(width, gridW), y: axisTaps(height, gridH) } : null,
    back: resampled ? { x: axisTaps(gridW, width), y: axisTaps(gridH, height) } : null,
  };
}

export interface Span {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** What a core window needs: the grid pixels behind its probabilities, the tiles over them, and the image to read. */
export interface RegionPlan {
  core: { x: number; y: number; w: number; h: number };
  /** Grid pixels whose blended probabilities the core's pixels are made of. */
  need: Span;
  /** Global tile indices (row-major over ys x xs) touching `need`, ascending: the whole run's order. */
  tiles: number[];
  /** Grid pixels those tiles cover (clamped to the grid). */
  span: Span;
  /** Image pixels to read: `span` itself, or the image taps that resampling `span` reads. */
  read: { x: number; y: number; width: number; height: number };
}

function touching(starts: number[], tile: number, a: number, b: number): number[] {
  const out: number[] = [];
  starts.forEach((s, i) => {
    if (s < b && s + tile > a) out.push(i);
  });
  return out;
}

function union(a: Span, b: Span): { x: number; y: number; width: number; height: number } {
  const x = Math.min(a.x0, b.x0);
  const y = Math.min(a.y0, b.y0);
  return { x, y, width: Math.max(a.x1, b.x1) - x, height: Math.max(a.y1, b.y1) - y };
}

export function planRegion(g: GlobalGrid, core: { x: number; y: number; w: number; h: number }): RegionPlan {
  const need: Span = g.back
    ? { x0: g.back.x.i0[core.x]!, x1: g.back.x.i1[core.x + core.w - 1]! + 1, y0: g.back.y.i0[core.y]!, y1: g.back.y.i1[core.y + core.h - 1]! + 1 }
    : { x0: core.x, x1: core.x + core.w, y0: core.y, y1: core.y + core.h };
  const ix = touching(g.xs, g.tileW, need.x0, need.x1);
  const iy = touching(g.ys, g.tileH, need.y0, need.y1);
  const tiles: number[] = [];
  for (const j of iy) for (const i of ix) tiles.push(j * g.xs.length + i);
  const span: Span = {
    x0: Math.min(need.x0, g.xs[ix[0]!]!),
    x1: Math.max(need.x1, Math.min(g.gridW, g.xs[ix[ix.length - 1]!]! + g.tileW)),
    y0: Math.min(need.y0, g.ys[iy[0]!]!),
    y1: Math.max(need.y1, Math.min(g.gridH, g.ys[iy[iy.length - 1]!]! + g.tileH)),
  };
  // Resampled: the image taps of the span, and the core itself (its validity labels its nodata pixels).
  const read = g.fwd
    ? union(
        { x0: g.fwd.x.i0[span.x0]!, y0: g.fwd.y.i0[span.y0]!, x1: g.fwd.x.i1[span.x1 - 1]! + 1, y1: g.fwd.y.i1[span.y1 - 1]! + 1 },
        { x0: core.x, y0: core.y, x1: core.x + core.w, y1: core.y + core.h },
      )
    : { x: span.x0, y: span.y0, width: span.x1 - span.x0, height: span.y1 - span.y0 };
  return { core, need, tiles, span, read };
}

/**
 * Bilinear resampling of part of a plane, with the whole plane's taps: `data` holds source pixels [sx, sx + sw) x
 * [sy, sy + sh) (channel-planar); the result holds destination pixels [d.x0, d.x1) x [d.y0, d.y1). Same arithmetic,
 * in the same float32 steps, as resampleBilinear, so each value is the whole plane's.
 */
function resamplePart(data: Float32Array, channels: number, sx: number, sy: number, sw: number, sh: number, tx: AxisTaps, ty: AxisTaps, d: Span): Float32Array {
  const dw = d.x1 - d.x0;
  const dh = d.y1 - d.y0;
  const out = new Float32Array(channels * dw * dh);
  const rowA = new Float32Array(dw);
  const rowB = new Float32Array(dw);
  const lerpRow = (plane: number, y: number, row: Float32Array): void => {
    const base = plane + (y - sy) * sw - sx;
    for (let x = 0; x < dw; x++) {
      const a = data[base + tx.i0[d.x0 + x]!]!;
      row[x] = a + (data[base + tx.i1[d.x0 + x]!]! - a) * tx.w1[d.x0 + x]!;
    }
  };
  for (let c = 0; c < channels; c++) {
    const srcPlane = c * sw * sh;
    for (let y = 0; y < dh; y++) {
      lerpRow(srcPlane, ty.i0[d.y0 + y]!, rowA);
      lerpRow(srcPlane, ty.i1[d.y0 + y]!, rowB);
      const wy = ty.w1[d.y0 + y]!;
      const off = c * dw * dh + y * dw;
      for (let x = 0; x < dw; x++) out[off + x] = rowA[x]! + (rowB[x]! - rowA[x]!) * wy;
    }
  }
  return out;
}

/** resampleMaskAny on part of a mask, with the whole plane's taps (see resamplePart). */
function maskPart(mask: Uint8Array, sx: number, sy: number, sw: number, tx: AxisTaps, ty: AxisTaps, d: Span): Uint8Array {
  const dw = d.x1 - d.x0;
  const out = new Uint8Array(dw * (d.y1 - d.y0));
  for (let y = d.y0; y < d.y1; y++) {
    const r0 = (ty.i0[y]! - sy) * sw - sx;
    const r1 = (ty.i1[y]! - sy) * sw - sx;
    for (let x = d.x0; x < d.x1; x++) {
      const a = tx.i0[x]!;
      const b = tx.i1[x]!;
      out[(y - d.y0) * dw + x - d.x0] = mask[r0 + a] || mask[r0 + b] || mask[r1 + a] || mask[r1 + b] ? 1 : 0;
    }
  }
  return out;
}

/**
 * Model outputs (activated, test-time flips averaged: K x tile pixels) of tiles that more than one window needs:
 * a tile across a window border would otherwise run once per window (14 % more model calls at 8192 x 8192 with
 * 2048 px windows). A reused output is the same array of numbers, so the blended sums stay the whole run's.
 */
export interface TileCache {
  get(tile: number): Float32Array | undefined;
  /** Offered each tile's output right after it ran (a view: copy what is kept). */
  offer(tile: number, output: Float32Array): void;
}

/**
 * The blending sums (and the normalised input) of one run's windows, kept from window to window: a 2048 px window's
 * sums are about 150 MB, and fresh pages for them every window cost more than the blending itself (page faults and
 * zeroing: 0.4 s a window on the 2-core reference machine). One per run, never shared by runs that interleave.
 */
export class RegionScratch {
  private sumsBuf: Float32Array = new Float32Array(0);
  private weightsBuf: Float32Array = new Float32Array(0);
  private inputBuf: Float32Array = new Float32Array(0);
  private tilesBuf: Float32Array = new Float32Array(0);

  /** A buffer of at least `length` floats for the window's normalised input (written whole by its user, not zeroed). */
  input(length: number): Float32Array {
    if (this.inputBuf.length < length) this.inputBuf = new Float32Array(length);
    return this.inputBuf;
  }

  /** `length` floats for a batch of tiles' input (written whole by its user, not zeroed). */
  tiles(length: number): Float32Array {
    if (this.tilesBuf.length < length) this.tilesBuf = new Float32Array(length);
    return this.tilesBuf.subarray(0, length);
  }

  /** Zeroed sums of `length` floats (the kept array grows when too small). */
  sums(length: number): Float32Array {
    if (this.sumsBuf.length < length) this.sumsBuf = new Float32Array(length);
    return this.sumsBuf.subarray(0, length).fill(0);
  }

  /** Zeroed weight sums of `length` floats (as sums). */
  weights(length: number): Float32Array {
    if (this.weightsBuf.length < length) this.weightsBuf = new Float32Array(length);
    return this.weightsBuf.subarray(0, length).fill(0);
  }

  /** Lets the memory go (the run's windows are done). */
  release(): void {
    this.sumsBuf = new Float32Array(0);
    this.weightsBuf = new Float32Array(0);
    this.inputBuf = new Float32Array(0);
    this.tilesBuf = new Float32Array(0);
  }
}

/**
 * Runs the region's tiles on its read window (`input`: normalised C x read.height x read.width; `valid`: validity of
 * the same pixels) and returns the core's probabilities, K x core.h x core.w, equal to the whole-plane run's there.
 * With `scratch`, the returned data may be a view of the scratch's sums: valid until the next call with it.
 */
export async function runRegion(
  g: GlobalGrid,
  r: RegionPlan,
  input: { data: Float32Array; channels: number; valid?: Uint8Array | undefined },
  runBatch: (input: Tensor4) => Promise<Tensor4>,
  options: Omit<TiledRunOptions, 'valid' | 'tileSize' | 'overlap'> & { cache?: TileCache; scratch?: RegionScratch },
): Promise<PlaneResult & { skippedTiles: number[]; reused: number }> {
  const C = input.channels;
  const { span, read, core } = r;
  const SW = span.x1 - span.x0;
  const SH = span.y1 - span.y0;
  let plane = input.data;
  let valid = input.valid;
  if (g.fwd) {
    plane = resamplePart(input.data, C, read.x, read.y, read.width, read.height, g.fwd.x, g.fwd.y, span);
    if (valid) valid = maskPart(valid, read.x, read.y, read.width, g.fwd.x, g.fwd.y, span);
  }
  const { tileW: tw, tileH: th, gridW: GW, gridH: GH } = g;
  const nx = g.xs.length;
  const all = r.tiles.map((i) => [g.xs[i % nx]!, g.ys[Math.floor(i / nx)]!] as [number, number]);
  const skippedTiles: number[] = [];
  // A tile runs unless none of its pixels inside the plane is valid (runTiled's rule, on the whole grid's tile).
  const hasValid = (ox: number, oy: number): boolean => {
    if (!valid) return true;
    for (let y = oy; y < Math.min(GH, oy + th); y++) {
      const row = (y - span.y0) * SW - span.x0;
      for (let x = ox; x < Math.min(GW, ox + tw); x++) if (valid[row + x] !== 0) return true;
    }
    return false;
  };
  // [x, y, global tile index] of the tiles that run (or come from the cache), in the whole run's order.
  const origins: Array<[number, number, number]> = [];
  all.forEach(([ox, oy], j) => {
    if (hasValid(ox, oy)) origins.push([ox, oy, r.tiles[j]!]);
    else skippedTiles.push(r.tiles[j]!);
  });
  const skipped = all.length - origins.length;
  const tilePixels = tw * th;
  const weights = gaussianWeights(tw, th);
  const scratch = options.scratch;
  const weightSum = scratch ? scratch.weights(SW * SH) : new Float32Array(SW * SH);
  let acc: Float32Array | null = null;
  let K = 0;
  const batch = Math.max(1, Math.floor(options.batch));
  if (skipped > 0) options.onTiles?.(skipped, all.length);
  const cache = options.cache;
  let done = 0;
  let reused = 0;
  // Adds one tile's output to the sums; tiles are blended strictly in the whole run's order.
  const blend = (ox: number, oy: number, tile: Float32Array, k: number): void => {
    // Locals, not the closure's variables, in the loops: V8 keeps them in registers (3-4x faster here).
    let a = acc;
    if (!a) {
      K = k;
      a = acc = scratch ? scratch.sums(K * SW * SH) : new Float32Array(K * SW * SH);
    } else if (k !== K) throw new Error(`the model returned ${k} channels after ${K}`);
    const ws = weightSum;
    const wt = weights;
    const planePx = SW * SH;
    const yEnd = Math.min(th, GH - oy);
    const xEnd = Math.min(tw, GW - ox);
    for (let y = 0; y < yEnd; y++) {
      const rowSpan = (oy + y - span.y0) * SW + ox - span.x0;
      const rowTile = y * tw;
      for (let x = 0; x < xEnd; x++) ws[rowSpan + x]! += wt[rowTile + x]!;
      for (let c = 0; c < k; c++) {
        const accOff = c * planePx + rowSpan;
        const tileOff = c * tilePixels + rowTile;
        for (let x = 0; x < xEnd; x++) a[accOff + x]! += tile[tileOff + x]! * wt[rowTile + x]!;
      }
    }
  };
  let group: Array<[number, number, number]> = [];
  // Runs the pending group as one batch and blends its tiles.
  const flush = async (): Promise<void> => {
    if (group.length === 0) return;
    throwIfAborted(options.signal);
    const tensor = scratch ? scratch.tiles(group.length * C * tilePixels) : new Float32Array(group.length * C * tilePixels);
    group.forEach(([ox, oy], b) => {
      const inside = ox + tw <= GW && oy + th <= GH;
      for (let c = 0; c < C; c++) {
        const dst = (b * C + c) * tilePixels;
        const src = c * SW * SH;
        for (let y = 0; y < th; y++) {
          if (inside) {
            const row = src + (oy + y - span.y0) * SW + ox - span.x0;
            tensor.set(plane.subarray(row, row + tw), dst + y * tw);
            continue;
          }
          // Only a plane smaller than a tile: the span then covers the whole axis, so reflected indices are inside.
          const row = src + (reflectIndex(oy + y, GH) - span.y0) * SW - span.x0;
          for (let x = 0; x < tw; x++) tensor[dst + y * tw + x] = plane[row + reflectIndex(ox + x, GW)]!;
        }
      }
    });
    const out = await runTileBatch(runBatch, tensor, group.length, C, th, tw, options);
    const k = out.dims[1];
    group.forEach(([ox, oy, index], b) => {
      const tile = out.data.subarray(b * k * tilePixels, (b + 1) * k * tilePixels);
      cache?.offer(index, tile);
      blend(ox, oy, tile, k);
    });
    done += group.length;
    group = [];
    options.onTiles?.(Math.min(all.length, skipped + done), all.length);
  };
  for (const o of origins) {
    const kept = cache?.get(o[2]);
    if (kept) {
      // Tiles before it run first: the sums must add the same terms in the same order.
      await flush();
      blend(o[0], o[1], kept, kept.length / tilePixels);
      done++;
      reused++;
      options.onTiles?.(Math.min(all.length, skipped + done), all.length);
      continue;
    }
    group.push(o);
    if (group.length >= batch) await flush();
  }
  await flush();
  // Assigned inside blend(): read back with its declared type, not the narrowed initial null.
  const sums = acc as Float32Array | null;
  if (!sums) return { data: new Float32Array(0), channels: 0, tiles: all.length, skipped, skippedTiles, reused };
  // Blended probabilities of the needed grid pixels (0 where only skipped tiles reach, as runTiled).
  const need = r.need;
  const NW = need.x1 - need.x0;
  const NH = need.y1 - need.y0;
  // With a scratch the sums are divided in place, packed to the front: every write lands at or before the value it
  // reads (NW <= SW, NH <= SH) and after every value an earlier step read, so nothing is read after it is overwritten.
  const blended = scratch ? sums.subarray(0, K * NW * NH) : new Float32Array(K * NW * NH);
  const ws = weightSum;
  for (let c = 0; c < K; c++) {
    for (let y = 0; y < NH; y++) {
      const s = (need.y0 + y - span.y0) * SW + need.x0 - span.x0;
      const d = c * NW * NH + y * NW;
      const a = c * SW * SH + s;
      for (let x = 0; x < NW; x++) {
        const w = ws[s + x]!;
        blended[d + x] = w > 0 ? sums[a + x]! / w : 0;
      }
    }
  }
  const coreSpan: Span = { x0: core.x, y0: core.y, x1: core.x + core.w, y1: core.y + core.h };
  const data = g.back ? resamplePart(blended, K, need.x0, need.y0, NW, NH, g.back.x, g.back.y, coreSpan) : blended;
  return { data, channels: K, tiles: all.length, skipped, skippedTiles, reused };
}
