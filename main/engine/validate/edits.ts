// Guards for the result edit operations: what the app's edit channel accepts (main/ipc/validate.ts) and what a
// session file's edit log must hold before the engine replays it (session/session.ts), so a hand-edited or damaged
// file is refused with the edit and the field named instead of failing inside the replay.
import { EDIT_OPERATION_NAMES, type EditOperation } from '../../../preload/api';
import { arrayOf, num, object, pair, str, ValidationError, type Guard, type GuardOf } from './guards';

export const instanceId = num({ min: 1, max: 0xffffffff, integer: true });
export const classId = num({ min: 1, max: 65534, integer: true });
export const coordinate = num({ min: -1_000_000, max: 1_000_000 });
const stroke = {
  op: str({ maxLength: 32 }),
  z: num({ min: 0, max: 1_000_000, integer: true }),
  points: arrayOf(pair(coordinate), { min: 1, max: 8192 }),
  radiusPx: pair(num({ min: 0.1, max: 4096 })),
};
const paintStroke = object({ ...stroke, target: targetGuard() });
const eraseStroke = object(stroke, { instanceId });
const deleteInstance = object({ op: str({ maxLength: 32 }), instanceId });
const setInstanceClass = object({ op: str({ maxLength: 32 }), instanceId, classId });
export const sliceIndex = num({ min: 0, max: 1_000_000, integer: true });
const polygon = arrayOf(pair(coordinate), { min: 3, max: 8192 });
const fillPolygon = object({ op: str({ maxLength: 32 }), z: sliceIndex, points: polygon, target: targetGuard() });
const erasePolygon = object({ op: str({ maxLength: 32 }), z: sliceIndex, points: polygon }, { instanceId });
const fillHoles = object({ op: str({ maxLength: 32 }), instanceId }, { z: sliceIndex });
const splitInstance = object({ op: str({ maxLength: 32 }), instanceId, z: sliceIndex, line: arrayOf(pair(coordinate), { min: 2, max: 8192 }) });
const mergeInstances: Guard<{ op: string; instanceIds: number[] }> = (v, at) => {
  const o = object({ op: str({ maxLength: 32 }), instanceIds: arrayOf(instanceId, { min: 2, max: 4096 }) })(v, at);
  if (new Set(o.instanceIds).size !== o.instanceIds.length) throw new ValidationError(`${at}.instanceIds: expected distinct ids`);
  return o;
};
const regionGrow = object({
  op: str({ maxLength: 32 }),
  z: sliceIndex,
  seed: pair(num({ min: 0, max: 1_000_000 })),
  tolerance: num({ min: 0, max: 1e12 }),
  maxRadiusPx: num({ min: 1, max: 65536 }),
  target: targetGuard(),
});

/** Runs of all masks of one acceptPrompt together, at most this many (a 10000² field is a few hundred thousand). */
const MAX_ACCEPT_RUNS = 4_000_000;
const maskRle = object({
  z: sliceIndex,
  x0: num({ min: 0, max: 1_000_000, integer: true }),
  y0: num({ min: 0, max: 1_000_000, integer: true }),
  width: num({ min: 0, max: 1_000_000, integer: true }),
  height: num({ min: 0, max: 1_000_000, integer: true }),
  runs: arrayOf(num({ min: 0, max: 1e12, integer: true }), { max: MAX_ACCEPT_RUNS }),
});
const acceptPrompt: Guard<{ op: string; masks: Array<GuardOf<typeof maskRle>>; target: { instanceId: number } | { newInstanceOfClass: number } }> = (v, at) => {
  const o = object({ op: str({ maxLength: 32 }), masks: arrayOf(maskRle, { min: 1, max: 100_000 }), target: targetGuard() })(v, at);
  let runs = 0;
  o.masks.forEach((m, i) => {
    runs += m.runs.length;
    const total = m.runs.reduce((a, b) => a + b, 0);
    if (total > m.width * m.height) throw new ValidationError(`${at}.masks[${i}].runs: cover ${total} pixels, more than the ${m.width}x${m.height} window`);
  });
  if (runs > MAX_ACCEPT_RUNS) throw new ValidationError(`${at}.masks: expected at most ${MAX_ACCEPT_RUNS} runs in all, got ${runs}`);
  return o;
};

function targetGuard(): Guard<{ instanceId: number } | { newInstanceOfClass: number }> {
  const existing = object({ instanceId });
  const fresh = object({ newInstanceOfClass: classId });
  return (v, at) => (typeof v === 'object' && v !== null && 'newInstanceOfClass' in v ? fresh(v, at) : existing(v, at));
}

/** A named edit operation: the `op` field picks the shape the rest must have. */
export const editOperation: Guard<EditOperation> = (v, at) => {
  const op = typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>).op : undefined;
  switch (op) {
    case 'paintStroke':
      return { ...paintStroke(v, at), op };
    case 'eraseStroke':
      return { ...eraseStroke(v, at), op };
    case 'deleteInstance':
      return { ...deleteInstance(v, at), op };
    case 'setInstanceClass':
      return { ...setInstanceClass(v, at), op };
    case 'fillPolygon':
      return { ...fillPolygon(v, at), op };
    case 'erasePolygon':
      return { ...erasePolygon(v, at), op };
    case 'fillHoles':
      return { ...fillHoles(v, at), op };
    case 'splitInstance':
      return { ...splitInstance(v, at), op };
    case 'mergeInstances':
      return { ...mergeInstances(v, at), op };
    case 'regionGrow':
      return { ...regionGrow(v, at), op };
    case 'acceptPrompt':
      return { ...acceptPrompt(v, at), op };
    default:
      throw new ValidationError(`${at}.op: expected one of ${EDIT_OPERATION_NAMES.join(', ')}`);
  }
};
