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
    const grown = this.make(Math.max(n, this.data.length * 2));
    grown.set(this.data);
    this.data = grown;
  }
}

const make64 = (n: number): Float64Array => new Float64Array(n);
const make32 = (n: number): Int32Array => new Int32Array(n);

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
  readonly minZ = new Column(make32(1 << 16), make32);
  readonly maxZ = new Column(make32(1 << 16), make32);
  readonly sumX = new Column(make64(1 << 16), make64);
  readonly sumY = new Column(make64(1 << 16), make64);
  readonly sumZ = new Column(make64(1 << 16), make64);
  readonly classOf = new Column(make32(1 << 16), make32);
  /** Labelled pixels per label value (index = value, 0..65535), less those of objects resolve() drops. */
  readonly perValue = new Float64Array(65536);
  /** Pixels that are not nodata. */
  valid = 0;
  /** Largest label value other than 0, 255 and 65535 (which pipeline.ts never counts as classes). */
  maxLabel = 0;
  private readonly columns = [this.count, this.minX, this.minY, this.maxX, this.maxY, this.minZ, this.maxZ, this.sumX, this.sumY, this.sumZ, this.classOf];

  /** Hands out ids base+1..base+k for the k pieces of slice z (0 in 2D); returns base. */
  add(k: number, z: number): number {
    const base = this.total;
    this.total += k;
    const total = this.total;
    if (total + 1 > this.parent.length) {
      const grown = new Uint32Array(Math.max(total + 1, this.parent.length * 2));
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
      z0s[g] = z;
      z1s[g] = z;
    }
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
        sz[g]! += z;
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
      if (z1s[g]! > z1s[r]!) z1s[r] = z1s[g]!;
      sx[r]! += sx[g]!;
      sy[r]! += sy[g]!;
      sz[r]! += sz[g]!;
    }
    const finalOf = new Uint32Array(total + 1);
    const stats: ComponentStats[] = [];
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
      const id = stats.length + 1;
      finalOf[g] = id;
      stats.push({
        id,
        classId: cl[g]!,
        pixelCount,
        min: [x0s[g]!, y0s[g]!, z0s[g]!],
        max: [x1s[g]!, y1s[g]!, z1s[g]!],
        sum: [sx[g]!, sy[g]!, sz[g]!],
        probabilitySum: 0,
        intensitySum: 0,
        intensitySumSq: 0,
        intensityMin: Infinity,
        intensityMax: -Infinity,
      });
    }
    this.parent = new Uint32Array(0);
    for (const c of this.columns) c.data = c.data.subarray(0, 0) as typeof c.data;
    return { stats, finalOf };
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
