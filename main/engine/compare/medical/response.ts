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
import type { Track } from './track';

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
    const newTracks = tracks.filter((t) => t.newAt !== undefined && t.newAt <= i);
    const hasNew = newTracks.length > 0;
    const newText = hasNew ? `new measurable lesion${newTracks.length > 1 ? 's' : ''} (track ${newTracks.map((t) => t.track).join(', ')})` : '';
    const nothingLeft = volumeMl[i] === 0;

    // Volumetric.
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

    // RECIST 1.1.
    let recist: Category;
    const s = totals.sumLongAxisMm;
    const s0 = s[0]!;
    const sn = nadirBefore(s, i);
    const si = s[i]!;
    if (recistTargets.length === 0) {
      recist = hasNew ? 'PD' : nothingLeft ? 'CR' : 'SD';
      r.push(`RECIST ${recist}: no target lesion at baseline (none with a long axis >= 10 mm on >= 2 slices)${hasNew ? `; ${newText}` : ''}`);
    } else if (hasNew || (si - sn.value >= 5 && (sn.value === 0 || si >= 1.2 * sn.value))) {
      recist = 'PD';
      r.push(hasNew ? `RECIST PD: ${newText}` : `RECIST PD: sum of diameters ${mm(si)} is ${pct(sn.value > 0 ? ((si - sn.value) / sn.value) * 100 : Infinity)} and +${mm(si - sn.value)} vs the nadir ${mm(sn.value)} (needs +20% and 5 mm)`);
    } else if (si === 0 && nothingLeft) {
      recist = 'CR';
      r.push('RECIST CR: all target lesions gone and no lesion left');
    } else if (si <= 0.7 * s0) {
      recist = 'PR';
      r.push(`RECIST PR: sum of diameters ${mm(s0)} -> ${mm(si)} (${pct(((si - s0) / s0) * 100)}), at least -30%`);
    } else {
      recist = 'SD';
      r.push(`RECIST SD: sum of diameters ${mm(s0)} -> ${mm(si)} (${pct(((si - s0) / s0) * 100)} vs baseline)${si === 0 ? '; targets gone but other lesions remain' : ''}`);
    }

    // RANO.
    let rano: RanoCategory;
    const p = totals.sumProductsMm2;
    const p0 = p[0]!;
    const pn = nadirBefore(p, i);
    const pi = p[i]!;
    const pBase = p0 > 0 ? ((pi - p0) / p0) * 100 : 0;
    const pNadir = pn.value > 0 ? ((pi - pn.value) / pn.value) * 100 : pi > 0 ? Infinity : 0;
    if (ranoTargets.length === 0) {
      rano = hasNew ? 'PD' : nothingLeft ? 'CR' : 'SD';
      r.push(`${ranoVersion} ${rano}: no measurable lesion at baseline (both diameters >= 10 mm on >= 2 slices)${hasNew ? `; ${newText}` : ''}`);
    } else if (hasNew || pNadir >= 25) {
      rano = 'PD';
      r.push(hasNew ? `${ranoVersion} PD: ${newText}` : `${ranoVersion} PD: sum of products ${pi.toFixed(0)} mm² is ${pct(pNadir)} vs the nadir ${pn.value.toFixed(0)} mm², at least +25%`);
    } else if (pi === 0 && nothingLeft) {
      rano = 'CR';
      r.push(`${ranoVersion} CR: all lesions gone`);
    } else if (pBase <= -50) {
      rano = 'PR';
      r.push(`${ranoVersion} PR: sum of products ${pct(pBase)} vs baseline, at least -50%`);
    } else if (ranoVersion === 'RANO-LGG' && pBase <= -25) {
      rano = 'MR';
      r.push(`${ranoVersion} MR: sum of products ${pct(pBase)} vs baseline, between -25% and -50%`);
    } else {
      rano = 'SD';
      r.push(`${ranoVersion} SD: sum of products ${pct(pBase)} vs baseline and ${pct(pNadir)} vs the nadir`);
    }
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
