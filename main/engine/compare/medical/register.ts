// Registration of a follow-up volume onto the baseline with elastix (ITK's registration toolbox, compiled to
// WebAssembly by @itk-wasm/elastix: runs offline in Node, no native build). Multi-resolution, Mattes mutual
// information (works across scanners and contrasts), rigid (Euler) or affine. Volumes are handed over in patient LPS
// millimetres, so elastix's physical space is ours; elastix's transform maps baseline (fixed) points to follow-up
// (moving) points, and its inverse is what we report as followupToBaseline.
import type { MedicalGeometry, Vec3 } from '../../../../preload/formats';
import { InputError } from '../../image';
import { openImage } from '../../io/index';
import { IDENTITY4, apply4, centredAffine, eulerMatrix, invert4, mul4, voxelToLps, type Mat4 } from './affine';

/** One scalar volume on its own grid. */
export interface Volume3 {
  data: Float32Array;
  width: number;
  height: number;
  depth: number;
  geometry: MedicalGeometry;
}

export type RegisterMethod = 'rigid' | 'affine' | 'none';

export interface RegistrationResult {
  method: RegisterMethod;
  /** Row-major 4x4 mapping a follow-up LPS point to the baseline LPS point of the same anatomy. */
  followupToBaseline: Mat4;
  /** Mutual information (nats, 32x32 joint histogram) of baseline and resampled follow-up after registration. */
  metric: number;
  /** The same before registration (identity transform). */
  metricBefore: number;
  seconds: number;
}

/** Geometry as a medical grid: pixel stacks with a user spacing become an LPS-identity grid. */
export function medicalGeometry(g: { type: string; spacingMm?: Vec3; originMm?: Vec3; direction?: number[] }): MedicalGeometry {
  if (g.type === 'medical' && g.spacingMm && g.originMm && g.direction) return { type: 'medical', spacingMm: g.spacingMm, originMm: g.originMm, direction: g.direction };
  return { type: 'medical', spacingMm: g.spacingMm ?? [1, 1, 1], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
}

/** Channel 0 of an image as float32 on its medical grid. */
export async function loadVolume(file: string): Promise<Volume3> {
  const src = await openImage(file);
  try {
    if (src.kind === 'geo') throw new InputError(file, 'is a map (GeoTIFF), not a medical volume');
    const block = await src.read({ channels: [0] });
    const data = block.data instanceof Float32Array ? block.data : Float32Array.from(block.data);
    return { data, width: src.width, height: src.height, depth: src.depth, geometry: medicalGeometry(src.geometry as { type: string }) };
  } finally {
    await src.close();
  }
}

/**
 * Block-average to at most maxVoxels, shrinking the axis with the finest effective spacing first (so thick-slice
 * volumes keep their slices). The grid's voxel centres move to the block centres; LPS positions stay exact.
 */
export function downsample(v: Volume3, maxVoxels: number): Volume3 {
  const f = [1, 1, 1];
  const dims = [v.width, v.height, v.depth];
  const count = (): number => Math.ceil(dims[0]! / f[0]!) * Math.ceil(dims[1]! / f[1]!) * Math.ceil(dims[2]! / f[2]!);
  while (count() > maxVoxels) {
    let axis = -1;
    for (let a = 0; a < 3; a++) {
      if (dims[a]! / (f[a]! + 1) < 8) continue; // keep enough voxels on every axis for the pyramid
      if (axis < 0 || v.geometry.spacingMm[a]! * f[a]! < v.geometry.spacingMm[axis]! * f[axis]!) axis = a;
    }
    if (axis < 0) break;
    f[axis]!++;
  }
  if (f[0] === 1 && f[1] === 1 && f[2] === 1) return v;
  const [fx, fy, fz] = f as [number, number, number];
  const W = Math.floor(v.width / fx);
  const H = Math.floor(v.height / fy);
  const D = Math.floor(v.depth / fz);
  const out = new Float32Array(W * H * D);
  const inv = 1 / (fx * fy * fz);
  for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    let s = 0;
    for (let dz = 0; dz < fz; dz++) for (let dy = 0; dy < fy; dy++) {
      const row = ((z * fz + dz) * v.height + y * fy + dy) * v.width + x * fx;
      for (let dx = 0; dx < fx; dx++) s += v.data[row + dx]!;
    }
    out[(z * H + y) * W + x] = s * inv;
  }
  const g = v.geometry;
  const shift = apply4(voxelToLps(g), [(fx - 1) / 2, (fy - 1) / 2, (fz - 1) / 2]);
  return {
    data: out,
    width: W,
    height: H,
    depth: D,
    geometry: { type: 'medical', spacingMm: [g.spacingMm[0] * fx, g.spacingMm[1] * fy, g.spacingMm[2] * fz], originMm: shift, direction: g.direction.slice() },
  };
}

/** itk-wasm Image of a volume: origin/spacing in LPS mm; ITK's direction matrix is row-major with axes as columns. */
function toItkImage(v: Volume3, name: string): Record<string, unknown> {
  const d = v.geometry.direction;
  const direction = new Float64Array(9);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) direction[r * 3 + c] = d[c * 3 + r] ?? (r === c ? 1 : 0);
  return {
    imageType: { dimension: 3, componentType: 'float32', pixelType: 'Scalar', components: 1 },
    name,
    origin: [...v.geometry.originMm],
    spacing: [...v.geometry.spacingMm],
    direction,
    size: [v.width, v.height, v.depth],
    metadata: new Map(),
    data: v.data,
  };
}

type ParameterMap = Record<string, string[]>;

function numbers(map: ParameterMap, key: string): number[] {
  return (map[key] ?? []).map(Number);
}

/** elastix's fixed -> moving transform (one parameter map) as a 4x4 in physical (LPS) space. */
export function elastixMapToMatrix(map: ParameterMap): Mat4 {
  const name = map.Transform?.[0] ?? '';
  const p = numbers(map, 'TransformParameters');
  const centre = numbers(map, 'CenterOfRotationPoint');
  const c = centre.length === 3 ? centre : [0, 0, 0];
  if (name === 'EulerTransform') {
    const zyx = map.ComputeZYX?.[0] === 'true';
    return centredAffine(eulerMatrix(p[0]!, p[1]!, p[2]!, zyx), c, p.slice(3, 6));
  }
  if (name === 'AffineTransform') return centredAffine(p.slice(0, 9), c, p.slice(9, 12));
  if (name === 'TranslationTransform') return centredAffine([1, 0, 0, 0, 1, 0, 0, 0, 1], [0, 0, 0], p.slice(0, 3));
  throw new Error(`elastix returned an unsupported transform "${name}"`);
}

/** Mutual information (nats) of fixed and moving resampled (trilinear) through baselineToFollowup, over their overlap. */
export function mutualInformation(fixed: Volume3, moving: Volume3, baselineToFollowup: Mat4, bins = 32): number {
  const range = (a: Float32Array): [number, number] => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < a.length; i++) {
      const v = a[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return [lo, hi > lo ? hi : lo + 1];
  };
  const [flo, fhi] = range(fixed.data);
  const [mlo, mhi] = range(moving.data);
  const joint = new Float64Array(bins * bins);
  const m = mul4(invert4(voxelToLps(moving.geometry)), mul4(baselineToFollowup, voxelToLps(fixed.geometry)));
  let n = 0;
  const { width: W, height: H, depth: D } = fixed;
  for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) {
    const p = apply4(m, [0, y, z]);
    for (let x = 0; x < W; x++) {
      const mv = trilinear(moving, p[0] + m[0]! * x, p[1] + m[4]! * x, p[2] + m[8]! * x);
      if (mv === null) continue;
      const fv = fixed.data[(z * H + y) * W + x]!;
      const a = Math.min(bins - 1, Math.floor(((fv - flo) / (fhi - flo)) * bins));
      const b = Math.min(bins - 1, Math.floor(((mv - mlo) / (mhi - mlo)) * bins));
      joint[a * bins + b]!++;
      n++;
    }
  }
  if (n === 0) return 0;
  const pa = new Float64Array(bins);
  const pb = new Float64Array(bins);
  for (let a = 0; a < bins; a++) for (let b = 0; b < bins; b++) {
    pa[a]! += joint[a * bins + b]! / n;
    pb[b]! += joint[a * bins + b]! / n;
  }
  let mi = 0;
  for (let a = 0; a < bins; a++) for (let b = 0; b < bins; b++) {
    const p = joint[a * bins + b]! / n;
    if (p > 0) mi += p * Math.log(p / (pa[a]! * pb[b]!));
  }
  return mi;
}

/** Trilinear sample at continuous voxel coordinates; null outside the volume (beyond half a voxel of the edge). */
export function trilinear(v: Volume3, x: number, y: number, z: number): number | null {
  const { width: W, height: H, depth: D, data } = v;
  if (x < -0.5 || y < -0.5 || z < -0.5 || x > W - 0.5 || y > H - 0.5 || z > D - 0.5) return null;
  const cx = Math.min(Math.max(x, 0), W - 1);
  const cy = Math.min(Math.max(y, 0), H - 1);
  const cz = Math.min(Math.max(z, 0), D - 1);
  const x0 = Math.min(Math.floor(cx), Math.max(0, W - 2));
  const y0 = Math.min(Math.floor(cy), Math.max(0, H - 2));
  const z0 = Math.min(Math.floor(cz), Math.max(0, D - 2));
  const x1 = Math.min(x0 + 1, W - 1);
  const y1 = Math.min(y0 + 1, H - 1);
  const z1 = Math.min(z0 + 1, D - 1);
  const tx = cx - x0;
  const ty = cy - y0;
  const tz = cz - z0;
  const at = (xx: number, yy: number, zz: number): number => data[(zz * H + yy) * W + xx]!;
  const c00 = at(x0, y0, z0) * (1 - tx) + at(x1, y0, z0) * tx;
  const c10 = at(x0, y1, z0) * (1 - tx) + at(x1, y1, z0) * tx;
  const c01 = at(x0, y0, z1) * (1 - tx) + at(x1, y0, z1) * tx;
  const c11 = at(x0, y1, z1) * (1 - tx) + at(x1, y1, z1) * tx;
  return (c00 * (1 - ty) + c10 * ty) * (1 - tz) + (c01 * (1 - ty) + c11 * ty) * tz;
}

export interface RegisterOptions {
  /**
   * Volumes above this many voxels are block-averaged first (default 500k): elastix samples 2048 points per
   * iteration, so accuracy does not need more, while its pyramid and set-up time grow with the voxels (a 256x256x24
   * pair: 27 s at full size, 15 s at 128x128x24 on a loaded 2-core machine, the same 0.03 mm on synthetic motion).
   */
  maxVoxels?: number;
  signal?: AbortSignal;
}

type ElastixModule = typeof import('@itk-wasm/elastix');

let elastixModule: Promise<ElastixModule> | null = null;

/** The ESM-only elastix package, loaded once on first use (registration is optional: `none` never loads it). */
function loadElastix(): Promise<ElastixModule> {
  elastixModule ??= import('@itk-wasm/elastix');
  return elastixModule;
}

/** Registers moving (follow-up) onto fixed (baseline). */
export async function registerVolumes(fixed: Volume3, moving: Volume3, method: RegisterMethod, options: RegisterOptions = {}): Promise<RegistrationResult> {
  const t0 = performance.now();
  const maxVoxels = options.maxVoxels ?? 500_000;
  const f = downsample(fixed, maxVoxels);
  const m = downsample(moving, maxVoxels);
  const metricBefore = mutualInformation(f, m, IDENTITY4);
  if (method === 'none') {
    return { method, followupToBaseline: IDENTITY4.slice(), metric: metricBefore, metricBefore, seconds: (performance.now() - t0) / 1000 };
  }
  options.signal?.throwIfAborted();
  const { defaultParameterMapNode, elastixNode } = await loadElastix();
  const minDim = Math.min(f.width, f.height, f.depth);
  const levels = minDim >= 64 ? 4 : minDim >= 24 ? 3 : 2;
  const { parameterMap } = await defaultParameterMapNode(method === 'affine' ? 'affine' : 'rigid', { numberOfResolutions: levels });
  const map = parameterMap as ParameterMap;
  // elastix's defaults (2048 samples) recover synthetic motion to ~0.02 mm; a few more iterations for larger motion.
  map.NumberOfSpatialSamples = ['2048'];
  map.MaximumNumberOfIterations = ['250'];
  map.WriteResultImage = ['false'];
  map.ResultImageFormat = ['nii'];
  const result = await elastixNode([map], { fixed: toItkImage(f, 'baseline') as never, moving: toItkImage(m, 'followup') as never });
  options.signal?.throwIfAborted();
  const maps = result.transformParameterObject as unknown as ParameterMap[];
  // One map in, one map out; compose in order should elastix ever return more (fixed -> moving, first applied last).
  let baselineToFollowup = IDENTITY4.slice();
  for (const pm of maps) baselineToFollowup = mul4(elastixMapToMatrix(pm), baselineToFollowup);
  const followupToBaseline = invert4(baselineToFollowup);
  const metric = mutualInformation(f, m, baselineToFollowup);
  return { method, followupToBaseline, metric, metricBefore, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Nearest-neighbour resampling of a label/instance map from its own grid onto a target grid through
 * targetToSource (LPS -> LPS). Voxels that fall outside the source are set to `outside` and flagged in `inside`.
 */
export function resampleNearest(
  src: { data: ArrayLike<number>; width: number; height: number; depth: number; geometry: MedicalGeometry },
  target: { width: number; height: number; depth: number; geometry: MedicalGeometry },
  targetToSource: Mat4,
  outside = 0,
): { data: Uint32Array; inside: Uint8Array } {
  const m = mul4(invert4(voxelToLps(src.geometry)), mul4(targetToSource, voxelToLps(target.geometry)));
  const { width: W, height: H, depth: D } = target;
  const data = new Uint32Array(W * H * D);
  const inside = new Uint8Array(W * H * D);
  const sw = src.width;
  const sh = src.height;
  const sd = src.depth;
  for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) {
    // Row start and per-x step: the map is affine, so one add per voxel.
    const p = apply4(m, [0, y, z]);
    const dx = [m[0]!, m[4]!, m[8]!];
    let i = (z * H + y) * W;
    for (let x = 0; x < W; x++, i++) {
      const sx = Math.round(p[0] + dx[0]! * x);
      const sy = Math.round(p[1] + dx[1]! * x);
      const sz = Math.round(p[2] + dx[2]! * x);
      if (sx < 0 || sy < 0 || sz < 0 || sx >= sw || sy >= sh || sz >= sd) {
        data[i] = outside;
        continue;
      }
      inside[i] = 1;
      data[i] = src.data[(sz * sh + sy) * sw + sx]!;
    }
  }
  return { data, inside };
}

/** Trilinear resampling of a volume onto a target grid through targetToSource (LPS -> LPS); 0 outside. */
export function resampleLinear(src: Volume3, target: { width: number; height: number; depth: number; geometry: MedicalGeometry }, targetToSource: Mat4): Volume3 {
  const m = mul4(invert4(voxelToLps(src.geometry)), mul4(targetToSource, voxelToLps(target.geometry)));
  const { width: W, height: H, depth: D } = target;
  const data = new Float32Array(W * H * D);
  let i = 0;
  for (let z = 0; z < D; z++) for (let y = 0; y < H; y++) {
    const p = apply4(m, [0, y, z]);
    for (let x = 0; x < W; x++, i++) data[i] = trilinear(src, p[0] + m[0]! * x, p[1] + m[4]! * x, p[2] + m[8]! * x) ?? 0;
  }
  return { data, width: W, height: H, depth: D, geometry: target.geometry };
}
