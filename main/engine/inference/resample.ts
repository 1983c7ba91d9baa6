// Resampling between the image grid and the model's grid when their resolutions differ (a 10 cm/px model on 30 cm
// imagery, a 1 mm/px model on 0.7 mm slices). Bilinear with pixel centres aligned (align_corners = false), so a
// window resampled to the model grid and its probabilities resampled back land on the same pixel centres.
// The factor is model pixels per image pixel: image resolution / model resolution (> 1 enlarges the image).
import type { Geometry, ModelManifest } from '../../../preload/formats';
import { gsdM } from '../measure/geodesy';

/** Relative resolution difference below which the image runs at its own resolution (resampling would only blur). */
export const RESAMPLE_TOLERANCE = 0.05;
/**
 * Largest enlargement: imagery much coarser than the model's training resolution (300 m Landsat under a 4.8 m
 * model) gains nothing from more interpolation, and enlarging it 60x would need gigabytes. Beyond this the image is
 * enlarged by this factor only and the result says so (`resampleCapped`).
 */
export const MAX_UPSAMPLE = 4;

export interface ResamplePlan {
  /** Model pixels per image pixel along x and y. */
  factor: [number, number];
  /** The image's resolution and the model's, in the model's unit. */
  imagePerPx: [number, number];
  modelPerPx: number;
  unit: 'm' | 'mm';
  /** True when the wanted enlargement exceeded MAX_UPSAMPLE and was limited to it. */
  capped?: boolean;
}

/**
 * Whether and how much to resample: geo images by their ground sample distance against `resolution.mPerPx`,
 * medical (and spaced) images by their in-plane spacing against `resolution.mmPerPx`. Null when the model states no
 * resolution, the image has none, or they agree within RESAMPLE_TOLERANCE.
 */
export function planResample(resolution: ModelManifest['resolution'], geometry: Geometry, width: number, height: number): ResamplePlan | null {
  if (!resolution) return null;
  let imagePerPx: [number, number] | null = null;
  let modelPerPx: number | null | undefined;
  let unit: 'm' | 'mm';
  if (geometry.type === 'geo') {
    modelPerPx = resolution.mPerPx;
    unit = 'm';
    // Without a CRS the geotransform's units are unknown: no resampling rather than a guess.
    const gsd = geometry.crs ? gsdM(geometry.geotransform, geometry.crs, width, height) : null;
    if (gsd !== null && gsd > 0) imagePerPx = [gsd, gsd];
  } else {
    modelPerPx = resolution.mmPerPx;
    unit = 'mm';
    const spacing = geometry.spacingMm;
    if (spacing && spacing[0] > 0 && spacing[1] > 0) imagePerPx = [spacing[0], spacing[1]];
  }
  if (!imagePerPx || !modelPerPx || !(modelPerPx > 0)) return null;
  const wanted: [number, number] = [imagePerPx[0] / modelPerPx, imagePerPx[1] / modelPerPx];
  if (Math.abs(wanted[0] - 1) <= RESAMPLE_TOLERANCE && Math.abs(wanted[1] - 1) <= RESAMPLE_TOLERANCE) return null;
  const capped = Math.max(wanted[0], wanted[1]) > MAX_UPSAMPLE;
  // Keep the aspect of the enlargement when capping, so anisotropic pixels stay anisotropic.
  const k = capped ? MAX_UPSAMPLE / Math.max(wanted[0], wanted[1]) : 1;
  const factor: [number, number] = [wanted[0] * k, wanted[1] * k];
  return { factor, imagePerPx, modelPerPx, unit, ...(capped ? { capped: true } : {}) };
}

/** Size of `n` image pixels on the model grid. */
export function modelGridSize(n: number, factor: number): number {
  return Math.max(1, Math.round(n * factor));
}

export interface AxisTaps {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float32Array;
}

/** For each destination index: the two source indices and the weight of the second (edge-clamped). */
export function axisTaps(src: number, dst: number): AxisTaps {
  const scale = src / dst;
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const w1 = new Float32Array(dst);
  for (let d = 0; d < dst; d++) {
    const s = Math.min(src - 1, Math.max(0, (d + 0.5) * scale - 0.5));
    const a = Math.floor(s);
    i0[d] = a;
    i1[d] = Math.min(src - 1, a + 1);
    w1[d] = s - a;
  }
  return { i0, i1, w1 };
}

/** Bilinear resampling of C planes (channel-planar, srcW x srcH each) to dstW x dstH. */
export function resampleBilinear(data: Float32Array, channels: number, srcW: number, srcH: number, dstW: number, dstH: number): Float32Array {
  if (srcW === dstW && srcH === dstH) return data;
  const tx = axisTaps(srcW, dstW);
  const ty = axisTaps(srcH, dstH);
  const out = new Float32Array(channels * dstW * dstH);
  // Horizontal pass per source row is shared by the output rows that read it: one row buffer each for y0 and y1.
  const rowA = new Float32Array(dstW);
  const rowB = new Float32Array(dstW);
  const lerpRow = (plane: number, y: number, row: Float32Array): void => {
    const base = plane + y * srcW;
    for (let x = 0; x < dstW; x++) {
      const a = data[base + tx.i0[x]!]!;
      row[x] = a + (data[base + tx.i1[x]!]! - a) * tx.w1[x]!;
    }
  };
  for (let c = 0; c < channels; c++) {
    const srcPlane = c * srcW * srcH;
    const dstPlane = c * dstW * dstH;
    let haveA = -1;
    let haveB = -1;
    for (let y = 0; y < dstH; y++) {
      const y0 = ty.i0[y]!;
      const y1 = ty.i1[y]!;
      if (haveA !== y0) {
        if (haveB === y0) rowA.set(rowB);
        else lerpRow(srcPlane, y0, rowA);
        haveA = y0;
      }
      if (haveB !== y1) {
        lerpRow(srcPlane, y1, rowB);
        haveB = y1;
      }
      const wy = ty.w1[y]!;
      const off = dstPlane + y * dstW;
      for (let x = 0; x < dstW; x++) out[off + x] = rowA[x]! + (rowB[x]! - rowA[x]!) * wy;
    }
  }
  return out;
}

/**
 * A validity mask (0 = invalid) on another grid: valid where any of the bilinear taps is valid, so a tile is skipped
 * on the model grid only when every image pixel it reads is invalid.
 */
export function resampleMaskAny(mask: Uint8Array, srcW: number, srcH: number, dstW: number, dstH: number): Uint8Array {
  if (srcW === dstW && srcH === dstH) return mask;
  const tx = axisTaps(srcW, dstW);
  const ty = axisTaps(srcH, dstH);
  const out = new Uint8Array(dstW * dstH);
  for (let y = 0; y < dstH; y++) {
    const r0 = ty.i0[y]! * srcW;
    const r1 = ty.i1[y]! * srcW;
    for (let x = 0; x < dstW; x++) {
      const a = tx.i0[x]!;
      const b = tx.i1[x]!;
      out[y * dstW + x] = mask[r0 + a] || mask[r0 + b] || mask[r1 + a] || mask[r1 + b] ? 1 : 0;
    }
  }
  return out;
}
