// NIfTI volumes too large for memory, slice by slice: a reader that yields channel 0 one z-slice at a time (.nii by
// positional reads, .nii.gz inflated through zlib as a stream, never whole) and a writer that streams slices after
// the header (gzip when the name ends in .gz), written to a temporary sibling and renamed at the end (atomic).
// Values are those openNifti gives: byte-swapped from big-endian files and scaled by scl_slope/scl_inter.
import { createReadStream, createWriteStream, promises as fs, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { createGunzip, createGzip, type Gzip } from 'node:zlib';
import type { DType, Geometry } from '../../../preload/formats';
import { BYTES_PER_SAMPLE, InputError, allocPixels, dtypeOf, type PixelArray } from '../image';
import { niftiHeader, niftiLayout, type NiftiLayout } from './nifti';
import { firstLine } from './region';

/** Enough bytes for any NIfTI-1/2 header and the usual extensions before vox_offset. */
const HEAD_BYTES = 1 << 16;

export function isNiftiPath(file: string): boolean {
  return /\.nii(\.gz)?$/i.test(file);
}

/** Sequential reader of z-slices (channel 0), z = 0, 1, ... */
export interface SliceReader {
  /** The next slice, width x height values in the layout's read type. */
  next(): Promise<PixelArray>;
  close(): Promise<void>;
}

export interface NiftiSlices {
  file: string;
  layout: NiftiLayout;
  gzip: boolean;
  /** A fresh reader from slice 0 (each pass opens its own). */
  slices(): SliceReader;
}

async function isGzip(file: string): Promise<boolean> {
  const fh = await fs.open(file, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Reads exact byte counts from a stream of chunks. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private have = 0;
  constructor(
    private readonly iter: AsyncIterator<Buffer>,
    private readonly file: string,
  ) {}

  /** Exactly n bytes, or null at the end of the stream (a partial read throws). */
  async take(n: number): Promise<Buffer | null> {
    while (this.have < n) {
      let r: IteratorResult<Buffer>;
      try {
        r = await this.iter.next();
      } catch (err) {
        throw new InputError(this.file, `corrupt or truncated gzip data (${firstLine(err)})`);
      }
      if (r.done) {
        if (this.have === 0) return null;
        throw new InputError(this.file, `truncated NIfTI: the data ends ${n - this.have} bytes into a slice`);
      }
      this.chunks.push(r.value);
      this.have += r.value.length;
    }
    const out = Buffer.allocUnsafe(n);
    let o = 0;
    while (o < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - o);
      c.copy(out, o, 0, k);
      o += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.have -= n;
    return out;
  }
}

function gunzipStream(file: string): { iter: AsyncIterator<Buffer>; destroy: () => void } {
  const rs = createReadStream(file);
  const gz = createGunzip();
  rs.on('error', (err) => gz.destroy(err));
  rs.pipe(gz);
  return { iter: gz[Symbol.asyncIterator]() as AsyncIterator<Buffer>, destroy: () => (rs.destroy(), gz.destroy()) };
}

/** Opens a .nii / .nii.gz for slice-by-slice reading: reads only the header now. */
export async function openNiftiSlices(file: string): Promise<NiftiSlices> {
  let gzip: boolean;
  try {
    gzip = await isGzip(file);
  } catch (err) {
    throw new InputError(file, `cannot read (${(err as NodeJS.ErrnoException).code ?? firstLine(err)})`);
  }
  let head: Buffer;
  if (gzip) {
    const s = gunzipStream(file);
    const parts: Buffer[] = [];
    let n = 0;
    try {
      while (n < HEAD_BYTES) {
        const r = await s.iter.next();
        if (r.done) break;
        parts.push(r.value);
        n += r.value.length;
      }
    } catch (err) {
      throw new InputError(file, `corrupt or truncated gzip data (${firstLine(err)})`);
    } finally {
      s.destroy();
    }
    head = Buffer.concat(parts);
  } else {
    const fh = await fs.open(file, 'r');
    try {
      const b = Buffer.alloc(HEAD_BYTES);
      const { bytesRead } = await fh.read(b, 0, HEAD_BYTES, 0);
      head = b.subarray(0, bytesRead);
      const layout = niftiLayout(file, head);
      const need = layout.offset + layout.width * layout.height * layout.depth * layout.channels * BYTES_PER_SAMPLE[layout.storedDtype];
      const size = (await fh.stat()).size;
      if (size < need) throw new InputError(file, `truncated NIfTI: the voxels need ${need} bytes, the file has ${size}`);
    } finally {
      await fh.close();
    }
  }
  const layout = niftiLayout(file, head);
  const { width: W, height: H, storedDtype, dtype, scaled, slope, inter, littleEndian, offset } = layout;
  const bytesPer = BYTES_PER_SAMPLE[storedDtype];
  const sliceBytes = W * H * bytesPer;

  /** Stored bytes of one slice -> values as openNifti reads them. */
  const decode = (bytes: Buffer): PixelArray => {
    const stored = allocPixels(storedDtype, W * H);
    const view = new Uint8Array(stored.buffer);
    view.set(bytes);
    if (!littleEndian && bytesPer > 1) for (let i = 0; i < view.length; i += bytesPer) view.subarray(i, i + bytesPer).reverse();
    if (!scaled) return stored;
    const out = allocPixels(dtype, W * H);
    for (let i = 0; i < out.length; i++) out[i] = stored[i]! * slope + inter;
    return out;
  };

  const slices = (): SliceReader => {
    if (gzip) {
      const s = gunzipStream(file);
      const q = new ByteQueue(s.iter, file);
      let skipped = false;
      return {
        next: async () => {
          if (!skipped) {
            if ((await q.take(offset)) === null) throw new InputError(file, 'truncated NIfTI: no voxel data');
            skipped = true;
          }
          const b = await q.take(sliceBytes);
          if (!b) throw new InputError(file, 'truncated NIfTI: fewer slices than the header says');
          return decode(b);
        },
        close: () => Promise.resolve(s.destroy()),
      };
    }
    let z = 0;
    const opened = fs.open(file, 'r');
    return {
      next: async () => {
        const fh = await opened;
        const b = Buffer.alloc(sliceBytes);
        const { bytesRead } = await fh.read(b, 0, sliceBytes, offset + z * sliceBytes);
        if (bytesRead < sliceBytes) throw new InputError(file, `truncated NIfTI: slice ${z} is incomplete`);
        z++;
        return decode(b);
      },
      close: async () => (await opened).close(),
    };
  };
  return { file, layout, gzip, slices };
}

/** Writes a NIfTI-1 volume slice by slice (z = 0, 1, ...); nothing appears at the target before close(). */
export class NiftiSliceWriter {
  private written = 0;
  private constructor(
    private readonly target: string,
    private readonly tmp: string,
    private readonly out: WriteStream,
    private readonly gz: Gzip | null,
    private readonly dtype: DType,
    private readonly sliceLength: number,
    private readonly depth: number,
  ) {}

  static async open(target: string, volume: { width: number; height: number; depth: number; dtype: DType; geometry: Geometry }): Promise<NiftiSliceWriter> {
    const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
    const out = createWriteStream(tmp);
    await once(out, 'open');
    const gz = /\.gz$/i.test(target) ? createGzip({ level: 6 }) : null;
    if (gz) gz.pipe(out);
    const w = new NiftiSliceWriter(target, tmp, out, gz, volume.dtype, volume.width * volume.height, volume.depth);
    await w.push(niftiHeader({ ...volume, channels: 1 }));
    return w;
  }

  private async push(buf: Buffer): Promise<void> {
    const s = this.gz ?? this.out;
    if (!s.write(buf)) await once(s, 'drain');
  }

  async write(slice: PixelArray): Promise<void> {
    if (dtypeOf(slice) !== this.dtype || slice.length !== this.sliceLength) throw new RangeError(`NiftiSliceWriter: expected ${this.sliceLength} ${this.dtype} values`);
    if (this.written >= this.depth) throw new RangeError('NiftiSliceWriter: more slices than the volume has');
    // Copy: the caller reuses its slice buffer while the stream may still hold this one.
    await this.push(Buffer.from(new Uint8Array(slice.buffer, slice.byteOffset, slice.byteLength)));
    this.written++;
  }

  async close(): Promise<void> {
    if (this.written !== this.depth) throw new RangeError(`NiftiSliceWriter: ${this.written} of ${this.depth} slices written`);
    const done = once(this.out, 'close');
    (this.gz ?? this.out).end();
    await done;
    const fh = await fs.open(this.tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(this.tmp, this.target);
  }

  async abort(): Promise<void> {
    this.gz?.destroy();
    this.out.destroy();
    await fs.rm(this.tmp, { force: true });
  }
}
