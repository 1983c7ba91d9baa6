// A windowed result's document lists no records, so the selected object's record comes from the host: after an
// edit the viewer must show the record the edit reply carries, not the one picked before the edit.
import { beforeAll, describe, expect, it } from 'vitest';
import type { EditResult } from '../../preload/api';
import type { InstanceRecord, InstancesDocument } from '../../preload/formats';
import type { AppState } from '../../renderer/state/store';

// The store registers itself on window (for the e2e tests to read): a bare object stands in for it here.
let resultEdited: typeof import('../../renderer/state/operations').resultEdited;
let initialState: AppState;
beforeAll(async () => {
  (globalThis as { window?: unknown }).window ??= {};
  ({ resultEdited } = await import('../../renderer/state/operations'));
  ({ initialState } = await import('../../renderer/state/store'));
});

const record = (id: number, pixelCount: number): InstanceRecord => ({ id, classId: 1, className: 'forest', pixelCount, bbox: { min: [0, 0], max: [9, 9] }, centroidPx: [5, 5] });

const doc = { instances: [], classes: [] } as unknown as InstancesDocument;

function windowedState(selected: InstanceRecord): AppState {
  return {
    ...initialState,
    result: { resultId: 'r1', handle: 'h1', document: doc, revision: 0, undoStack: [], redoStack: [], savedDepth: null, windowed: { width: 40000, height: 40000, instanceCount: 3 } },
    selectedId: selected.id,
    selectedRecord: selected,
  };
}

const reply = (changed: number[], records: InstanceRecord[] | undefined, extra: Partial<EditResult> = {}): EditResult => ({
  resultId: 'r1',
  revision: 1,
  document: doc,
  changedInstanceIds: changed,
  zRange: [0, 0],
  undoStack: ['paintStroke'],
  redoStack: [],
  ...(records ? { changedRecords: records } : {}),
  ...extra,
});

describe('edits of a windowed result and the selected record', () => {
  it('takes the re-measured record of the selected object from the reply', () => {
    const s = resultEdited(reply([2], [record(2, 150)]))(windowedState(record(2, 100)));
    expect(s.selectedId).toBe(2);
    expect(s.selectedRecord?.pixelCount).toBe(150);
  });

  it('keeps the record of a selected object the edit did not touch', () => {
    const s = resultEdited(reply([3], [record(3, 7)]))(windowedState(record(2, 100)));
    expect(s.selectedId).toBe(2);
    expect(s.selectedRecord?.pixelCount).toBe(100);
  });

  it('drops the selection when the edit removed the selected object', () => {
    const s = resultEdited(reply([2], []))(windowedState(record(2, 100)));
    expect(s.selectedId).toBeNull();
    expect(s.selectedRecord).toBeNull();
  });

  it('selects a created object with its record', () => {
    const s = resultEdited(reply([4], [record(4, 33)], { createdInstanceId: 4 }))(windowedState(record(2, 100)));
    expect(s.selectedId).toBe(4);
    expect(s.selectedRecord?.pixelCount).toBe(33);
  });
});
