// Helpers of the medical comparison tests: synthetic motion applied to a volume (image trilinear, masks nearest),
// head masks (threshold, opening, largest component, holes filled) and Dice.
import type { MedicalGeometry, Vec3 } from '../../preload/formats';
import { apply4, centredAffine, eulerMatrix, voxelToLps, type Mat4 } from '../../main/engine/compare/medical/affine';
import { resampleLinear, resampleNearest, type Volume3 } from '../../main/engine/compare/medical/register';
import { connectedComponents } from '../../main/engine/postprocess/components';

export const DEG = Math.PI / 180;

/** LPS centre of a grid (the centre of its middle voxel). */
export function gridCentre(v: { width: number; height: number; depth: number; geometry: MedicalGeometry }): Vec3 {
  return apply4(voxelToLps(v.geometry), [(v.width - 1) / 2, (v.height - 1) / 2, (v.depth - 1) / 2]);
}

/** A rigid follow-up -> baseline transform: rotation (degrees, ITK Euler ZXY) about `centre`, then a shift (mm). */
export function rigidMotion(anglesDeg: Vec3, shiftMm: Vec3, centre: Vec3): Mat4 {
  return centredAffine(eulerMatrix(anglesDeg[0] * DEG, anglesDeg[1] * DEG, anglesDeg[2] * DEG), centre, shiftMm);
}

/** The follow-up as the baseline anatomy seen through followupToBaseline, on the same grid (image linear, mask nearest). */
export function moveVolume(image: Volume3, mask: Uint8Array, followupToBaseline: Mat4): { image: Volume3; mask: Uint8Array } {
  const moved = resampleLinear(image, image, followupToBaseline);
  const m = resampleNearest({ data: mask, width: image.width, height: image.height, depth: image.depth, geometry: image.geometry }, image, followupToBaseline);
  return { image: moved, mask: Uint8Array.from(m.data) };
}

/** The eight points (+-40, +-40, +-15) mm from a centre. */
export function cornerPoints(centre: Vec3): Vec3[] {
  const out: Vec3[] = [];
  for (const sx of [-40, 40]) for (const sy of [-40, 40]) for (const sz of [-15, 15]) out.push([centre[0] + sx, centre[1] + sy, centre[2] + sz]);
  return out;
}

export function dice(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let inter = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ? 1 : 0;
    const y = b[i] ? 1 : 0;
    inter += x & y;
    na += x;
    nb += y;
  }
  return na + nb === 0 ? 1 : (2 * inter) / (na + nb);
}

/** Otsu threshold over a 256-bin histogram of the values. */
export function otsu(data: ArrayLike<number>): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    lo = Math.min(lo, data[i]!);
    hi = Math.max(hi, data[i]!);
  }
  const bins = 256;
  const hist = new Float64Array(bins);
  const w = (hi - lo) / bins || 1;
  for (let i = 0; i < data.length; i++) hist[Math.min(bins - 1, Math.floor((data[i]! - lo) / w))]!++;
  const total = data.length;
  let sumAll = 0;
  for (let b = 0; b < bins; b++) sumAll += b * hist[b]!;
  let wB = 0;
  let sumB = 0;
  let best = 0;
  let bestVar = -1;
  for (let b = 0; b < bins; b++) {
    wB += hist[b]!;
    if (wB === 0 || wB === total) continue;
    sumB += b * hist[b]!;
    const mB = sumB / wB;
    const mF = (sumAll - sumB) / (total - wB);
    const between = wB * (total - wB) * (mB - mF) ** 2;
    if (between > bestVar) {
      bestVar = between;
      best = b;
    }
  }
  return lo + (best + 1) * w;
}

/** In-plane 3x3 erosion (dilate = false) or dilation of every slice. */
function morph2d(mask: Uint8Array, W: number, H: number, D: number, dilate: boolean): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    let v = dilate ? 0 : 1;
    for (let dy = -1; dy <= 1 && v === (dilate ? 0 : 1); dy++) for (let dx = -1; dx <= 1; dx++) {
      const nx = x + dx;
      const ny = y + dy;
      const inside = nx >= 0 && ny >= 0 && nx < W && ny < H;
      const m = inside ? mask[(z * H + ny) * W + nx]! : 0;
      if (dilate && m) {
        v = 1;
        break;
      }
      if (!dilate && !m) {
        v = 0;
        break;
      }
    }
    out[(z * H + y) * W + x] = v;
  }
  return out;
}

/**
 * Head vs air: 10% of the 99th percentile. Otsu over the whole volume splits tissue classes of T1 post-contrast
 * scans rather than head from air (head-mask Dice 0.90-0.95 with it on longitudinal-gbm-t1c, 0.95-0.98 with this).
 */
export function airThreshold(v: Volume3): number {
  const sorted = Float32Array.from(v.data).sort();
  return 0.1 * sorted[Math.floor(0.99 * (sorted.length - 1))]!;
}

/** Head mask: threshold (airThreshold), in-plane opening, largest 3D component, holes filled slice by slice. */
export function headMask(v: Volume3, threshold = airThreshold(v)): Uint8Array {
  const { width: W, height: H, depth: D } = v;
  let m: Uint8Array = Uint8Array.from(v.data, (x) => (x > threshold ? 1 : 0));
  m = morph2d(morph2d(m, W, H, D, false), W, H, D, true);
  const cc = connectedComponents({ labels: m, width: W, height: H, depth: D, nodataLabel: 255, connectivity: 26 });
  let largest = 0;
  let most = 0;
  for (const s of cc.stats) if (s.pixelCount > most) {
    most = s.pixelCount;
    largest = s.id;
  }
  const out = Uint8Array.from(cc.instances, (id) => (id === largest && largest > 0 ? 1 : 0));
  // Holes: background not reachable from the slice border.
  const seen = new Uint8Array(W * H);
  const stack: number[] = [];
  for (let z = 0; z < D; z++) {
    seen.fill(0);
    const base = z * W * H;
    const push = (i: number): void => {
      if (!seen[i] && !out[base + i]) {
        seen[i] = 1;
        stack.push(i);
      }
    };
    for (let x = 0; x < W; x++) {
      push(x);
      push((H - 1) * W + x);
    }
    for (let y = 0; y < H; y++) {
      push(y * W);
      push(y * W + W - 1);
    }
    while (stack.length > 0) {
      const i = stack.pop()!;
      const x = i % W;
      const y = (i - x) / W;
      if (x > 0) push(i - 1);
      if (x < W - 1) push(i + 1);
      if (y > 0) push(i - W);
      if (y < H - 1) push(i + W);
    }
    for (let i = 0; i < W * H; i++) if (!seen[i]) out[base + i] = 1;
  }
  return out;
}

export function count(mask: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  return n;
}

/** 2D (in-plane) 3x3 dilation or erosion of a binary mask, repeated. */
export function morph(mask: Uint8Array, W: number, H: number, D: number, dilate: boolean, times: number): Uint8Array {
  let cur = mask;
  for (let t = 0; t < times; t++) {
    const out = new Uint8Array(cur.length);
    for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      let any = false;
      let all = true;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
        const nx = x + dx;
        const ny = y + dy;
        const v = nx >= 0 && ny >= 0 && nx < W && ny < H ? cur[(z * H + ny) * W + nx]! : 0;
        any ||= v === 1;
        all &&= v === 1;
      }
      out[(z * H + y) * W + x] = dilate ? (any ? 1 : 0) : all ? 1 : 0;
    }
    cur = out;
  }
  return cur;
}

/** The volumetric rule applied to known volumes (the truth the comparison must reproduce). */
export function volumetricTruth(v0: number, v1: number, newLesion: boolean): string {
  if (newLesion || v1 >= 1.4 * v0) return 'PD';
  if (v1 === 0) return 'CR';
  if (v1 <= 0.35 * v0) return 'PR';
  return 'SD';
}
