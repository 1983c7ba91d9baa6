// From-to tallies of a map comparison: exact pixel counts and ellipsoidal areas per (from, to) pair of label values,
// and the per-class gain, loss, net, gross and swap change (Pontius: swap = 2 x min(gain, loss), gross = gain + loss).
import type { LandCoverClassChange, LandCoverTransition } from '../../../../preload/compare';
import { M2_PER_HA } from '../../measure/geodesy';
import { className, type ChangeClass } from './classes';

/** One from-to pair as change.json and the contract carry it. */
export type Transition = LandCoverTransition;

/** A class's change as change.json and the contract carry it (fromHa / toHa: its area on each date, over the pixels valid on both). */
export type ClassChange = LandCoverClassChange;

export interface PairSummary {
  transitions: Transition[];
  classes: ClassChange[];
  netHa: Record<string, number>;
  grossHa: Record<string, number>;
  swapHa: Record<string, number>;
  gainHa: Record<string, number>;
  lossHa: Record<string, number>;
  overlapPixels: number;
  overlapHa: number;
  changedPixels: number;
  changedHa: number;
}

/** Hectares with 1e-8 ha (0.0001 m²) resolution: plenty for pixel sums and free of float noise in the files. */
export const roundHa = (m2: number): number => Math.round((m2 / M2_PER_HA) * 1e8) / 1e8;

/** Counts and areas per (from, to) pair; values below 256 in a dense table, others in a map. */
export class Tally {
  private readonly pixels = new Float64Array(65536);
  private readonly areaM2 = new Float64Array(65536);
  private readonly wide = new Map<number, [number, number]>();

  add(from: number, to: number, areaM2: number): void {
    if (from < 256 && to < 256) {
      const k = (from << 8) | to;
      this.pixels[k]!++;
      this.areaM2[k]! += areaM2;
      return;
    }
    const k = from * 65536 + to;
    const e = this.wide.get(k);
    if (e) {
      e[0]++;
      e[1] += areaM2;
    } else this.wide.set(k, [1, areaM2]);
  }

  /** Every pair seen, sorted by from then to. */
  entries(): Array<{ from: number; to: number; pixels: number; areaM2: number }> {
    const out: Array<{ from: number; to: number; pixels: number; areaM2: number }> = [];
    for (let k = 0; k < 65536; k++) if (this.pixels[k]! > 0) out.push({ from: k >> 8, to: k & 255, pixels: this.pixels[k]!, areaM2: this.areaM2[k]! });
    for (const [k, [pixels, areaM2]] of this.wide) out.push({ from: Math.floor(k / 65536), to: k % 65536, pixels, areaM2 });
    return out.sort((a, b) => a.from - b.from || a.to - b.to);
  }
}

/** Transitions and per-class change of one pair of dates. */
export function summarize(tally: Tally, classes: Map<number, ChangeClass>): PairSummary {
  const entries = tally.entries();
  const ids = new Set<number>([...classes.keys()]);
  for (const e of entries) {
    ids.add(e.from);
    ids.add(e.to);
  }
  const from = new Map<number, number>();
  const to = new Map<number, number>();
  const gain = new Map<number, number>();
  const loss = new Map<number, number>();
  const add = (m: Map<number, number>, k: number, v: number): void => void m.set(k, (m.get(k) ?? 0) + v);
  let overlapPixels = 0;
  let overlapM2 = 0;
  let changedPixels = 0;
  let changedM2 = 0;
  for (const e of entries) {
    overlapPixels += e.pixels;
    overlapM2 += e.areaM2;
    add(from, e.from, e.areaM2);
    add(to, e.to, e.areaM2);
    if (e.from !== e.to) {
      changedPixels += e.pixels;
      changedM2 += e.areaM2;
      add(gain, e.to, e.areaM2);
      add(loss, e.from, e.areaM2);
    }
  }
  const transitions = entries.map((e): Transition => ({ from: e.from, fromName: className(classes, e.from), to: e.to, toName: className(classes, e.to), pixels: e.pixels, areaHa: roundHa(e.areaM2) }));
  const perClass: ClassChange[] = [...ids].sort((a, b) => a - b).map((id) => {
    const g = gain.get(id) ?? 0;
    const l = loss.get(id) ?? 0;
    const c = classes.get(id);
    return {
      id,
      name: className(classes, id),
      color: c?.color ?? '#808080',
      fromHa: roundHa(from.get(id) ?? 0),
      toHa: roundHa(to.get(id) ?? 0),
      gainHa: roundHa(g),
      lossHa: roundHa(l),
      netHa: roundHa(g - l),
      grossHa: roundHa(g + l),
      swapHa: roundHa(2 * Math.min(g, l)),
    };
  });
  const byId = (f: (c: ClassChange) => number): Record<string, number> => Object.fromEntries(perClass.map((c) => [String(c.id), f(c)]));
  return {
    transitions,
    classes: perClass,
    netHa: byId((c) => c.netHa),
    grossHa: byId((c) => c.grossHa),
    swapHa: byId((c) => c.swapHa),
    gainHa: byId((c) => c.gainHa),
    lossHa: byId((c) => c.lossHa),
    overlapPixels,
    overlapHa: roundHa(overlapM2),
    changedPixels,
    changedHa: roundHa(changedM2),
  };
}
