// Connected components per class on a label map: two raster passes with union-find on typed arrays.
// 2D: 4 or 8 connectivity; 3D: 6, 18 or 26. On a volume, 4/8 label each slice on its own (objects never join
// across slices); on a single slice, 6 acts as 4 and 18/26 as 8. Pixels join only pixels of the same class.
// Instance ids are 1..n in raster order of each object's first pixel (x fastest, then y, then z), so the same
// input always gives the same ids. Statistics gathered in the same pass feed measure/basic.ts.
import type { PixelArray } from '../image';
import type { LabelArray } from './labels';

export type Connectivity = 4 | 8 | 6 | 18 | 26;
export const CONNECTIVITIES: readonly Connectivity[] = [4, 8, 6, 18, 26];

export interface ComponentStats {
  id: number;
  classId: number;
  pixelCount: number;
  /** Inclusive [x, y, z]. */
  min: [number, number, number];
  max: [number, number, number];
  /** Sums of x, y, z indices (centroid = sum / pixelCount). */
  sum: [number, number, number];
  /** Sum of the per-pixel probability of the assigned class (when given). */
  probabilitySum: number;
  /** Intensity of channel 0 (when given): sum, sum of squares, min, max. */
  intensitySum: number;
  intensitySumSq: number;
  intensityMin: number;
  intensityMax: number;
}

export interface ComponentsInput {
  labels: LabelArray;
  width: number;
  height: number;
  depth: number;
  /** Label value excluded like background (nodata). */
  nodataLabel: number;
  connectivity: Connectivity;
  probability?: Float32Array;
  /** Channel-0 intensities, same layout as labels. */
  intensity?: PixelArray;
  /** Objects with fewer pixels are removed (their labels set to 0 as well). */
  minPixels?: number;
}

export interface ComponentsResult {
  /** 0 = none, else the instance id. */
  instances: Uint32Array;
  stats: ComponentStats[];
}

/** Backward neighbour offsets [dx, dy, dz] for a raster scan with this connectivity. */
export function backwardNeighbours(connectivity: Connectivity, is3D: boolean): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (let dz = -1; dz <= 0; dz++) {
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        // Backward = already visited in raster order.
        if (!(dz < 0 || (dz === 0 && dy < 0) || (dz === 0 && dy === 0 && dx < 0))) continue;
        const nonzero = (dx !== 0 ? 1 : 0) + (dy !== 0 ? 1 : 0) + (dz !== 0 ? 1 : 0);
        let keep: boolean;
        if (!is3D || connectivity === 4 || connectivity === 8) {
          keep = dz === 0 && (connectivity === 4 || connectivity === 6 ? nonzero === 1 : true);
        } else {
          keep = connectivity === 6 ? nonzero === 1 : connectivity === 18 ? nonzero <= 2 : true;
        }
        if (keep) out.push([dx, dy, dz]);
      }
    }
  }
  return out;
}

/** Fresh statistics of an object whose first pixel (in raster order) is (x, y, z). */
export function newComponentStats(id: number, classId: number, x: number, y: number, z: number): ComponentStats {
  return {
    id,
    classId,
    pixelCount: 0,
    min: [x, y, z],
    max: [x, y, z],
    sum: [0, 0, 0],
    probabilitySum: 0,
    intensitySum: 0,
    intensitySumSq: 0,
    intensityMin: Infinity,
    intensityMax: -Infinity,
  };
}

/** Adds one pixel, visited in raster order, to an object's statistics. */
export function addPixel(s: ComponentStats, x: number, y: number, z: number, probability: number | undefined, intensity: number | undefined): void {
  s.pixelCount++;
  if (x < s.min[0]) s.min[0] = x;
  if (x > s.max[0]) s.max[0] = x;
  if (y < s.min[1]) s.min[1] = y;
  if (y > s.max[1]) s.max[1] = y;
  if (z > s.max[2]) s.max[2] = z; // z never decreases in raster order, so min[2] is the first pixel's.
  s.sum[0] += x;
  s.sum[1] += y;
  s.sum[2] += z;
  if (probability !== undefined) s.probabilitySum += probability;
  if (intensity !== undefined) addIntensity(s, intensity);
}

/** Adds one pixel's intensity to an object's statistics (sums in the caller's raster order). */
export function addIntensity(s: ComponentStats, intensity: number): void {
  s.intensitySum += intensity;
  s.intensitySumSq += intensity * intensity;
  if (intensity < s.intensityMin) s.intensityMin = intensity;
  if (intensity > s.intensityMax) s.intensityMax = intensity;
}

/** Root of `a` in a union-find parent table, compressing the path walked (keeps later finds O(1)-ish). */
export function findRoot(parent: Uint32Array, a: number): number {
  let r = a;
  while (parent[r] !== r) r = parent[r]!;
  while (parent[a] !== r) {
    const p = parent[a]!;
    parent[a] = r;
    a = p;
  }
  return r;
}

/** Labels connected components of every class (values other than 0 and nodata). */
export function connectedComponents(input: ComponentsInput): ComponentsResult {
  const { labels, width: W, height: H, depth: D, nodataLabel } = input;
  const plane = W * H;
  const n = plane * D;
  const provisional = new Uint32Array(n);
  let parent = new Uint32Array(1024);
  let next = 1;
  const find = (a: number): number => findRoot(parent, a);
  const neighbours = backwardNeighbours(input.connectivity, D > 1);

  for (let z = 0; z < D; z++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = z * plane + y * W + x;
        const cls = labels[i]!;
        if (cls === 0 || cls === nodataLabel) continue;
        let label = 0;
        for (const [dx, dy, dz] of neighbours) {
          const nx = x + dx;
          const ny = y + dy;
          const nz = z + dz;
          if (nx < 0 || nx >= W || ny < 0 || ny >= H || nz < 0) continue;
          const j = nz * plane + ny * W + nx;
          if (labels[j] !== cls) continue;
          const other = provisional[j]!;
          if (label === 0) label = find(other);
          else {
            const ra = find(label);
            const rb = find(other);
            if (ra !== rb) {
              // Union by smaller root keeps roots stable and the scan deterministic.
              if (ra < rb) parent[rb] = ra;
              else parent[ra] = rb;
              label = Math.min(ra, rb);
            }
          }
        }
        if (label === 0) {
          if (next >= parent.length) {
            const grown = new Uint32Array(parent.length * 2);
            grown.set(parent);
            parent = grown;
          }
          parent[next] = next;
          label = next++;
        }
        provisional[i] = label;
      }
    }
  }

  // Second pass: final ids in raster order of first pixel, statistics per id.
  const finalOf = new Uint32Array(next);
  const stats: ComponentStats[] = [];
  const { probability, intensity } = input;
  for (let i = 0; i < n; i++) {
    const p = provisional[i]!;
    if (p === 0) continue;
    const root = find(p);
    let id = finalOf[root]!;
    const x = i % W;
    const y = Math.floor(i / W) % H;
    const z = Math.floor(i / plane);
    if (id === 0) {
      id = stats.length + 1;
      finalOf[root] = id;
      stats.push(newComponentStats(id, labels[i]!, x, y, z));
    }
    provisional[i] = id;
    addPixel(stats[id - 1]!, x, y, z, probability?.[i], intensity?.[i]);
  }
  const instances = provisional; // now holds final ids

  const minPixels = input.minPixels ?? 0;
  if (minPixels > 1 && stats.some((s) => s.pixelCount < minPixels)) {
    // Drop small objects and renumber the rest, keeping raster order.
    const remap = new Uint32Array(stats.length + 1);
    const kept: ComponentStats[] = [];
    for (const s of stats) {
      if (s.pixelCount >= minPixels) {
        remap[s.id] = kept.length + 1;
        kept.push({ ...s, id: kept.length + 1 });
      }
    }
    for (let i = 0; i < n; i++) {
      const id = instances[i]!;
      if (id === 0) continue;
      const to = remap[id]!;
      instances[i] = to;
      if (to === 0) labels[i] = 0;
    }
    return { instances, stats: kept };
  }
  return { instances, stats };
}

export interface InstanceValuesInput {
  /** A label map whose values are instance ids (0 = none): `--labels-are instances`. */
  values: ArrayLike<number>;
  width: number;
  height: number;
  depth: number;
  /** Class id of an instance value (default 1 for every value). */
  classOf?: (value: number) => number;
  intensity?: PixelArray;
  /** Instances with fewer pixels are dropped. */
  minPixels?: number;
}

export interface InstanceValuesResult extends ComponentsResult {
  /** Class map derived from the instances (uint16 when a class id exceeds 254). */
  labels: LabelArray;
  /** Original label value of each instance: valueOfId[id - 1]. */
  valueOfId: number[];
}

/**
 * Instances given by the user: each distinct non-zero value is one instance, whether or not its pixels touch
 * other instances (or each other). Ids are 1..n in raster order of each value's first pixel, as for components.
 */
export function instancesFromValues(input: InstanceValuesInput): InstanceValuesResult {
  const { values, width: W, height: H, depth: D } = input;
  const plane = W * H;
  const n = plane * D;
  const classOf = input.classOf ?? (() => 1);
  const idOf = new Map<number, number>();
  const stats: ComponentStats[] = [];
  const valueOfId: number[] = [];
  const instances = new Uint32Array(n);
  let maxClass = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v === 0) continue;
    const x = i % W;
    const y = Math.floor(i / W) % H;
    const z = Math.floor(i / plane);
    let id = idOf.get(v);
    if (id === undefined) {
      id = stats.length + 1;
      idOf.set(v, id);
      valueOfId.push(v);
      const classId = classOf(v);
      if (classId > maxClass) maxClass = classId;
      stats.push({ id, classId, pixelCount: 0, min: [x, y, z], max: [x, y, z], sum: [0, 0, 0], probabilitySum: 0, intensitySum: 0, intensitySumSq: 0, intensityMin: Infinity, intensityMax: -Infinity });
    }
    instances[i] = id;
    const s = stats[id - 1]!;
    s.pixelCount++;
    if (x < s.min[0]) s.min[0] = x;
    if (x > s.max[0]) s.max[0] = x;
    if (y < s.min[1]) s.min[1] = y;
    if (y > s.max[1]) s.max[1] = y;
    if (z > s.max[2]) s.max[2] = z;
    s.sum[0] += x;
    s.sum[1] += y;
    s.sum[2] += z;
    if (input.intensity) {
      const t = input.intensity[i]!;
      s.intensitySum += t;
      s.intensitySumSq += t * t;
      if (t < s.intensityMin) s.intensityMin = t;
      if (t > s.intensityMax) s.intensityMax = t;
    }
  }
  const labels: LabelArray = maxClass > 254 ? new Uint16Array(n) : new Uint8Array(n);
  const minPixels = input.minPixels ?? 0;
  const remap = new Uint32Array(stats.length + 1);
  const kept: ComponentStats[] = [];
  const keptValues: number[] = [];
  for (const s of stats) {
    if (s.pixelCount < minPixels) continue;
    remap[s.id] = kept.length + 1;
    keptValues.push(valueOfId[s.id - 1]!);
    kept.push({ ...s, id: kept.length + 1 });
  }
  for (let i = 0; i < n; i++) {
    const id = instances[i]!;
    if (id === 0) continue;
    const to = remap[id]!;
    instances[i] = to;
    if (to !== 0) labels[i] = kept[to - 1]!.classId;
  }
  return { instances, stats: kept, labels, valueOfId: keptValues };
}
