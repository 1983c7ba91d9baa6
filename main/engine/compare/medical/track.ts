// Lesion tracking across dates: every date's instance map (3D, 26-connected, as segment/measure make it) is brought
// onto the baseline grid by its registration, and instances are matched to the tracks of earlier dates by voxel
// overlap. Each follow-up instance joins the track it overlaps most; a track that receives several instances has
// split (a fragmented lesion: measured as the sum of its pieces), tracks whose lesions coalesced into one instance
// have merged (measured as one: the earliest track carries the measurement, the others 0, as RECIST 1.1 records
// coalesced lesions). An instance that overlaps no earlier lesion starts a track: `new` when measurable (long axis
// >= 10 mm on >= 2 slices), else `nonmeasurable` (it changes no category until it becomes measurable).
// Track ids are 1.. in the order tracks start (baseline instances by id, then each date's new lesions by id), so
// they stay the same however many dates follow.

/** Measurements of one instance, as instances.json gives them. */
export interface InstanceMeasure {
  id: number;
  classId: number;
  className: string;
  volumeMl: number;
  longAxisMm: number | null;
  shortAxisMm: number | null;
  /** Slices the instance spans (bbox depth). */
  slices: number;
  /** [low, high] volume range when the result carries one (measurement uncertainty). */
  volumeMlRange?: [number, number];
}

/** One date, with its instance map already resampled onto the baseline grid (0 = no instance). */
export interface TrackingInput {
  instancesOnBaseline: Uint32Array;
  measures: InstanceMeasure[];
}

export type TrackStatus = 'matched' | 'new' | 'gone' | 'split' | 'merged' | 'nonmeasurable';
/** State of a track on one date. */
export type DateState = 'absent' | 'present' | 'split' | 'merged' | 'gone' | 'new' | 'nonmeasurable';

export interface Track {
  track: number;
  status: TrackStatus;
  /** Instance id per date: one id, several (a fragmented lesion), or null where the lesion is absent. */
  instances: Array<number | number[] | null>;
  /** Per date; null before the lesion first appears, 0 once it is gone (or merged into another track). */
  volumeMl: Array<number | null>;
  longAxisMm: Array<number | null>;
  shortAxisMm: Array<number | null>;
  /** Sum over pieces of long x short axis (RANO's product of perpendicular diameters). */
  productMm2: Array<number | null>;
  /** Volume change of the last date relative to the baseline, in percent (null without a baseline volume). */
  changePct: number | null;
  states: DateState[];
  /** Date index at which the lesion first appeared. */
  firstIndex: number;
  /** Date index at which a new lesion first was measurable (PD from then on); absent for others. */
  newAt?: number;
  /** For a merged track: the track that carries the coalesced lesion's measurement on the last date. */
  mergedInto?: number;
  className: string;
  /** Whether the baseline lesion is measurable for RECIST (long axis >= 10 mm, >= 2 slices) and RANO (both axes). */
  measurableRecist: boolean;
  measurableRano: boolean;
  volumeMlRange: Array<[number, number] | null>;
}

export const MEASURABLE_MM = 10;

export function measurableRecist(m: Pick<InstanceMeasure, 'longAxisMm' | 'slices'>): boolean {
  return (m.longAxisMm ?? 0) >= MEASURABLE_MM && m.slices >= 2;
}

export function measurableRano(m: Pick<InstanceMeasure, 'longAxisMm' | 'shortAxisMm' | 'slices'>): boolean {
  return (m.longAxisMm ?? 0) >= MEASURABLE_MM && (m.shortAxisMm ?? 0) >= MEASURABLE_MM && m.slices >= 2;
}

/** Overlap counts between reference tracks (ref map values) and instances (inst map values), as "t:i" -> voxels. */
function overlaps(ref: Uint32Array, inst: Uint32Array): Map<number, Map<number, number>> {
  const byInstance = new Map<number, Map<number, number>>();
  for (let v = 0; v < inst.length; v++) {
    const i = inst[v]!;
    const t = ref[v]!;
    if (i === 0 || t === 0) continue;
    let m = byInstance.get(i);
    if (!m) byInstance.set(i, (m = new Map()));
    m.set(t, (m.get(t) ?? 0) + 1);
  }
  return byInstance;
}

function voxelCounts(map: Uint32Array): Map<number, number> {
  const out = new Map<number, number>();
  for (let v = 0; v < map.length; v++) {
    const i = map[v]!;
    if (i) out.set(i, (out.get(i) ?? 0) + 1);
  }
  return out;
}

/** Overlap below this fraction of the smaller object is contact after registration, not the same lesion. */
const MIN_OVERLAP_FRACTION = 0.05;

export function trackLesions(dates: TrackingInput[]): Track[] {
  const n = dates.length;
  if (n === 0) return [];
  const tracks: Track[] = [];
  const voxels = dates[0]!.instancesOnBaseline.length;
  // Reference map: per baseline voxel, the track that covered it most recently (a lesion gone on the previous date
  // still claims its last place, so one that reappears there is matched, not new).
  const ref = new Uint32Array(voxels);
  const refCount = new Map<number, number>();
  const empty = (): Array<null> => new Array<null>(n).fill(null);
  const newTrack = (firstIndex: number, m: InstanceMeasure): Track => {
    const t: Track = {
      track: tracks.length + 1,
      status: 'matched',
      instances: empty(),
      volumeMl: empty(),
      longAxisMm: empty(),
      shortAxisMm: empty(),
      productMm2: empty(),
      changePct: null,
      states: new Array<DateState>(n).fill('absent'),
      firstIndex,
      className: m.className,
      measurableRecist: firstIndex === 0 && measurableRecist(m),
      measurableRano: firstIndex === 0 && measurableRano(m),
      volumeMlRange: empty(),
    };
    tracks.push(t);
    return t;
  };
  for (let d = 0; d < n; d++) {
    const { instancesOnBaseline: inst, measures } = dates[d]!;
    const byId = new Map(measures.map((m) => [m.id, m]));
    const size = voxelCounts(inst);
    const ov = overlaps(ref, inst);
    // Each instance joins the track it overlaps most (ties: the older track).
    const owner = new Map<number, number>();
    for (const [i, m] of ov) {
      let best = 0;
      let bestCount = 0;
      for (const [t, c] of m) {
        const smaller = Math.min(size.get(i) ?? 0, refCount.get(t) ?? 0);
        if (c < Math.max(1, MIN_OVERLAP_FRACTION * smaller)) continue;
        if (c > bestCount || (c === bestCount && t < best)) {
          best = t;
          bestCount = c;
        }
      }
      if (best) owner.set(i, best);
    }
    const assigned = new Map<number, number[]>();
    for (const [i, t] of owner) {
      const list = assigned.get(t) ?? [];
      list.push(i);
      assigned.set(t, list);
    }
    // Tracks that overlap an instance owned by another track coalesced into it.
    const mergeBest = new Map<number, { into: number; voxels: number }>();
    for (const [i, m] of ov) {
      const o = owner.get(i);
      if (!o) continue;
      for (const [t, c] of m) {
        if (t === o || assigned.has(t)) continue;
        const smaller = Math.min(size.get(i) ?? 0, refCount.get(t) ?? 0);
        if (c < Math.max(1, MIN_OVERLAP_FRACTION * smaller)) continue;
        const prev = mergeBest.get(t);
        if (!prev || c > prev.voxels) mergeBest.set(t, { into: o, voxels: c });
      }
    }
    const mergedInto = new Map([...mergeBest].map(([t, b]) => [t, b.into]));
    const absorbed = new Set(mergedInto.values());
    for (const t of tracks) {
      if (d === 0) break;
      const ids = (assigned.get(t.track) ?? []).sort((a, b) => a - b);
      const existed = t.firstIndex < d;
      if (!existed) continue;
      if (ids.length > 0) {
        const ms = ids.map((i) => byId.get(i)).filter((m): m is InstanceMeasure => !!m);
        setMeasures(t, d, ids, ms);
        t.states[d] = ids.length > 1 ? 'split' : absorbed.has(t.track) ? 'merged' : 'present';
        if (t.newAt === undefined && t.states[t.firstIndex] === 'nonmeasurable' && ms.some(measurableRecist)) t.newAt = d;
      } else if (mergedInto.has(t.track) || (t.states[d - 1] === 'merged' && t.mergedInto !== undefined && assigned.has(t.mergedInto))) {
        // Coalesced now, or still part of the lesion it coalesced into earlier (whose voxels now carry that track).
        const into = mergedInto.get(t.track) ?? t.mergedInto!;
        const carrier = assigned.get(into) ?? [];
        t.instances[d] = carrier.length === 1 ? carrier[0]! : carrier.slice();
        zero(t, d);
        t.states[d] = 'merged';
        t.mergedInto = into;
      } else {
        t.instances[d] = null;
        zero(t, d);
        t.states[d] = 'gone';
      }
    }
    // A track that carries coalesced lesions is merged too, on every date it carries them.
    for (const t of tracks) {
      if (t.states[d] !== 'merged' || t.mergedInto === undefined) continue;
      const carrier = tracks[t.mergedInto - 1];
      if (carrier && carrier.states[d] === 'present') carrier.states[d] = 'merged';
    }
    // Instances that overlap no earlier lesion start tracks (every instance on the baseline).
    const fresh = [...size.keys()].filter((i) => !owner.has(i)).sort((a, b) => a - b);
    for (const i of fresh) {
      const m = byId.get(i);
      if (!m) continue;
      const t = newTrack(d, m);
      setMeasures(t, d, [i], [m]);
      if (d === 0) t.states[d] = 'present';
      else if (measurableRecist(m)) {
        t.states[d] = 'new';
        t.newAt = d;
      } else t.states[d] = 'nonmeasurable';
      owner.set(i, t.track);
    }
    // This date's lesions now claim their voxels in the reference map.
    for (let v = 0; v < voxels; v++) {
      const i = inst[v]!;
      if (!i) continue;
      const t = owner.get(i);
      if (t) ref[v] = t;
    }
    refCount.clear();
    for (const [t, c] of voxelCounts(ref)) refCount.set(t, c);
  }
  for (const t of tracks) finish(t, n);
  return tracks;
}

function setMeasures(t: Track, d: number, ids: number[], ms: InstanceMeasure[]): void {
  t.instances[d] = ids.length === 1 ? ids[0]! : ids;
  t.volumeMl[d] = ms.reduce((s, m) => s + m.volumeMl, 0);
  t.longAxisMm[d] = ms.reduce((s, m) => s + (m.longAxisMm ?? 0), 0);
  t.shortAxisMm[d] = ms.reduce((s, m) => s + (m.shortAxisMm ?? 0), 0);
  t.productMm2[d] = ms.reduce((s, m) => s + (m.longAxisMm ?? 0) * (m.shortAxisMm ?? 0), 0);
  const ranges = ms.map((m) => m.volumeMlRange);
  t.volumeMlRange[d] = ranges.every((r) => r) ? [ranges.reduce((s, r) => s + r![0], 0), ranges.reduce((s, r) => s + r![1], 0)] : null;
}

function zero(t: Track, d: number): void {
  t.volumeMl[d] = 0;
  t.longAxisMm[d] = 0;
  t.shortAxisMm[d] = 0;
  t.productMm2[d] = 0;
  t.volumeMlRange[d] = null;
}

/** Overall status (from the last date, or how the track began) and change relative to the baseline. */
function finish(t: Track, n: number): void {
  const last = t.states[n - 1]!;
  if (t.firstIndex > 0) t.status = t.newAt !== undefined ? 'new' : 'nonmeasurable';
  else if (last === 'gone') t.status = 'gone';
  else if (last === 'merged') t.status = 'merged';
  else if (last === 'split') t.status = 'split';
  else t.status = 'matched';
  if (t.status !== 'merged') delete t.mergedInto;
  const v0 = t.volumeMl[0];
  const vn = t.volumeMl[n - 1];
  t.changePct = v0 && v0 > 0 && vn !== null && vn !== undefined ? ((vn - v0) / v0) * 100 : null;
}
