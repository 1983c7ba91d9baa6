// Basic per-instance and per-class measurements from component statistics, in physical units when known.
// measure/index.ts holds the full definitions (issue 6) and adds the shape fields; these are the counting ones:
// - Pixel coordinates are [x, y] (2D) or [x, y, z] (3D): x = column, y = row, z = slice, zero-based.
// - pixelCount: number of pixels (voxels) of the instance.
// - bbox: { min, max } inclusive pixel indices of the instance.
// - centroidPx: mean of the instance's pixel indices.
// - meanProbability: mean over the instance of the model probability of its class (segment only).
// - meanIntensity / sdIntensity (population) / minIntensity / maxIntensity: channel 0 of the image, in its
//   stored values (modality rescale applied by the reader, so HU for CT).
// - Medical or user spacing (mm): 2D areaMm2 = pixelCount x spacingX x spacingY;
//   3D volumeMm3 = pixelCount x spacingX x spacingY x spacingZ, volumeMl = volumeMm3 / 1000.
// - Geo: areaM2 = pixelCount x |det of the geotransform's 2x2 part| (planar, in CRS units squared, assumed metres),
//   areaHa = areaM2 / 10000. Ellipsoidal areas are the geo issue's; for geographic CRSs (degrees) no areaM2 is given.
// - No physical spacing: areaPx (2D) or volumePx (3D) = pixelCount.
// - Per class: instanceCount, pixelCount, the same area/volume totals, and fraction = pixelCount / valid pixels,
//   where valid means not nodata (label != 255).
import type { ClassRecord, Geometry, InstanceRecord, ManifestClass } from '../../../preload/formats';
import type { ComponentStats } from '../postprocess/components';
import { isGeographicCrs } from './geo';

/** Physical size of one pixel/voxel, and which fields it produces. */
export type PixelUnit =
  | { kind: 'mm'; pixelAreaMm2: number; voxelVolumeMm3: number }
  | { kind: 'm'; pixelAreaM2: number }
  | { kind: 'px' };

export function pixelUnit(geometry: Geometry): PixelUnit {
  if (geometry.type === 'medical' || (geometry.type === 'pixel' && geometry.spacingMm)) {
    const [sx, sy, sz] = geometry.spacingMm!;
    return { kind: 'mm', pixelAreaMm2: sx * sy, voxelVolumeMm3: sx * sy * sz };
  }
  if (geometry.type === 'geo') {
    const [, a, b, , d, e] = geometry.geotransform;
    // Geographic (degree) CRSs and rasters without a CRS have no planar metre area.
    if (isGeographicCrs(geometry.crs) === false) return { kind: 'm', pixelAreaM2: Math.abs(a * e - b * d) };
  }
  return { kind: 'px' };
}

/** Area/volume fields for a pixel count. 3D (depth > 1) gives volumes, 2D areas. */
export function sizeFields(pixelCount: number, unit: PixelUnit, is3D: boolean): Record<string, number> {
  switch (unit.kind) {
    case 'mm':
      if (is3D) {
        const volumeMm3 = pixelCount * unit.voxelVolumeMm3;
        return { volumeMm3, volumeMl: volumeMm3 / 1000 };
      }
      return { areaMm2: pixelCount * unit.pixelAreaMm2 };
    case 'm': {
      const areaM2 = pixelCount * unit.pixelAreaM2;
      return { areaM2, areaHa: areaM2 / 10000 };
    }
    case 'px':
      return is3D ? { volumePx: pixelCount } : { areaPx: pixelCount };
  }
}

export interface MeasureOptions {
  geometry: Geometry;
  /** depth > 1 means a volume. */
  depth: number;
  classes: ManifestClass[];
  /** Pixels that are not nodata. */
  validPixelCount: number;
  /** Per class id (index = id), labelled pixels, counted after size filters removed small objects. */
  classPixelCounts: number[];
  hasProbability: boolean;
  hasIntensity: boolean;
}

export function measureInstances(stats: ComponentStats[], options: MeasureOptions): { instances: InstanceRecord[]; classes: ClassRecord[] } {
  const unit = pixelUnit(options.geometry);
  const is3D = options.depth > 1;
  const dims = is3D ? 3 : 2;
  const instances: InstanceRecord[] = stats.map((s) => {
    const rec: InstanceRecord = {
      id: s.id,
      classId: s.classId,
      className: options.classes[s.classId - 1]?.name ?? `class ${s.classId}`,
      pixelCount: s.pixelCount,
      bbox: { min: s.min.slice(0, dims), max: s.max.slice(0, dims) },
      centroidPx: s.sum.slice(0, dims).map((v) => v / s.pixelCount),
      ...sizeFields(s.pixelCount, unit, is3D),
    };
    if (options.hasProbability) rec.meanProbability = s.probabilitySum / s.pixelCount;
    if (options.hasIntensity) {
      const mean = s.intensitySum / s.pixelCount;
      rec.meanIntensity = mean;
      // Population SD; clamp the tiny negative rounding of E[x^2] - E[x]^2 on constant regions.
      rec.sdIntensity = Math.sqrt(Math.max(0, s.intensitySumSq / s.pixelCount - mean * mean));
      rec.minIntensity = s.intensityMin;
      rec.maxIntensity = s.intensityMax;
    }
    return rec;
  });
  const classes: ClassRecord[] = options.classes.map((c, i) => {
    const id = i + 1;
    const pixelCount = options.classPixelCounts[id] ?? 0;
    return {
      id,
      name: c.name,
      color: c.color,
      instanceCount: stats.reduce((n, s) => n + (s.classId === id ? 1 : 0), 0),
      pixelCount,
      ...sizeFields(pixelCount, unit, is3D),
      fraction: options.validPixelCount > 0 ? pixelCount / options.validPixelCount : 0,
    };
  });
  return { instances, classes };
}

/** Count of pixels per label value (index = label) and of valid (non-nodata) pixels. */
export function countLabels(labels: ArrayLike<number>, classCount: number, nodataLabel: number): { perClass: number[]; valid: number } {
  const perClass = new Array<number>(classCount + 1).fill(0);
  let valid = 0;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (v === nodataLabel) continue;
    valid++;
    if (v <= classCount) perClass[v]!++;
  }
  return { perClass, valid };
}
