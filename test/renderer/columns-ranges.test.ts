// The size range beside the size: a "Range" column right after it (low–high in the size's unit, hectares from the
// m² range when the panel reads ha), "—" for an object an edit left without one, and Low/High columns in the CSV.
import { describe, expect, it } from 'vitest';
import type { InstanceRecord, InstancesDocument } from '../../preload/api';
import { columnsFor, instancesCsv, sizeRange } from '../../renderer/measurements/columns';

const rec = (id: number, extra: Record<string, unknown>): InstanceRecord => ({ id, classId: 1, className: 'lesion', pixelCount: 10, bbox: { min: [0, 0, 0], max: [1, 1, 1] }, centroidPx: [0, 0, 0], ...extra });

function doc(instances: InstanceRecord[], classes: InstancesDocument['classes'] = [{ id: 1, name: 'lesion', color: '#f00', instanceCount: instances.length, pixelCount: 20, fraction: 0.2 }]): InstancesDocument {
  return { source: { file: 'x', kind: 'medical', width: 10, height: 10, depth: 3 }, classes, instances };
}

describe('size range column', () => {
  it('sits right after the size and shows low–high; an edited object without a range shows —', () => {
    const a = rec(1, { volumeMl: 2.5, volumeMlRange: [2.1, 3.25] });
    const edited = rec(2, { volumeMl: 1, edited: true });
    const cols = columnsFor(doc([a, edited]));
    const i = cols.findIndex((c) => c.key === 'volumeMl');
    expect(cols[i + 1]!.key).toBe('volumeMlRange');
    expect(cols[i + 1]!.format(cols[i + 1]!.value(a))).toBe('2.1–3.25');
    expect(cols[i + 1]!.format(cols[i + 1]!.value(edited))).toBe('—');
  });

  it('is absent when no object has a range', () => {
    expect(columnsFor(doc([rec(1, { volumeMl: 2 })])).some((c) => c.key.endsWith('Range'))).toBe(false);
  });

  it('reads hectares from the m² range when the panel shows ha', () => {
    const field = rec(1, { areaM2: 20_000, areaM2Range: [15_000, 26_000] });
    expect(sizeRange(field, 'areaHa')).toEqual([1.5, 2.6]);
    const d: InstancesDocument = { ...doc([field], [{ id: 1, name: 'forest', color: '#0f0', instanceCount: 1, pixelCount: 10, fraction: 1, areaM2: 20_000 }]), source: { file: 'x', kind: 'geo', width: 10, height: 10, depth: 1 } };
    const col = columnsFor(d).find((c) => c.key === 'areaHaRange');
    expect(col!.format(col!.value(field))).toBe('1.5–2.6');
  });

  it('the CSV gives the range as <size>Low and <size>High', () => {
    const csv = instancesCsv(doc([rec(1, { volumeMl: 2.5, volumeMlRange: [2.1, 3.25] })]));
    const [header, row] = csv.trim().split('\n');
    const cols = header!.split(',');
    expect(cols.slice(cols.indexOf('volumeMl'), cols.indexOf('volumeMl') + 3)).toEqual(['volumeMl', 'volumeMlLow', 'volumeMlHigh']);
    const cells = row!.split(',');
    expect(cells[cols.indexOf('volumeMlLow')]).toBe('2.1');
    expect(cells[cols.indexOf('volumeMlHigh')]).toBe('3.25');
  });
});
