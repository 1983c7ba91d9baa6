// One compressed GeoTIFF block (tile or strip) turned into the part of a window it covers: decode (predictor undone),
// check its size, swap big-endian samples, and copy the covered rectangle of the requested samples out, band by band.
// The same function runs on the calling thread and in the decode workers (geotiff-worker.ts), so both give the same
// bytes; a failure is a BlockError whose message the reader puts after the file name.
import type { DType } from '../../../preload/formats';
import { BYTES_PER_SAMPLE } from '../image';
import type { BlockDecoderParams } from './geotiff-decoders';

/** Everything one block decode needs: plain data, so it can be posted to a worker. */
export interface BlockJob {
  /** TIFF Compression tag value (1 = none: the raw bytes are the samples). */
  compression: number;
  /** Readable name of the compression for messages ("DEFLATE"). */
  compressionName: string;
  params: BlockDecoderParams;
  /** Block index in the offset table, for messages. */
  index: number;
  /** The block as stored in the file. */
  raw: ArrayBuffer;
  dtype: DType;
  littleEndian: boolean;
  /** Samples per pixel in this block (1 for band-interleaved files). */
  spp: number;
  /** Block width in pixels and the rows this block holds. */
  blockW: number;
  rows: number;
  /** Samples of a pixel to copy out, in output order. */
  samples: number[];
  /** The covered rectangle in block pixel coordinates. */
  cropX: number;
  cropY: number;
  cropW: number;
  cropH: number;
}

/** A block that cannot be decoded: the message names the block and the problem, the reader adds the file. */
export class BlockError extends Error {
  override name = 'BlockError';
}

export interface Decoder {
  decode(b: ArrayBufferLike): Promise<ArrayBufferLike>;
}

function firstLineOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}

/** Decoded bytes of the block (predictor undone, native byte order), at least `rows` full rows long. */
async function decodedBytes(job: BlockJob, decoder: Decoder | null): Promise<Uint8Array> {
  const bytesPer = BYTES_PER_SAMPLE[job.dtype];
  const need = job.blockW * job.spp * bytesPer * job.rows;
  let bytes: Uint8Array;
  if (job.compression === 1 || !decoder) {
    bytes = new Uint8Array(job.raw);
  } else {
    try {
      bytes = new Uint8Array(await decoder.decode(job.raw));
    } catch (err) {
      throw new BlockError(`corrupt or undecodable ${job.compressionName} block ${job.index} (${firstLineOf(err)})`);
    }
  }
  if (bytes.length < need) {
    // Strips may end early (last strip); anything shorter than the rows it must hold is corrupt.
    throw new BlockError(`block ${job.index} decodes to ${bytes.length} bytes, expected ${need} (corrupt)`);
  }
  if (!job.littleEndian && bytesPer > 1) {
    const copy = Buffer.from(bytes.subarray(0, need));
    if (bytesPer === 2) copy.swap16();
    else if (bytesPer === 4) copy.swap32();
    else copy.swap64();
    bytes = copy;
  }
  return bytes;
}

/**
 * Decodes the block and returns the covered rectangle band-sequential: samples.length planes of cropH rows of cropW
 * samples each, in the sample type's bytes. De-interleaving happens here so that the worker, not the caller, does it.
 */
export async function decodeBlockJob(job: BlockJob, decoder: Decoder | null): Promise<Uint8Array> {
  const bytes = await decodedBytes(job, decoder);
  const size = BYTES_PER_SAMPLE[job.dtype];
  const { spp, blockW, cropX, cropY, cropW, cropH, samples } = job;
  const out = new Uint8Array(samples.length * cropW * cropH * size);
  if (spp === 1) {
    const rowBytes = cropW * size;
    for (let y = 0; y < cropH; y++) {
      const from = ((cropY + y) * blockW + cropX) * size;
      out.set(bytes.subarray(from, from + rowBytes), y * rowBytes);
    }
    return out;
  }
  // Interleaved: pick each sample out of the pixel as whole words, so float bit patterns (NaN payloads) stay exact.
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const words = size === 8 ? 2 : 1;
  const src = wordView(aligned, size);
  const dst = wordView(out, size);
  const plane = cropW * cropH;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    for (let y = 0; y < cropH; y++) {
      let p = (((cropY + y) * blockW + cropX) * spp + s) * words;
      let d = (i * plane + y * cropW) * words;
      const step = spp * words;
      if (words === 1) {
        for (let k = 0; k < cropW; k++, p += step) dst[d++] = src[p]!;
      } else {
        for (let k = 0; k < cropW; k++, p += step) {
          dst[d++] = src[p]!;
          dst[d++] = src[p + 1]!;
        }
      }
    }
  }
  return out;
}

/** An unsigned view of the bytes in words of the sample size (8-byte samples as pairs of 32-bit words). */
function wordView(b: Uint8Array, size: number): Uint8Array | Uint16Array | Uint32Array {
  if (size === 1) return b;
  if (size === 2) return new Uint16Array(b.buffer, b.byteOffset, b.byteLength >> 1);
  return new Uint32Array(b.buffer, b.byteOffset, b.byteLength >> 2);
}
