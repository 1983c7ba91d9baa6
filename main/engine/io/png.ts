// PNG writing for 8-bit 2D images (grey, RGB or RGBA, interleaved), atomically.
import sharp from 'sharp';
import { writeFileAtomic } from './atomic';

/** Pixels are interleaved (grey, RGB or RGBA per pixel), row-major, 8-bit. */
export async function writePng(path: string, pixels: Uint8Array, width: number, height: number, channels: 1 | 3 | 4): Promise<void> {
  if (pixels.length !== width * height * channels) throw new RangeError(`writePng: ${pixels.length} bytes for ${width}x${height}x${channels}`);
  let img = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width, height, channels } });
  // Without b-w, libvips would write a one-band raster as RGB.
  if (channels === 1) img = img.toColourspace('b-w');
  const png = await img.png({ compressionLevel: 6 }).toBuffer();
  await writeFileAtomic(path, png);
}

/** Channel-planar (our image model) to interleaved, the layout PNG encoders want. */
export function interleave(planar: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  if (channels === 1) return planar;
  const plane = width * height;
  const out = new Uint8Array(plane * channels);
  for (let c = 0; c < channels; c++) for (let i = 0; i < plane; i++) out[i * channels + c] = planar[c * plane + i]!;
  return out;
}
