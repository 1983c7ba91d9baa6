// Shared helpers for readers: region defaults and bounds checks, planar copies, short error text.
import type { PixelArray, Region } from '../image';

export interface ResolvedRegion {
  x: number;
  y: number;
  z: number;
  width: number;
  height: number;
  depth: number;
  channels: number[];
}

/** Fills the region's defaults ("all") and refuses boxes outside the image: a caller bug, not a user error. */
export function resolveRegion(region: Region, width: number, height: number, depth: number, channels: number, file: string): ResolvedRegion {
  const x = region.x ?? 0;
  const y = region.y ?? 0;
  const z = region.z ?? 0;
  const r: ResolvedRegion = {
    x,
    y,
    z,
    width: region.width ?? width - x,
    height: region.height ?? height - y,
    depth: region.depth ?? depth - z,
    channels: region.channels ?? Array.from({ length: channels }, (_, i) => i),
  };
  const ints = [r.x, r.y, r.z, r.width, r.height, r.depth];
  if (
    ints.some((v) => !Number.isInteger(v) || v < 0) ||
    r.width < 1 ||
    r.height < 1 ||
    r.depth < 1 ||
    r.x + r.width > width ||
    r.y + r.height > height ||
    r.z + r.depth > depth ||
    r.channels.length === 0 ||
    r.channels.some((c) => !Number.isInteger(c) || c < 0 || c >= channels)
  ) {
    throw new RangeError(`${file}: region ${JSON.stringify(region)} is outside the image (${width}x${height}x${depth}, ${channels} channels)`);
  }
  return r;
}

/** First line of an error message, for one-line user errors built from library exceptions. */
export function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return (msg.split('\n')[0] ?? '').trim().slice(0, 200);
}

/** Copies a box out of a full channel-planar volume (index ((c*d+z)*h+y)*w+x). */
export function cropPlanar(
  src: PixelArray,
  dims: { width: number; height: number; depth: number },
  r: ResolvedRegion,
  out: PixelArray,
): void {
  let o = 0;
  for (const c of r.channels) {
    for (let z = r.z; z < r.z + r.depth; z++) {
      for (let y = r.y; y < r.y + r.height; y++) {
        const start = ((c * dims.depth + z) * dims.height + y) * dims.width + r.x;
        out.set(src.subarray(start, start + r.width), o);
        o += r.width;
      }
    }
  }
}
