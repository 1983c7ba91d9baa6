// The window presets of an opened image: its modality's presets (io/dicom/presets.ts) over a sample of the whole
// volume's values, so percentile windows hold for every slice and right-drag can scale with the data range.
import type { ImageWindows } from '../../../preload/api';
import type { ImageSource } from '../image';
import { windowPresetsFor } from '../io/dicom/presets';
import { bandStatsInfo } from './band-stretch';

/** Slices read for the sample, evenly spaced (a 600-slice CT is not decoded twice over for a preset list). */
const MAX_SLICES = 24;
/** Values sorted at most. */
const MAX_SAMPLE = 262_144;
/** Larger 2D rasters are sampled from their overviews (readReduced) instead of being read whole. */
const MAX_PLANE = 4096 * 4096;

function numberOf(v: unknown): number | undefined {
  const first = Array.isArray(v) ? v[0] : v;
  const n = typeof first === 'string' ? Number(first) : first;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

/** An ascending sample of the finite channel-0 values of the whole image (nodata left out). */
export async function sampleValues(src: ImageSource): Promise<Float64Array> {
  const nodataRaw = src.nodata === 'nan' ? NaN : src.nodata;
  const nodata = nodataRaw !== undefined && src.dtype === 'float32' ? Math.fround(nodataRaw) : nodataRaw;
  const slices = Math.min(src.depth, MAX_SLICES);
  const zs = Array.from({ length: slices }, (_, i) => Math.floor(((i + 0.5) * src.depth) / slices));
  const blocks: ArrayLike<number>[] = [];
  for (const z of zs) {
    if (src.width * src.height > MAX_PLANE && src.readReduced) blocks.push((await src.readReduced({ channels: [0] }, 1024, 1024)).data);
    else blocks.push((await src.read({ z, depth: 1, channels: [0] })).data);
  }
  const total = blocks.reduce((n, b) => n + b.length, 0);
  const step = Math.max(1, Math.floor(total / MAX_SAMPLE));
  const out: number[] = [];
  let k = 0;
  for (const b of blocks) {
    for (let i = 0; i < b.length; i++, k++) {
      if (k % step !== 0) continue;
      const v = b[i]!;
      if (Number.isFinite(v) && v !== nodata) out.push(v);
    }
  }
  return Float64Array.from(out).sort();
}

export async function volumeWindows(src: ImageSource): Promise<ImageWindows> {
  const center = numberOf(src.meta.windowCenter);
  const width = numberOf(src.meta.windowWidth);
  const fileWindow = center !== undefined && width !== undefined && width > 0 ? { center, width } : undefined;
  const modality = typeof src.meta.modality === 'string' ? src.meta.modality : null;
  const windows = windowPresetsFor(modality, await sampleValues(src), fileWindow);
  const bandStats = await bandStatsInfo(src);
  // These images open on the per-band stretch (the engine's default), not on one window for all bands.
  return bandStats ? { ...windows, autoId: '', bandStats } : windows;
}
