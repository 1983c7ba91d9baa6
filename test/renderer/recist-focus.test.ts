// Picking a measured object's row: the Slice column names the slice its RECIST axes were measured on (1-based),
// and the viewer goes to that slice, centred on the long axis, which after a split need not be near the centroid.
import { describe, expect, it } from 'vitest';
import type { InstanceRecord, InstancesDocument } from '../../preload/api';
import { columnsFor } from '../../renderer/measurements/columns';
import { axisEnds, focusTarget, recistSliceNumber } from '../../renderer/measurements/focus';

/** A lesion cut in two on slice 4 (zero-based): centroid between the pieces, axes on the larger one. */
const split = {
  id: 1,
  classId: 1,
  className: 'lesion',
  pixelCount: 423,
  volumeMl: 0.1,
  bbox: { min: [5, 5, 3], max: [55, 37, 5] },
  centroidPx: [30.5, 14.2, 4.1],
  recistSlice: 4,
  longAxisMm: 20.2,
  shortAxisMm: 3,
  longAxisEndsPx: [[4.5, 5], [44.5, 10]],
  shortAxisEndsPx: [[20, 4.5], [20.5, 10.5]],
} as unknown as InstanceRecord;

describe('RECIST slice of a measured object', () => {
  it('goes to the recist slice, centred on the long axis', () => {
    expect(focusTarget(split)).toEqual({ x: 24.5, y: 7.5, z: 4 });
  });

  it('falls back to the centroid without axes, and has no slice in 2D', () => {
    const noAxes = { ...split, longAxisEndsPx: undefined, recistSlice: null } as unknown as InstanceRecord;
    expect(focusTarget(noAxes)).toEqual({ x: 30.5, y: 14.2, z: 4.1 });
    const flat = { ...split, centroidPx: [3, 4], recistSlice: undefined } as unknown as InstanceRecord;
    expect(focusTarget(flat).z).toBeUndefined();
    expect(recistSliceNumber(flat)).toBeNull();
  });

  it('rejects malformed axis ends', () => {
    expect(axisEnds([[1, 2], [3]])).toBeNull();
    expect(axisEnds([[1, 2], [3, Number.NaN]])).toBeNull();
    expect(axisEnds('x')).toBeNull();
  });

  it('shows a 1-based Slice column for volumes only', () => {
    const doc = { classes: [], instances: [split] } as unknown as InstancesDocument;
    const col = columnsFor(doc).find((c) => c.key === 'recistSlice');
    expect(col?.label).toBe('Slice');
    expect(col?.format(col.value(split))).toBe('5');
    const { recistSlice: _z, ...flat } = split;
    const flatDoc = { classes: [], instances: [flat] } as unknown as InstancesDocument;
    expect(columnsFor(flatDoc).some((c) => c.key === 'recistSlice')).toBe(false);
  });
});
