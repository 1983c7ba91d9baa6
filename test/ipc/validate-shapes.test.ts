// Guards of the shape and region edit operations (polygon/lasso fill and erase, fill holes, split, merge, region
// grow): each field checked by type and range, unknown keys refused, with a message naming the field.
import { describe, expect, it } from 'vitest';
import { validateArgs } from '../../main/ipc/validate';

const edit = (operation: unknown) => validateArgs('result:edit', ['r_abc1', operation])[1];
const square = [[1, 1], [5, 1], [5, 5], [1, 5]];

describe('shape edit guards', () => {
  it('accepts each new operation as the contract types it', () => {
    expect(edit({ op: 'fillPolygon', z: 0, points: square, target: { newInstanceOfClass: 2 } })).toEqual({ op: 'fillPolygon', z: 0, points: square, target: { newInstanceOfClass: 2 } });
    expect(edit({ op: 'erasePolygon', z: 3, points: square, instanceId: 4 })).toMatchObject({ op: 'erasePolygon', instanceId: 4 });
    expect(edit({ op: 'fillHoles', instanceId: 2 })).toEqual({ op: 'fillHoles', instanceId: 2 });
    expect(edit({ op: 'fillHoles', instanceId: 2, z: 5 })).toEqual({ op: 'fillHoles', instanceId: 2, z: 5 });
    expect(edit({ op: 'splitInstance', instanceId: 2, z: 0, line: [[0, 0], [9.5, 3]] })).toMatchObject({ op: 'splitInstance', line: [[0, 0], [9.5, 3]] });
    expect(edit({ op: 'mergeInstances', instanceIds: [3, 1] })).toEqual({ op: 'mergeInstances', instanceIds: [3, 1] });
    expect(edit({ op: 'regionGrow', z: 0, seed: [4.5, 2], tolerance: 40, maxRadiusPx: 64, target: { instanceId: 1 } })).toMatchObject({ op: 'regionGrow', tolerance: 40 });
  });

  it('refuses malformed operations, naming the field', () => {
    expect(() => edit({ op: 'fillPolygon', z: 0, points: square.slice(0, 2), target: { instanceId: 1 } })).toThrow(/points: expected 3\.\.8192 items/);
    expect(() => edit({ op: 'fillPolygon', z: 0, points: square })).toThrow(/target: required/);
    expect(() => edit({ op: 'fillPolygon', z: 0.5, points: square, target: { instanceId: 1 } })).toThrow(/\.z: expected an integer/);
    expect(() => edit({ op: 'fillPolygon', z: 0, points: [[1, 1], [2, Number.NaN], [3, 3]], target: { instanceId: 1 } })).toThrow(/points\[1\]\[1\]: expected a finite number/);
    expect(() => edit({ op: 'fillPolygon', z: 0, points: square, target: { newInstanceOfClass: 0 } })).toThrow(/newInstanceOfClass/);
    expect(() => edit({ op: 'erasePolygon', z: 0, points: square, mode: 'x' })).toThrow(/unexpected key "mode"/);
    expect(() => edit({ op: 'fillHoles', instanceId: 0 })).toThrow(/instanceId: expected a value in \[1/);
    expect(() => edit({ op: 'fillHoles', instanceId: 2, z: -1 })).toThrow(/\.z/);
    expect(() => edit({ op: 'splitInstance', instanceId: 2, z: 0, line: [[1, 1]] })).toThrow(/line: expected 2\.\.8192 items/);
    expect(() => edit({ op: 'splitInstance', instanceId: 2, line: [[1, 1], [2, 2]] })).toThrow(/\.z: required/);
    expect(() => edit({ op: 'mergeInstances', instanceIds: [3] })).toThrow(/instanceIds: expected 2\.\.4096 items/);
    expect(() => edit({ op: 'mergeInstances', instanceIds: [3, 3] })).toThrow(/instanceIds: expected distinct ids/);
    expect(() => edit({ op: 'mergeInstances', instanceIds: [3, '4'] })).toThrow(/instanceIds\[1\]/);
    expect(() => edit({ op: 'regionGrow', z: 0, seed: [1, 1], tolerance: -1, maxRadiusPx: 10, target: { instanceId: 1 } })).toThrow(/tolerance: expected a value in \[0/);
    expect(() => edit({ op: 'regionGrow', z: 0, seed: [1, 1], tolerance: 5, maxRadiusPx: 0, target: { instanceId: 1 } })).toThrow(/maxRadiusPx/);
    expect(() => edit({ op: 'regionGrow', z: 0, seed: [1, 1, 1], tolerance: 5, maxRadiusPx: 9, target: { instanceId: 1 } })).toThrow(/seed: expected 2\.\.2 items/);
    expect(() => edit({ op: 'regionGrow', z: 0, seed: [1, 1], tolerance: 5, target: { instanceId: 1 } })).toThrow(/maxRadiusPx: required/);
    expect(() => edit({ op: 'fillHole', instanceId: 1 })).toThrow(/expected one of .*fillPolygon.*regionGrow/);
  });
});
