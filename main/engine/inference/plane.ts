// One 2D plane through the model at the model's resolution: resample the normalised plane (and its validity mask)
// to the model grid when the plan says so, run the tiled inference there, and map the probabilities back to the
// image grid (bilinear), so callers always get K x H x W on the image's own pixels.
import type { Tensor4 } from './runtime';
import { modelGridSize, resampleBilinear, resampleMaskAny } from './resample';
import { planTiles, runTiled, type PlaneInput, type TiledRunOptions } from './tiling';

export interface PlaneResult {
  /** K x H x W probabilities on the image grid; empty (channels 0) when every tile was nodata. */
  data: Float32Array;
  channels: number;
  tiles: number;
  skipped: number;
}

/** Runs a plane, resampled by `factor` (model px per image px) when given. */
export async function runPlane(
  plane: PlaneInput,
  runBatch: (input: Tensor4) => Promise<Tensor4>,
  options: Omit<TiledRunOptions, 'valid'> & { valid?: Uint8Array | undefined; factor?: [number, number] | null },
): Promise<PlaneResult> {
  const { factor, valid, ...tiled } = options;
  if (!factor) return runTiled(plane, runBatch, { ...tiled, ...(valid ? { valid } : {}) });
  const { width: W, height: H, channels: C } = plane;
  const w2 = modelGridSize(W, factor[0]);
  const h2 = modelGridSize(H, factor[1]);
  const onModelGrid = resampleBilinear(plane.data, C, W, H, w2, h2);
  const valid2 = valid ? resampleMaskAny(valid, W, H, w2, h2) : undefined;
  const r = await runTiled({ data: onModelGrid, width: w2, height: h2, channels: C }, runBatch, { ...tiled, ...(valid2 ? { valid: valid2 } : {}) });
  if (r.channels === 0) return r;
  return { ...r, data: resampleBilinear(r.data, r.channels, w2, h2, W, H) };
}

/** Tiles a plane of W x H image pixels takes (on the model grid when resampled). */
export function countPlaneTiles(W: number, H: number, tileSize: [number, number], overlap: number, factor?: [number, number] | null): number {
  const w = factor ? modelGridSize(W, factor[0]) : W;
  const h = factor ? modelGridSize(H, factor[1]) : H;
  return planTiles(w, h, tileSize, overlap).origins.length;
}
