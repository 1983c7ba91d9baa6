// 4x4 homogeneous transforms (flat, row-major, 16 numbers) between voxel indices and patient LPS millimetres, and
// the elastix transform parameterisations turned into such matrices. Everything the comparison reports
// (followupToBaseline) and every resampling it does goes through these few functions.
import type { MedicalGeometry, Vec3 } from '../../../../preload/formats';

/** Row-major 4x4: m[r * 4 + c]. */
export type Mat4 = number[];

export const IDENTITY4: Mat4 = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

export function mul4(a: Mat4, b: Mat4): Mat4 {
  const out = new Array<number>(16).fill(0);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) {
    let s = 0;
    for (let k = 0; k < 4; k++) s += a[r * 4 + k]! * b[k * 4 + c]!;
    out[r * 4 + c] = s;
  }
  return out;
}

/** Inverse by Gauss-Jordan elimination with partial pivoting; throws on a singular matrix. */
export function invert4(m: Mat4): Mat4 {
  const a = m.slice();
  const inv = IDENTITY4.slice();
  for (let col = 0; col < 4; col++) {
    let pivot = col;
    for (let r = col + 1; r < 4; r++) if (Math.abs(a[r * 4 + col]!) > Math.abs(a[pivot * 4 + col]!)) pivot = r;
    const p = a[pivot * 4 + col]!;
    if (Math.abs(p) < 1e-12) throw new RangeError('singular transform');
    if (pivot !== col) {
      for (let c = 0; c < 4; c++) {
        [a[col * 4 + c], a[pivot * 4 + c]] = [a[pivot * 4 + c]!, a[col * 4 + c]!];
        [inv[col * 4 + c], inv[pivot * 4 + c]] = [inv[pivot * 4 + c]!, inv[col * 4 + c]!];
      }
    }
    for (let c = 0; c < 4; c++) {
      a[col * 4 + c] = a[col * 4 + c]! / p;
      inv[col * 4 + c] = inv[col * 4 + c]! / p;
    }
    for (let r = 0; r < 4; r++) {
      if (r === col) continue;
      const f = a[r * 4 + col]!;
      if (f === 0) continue;
      for (let c = 0; c < 4; c++) {
        a[r * 4 + c] = a[r * 4 + c]! - f * a[col * 4 + c]!;
        inv[r * 4 + c] = inv[r * 4 + c]! - f * inv[col * 4 + c]!;
      }
    }
  }
  return inv;
}

export function apply4(m: Mat4, p: ArrayLike<number>): Vec3 {
  const x = p[0]!;
  const y = p[1]!;
  const z = p[2]!;
  return [
    m[0]! * x + m[1]! * y + m[2]! * z + m[3]!,
    m[4]! * x + m[5]! * y + m[6]! * z + m[7]!,
    m[8]! * x + m[9]! * y + m[10]! * z + m[11]!,
  ];
}

/** Voxel index (x, y, z) -> LPS mm: origin + sum_j direction_j * spacing_j * index_j. */
export function voxelToLps(g: MedicalGeometry): Mat4 {
  const m = IDENTITY4.slice();
  for (let row = 0; row < 3; row++) {
    for (let col = 0; col < 3; col++) m[row * 4 + col] = (g.direction[col * 3 + row] ?? (row === col ? 1 : 0)) * g.spacingMm[col]!;
    m[row * 4 + 3] = g.originMm[row]!;
  }
  return m;
}

/** Affine p -> A (p - c) + c + t as a 4x4, A row-major 3x3 (elastix/ITK MatrixOffsetTransformBase). */
export function centredAffine(a: ArrayLike<number>, centre: ArrayLike<number>, translation: ArrayLike<number>): Mat4 {
  const m = IDENTITY4.slice();
  for (let r = 0; r < 3; r++) {
    let off = centre[r]! + translation[r]!;
    for (let c = 0; c < 3; c++) {
      m[r * 4 + c] = a[r * 3 + c]!;
      off -= a[r * 3 + c]! * centre[c]!;
    }
    m[r * 4 + 3] = off;
  }
  return m;
}

/**
 * ITK Euler3DTransform rotation for angles (rx, ry, rz) in radians: Rz * Rx * Ry when computeZYX is false (ITK's
 * and elastix's default), Rz * Ry * Rx when true. Row-major 3x3.
 */
export function eulerMatrix(rx: number, ry: number, rz: number, computeZYX = false): number[] {
  const [cx, sx, cy, sy, cz, sz] = [Math.cos(rx), Math.sin(rx), Math.cos(ry), Math.sin(ry), Math.cos(rz), Math.sin(rz)];
  const X = [1, 0, 0, 0, cx, -sx, 0, sx, cx];
  const Y = [cy, 0, sy, 0, 1, 0, -sy, 0, cy];
  const Z = [cz, -sz, 0, sz, cz, 0, 0, 0, 1];
  const m3 = (a: number[], b: number[]): number[] => {
    const o = new Array<number>(9).fill(0);
    for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) o[r * 3 + c]! += a[r * 3 + k]! * b[k * 3 + c]!;
    return o;
  };
  return computeZYX ? m3(m3(Z, Y), X) : m3(m3(Z, X), Y);
}

/** Largest distance (mm) between where two transforms send the given points. */
export function maxPointError(a: Mat4, b: Mat4, points: ArrayLike<number>[]): number {
  let worst = 0;
  for (const p of points) {
    const u = apply4(a, p);
    const v = apply4(b, p);
    worst = Math.max(worst, Math.hypot(u[0] - v[0], u[1] - v[1], u[2] - v[2]));
  }
  return worst;
}
