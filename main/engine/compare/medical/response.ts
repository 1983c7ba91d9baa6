// Response categories of a follow-up, from the tracks and the per-date totals (imaging only: no confirmation scan,
// steroid dose or clinical status enters). Each rule gives exactly one of CR | PR | SD | PD (RANO for low-grade
// glioma also MR); PD takes precedence over PR; the nadir is the smallest value over the earlier dates, baseline
// included. Reasons are sentences in `reasons[]`, never part of a category.
//   volumetric: PD >= +40% total volume vs nadir or a new lesion; PR <= -65% vs baseline; CR nothing left; else SD.
//   recist (1.1): targets = baseline lesions with long axis >= 10 mm on >= 2 slices, at most 5 (2 per organ);
//     sum of long axes; PR <= -30% vs baseline; PD >= +20% and >= 5 mm vs nadir, or a new lesion; CR no lesion left.
//   rano: T2/FLAIR -> RANO for low-grade glioma (sum of products; PR <= -50%, MR -25..-50%, PD >= +25% vs nadir or
//     new); T1 post-contrast (or unknown) -> RANO 2.0 (no MR; PR <= -50%, PD >= +25% vs nadir or new). Measurable:
//     both diameters >= 10 mm on >= 2 slices.
import type { ChangeLesion, MedicalChange } from './index';
import { MEASURABLE_MM, type Track } from './track';

export type Category = 'CR' | 'PR' | 'SD' | 'PD';
export type RanoCategory = Category | 'MR';
export type Sequence = 't2-flair' | 't1-post-contrast' | 'unknown';

export interface Totals {
  volumeMl: number[];
  sumLongAxisMm: number[];
  sumProductsMm2: number[];
  /** Date index of the smallest total volume before the last date (baseline included). */
  nadirIndex: number;
}

export interface Response {
  volumetric: Category;
  recist: Category;
  rano: RanoCategory;
  reasons: string[];
  /** Track ids of the RECIST and RANO target lesions. */
  recistTargets: number[];
  ranoTargets: number[];
  ranoVersion: 'RANO-LGG' | 'RANO 2.0';
  statement: string;
  /** The same categories at every follow-up date (index >= 1). */
  byTimepoint: Array<{ index: number; volumetric: Category; recist: Category; rano: RanoCategory }>;
}

export const IMAGING_ONLY =
  'Imaging-only assessment: no confirmation scan, steroid dose or clinical status was considered; a clinician confirms the response.';

const RECIST_MAX_TARGETS = 5;
const RECIST_MAX_PER_ORGAN = 2;
const RANO_MAX_TARGETS = { 'RANO-LGG': 5, 'RANO 2.0': 3 } as const;

const pct = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(1)}%`;
const mm = (v: number): string => `${v.toFixed(1)} mm`;

function nadirBefore(values: number[], i: number): { value: number; index: number } {
  let index = 0;
  for (let k = 1; k < i; k++) if (values[k]! < values[index]!) index = k;
  return { value: values[index]!, index };
}

interface DateContext {
  i: number;
  hasNew: boolean;
  /** Names the new measurable lesions, for the reasons ('' when none). */
  newText: string;
  nothingLeft: boolean;
}

function dateContext(tracks: Array<{ track: number; newAt?: number }>, volumeMl: number[], i: number): DateContext {
  const newTracks = tracks.filter((t) => t.newAt !== undefined && t.newAt <= i);
  const hasNew = newTracks.length > 0;
  const newText = hasNew ? `new measurable lesion${newTracks.length > 1 ? 's' : ''} (track ${newTracks.map((t) => t.track).join(', ')})` : '';
  return { i, hasNew, newText, nothingLeft: volumeMl[i] === 0 };
}

/** RECIST 1.1 at date i from the per-date sums of the targets' long axes. */
function recistAt(s: number[], targetCount: number, c: DateContext): { category: Category; reason: string } {
  const { i, hasNew, newText, nothingLeft } = c;
  const s0 = s[0]!;
  const sn = nadirBefore(s, i);
  const si = s[i]!;
  if (targetCount === 0) {
    const category: Category = hasNew ? 'PD' : nothingLeft ? 'CR' : 'SD';
    return { category, reason: `RECIST ${category}: no target lesion at baseline (none with a long axis >= 10 mm on >= 2 slices)${hasNew ? `; ${newText}` : ''}` };
  }
  if (hasNew || (si - sn.value >= 5 && (sn.value === 0 || si >= 1.2 * sn.value))) {
    return { category: 'PD', reason: hasNew ? `RECIST PD: ${newText}` : `RECIST PD: sum of diameters ${mm(si)} is ${pct(sn.value > 0 ? ((si - sn.value) / sn.value) * 100 : Infinity)} and +${mm(si - sn.value)} vs the nadir ${mm(sn.value)} (needs +20% and 5 mm)` };
  }
  if (si === 0 && nothingLeft) return { category: 'CR', reason: 'RECIST CR: all target lesions gone and no lesion left' };
  if (si <= 0.7 * s0) return { category: 'PR', reason: `RECIST PR: sum of diameters ${mm(s0)} -> ${mm(si)} (${pct(((si - s0) / s0) * 100)}), at least -30%` };
  return { category: 'SD', reason: `RECIST SD: sum of diameters ${mm(s0)} -> ${mm(si)} (${pct(((si - s0) / s0) * 100)} vs baseline)${si === 0 ? '; targets gone but other lesions remain' : ''}` };
}

/** RANO (LGG or 2.0) at date i from the per-date sums of the targets' products of perpendicular diameters. */
function ranoAt(p: number[], targetCount: number, ranoVersion: Response['ranoVersion'], c: DateContext): { category: RanoCategory; reason: string } {
  const { i, hasNew, newText, nothingLeft } = c;
  const p0 = p[0]!;
  const pn = nadirBefore(p, i);
  const pi = p[i]!;
  const pBase = p0 > 0 ? ((pi - p0) / p0) * 100 : 0;
  const pNadir = pn.value > 0 ? ((pi - pn.value) / pn.value) * 100 : pi > 0 ? Infinity : 0;
  if (targetCount === 0) {
    const category: RanoCategory = hasNew ? 'PD' : nothingLeft ? 'CR' : 'SD';
    return { category, reason: `${ranoVersion} ${category}: no measurable lesion at baseline (both diameters >= 10 mm on >= 2 slices)${hasNew ? `; ${newText}` : ''}` };
  }
  if (hasNew || pNadir >= 25) {
    return { category: 'PD', reason: hasNew ? `${ranoVersion} PD: ${newText}` : `${ranoVersion} PD: sum of products ${pi.toFixed(0)} mm² is ${pct(pNadir)} vs the nadir ${pn.value.toFixed(0)} mm², at least +25%` };
  }
  if (pi === 0 && nothingLeft) return { category: 'CR', reason: `${ranoVersion} CR: all lesions gone` };
  if (pBase <= -50) return { category: 'PR', reason: `${ranoVersion} PR: sum of products ${pct(pBase)} vs baseline, at least -50%` };
  if (ranoVersion === 'RANO-LGG' && pBase <= -25) return { category: 'MR', reason: `${ranoVersion} MR: sum of products ${pct(pBase)} vs baseline, between -25% and -50%` };
  return { category: 'SD', reason: `${ranoVersion} SD: sum of products ${pct(pBase)} vs baseline and ${pct(pNadir)} vs the nadir` };
}

/** Sequence from series descriptions, model ids and file names: FLAIR/T2 vs T1 post-contrast. */
export function sequenceFromHints(hints: string[]): Sequence {
  const text = hints.join(' ').toLowerCase();
  const word = (re: string): boolean => new RegExp(`(^|[^a-z0-9])(${re})([^a-z0-9]|$)`).test(text);
  // "pre-contrast" and "non-contrast" T1 are not post-contrast: only explicit post/Gd names count.
  if (word('t1c|t1ce|t1gd|t1-?gd|t1\\+c|t1-?post|t1-?c|post-?contrast|postcontrast|gad|gado|mprage-?gd')) return 't1-post-contrast';
  if (word('flair|t2|t2w|t2-?flair|dark-?fluid')) return 't2-flair';
  return 'unknown';
}

/** Targets: baseline lesions measurable by the rule, largest first, at most `max` (and `perOrgan` per class). */
function pickTargets(tracks: Track[], measurable: (t: Track) => boolean, size: (t: Track) => number, max: number, perOrgan: number): Track[] {
  const perClass = new Map<string, number>();
  const out: Track[] = [];
  for (const t of tracks.filter((t) => t.firstIndex === 0 && measurable(t)).sort((a, b) => size(b) - size(a) || a.track - b.track)) {
    const k = perClass.get(t.className) ?? 0;
    if (k >= perOrgan || out.length >= max) continue;
    perClass.set(t.className, k + 1);
    out.push(t);
  }
  return out;
}

export function computeTotals(tracks: Track[], volumeMl: number[], recistTargets: Track[], ranoTargets: Track[]): Totals {
  const n = volumeMl.length;
  const sum = (ts: Track[], pick: (t: Track) => Array<number | null>): number[] =>
    Array.from({ length: n }, (_, i) => ts.reduce((s, t) => s + (pick(t)[i] ?? 0), 0));
  void tracks;
  return {
    volumeMl,
    sumLongAxisMm: sum(recistTargets, (t) => t.longAxisMm),
    sumProductsMm2: sum(ranoTargets, (t) => t.productMm2),
    nadirIndex: nadirBefore(volumeMl, n - 1).index,
  };
}

/**
 * Categories at every follow-up date; the reported ones (and their reasons) are the last date's.
 * `volumeMlRange` per date (or null): total volume uncertainty, when the results carry it.
 */
export function assessResponse(
  tracks: Track[],
  volumeMl: number[],
  sequence: Sequence,
  volumeMlRange: Array<[number, number] | null> = [],
): { response: Response; totals: Totals } {
  const n = volumeMl.length;
  const recistTargets = pickTargets(tracks, (t) => t.measurableRecist, (t) => t.longAxisMm[0] ?? 0, RECIST_MAX_TARGETS, RECIST_MAX_PER_ORGAN);
  const ranoVersion = sequence === 't2-flair' ? 'RANO-LGG' : 'RANO 2.0';
  const ranoTargets = pickTargets(tracks, (t) => t.measurableRano, (t) => t.productMm2[0] ?? 0, RANO_MAX_TARGETS[ranoVersion], Infinity);
  const totals = computeTotals(tracks, volumeMl, recistTargets, ranoTargets);
  const byTimepoint: Response['byTimepoint'] = [];
  let reasons: string[] = [];
  let last: { volumetric: Category; recist: Category; rano: RanoCategory } = { volumetric: 'SD', recist: 'SD', rano: 'SD' };
  for (let i = 1; i < n; i++) {
    const r: string[] = [];
    const ctx = dateContext(tracks, volumeMl, i);
    const { hasNew, newText, nothingLeft } = ctx;

    // Volumetric (RECIST and RANO below depend on the targets; withTargets recomputes only those).
    const v0 = volumeMl[0]!;
    const vn = nadirBefore(volumeMl, i);
    const vi = volumeMl[i]!;
    let volumetric: Category;
    const vsNadir = vn.value > 0 ? ((vi - vn.value) / vn.value) * 100 : vi > 0 ? Infinity : 0;
    const vsBase = v0 > 0 ? ((vi - v0) / v0) * 100 : vi > 0 ? Infinity : 0;
    if (hasNew || vsNadir >= 40) {
      volumetric = 'PD';
      r.push(hasNew ? `volumetric PD: ${newText}` : `volumetric PD: total volume ${vi.toFixed(2)} mL is ${pct(vsNadir)} vs the nadir ${vn.value.toFixed(2)} mL (date ${vn.index}), at least +40%`);
    } else if (nothingLeft) {
      volumetric = 'CR';
      r.push('volumetric CR: no lesion left');
    } else if (vsBase <= -65) {
      volumetric = 'PR';
      r.push(`volumetric PR: total volume ${pct(vsBase)} vs baseline (${v0.toFixed(2)} -> ${vi.toFixed(2)} mL), at least -65%`);
    } else {
      volumetric = 'SD';
      r.push(`volumetric SD: total volume ${pct(vsBase)} vs baseline and ${pct(vsNadir)} vs the nadir (PR needs -65%, PD +40%)`);
    }
    const rb = volumeMlRange[0];
    const ri = volumeMlRange[i];
    if (rb && ri && ri[0] <= rb[1] && rb[0] <= ri[1]) {
      r.push(`the volume change is smaller than the measurement's own uncertainty (baseline ${rb[0].toFixed(2)}-${rb[1].toFixed(2)} mL, now ${ri[0].toFixed(2)}-${ri[1].toFixed(2)} mL)`);
    }

    const re = recistAt(totals.sumLongAxisMm, recistTargets.length, ctx);
    const ra = ranoAt(totals.sumProductsMm2, ranoTargets.length, ranoVersion, ctx);
    const recist = re.category;
    const rano = ra.category;
    r.push(re.reason, ra.reason);
    byTimepoint.push({ index: i, volumetric, recist, rano });
    last = { volumetric, recist, rano };
    reasons = r;
  }
  reasons.push(
    sequence === 't2-flair'
      ? 'RANO for low-grade glioma was applied: the images were identified as T2/FLAIR'
      : sequence === 't1-post-contrast'
        ? 'RANO 2.0 was applied: the images were identified as T1 post-contrast'
        : 'RANO 2.0 was applied: the sequence could not be identified from the series description, model or file names',
  );
  const nonmeasurable = tracks.filter((t) => t.status === 'nonmeasurable');
  if (nonmeasurable.length > 0) reasons.push(`${nonmeasurable.length} new lesion(s) too small to measure (track ${nonmeasurable.map((t) => t.track).join(', ')}) change no category`);
  reasons.push(IMAGING_ONLY);
  return {
    totals,
    response: {
      ...last,
      reasons,
      recistTargets: recistTargets.map((t) => t.track),
      ranoTargets: ranoTargets.map((t) => t.track),
      ranoVersion,
      statement: IMAGING_ONLY,
      byTimepoint,
    },
  };
}

export interface TargetOptions {
  /**
   * Slices each track's lesion spans at baseline (track -> count), for the ">= 2 slices" rule; change.json does not
   * carry them, so without this map only the long axis (and both diameters for RANO) decide measurability.
   */
  baselineSlices?: ReadonlyMap<number, number>;
}

const round6 = (v: number): number => Math.round(v * 1e6) / 1e6;

/**
 * The comparison with user-chosen RECIST target lesions: totals.sumLongAxisMm, the RECIST and RANO categories (last
 * date and every date) and their reasons are recomputed with `targetTracks` as targets, and each lesion is marked
 * `target`. RANO's targets are those of the chosen tracks measurable in both diameters (at most 5 for LGG, 3 for 2.0).
 * Throws an InputError-like Error naming the problem when a track does not exist, is not measurable at baseline, or
 * the choice has more than 5 targets or more than 2 of one organ (class). The volumetric result does not depend on
 * targets and is kept. Pure: returns a new document.
 */
export function withTargets(change: MedicalChange, targetTracks: number[], opts: TargetOptions = {}): MedicalChange {
  const byTrack = new Map(change.lesions.map((l) => [l.track, l]));
  if (targetTracks.length === 0) throw new TargetError('choose at least one target lesion (track ids)');
  const seen = new Set<number>();
  for (const t of targetTracks) {
    if (seen.has(t)) throw new TargetError(`track ${t} is listed twice`);
    seen.add(t);
  }
  if (targetTracks.length > RECIST_MAX_TARGETS) throw new TargetError(`RECIST 1.1 allows at most ${RECIST_MAX_TARGETS} target lesions, got ${targetTracks.length} (${targetTracks.join(', ')})`);
  const chosen: ChangeLesion[] = [];
  for (const t of targetTracks) {
    const l = byTrack.get(t);
    if (!l) throw new TargetError(`there is no track ${t} (tracks: ${change.lesions.map((x) => x.track).join(', ') || 'none'})`);
    const why = notMeasurableAtBaseline(l, opts.baselineSlices, 'recist');
    if (why) throw new TargetError(`track ${t} cannot be a target: ${why}`);
    chosen.push(l);
  }
  const perOrgan = new Map<string, number[]>();
  for (const l of chosen) perOrgan.set(l.className, [...(perOrgan.get(l.className) ?? []), l.track]);
  for (const [organ, ts] of perOrgan) {
    if (ts.length > RECIST_MAX_PER_ORGAN) throw new TargetError(`RECIST 1.1 allows at most ${RECIST_MAX_PER_ORGAN} target lesions per organ, got ${ts.length} of '${organ}' (track ${ts.join(', ')})`);
  }

  const n = change.timepoints.length;
  const volumeMl = change.totals.volumeMl;
  const ranoVersion = change.response.ranoVersion;
  const sumOver = (ls: ChangeLesion[], pick: (l: ChangeLesion, i: number) => number): number[] =>
    Array.from({ length: n }, (_, i) => round6(ls.reduce((s, l) => s + pick(l, i), 0)));
  const sumLongAxisMm = sumOver(chosen, (l, i) => l.longAxisMm[i] ?? 0);

  // RANO: the chosen lesions measurable in both diameters, in the given order, up to the version's maximum. The same
  // set as compare chose keeps its exact sums (a fragmented lesion's product is the sum of its pieces' products,
  // which change.json does not hold); another set is summed from long x short axis per date.
  const ranoChosen = chosen.filter((l) => !notMeasurableAtBaseline(l, opts.baselineSlices, 'rano')).slice(0, RANO_MAX_TARGETS[ranoVersion]);
  const defaultRano = change.response.ranoTargets;
  const sameRano = ranoChosen.length === defaultRano.length && ranoChosen.every((l) => defaultRano.includes(l.track));
  const sumProductsMm2 = sameRano ? change.totals.sumProductsMm2.slice() : sumOver(ranoChosen, (l, i) => (l.longAxisMm[i] ?? 0) * (l.shortAxisMm[i] ?? 0));
  const approximated = sameRano ? [] : ranoChosen.filter((l) => l.instances.some((ids) => Array.isArray(ids)));

  const byTimepoint: Response['byTimepoint'] = [];
  let recistReason = '';
  let ranoReason = '';
  for (let i = 1; i < n; i++) {
    const ctx = dateContext(change.lesions, volumeMl, i);
    const re = recistAt(sumLongAxisMm, chosen.length, ctx);
    const ra = ranoAt(sumProductsMm2, ranoChosen.length, ranoVersion, ctx);
    const prev = change.response.byTimepoint.find((b) => b.index === i);
    byTimepoint.push({ index: i, volumetric: prev?.volumetric ?? change.response.volumetric, recist: re.category, rano: sameRano && prev ? prev.rano : ra.category });
    recistReason = re.reason;
    ranoReason = ra.reason;
  }
  const last = byTimepoint.at(-1);
  // The last date's RECIST and RANO sentences are replaced in place; the others (volumetric, sequence, imaging-only) stay.
  const reasons = change.response.reasons.slice();
  const recistAtIndex = reasons.findIndex((r) => r.startsWith('RECIST '));
  const chosenText = `RECIST target lesions chosen by the user: track ${targetTracks.join(', ')}; RANO targets: ${ranoChosen.length ? `track ${ranoChosen.map((l) => l.track).join(', ')}` : 'none measurable in both diameters'}`;
  const extra = [chosenText];
  if (approximated.length > 0) extra.push(`the RANO product of fragmented lesion${approximated.length > 1 ? 's' : ''} (track ${approximated.map((l) => l.track).join(', ')}) is taken as the sum of long axes times the sum of short axes`);
  if (!opts.baselineSlices) extra.push('the number of slices of each target at baseline was not known; measurability was judged by its diameters');
  if (recistAtIndex >= 0) {
    const replaceRano = !sameRano && ranoReason ? 1 : 0;
    reasons.splice(recistAtIndex, 1 + replaceRano, recistReason, ...(replaceRano ? [ranoReason] : []), ...extra);
  } else {
    reasons.splice(0, 0, ...extra);
  }
  const target = new Set(targetTracks);
  return {
    ...change,
    lesions: change.lesions.map((l) => ({ ...l, target: target.has(l.track) })),
    totals: { ...change.totals, sumLongAxisMm, sumProductsMm2 },
    response: {
      ...change.response,
      ...(last ? { recist: last.recist, rano: last.rano } : {}),
      reasons,
      recistTargets: targetTracks.slice(),
      ranoTargets: ranoChosen.map((l) => l.track),
      byTimepoint,
    },
  };
}

/** Why a lesion is not measurable at baseline for the rule ('' when it is). */
function notMeasurableAtBaseline(l: ChangeLesion, slices: ReadonlyMap<number, number> | undefined, rule: 'recist' | 'rano'): string {
  if (l.instances[0] === null || l.instances[0] === undefined || l.volumeMl[0] === null || l.volumeMl[0] === undefined) return `it is not present at baseline (status ${l.status})`;
  const long = l.longAxisMm[0] ?? 0;
  const short = l.shortAxisMm[0] ?? 0;
  if (long < MEASURABLE_MM) return `its long axis at baseline is ${long.toFixed(1)} mm (needs >= ${MEASURABLE_MM} mm)`;
  if (rule === 'rano' && short < MEASURABLE_MM) return `its short axis at baseline is ${short.toFixed(1)} mm (needs >= ${MEASURABLE_MM} mm)`;
  const k = slices?.get(l.track);
  if (k !== undefined && k < 2) return `it spans ${k} slice at baseline (needs >= 2)`;
  return '';
}

/** A target choice that breaks the rules; the CLI reports its message as a usage problem. */
export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetError';
  }
}
