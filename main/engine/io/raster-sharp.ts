// PNG / JPEG (and TIFFs geotiff.js cannot open) through sharp: 8- or 16-bit, channels as stored, windowed reads.
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import type { DType, PixelGeometry, Vec3 } from '../../../preload/formats';
import { InputError, allocPixels, type ImageSource, type PixelBlock, type Region } from '../image';
import { resolveRegion, firstLine } from './region';
import { checkDecodedSize } from './limits';

// The default (1) leaves one of our two cores idle; more than 2 would oversubscribe them.
sharp.concurrency(2);

export interface SharpOpenOptions {
  spacingMm?: number[];
  /** Reader name reported as `format` (png, jpeg, tiff). */
  format: string;
}

/** Pixel geometry with the user's spacing (z defaults to 1 mm) when given. */
export function pixelGeometry(spacingMm?: number[]): PixelGeometry {
  if (!spacingMm || spacingMm.length < 2) return { type: 'pixel' };
  const spacing: Vec3 = [spacingMm[0]!, spacingMm[1]!, spacingMm[2] ?? 1];
  return { type: 'pixel', spacingMm: spacing };
}

export async function openSharp(file: string, options: SharpOpenOptions): Promise<ImageSource> {
  let meta: Metadata;
  try {
    meta = await sharp(file, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new InputError(file, `not a readable ${options.format.toUpperCase()} image (${firstLine(err)})`);
  }
  const width = meta.width;
  const height = meta.height;
  if (!width || !height) throw new InputError(file, `${options.format.toUpperCase()} image has no pixels`);
  const is16 = meta.depth === 'ushort';
  if (meta.depth !== 'uchar' && !is16) {
    throw new InputError(file, `${meta.depth ?? 'unknown'} samples are not supported in ${options.format.toUpperCase()} files (8- or 16-bit only)`);
  }
  const dtype: DType = is16 ? 'uint16' : 'uint8';
  // CMYK JPEGs come out of libvips as sRGB: report what read() returns.
  const channels = meta.space === 'cmyk' ? 3 : (meta.channels ?? 3);
  const grey = meta.space === 'b-w' || meta.space === 'grey16';

  async function read(region: Region = {}): Promise<PixelBlock> {
    const r = resolveRegion(region, width!, height!, 1, channels, file);
    // libvips decodes (and sharp buffers) every channel of the window before we pick: check that size first.
    checkDecodedSize(file, `a ${r.width}x${r.height} ${options.format.toUpperCase()} window`, r.width * r.height * Math.max(channels, 4) * (is16 ? 2 : 1));
    let pipeline = sharp(file, { limitInputPixels: false });
    if (r.x !== 0 || r.y !== 0 || r.width !== width || r.height !== height) {
      // libvips decodes only what the window needs where the format allows (tiled TIFF, progressive rows).
      pipeline = pipeline.extract({ left: r.x, top: r.y, width: r.width, height: r.height });
    }
    // Without an explicit 16-bit colourspace sharp converts to 8-bit sRGB; 8-bit grey+alpha would lose alpha in b-w,
    // so 8-bit data goes through sRGB and grey/alpha are picked back out below.
    if (is16) pipeline = pipeline.toColourspace(grey ? 'grey16' : 'rgb16');
    let raw: { data: Buffer; info: OutputInfo };
    try {
      raw = await pipeline.raw(is16 ? { depth: 'ushort' } : {}).toBuffer({ resolveWithObject: true });
    } catch (err) {
      throw new InputError(file, `corrupt or truncated ${options.format.toUpperCase()} image (${firstLine(err)})`);
    }
    const oc = raw.info.channels;
    let pick: number[];
    if (oc === channels) pick = channels === 1 ? [0] : Array.from({ length: channels }, (_, i) => i);
    else if (channels === 1) pick = [0];
    else if (channels === 2) pick = [0, oc - 1];
    else throw new InputError(file, `unexpected channel layout (${oc} decoded, ${channels} stored)`);
    const src = is16
      ? new Uint16Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength / 2)
      : new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
    const plane = r.width * r.height;
    const out = allocPixels(dtype, plane * r.channels.length);
    r.channels.forEach((c, ci) => {
      const sc = pick[c]!;
      const base = ci * plane;
      for (let i = 0; i < plane; i++) out[base + i] = src[i * oc + sc]!;
    });
    return { data: out, width: r.width, height: r.height, depth: 1, channels: r.channels.length, dtype };
  }

  return {
    file,
    format: options.format,
    kind: 'image',
    width,
    height,
    depth: 1,
    channels,
    dtype,
    geometry: pixelGeometry(options.spacingMm),
    meta: { colourSpace: meta.space ?? null },
    read,
    close: async () => undefined,
  };
}
