// Instance split for models with a boundary (or distance) head: touching objects of one class become separate
// instances instead of one connected component. Per slice and class: seeds = 8-connected components of the class
// pixels whose boundary probability is below a threshold (at least `minSeedPx` pixels); the marker watershed grows
// them over the class mask, flooding in order of rising boundary probability, so neighbours meet on the predicted
// rim. Class pixels no seed reaches (objects too thin to have an interior) are kept as instances of their own.
// Ids are 1..n in raster order of each object's first pixel (x fastest, then y, then z), as in components.ts, and
// `statsFromInstanceMap` gathers the same ComponentStats so measure/basic.ts works on either.
// On a volume the split is per slice: the heads are 2D, and joining split objects across slices is not defined.
import type { PixelArray } from '../image';
import { addPixel, connectedComponents, newComponentStats, type ComponentStats } from './components';
import type { LabelArray } from './labels';
import { markerWatershed } from './watershed';

export type InstanceSplitMethod = 'boundary-watershed' | 'components';

/** Seeds need at least this many pixels: a speck of low boundary probability on a rim would over-split an object. */
export const DEFAULT_MIN_SEED_PX = 4;
export const DEFAULT_SEED_THRESHOLD = 0.5;

export interface BoundarySplitInput {
  labels: LabelArray;
  width: number;
  height: number;
  depth: number;
  /** Label value excluded like background (nodata). */
  nodataLabel: number;
  /** Boundary probability per pixel in [0, 1], same layout as labels (high = on an object's rim). */
  boundary: Float32Array;
  /** Seeds are class pixels with boundary probability below this (default 0.5). */
  seedThreshold?: number;
  /** Seed components smaller than this are ignored (default DEFAULT_MIN_SEED_PX). */
  minSeedPx?: number;
  /** Objects with fewer pixels are removed (their labels set to 0 as well, as in components.ts). */
  minPixels?: number;
}

/**
 * Boundary-like elevation from a distance-to-border head: 1 - d, with d clamped to [0, 1]. Assumes the head was
 * trained on a normalised distance (0 on the rim, 1 deep inside), the usual convention; raw pixel distances
 * would need a scale in the manifest first.
 */
export function boundaryFromDistance(distance: Float32Array): Float32Array {
  const out = new Float32Array(distance.length);
  for (let i = 0; i < distance.length; i++) out[i] = 1 - Math.min(1, Math.max(0, distance[i]!));
  return out;
}

/** Instance map (0 = none, else 1..n) of every class, touching objects split along the boundary head's ridges. */
export function splitInstancesByBoundary(input: BoundarySplitInput): Uint32Array {
  const { labels, width: W, height: H, depth: D, nodataLabel, boundary } = input;
  const plane = W * H;
  const threshold = input.seedThreshold ?? DEFAULT_SEED_THRESHOLD;
  const minSeedPx = input.minSeedPx ?? DEFAULT_MIN_SEED_PX;
  // Provisional ids are unique over the whole volume; they are renumbered in raster order at the end.
  const provisional = new Uint32Array(plane * D);
  let nextId = 1;
  const mask = new Uint8Array(plane);
  const seedLabels = new Uint8Array(plane);
  const rest = new Uint8Array(plane);

  for (let z = 0; z < D; z++) {
    const off = z * plane;
    const present = new Set<number>();
    for (let i = 0; i < plane; i++) {
      const c = labels[off + i]!;
      if (c !== 0 && c !== nodataLabel) present.add(c);
    }
    const elevation = boundary.subarray(off, off + plane);
    for (const cls of [...present].sort((a, b) => a - b)) {
      for (let i = 0; i < plane; i++) {
        const inClass = labels[off + i] === cls ? 1 : 0;
        mask[i] = inClass;
        seedLabels[i] = inClass && elevation[i]! < threshold ? 1 : 0;
      }
      const seeds = connectedComponents({ labels: seedLabels, width: W, height: H, depth: 1, nodataLabel: 255, connectivity: 8, minPixels: minSeedPx });
      const grown = seeds.stats.length > 0 ? markerWatershed({ width: W, height: H, elevation, markers: seeds.instances, mask, connectivity: 8 }) : new Uint32Array(plane);
      let anyRest = false;
      for (let i = 0; i < plane; i++) {
        const id = grown[i]!;
        if (id > 0) provisional[off + i] = nextId - 1 + id;
        rest[i] = mask[i] && id === 0 ? 1 : 0;
        if (rest[i]) anyRest = true;
      }
      nextId += seeds.stats.length;
      if (!anyRest) continue;
      const leftover = connectedComponents({ labels: rest, width: W, height: H, depth: 1, nodataLabel: 255, connectivity: 8 });
      for (let i = 0; i < plane; i++) {
        const id = leftover.instances[i]!;
        if (id > 0) provisional[off + i] = nextId - 1 + id;
      }
      nextId += leftover.stats.length;
    }
  }
  return renumber(provisional, nextId, labels, input.minPixels ?? 0);
}

/** Ids 1..n in raster order of first pixel; objects below minPixels are dropped (and their labels cleared). */
function renumber(provisional: Uint32Array, idCount: number, labels: LabelArray, minPixels: number): Uint32Array {
  const pixelsOf = new Uint32Array(idCount);
  if (minPixels > 1) for (let i = 0; i < provisional.length; i++) pixelsOf[provisional[i]!]!++;
  const finalOf = new Uint32Array(idCount);
  let n = 0;
  for (let i = 0; i < provisional.length; i++) {
    const p = provisional[i]!;
    if (p === 0) continue;
    if (minPixels > 1 && pixelsOf[p]! < minPixels) {
      provisional[i] = 0;
      labels[i] = 0;
      continue;
    }
    if (finalOf[p] === 0) finalOf[p] = ++n;
    provisional[i] = finalOf[p]!;
  }
  return provisional;
}

export interface InstanceStatsInput {
  /** 0 = none, else the instance id. */
  instances: Uint32Array;
  /** Class of each pixel; an instance takes the class of its first pixel. */
  labels: LabelArray;
  width: number;
  height: number;
  depth: number;
  probability?: Float32Array;
  /** Channel-0 intensities, same layout as labels. */
  intensity?: PixelArray;
}

/** The statistics connectedComponents gathers, for any instance map (ids need not be dense); sorted by id. */
export function statsFromInstanceMap(input: InstanceStatsInput): ComponentStats[] {
  const { instances, labels, width: W, height: H, probability, intensity } = input;
  const plane = W * H;
  const byId = new Map<number, ComponentStats>();
  for (let i = 0; i < instances.length; i++) {
    const id = instances[i]!;
    if (id === 0) continue;
    const x = i % W;
    const y = Math.floor(i / W) % H;
    const z = Math.floor(i / plane);
    let s = byId.get(id);
    if (!s) {
      s = newComponentStats(id, labels[i]!, x, y, z);
      byId.set(id, s);
    }
    addPixel(s, x, y, z, probability?.[i], intensity?.[i]);
  }
  return [...byId.values()].sort((a, b) => a.id - b.id);
}
