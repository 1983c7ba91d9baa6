// TIFF and GeoTIFF reading. geotiff.js parses the IFDs, tags and GeoKeys and supplies the codecs; the block reads are
// ours: only the tiles/strips a window touches are read (own file handle) and decoded, several at a time (DEFLATE on
// zlib's thread pool), and copied with typed-array row copies into the channel-planar image model. Reduced-resolution
// reads use the best internal or external (.ovr) overview; internal and external (.msk) masks are exposed as 0/255.
// Files are checked by geotiff-scan.ts first, so corrupt, truncated and absurd files fail with one InputError.
import { promises as fs, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { fromFile, type GeoTIFF, type GeoTIFFImage } from 'geotiff';
import type { DType, GeoTransform, Geometry } from '../../../preload/formats';
import { BYTES_PER_SAMPLE, InputError, allocPixels, type ImageSource, type PixelArray, type PixelBlock, type Region } from '../image';
import { crsFromGeoKeys } from '../geo/geokeys';
import { lonLatBounds, resolveCrs } from '../geo/crs';
import { gsdM } from '../measure/geodesy';
import { BlockError, decodeBlockJob, type BlockJob, type Decoder } from './geotiff-block';
import { blockDecoder, type BlockDecoderParams } from './geotiff-decoders';
import { PoolStoppedError, decodePool, poolMinBlocks, type DecodePool } from './geotiff-pool';
import { scanTiff, type TiffScan } from './geotiff-scan';
import { pixelGeometry } from './raster-sharp';
import { firstLine, resolveRegion } from './region';

/** Largest window one read() may return; bigger rasters are read window by window (convert does). */
export const MAX_READ_BYTES = 2 ** 32;
/** Blocks decoded at once: enough to keep zlib's 4 pool threads and the disk busy. */
const CONCURRENCY = 8;
let nextReaderId = 1;

const COMPRESSION_NAMES: Record<number, string> = {
  1: 'NONE',
  5: 'LZW',
  6: 'OJPEG',
  7: 'JPEG',
  8: 'DEFLATE',
  32946: 'DEFLATE',
  32773: 'PACKBITS',
  34887: 'LERC',
  34925: 'LZMA',
  50000: 'ZSTD',
  50001: 'WEBP',
};

/**
 * Compressions a block decoder exists for (geotiff.js's registry and ours, geotiff-decoders.ts). Not 6, old-style
 * JPEG: geotiff.js registers it only to refuse it at the first block.
 */
const DECODABLE = new Set([1, 5, 7, 8, 32773, 32946, 34887, 50000, 50001]);

/**
 * A georeferenced TIFF this reader refuses (a compression no decoder here reads, a sample layout it does not take):
 * final, not retried with the plain image reader (libvips), which may decode it but knows no georeferencing, so
 * areas would silently come out in pixels. Its name stays 'InputError': across the engine host's boundary it is the
 * same clear error.
 */
export class GeoTiffFormatError extends InputError {}

export function compressionName(code: number): string {
  return COMPRESSION_NAMES[code] ?? `TIFF compression ${code}`;
}

function dtypeFor(format: number, bits: number): DType | null {
  if (format === 3) return bits === 64 ? 'float64' : bits === 32 || bits === 16 ? 'float32' : null;
  const signed = format === 2;
  if (bits === 8) return signed ? 'int8' : 'uint8';
  if (bits === 16) return signed ? 'int16' : 'uint16';
  if (bits === 32) return signed ? 'int32' : 'uint32';
  return null;
}

function numbers(v: unknown): number[] | null {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<number>, Number);
  return null;
}

/** A tag geotiff.js types as lazily loaded but that a TIFF stores inline (one SHORT), so it is already parsed. */
function inlineValue(fd: ReturnType<GeoTIFFImage['getFileDirectory']>, name: 'Predictor'): unknown {
  return fd.hasTag(name) ? (fd.getValue as (tag: string) => unknown).call(fd, name) : undefined;
}

function geoKeysOf(image: GeoTIFFImage): Record<string, unknown> | null {
  try {
    return image.getGeoKeys() as Record<string, unknown> | null;
  } catch {
    return null;
  }
}

/** GDAL geotransform from the GeoTIFF tags, or null when the file is not georeferenced. */
export function readGeotransform(image: GeoTIFFImage): GeoTransform | null {
  const fd = image.getFileDirectory();
  const transformation = numbers(fd.getValue('ModelTransformation'));
  const tiepoint = numbers(fd.getValue('ModelTiepoint'));
  const scale = numbers(fd.getValue('ModelPixelScale'));
  let gt: GeoTransform | null = null;
  if (transformation && transformation.length >= 16) {
    const m = transformation;
    gt = [m[3]!, m[0]!, m[1]!, m[7]!, m[4]!, m[5]!];
  } else if (tiepoint && tiepoint.length >= 6 && scale && scale.length >= 2) {
    // Several tiepoints are GCPs, not an affine: GDAL gives no geotransform for them either.
    if (tiepoint.length > 6) return null;
    const [i, j, , x, y] = tiepoint as [number, number, number, number, number];
    const sx = scale[0]!;
    const sy = scale[1]!;
    gt = [x - i * sx, sx, 0, y + j * sy, 0, -sy];
  }
  if (!gt) return null;
  if (geoKeysOf(image)?.GTRasterTypeGeoKey === 2) {
    // PixelIsPoint: tags give the centre of pixel (0,0); GDAL's geotransform (and ours) is its corner.
    gt = [gt[0] - 0.5 * gt[1] - 0.5 * gt[2], gt[1], gt[2], gt[3] - 0.5 * gt[4] - 0.5 * gt[5], gt[4], gt[5]];
  }
  return gt;
}

/** "EPSG:n" from the GeoKeys, else a WKT (cited, or built from user-defined parameters), else null. */
export function readCrs(image: GeoTIFFImage): string | null {
  return crsFromGeoKeys(geoKeysOf(image));
}

/** GDAL_NODATA (an ASCII tag) as a number, or "nan". */
export function readNodata(image: GeoTIFFImage): number | 'nan' | undefined {
  const fd = image.getFileDirectory();
  if (!fd.hasTag('GDAL_NODATA')) return undefined;
  const raw = String(fd.getValue('GDAL_NODATA') ?? '').replace(/\0/g, '').trim();
  if (raw === '') return undefined;
  if (/^[+-]?nan$/i.test(raw)) return 'nan';
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

// ---------------------------------------------------------------- block reading

interface Window {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One window read in progress: where the blocks go and who decodes them. */
interface CopyContext {
  win: Window;
  out: PixelArray;
  plane: number;
  pool: DecodePool | null;
  signal: AbortSignal | undefined;
}

/**
 * Reads windows of one IFD (full resolution, an overview or a mask) block by block. Layouts it does not handle
 * (odd bit depths, float16, big-endian with a predictor) go through geotiff.js's readRasters instead.
 */
class BlockReader {
  readonly width: number;
  readonly height: number;
  readonly samples: number;
  private readonly bits: number;
  private readonly dtype: DType | null;
  private readonly planar: number;
  private readonly blockW: number;
  private readonly blockH: number;
  private readonly across: number;
  private readonly down: number;
  private readonly compression: number;
  private offsets: number[] | null = null;
  private counts: number[] | null = null;
  private params: Promise<BlockDecoderParams> | null = null;
  private decoder: Promise<Decoder> | null = null;
  /** Names this IFD's decoder parameters in the workers, which keep one decoder per key. */
  private readonly decoderKey = `ifd-${nextReaderId++}`;
  /** Whether our fast path applies; else readRasters. */
  readonly fast: boolean;

  constructor(
    private readonly file: string,
    private readonly image: GeoTIFFImage,
    private readonly fh: FileHandle,
    private readonly fileSize: number,
    private readonly littleEndian: boolean,
  ) {
    const fd = image.getFileDirectory();
    this.width = image.getWidth();
    this.height = image.getHeight();
    this.samples = image.getSamplesPerPixel();
    this.bits = image.getBitsPerSample(0);
    const format = image.getSampleFormat(0) || 1;
    this.dtype = this.bits === 1 ? 'uint8' : dtypeFor(format, this.bits);
    this.planar = Number(fd.getValue('PlanarConfiguration') ?? 1);
    this.blockW = image.isTiled ? image.getTileWidth() : this.width;
    this.blockH = image.isTiled ? image.getTileHeight() : Math.min(this.height, Number(fd.getValue('RowsPerStrip') ?? this.height) || this.height);
    this.across = Math.ceil(this.width / this.blockW);
    this.down = Math.ceil(this.height / this.blockH);
    this.compression = Number(fd.getValue('Compression') ?? 1);
    const photometric = Number(fd.getValue('PhotometricInterpretation') ?? 1);
    const uniform = Array.from({ length: this.samples }, (_, s) => s).every((s) => image.getBitsPerSample(s) === this.bits && (image.getSampleFormat(s) || 1) === format);
    const ycbcrRaw = photometric === 6 && this.compression !== 7;
    this.fast =
      uniform &&
      !ycbcrRaw &&
      ((this.dtype !== null && this.bits !== 16) || (this.bits === 16 && format !== 3) || (this.bits === 1 && this.samples === 1)) &&
      // Big-endian multi-byte samples with a predictor would need the predictor undone before the byte swap: rare, left to geotiff.js.
      (this.littleEndian || this.bits <= 8 || Number(inlineValue(fd, 'Predictor') ?? 1) === 1);
  }

  private async tables(): Promise<void> {
    if (this.offsets) return;
    const fd = this.image.getFileDirectory();
    const tiled = this.image.isTiled;
    this.offsets = numbers(await fd.loadValue(tiled ? 'TileOffsets' : 'StripOffsets')) ?? [];
    this.counts = numbers(await fd.loadValue(tiled ? 'TileByteCounts' : 'StripByteCounts')) ?? [];
  }

  /** What a decoder needs from the IFD (plain data: it is posted to the decode workers too). */
  private decoderParams(): Promise<BlockDecoderParams> {
    this.params ??= (async () => {
      const fd = this.image.getFileDirectory();
      const params: BlockDecoderParams = {
        tileWidth: this.blockW,
        tileHeight: this.blockH,
        planarConfiguration: this.planar,
        bitsPerSample: numbers(fd.getValue('BitsPerSample')) ?? [this.bits],
        predictor: Number(await fd.loadValue('Predictor')) || 1,
        samplesPerPixel: this.samples,
        photometric: Number(fd.getValue('PhotometricInterpretation') ?? 1),
      };
      if (this.compression === 7 && fd.hasTag('JPEGTables')) params.JPEGTables = (await fd.loadValue('JPEGTables')) as Uint8Array;
      if (this.compression === 34887) params.LercParameters = numbers(await fd.loadValue('LercParameters')) ?? [];
      return params;
    })();
    return this.params;
  }

  private getDecoder(): Promise<Decoder> {
    this.decoder ??= this.decoderParams().then((params) => blockDecoder(this.compression, params));
    return this.decoder;
  }

  /** The block as stored, in its own ArrayBuffer (it may be handed to a worker), or null for a sparse block. */
  private async rawBlock(index: number): Promise<ArrayBuffer | null> {
    await this.tables();
    const offset = this.offsets![index];
    const count = this.counts![index];
    if (offset === undefined || count === undefined) throw new InputError(this.file, `block ${index} is missing from the offset table (corrupt)`);
    // Sparse block (GDAL SPARSE_OK): nodata, or zero.
    if (count === 0 || offset === 0) return null;
    if (offset + count > this.fileSize) throw new InputError(this.file, `block ${index} runs past the end of the file (truncated)`);
    const raw = new ArrayBuffer(count);
    const { bytesRead } = await this.fh.read(new Uint8Array(raw), 0, count, offset);
    if (bytesRead < count) throw new InputError(this.file, `block ${index} is truncated`);
    return raw;
  }

  /** Decoded bytes of 1-bit block `index` (masks): rows padded to whole bytes. */
  private async bitBlock(index: number, rows: number): Promise<Uint8Array> {
    const need = Math.ceil(this.blockW / 8) * rows;
    const raw = await this.rawBlock(index);
    if (!raw) return new Uint8Array(need);
    let bytes: Uint8Array;
    try {
      bytes = this.compression === 1 ? new Uint8Array(raw) : new Uint8Array(await (await this.getDecoder()).decode(raw));
    } catch (err) {
      throw new InputError(this.file, `corrupt or undecodable ${compressionName(this.compression)} block ${index} (${firstLine(err)})`);
    }
    if (bytes.length < need) throw new InputError(this.file, `block ${index} decodes to ${bytes.length} bytes, expected ${need} (corrupt)`);
    return bytes;
  }

  /** Fills `out` (channel-planar, win.width x win.height per channel) with the given samples of a window. */
  async read(win: Window, samples: number[], out: PixelArray, signal?: AbortSignal): Promise<void> {
    if (!this.fast) return this.readSlow(win, samples, out);
    const plane = win.width * win.height;
    const bx0 = Math.floor(win.x / this.blockW);
    const bx1 = Math.floor((win.x + win.width - 1) / this.blockW);
    const by0 = Math.floor(win.y / this.blockH);
    const by1 = Math.floor((win.y + win.height - 1) / this.blockH);
    const blocks: Array<{ index: number; bx: number; by: number; spp: number; samples: number[]; outChannels: number[] }> = [];
    for (let by = by0; by <= by1; by++) {
      for (let bx = bx0; bx <= bx1; bx++) {
        if (this.planar === 2 && this.samples > 1) {
          samples.forEach((s, ci) => blocks.push({ index: s * this.across * this.down + by * this.across + bx, bx, by, spp: 1, samples: [0], outChannels: [ci] }));
        } else {
          blocks.push({ index: by * this.across + bx, bx, by, spp: this.samples, samples, outChannels: samples.map((_, i) => i) });
        }
      }
    }
    // Uncompressed data and reads of a few blocks stay on this thread: posting them would cost more than it saves.
    const pool = this.compression !== 1 && this.bits !== 1 && blocks.length >= poolMinBlocks() ? decodePool() : null;
    const ctx: CopyContext = { win, out, plane, pool, signal };
    const jobs = blocks.map((b) => () => this.copyBlock(b.index, b.bx, b.by, b.spp, b.samples, b.outChannels, ctx));
    await runLimited(jobs, pool ? Math.max(CONCURRENCY, pool.threads * 4) : CONCURRENCY);
  }

  private async copyBlock(index: number, bx: number, by: number, spp: number, samples: number[], outChannels: number[], ctx: CopyContext): Promise<void> {
    const { win, out, plane, signal } = ctx;
    signal?.throwIfAborted();
    const rowsInBlock = this.image.isTiled ? this.blockH : Math.min(this.blockH, this.height - by * this.blockH);
    const x0 = Math.max(win.x, bx * this.blockW);
    const x1 = Math.min(win.x + win.width, (bx + 1) * this.blockW, this.width);
    const y0 = Math.max(win.y, by * this.blockH);
    const y1 = Math.min(win.y + win.height, by * this.blockH + rowsInBlock);
    const cw = x1 - x0;
    if (cw <= 0 || y1 <= y0) return;
    if (this.bits === 1) {
      const bytes = await this.bitBlock(index, rowsInBlock);
      // 1-bit masks: rows padded to whole bytes, most significant bit first; set = valid = 255 (GDAL's convention).
      const rowBytes = Math.ceil(this.blockW / 8);
      for (let y = y0; y < y1; y++) {
        const src = (y - by * this.blockH) * rowBytes;
        const dst = (y - win.y) * win.width + (x0 - win.x);
        for (let k = 0; k < cw; k++) {
          const bit = x0 - bx * this.blockW + k;
          out[dst + k] = (bytes[src + (bit >> 3)]! >> (7 - (bit & 7))) & 1 ? 255 : 0;
        }
      }
      return;
    }
    const size = BYTES_PER_SAMPLE[this.dtype!];
    const ch = y1 - y0;
    const raw = await this.rawBlock(index);
    let pixels: Uint8Array;
    if (!raw) {
      pixels = new Uint8Array(samples.length * cw * ch * size);
    } else {
      const job: BlockJob = {
        compression: this.compression,
        compressionName: compressionName(this.compression),
        params: await this.decoderParams(),
        index,
        raw,
        dtype: this.dtype!,
        littleEndian: this.littleEndian,
        spp,
        blockW: this.blockW,
        rows: rowsInBlock,
        samples,
        cropX: x0 - bx * this.blockW,
        cropY: y0 - by * this.blockH,
        cropW: cw,
        cropH: ch,
      };
      try {
        const local = async (): Promise<Uint8Array> => decodeBlockJob(job, this.compression === 1 ? null : await this.getDecoder());
        if (ctx.pool) {
          // The raw buffer moves to the worker; until a worker has answered once, a copy stays here in case it cannot start.
          const retry = ctx.pool.proven ? null : new Uint8Array(raw).slice().buffer;
          pixels = await ctx.pool.decode({ decoderKey: this.decoderKey, job }, signal).catch((err: unknown) => {
            if (!(retry && err instanceof PoolStoppedError && err.workerNeverStarted)) throw err;
            job.raw = retry;
            return local();
          });
        } else {
          pixels = await local();
        }
      } catch (err) {
        if (err instanceof BlockError) throw new InputError(this.file, err.message);
        if (err instanceof PoolStoppedError) throw new InputError(this.file, `block ${index} was not decoded: ${err.message}`);
        throw err;
      }
    }
    // Band-sequential rectangle -> rows of the channel-planar window, as bytes (bit patterns kept exactly).
    const outBytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    const rowBytes = cw * size;
    for (let i = 0; i < samples.length; i++) {
      const base = outChannels[i]! * plane;
      for (let y = 0; y < ch; y++) {
        const from = (i * ch + y) * rowBytes;
        outBytes.set(pixels.subarray(from, from + rowBytes), (base + (y0 - win.y + y) * win.width + (x0 - win.x)) * size);
      }
    }
  }

  private async readSlow(win: Window, samples: number[], out: PixelArray): Promise<void> {
    const window = [win.x, win.y, win.x + win.width, win.y + win.height];
    const plane = win.width * win.height;
    try {
      const bands = await this.image.readRasters({ window, samples, interleave: false });
      samples.forEach((_, ci) => out.set(bands[ci] as ArrayLike<number>, ci * plane));
    } catch (err) {
      throw new InputError(this.file, `corrupt or undecodable TIFF data (${firstLine(err)})`);
    }
  }
}

async function runLimited(jobs: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  let failed: unknown = null;
  const worker = async (): Promise<void> => {
    while (next < jobs.length && failed === null) {
      const job = jobs[next++]!;
      try {
        await job();
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  if (failed !== null) throw failed instanceof Error ? failed : new Error(String(failed));
}

// ---------------------------------------------------------------- opening

export interface TiffOpenOptions {
  spacingMm?: number[];
}

/** One resolution level: full resolution or an overview, with the mask at that size if there is one. */
interface Level {
  width: number;
  height: number;
  reader: BlockReader;
  mask: BlockReader | null;
  external: boolean;
}

/** Size of one overview level, as `meta.overviews` lists them. */
export interface OverviewSize {
  width: number;
  height: number;
}

/** A reduced-resolution read: the block, the level it came from, and full-resolution pixels per block pixel. */
export interface ReducedBlock extends PixelBlock {
  level: number;
  scaleX: number;
  scaleY: number;
  /** Validity at the block's resolution (0 invalid, 255 valid), when the file has a mask for that level. */
  mask?: Uint8Array;
}

interface OpenedTiff {
  tiff: GeoTIFF;
  fh: FileHandle;
  scan: TiffScan;
  images: GeoTIFFImage[];
}

async function openTiff(file: string, stat?: Stats): Promise<OpenedTiff> {
  let fh: FileHandle;
  try {
    fh = await fs.open(file, 'r');
  } catch (err) {
    throw new InputError(file, `cannot open (${(err as NodeJS.ErrnoException).code ?? firstLine(err)})`);
  }
  try {
    const size = (stat ?? (await fh.stat())).size;
    let scan: TiffScan;
    try {
      scan = await scanTiff(fh, size);
    } catch (err) {
      throw new InputError(file, `corrupt or unreadable TIFF (${firstLine(err)})`);
    }
    let tiff: GeoTIFF;
    const images: GeoTIFFImage[] = [];
    try {
      tiff = await fromFile(file);
      for (let i = 0; i < scan.ifds.length; i++) images.push(await tiff.getImage(i));
    } catch (err) {
      throw new InputError(file, `corrupt or unreadable TIFF (${firstLine(err)})`);
    }
    return { tiff, fh, scan, images };
  } catch (err) {
    await fh.close().catch(() => undefined);
    throw err;
  }
}

function subfileType(image: GeoTIFFImage): number {
  return Number(image.getFileDirectory().getValue('NewSubfileType') ?? 0);
}

function isMask(image: GeoTIFFImage): boolean {
  return (subfileType(image) & 4) !== 0 && Number(image.getFileDirectory().getValue('PhotometricInterpretation')) === 4;
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** gsdM and lon/lat bounds for `info`; a CRS we cannot resolve offline gives a note instead of failing the open. */
function geoSummary(gt: GeoTransform, crs: string, width: number, height: number): Record<string, unknown> {
  try {
    resolveCrs(crs);
  } catch (err) {
    return { crsNote: firstLine(err) };
  }
  const out: Record<string, unknown> = {};
  const gsd = gsdM(gt, crs, width, height);
  if (gsd !== null) out.gsdM = Number(gsd.toPrecision(6));
  const bounds = lonLatBounds(gt, crs, width, height);
  if (bounds) out.bounds = bounds.map((v) => Number(v.toFixed(7)));
  return out;
}

export interface GeoTiffSource extends ImageSource {
  /** Overview sizes, largest first (internal, then from a .ovr side-car). */
  readonly overviews: OverviewSize[];
  readReduced(region: Region, targetWidth: number, targetHeight: number): Promise<ReducedBlock>;
  readMask(region?: Region): Promise<Uint8Array | null>;
}

export async function openGeoTiff(file: string, options: TiffOpenOptions = {}): Promise<GeoTiffSource> {
  const main = await openTiff(file);
  const sidecars: OpenedTiff[] = [];
  const closeAll = async (): Promise<void> => {
    for (const t of [main, ...sidecars]) {
      await Promise.resolve(t.tiff.close()).catch(() => undefined);
      await t.fh.close().catch(() => undefined);
    }
  };
  try {
    return await build(file, main, sidecars, closeAll, options);
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function build(file: string, main: OpenedTiff, sidecars: OpenedTiff[], closeAll: () => Promise<void>, options: TiffOpenOptions): Promise<GeoTiffSource> {
  const image = main.images[0]!;
  const width = image.getWidth();
  const height = image.getHeight();
  const fd = image.getFileDirectory();
  const photometric = Number(fd.getValue('PhotometricInterpretation') ?? 1);
  const compression = Number(fd.getValue('Compression') ?? 1);
  const storedSamples = image.getSamplesPerPixel();
  const bits = image.getBitsPerSample(0);
  const sampleFormat = image.getSampleFormat(0) || 1;
  const geotransform = readGeotransform(image);
  // A georeferenced file refused here must not fall back to the plain image reader (no georeferencing there).
  const refuse = (problem: string): InputError => (geotransform ? new GeoTiffFormatError(file, problem) : new InputError(file, problem));
  // A NaN, infinite or collapsed (zero-area pixel) geotransform is damage, not a map: every area and coordinate would
  // be NaN or zero downstream.
  if (geotransform && (!geotransform.every(Number.isFinite) || geotransform[1] * geotransform[5] - geotransform[2] * geotransform[4] === 0)) {
    throw refuse(`the georeferencing (ModelPixelScale / ModelTiepoint / ModelTransformation) is not usable: geotransform ${geotransform.map((v) => Number(v.toPrecision(6))).join(', ')}`);
  }
  for (let s = 1; s < storedSamples; s++) {
    if (image.getBitsPerSample(s) !== bits || (image.getSampleFormat(s) || 1) !== sampleFormat) {
      throw refuse('TIFF bands with different sample types are not supported');
    }
  }
  const dtype = dtypeFor(sampleFormat, bits);
  if (!dtype) throw refuse(`TIFF samples of ${bits} bits (format ${sampleFormat}) are not supported`);
  if (photometric === 6 && compression !== 7) throw refuse('YCbCr TIFF without JPEG compression is not supported');
  if (!DECODABLE.has(compression)) {
    const names = [...new Set([...DECODABLE].map(compressionName))].join(', ');
    const what = COMPRESSION_NAMES[compression] ? `${COMPRESSION_NAMES[compression]} compression (TIFF code ${compression})` : `TIFF compression code ${compression}`;
    throw refuse(`${what} is not supported (readable: ${names}); rewrite it, e.g. gdal_translate -co COMPRESS=DEFLATE`);
  }
  const channels = storedSamples;
  const crs = geotransform ? readCrs(image) : null;
  const nodata = readNodata(image);
  const geometry: Geometry = geotransform ? { type: 'geo', geotransform, crs } : pixelGeometry(options.spacingMm);
  const mk = (t: OpenedTiff, img: GeoTIFFImage): BlockReader => new BlockReader(file, img, t.fh, t.scan.fileSize, t.scan.littleEndian);

  // Levels: full resolution, internal reduced-resolution images with the same bands, then a .ovr side-car's.
  const levels: Level[] = [{ width, height, reader: mk(main, image), mask: null, external: false }];
  const masks: BlockReader[] = [];
  for (const img of main.images.slice(1)) {
    if (isMask(img)) masks.push(mk(main, img));
    else if ((subfileType(img) & 1) !== 0 && img.getSamplesPerPixel() === channels && img.getWidth() < width) {
      levels.push({ width: img.getWidth(), height: img.getHeight(), reader: mk(main, img), mask: null, external: false });
    }
  }
  let maskSource: 'internal' | 'external' | null = masks.length > 0 ? 'internal' : null;
  if (await exists(`${file}.ovr`)) {
    try {
      const ovr = await openTiff(`${file}.ovr`);
      sidecars.push(ovr);
      for (const img of ovr.images) {
        if (isMask(img)) masks.push(mk(ovr, img));
        else if (img.getSamplesPerPixel() === channels && img.getWidth() < width && !levels.some((l) => l.width === img.getWidth())) {
          levels.push({ width: img.getWidth(), height: img.getHeight(), reader: mk(ovr, img), mask: null, external: true });
        }
      }
    } catch {
      // A broken side-car must not stop the main image from opening: it just has no external overviews.
    }
  }
  if (!maskSource && (await exists(`${file}.msk`))) {
    try {
      const msk = await openTiff(`${file}.msk`);
      sidecars.push(msk);
      for (const img of msk.images) if (img.getSamplesPerPixel() === 1) masks.push(mk(msk, img));
      if (masks.length > 0) maskSource = 'external';
    } catch {
      // Same as .ovr: ignored when unreadable.
    }
  }
  levels.sort((a, b) => b.width - a.width);
  for (const l of levels) l.mask = masks.find((m) => m.width === l.width && m.height === l.height) ?? null;

  async function read(region: Region = {}): Promise<PixelBlock> {
    const r = resolveRegion(region, width, height, 1, channels, file);
    return readLevel(levels[0]!, { x: r.x, y: r.y, width: r.width, height: r.height }, r.channels, region.signal);
  }

  async function readLevel(level: Level, win: Window, samples: number[], signal?: AbortSignal): Promise<PixelBlock> {
    const plane = win.width * win.height;
    const bytes = plane * samples.length * BYTES_PER_SAMPLE[dtype!];
    if (bytes > MAX_READ_BYTES) {
      throw new InputError(file, `a ${win.width}x${win.height} window of ${samples.length} band(s) needs ${(bytes / 2 ** 30).toFixed(1)} GiB: read it by windows or from an overview`);
    }
    const out = allocPixels(dtype!, plane * samples.length);
    await level.reader.read(win, samples, out, signal);
    return { data: out, width: win.width, height: win.height, depth: 1, channels: samples.length, dtype: dtype! };
  }

  /** The coarsest level that still has at least the target resolution over the region (full resolution if none). */
  function pickLevel(r: Window, targetWidth: number, targetHeight: number): number {
    let best = 0;
    levels.forEach((l, i) => {
      if ((r.width * l.width) / width >= targetWidth && (r.height * l.height) / height >= targetHeight) best = i;
    });
    return best;
  }

  function levelWindow(l: Level, r: Window): Window {
    const x0 = Math.floor((r.x * l.width) / width);
    const y0 = Math.floor((r.y * l.height) / height);
    const x1 = Math.max(x0 + 1, Math.min(l.width, Math.ceil(((r.x + r.width) * l.width) / width)));
    const y1 = Math.max(y0 + 1, Math.min(l.height, Math.ceil(((r.y + r.height) * l.height) / height)));
    return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
  }

  async function readReduced(region: Region, targetWidth: number, targetHeight: number): Promise<ReducedBlock> {
    const r = resolveRegion(region, width, height, 1, channels, file);
    const win = { x: r.x, y: r.y, width: r.width, height: r.height };
    const index = pickLevel(win, Math.max(1, targetWidth), Math.max(1, targetHeight));
    const level = levels[index]!;
    const lw = index === 0 ? win : levelWindow(level, win);
    const block = await readLevel(level, lw, r.channels, region.signal);
    const reduced: ReducedBlock = { ...block, level: index, scaleX: r.width / lw.width, scaleY: r.height / lw.height };
    if (level.mask) {
      const mask = new Uint8Array(lw.width * lw.height);
      await level.mask.read(lw, [0], mask);
      for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) mask[i] = 255;
      reduced.mask = mask;
    }
    return reduced;
  }

  async function readMask(region: Region = {}): Promise<Uint8Array | null> {
    const m = levels[0]!.mask;
    if (!m) return null;
    const r = resolveRegion(region, width, height, 1, channels, file);
    const out = new Uint8Array(r.width * r.height);
    const win = { x: r.x, y: r.y, width: r.width, height: r.height };
    await m.read(win, [0], out);
    // 8-bit side-car masks store 0/255 already; anything non-zero is valid.
    for (let i = 0; i < out.length; i++) if (out[i] !== 0) out[i] = 255;
    return out;
  }

  const overviews = levels.slice(1).map((l) => ({ width: l.width, height: l.height }));
  const geo = geotransform && crs ? geoSummary(geotransform, crs, width, height) : {};
  const tiled = image.isTiled;
  return {
    file,
    format: geotransform ? 'geotiff' : 'tiff',
    kind: geotransform ? 'geo' : 'image',
    width,
    height,
    depth: 1,
    channels,
    dtype,
    geometry,
    ...(nodata !== undefined ? { nodata } : {}),
    meta: {
      compression: compressionName(compression),
      photometric,
      tiled,
      blockWidth: tiled ? image.getTileWidth() : width,
      blockHeight: tiled ? image.getTileHeight() : Math.min(height, Number(fd.getValue('RowsPerStrip') ?? height) || height),
      interleave: Number(fd.getValue('PlanarConfiguration') ?? 1) === 2 ? 'band' : 'pixel',
      bigTiff: main.scan.bigTiff,
      overviews,
      ...(maskSource ? { mask: maskSource } : {}),
      ...geo,
    },
    overviews,
    read,
    readReduced,
    readMask,
    close: closeAll,
  };
}
