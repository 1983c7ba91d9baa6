// Guards of the MPR and heat-map arguments: the optional slice axis of 'image:slice' and 'result:slice', and
// 'result:probability' (result id, class, slice, axis, size); anything else is refused naming the argument.
import { describe, expect, it } from 'vitest';
import { validateArgs } from '../../main/ipc/validate';

const handle = `h_${'0'.repeat(32)}`;

describe('slice axis and probability guards', () => {
  it('accepts the three axes and leaves the axis out when not given', () => {
    for (const axis of ['axial', 'coronal', 'sagittal'] as const) {
      expect(validateArgs('image:slice', [{ handle, z: 3, maxSize: 512, axis }])[0]).toEqual({ handle, z: 3, maxSize: 512, axis });
      expect(validateArgs('result:slice', [{ resultId: 'r_a1', z: 3, maxSize: 512, axis }])[0]).toEqual({ resultId: 'r_a1', z: 3, maxSize: 512, axis });
    }
    expect(validateArgs('result:slice', [{ resultId: 'r_a1', z: 0, maxSize: 64 }])[0]).toEqual({ resultId: 'r_a1', z: 0, maxSize: 64 });
    expect(validateArgs('result:probability', [{ resultId: 'r_a1', classId: 1, z: 2, maxSize: 1024, axis: 'coronal' }])[0]).toEqual({ resultId: 'r_a1', classId: 1, z: 2, maxSize: 1024, axis: 'coronal' });
  });

  it('refuses unknown axes, bad classes and foreign keys', () => {
    expect(() => validateArgs('image:slice', [{ handle, z: 0, maxSize: 64, axis: 'oblique' }])).toThrow(/\.axis: expected one of axial, coronal, sagittal/);
    expect(() => validateArgs('result:slice', [{ resultId: 'r_a1', z: 0, maxSize: 64, axis: 3 }])).toThrow(/\.axis/);
    expect(() => validateArgs('result:probability', [{ resultId: 'r_a1', classId: 1.5, z: 0, maxSize: 64 }])).toThrow(/\.classId: expected an integer/);
    expect(() => validateArgs('result:probability', [{ resultId: 'r_a1', z: 0, maxSize: 64 }])).toThrow(/\.classId: required/);
    expect(() => validateArgs('result:probability', [{ resultId: '../x', classId: 1, z: 0, maxSize: 64 }])).toThrow(/a result id/);
    expect(() => validateArgs('result:probability', [{ resultId: 'r_a1', classId: 1, z: 0, maxSize: 64, path: '/etc' }])).toThrow(/unexpected key "path"/);
  });
});
