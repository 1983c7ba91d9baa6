// Per-instance and per-class measurements. THE definitions (issue 6; fields are added, never renamed):
//
// - Pixel coordinates are [x, y] / [x, y, z], x = column, y = row, z = slice, zero-based; world coordinates are
//   pixel centres (patient LPS mm; map units of the CRS).
// - all: `pixelCount`; `bbox` {min, max} inclusive pixel indices; `centroidPx` (mean of pixel indices);
//   `meanIntensity`, `sdIntensity` (population), `minIntensity`, `maxIntensity` in modality values (HU for CT);
//   `meanProbability` (mean model probability of the instance's class; segment only).
// - medical 2D: `areaMm2` = count × pixel area; `perimeterMm` = length of the marching-squares outline (level 0.5,
//   vertices on pixel-edge midpoints) including holes, in mm, unsimplified; `maxFeretMm` = largest distance between
//   centres of boundary pixels (ITK/3D Slicer); `longAxisMm` = longest segment between two outline points that
//   stays inside the lesion; `shortAxisMm` = longest such segment within 2° of perpendicular to it (need not cross
//   it, as in Cornerstone3D); both on the largest connected piece of the plane when an edit left the instance in
//   several pieces there (never one axis in each piece); `centroidMm` (world position of centroidPx).
// - medical 3D: `volumeMm3`, `volumeMl` = count × voxel volume; `longAxisMm`/`shortAxisMm` on the slice
//   (`recistSlice`) where the long axis is largest; `maxFeretMm` in 3D; `surfaceAreaMm2` = area of the voxel faces
//   between the instance and everything else (voxel-face count weighted by face area; overestimates smooth
//   surfaces by up to ~50% against a marching-cubes mesh, but is exact and additive); `centroidMm`.
// - geo: `areaM2`, `areaHa` = sum of the ellipsoidal (WGS84, geodesy.ts) areas of the pixels; planar through the
//   geotransform only when the CRS cannot be transformed offline (`areaMethod` says which); `perimeterM` = geodesic
//   length of the marching-squares outline; `centroidLonLat` [lon, lat] (WGS84) of centroidPx; `maxFeretM` =
//   geodesic distance of the boundary-pixel pair farthest apart in the map; also `centroidMap` [x, y] in CRS units.
// - images without physical spacing: the same in pixels (`areaPx`/`volumePx`, `perimeterPx`, `longAxisPx`,
//   `shortAxisPx`, `maxFeretPx`, `surfaceAreaPx`) and no physical fields.
// - `longAxisEndsPx` / `shortAxisEndsPx`: the axes' end points [[x, y], [x, y]] in pixel coordinates (for drawing).
//   `shortAxisMm` (…Px) is null when no inside segment lies within 2° of perpendicular.
// - Outline points are the unsimplified marching-squares vertices; lesions with more than AXIS_POINT_CAP of them
//   are subsampled evenly for the axis search. Diagonal pixels join the outline when the connectivity does (8/18/26).
// - Per class: `instanceCount`, `pixelCount`, the same area/volume totals (sums over its instances), and
//   `fraction` = pixelCount / valid pixels, where valid means not nodata.
// - Size ranges (segment with a model whose manifest has `calibration.sizeRange`; measure/ranges.ts):
//   `pixelCountRange` and `volumeMlRange` / `areaMm2Range` / `areaM2Range` / `areaHaRange` (`areaPxRange`,
//   `volumePxRange`) = [low, high] measured from the object's own calibrated probabilities. With the shipped
//   models' method 'probabilityMass': low = n - lowScale x sum(1 - p) over its n pixels, high = n + highScale x
//   sum(p) over its hesitant surroundings (the pixels connected to it whose probability of its class is >=
//   outerThreshold, each counted for one object; pixels of another object of the class never); with 'thresholds':
//   low = its pixels with p >= innerThreshold, high = its pixels plus those surroundings. A class total's low is the
//   sum of its instances' lows, its high counts such pixels anywhere in the image (or around its objects only).
//   Physical ranges = the size x lowPx / pixelCount and x highPx / pixelCount. The method and its parameters were
//   chosen on the model's validation split (docs/inference.md, "Calibration and size ranges"); the model card
//   gives the coverage and width on the test split. An edit removes the edited object's and class's
//   ranges (the model's probabilities no longer describe them).
import type { ClassRecord, Geometry, InstanceRecord } from '../../../preload/formats';
import type { ComponentStats, Connectivity } from '../postprocess/components';
import { pixelToWorld, planarSpacing, ringLength, traceRings, type Ring } from '../postprocess/contours';
import { measureInstances as measureBasic, type MeasureOptions as BasicOptions } from './basic';
import { geoMeasurer, type GeoMeasurer } from './geo';
import { bidirectionalAxes, convexHull, largestPiece, maxPairDistance, rowExtremes, type Axis } from './shape';

export { countLabels, pixelUnit } from './basic';

export interface MeasureOptions extends BasicOptions {
  /** Instance map (0 = none, else id), same layout as the labels; without it only the basic fields are given. */
  instanceMap?: Uint32Array;
  /**
   * Shape fields already measured per instance (same order as the stats), used instead of instanceMap: the
   * streaming path (postprocess/streaming.ts) measures crops read from disk with planeShapeFields.
   */
  shapes?: ReadonlyArray<Record<string, unknown>>;
  width?: number;
  height?: number;
  /** How instances were connected: decides whether diagonal pixels join an outline. Default 8 / 26. */
  connectivity?: Connectivity;
  /** Override the geo measurer (tests; ellipsoidal wiring). Default: geoMeasurer(geometry). */
  geo?: GeoMeasurer | null;
}

/** Unit suffix of the physical fields: mm for medical or user spacing, m for geo with a metric measurer, else px. */
function unitSuffix(geometry: Geometry, geo: GeoMeasurer | null): 'Mm' | 'M' | 'Px' {
  if (geometry.type === 'medical' || (geometry.type === 'pixel' && geometry.spacingMm)) return 'Mm';
  if (geometry.type === 'geo' && geo) return 'M';
  return 'Px';
}

const round = (v: number): number => Math.round(v * 1e6) / 1e6;

/** Binary crop of one instance on slice z of an instance map (or of a band of its rows: H = the band's rows). */
export function cropMask(map: ArrayLike<number>, W: number, H: number, z: number, id: number, x0: number, y0: number, w: number, h: number): Uint8Array {
  const mask = new Uint8Array(w * h);
  const base = z * W * H;
  for (let y = 0; y < h; y++) {
    const row = base + (y0 + y) * W + x0;
    for (let x = 0; x < w; x++) if (map[row + x] === id) mask[y * w + x] = 1;
  }
  return mask;
}

function axisFields(prefix: 'long' | 'short', axis: Axis | null, unit: string, x0: number, y0: number): Record<string, unknown> {
  if (!axis) return { [`${prefix}Axis${unit}`]: null };
  return {
    [`${prefix}Axis${unit}`]: round(axis.length),
    [`${prefix}AxisEndsPx`]: [
      [axis.a[0] + x0, axis.a[1] + y0],
      [axis.b[0] + x0, axis.b[1] + y0],
    ],
  };
}

/**
 * RECIST axes of one plane crop, on its largest connected piece only: an edit can cut a lesion in two on a slice
 * while it stays one instance, and both axes must lie in the same piece. `rings` are the whole crop's outlines
 * (reused when the crop is one piece).
 */
function pieceAxes(mask: Uint8Array, w: number, h: number, rings: Ring[], sx: number, sy: number, join: boolean): { long: Axis; short: Axis | null } | null {
  const piece = largestPiece(mask, w, h, join);
  const pieceRings = piece.pieces > 1 ? traceRings(piece.mask, w, h, join) : rings;
  return bidirectionalAxes(piece.mask, w, h, pieceRings, sx, sy, join);
}

/** What shape measurement needs besides the crop: geometry, the geo measurer and whether diagonals join. */
export interface ShapeContext {
  geometry: Geometry;
  geo: GeoMeasurer | null;
  join: boolean;
}

/** The shape context measureInstances uses for a width x height raster (geo measurer: geoMeasurer, unless given). */
export function shapeContext(geometry: Geometry, width: number, height: number, connectivity?: Connectivity, geo?: GeoMeasurer | null): ShapeContext {
  return {
    geometry,
    geo: geo !== undefined ? geo : geometry.type === 'geo' ? geoMeasurer(geometry, width, height) : null,
    join: connectivity === undefined || connectivity === 8 || connectivity === 18 || connectivity === 26,
  };
}

/**
 * Shape fields of one 2D instance from its binary bbox crop (mask[y * w + x], w x h = the bbox of s): the in-memory
 * path crops the instance map, the streaming path a band read from disk; both give identical fields.
 */
export function planeShapeFields(s: ComponentStats, mask: Uint8Array, ctx: ShapeContext): Record<string, unknown> {
  const { geometry, geo, join } = ctx;
  const unit = unitSuffix(geometry, geo);
  const [sx, sy] = geometry.type === 'geo' ? [1, 1] : planarSpacing(geometry);
  const [x0, y0] = s.min;
  const w = s.max[0] - x0 + 1;
  const h = s.max[1] - y0 + 1;
  const out: Record<string, unknown> = {};
  const centroid = s.sum.map((v) => v / s.pixelCount) as [number, number, number];
  const rings = traceRings(mask, w, h, join);
  const hull = convexHull(rowExtremes(mask, w, h));
  if (geometry.type === 'geo' && geo) {
    let areaM2 = 0;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (mask[y * w + x]) areaM2 += geo.pixelAreaM2(x0 + x, y0 + y);
    out.areaM2 = round(areaM2);
    out.areaHa = areaM2 / 10000;
    out.areaMethod = geo.method;
    out.perimeterM = round(rings.reduce((t, r) => t + geo.ringLengthM(r.points.map((v, i) => v + (i % 2 ? y0 : x0))), 0));
    // The farthest pair is chosen in pixel space (affine maps keep hulls), then measured in metres.
    const far = maxPairDistance(hull, 2, [Math.abs(sx), Math.abs(sy)]);
    out.maxFeretM = round(geo.distanceM(hull[2 * far.a]! + x0, hull[2 * far.a + 1]! + y0, hull[2 * far.b]! + x0, hull[2 * far.b + 1]! + y0));
    out.centroidMap = geo.mapXY(centroid[0], centroid[1]);
    const ll = geo.lonLat(centroid[0], centroid[1]);
    if (ll) out.centroidLonLat = ll;
    return out;
  }
  out[`perimeter${unit}`] = round(rings.reduce((t, r) => t + ringLength(r.points, sx, sy), 0));
  out[`maxFeret${unit}`] = round(maxPairDistance(hull, 2, [sx, sy]).length);
  const axes = pieceAxes(mask, w, h, rings, sx, sy, join);
  Object.assign(out, axisFields('long', axes?.long ?? null, unit, x0, y0), axisFields('short', axes?.short ?? null, unit, x0, y0));
  if (unit === 'Mm') out.centroidMm = pixelToWorld(geometry, centroid[2])(centroid[0], centroid[1]).map(round);
  return out;
}

/**
 * Shape fields of one 3D instance, fed slice by slice (z from s.min[2] to s.max[2], each its bbox crop): the in-memory
 * path crops the instance map, the streaming volume path (postprocess/streaming-volume.ts) slices read from disk, so
 * both give identical fields. Holds one crop (the previous slice) per instance.
 */
export class VolumeShapeAccumulator {
  private best: { long: Axis; short: Axis | null; z: number } | null = null;
  private readonly hullPts: number[] = [];
  private readonly faces = [0, 0, 0];
  private prev: Uint8Array | null = null;
  private readonly w: number;
  private readonly h: number;

  constructor(
    private readonly s: ComponentStats,
    private readonly ctx: ShapeContext,
  ) {
    this.w = s.max[0] - s.min[0] + 1;
    this.h = s.max[1] - s.min[1] + 1;
  }

  /** Adds slice z (mask[y * w + x] of the bbox); slices come in order, every one of the instance's z range. */
  add(z: number, mask: Uint8Array): void {
    const { w, h } = this;
    const { geometry, join } = this.ctx;
    const [sx, sy] = geometry.type === 'geo' ? [1, 1] : planarSpacing(geometry);
    this.countFaces(mask);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = mask[y * w + x]!;
        const right = x + 1 < w ? mask[y * w + x + 1]! : 0;
        const down = y + 1 < h ? mask[(y + 1) * w + x]! : 0;
        if (x === 0 && v) this.faces[0]!++;
        if (y === 0 && v) this.faces[1]!++;
        if (v !== right) this.faces[0]!++;
        if (v !== down) this.faces[1]!++;
      }
    }
    const hull = convexHull(rowExtremes(mask, w, h));
    for (let i = 0; i < hull.length; i += 2) this.hullPts.push(hull[i]!, hull[i + 1]!, z);
    const rings = traceRings(mask, w, h, join);
    if (rings.length === 0) return;
    const axes = pieceAxes(mask, w, h, rings, sx, sy, join);
    if (axes && (!this.best || axes.long.length > this.best.long.length)) this.best = { ...axes, z };
  }

  /** Faces between slices: voxels present in exactly one of two neighbouring slices (null = outside the bbox). */
  private countFaces(mask: Uint8Array | null): void {
    const prev = this.prev;
    if (mask || prev) for (let i = 0; i < this.w * this.h; i++) if ((mask?.[i] ?? 0) !== (prev?.[i] ?? 0)) this.faces[2]!++;
    this.prev = mask;
  }

  /** The fields, after the last slice. */
  finish(): Record<string, unknown> {
    this.countFaces(null);
    const { s, ctx } = this;
    const { geometry, geo } = ctx;
    const unit = unitSuffix(geometry, geo);
    const [sx, sy] = geometry.type === 'geo' ? [1, 1] : planarSpacing(geometry);
    const sz = geometry.type === 'medical' ? geometry.spacingMm[2] : geometry.type === 'pixel' && geometry.spacingMm ? geometry.spacingMm[2] : 1;
    const [x0, y0] = s.min;
    const out: Record<string, unknown> = {};
    const centroid = s.sum.map((v) => v / s.pixelCount) as [number, number, number];
    const best = this.best;
    out[`maxFeret${unit}`] = round(maxPairDistance(this.hullPts, 3, [sx, sy, sz]).length);
    out[`surfaceArea${unit === 'Px' ? 'Px' : 'Mm2'}`] = round(this.faces[0]! * sy * sz + this.faces[1]! * sx * sz + this.faces[2]! * sx * sy);
    Object.assign(out, axisFields('long', best?.long ?? null, unit, x0, y0), axisFields('short', best?.short ?? null, unit, x0, y0));
    out.recistSlice = best?.z ?? null;
    if (unit === 'Mm') {
      // User spacing has no origin or direction: its world frame is the scaled pixel grid.
      const world = geometry.type === 'pixel' ? [centroid[0] * sx, centroid[1] * sy, centroid[2] * sz] : pixelToWorld(geometry, centroid[2])(centroid[0], centroid[1]);
      out.centroidMm = world.map(round);
    }
    return out;
  }
}

/** Shape fields of one instance (everything beyond the basic counts). */
function shapeFields(s: ComponentStats, map: Uint32Array, W: number, H: number, D: number, ctx: ShapeContext): Record<string, unknown> {
  const [x0, y0, z0] = s.min;
  const w = s.max[0] - x0 + 1;
  const h = s.max[1] - y0 + 1;
  if (D === 1) return planeShapeFields(s, cropMask(map, W, H, 0, s.id, x0, y0, w, h), ctx);
  // Volume: RECIST axes on the slice with the largest long axis; Feret over the per-slice hull vertices in 3D.
  const acc = new VolumeShapeAccumulator(s, ctx);
  for (let z = z0; z <= s.max[2]; z++) acc.add(z, cropMask(map, W, H, z, s.id, x0, y0, w, h));
  return acc.finish();
}

/**
 * Instance records a chunk at a time, in id order, with the class totals accumulated on the side: what
 * measureInstances gives for the whole list, for results whose records never exist all at once (the streaming
 * path writes each chunk to disk). Class totals add instances in id order, so they equal measureInstances's bit for bit.
 */
export class InstanceMeasurer {
  private readonly ctx: ShapeContext | null;
  private readonly instanceCount: number[];
  private readonly areaM2: number[];

  constructor(private readonly options: MeasureOptions & { width: number; height: number }) {
    this.ctx = shapeContext(options.geometry, options.width, options.height, options.connectivity, options.geo);
    this.instanceCount = new Array<number>(options.classes.length + 1).fill(0);
    this.areaM2 = new Array<number>(options.classes.length + 1).fill(0);
  }

  /** Records of consecutive instances (their stats and shape fields, same order). */
  measure(stats: ComponentStats[], shapes: ReadonlyArray<Record<string, unknown>>): InstanceRecord[] {
    const { instances } = measureBasic(stats, { ...this.options, classes: this.options.classes });
    return instances.map((rec, i) => {
      const out: InstanceRecord = { ...rec, ...shapes[i] };
      if (out.classId < this.instanceCount.length) {
        this.instanceCount[out.classId]!++;
        if (typeof out.areaM2 === 'number') this.areaM2[out.classId]! += out.areaM2;
      }
      return out;
    });
  }

  /** The class records, after every instance was measured. */
  classes(): ClassRecord[] {
    const base = measureBasic([], this.options).classes.map((c) => ({ ...c, instanceCount: this.instanceCount[c.id] ?? 0 }));
    if (this.options.geometry.type !== 'geo' || !this.ctx?.geo) return base;
    // Class totals are sums over instances, so they carry the same (possibly ellipsoidal) pixel areas.
    return base.map((c) => {
      const areaM2 = this.areaM2[c.id] ?? 0;
      return { ...c, areaM2: round(areaM2), areaHa: areaM2 / 10000 };
    });
  }
}

/** Measures instances (basic + shape fields when an instance map is given) and summarises classes. */
export function measureInstances(stats: ComponentStats[], options: MeasureOptions): { instances: InstanceRecord[]; classes: ClassRecord[] } {
  const base = measureBasic(stats, options);
  const { instanceMap: map, width: W, height: H, shapes } = options;
  if ((!map && !shapes) || W === undefined || H === undefined) return base;
  const geometry = options.geometry;
  const ctx = shapeContext(geometry, W, H, options.connectivity, options.geo);
  const geo = ctx.geo;
  const D = options.depth;
  const instances = base.instances.map((rec, i) => {
    const s = stats[i]!;
    return { ...rec, ...(shapes ? shapes[i] : map ? shapeFields(s, map, W, H, D, ctx) : {}) };
  });
  let classes = base.classes;
  if (geometry.type === 'geo' && geo) {
    // Class totals are sums over instances, so they carry the same (possibly ellipsoidal) pixel areas.
    classes = classes.map((c) => {
      const areaM2 = instances.reduce((t, r) => t + (r.classId === c.id && typeof r.areaM2 === 'number' ? r.areaM2 : 0), 0);
      return { ...c, areaM2: round(areaM2), areaHa: areaM2 / 10000 };
    });
  }
  return { instances, classes };
}
