// The AI tool's channels and its edit refuse what the renderer must not send: a model path instead of an installed
// id, a bad prompt id, fractional or negative pixels, and acceptPrompt masks whose runs overflow their window.
import { describe, expect, it } from 'vitest';
import { validateArgs, ValidationError } from '../../main/ipc/validate';

const h = 'h_' + 'a'.repeat(32);

describe('prompt channels', () => {
  it('accept a handle with an installed model id or null, and well-formed clicks, boxes and propagation', () => {
    expect(validateArgs('prompt:open', [h, null])).toEqual([h, null]);
    expect(validateArgs('prompt:open', [h, 'sam-test'])).toEqual([h, 'sam-test']);
    expect(validateArgs('result:new', [h, null])).toEqual([h, null]);
    expect(validateArgs('prompt:click', [{ promptId: 'p_ab12', z: 3, x: 10, y: 0, positive: false }])[0]).toEqual({ promptId: 'p_ab12', z: 3, x: 10, y: 0, positive: false });
    expect(validateArgs('prompt:box', [{ promptId: 'p_ab12', z: 0, x0: 9, y0: 9, x1: 1, y1: 2 }])[0]).toMatchObject({ x0: 9, x1: 1 });
    expect(validateArgs('prompt:propagate', ['job_1', { promptId: 'p_ab12', z: 2 }])[1]).toEqual({ promptId: 'p_ab12', z: 2 });
    expect(validateArgs('prompt:models', [])).toEqual([]);
  });

  it.each([
    ['prompt:open', [h, '/models/sam/manifest.json'], /model id/],
    ['prompt:open', [h], /expected 2 argument/],
    ['prompt:open', ['/etc/passwd', null], /file handle/],
    ['prompt:click', [{ promptId: 'r_ab12', z: 0, x: 0, y: 0, positive: true }], /prompt id/],
    ['prompt:click', [{ promptId: 'p_ab12', z: 0, x: 1.5, y: 0, positive: true }], /integer/],
    ['prompt:click', [{ promptId: 'p_ab12', z: 0, x: -1, y: 0, positive: true }], /\[0, 1000000\]/],
    ['prompt:click', [{ promptId: 'p_ab12', z: 0, x: 0, y: 0, positive: 1 }], /true or false/],
    ['prompt:box', [{ promptId: 'p_ab12', z: 0, x0: 0, y0: 0, x1: 1 }], /y1: required/],
    ['prompt:clear', ['../p_1'], /prompt id/],
    ['prompt:close', [''], /1\.\.64 characters/],
  ] as const)('%s refuses %j', (channel, args, why) => {
    expect(() => validateArgs(channel, [...args] as never)).toThrow(why);
  });
});

describe('acceptPrompt edit', () => {
  const mask = { z: 0, x0: 2, y0: 3, width: 4, height: 2, runs: [1, 3, 2, 2] };
  it('accepts run-length masks with a target', () => {
    const [, op] = validateArgs('result:edit', ['r_1', { op: 'acceptPrompt', masks: [mask], target: { newInstanceOfClass: 1 } }]);
    expect(op).toEqual({ op: 'acceptPrompt', masks: [mask], target: { newInstanceOfClass: 1 } });
  });

  it.each([
    [{ op: 'acceptPrompt', masks: [], target: { instanceId: 1 } }, /0\.\.|1\.\.100000 items/],
    [{ op: 'acceptPrompt', masks: [{ ...mask, runs: [1, 8] }], target: { instanceId: 1 } }, /cover 9 pixels, more than the 4x2 window/],
    [{ op: 'acceptPrompt', masks: [{ ...mask, runs: [1, -1] }], target: { instanceId: 1 } }, /\[0, 1000000000000\]/],
    [{ op: 'acceptPrompt', masks: [{ ...mask, x0: 0.5 }], target: { instanceId: 1 } }, /integer/],
    [{ op: 'acceptPrompt', masks: [mask], target: { newInstanceOfClass: 0 } }, /\[1, 65534\]/],
    [{ op: 'acceptPrompt', masks: [{ ...mask, extra: 1 }], target: { instanceId: 1 } }, /unexpected key/],
  ])('refuses %j', (operation, why) => {
    expect(() => validateArgs('result:edit', ['r_1', operation])).toThrow(why);
    expect(() => validateArgs('result:edit', ['r_1', operation])).toThrow(ValidationError);
  });
});
