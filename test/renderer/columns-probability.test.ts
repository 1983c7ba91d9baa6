// The probability column survives edits: an edited object whose probability was recomputed shows it, one whose
// model map is not kept shows "—" with a tooltip saying so, and the column stays even when every object is edited.
import { describe, expect, it } from 'vitest';
import type { InstanceRecord, InstancesDocument } from '../../preload/api';
import { columnsFor } from '../../renderer/measurements/columns';

const rec = (id: number, extra: Record<string, unknown>): InstanceRecord => ({ id, classId: 1, className: 'lesion', pixelCount: 10, bbox: { min: [0, 0], max: [1, 1] }, centroidPx: [0, 0], areaPx: 10, ...extra });

function doc(instances: InstanceRecord[]): InstancesDocument {
  return { source: { file: 'x', kind: 'image', width: 10, height: 10, depth: 1 }, classes: [{ id: 1, name: 'lesion', color: '#f00', instanceCount: instances.length, pixelCount: 20, fraction: 0.2 }], instances };
}

describe('probability column after edits', () => {
  it('keeps the column when every object is edited, with "—" and a reason where it is stale', () => {
    const stale = rec(1, { meanProbability: null, edited: true });
    const fresh = rec(2, { meanProbability: 0.8, edited: true });
    const col = columnsFor(doc([stale, fresh])).find((c) => c.key === 'meanProbability');
    expect(col).toBeDefined();
    expect(col!.format(col!.value(stale))).toBe('—');
    expect(col!.cellTitle?.(stale)).toMatch(/^edited: probability not recomputed/);
    expect(col!.format(col!.value(fresh))).toBe('80');
    expect(col!.cellTitle?.(fresh)).toMatch(/recomputed from the model's probability map/);
    // A model record needs no note.
    expect(col!.cellTitle?.(rec(3, { meanProbability: 0.5 }))).toBeUndefined();
  });
});
