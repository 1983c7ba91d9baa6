// Synthetic FLAIR cases made from real LGG patients of ../shared/data/tumor-lgg-flair (slice PNGs + expert masks):
// the patient as one NIfTI volume with a nominal spacing, its lesion grown or shrunk in-plane by a known area
// factor (image and mask warped alike), and a real lesion of another patient pasted into a lesion-free region.
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import type { MedicalGeometry } from '../../preload/formats';
import { writeNifti } from '../../main/engine/io/nifti';
import { connectedComponents } from '../../main/engine/postprocess/components';

/** The slices' spacing is unknown (the data set's authors resampled them): 1 x 1 mm in-plane, 3 mm slices. */
export const FLAIR_GEOMETRY: MedicalGeometry = { type: 'medical', spacingMm: [1, 1, 3], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };

export interface FlairCase {
  width: number;
  height: number;
  depth: number;
  /** FLAIR values (0..255 as in the PNGs), x fastest, then y, then z. */
  image: Float32Array;
  /** Expert mask (1 = FLAIR abnormality). */
  mask: Uint8Array;
}

function band0(file: string): { data: Uint8Array; width: number; height: number } {
  const png = PNG.sync.read(readFileSync(file));
  const stride = png.data.length / (png.width * png.height);
  const data = new Uint8Array(png.width * png.height);
  for (let i = 0; i < data.length; i++) data[i] = png.data[i * stride]!;
  return { data, width: png.width, height: png.height };
}

/** One patient folder (NNN_image.png + NNN_mask.png) as a volume, slices in file-name order. */
export function loadFlairPatient(dir: string): FlairCase {
  const images = readdirSync(dir).filter((n) => /^\d+_image\.png$/.test(n)).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  if (images.length === 0) throw new Error(`${dir}: no NNN_image.png slices`);
  const first = band0(path.join(dir, images[0]!));
  const { width, height } = first;
  const plane = width * height;
  const image = new Float32Array(plane * images.length);
  const mask = new Uint8Array(plane * images.length);
  images.forEach((name, z) => {
    const img = z === 0 ? first : band0(path.join(dir, name));
    const msk = band0(path.join(dir, name.replace('_image', '_mask')));
    for (let i = 0; i < plane; i++) {
      image[z * plane + i] = img.data[i]!;
      mask[z * plane + i] = msk.data[i]! > 0 ? 1 : 0;
    }
  });
  return { width, height, depth: images.length, image, mask };
}

/** Writes a volume as NIfTI with FLAIR_GEOMETRY (values rounded to uint8, as the source slices were). */
export async function writeFlairNifti(file: string, c: { width: number; height: number; depth: number }, data: Float32Array | Uint8Array): Promise<void> {
  const out = Uint8Array.from(data, (v) => Math.max(0, Math.min(255, Math.round(v))));
  await writeNifti(file, { data: out, width: c.width, height: c.height, depth: c.depth, channels: 1, geometry: FLAIR_GEOMETRY });
}

export function countVoxels(mask: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  return n;
}

function bilinear(src: Float32Array | Uint8Array, W: number, H: number, z: number, x: number, y: number): number {
  if (x < 0 || y < 0 || x > W - 1 || y > H - 1) return 0;
  const x0 = Math.min(W - 2, Math.floor(x));
  const y0 = Math.min(H - 2, Math.floor(y));
  const fx = x - x0;
  const fy = y - y0;
  const o = z * W * H;
  const a = src[o + y0 * W + x0]!;
  const b = src[o + y0 * W + x0 + 1]!;
  const c = src[o + (y0 + 1) * W + x0]!;
  const d = src[o + (y0 + 1) * W + x0 + 1]!;
  return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
}

/**
 * The lesion grown (areaFactor > 1) or shrunk (< 1) in-plane about its centroid: inside radius a (the lesion's
 * farthest voxel from the centroid, scaled) every point takes the content at 1/sqrt(areaFactor) of its distance;
 * beyond b nothing moves; between them the source radius runs linearly, so the surrounding brain is squeezed or
 * stretched without a seam. Image bilinear, mask nearest: the mask's voxel count is the truth of the change.
 */
export function scaleLesion(c: FlairCase, areaFactor: number, rampPx = 20): FlairCase {
  const { width: W, height: H, depth: D } = c;
  const s = Math.sqrt(areaFactor);
  let cx = 0;
  let cy = 0;
  let n = 0;
  for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (c.mask[(z * H + y) * W + x]) {
    cx += x;
    cy += y;
    n++;
  }
  if (n === 0) throw new Error('scaleLesion: the mask is empty');
  cx /= n;
  cy /= n;
  let rMax = 0;
  for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (c.mask[(z * H + y) * W + x]) rMax = Math.max(rMax, Math.hypot(x - cx, y - cy));
  const a = (rMax + 1) * s;
  const b = Math.max(a, rMax + 1) + rampPx;
  // Source radius of a target radius r: r / s inside a, r beyond b, linear between (a / s at a, b at b).
  const srcRadius = (r: number): number => (r <= a ? r / s : r >= b ? r : a / s + ((r - a) * (b - a / s)) / (b - a));
  const image = Float32Array.from(c.image);
  const mask = c.mask.slice();
  for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const r = Math.hypot(x - cx, y - cy);
    if (r >= b) continue;
    const k = r > 0 ? srcRadius(r) / r : 1 / s;
    const sx = cx + (x - cx) * k;
    const sy = cy + (y - cy) * k;
    const i = (z * H + y) * W + x;
    image[i] = bilinear(c.image, W, H, z, sx, sy);
    const nx = Math.round(sx);
    const ny = Math.round(sy);
    mask[i] = nx >= 0 && ny >= 0 && nx < W && ny < H ? c.mask[(z * H + ny) * W + nx]! : 0;
  }
  return { width: W, height: H, depth: D, image, mask };
}

/** The 99th percentile of the nonzero voxels (the scale the model's normalisation uses). */
function p99(image: Float32Array): number {
  const nz = image.filter((v) => v > 0).sort();
  return nz.length ? nz[Math.floor(0.99 * (nz.length - 1))]! : 1;
}

/** Voxels within `radius` pixels in-plane of `mask` (the mask dilated by a disc). */
function nearWithin(mask: Uint8Array, W: number, H: number, D: number, radius: number): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    if (!mask[(z * H + y) * W + x]) continue;
    for (let dy = -radius; dy <= radius; dy++) for (let dx = -radius; dx <= radius; dx++) {
      const nx = x + dx;
      const ny = y + dy;
      if (nx < 0 || ny < 0 || nx >= W || ny >= H || dx * dx + dy * dy > radius * radius) continue;
      out[(z * H + ny) * W + nx] = 1;
    }
  }
  return out;
}

export interface PastedLesion extends FlairCase {
  /** The pasted lesion alone. */
  pasted: Uint8Array;
  /** Where its bounding box's corner went: [dx, dy, dz] voxels from the donor's. */
  offset: [number, number, number];
}

/**
 * A donor's largest lesion pasted into the recipient where it lies wholly inside the head and at least
 * `clearancePx` from the recipient's own lesion: the donor's lesion and a 4-pixel rim, its values scaled by the two
 * volumes' 99th percentiles, blended in over the rim so no box edge shows. The recipient's mask gains the lesion.
 * Candidates are tried on a fixed grid, mirrored side first, so the outcome is the same on every run.
 */
export function pasteLesion(recipient: FlairCase, donor: FlairCase, clearancePx = 12): PastedLesion {
  const { width: W, height: H, depth: D } = recipient;
  if (donor.width !== W || donor.height !== H) throw new Error('pasteLesion: donor and recipient slices differ in size');
  const cc = connectedComponents({ labels: donor.mask, width: W, height: H, depth: donor.depth, nodataLabel: 255, connectivity: 26 });
  const big = cc.stats.reduce((best, s) => (s.pixelCount > best.pixelCount ? s : best));
  const lesion = Uint8Array.from(cc.instances, (id) => (id === big.id ? 1 : 0));
  const rim = 4;
  const [x0, y0, z0] = big.min;
  const [x1, y1, z1] = big.max;
  const bw = x1 - x0 + 1 + 2 * rim;
  const bh = y1 - y0 + 1 + 2 * rim;
  const bd = z1 - z0 + 1;
  if (bd > D) throw new Error('pasteLesion: the donor lesion spans more slices than the recipient has');
  // Blend weight: 1 on the lesion, falling linearly to 0 over the rim.
  const alpha = new Float32Array(bw * bh * bd);
  for (let z = 0; z < bd; z++) for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) {
    let best = rim + 1;
    for (let dy = -rim; dy <= rim; dy++) for (let dx = -rim; dx <= rim; dx++) {
      const sx = x0 - rim + x + dx;
      const sy = y0 - rim + y + dy;
      if (sx < 0 || sy < 0 || sx >= W || sy >= H) continue;
      if (lesion[((z0 + z) * H + sy) * W + sx]) best = Math.min(best, Math.hypot(dx, dy));
    }
    alpha[(z * bh + y) * bw + x] = best > rim ? 0 : 1 - best / (rim + 1);
  }
  const scale = p99(recipient.image) / p99(donor.image);
  const head = p99(recipient.image) * 0.1;
  const keepOut = nearWithin(recipient.mask, W, H, D, clearancePx);
  // Recipient lesion centroid: try the other side of the head first.
  let rcx = 0;
  let n = 0;
  for (let i = 0; i < recipient.mask.length; i++) if (recipient.mask[i]) {
    rcx += i % W;
    n++;
  }
  const mirrorLeft = n > 0 && rcx / n > W / 2;
  const xs: number[] = [];
  for (let x = 0; x + bw <= W; x += 8) xs.push(x);
  if (!mirrorLeft) xs.reverse();
  const midZ = Math.floor((D - bd) / 2);
  const zs = [midZ, midZ - 2, midZ + 2, midZ - 4, midZ + 4].filter((z) => z >= 0 && z + bd <= D);
  for (const tz of zs) for (const tx of xs) for (let ty = 0; ty + bh <= H; ty += 8) {
    let fits = true;
    for (let z = 0; z < bd && fits; z++) for (let y = 0; y < bh && fits; y++) for (let x = 0; x < bw && fits; x++) {
      if (alpha[(z * bh + y) * bw + x] === 0) continue;
      const i = ((tz + z) * H + ty + y) * W + tx + x;
      if (keepOut[i] || recipient.image[i]! < head) fits = false;
    }
    if (!fits) continue;
    const image = Float32Array.from(recipient.image);
    const mask = recipient.mask.slice();
    const pasted = new Uint8Array(mask.length);
    for (let z = 0; z < bd; z++) for (let y = 0; y < bh; y++) for (let x = 0; x < bw; x++) {
      const w = alpha[(z * bh + y) * bw + x]!;
      if (w === 0) continue;
      const i = ((tz + z) * H + ty + y) * W + tx + x;
      const j = ((z0 + z) * H + y0 - rim + y) * W + x0 - rim + x;
      image[i] = w * donor.image[j]! * scale + (1 - w) * image[i]!;
      if (lesion[j]) {
        mask[i] = 1;
        pasted[i] = 1;
      }
    }
    return { width: W, height: H, depth: D, image, mask, pasted, offset: [tx - (x0 - rim), ty - (y0 - rim), tz - z0] };
  }
  throw new Error('pasteLesion: no place inside the head away from the recipient lesion');
}
