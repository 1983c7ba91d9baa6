// Series assembly: groups frames by SeriesInstanceUID, orders them by position along the slice normal (never by
// file name or InstanceNumber), derives spacing from PixelSpacing and the real distance between positions, and
// refuses series with gaps, uneven spacing, tilt, duplicates, mixed orientations or sizes unless allowed.

import type { MedicalGeometry, Vec3 } from '../../../../preload/formats';
import type { DicomFileHeader, FrameHeader } from './header';

/** One slice of a future volume: a frame of a file. */
export interface SliceRef {
  file: DicomFileHeader;
  frameIndex: number;
  frame: FrameHeader;
}

export interface SeriesGroup {
  /**
   * What opens it: the SeriesInstanceUID, "<uid>#<n>" for the n-th volume (n >= 2) of a series holding several at
   * each position, or "file:<path>" for a file without one.
   */
  uid: string;
  slices: SliceRef[];
  /** One of several volumes of the same series (time points, echoes or b-values), counted from 1. */
  volume?: { index: number; of: number };
}

/**
 * What reopens the series a result was made from: its SeriesInstanceUID, with "#n" for the n-th volume (n >= 2) of
 * a series holding several (`seriesVolume` in instances.json's source).
 */
export function seriesKeyOf(source: { seriesInstanceUid?: unknown; seriesVolume?: unknown }): string | undefined {
  const uid = source.seriesInstanceUid;
  if (typeof uid !== 'string' || !uid) return undefined;
  const n = source.seriesVolume;
  return typeof n === 'number' && Number.isInteger(n) && n >= 2 ? `${uid}#${n}` : uid;
}

/** A series description with the volume named when its series holds several ("DSC (volume 2 of 3)"). */
export function describeVolume(description: string | undefined, volume: SeriesGroup['volume']): string | undefined {
  return volume ? `${description ?? 'series'} (volume ${volume.index} of ${volume.of})` : description;
}

/** The SeriesInstanceUID behind a group's key (a volume's "#n" taken off), or undefined for a file without one. */
export function seriesUidOfKey(key: string): string | undefined {
  return key.startsWith('file:') ? undefined : key.replace(/#\d+$/, '');
}

/**
 * A series whose single-frame images repeat every slice position the same number of times, k (a perfusion or
 * diffusion series, several echoes): k volumes, the n-th made of the n-th image at each position in acquisition
 * order (acquisitionOrder, then file name), as dcm2niix splits them. Anything else stays one group (and is refused
 * later if positions repeat unevenly).
 */
function splitVolumes(uid: string, slices: SliceRef[]): SeriesGroup[] {
  if (slices.length < 4 || uid.startsWith('file:') || slices.some((s) => s.file.numberOfFrames > 1 || !s.frame.positionMm)) return [{ uid, slices }];
  const at = new Map<string, SliceRef[]>();
  for (const s of slices) {
    const key = s.frame.positionMm!.map((v) => Math.round(v * 100)).join(',');
    at.set(key, [...(at.get(key) ?? []), s]);
  }
  const k = slices.length / at.size;
  if (at.size < 2 || k < 2 || ![...at.values()].every((list) => list.length === k)) return [{ uid, slices }];
  const order = (a: SliceRef, b: SliceRef): number => {
    const [x, y] = [a.file.acquisitionOrder, b.file.acquisitionOrder];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
    return a.file.path < b.file.path ? -1 : a.file.path > b.file.path ? 1 : 0;
  };
  const sorted = [...at.values()].map((list) => [...list].sort(order));
  return Array.from({ length: k }, (_, n) => ({ uid: n === 0 ? uid : `${uid}#${n + 1}`, slices: sorted.map((list) => list[n]!), volume: { index: n + 1, of: k } }));
}

export interface AssembledSeries {
  slices: SliceRef[];
  geometry: MedicalGeometry;
  /** Problems accepted because the caller allowed them (gaps, uneven spacing). */
  warnings: string[];
  /** True when the slice order comes from positions; false when there were none (file order then frame order). */
  sortedByPosition: boolean;
  pixelSpacingMissing: boolean;
  /** Planes of the volume: the slices plus the missing ones filled in (`filledPlanes`). */
  depth: number;
  /** Plane (z index in the volume) of each of `slices`; its own index unless missing slices were filled before it. */
  planeOf: number[];
  /** Images of the series left out because their size, pixel format or orientation differs from the rest's. */
  leftOut?: { count: number; why: string };
  /**
   * Planes where a gap of whole slice steps left no image (gaps allowed): filled by linear interpolation between the
   * acquired neighbours, so every acquired slice sits at its true position and distances and volumes across the gap
   * come out right; what lies on these planes is interpolated, not acquired.
   */
  filledPlanes: number[];
}

export class SeriesProblem extends Error {}

export function groupBySeries(headers: DicomFileHeader[]): SeriesGroup[] {
  const groups = new Map<string, SliceRef[]>();
  // A folder holding the same images twice (a study copied into it again) is read once: the first copy of each image
  // (same SOP Instance UID, position and file size), so copies are neither "slices sharing a position" nor a second
  // volume. Different images a careless anonymiser gave one UID differ in position or size and are all kept.
  const seen = new Set<string>();
  for (const file of headers) {
    if (!file.pixel && !file.floatPixelData) continue;
    if (file.sopInstanceUid) {
      const key = `${file.seriesInstanceUid ?? ''}|${file.sopInstanceUid}|${file.frames[0]?.positionMm?.join(',') ?? ''}|${file.fileSizeBytes}`;
      if (seen.has(key)) continue;
      seen.add(key);
    }
    const uid = file.seriesInstanceUid ?? `file:${file.path}`;
    const list = groups.get(uid) ?? [];
    // Float-pixel files keep one placeholder slice so the series is listed and refused with its reason.
    const frames = file.frames.length > 0 ? file.frames : [{ rescaleSlope: 1, rescaleIntercept: 0 }];
    frames.forEach((frame, frameIndex) => list.push({ file, frameIndex, frame }));
    groups.set(uid, list);
  }
  return [...groups].flatMap(([uid, slices]) => splitVolumes(uid, slices));
}

const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const norm = (a: Vec3): number => Math.hypot(a[0], a[1], a[2]);

function unit(a: Vec3): Vec3 {
  const n = norm(a) || 1;
  return [a[0] / n, a[1] / n, a[2] / n];
}

function crossV(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

const fmt = (mm: number): string => `${Number(mm.toFixed(3))} mm`;

/** Whether two slices can be planes of one volume: the same size and pixel format, orientations within 1e-3. */
function sameStack(a: SliceRef, b: SliceRef): boolean {
  const [f, g] = [a.file, b.file];
  if (f.columns !== g.columns || f.rows !== g.rows || f.samplesPerPixel !== g.samplesPerPixel || f.bitsAllocated !== g.bitsAllocated || f.photometric !== g.photometric) return false;
  const [p, q] = [a.frame.orientation, b.frame.orientation];
  if (!p || !q) return !p && !q;
  return p.every((v, i) => Math.abs(v - (q[i] ?? 0)) <= 1e-3);
}

/**
 * The images of a series that make one volume: all of them, or, when some differ in size, pixel format or
 * orientation (a localizer or a reformat filed under the same series UID, as scanners do), the largest group that
 * agrees (the first such group on a tie), the rest counted as left out, as dcm2niix splits such series.
 */
function largestStack(slices: SliceRef[]): { slices: SliceRef[]; leftOut?: { count: number; why: string } } {
  const groups: SliceRef[][] = [];
  for (const s of slices) {
    const g = groups.find((list) => sameStack(list[0]!, s));
    if (g) g.push(s);
    else groups.push([s]);
  }
  if (groups.length <= 1) return { slices };
  const kept = groups.reduce((a, b) => (b.length > a.length ? b : a));
  const keep = new Set(kept);
  const other = slices.filter((s) => !keep.has(s));
  const k = kept[0]!;
  const sizes = new Set(other.map((s) => `${s.file.columns}x${s.file.rows}`));
  const why = other.every((s) => s.file.columns === k.file.columns && s.file.rows === k.file.rows) ? 'another orientation or pixel format' : `another size (${[...sizes].join(', ')}) or orientation`;
  return { slices: kept, leftOut: { count: other.length, why } };
}

/** Orders and checks a series' slices and computes its geometry. Throws SeriesProblem when it refuses. */
export function assembleSeries(group: SeriesGroup, allowGaps: boolean): AssembledSeries {
  const stack = largestStack(group.slices);
  const slices = stack.slices;
  const first = slices[0];
  if (!first) throw new SeriesProblem('the series has no images');
  const f0 = first.file;
  for (const s of slices) {
    const f = s.file;
    if (f.rows !== f0.rows || f.columns !== f0.columns) {
      throw new SeriesProblem(`mixed image sizes in one series (${f0.columns}x${f0.rows} and ${f.columns}x${f.rows})`);
    }
    if (f.samplesPerPixel !== f0.samplesPerPixel || f.bitsAllocated !== f0.bitsAllocated || f.photometric !== f0.photometric) {
      throw new SeriesProblem('mixed pixel formats in one series (samples per pixel, bits allocated or photometric differ)');
    }
  }

  const warnings: string[] = [];
  const spacings = slices.map((s) => s.frame.pixelSpacingMm).filter((p): p is [number, number] => p !== undefined);
  const ps = spacings[0];
  if (ps && spacings.some((p) => Math.abs(p[0] - ps[0]) > 1e-4 * ps[0] || Math.abs(p[1] - ps[1]) > 1e-4 * ps[1])) {
    throw new SeriesProblem('mixed pixel spacings in one series');
  }
  // PixelSpacing is [row spacing (y), column spacing (x)].
  const spacingX = ps?.[1] ?? 1;
  const spacingY = ps?.[0] ?? 1;

  const o = first.frame.orientation;
  const rowDir: Vec3 = o ? unit([o[0] ?? 1, o[1] ?? 0, o[2] ?? 0]) : [1, 0, 0];
  const colDir: Vec3 = o ? unit([o[3] ?? 0, o[4] ?? 1, o[5] ?? 0]) : [0, 1, 0];
  const normal = unit(crossV(rowDir, colDir));
  const thickness = first.frame.sliceThicknessMm;

  const positioned = slices.every((s) => s.frame.positionMm !== undefined && s.frame.orientation !== undefined);
  if (!positioned || slices.length === 1) {
    const spacingZ = slices.length > 1 ? (f0.spacingBetweenSlicesMm ?? thickness ?? 1) : (thickness ?? f0.spacingBetweenSlicesMm ?? 1);
    if (slices.length > 1) warnings.push('no slice positions: slices kept in file and frame order');
    return {
      slices,
      geometry: {
        type: 'medical',
        spacingMm: [spacingX, spacingY, spacingZ],
        originMm: first.frame.positionMm ?? [0, 0, 0],
        direction: [...rowDir, ...colDir, ...normal],
      },
      warnings: slices.length > 1 ? warnings : [],
      sortedByPosition: false,
      pixelSpacingMissing: ps === undefined,
      depth: slices.length,
      planeOf: slices.map((_, i) => i),
      filledPlanes: [],
      ...(stack.leftOut ? { leftOut: stack.leftOut } : {}),
    };
  }

  for (const s of slices) {
    const so = s.frame.orientation ?? [];
    if (so.some((v, i) => Math.abs(v - (o?.[i] ?? 0)) > 1e-3)) {
      throw new SeriesProblem('mixed slice orientations in one series (ImageOrientationPatient differs)');
    }
  }
  const keyed = slices.map((s, i) => ({ s, i, d: dot(s.frame.positionMm as Vec3, normal) }));
  keyed.sort((a, b) => a.d - b.d || a.i - b.i);
  const sorted = keyed.map((k) => k.s);
  const steps: number[] = [];
  for (let i = 1; i < keyed.length; i++) steps.push((keyed[i]?.d ?? 0) - (keyed[i - 1]?.d ?? 0));
  const spacingZ = median(steps);
  const dupes = steps.filter((d) => d < 1e-3).length;
  if (dupes > 0 || spacingZ <= 1e-3) {
    throw new SeriesProblem(
      `${dupes} slice(s) share a position with another (several acquisitions or time points in one series?)`,
    );
  }
  // Positions must advance along the normal; an in-plane drift means gantry tilt (a sheared volume).
  for (let i = 1; i < sorted.length; i++) {
    const step = sub(sorted[i]?.frame.positionMm as Vec3, sorted[i - 1]?.frame.positionMm as Vec3);
    const along = dot(step, normal);
    const drift = norm(sub(step, [normal[0] * along, normal[1] * along, normal[2] * along]));
    if (drift > 0.01 * Math.abs(along) + 1e-3) {
      throw new SeriesProblem(`slice positions are not along the slice normal (gantry tilt or sheared series; drift ${fmt(drift)})`);
    }
  }
  const tolerance = Math.max(0.01 * spacingZ, 1e-3);
  const gaps = steps.filter((d) => d > 1.5 * spacingZ);
  const uneven = steps.filter((d) => d <= 1.5 * spacingZ && Math.abs(d - spacingZ) > tolerance);
  const problems: string[] = [];
  const missing = gaps.reduce((n, d) => n + Math.round(d / spacingZ) - 1, 0);
  if (gaps.length > 0) {
    problems.push(`${gaps.length} gap(s) in the slice positions: about ${missing} missing slice(s) (largest step ${fmt(Math.max(...gaps))}, usual ${fmt(spacingZ)})`);
  }
  if (uneven.length > 0) {
    problems.push(`uneven slice spacing (${fmt(Math.min(...steps))} to ${fmt(Math.max(...steps))})`);
  }
  if (problems.length > 0 && !allowGaps) throw new SeriesProblem(`${problems.join('; ')}; open with gaps allowed (--allow-gaps) to read it anyway`);

  // Gaps of whole slice steps (slices lost in transfer or export) on an otherwise even series: each acquired slice
  // goes to its true plane and the missing planes are interpolated, as a regularised grid; anything else (uneven
  // steps, a gap of 2.5 steps) stays stacked at the usual spacing, and the warning says that.
  const planeOf = sorted.map((_, i) => i);
  const filledPlanes: number[] = [];
  const wholeSteps = gaps.every((d) => Math.abs(d / spacingZ - Math.round(d / spacingZ)) <= 0.1);
  // No more planes made up than acquired: a longer gap is a damaged position or another acquisition, not lost slices.
  if (gaps.length > 0 && uneven.length === 0 && wholeSteps && missing <= sorted.length) {
    let plane = 0;
    for (let i = 1; i < sorted.length; i++) {
      const k = Math.max(1, Math.round((steps[i - 1] ?? spacingZ) / spacingZ));
      for (let m = 1; m < k; m++) filledPlanes.push(plane + m);
      plane += k;
      planeOf[i] = plane;
    }
    const at = filledPlanes.length <= 8 ? filledPlanes.join(', ') : `${filledPlanes.slice(0, 8).join(', ')} and ${filledPlanes.length - 8} more`;
    problems[0] = `${problems[0]}; filled at their positions by linear interpolation between the neighbouring slices (z = ${at}, zero-based)`;
  }
  warnings.push(...problems);

  const firstSorted = sorted[0] as SliceRef;
  return {
    slices: sorted,
    geometry: {
      type: 'medical',
      spacingMm: [spacingX, spacingY, spacingZ],
      originMm: [...(firstSorted.frame.positionMm as Vec3)],
      direction: [...rowDir, ...colDir, ...normal],
    },
    warnings,
    sortedByPosition: true,
    pixelSpacingMissing: ps === undefined,
    depth: (planeOf[planeOf.length - 1] ?? 0) + 1,
    planeOf,
    filledPlanes,
    ...(stack.leftOut ? { leftOut: stack.leftOut } : {}),
  };
}
