// Rewrites a tiled, DEFLATE GeoTIFF written by TiffWriter as a Cloud-Optimized GeoTIFF, streaming: the full-resolution
// tiles are copied as they are (no recompression); overviews halve the size until the image fits in one tile, by
// nearest neighbour (labels and instance ids must stay values that exist), each computed from the full-resolution
// rows as they are decoded band by band, so memory holds one band of tile rows per level. Layout as GDAL's COG
// driver writes it and its validator checks: header, GDAL's structural-metadata "ghost" block, every IFD (full
// resolution first, then the overviews), then the tile data from the smallest overview to the full resolution, each
// level row-major, each tile with GDAL's 4-byte size leader and its last 4 bytes repeated after it (so GDAL reports
// LAYOUT=COG). Written to a temporary sibling and renamed over the file.
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { deflate, inflate } from 'node:zlib';
import { promisify } from 'node:util';

const deflateAsync = promisify(deflate);
const inflateAsync = promisify(inflate);

interface RawEntry {
  tag: number;
  type: number;
  count: number;
  /** The value bytes (inline or read from their offset). */
  bytes: Buffer;
}

const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8, 17: 8, 18: 8 };
const LONG = 4;
const LONG8 = 16;

async function readAt(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  const b = Buffer.alloc(length);
  await fh.read(b, 0, length, offset);
  return b;
}

/** The first IFD's entries of a little-endian TIFF or BigTIFF. */
async function readIfd(fh: FileHandle): Promise<{ big: boolean; entries: RawEntry[] }> {
  const head = await readAt(fh, 0, 16);
  if (head.toString('latin1', 0, 2) !== 'II') throw new Error('COG: only little-endian TIFFs are rewritten');
  const big = head.readUInt16LE(2) === 43;
  const ifd = big ? Number(head.readBigUInt64LE(8)) : head.readUInt32LE(4);
  const countBytes = await readAt(fh, ifd, big ? 8 : 2);
  const n = big ? Number(countBytes.readBigUInt64LE(0)) : countBytes.readUInt16LE(0);
  const entrySize = big ? 20 : 12;
  const raw = await readAt(fh, ifd + (big ? 8 : 2), n * entrySize);
  const entries: RawEntry[] = [];
  for (let i = 0; i < n; i++) {
    const p = i * entrySize;
    const tag = raw.readUInt16LE(p);
    const type = raw.readUInt16LE(p + 2);
    const count = big ? Number(raw.readBigUInt64LE(p + 4)) : raw.readUInt32LE(p + 4);
    const size = (TYPE_SIZE[type] ?? 1) * count;
    const field = p + (big ? 12 : 8);
    const inline = big ? 8 : 4;
    const bytes = size <= inline ? Buffer.from(raw.subarray(field, field + size)) : await readAt(fh, big ? Number(raw.readBigUInt64LE(field)) : raw.readUInt32LE(field), size);
    entries.push({ tag, type, count, bytes });
  }
  return { big, entries };
}

function numbers(e: RawEntry): number[] {
  const size = TYPE_SIZE[e.type] ?? 1;
  return Array.from({ length: e.count }, (_, i) => (size === 8 ? Number(e.bytes.readBigUInt64LE(i * 8)) : size === 4 ? e.bytes.readUInt32LE(i * 4) : size === 2 ? e.bytes.readUInt16LE(i * 2) : e.bytes[i]!));
}

function entryOf(tag: number, type: number, values: number[]): RawEntry {
  const size = TYPE_SIZE[type]!;
  const bytes = Buffer.alloc(values.length * size);
  values.forEach((v, i) => {
    if (size === 8) bytes.writeBigUInt64LE(BigInt(v), i * 8);
    else if (size === 4) bytes.writeUInt32LE(v, i * 4);
    else bytes.writeUInt16LE(v, i * 2);
  });
  return { tag, type, count: values.length, bytes };
}

/** Bytes an IFD takes with its out-of-line values (word-aligned). */
function ifdSize(entries: RawEntry[], big: boolean): number {
  const inline = big ? 8 : 4;
  let n = (big ? 8 : 2) + entries.length * (big ? 20 : 12) + (big ? 8 : 4);
  for (const e of entries) if (e.bytes.length > inline) n += e.bytes.length + (e.bytes.length % 2);
  return n;
}

function encodeIfd(entries: RawEntry[], big: boolean, at: number, next: number): Buffer {
  const out = Buffer.alloc(ifdSize(entries, big));
  const inline = big ? 8 : 4;
  const entrySize = big ? 20 : 12;
  const put = (v: number, p: number): void => {
    if (big) out.writeBigUInt64LE(BigInt(v), p);
    else out.writeUInt32LE(v, p);
  };
  if (big) out.writeBigUInt64LE(BigInt(entries.length), 0);
  else out.writeUInt16LE(entries.length, 0);
  let values = (big ? 8 : 2) + entries.length * entrySize + (big ? 8 : 4);
  entries.forEach((e, i) => {
    const p = (big ? 8 : 2) + i * entrySize;
    out.writeUInt16LE(e.tag, p);
    out.writeUInt16LE(e.type, p + 2);
    put(e.count, p + 4);
    const field = p + (big ? 12 : 8);
    if (e.bytes.length <= inline) e.bytes.copy(out, field);
    else {
      put(at + values, field);
      e.bytes.copy(out, values);
      values += e.bytes.length + (e.bytes.length % 2);
    }
  });
  put(next, (big ? 8 : 2) + entries.length * entrySize);
  return out;
}

// Tags an overview IFD keeps from the full resolution (GDAL's COG overviews: no georeferencing, no metadata).
const OVERVIEW_TAGS = new Set([258, 259, 262, 277, 284, 320, 322, 323, 338, 339]);

/** Rewrites `file` (tiled, DEFLATE, chunky) in place as a COG; see the file header. */
/**
 * `resampling: 'average'` (8-bit samples only: probabilities, images) builds each overview as the 2x2 mean of the
 * level below instead of picking pixels; ids and labels keep the default nearest.
 */
export async function convertToCog(file: string, options: { resampling?: 'nearest' | 'average' } = {}): Promise<void> {
  const fh = await fs.open(file, 'r');
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.cog.tmp`);
  const levelFiles: string[] = [];
  const levelHandles: FileHandle[] = [];
  let out: FileHandle | null = null;
  try {
    const { big, entries } = await readIfd(fh);
    const get = (tag: number): RawEntry | undefined => entries.find((e) => e.tag === tag);
    const num = (tag: number): number => {
      const e = get(tag);
      if (!e) throw new Error(`COG: ${file} lacks TIFF tag ${tag}`);
      return numbers(e)[0]!;
    };
    const W = num(256);
    const H = num(257);
    const tile = num(322);
    if (num(323) !== tile || num(259) !== 8) throw new Error(`COG: ${file} is not a square-tiled DEFLATE TIFF`);
    const spp = get(277) ? num(277) : 1;
    const bytesPer = numbers(get(258)!)[0]! / 8;
    const pixelBytes = spp * bytesPer;
    const offsets = numbers(get(324)!);
    const counts = numbers(get(325)!);
    const across = Math.ceil(W / tile);
    const down = Math.ceil(H / tile);
    const average = options.resampling === 'average';
    if (average && bytesPer !== 1) throw new Error(`COG: average overviews need 8-bit samples, ${file} has ${bytesPer * 8}-bit`);

    // Overview sizes: halve until the image fits in one tile.
    const levels: Array<{ w: number; h: number; step: number }> = [];
    for (let step = 2; Math.ceil(W / (step / 2)) > tile || Math.ceil(H / (step / 2)) > tile; step *= 2) levels.push({ w: Math.ceil(W / step), h: Math.ceil(H / step), step });
    // Per level: rows gathered until a band of tile rows is full, then compressed and appended to that level's file.
    const state = await Promise.all(
      levels.map(async (l, i) => {
        const f = `${tmp}.${i}`;
        levelFiles.push(f);
        const handle = await fs.open(f, 'w');
        levelHandles.push(handle);
        return { ...l, fh: handle, band: Buffer.alloc(tile * l.w * pixelBytes), rows: 0, bandIndex: 0, counts: [] as number[], position: 0 };
      }),
    );
    const flush = async (s: (typeof state)[number]): Promise<void> => {
      const across2 = Math.ceil(s.w / tile);
      for (let tx = 0; tx < across2; tx++) {
        const t = Buffer.alloc(tile * tile * pixelBytes);
        const w = Math.min(tile, s.w - tx * tile);
        for (let y = 0; y < s.rows; y++) s.band.copy(t, y * tile * pixelBytes, (y * s.w + tx * tile) * pixelBytes, (y * s.w + tx * tile + w) * pixelBytes);
        const z = await deflateAsync(t, { level: 6 });
        await s.fh.write(z, 0, z.length, s.position);
        s.position += z.length;
        s.counts.push(z.length);
      }
      s.band.fill(0);
      s.rows = 0;
      s.bandIndex++;
    };
    // Average: level i is the 2x2 mean of level i - 1's rows (the full resolution for the first), a row pair at a time.
    const pending = state.map((s) => ({ sums: new Uint32Array(s.w * spp), n: 0, received: 0 }));
    const pushAverage = async (li: number, row: Uint8Array, rowW: number, rowsAbove: number): Promise<void> => {
      const s = state[li];
      const p = pending[li];
      if (!s || !p) return;
      for (let x = 0; x < s.w; x++) {
        const a = 2 * x * spp;
        const b = Math.min(rowW - 1, 2 * x + 1) * spp;
        for (let c = 0; c < spp; c++) p.sums[x * spp + c]! += row[a + c]! + row[b + c]!;
      }
      p.n++;
      p.received++;
      // A pair of rows, or the last odd row of the level above (counted twice so its mean stays a mean).
      if (p.n < 2 && p.received < rowsAbove) return;
      const out = new Uint8Array(s.w * spp);
      for (let i = 0; i < out.length; i++) out[i] = Math.round((p.sums[i]! * (p.n === 1 ? 2 : 1)) / 4);
      p.sums.fill(0);
      p.n = 0;
      s.band.set(out, s.rows * s.w * pixelBytes);
      s.rows++;
      if (s.rows === tile) await flush(s);
      await pushAverage(li + 1, out, s.w, s.h);
    };
    for (let ty = 0; ty < down; ty++) {
      if (state.length === 0) break;
      const rows = Math.min(tile, H - ty * tile);
      const band = Buffer.alloc(rows * W * pixelBytes);
      for (let tx = 0; tx < across; tx++) {
        const i = ty * across + tx;
        const raw = await inflateAsync(await readAt(fh, offsets[i]!, counts[i]!));
        const w = Math.min(tile, W - tx * tile);
        for (let y = 0; y < rows; y++) raw.copy(band, (y * W + tx * tile) * pixelBytes, y * tile * pixelBytes, (y * tile + w) * pixelBytes);
      }
      if (average) {
        for (let y = 0; y < rows; y++) await pushAverage(0, band.subarray(y * W * pixelBytes, (y + 1) * W * pixelBytes), W, H);
        continue;
      }
      for (let y = 0; y < rows; y++) {
        const gy = ty * tile + y;
        for (const s of state) {
          if (gy % s.step !== 0) continue;
          const dst = s.rows * s.w * pixelBytes;
          for (let x = 0; x < s.w; x++) band.copy(s.band, dst + x * pixelBytes, (y * W + x * s.step) * pixelBytes, (y * W + x * s.step + 1) * pixelBytes);
          s.rows++;
          if (s.rows === tile) await flush(s);
        }
      }
    }
    for (const s of state) if (s.rows > 0) await flush(s);

    // Layout: header, ghost block, IFDs, then data (smallest overview first, full resolution last).
    const offType = big ? LONG8 : LONG;
    const base = entries.filter((e) => e.tag !== 324 && e.tag !== 325 && e.tag !== 254);
    const fullTiles = across * down;
    const ifdEntries = (w: number, h: number, n: number, overview: boolean, offs: number[], cnts: number[]): RawEntry[] => {
      const list = (overview ? base.filter((e) => OVERVIEW_TAGS.has(e.tag)) : base.filter((e) => e.tag !== 256 && e.tag !== 257)).concat(
        overview ? [entryOf(254, LONG, [1])] : [],
        [entryOf(256, LONG, [w]), entryOf(257, LONG, [h]), entryOf(324, offType, offs.length ? offs : new Array<number>(n).fill(0)), entryOf(325, offType, cnts.length ? cnts : new Array<number>(n).fill(0))],
      );
      return list.sort((a, b) => a.tag - b.tag);
    };
    const ghostBody = 'LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\nBLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n ';
    const ghost = Buffer.from(`GDAL_STRUCTURAL_METADATA_SIZE=${String(ghostBody.length).padStart(6, '0')} bytes\n${ghostBody}`, 'latin1');
    const headerSize = big ? 16 : 8;
    let at = headerSize + ghost.length + (ghost.length % 2);
    const sizes = [ifdSize(ifdEntries(W, H, fullTiles, false, [], []), big), ...state.map((s) => ifdSize(ifdEntries(s.w, s.h, s.counts.length, true, [], []), big))];
    const ifdAt: number[] = [];
    for (const sz of sizes) {
      ifdAt.push(at);
      at += sz;
    }
    // Data offsets: overviews from the smallest, then the full resolution in row-major order.
    const levelOffsets: number[][] = state.map(() => []);
    for (let li = state.length - 1; li >= 0; li--) {
      for (const c of state[li]!.counts) {
        levelOffsets[li]!.push(at + 4);
        at += c + 8;
      }
    }
    const fullOffsets: number[] = [];
    for (let i = 0; i < fullTiles; i++) {
      fullOffsets.push(at + 4);
      at += counts[i]! + 8;
    }
    if (!big && at > 0xffffffff) throw new Error(`COG: ${file} would pass 4 GiB as a classic TIFF`);
    out = await fs.open(tmp, 'w');
    const header = Buffer.alloc(headerSize);
    header.write('II', 0, 'latin1');
    if (big) {
      header.writeUInt16LE(43, 2);
      header.writeUInt16LE(8, 4);
      header.writeBigUInt64LE(BigInt(ifdAt[0]!), 8);
    } else {
      header.writeUInt16LE(42, 2);
      header.writeUInt32LE(ifdAt[0]!, 4);
    }
    let pos = 0;
    const write = async (b: Buffer): Promise<void> => {
      await out!.write(b, 0, b.length, pos);
      pos += b.length;
    };
    // A tile as GDAL's COG lays it out: size leader, data, last 4 bytes again.
    const writeBlock = async (data: Buffer): Promise<void> => {
      const leader = Buffer.alloc(4);
      leader.writeUInt32LE(data.length, 0);
      const trailer = Buffer.alloc(4);
      data.copy(trailer, 4 - Math.min(4, data.length), Math.max(0, data.length - 4));
      await write(Buffer.concat([leader, data, trailer]));
    };
    await write(header);
    await write(ghost);
    if (ghost.length % 2) await write(Buffer.alloc(1));
    await write(encodeIfd(ifdEntries(W, H, fullTiles, false, fullOffsets, counts), big, ifdAt[0]!, ifdAt[1] ?? 0));
    for (let li = 0; li < state.length; li++) {
      const s = state[li]!;
      await write(encodeIfd(ifdEntries(s.w, s.h, s.counts.length, true, levelOffsets[li]!, s.counts), big, ifdAt[li + 1]!, ifdAt[li + 2] ?? 0));
    }
    for (let li = state.length - 1; li >= 0; li--) {
      const s = state[li]!;
      const data = await fs.readFile(levelFiles[li]!);
      let p = 0;
      for (const c of s.counts) {
        await writeBlock(data.subarray(p, p + c));
        p += c;
      }
    }
    for (let i = 0; i < fullTiles; i++) await writeBlock(await readAt(fh, offsets[i]!, counts[i]!));
    await out.sync();
    await out.close();
    out = null;
    await fh.close();
    await fs.rename(tmp, file);
  } catch (err) {
    await out?.close().catch(() => undefined);
    await fh.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  } finally {
    for (const h of levelHandles) await h.close().catch(() => undefined);
    for (const f of levelFiles) await fs.rm(f, { force: true });
  }
}
