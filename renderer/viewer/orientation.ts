// Patient orientation letters at the edges of a view (A/P, R/L, S/I), from the image's direction cosines (LPS: +x
// of patient space is Left, +y Posterior, +z Superior). Each edge gets the letter of the patient axis its screen
// direction runs closest to, so an oblique acquisition still reads right: the dominant axis names it.
import type { SliceAxis } from '../../preload/api';

export type Vec3 = [number, number, number];

export interface OrientationLetters {
  top: string;
  bottom: string;
  left: string;
  right: string;
}

/** The patient direction a vector in LPS points to most: 'L'/'R', 'P'/'A' or 'S'/'I' ('' for a zero vector). */
export function directionLetter(v: Vec3): string {
  const [x, y, z] = v;
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const az = Math.abs(z);
  if (ax === 0 && ay === 0 && az === 0) return '';
  if (ax >= ay && ax >= az) return x > 0 ? 'L' : 'R';
  if (ay >= az) return y > 0 ? 'P' : 'A';
  return z > 0 ? 'S' : 'I';
}

const neg = (v: Vec3): Vec3 => [-v[0], -v[1], -v[2]];

/** The voxel axes' directions in LPS from the 9 direction numbers (x, y, z axes); identity when absent. */
function axesOf(direction: readonly number[] | undefined): [Vec3, Vec3, Vec3] {
  const d = direction && direction.length >= 9 ? direction : [1, 0, 0, 0, 1, 0, 0, 0, 1];
  const at = (i: number): number => (Number.isFinite(d[i]) ? (d[i] as number) : 0);
  return [
    [at(0), at(1), at(2)],
    [at(3), at(4), at(5)],
    [at(6), at(7), at(8)],
  ];
}

/**
 * Letters of a view of a volume. Axial: columns run along +x, rows along +y. Coronal: columns +x, rows +z (or -z
 * when `flipRows`: the engine puts the highest z at the top when z runs toward the head). Sagittal: columns +y,
 * rows as coronal.
 */
export function orientationLetters(direction: readonly number[] | undefined, axis: SliceAxis, flipRows = false): OrientationLetters {
  const [xAxis, yAxis, zAxis] = axesOf(direction);
  const right = axis === 'sagittal' ? yAxis : xAxis;
  const down = axis === 'axial' ? yAxis : flipRows ? neg(zAxis) : zAxis;
  return { right: directionLetter(right), left: directionLetter(neg(right)), bottom: directionLetter(down), top: directionLetter(neg(down)) };
}
