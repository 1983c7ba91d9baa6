// The comparison channels refuse what the renderer must not send: paths instead of handles, a single image, the same
// image twice, result ids or dates that do not pair with the handles, a model path, a bad comparison id.
import { describe, expect, it } from 'vitest';
import { validateArgs, ValidationError } from '../../main/ipc/validate';

const h = (c: string): string => 'h_' + c.repeat(32);

describe('compare channels', () => {
  it('accepts two or more handles with optional results, model, registration and dates', () => {
    const [, req] = validateArgs('compare:run', ['job_1', { handles: [h('a'), h('b')], resultIds: ['r_1', null], model: 'brain-flair-lgg', register: 'affine', dates: ['2024-01-02', '20240301'] }]);
    expect(req).toEqual({ handles: [h('a'), h('b')], resultIds: ['r_1', null], model: 'brain-flair-lgg', register: 'affine', dates: ['2024-01-02', '20240301'] });
  });

  it.each([
    [{ handles: [h('a')] }, /2\.\.16 items/],
    [{ handles: ['/etc/passwd', h('b')] }, /file handle/],
    [{ handles: [h('a'), h('a')] }, /distinct/],
    [{ handles: [h('a'), h('b')], resultIds: ['r_1'] }, /2\.\.16 items/],
    [{ handles: [h('a'), h('b'), h('c')], resultIds: ['r_1', null] }, /one per handle/],
    [{ handles: [h('a'), h('b')], dates: ['2024-01-02', 'yesterday'] }, /date/],
    [{ handles: [h('a'), h('b')], model: '/models/x.onnx' }, /model id/],
    [{ handles: [h('a'), h('b')], register: 'bspline' }, /rigid, affine, none/],
    [{ handles: [h('a'), h('b')], extra: 1 }, /unexpected key/],
  ])('refuses %j', (request, why) => {
    expect(() => validateArgs('compare:run', ['job_1', request])).toThrow(why);
  });

  it('checks slice requests and comparison ids', () => {
    expect(validateArgs('compare:slice', [{ compareId: 'c_ab12', timepoint: 1, z: 3, maxSize: 512 }])[0]).toEqual({ compareId: 'c_ab12', timepoint: 1, z: 3, maxSize: 512 });
    expect(() => validateArgs('compare:slice', [{ compareId: 'r_ab12', timepoint: 0, z: 0, maxSize: 512 }])).toThrow(ValidationError);
    expect(() => validateArgs('compare:slice', [{ compareId: 'c_ab12', timepoint: -1, z: 0, maxSize: 512 }])).toThrow(/timepoint/);
    expect(() => validateArgs('compare:close', ['../c_1'])).toThrow(/comparison id/);
    expect(validateArgs('compare:targets', ['c_1', [2, 5]])).toEqual(['c_1', [2, 5]]);
    expect(validateArgs('compare:targets', ['c_1', null])).toEqual(['c_1', null]);
    expect(() => validateArgs('compare:targets', ['c_1', [0]])).toThrow(/\[1, 1000000\]/);
    expect(() => validateArgs('compare:targets', ['c_1', '1,3'])).toThrow(/array/);
  });
});
