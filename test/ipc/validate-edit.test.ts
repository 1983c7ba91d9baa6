// Guards of the result channels (issue 8): edit operations are checked by their `op` name, strokes by shape and
// range, result ids by pattern; anything else is refused with a message naming the argument.
import { describe, expect, it } from 'vitest';
import { validateArgs } from '../../main/ipc/validate';

const stroke = { z: 0, points: [[1, 2], [3.5, 4]], radiusPx: [2, 2] };

describe('result channel guards', () => {
  it('accepts each named edit operation', () => {
    expect(validateArgs('result:edit', ['r_abc1', { op: 'paintStroke', ...stroke, target: { instanceId: 3 } }])[1]).toMatchObject({ op: 'paintStroke', target: { instanceId: 3 } });
    expect(validateArgs('result:edit', ['r_abc1', { op: 'paintStroke', ...stroke, target: { newInstanceOfClass: 1 } }])[1]).toMatchObject({ target: { newInstanceOfClass: 1 } });
    expect(validateArgs('result:edit', ['r_abc1', { op: 'eraseStroke', ...stroke }])[1]).toMatchObject({ op: 'eraseStroke' });
    expect(validateArgs('result:edit', ['r_abc1', { op: 'deleteInstance', instanceId: 2 }])[1]).toEqual({ op: 'deleteInstance', instanceId: 2 });
    expect(validateArgs('result:edit', ['r_abc1', { op: 'setInstanceClass', instanceId: 2, classId: 1 }])[1]).toEqual({ op: 'setInstanceClass', instanceId: 2, classId: 1 });
  });

  it('refuses unknown operations, bad shapes and foreign keys', () => {
    expect(() => validateArgs('result:edit', ['r_abc1', { op: 'format-disk' }])).toThrow(/\.op: expected one of paintStroke/);
    expect(() => validateArgs('result:edit', ['r_abc1', { op: 'paintStroke', ...stroke }])).toThrow(/target: required/);
    expect(() => validateArgs('result:edit', ['r_abc1', { op: 'eraseStroke', ...stroke, points: [[1]] }])).toThrow(/points\[0\]: expected 2\.\.2 items/);
    expect(() => validateArgs('result:edit', ['r_abc1', { op: 'eraseStroke', ...stroke, radiusPx: [0, 1] }])).toThrow(/radiusPx\[0\]/);
    expect(() => validateArgs('result:edit', ['r_abc1', { op: 'deleteInstance', instanceId: 2, path: '/etc' }])).toThrow(/unexpected key "path"/);
    expect(() => validateArgs('result:edit', ['/tmp/x', { op: 'deleteInstance', instanceId: 2 }])).toThrow(/a result id/);
    expect(() => validateArgs('result:slice', [{ resultId: 'r_1', z: -1, maxSize: 10 }])).toThrow(/\.z/);
    expect(() => validateArgs('image:probe', [{ handle: '/etc/passwd', x: 0, y: 0, z: 0 }])).toThrow(/file handle/);
  });
});
