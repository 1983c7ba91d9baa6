// TIFF/GeoTIFF writer: tiled, DEFLATE, GeoKeys (EPSG code, or the WKT in a citation GDAL reads back), GDAL nodata,
// optional colour table. Streaming: open() a temporary sibling, writeWindow() tile-aligned windows in any order (tiles
// are compressed in parallel on zlib's thread pool and appended), close() writes the IFD at the end, fsyncs and renames
// over the target, so output size is bounded by the disk, not memory. BigTIFF when the raster could exceed 4 GiB.
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { deflate } from 'node:zlib';
import { promisify } from 'node:util';
import type { DType, GeoTransform, Geometry } from '../../../preload/formats';
import { BYTES_PER_SAMPLE, allocPixels, dtypeOf, type PixelArray } from '../image';
import { epsgCode, isGeographicEpsg } from '../geo/crs';
import type { VolumeData } from './volume';

export { epsgCode, isGeographicEpsg };

const deflateAsync = promisify(deflate);

export interface TiffWriteOptions {
  /** Palette for single-band uint8/uint16 label rasters: index -> [r, g, b] 0-255. */
  colormap?: Array<[number, number, number]>;
  /** Band names / class names stored as GDAL metadata. */
  description?: string;
  /** Tile edge in pixels (multiple of 16); default 256. */
  tileSize?: number;
  /** true/false forces; default: BigTIFF when the uncompressed raster would be near 4 GiB or more. */
  bigTiff?: boolean;
}

/** What a streamed raster is: its size, sample type and georeferencing. */
export interface TiffLayout {
  width: number;
  height: number;
  channels: number;
  dtype: DType;
  geometry: Geometry;
  nodata?: number | 'nan';
}

/** Uncompressed size above which BigTIFF is chosen: DEFLATE can grow incompressible data slightly, so keep a margin. */
const BIGTIFF_THRESHOLD = 0xffffffff * 0.9;

// TIFF field types.
const ASCII = 2;
const SHORT = 3;
const LONG = 4;
const DOUBLE = 12;
const LONG8 = 16;

interface Entry {
  tag: number;
  type: number;
  values: number[] | string;
}

const SAMPLE_FORMAT: Record<DType, number> = { uint8: 1, uint16: 1, uint32: 1, int8: 2, int16: 2, int32: 2, float32: 3, float64: 3 };

/** GeoKey directory (+ double and ASCII params) for a geotransform and CRS. */
function geoEntries(gt: GeoTransform, crs: string | null): Entry[] {
  const entries: Entry[] = [];
  const northUp = gt[2] === 0 && gt[4] === 0 && gt[5] < 0;
  if (northUp) {
    entries.push({ tag: 33550, type: DOUBLE, values: [gt[1], -gt[5], 0] });
    entries.push({ tag: 33922, type: DOUBLE, values: [0, 0, 0, gt[0], gt[3], 0] });
  } else {
    // Rotated, sheared or south-up: the full affine.
    entries.push({ tag: 34264, type: DOUBLE, values: [gt[1], gt[2], 0, gt[0], gt[4], gt[5], 0, gt[3], 0, 0, 0, 0, 0, 0, 0, 1] });
  }
  // No CRS: no GeoKey directory at all, or GDAL reads the bare keys as an "unnamed" engineering CRS.
  if (!crs) return entries;
  const code = /^EPSG:\d+$/i.test(crs.trim()) ? epsgCode(crs) : null;
  const wkt = code === null ? crs.trim() : null;
  const geographic = code !== null && isGeographicEpsg(code);
  const keys: Array<[number, number, number, number]> = []; // id, location, count, value/offset
  let ascii = '';
  keys.push([1025, 0, 1, 1]); // GTRasterTypeGeoKey: PixelIsArea
  if (code !== null) {
    keys.push([1024, 0, 1, geographic ? 2 : 1]); // GTModelTypeGeoKey
    keys.push([geographic ? 2048 : 3072, 0, 1, code]);
  } else if (wkt) {
    // No code: model type user-defined with the WKT as an "ESRI PE String" PCS citation, as ArcGIS writes it; GDAL and
    // our reader take that WKT as the CRS.
    const text = `ESRI PE String = ${wkt}|`;
    keys.push([1024, 0, 1, 32767]);
    keys.push([3073, 34737, text.length, 0]);
    ascii += text;
  }
  keys.sort((a, b) => a[0] - b[0]);
  const dir = [1, 1, 0, keys.length];
  for (const k of keys) dir.push(...k);
  entries.push({ tag: 34735, type: SHORT, values: dir });
  if (ascii) entries.push({ tag: 34737, type: ASCII, values: ascii });
  return entries;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A GeoTIFF being written tile by tile; see the file header. */
export class TiffWriter {
  private readonly tile: number;
  private readonly across: number;
  private readonly down: number;
  private readonly offsets: Float64Array;
  private readonly counts: Float64Array;
  private position: number;
  private closed = false;
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    readonly target: string,
    private readonly tmp: string,
    private readonly fh: FileHandle,
    readonly layout: TiffLayout,
    private readonly options: TiffWriteOptions,
    readonly bigTiff: boolean,
  ) {
    this.tile = options.tileSize ?? 256;
    this.across = Math.ceil(layout.width / this.tile);
    this.down = Math.ceil(layout.height / this.tile);
    this.offsets = new Float64Array(this.across * this.down);
    this.counts = new Float64Array(this.across * this.down);
    this.position = bigTiff ? 16 : 8;
  }

  static async open(target: string, layout: TiffLayout, options: TiffWriteOptions = {}): Promise<TiffWriter> {
    const { width, height, channels, dtype } = layout;
    if (!(width >= 1 && height >= 1 && channels >= 1) || ![width, height, channels].every(Number.isInteger)) {
      throw new RangeError(`writeTiff: bad raster size ${width}x${height}x${channels}`);
    }
    const tile = options.tileSize ?? 256;
    if (tile % 16 !== 0 || tile < 16) throw new RangeError('writeTiff: tile size must be a multiple of 16');
    const raw = width * height * channels * BYTES_PER_SAMPLE[dtype];
    const bigTiff = options.bigTiff ?? raw > BIGTIFF_THRESHOLD;
    const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
    const fh = await fs.open(tmp, 'w');
    const writer = new TiffWriter(target, tmp, fh, layout, options, bigTiff);
    await fh.write(Buffer.alloc(writer.position), 0, writer.position, 0); // header, patched at close
    return writer;
  }

  /** Tile edge in pixels; windows must start on tile boundaries. */
  get tileSize(): number {
    return this.tile;
  }

  /**
   * Writes a window whose top-left is tile-aligned and whose size is a whole number of tiles (or reaches the raster's
   * edge). `data` is channel-planar (index = (c * height + y) * width + x), all channels, in the layout's sample type.
   */
  async writeWindow(x: number, y: number, width: number, height: number, data: PixelArray): Promise<void> {
    const { channels, dtype } = this.layout;
    if (this.closed) throw new Error('writeTiff: writer is closed');
    if (dtypeOf(data) !== dtype) throw new RangeError(`writeTiff: window is ${dtypeOf(data)}, raster is ${dtype}`);
    if (data.length !== width * height * channels) throw new RangeError(`writeTiff: ${data.length} samples for a ${width}x${height}x${channels} window`);
    const t = this.tile;
    const aligned = x % t === 0 && y % t === 0 && (width % t === 0 || x + width === this.layout.width) && (height % t === 0 || y + height === this.layout.height);
    if (!aligned || x + width > this.layout.width || y + height > this.layout.height) {
      throw new RangeError(`writeTiff: window ${x},${y} ${width}x${height} is not tile-aligned (${t}) inside ${this.layout.width}x${this.layout.height}`);
    }
    const jobs: Array<{ index: number; bytes: Promise<Buffer> }> = [];
    for (let ty = y / t; ty < Math.ceil((y + height) / t); ty++) {
      for (let tx = x / t; tx < Math.ceil((x + width) / t); tx++) {
        jobs.push({ index: ty * this.across + tx, bytes: deflateAsync(this.tileBytes(data, width, height, tx * t - x, ty * t - y), { level: 6 }) });
      }
    }
    // Appends happen in call order, one window after another, so concurrent writeWindow calls never interleave.
    const run = this.queue.then(async () => {
      for (const job of jobs) {
        const bytes = await job.bytes;
        await this.fh.write(bytes, 0, bytes.length, this.position);
        this.offsets[job.index] = this.position;
        this.counts[job.index] = bytes.length;
        this.position += bytes.length;
      }
    });
    this.queue = run.catch(() => undefined);
    await run;
  }

  /** One tile, pixel-interleaved and padded to full size with zeros as TIFF requires. */
  private tileBytes(data: PixelArray, winW: number, winH: number, ox: number, oy: number): Buffer {
    const { channels, dtype } = this.layout;
    const t = this.tile;
    const size = BYTES_PER_SAMPLE[dtype];
    const buf = Buffer.alloc(t * t * channels * size);
    const ctor = data.constructor as new (b: ArrayBuffer, o: number, n: number) => PixelArray;
    const view = new ctor(buf.buffer as ArrayBuffer, buf.byteOffset, t * t * channels);
    const w = Math.min(t, winW - ox);
    const h = Math.min(t, winH - oy);
    const plane = winW * winH;
    for (let yy = 0; yy < h; yy++) {
      const src = (oy + yy) * winW + ox;
      const dst = yy * t * channels;
      if (channels === 1) view.set(data.subarray(src, src + w), dst);
      else for (let c = 0; c < channels; c++) for (let xx = 0, s = c * plane + src, d = dst + c; xx < w; xx++, s++, d += channels) view[d] = data[s]!;
    }
    return buf;
  }

  /** Writes the IFD, syncs and renames the temporary file over the target. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.queue;
      await this.writeIfd();
      await this.fh.sync();
      await this.fh.close();
      await fs.rename(this.tmp, this.target);
    } catch (err) {
      await this.fh.close().catch(() => undefined);
      await fs.rm(this.tmp, { force: true });
      throw err;
    }
  }

  /** Drops the partial output. */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.fh.close().catch(() => undefined);
    await fs.rm(this.tmp, { force: true });
  }

  private entries(): Entry[] {
    const { width, height, channels, dtype, geometry, nodata } = this.layout;
    const bytesPer = BYTES_PER_SAMPLE[dtype];
    const palette = this.options.colormap && channels === 1 && (dtype === 'uint8' || dtype === 'uint16') ? this.options.colormap : undefined;
    const photometric = palette ? 3 : (channels === 3 || channels === 4) && (dtype === 'uint8' || dtype === 'uint16') ? 2 : 1;
    const extraSamples = photometric === 2 ? channels - 3 : channels - 1;
    const offsetType = this.bigTiff ? LONG8 : LONG;
    const entries: Entry[] = [
      { tag: 256, type: LONG, values: [width] },
      { tag: 257, type: LONG, values: [height] },
      { tag: 258, type: SHORT, values: Array<number>(channels).fill(bytesPer * 8) },
      { tag: 259, type: SHORT, values: [8] }, // Adobe DEFLATE
      { tag: 262, type: SHORT, values: [photometric] },
      { tag: 277, type: SHORT, values: [channels] },
      { tag: 284, type: SHORT, values: [1] },
      { tag: 305, type: ASCII, values: 'Delineate' },
      { tag: 322, type: SHORT, values: [this.tile] },
      { tag: 323, type: SHORT, values: [this.tile] },
      { tag: 324, type: offsetType, values: Array.from(this.offsets) },
      { tag: 325, type: offsetType, values: Array.from(this.counts) },
      { tag: 339, type: SHORT, values: Array<number>(channels).fill(SAMPLE_FORMAT[dtype]) },
    ];
    if (extraSamples > 0) {
      // RGBA: the fourth sample is unassociated alpha (2); other extra bands are unspecified data (0).
      entries.push({ tag: 338, type: SHORT, values: Array.from({ length: extraSamples }, (_, i) => (photometric === 2 && i === 0 ? 2 : 0)) });
    }
    if (palette) {
      const n = 1 << (bytesPer * 8);
      const map = new Array<number>(3 * n).fill(0);
      palette.slice(0, n).forEach(([r, g, b], i) => {
        // TIFF colour maps are 16-bit; 257 * v maps 255 to 65535 exactly.
        map[i] = r * 257;
        map[n + i] = g * 257;
        map[2 * n + i] = b * 257;
      });
      entries.push({ tag: 320, type: SHORT, values: map });
    }
    if (geometry.type === 'geo') entries.push(...geoEntries(geometry.geotransform, geometry.crs));
    if (this.options.description) {
      const xml = `<GDALMetadata>\n  <Item name="DESCRIPTION">${escapeXml(this.options.description)}</Item>\n</GDALMetadata>`;
      entries.push({ tag: 42112, type: ASCII, values: xml });
    }
    if (nodata !== undefined) entries.push({ tag: 42113, type: ASCII, values: nodata === 'nan' ? 'nan' : String(nodata) });
    return entries.sort((a, b) => a.tag - b.tag);
  }

  private async writeIfd(): Promise<void> {
    const big = this.bigTiff;
    const entries = this.entries();
    const ifdOffset = this.position + (this.position % 2);
    const entrySize = big ? 20 : 12;
    const inline = big ? 8 : 4;
    const ifdSize = (big ? 8 : 2) + entries.length * entrySize + (big ? 8 : 4);
    let valuesAt = ifdOffset + ifdSize;
    const encoded = entries.map((e) => {
      const bytes = encodeValues(e);
      const count = typeof e.values === 'string' ? bytes.length : e.values.length;
      let at = -1;
      if (bytes.length > inline) {
        at = valuesAt;
        valuesAt += bytes.length + (bytes.length % 2);
      }
      return { e, bytes, count, at };
    });
    if (!big && valuesAt > 0xffffffff) throw new RangeError('writeTiff: output passed 4 GiB; write it with bigTiff: true');
    const out = Buffer.alloc(valuesAt - ifdOffset);
    const put = (v: number, p: number): void => {
      if (big) out.writeBigUInt64LE(BigInt(v), p);
      else out.writeUInt32LE(v, p);
    };
    if (big) out.writeBigUInt64LE(BigInt(entries.length), 0);
    else out.writeUInt16LE(entries.length, 0);
    encoded.forEach(({ e, bytes, count, at }, i) => {
      const p = (big ? 8 : 2) + i * entrySize;
      out.writeUInt16LE(e.tag, p);
      out.writeUInt16LE(e.type, p + 2);
      put(count, p + 4);
      const valueField = p + (big ? 12 : 8);
      if (at < 0) bytes.copy(out, valueField);
      else {
        put(at, valueField);
        bytes.copy(out, at - ifdOffset);
      }
    });
    // Next-IFD offset is zero (already).
    await this.fh.write(out, 0, out.length, ifdOffset);
    const header = Buffer.alloc(big ? 16 : 8);
    header.write('II', 0, 'latin1');
    if (big) {
      header.writeUInt16LE(43, 2);
      header.writeUInt16LE(8, 4);
      header.writeBigUInt64LE(BigInt(ifdOffset), 8);
    } else {
      header.writeUInt16LE(42, 2);
      header.writeUInt32LE(ifdOffset, 4);
    }
    await this.fh.write(header, 0, header.length, 0);
  }
}

function encodeValues(e: Entry): Buffer {
  if (typeof e.values === 'string') return Buffer.from(e.values + '\0', 'latin1');
  const size = e.type === DOUBLE || e.type === LONG8 ? 8 : e.type === LONG ? 4 : 2;
  const buf = Buffer.alloc(e.values.length * size);
  e.values.forEach((v, i) => {
    if (e.type === DOUBLE) buf.writeDoubleLE(v, i * 8);
    else if (e.type === LONG8) buf.writeBigUInt64LE(BigInt(v), i * 8);
    else if (e.type === LONG) buf.writeUInt32LE(v, i * 4);
    else buf.writeUInt16LE(v, i * 2);
  });
  return buf;
}

/** Writes an in-memory 2D raster (depth 1) atomically, through the streaming writer in bands of tile rows. */
export async function writeTiff(file: string, raster: VolumeData, options: TiffWriteOptions = {}): Promise<void> {
  const { width, height, channels, data } = raster;
  if (raster.depth !== 1) throw new RangeError(`writeTiff: a TIFF holds one 2D raster, got depth ${raster.depth}`);
  if (data.length !== width * height * channels) throw new RangeError(`writeTiff: ${data.length} samples for ${width}x${height}x${channels}`);
  const dtype = dtypeOf(data);
  const writer = await TiffWriter.open(file, { width, height, channels, dtype, geometry: raster.geometry, ...(raster.nodata !== undefined ? { nodata: raster.nodata } : {}) }, options);
  try {
    const t = writer.tileSize;
    const plane = width * height;
    for (let y = 0; y < height; y += t) {
      const h = Math.min(t, height - y);
      const band = allocPixels(dtype, width * h * channels);
      for (let c = 0; c < channels; c++) band.set(data.subarray(c * plane + y * width, c * plane + (y + h) * width), c * width * h);
      await writer.writeWindow(0, y, width, h, band);
    }
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
