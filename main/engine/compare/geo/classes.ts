// Class lists of the dates of a map comparison: classes match by id, and the same id must carry the same name on
// every date (one error naming every difference otherwise); an id present on one date only is not a mismatch.
import type { ClassRecord, InstancesDocument } from '../../../../preload/formats';
import { InputError } from '../../image';
import type { TimePoint } from '../timepoints';

export interface ChangeClass {
  id: number;
  name: string;
  color: string;
}

/** Label value 0 is "no class" by the label contract unless a result names it. */
const NONE: ChangeClass = { id: 0, name: 'none', color: '#000000' };

function classesOf(tp: TimePoint): ClassRecord[] {
  const doc = tp.instances as InstancesDocument;
  return Array.isArray(doc?.classes) ? doc.classes.filter((c) => Number.isInteger(c?.id) && typeof c.name === 'string') : [];
}

function label(tp: TimePoint): string {
  return tp.date ? `${tp.input} (${tp.date})` : tp.input;
}

/** The union of the dates' classes by id, class 0 included; throws one InputError listing every name mismatch. */
export function matchClasses(tps: TimePoint[]): Map<number, ChangeClass> {
  const out = new Map<number, ChangeClass>([[0, NONE]]);
  const firstSeen = new Map<number, TimePoint>();
  const problems: string[] = [];
  for (const tp of tps) {
    for (const c of classesOf(tp)) {
      const known = firstSeen.get(c.id);
      if (known) {
        const name = out.get(c.id)!.name;
        if (name !== c.name) problems.push(`class ${c.id} is "${name}" in ${label(known)} but "${c.name}" in ${label(tp)}`);
        continue;
      }
      firstSeen.set(c.id, tp);
      out.set(c.id, { id: c.id, name: c.name, color: typeof c.color === 'string' && /^#[0-9a-f]{6}$/i.test(c.color) ? c.color : '#808080' });
    }
  }
  if (problems.length > 0) throw new InputError(tps[0]!.input, `the dates' classes do not match: ${problems.join('; ')}`);
  return out;
}

/** Name of a label value (values no result names become "class N"). */
export function className(classes: Map<number, ChangeClass>, id: number): string {
  return classes.get(id)?.name ?? `class ${id}`;
}
