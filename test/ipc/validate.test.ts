// The validator table covers the whole contract, and app:info answers through the same dispatch.
import { describe, expect, it } from 'vitest';
import { INVOKE_CHANNELS, METHOD_OF_CHANNEL } from '../../preload/api';
import { VALIDATORS, validateArgs, ValidationError } from '../../main/ipc/validate';
import { FileRegistry, UnknownHandleError } from '../../main/services/files';

describe('validators', () => {
  it('has a guard list for every invoke channel and nothing else', () => {
    expect(Object.keys(VALIDATORS).sort()).toEqual([...INVOKE_CHANNELS].sort());
    expect(Object.keys(METHOD_OF_CHANNEL).sort()).toEqual([...INVOKE_CHANNELS].sort());
  });

  it('returns validated copies without unknown optional keys', () => {
    const handle = 'h_' + 'b'.repeat(32);
    const [req] = validateArgs('image:slice', [{ handle, z: 2, maxSize: 512, window: undefined }]);
    expect(req).toEqual({ handle, z: 2, maxSize: 512 });
  });

  it('throws ValidationError (caught by dispatch) on bad input', () => {
    expect(() => validateArgs('job:cancel', [7])).toThrow(ValidationError);
  });
});

describe('file registry', () => {
  it('refuses handles it did not issue and paths', async () => {
    const files = new FileRegistry();
    expect(() => files.resolve('/etc/passwd')).toThrow(UnknownHandleError);
    const handle = await files.issue(__filename);
    expect(files.resolve(handle)).toBe(__filename);
    expect(() => files.resolve(__filename)).toThrow(UnknownHandleError);
    expect(files.release(handle)).toBe(true);
    expect(() => files.resolve(handle)).toThrow(UnknownHandleError);
  });
});
