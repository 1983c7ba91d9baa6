// Size ranges: a [low, high] beside every instance's and every class's size, measured from the object's own
// calibrated probabilities (issue 22). Two definitions; the manifest's calibration.sizeRange says which, with the
// parameters chosen on the model's validation split (docs/inference.md, "Calibration and size ranges"):
// - 'thresholds': low = the object's pixels whose probability of its class is >= innerThreshold; high = the object's
//   pixels plus its hesitant surroundings (below) counted as whole pixels.
// - 'probabilityMass': low = n - lowScale x (sum over the object's pixels of 1 - p), the expected number of its
//   pixels that are not its class, scaled; high = n + highScale x (sum over its hesitant surroundings of p), the
//   expected number of its class's pixels it missed, scaled (low floored at 0, both rounded outwards to whole
//   pixels). The scales are fitted because neighbouring pixels err together: the sums assume independent pixels
//   and are too small by a factor that validation measures.
// Hesitant surroundings of an object: every pixel connected to it (same connectivity as the instances, through
// such pixels) whose probability of the object's class is >= outerThreshold, as the pixel's most probable other
// class or as its own class before the clean-up removed it (keepLargestComponents, minimum size); pixels of another
// object of the same class never count. Each such pixel counts for one object only (the nearest, by breadth-first
// growth from all objects at once).
// Per class (the class total's object is the whole image): low = the sum of its instances' lows; high = its pixels
// plus (thresholds) every pixel anywhere whose probability of the class is >= outerThreshold, or (probabilityMass)
// highScale x the sum of those pixels' probabilities, so a class the model barely shows still gets the area it
// hesitated over; with the manifest's classScope 'objects' the sum of its instances' highs instead. A sure object
// (probabilities near 1 inside, near 0 around) gets a narrow range; a hesitant outline a wide one.
// Each unit's range is the size scaled by lowPx / pixelCount and highPx / pixelCount (the object's mean pixel size).
import type { ClassRecord, InstanceRecord, SizeRangeCalibration } from '../../../preload/formats';
import type { Connectivity } from '../postprocess/components';
import type { LabelArray } from '../postprocess/labels';

export interface SizeRangeInput {
  /** Instance map, 0 = none, else id (1..n, as the instance records). */
  instances: Uint32Array;
  /** Class label of each instance, index = id - 1. */
  instanceClass: ArrayLike<number>;
  /** Probability of the assigned class per pixel. */
  probability: Float32Array;
  /** The labels as the model gave them, before the clean-up (component filters, size limits) changed them. */
  assignedLabels: LabelArray;
  /** Most probable other class per pixel (label, 0 = none) and its probability. */
  altLabels: LabelArray;
  altProbability: Float32Array;
  width: number;
  height: number;
  depth: number;
  connectivity: Connectivity;
  innerThreshold: number;
  outerThreshold: number;
  /** Classes (labels 1..classCount) that get a class-total range. */
  classCount: number;
}

/** Neighbour offsets [dx, dy, dz] of a connectivity (4/8 in a plane, 6/18/26 in a volume). */
function offsets(connectivity: Connectivity, is3D: boolean): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (let dz = is3D ? -1 : 0; dz <= (is3D ? 1 : 0); dz++) {
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const n = Math.abs(dx) + Math.abs(dy) + Math.abs(dz);
        if (n === 0) continue;
        const keep = connectivity === 4 || connectivity === 6 ? n === 1 : connectivity === 18 ? n <= 2 : true;
        if (keep) out.push([dx, dy, dz]);
      }
    }
  }
  return out;
}

/** What one pass over the maps measures per instance (index = id - 1) and per class (index = label). */
export interface RangePixels {
  /** Threshold definition: pixels >= innerThreshold; the object and its hesitant surroundings. */
  lowPx: number[];
  highPx: number[];
  /** Owner (instance id) of each pixel of the surroundings, 0 elsewhere. */
  grown: Uint32Array;
  /** Per class: its pixels plus every pixel anywhere whose probability of the class is >= outerThreshold. */
  classHighPx: number[];
  /** Pixels of each instance; of each class (its instances' pixels). */
  sizePx: number[];
  classPx: number[];
  /** Probability-mass definition: sum of (1 - p) over the object's pixels; sum of p over its surroundings. */
  doubtPx: number[];
  grownMassPx: number[];
  /** Per class: sum of the class's probability over the pixels outside it that reach outerThreshold. */
  classMassPx: number[];
}

/** Low and high pixel counts per instance (index = id - 1), and the sums the probability-mass range needs. */
export function sizeRangesPx(p: SizeRangeInput): RangePixels {
  const n = p.instanceClass.length;
  const lowPx = new Array<number>(n).fill(0);
  const highPx = new Array<number>(n).fill(0);
  const doubtPx = new Array<number>(n).fill(0);
  const grownMassPx = new Array<number>(n).fill(0);
  const sizePx = new Array<number>(n).fill(0);
  const { width: W, height: H, depth: D } = p;
  const plane = W * H;
  const total = plane * D;
  // Owner of each grown pixel (instance id); the queue holds pixels whose neighbours are still to be looked at.
  const grown = new Uint32Array(total);
  const queue = new Int32Array(total);
  let tail = 0;
  for (let i = 0; i < total; i++) {
    const id = p.instances[i]!;
    if (id === 0) continue;
    highPx[id - 1]!++;
    if (p.probability[i]! >= p.innerThreshold) lowPx[id - 1]!++;
    doubtPx[id - 1]! += 1 - p.probability[i]!;
    sizePx[id - 1]!++;
    queue[tail++] = i;
  }
  const nbs = offsets(p.connectivity, D > 1);
  for (let head = 0; head < tail; head++) {
    const i = queue[head]!;
    const id = p.instances[i] || grown[i]!;
    const cls = p.instanceClass[id - 1]!;
    const z = Math.floor(i / plane);
    const r = i - z * plane;
    const y = Math.floor(r / W);
    const x = r - y * W;
    for (const [dx, dy, dz] of nbs) {
      const nx = x + dx;
      const ny = y + dy;
      const nz = z + dz;
      if (nx < 0 || ny < 0 || nz < 0 || nx >= W || ny >= H || nz >= D) continue;
      const j = nz * plane + ny * W + nx;
      if (grown[j] !== 0) continue;
      const other = p.instances[j]!;
      if (other !== 0 && p.instanceClass[other - 1] === cls) continue;
      const pc = p.assignedLabels[j] === cls ? p.probability[j]! : p.altLabels[j] === cls ? p.altProbability[j]! : 0;
      if (pc < p.outerThreshold) continue;
      grown[j] = id;
      highPx[id - 1]!++;
      grownMassPx[id - 1]! += pc;
      queue[tail++] = j;
    }
  }
  // Class totals: every pixel outside the class's instances whose probability of the class reaches the threshold.
  const maxClass = p.classCount;
  const classHighPx = new Array<number>(maxClass + 1).fill(0);
  const classMassPx = new Array<number>(maxClass + 1).fill(0);
  const classPx = new Array<number>(maxClass + 1).fill(0);
  for (let i = 0; i < total; i++) {
    const id = p.instances[i]!;
    const own = id !== 0 ? p.instanceClass[id - 1]! : 0;
    if (own !== 0) {
      classHighPx[own]!++;
      classPx[own]!++;
    }
    const a = p.assignedLabels[i]!;
    if (a !== 0 && a !== own && a <= maxClass && p.probability[i]! >= p.outerThreshold) {
      classHighPx[a]!++;
      classMassPx[a]! += p.probability[i]!;
    }
    const b = p.altLabels[i]!;
    if (b !== 0 && b !== own && b !== a && b <= maxClass && p.altProbability[i]! >= p.outerThreshold) {
      classHighPx[b]!++;
      classMassPx[b]! += p.altProbability[i]!;
    }
  }
  return { lowPx, highPx, grown, classHighPx, sizePx, classPx, doubtPx, grownMassPx, classMassPx };
}

/** The manifest's calibration.sizeRange as the engine uses it (manifest.ts validates it), without its figures. */
export type SizeRangeParams = Pick<SizeRangeCalibration, 'method' | 'innerThreshold' | 'outerThreshold' | 'lowScale' | 'highScale' | 'classScope'>;

/** Pixel-count ranges per instance and per class under the manifest's definition (see the header). */
export function rangesFromPixels(r: RangePixels, params: SizeRangeParams): { lowPx: number[]; highPx: number[]; classHighPx?: number[] } {
  if ((params.method ?? 'thresholds') === 'thresholds') return params.classScope === 'objects' ? { lowPx: r.lowPx, highPx: r.highPx } : r;
  const a = params.lowScale ?? 1;
  const c = params.highScale ?? 1;
  // Rounded outwards to whole pixels: pixelCountRange stays a count, and the range never narrows by rounding.
  const lowPx = r.doubtPx.map((d, j) => Math.max(0, Math.floor(r.sizePx[j]! - a * d + 1e-9)));
  const highPx = r.grownMassPx.map((m, j) => Math.ceil(r.sizePx[j]! + c * m - 1e-9));
  if (params.classScope === 'objects') return { lowPx, highPx };
  const classHighPx = r.classMassPx.map((m, k) => Math.ceil(r.classPx[k]! + c * m - 1e-9));
  return { lowPx, highPx, classHighPx };
}

/** Size fields that get a `<field>Range` (the physical ones, or pixels when the image has no spacing). */
export const RANGED_SIZE_FIELDS = ['volumeMl', 'areaMm2', 'areaM2', 'areaHa', 'volumePx', 'areaPx'] as const;

const round = (v: number): number => Math.round(v * 1e6) / 1e6;

function withRanges<T extends { pixelCount: number; [k: string]: unknown }>(rec: T, lowPx: number, highPx: number, fallbackPerPx: Map<string, number>): T {
  const out: Record<string, unknown> = { ...rec, pixelCountRange: [lowPx, highPx] };
  for (const f of RANGED_SIZE_FIELDS) {
    const v = rec[f];
    if (typeof v !== 'number') continue;
    // An empty class has no pixels to scale by: it takes the image's pixel size from the other classes.
    const perPx = rec.pixelCount > 0 ? v / rec.pixelCount : (fallbackPerPx.get(f) ?? 0);
    out[`${f}Range`] = [round(perPx * lowPx), round(perPx * highPx)];
  }
  return out as T;
}

/** Adds pixelCountRange and <size>Range to every instance and class (class low = sum of its instances' low). */
export function addSizeRanges(instances: InstanceRecord[], classes: ClassRecord[], ranges: { lowPx: number[]; highPx: number[]; classHighPx?: number[] }): { instances: InstanceRecord[]; classes: ClassRecord[] } {
  const fallbackPerPx = new Map<string, number>();
  const sized = classes.filter((c) => c.pixelCount > 0);
  for (const f of RANGED_SIZE_FIELDS) {
    const withField = sized.filter((c) => typeof c[f] === 'number');
    const px = withField.reduce((t, c) => t + c.pixelCount, 0);
    if (px > 0) fallbackPerPx.set(f, withField.reduce((t, c) => t + (c[f] as number), 0) / px);
  }
  const classLow = new Map<number, number>();
  const classHigh = new Map<number, number>();
  const outInstances = instances.map((rec) => {
    const low = ranges.lowPx[rec.id - 1] ?? rec.pixelCount;
    const high = ranges.highPx[rec.id - 1] ?? rec.pixelCount;
    classLow.set(rec.classId, (classLow.get(rec.classId) ?? 0) + low);
    classHigh.set(rec.classId, (classHigh.get(rec.classId) ?? 0) + high);
    return withRanges(rec, low, high, fallbackPerPx);
  });
  const outClasses = classes.map((c) => withRanges(c, classLow.get(c.id) ?? 0, ranges.classHighPx?.[c.id] ?? classHigh.get(c.id) ?? 0, fallbackPerPx));
  return { instances: outInstances, classes: outClasses };
}
