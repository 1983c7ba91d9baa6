// 3D connected components and measurements of label volumes too large for memory, read slice by slice
// (io/nifti-stream.ts). Same ids, statistics and fields as components.ts + measure/index.ts on the whole volume:
//
// Pass 0 (only for label files wider than uint8): the largest value chooses nodata 255 or 65535, as pipeline.ts.
// Pass 1 (label): each slice is labelled on its own (components.ts with the in-plane part of the connectivity:
//   6 -> 4, 18/26 -> 8); its components get global provisional ids base+1..base+k in raster order of their first
//   voxel, so provisional ids grow with first-voxel order over the whole volume. The previous slice (classes and
//   global ids) is kept to join components across slices through the connectivity's dz = -1 neighbours, in a global
//   union-find (union by smaller root, so a root is its component's first piece). 4/8 never join slices, as in memory.
// Resolve: pieces fold into their roots (count, bbox, index sums); final ids 1..n go to roots in id order = raster
//   order of the first voxel; objects below minPixels get 0 and the rest are renumbered, as components.ts does.
// Pass 2 (write): slices are labelled again (deterministic), mapped to final ids and written (instance and cleaned
//   label volumes); intensity sums are gathered here in raster order per id, so sums equal the in-memory ones.
// Pass 3 (shape): the written instance volume is read back slice by slice; every instance whose z range covers the
//   slice gets its bbox crop fed to measure/index.ts VolumeShapeAccumulator, the code the in-memory path runs.
// Memory: O(slice) for the volumes + ~100 bytes per provisional id + one bbox crop per instance alive at the slice.
import type { Geometry } from '../../../preload/formats';
import { InputError, type PixelArray } from '../image';
import type { NiftiSlices } from '../io/nifti-stream';
import { NiftiSliceWriter } from '../io/nifti-stream';
import { throwIfAborted } from '../inference/tiling';
import { cropMask, shapeContext, VolumeShapeAccumulator } from '../measure/index';
import { addIntensity, backwardNeighbours, connectedComponents, type ComponentStats, type Connectivity } from './components';
import type { LabelArray } from './labels';
import { checkLabels, PieceTable } from './streaming-common';

export interface VolumeStreamingInput {
  labels: NiftiSlices;
  /** Channel-0 intensities, same size. */
  intensity?: NiftiSlices;
  connectivity: Connectivity;
  minPixels?: number;
  geometry: Geometry;
  /** Where the instance volume goes (.nii.gz or .nii); read back for the shape pass. */
  instancesPath: string;
  /** Where the cleaned label volume goes (omit: not written). */
  labelsPath?: string;
  /** Per written slice: z, cleaned labels, final ids and the intensity slice when given (previews). */
  onSlice?: (z: number, labels: LabelArray, ids: Uint32Array, intensity: PixelArray | null) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface VolumeStreamingResult {
  stats: ComponentStats[];
  /** Labelled voxels per label value (index = value), after objects below minPixels were cleared. */
  perValue: Float64Array;
  valid: number;
  /** Largest label value other than 255 and 65535 (the class count pipeline.ts derives). */
  maxLabel: number;
  nodataLabel: number;
}

/** A slice as a label array, checked as pipeline.ts checks whole label maps (wide only when the volume is). */
function asLabels(data: PixelArray, wide: boolean, file: string): LabelArray {
  checkLabels(data, file);
  if (wide) return data instanceof Uint16Array ? data : Uint16Array.from(data);
  return data instanceof Uint8Array ? data : Uint8Array.from(data);
}

/** Largest label value of a volume (one read pass); uint8 files skip it. */
async function scanMax(src: NiftiSlices, signal?: AbortSignal): Promise<number> {
  if (src.layout.dtype === 'uint8') return 255;
  const reader = src.slices();
  let max = 0;
  try {
    for (let z = 0; z < src.layout.depth; z++) {
      throwIfAborted(signal);
      const s = await reader.next();
      asLabels(s, true, src.file);
      for (let i = 0; i < s.length; i++) if (s[i]! > max) max = s[i]!;
    }
  } finally {
    await reader.close();
  }
  return max;
}

/** Passes 0-2: components, statistics and the written volumes. */
export async function streamVolumeComponents(input: VolumeStreamingInput): Promise<VolumeStreamingResult> {
  const src = input.labels;
  const { width: W, height: H, depth: D } = src.layout;
  if (src.layout.channels !== 1) throw new InputError(src.file, `a label map has one channel; this has ${src.layout.channels}`);
  const plane = W * H;
  const max = await scanMax(src, input.signal);
  // As pipeline.ts: uint16 labels (nodata 65535) as soon as a value is above 255.
  const wide = src.layout.dtype !== 'uint8' && max > 255;
  const nodata = wide ? 65535 : 255;
  const inPlane: Connectivity = input.connectivity === 6 || input.connectivity === 4 ? 4 : 8;
  const across = backwardNeighbours(input.connectivity, true).filter(([, , dz]) => dz < 0);
  const labelSlice = (cls: LabelArray): Uint32Array =>
    connectedComponents({ labels: cls, width: W, height: H, depth: 1, nodataLabel: nodata, connectivity: inPlane }).instances;

  const table = new PieceTable();
  const bases = new Float64Array(D);
  let prevCls: LabelArray | null = null;
  const prevIds = new Uint32Array(plane);

  // ---- pass 1
  const reader = src.slices();
  try {
    for (let z = 0; z < D; z++) {
      throwIfAborted(input.signal);
      const cls = asLabels(await reader.next(), wide, src.file);
      const ids = labelSlice(cls);
      let k = 0;
      for (let i = 0; i < plane; i++) if (ids[i]! > k) k = ids[i]!;
      const base = table.add(k, z);
      bases[z] = base;
      table.addPixels(cls, ids, base, W, H, 0, z, nodata);
      // Join with the previous slice.
      if (prevCls && across.length > 0) {
        for (let y = 0; y < H; y++) {
          for (let x = 0; x < W; x++) {
            const i = y * W + x;
            const c = cls[i]!;
            if (c === 0 || c === nodata) continue;
            for (const [dx, dy] of across) {
              const nx = x + dx;
              const ny = y + dy;
              if (nx < 0 || nx >= W || ny < 0 || ny >= H) continue;
              const j = ny * W + nx;
              if (prevCls[j] !== c) continue;
              table.union(base + ids[i]!, prevIds[j]!);
            }
          }
        }
      }
      prevCls = cls;
      for (let i = 0; i < plane; i++) prevIds[i] = ids[i] === 0 ? 0 : base + ids[i]!;
    }
  } finally {
    await reader.close();
  }

  // ---- resolve: fold pieces into their roots (the smallest id of each set); final ids in id order.
  const { stats, finalOf } = table.resolve(input.minPixels ?? 0);
  const { perValue, valid, maxLabel } = table;

  // ---- pass 2
  const instWide = stats.length >= 65536;
  const writers: NiftiSliceWriter[] = [];
  const labelsIn = src.slices();
  const intensityIn = input.intensity?.slices() ?? null;
  try {
    const instWriter = await NiftiSliceWriter.open(input.instancesPath, { width: W, height: H, depth: D, dtype: instWide ? 'uint32' : 'uint16', geometry: input.geometry });
    writers.push(instWriter);
    const labelWriter = input.labelsPath ? await NiftiSliceWriter.open(input.labelsPath, { width: W, height: H, depth: D, dtype: wide ? 'uint16' : 'uint8', geometry: input.geometry }) : null;
    if (labelWriter) writers.push(labelWriter);
    const out = new Uint32Array(plane);
    const narrow = new Uint16Array(instWide ? 0 : plane);
    for (let z = 0; z < D; z++) {
      throwIfAborted(input.signal);
      // The reader hands out a fresh buffer per slice, so cleaning it in place is safe.
      const cls = asLabels(await labelsIn.next(), wide, src.file);
      const ids = labelSlice(cls);
      const base = bases[z]!;
      for (let i = 0; i < plane; i++) {
        const local = ids[i]!;
        const id = local === 0 ? 0 : finalOf[base + local]!;
        out[i] = id;
        if (local !== 0 && id === 0) cls[i] = 0;
      }
      const intensity = intensityIn ? await intensityIn.next() : null;
      if (intensity) {
        for (let i = 0; i < plane; i++) {
          const id = out[i]!;
          if (id === 0) continue;
          addIntensity(stats[id - 1]!, intensity[i]!);
        }
      }
      if (instWide) await instWriter.write(out);
      else {
        narrow.set(out);
        await instWriter.write(narrow);
      }
      if (labelWriter) await labelWriter.write(cls);
      if (input.onSlice) await input.onSlice(z, cls, out, intensity);
    }
    for (const w of writers.splice(0)) await w.close();
  } catch (err) {
    for (const w of writers) await w.abort().catch(() => undefined);
    throw err;
  } finally {
    await labelsIn.close();
    await intensityIn?.close();
  }
  return { stats, perValue, valid, maxLabel, nodataLabel: nodata };
}

/** Pass 3: shape fields of every instance (order of `stats`) from the instance volume written by pass 2. */
export async function streamVolumeShapes(stats: ComponentStats[], instances: NiftiSlices, options: { geometry: Geometry; connectivity: Connectivity; signal?: AbortSignal }): Promise<Array<Record<string, unknown>>> {
  const { width: W, height: H, depth: D } = instances.layout;
  const ctx = shapeContext(options.geometry, W, H, options.connectivity, null);
  const out = new Array<Record<string, unknown>>(stats.length);
  // Instances alive at the current slice; ids grow with their first slice.
  let alive: Array<{ s: ComponentStats; acc: VolumeShapeAccumulator }> = [];
  let next = 0;
  const reader = instances.slices();
  try {
    for (let z = 0; z < D && (next < stats.length || alive.length > 0); z++) {
      throwIfAborted(options.signal);
      const slice = await reader.next();
      for (; next < stats.length && stats[next]!.min[2] === z; next++) alive.push({ s: stats[next]!, acc: new VolumeShapeAccumulator(stats[next]!, ctx) });
      for (const { s, acc } of alive) {
        const [x0, y0] = s.min;
        acc.add(z, cropMask(slice, W, H, 0, s.id, x0, y0, s.max[0] - x0 + 1, s.max[1] - y0 + 1));
      }
      alive = alive.filter(({ s, acc }) => {
        if (s.max[2] > z) return true;
        out[s.id - 1] = acc.finish();
        return false;
      });
    }
  } finally {
    await reader.close();
  }
  return out;
}
