// The one image model: DICOM series, NIfTI volumes, GeoTIFFs and plain pictures all become an ImageSource.
// Pixel data is typed and laid out channel-planar: index = ((c * depth + z) * height + y) * width + x.

import type { DType, Geometry, ImageInfo, ImageKind } from '../../preload/formats';

export type PixelArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** A box of voxels; omitted fields mean "all". */
export interface Region {
  x?: number;
  y?: number;
  z?: number;
  width?: number;
  height?: number;
  depth?: number;
  /** Channel indices to read (default: all). */
  channels?: number[];
  /** Cancels the read: blocks not yet decoded are dropped and the read rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Pixels of a region, channel-planar. */
export interface PixelBlock {
  data: PixelArray;
  width: number;
  height: number;
  depth: number;
  channels: number;
  dtype: DType;
}

/** An opened image. Readers may keep the file open; call close() when done. */
export interface ImageSource {
  readonly file: string;
  readonly format: string;
  readonly kind: ImageKind;
  readonly width: number;
  readonly height: number;
  readonly depth: number;
  readonly channels: number;
  readonly dtype: DType;
  readonly geometry: Geometry;
  readonly nodata?: number | 'nan';
  /** Reader-specific metadata that is safe to show (never patient names or IDs). */
  readonly meta: Record<string, unknown>;
  /** Read a region (default: everything). Large rasters must be read by window. */
  read(region?: Region): Promise<PixelBlock>;
  /**
   * Optional (tiled pyramids, e.g. GeoTIFF overviews): the region at no less than targetWidth x targetHeight pixels, from
   * the coarsest stored level that has it, so previews of big rasters never decode full resolution. The block is at
   * that level's resolution (scaleX/scaleY full-resolution pixels per block pixel), not resampled to the target;
   * `mask` (0 = invalid, 255 = valid) comes with it when the file stores a validity mask at that level.
   */
  readReduced?(region: Region, targetWidth: number, targetHeight: number): Promise<PixelBlock & { scaleX: number; scaleY: number; mask?: Uint8Array }>;
  /** Optional per-dataset validity mask of a region (0 = invalid, 255 = valid); null when the file has none. */
  readMask?(region?: Region): Promise<Uint8Array | null>;
  close(): Promise<void>;
}

export const BYTES_PER_SAMPLE: Record<DType, number> = {
  uint8: 1,
  int8: 1,
  uint16: 2,
  int16: 2,
  uint32: 4,
  int32: 4,
  float32: 4,
  float64: 8,
};

export function allocPixels(dtype: DType, length: number): PixelArray {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(length);
    case 'int8':
      return new Int8Array(length);
    case 'uint16':
      return new Uint16Array(length);
    case 'int16':
      return new Int16Array(length);
    case 'uint32':
      return new Uint32Array(length);
    case 'int32':
      return new Int32Array(length);
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
  }
}

export function dtypeOf(data: PixelArray): DType {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

/**
 * out[i] = (1 - w) a[i] + w b[i] over out's length: a plane between two acquired ones (a missing slice filled in);
 * integer types round to the nearest value.
 */
export function lerpSamples(a: PixelArray, b: PixelArray, w: number, out: PixelArray): void {
  const rounds = !(out instanceof Float32Array || out instanceof Float64Array);
  for (let i = 0; i < out.length; i++) {
    const v = (1 - w) * Number(a[i]) + w * Number(b[i]);
    out[i] = rounds ? Math.round(v) : v;
  }
}

/** The `info --json` view of a source: geometry flattened into the fields that apply. */
export function describe(src: ImageSource): ImageInfo {
  const info: ImageInfo = {
    file: src.file,
    format: src.format,
    kind: src.kind,
    width: src.width,
    height: src.height,
    depth: src.depth,
    channels: src.channels,
    dtype: src.dtype,
  };
  const g = src.geometry;
  if (g.type === 'medical') {
    info.spacingMm = g.spacingMm;
    info.originMm = g.originMm;
    info.direction = g.direction;
  } else if (g.type === 'geo') {
    info.geotransform = g.geotransform;
    info.crs = g.crs;
  } else if (g.spacingMm) {
    info.spacingMm = g.spacingMm;
  }
  if (src.nodata !== undefined) info.nodata = src.nodata;
  return { ...src.meta, ...info };
}

/** Error for bad user input: one line naming the file and the problem. The CLI exits 2 on these. */
export class InputError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'InputError';
  }
}
