// Follow-up tracks for DICOM SEG export: each instance of one date's result gets its lesion's TrackingID (0062,0020)
// and TrackingUID (0062,0021) from compare's change.json, so a viewer links the segments of every date. Pieces of a
// fragmented lesion share their track's identifiers; a coalesced lesion carries the older track's.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../../image';
import type { SegTracking } from '../../export/dicom-seg';
import type { MedicalChange } from './index';

/** Instance id -> tracking identifiers on date `dateIndex`. */
export function segTracking(change: Pick<MedicalChange, 'lesions'>, dateIndex: number): Map<number, SegTracking> {
  const out = new Map<number, SegTracking>();
  for (const l of change.lesions) {
    // A merged track points at the coalesced lesion another track carries: that track names it.
    if (l.states[dateIndex] === 'merged' && l.mergedInto !== undefined) continue;
    const ids = l.instances[dateIndex];
    if (ids === null || ids === undefined) continue;
    for (const id of Array.isArray(ids) ? ids : [ids]) if (!out.has(id)) out.set(id, { trackingId: `lesion ${l.track}`, trackingUid: l.trackingUid });
  }
  return out;
}

/** The tracks of result folder `resultDir` from a change.json (the date whose input is that folder). */
export async function trackingForResult(changeFile: string, resultDir: string): Promise<Map<number, SegTracking>> {
  let change: MedicalChange;
  try {
    change = JSON.parse(await fs.readFile(changeFile, 'utf8')) as MedicalChange;
  } catch (err) {
    throw new InputError(changeFile, `cannot read the comparison (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (change?.kind !== 'medical' || !Array.isArray(change.lesions) || !Array.isArray(change.timepoints)) throw new InputError(changeFile, 'not a medical change.json (compare of medical results)');
  const want = path.resolve(resultDir);
  let index = change.timepoints.findIndex((tp) => path.resolve(path.dirname(changeFile), '..', tp.input) === want || path.resolve(tp.input) === want);
  if (index < 0) {
    const byName = change.timepoints.map((tp, i) => ({ i, same: path.basename(tp.input) === path.basename(want) })).filter((x) => x.same);
    if (byName.length === 1) index = byName[0]!.i;
  }
  if (index < 0) throw new InputError(changeFile, `${resultDir} is none of its time points (${change.timepoints.map((tp) => tp.input).join(', ')})`);
  if (change.lesions.some((l) => typeof l.trackingUid !== 'string')) throw new InputError(changeFile, 'lesions have no trackingUid (made by an older version: compare again)');
  return segTracking(change, index);
}
