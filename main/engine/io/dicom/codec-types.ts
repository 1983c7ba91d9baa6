// Shapes of the Emscripten codec modules from @cornerstonejs (OpenJPEG, CharLS, OpenJPH, libjpeg-turbo).

export interface CodecFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned: boolean;
}

/** An embind decoder object: copy the stream into getEncodedBuffer, decode, read getDecodedBuffer, then delete. */
export interface EmscriptenDecoder {
  getEncodedBuffer(lengthBytes: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  readHeader?(): void;
  decode(): void;
  getFrameInfo(): CodecFrameInfo;
  delete(): void;
}

export type EmscriptenDecoderClass = new () => EmscriptenDecoder;

export interface EmscriptenCodecModule {
  J2KDecoder?: EmscriptenDecoderClass;
  JpegLSDecoder?: EmscriptenDecoderClass;
  HTJ2KDecoder?: EmscriptenDecoderClass;
  JPEGDecoder?: EmscriptenDecoderClass;
}

export type EmscriptenCodecFactory = (moduleArg?: Record<string, unknown>) => Promise<EmscriptenCodecModule>;
