// Plane layout of axial, coronal and sagittal slices of a volume: which voxel each plane pixel shows, which way
// up, how big a plane pixel is, and the preview size. Image slices (slice.ts) and result maps (results/store.ts)
// both use it, so a reformatted image and its instance map line up pixel for pixel.
import type { SliceAxis } from '../../../preload/api';
import type { Geometry } from '../../../preload/formats';

export interface PlaneLayout {
  axis: SliceAxis;
  /** Full-resolution plane size: columns and rows. */
  width: number;
  height: number;
  /** Slices along the axis (depth for axial, height for coronal, width for sagittal). */
  count: number;
  /** Row 0 is the last voxel along the row axis (coronal/sagittal: the highest z, shown at the top). */
  flipRows: boolean;
  /** [column, row] mm of a plane pixel, when the geometry has a spacing. */
  spacingMm?: [number, number];
  /** Volume index (x + y*W + z*W*H) of plane pixel (col, row) on slice `index`. */
  voxel(index: number, col: number, row: number): number;
}

/** Voxel spacing [x, y, z] in mm, if the geometry has one. */
function spacingOf(geometry: Geometry): [number, number, number] | undefined {
  if (geometry.type === 'medical') return geometry.spacingMm;
  if (geometry.type === 'pixel' && geometry.spacingMm) return geometry.spacingMm;
  return undefined;
}

/**
 * Whether increasing z runs toward the patient's head: then the highest z belongs at the top of a coronal or
 * sagittal view (radiological habit). Read from the z axis' LPS direction, not assumed: a series stored
 * head-to-foot has z running inferior and needs no flip. Without patient geometry (stacks), z is taken as up.
 */
export function zRunsSuperior(geometry: Geometry): boolean {
  if (geometry.type !== 'medical' || geometry.direction.length < 9) return true;
  return (geometry.direction[8] ?? 1) >= 0;
}

export function planeLayout(dims: { width: number; height: number; depth: number }, geometry: Geometry, axis: SliceAxis = 'axial'): PlaneLayout {
  const { width: W, height: H, depth: D } = dims;
  const sp = spacingOf(geometry);
  const plane = W * H;
  if (axis === 'axial') {
    return { axis, width: W, height: H, count: D, flipRows: false, ...(sp ? { spacingMm: [sp[0], sp[1]] as [number, number] } : {}), voxel: (z, x, y) => z * plane + y * W + x };
  }
  const flip = zRunsSuperior(geometry);
  const zOf = (row: number) => (flip ? D - 1 - row : row);
  if (axis === 'coronal') {
    return { axis, width: W, height: D, count: H, flipRows: flip, ...(sp ? { spacingMm: [sp[0], sp[2]] as [number, number] } : {}), voxel: (y, x, row) => zOf(row) * plane + y * W + x };
  }
  return { axis, width: H, height: D, count: W, flipRows: flip, ...(sp ? { spacingMm: [sp[1], sp[2]] as [number, number] } : {}), voxel: (x, y, row) => zOf(row) * plane + y * W + x };
}

/** Preview size of a plane for a longest side of maxSize (the same rule for images and result maps). */
export function previewSize(width: number, height: number, maxSize: number): { outW: number; outH: number; scale: number } {
  const scale = Math.max(1, Math.max(width, height) / Math.max(1, Math.floor(maxSize)));
  const outW = Math.max(1, Math.min(width, Math.round(width / scale)));
  const outH = Math.max(1, Math.min(height, Math.round(height / scale)));
  return { outW, outH, scale };
}

export function checkIndex(layout: PlaneLayout, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= layout.count) throw new RangeError(`${layout.axis} slice ${index} is outside 0..${layout.count - 1}`);
}
