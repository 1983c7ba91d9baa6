// Pieces shared by the streaming postprocess passes (streaming.ts strips, streaming-volume.ts slices,
// streaming-instances.ts, streaming-split.ts): one copy of the provisional-id bookkeeping, label checks and the
// instance-map writing, so the 2D and 3D paths cannot drift apart in what they count or write.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Geometry } from '../../../preload/formats';
import { InputError, type ImageSource, type PixelArray, type PixelBlock, type Region } from '../image';
import { TiffWriter } from '../io/tiff-writer';
import { findRoot, type ComponentStats } from './components';

/** A raster read by rows: what the streaming passes need from an ImageSource. */
export type RowSource = Pick<ImageSource, 'file' | 'width' | 'height' | 'dtype'> & { read(region: Region): Promise<PixelBlock> };

/** Channel 0 of `rows` rows from y (columns x..x+w, default the whole width). */
export async function readRows(src: RowSource, y: number, rows: number, x = 0, w = src.width): Promise<PixelArray> {
  return (await src.read({ x, y, width: w, height: rows, channels: [0] })).data;
}

/** Refuses label values that cannot be classes (as pipeline.ts does for in-memory label maps). */
export function checkLabels(data: PixelArray, file: string): void {
  if (data instanceof Uint8Array || data instanceof Uint16Array) return;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isInteger(v) || v < 0) throw new InputError(file, `label maps hold non-negative integers; found ${v}`);
    if (v > 65535) throw new InputError(file, `label value ${v} is above 65535`);
  }
}

/** Growable typed column indexed by provisional id. */
class Column<T extends Float64Array | Int32Array> {
  constructor(
    public data: T,
    private readonly make: (n: number) => T,
  ) {}
  ensure(n: number): void {
    if (n <= this.data.length) return;
    // 1.5x: a column of millions of ids wastes at most a third of itself (doubling: half).
    const grown = this.make(Math.max(n, Math.ceil(this.data.length * 1.5)));
    grown.set(this.data);
    this.data = grown;
  }
}

const make64 = (n: number): Float64Array => new Float64Array(n);
const make32 = (n: number): Int32Array => new Int32Array(n);

/**
 * Per-instance statistics as columns (struct of arrays), index = final id - 1: what ComponentStats holds, without
 * an object (and three small arrays) per instance. 98 bytes per instance: class (2), pixel count (8), bbox (6 x 4),
 * index sums (3 x 8), probability sum (8), intensity sum, sum of squares, min and max (4 x 8); 82 in 2D, where
 * the z columns are left out (null: z = 0). From PieceTable.resolveTable the geometry columns are views of the
 * provisional ones (class 4 bytes, and up to a third more for their growth slack: at most ~100 bytes in 2D).
 * Records are made from it a chunk at a time (get()), so a result of millions of 1-pixel objects stays in typed arrays.
 */
export class StatsTable {
  readonly classId: Uint16Array | Int32Array;
  readonly pixelCount: Float64Array;
  readonly minX: Int32Array;
  readonly minY: Int32Array;
  readonly minZ: Int32Array | null;
  readonly maxX: Int32Array;
  readonly maxY: Int32Array;
  readonly maxZ: Int32Array | null;
  readonly sumX: Float64Array;
  readonly sumY: Float64Array;
  readonly sumZ: Float64Array | null;
  readonly probabilitySum: Float64Array;
  readonly intensitySum: Float64Array;
  readonly intensitySumSq: Float64Array;
  readonly intensityMin: Float64Array;
  readonly intensityMax: Float64Array;

  /** `geometry`: columns already made (resolveTable hands over its compacted ones); the rest start empty. */
  constructor(
    readonly length: number,
    geometry?: Pick<StatsTable, 'classId' | 'pixelCount' | 'minX' | 'minY' | 'minZ' | 'maxX' | 'maxY' | 'maxZ' | 'sumX' | 'sumY' | 'sumZ'>,
  ) {
    const f64 = (): Float64Array => new Float64Array(length);
    const i32 = (): Int32Array => new Int32Array(length);
    this.classId = geometry?.classId ?? new Uint16Array(length);
    this.pixelCount = geometry?.pixelCount ?? f64();
    this.minX = geometry?.minX ?? i32();
    this.minY = geometry?.minY ?? i32();
    this.minZ = geometry ? geometry.minZ : i32();
    this.maxX = geometry?.maxX ?? i32();
    this.maxY = geometry?.maxY ?? i32();
    this.maxZ = geometry ? geometry.maxZ : i32();
    this.sumX = geometry?.sumX ?? f64();
    this.sumY = geometry?.sumY ?? f64();
    this.sumZ = geometry ? geometry.sumZ : f64();
    this.probabilitySum = f64();
    this.intensitySum = f64();
    this.intensitySumSq = f64();
    this.intensityMin = f64().fill(Infinity);
    this.intensityMax = f64().fill(-Infinity);
  }

  /** The columns of statistics objects (callers that still hold them, e.g. the boundary split). */
  static fromArray(stats: readonly ComponentStats[]): StatsTable {
    const t = new StatsTable(stats.length);
    stats.forEach((s, i) => {
      if (s.id !== i + 1) throw new RangeError(`StatsTable: statistics must have ids 1..n in order; item ${i} has id ${s.id}`);
      t.classId[i] = s.classId;
      t.pixelCount[i] = s.pixelCount;
      [t.minX[i], t.minY[i], t.minZ![i]] = s.min;
      [t.maxX[i], t.maxY[i], t.maxZ![i]] = s.max;
      [t.sumX[i], t.sumY[i], t.sumZ![i]] = s.sum;
      t.probabilitySum[i] = s.probabilitySum;
      t.intensitySum[i] = s.intensitySum;
      t.intensitySumSq[i] = s.intensitySumSq;
      t.intensityMin[i] = s.intensityMin;
      t.intensityMax[i] = s.intensityMax;
    });
    return t;
  }

  /** Instance i (id i + 1) as a ComponentStats object. */
  get(i: number): ComponentStats {
    return {
      id: i + 1,
      classId: this.classId[i]!,
      pixelCount: this.pixelCount[i]!,
      min: [this.minX[i]!, this.minY[i]!, this.minZ ? this.minZ[i]! : 0],
      max: [this.maxX[i]!, this.maxY[i]!, this.maxZ ? this.maxZ[i]! : 0],
      sum: [this.sumX[i]!, this.sumY[i]!, this.sumZ ? this.sumZ[i]! : 0],
      probabilitySum: this.probabilitySum[i]!,
      intensitySum: this.intensitySum[i]!,
      intensitySumSq: this.intensitySumSq[i]!,
      intensityMin: this.intensityMin[i]!,
      intensityMax: this.intensityMax[i]!,
    };
  }

  /** Every instance as objects: only for callers that need the array (small results, 3D volumes). */
  toArray(): ComponentStats[] {
    return Array.from({ length: this.length }, (_, i) => this.get(i));
  }

  /** One intensity sample of instance i (components.ts addIntensity on the columns: the same sums, bit for bit). */
  addIntensity(i: number, v: number): void {
    this.intensitySum[i]! += v;
    this.intensitySumSq[i]! += v * v;
    if (v < this.intensityMin[i]!) this.intensityMin[i] = v;
    if (v > this.intensityMax[i]!) this.intensityMax[i] = v;
  }
}

/**
 * Provisional ids of pieces labelled one strip or slice at a time, with their statistics, joined across strips in
 * a union-find where the smaller root wins: as ids grow with first-pixel raster order, a root is its component's
 * first piece, and resolving in id order gives final ids in raster order of the first pixel (components.ts's rule).
 * Columns are indexed by provisional id; 2D callers pass z = 0, so the z columns stay 0 there.
 */
export class PieceTable {
  private parent = new Uint32Array(1 << 16);
  /** Provisional ids handed out (index 0 unused). */
  total = 0;
  readonly count = new Column(make64(1 << 16), make64);
  readonly minX = new Column(make32(1 << 16), make32);
  readonly minY = new Column(make32(1 << 16), make32);
  readonly maxX = new Column(make32(1 << 16), make32);
  readonly maxY = new Column(make32(1 << 16), make32);
  readonly minZ: Column<Int32Array>;
  readonly maxZ: Column<Int32Array>;
  readonly sumX = new Column(make64(1 << 16), make64);
  readonly sumY = new Column(make64(1 << 16), make64);
  readonly sumZ: Column<Float64Array>;
  readonly classOf = new Column(make32(1 << 16), make32);
  /** Labelled pixels per label value (index = value, 0..65535), less those of objects resolve() drops. */
  readonly perValue = new Float64Array(65536);
  /** Pixels that are not nodata. */
  valid = 0;
  /** Largest label value other than 0, 255 and 65535 (which pipeline.ts never counts as classes). */
  maxLabel = 0;
  private readonly columns: Array<Column<Float64Array> | Column<Int32Array>>;
  private readonly volume: boolean;

  /** `volume`: pieces of several slices (z columns kept); false: one plane, z always 0 (16 bytes an id saved). */
  constructor(volume = true) {
    this.volume = volume;
    const n = volume ? 1 << 16 : 0;
    this.minZ = new Column(make32(n), make32);
    this.maxZ = new Column(make32(n), make32);
    this.sumZ = new Column(make64(n), make64);
    this.columns = [this.count, this.minX, this.minY, this.maxX, this.maxY, this.sumX, this.sumY, this.classOf, ...(volume ? [this.minZ, this.maxZ, this.sumZ] : [])];
  }

  /** Hands out ids base+1..base+k for the k pieces of slice z (0 in 2D); returns base. */
  add(k: number, z: number): number {
    const base = this.total;
    this.total += k;
    const total = this.total;
    if (total + 1 > this.parent.length) {
      const grown = new Uint32Array(Math.max(total + 1, Math.ceil(this.parent.length * 1.5)));
      grown.set(this.parent);
      this.parent = grown;
    }
    for (const c of this.columns) c.ensure(total + 1);
    const parent = this.parent;
    const x0s = this.minX.data;
    const y0s = this.minY.data;
    const z0s = this.minZ.data;
    const z1s = this.maxZ.data;
    for (let g = base + 1; g <= total; g++) {
      parent[g] = g;
      x0s[g] = 0x7fffffff;
      y0s[g] = 0x7fffffff;
    }
    if (this.volume) {
      for (let g = base + 1; g <= total; g++) {
        z0s[g] = z;
        z1s[g] = z;
      }
    } else if (z !== 0) throw new RangeError('PieceTable: a plane table takes slice 0 only');
    return base;
  }

  /**
   * Counts `rows` rows of classes (row y is raster row y0 + y of slice z, z = 0 in 2D) whose pieces have the
   * strip-local ids `ids` (provisional id = base + local id), in raster order.
   */
  addPixels(cls: PixelArray, ids: Uint32Array, base: number, width: number, rows: number, y0: number, z: number, nodata: number): void {
    const n = this.count.data;
    const x0s = this.minX.data;
    const y0s = this.minY.data;
    const x1s = this.maxX.data;
    const y1s = this.maxY.data;
    const sx = this.sumX.data;
    const sy = this.sumY.data;
    const sz = this.sumZ.data;
    const cl = this.classOf.data;
    const perValue = this.perValue;
    let valid = this.valid;
    let maxLabel = this.maxLabel;
    for (let y = 0; y < rows; y++) {
      const gy = y0 + y;
      for (let x = 0; x < width; x++) {
        const i = y * width + x;
        const c = cls[i]!;
        if (c === nodata) continue;
        valid++;
        if (c === 0) continue;
        perValue[c]!++;
        if (c > maxLabel && c !== 255 && c !== 65535) maxLabel = c;
        const g = base + ids[i]!;
        if (n[g] === 0) cl[g] = c;
        n[g]!++;
        if (x < x0s[g]!) x0s[g] = x;
        if (x > x1s[g]!) x1s[g] = x;
        if (gy < y0s[g]!) y0s[g] = gy;
        if (gy > y1s[g]!) y1s[g] = gy;
        sx[g]! += x;
        sy[g]! += gy;
        // z = 0 adds nothing (and a plane table has no z column).
        if (z !== 0) sz[g]! += z;
      }
    }
    this.valid = valid;
    this.maxLabel = maxLabel;
  }

  find(a: number): number {
    return findRoot(this.parent, a);
  }

  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra < rb) this.parent[rb] = ra;
    else if (rb < ra) this.parent[ra] = rb;
  }

  /**
   * Folds pieces into their roots, gives final ids 1..n to roots in id order, drops objects below minPixels (their
   * pixels leave perValue) and renumbers the rest, as components.ts does. finalOf maps provisional to final ids (0 =
   * dropped). Frees the table.
   */
  resolve(minPixels: number): { stats: ComponentStats[]; finalOf: Uint32Array } {
    const { table, finalOf } = this.resolveTable(minPixels);
    return { stats: table.toArray(), finalOf };
  }

  /**
   * resolve() into columns: the roots' statistics are compacted in place (a root's final index is never above its
   * provisional one, and every piece was folded before) and handed to a StatsTable as views, so nothing is copied:
   * the peak is the provisional columns (plus the new probability and intensity columns).
   */
  resolveTable(minPixels: number): { table: StatsTable; finalOf: Uint32Array } {
    const total = this.total;
    const n = this.count.data;
    const x0s = this.minX.data;
    const y0s = this.minY.data;
    const x1s = this.maxX.data;
    const y1s = this.maxY.data;
    const z0s = this.minZ.data;
    const z1s = this.maxZ.data;
    const sx = this.sumX.data;
    const sy = this.sumY.data;
    const sz = this.sumZ.data;
    const cl = this.classOf.data;
    const perValue = this.perValue;
    for (let g = 1; g <= total; g++) {
      const r = this.find(g);
      if (r === g) continue;
      n[r]! += n[g]!;
      if (x0s[g]! < x0s[r]!) x0s[r] = x0s[g]!;
      if (y0s[g]! < y0s[r]!) y0s[r] = y0s[g]!;
      if (x1s[g]! > x1s[r]!) x1s[r] = x1s[g]!;
      if (y1s[g]! > y1s[r]!) y1s[r] = y1s[g]!;
      sx[r]! += sx[g]!;
      sy[r]! += sy[g]!;
      if (this.volume) {
        if (z1s[g]! > z1s[r]!) z1s[r] = z1s[g]!;
        sz[r]! += sz[g]!;
      }
    }
    const finalOf = new Uint32Array(total + 1);
    let count = 0;
    for (let g = 1; g <= total; g++) {
      const r = this.find(g);
      if (r !== g) {
        finalOf[g] = finalOf[r]!;
        continue;
      }
      const pixelCount = n[g]!;
      if (pixelCount < minPixels) {
        perValue[cl[g]!]! -= pixelCount;
        continue;
      }
      // Final index count (id count + 1) <= g - 1: a slot already read.
      const i = count++;
      finalOf[g] = i + 1;
      n[i] = pixelCount;
      cl[i] = cl[g]!;
      x0s[i] = x0s[g]!;
      y0s[i] = y0s[g]!;
      x1s[i] = x1s[g]!;
      y1s[i] = y1s[g]!;
      sx[i] = sx[g]!;
      sy[i] = sy[g]!;
      if (this.volume) {
        z0s[i] = z0s[g]!;
        z1s[i] = z1s[g]!;
        sz[i] = sz[g]!;
      }
    }
    this.parent = new Uint32Array(0);
    // Views of the compacted columns, not copies: a copy would need the provisional columns and the copies at once
    // (the former are freed only when the garbage collector gets to them), a view keeps at most the growth slack.
    const take = <T extends Float64Array | Int32Array>(c: Column<T>): T => {
      const view = c.data.subarray(0, count) as T;
      c.data = c.data.subarray(0, 0) as T;
      return view;
    };
    const table = new StatsTable(count, {
      classId: take(this.classOf),
      pixelCount: take(this.count),
      minX: take(this.minX),
      minY: take(this.minY),
      minZ: this.volume ? take(this.minZ) : null,
      maxX: take(this.maxX),
      maxY: take(this.maxY),
      maxZ: this.volume ? take(this.maxZ) : null,
      sumX: take(this.sumX),
      sumY: take(this.sumY),
      sumZ: this.volume ? take(this.sumZ) : null,
    });
    return { table, finalOf };
  }
}

/** Where the instance map goes: the given path, or a temporary file that cleanup() removes. */
export async function instanceMapPath(given: string | undefined): Promise<{ instancesPath: string; cleanup: () => Promise<void> }> {
  if (given) return { instancesPath: given, cleanup: async (): Promise<void> => undefined };
  const tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'delineate-instances-'));
  return { instancesPath: path.join(tmpDir, 'instances.tif'), cleanup: (): Promise<void> => fs.rm(tmpDir, { recursive: true, force: true }) };
}

/** The instance map's writer: uint16, or uint32 from 65536 instances (`wide`), as the whole-map stage writes it. */
export function openInstanceWriter(file: string, width: number, height: number, wide: boolean, geometry: Geometry, tileSize: number): Promise<TiffWriter> {
  return TiffWriter.open(file, { width, height, channels: 1, dtype: wide ? 'uint32' : 'uint16', geometry }, { description: 'instances: value = id in instances.json, 0 = none', tileSize });
}

/** Writes rows of instance ids at the instance map's type (see openInstanceWriter). */
export function writeInstanceRows(writer: TiffWriter, y: number, rows: number, ids: Uint32Array | PixelArray, wide: boolean): Promise<void> {
  return writer.writeWindow(0, y, writer.layout.width, rows, wide ? ids : Uint16Array.from(ids));
}
