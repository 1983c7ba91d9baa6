// Native block decoders registered into geotiff.js with addDecoder, where its JavaScript ones are slow or missing:
// DEFLATE through Node's zlib (asynchronous, so blocks inflate in parallel on libuv's thread pool), WebP through sharp
// (geotiff.js needs a browser canvas for it), and YCbCr JPEG through sharp/libjpeg-turbo, which does the colour
// conversion and chroma upsampling the way GDAL's libjpeg does; LZW through our bounded decoder (geotiff-lzw.ts).
// DEFLATE and LZW output is capped at the block's expected size (plus slack): a tile cannot inflate to gigabytes.
import { inflate, inflateSync } from 'node:zlib';
import { promisify } from 'node:util';
import type sharpModule from 'sharp';
import { BaseDecoder, addDecoder, getDecoder } from 'geotiff';
import { decodeLzw } from './geotiff-lzw';
import { MAX_BLOCK_BYTES } from './geotiff-scan';
import { maxDecodedBytes } from './limits';

const inflateAsync = promisify(inflate);

/**
 * Decode workers inflate on their own thread (they are the parallelism); the calling thread hands DEFLATE to zlib's
 * pool instead. Set before the first decoder is made.
 */
let inflateOnThisThread = false;
export function inflateOnCallingThread(): void {
  inflateOnThisThread = true;
}

/** Parameters geotiff.js hands every decoder, plus what ours need (the IFD's photometric and sample count). */
export interface BlockDecoderParams {
  tileWidth: number;
  tileHeight: number;
  planarConfiguration: number;
  bitsPerSample: number[];
  predictor: number;
  samplesPerPixel: number;
  photometric: number;
  JPEGTables?: Uint8Array;
  LercParameters?: number[];
}

function toArrayBuffer(b: Buffer | Uint8Array): ArrayBuffer {
  // zlib and sharp return Buffers that may share a pooled ArrayBuffer: copy out exactly the bytes.
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b.buffer;
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** Most bytes one block may decode to: its declared size with slack for padded writers, never past the limits. */
export function blockByteLimit(p: Pick<BlockDecoderParams, 'tileWidth' | 'tileHeight' | 'planarConfiguration' | 'bitsPerSample' | 'samplesPerPixel'>): number {
  const bits = Array.from(p.bitsPerSample ?? [8]);
  const pixelBits = p.planarConfiguration === 2 ? (bits[0] ?? 8) : bits.reduce((a, b) => a + b, 0) || 8 * (p.samplesPerPixel || 1);
  const expected = Math.ceil(((p.tileWidth || 1) * pixelBits) / 8) * (p.tileHeight || 1);
  const ceiling = Math.min(MAX_BLOCK_BYTES, maxDecodedBytes());
  return Number.isFinite(expected) ? Math.min(ceiling, expected * 2 + 65536) : ceiling;
}

class NodeDeflateDecoder extends BaseDecoder {
  override async decodeBlock(buffer: ArrayBufferLike): Promise<ArrayBufferLike> {
    const limit = blockByteLimit(this.parameters as unknown as BlockDecoderParams);
    try {
      const input = new Uint8Array(buffer);
      return toArrayBuffer(inflateOnThisThread ? inflateSync(input, { maxOutputLength: limit }) : await inflateAsync(input, { maxOutputLength: limit }));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new Error(`DEFLATE block inflates to more than ${limit} bytes (corrupt)`);
      throw err;
    }
  }
}

class BoundedLzwDecoder extends BaseDecoder {
  override decodeBlock(buffer: ArrayBufferLike): ArrayBufferLike {
    return toArrayBuffer(decodeLzw(new Uint8Array(buffer), blockByteLimit(this.parameters as unknown as BlockDecoderParams)));
  }
}

/** JPEG-in-TIFF stores shared tables once (JPEGTables); a standalone JPEG is tables (without EOI) + block (without SOI). */
function spliceJpegTables(tables: Uint8Array | undefined, block: Uint8Array): Uint8Array {
  if (!tables || tables.length < 4) return block;
  const out = new Uint8Array(tables.length - 2 + block.length - 2);
  out.set(tables.subarray(0, tables.length - 2), 0);
  out.set(block.subarray(2), tables.length - 2);
  return out;
}

let sharpLoaded: Promise<typeof sharpModule> | null = null;

/** Raw pixels of an encoded image through sharp, forced to `channels` samples (alpha added or dropped as needed). */
async function sharpRaw(data: Uint8Array, channels: number): Promise<ArrayBuffer> {
  // Loaded on first use: a decode worker that only inflates never pays for libvips.
  sharpLoaded ??= import('sharp').then((m) => m.default);
  const sharp = await sharpLoaded;
  let img = sharp(data, { failOn: 'error', limitInputPixels: false });
  const { info } = await img.clone().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== channels) {
    if (channels === 4) img = img.ensureAlpha(1);
    else if (channels === 3) img = img.removeAlpha();
    else if (channels === 1) img = img.extractChannel(0);
  }
  return toArrayBuffer(await img.raw().toBuffer());
}

let defaultJpeg: (new (p: BlockDecoderParams) => BaseDecoder) | null = null;

class SharpJpegDecoder extends BaseDecoder {
  private fallback: BaseDecoder | null = null;
  override async decodeBlock(buffer: ArrayBufferLike): Promise<ArrayBufferLike> {
    const p = this.parameters as unknown as BlockDecoderParams;
    // libjpeg converts YCbCr to RGB itself; RGB/grey/CMYK-like JPEGs keep geotiff.js's decoder, which returns samples as stored.
    if (p.photometric === 6 && p.samplesPerPixel === 3 && defaultJpeg) {
      return sharpRaw(spliceJpegTables(p.JPEGTables, new Uint8Array(buffer)), 3);
    }
    this.fallback ??= defaultJpeg ? new defaultJpeg(p) : null;
    if (!this.fallback) throw new Error('no JPEG decoder');
    return this.fallback.decodeBlock(buffer);
  }
}

class SharpWebpDecoder extends BaseDecoder {
  override async decodeBlock(buffer: ArrayBufferLike): Promise<ArrayBufferLike> {
    const p = this.parameters as unknown as BlockDecoderParams;
    return sharpRaw(new Uint8Array(buffer), p.samplesPerPixel || 3);
  }
}

let registered: Promise<void> | null = null;

/** Registers the native decoders once per process. */
export function registerNativeDecoders(): Promise<void> {
  registered ??= (async () => {
    const probe: BlockDecoderParams = { tileWidth: 1, tileHeight: 1, planarConfiguration: 1, bitsPerSample: [8], predictor: 1, samplesPerPixel: 1, photometric: 1 };
    // Keep geotiff.js's own JPEG decoder class for the non-YCbCr cases before replacing the registry entry.
    defaultJpeg = (await getDecoder(7, probe)).constructor as new (p: BlockDecoderParams) => BaseDecoder;
    // preferWorker false: these already run off the main thread (zlib, libvips) and must not be cloned into workers.
    addDecoder([8, 32946], () => Promise.resolve(NodeDeflateDecoder), undefined, false);
    addDecoder(7, () => Promise.resolve(SharpJpegDecoder), undefined, false);
    addDecoder(5, () => Promise.resolve(BoundedLzwDecoder), undefined, false);
    addDecoder(50001, () => Promise.resolve(SharpWebpDecoder), undefined, false);
  })();
  return registered;
}

/** A decoder for one image's blocks (predictor applied by BaseDecoder.decode). */
export async function blockDecoder(compression: number, params: BlockDecoderParams): Promise<BaseDecoder> {
  await registerNativeDecoders();
  return getDecoder(compression, params as unknown as Parameters<typeof getDecoder>[1]);
}
