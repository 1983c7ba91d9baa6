// Compressed-frame decoders: WASM codecs from @cornerstonejs (loaded lazily, once per process) and
// jpeg-lossless-decoder-js. Each returns interleaved samples plus what the codestream says about them.
// The WASM packages stay external in the esbuild bundle so Emscripten finds its .wasm next to its own .js.

import type { CodecFrameInfo, EmscriptenCodecModule, EmscriptenDecoderClass } from './codec-types';

export interface DecodedFrame {
  /** Interleaved samples, unsigned view (sign is restored later from PixelRepresentation/BitsStored). */
  samples: Uint8Array | Uint16Array;
  width: number;
  height: number;
  components: number;
  bitsPerSample: number;
}

type WasmCodec = 'openjpeg' | 'charls' | 'openjph' | 'libjpeg-turbo';

const modules = new Map<WasmCodec, Promise<EmscriptenCodecModule>>();

async function loadModule(codec: WasmCodec): Promise<EmscriptenCodecModule> {
  let p = modules.get(codec);
  if (!p) {
    p = (async () => {
      // Literal specifiers so the bundler sees (and leaves external) each package.
      const mod =
        codec === 'openjpeg'
          ? await import('@cornerstonejs/codec-openjpeg/decodewasmjs')
          : codec === 'charls'
            ? await import('@cornerstonejs/codec-charls/decodewasmjs')
            : codec === 'openjph'
              ? await import('@cornerstonejs/codec-openjph/wasmjs')
              : await import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs');
      const factory = mod.default;
      // Silence Emscripten's stdout/stderr: OpenJPEG logs every tile, and logs must stay ours.
      const quiet = (): void => undefined;
      return (await factory({ print: quiet, printErr: quiet })) as EmscriptenCodecModule;
    })();
    modules.set(codec, p);
    p.catch(() => modules.delete(codec));
  }
  return p;
}

function decoderClass(mod: EmscriptenCodecModule, codec: WasmCodec): EmscriptenDecoderClass {
  const cls =
    codec === 'openjpeg'
      ? mod.J2KDecoder
      : codec === 'charls'
        ? mod.JpegLSDecoder
        : codec === 'openjph'
          ? mod.HTJ2KDecoder
          : mod.JPEGDecoder;
  if (!cls) throw new Error(`the ${codec} codec module has no decoder`);
  return cls;
}

function toSamples(bytes: Uint8Array, info: CodecFrameInfo): Uint8Array | Uint16Array {
  // Copy out of the WASM heap: the view dies with the decoder.
  if (info.bitsPerSample <= 8) return bytes.slice();
  const copy = bytes.slice();
  return new Uint16Array(copy.buffer, copy.byteOffset, copy.byteLength >> 1);
}

async function decodeWasm(codec: WasmCodec, data: Uint8Array): Promise<DecodedFrame> {
  const Decoder = decoderClass(await loadModule(codec), codec);
  const decoder = new Decoder();
  try {
    decoder.getEncodedBuffer(data.length).set(data);
    decoder.decode();
    const info = decoder.getFrameInfo();
    return {
      samples: toSamples(decoder.getDecodedBuffer(), info),
      width: info.width,
      height: info.height,
      components: info.componentCount,
      bitsPerSample: info.bitsPerSample,
    };
  } finally {
    decoder.delete();
  }
}

export const decodeJpeg2000 = (data: Uint8Array): Promise<DecodedFrame> => decodeWasm('openjpeg', data);
export const decodeHtj2k = (data: Uint8Array): Promise<DecodedFrame> => decodeWasm('openjph', data);
export const decodeJpegLs = (data: Uint8Array): Promise<DecodedFrame> => decodeWasm('charls', data);
/**
 * 8-bit lossy JPEG. For colour, the DICOM PhotometricInterpretation decides whether the stream holds YCbCr or RGB
 * (as GDCM does), not libjpeg's guess from JFIF/Adobe markers: the markers are replaced by an Adobe APP14 segment
 * whose transform flag says which, so libjpeg-turbo converts to RGB exactly when the samples are YCbCr.
 */
export function decodeJpegBaseline8(data: Uint8Array, samplesAreRgb?: boolean): Promise<DecodedFrame> {
  return decodeWasm('libjpeg-turbo', samplesAreRgb === undefined ? data : withAdobeTransform(data, samplesAreRgb ? 0 : 1));
}

function withAdobeTransform(data: Uint8Array, transform: 0 | 1): Uint8Array {
  const parts: Uint8Array[] = [data.subarray(0, 2)];
  const adobe = new Uint8Array([0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0, 0, 0, 0, transform]);
  parts.push(adobe);
  let i = 2;
  // Copy marker segments up to SOS, leaving out APP0 (JFIF) and APP14 (Adobe); the rest of the stream as is.
  while (i + 4 <= data.length && data[i] === 0xff) {
    const marker = data[i + 1] ?? 0;
    if (marker === 0xda) break;
    const len = ((data[i + 2] ?? 0) << 8) | (data[i + 3] ?? 0);
    if (marker !== 0xe0 && marker !== 0xee) parts.push(data.subarray(i, i + 2 + len));
    i += 2 + len;
  }
  parts.push(data.subarray(i));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Reads the SOF marker of a JPEG stream: sample precision, size, components, and the process (SOF type). */
export function jpegFrameHeader(data: Uint8Array): { precision: number; sofMarker: number; components: number } | null {
  let i = 2;
  while (i + 9 < data.length) {
    if (data[i] !== 0xff) {
      i++;
      continue;
    }
    const marker = data[i + 1] ?? 0;
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { precision: data[i + 4] ?? 0, sofMarker: marker, components: data[i + 9] ?? 0 };
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2;
      continue;
    }
    const lengthBytes = ((data[i + 2] ?? 0) << 8) | (data[i + 3] ?? 0);
    i += 2 + lengthBytes;
  }
  return null;
}

export async function decodeJpegLossless(data: Uint8Array): Promise<DecodedFrame> {
  const { Decoder } = await import('jpeg-lossless-decoder-js');
  const header = jpegFrameHeader(data);
  const decoder = new Decoder();
  // jpeg-lossless-decoder-js drops the last sample when the entropy-coded data ends right at EOI; one zero byte
  // before EOI gives its bit reader the lookahead it wants (it stops after the last sample, so the byte is unused).
  // Also a real copy: `data` may be a Buffer view into a larger pool.
  let eoi = data.length - 2;
  while (eoi > 2 && !(data[eoi] === 0xff && data[eoi + 1] === 0xd9)) eoi--;
  if (eoi <= 2) eoi = data.length;
  const copy = new Uint8Array(eoi + 3);
  copy.set(data.subarray(0, eoi), 0);
  copy.set([0x00, 0xff, 0xd9], eoi);
  const out = decoder.decompress(copy.buffer, 0, copy.byteLength);
  const bytesPerSample = decoder.numBytes;
  const samples = bytesPerSample === 1 ? new Uint8Array(out) : new Uint16Array(out);
  return {
    samples,
    width: 0,
    height: 0,
    components: decoder.numComp,
    bitsPerSample: header?.precision ?? bytesPerSample * 8,
  };
}
