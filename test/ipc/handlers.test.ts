// IPC round trips without Electron: the real dispatch (validation + handlers) over a real engine host process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { IpcReply, OpenedImage, SliceBitmap } from '../../preload/api';
import { makeHarness, type Harness } from './helpers';

let h: Harness;
beforeAll(async () => {
  h = makeHarness();
  await h.engine.start();
});
afterAll(async () => {
  await h.engine.stop();
});

function ok<T>(reply: IpcReply): T {
  if (!reply.ok) throw new Error(`expected ok, got error: ${reply.error}`);
  return reply.value as T;
}
function err(reply: IpcReply): string {
  if (reply.ok) throw new Error(`expected an error, got ${JSON.stringify(reply.value)}`);
  return reply.error;
}

async function openA(): Promise<OpenedImage> {
  h.setDialog(join(h.dir, 'a.png'));
  return ok<OpenedImage>(await h.dispatch('file:open-dialog', []));
}

describe('handles', () => {
  it('opens through the dialog and issues an opaque handle', async () => {
    const opened = await openA();
    expect(opened.handle).toMatch(/^h_[0-9a-f]{32}$/);
    expect(opened.handle).not.toContain('a.png');
    expect(opened.name).toBe('a.png');
    expect(opened.info.width).toBe(4);
    const slice = ok<SliceBitmap>(await h.dispatch('image:slice', [{ handle: opened.handle, z: 0, maxSize: 64 }]));
    expect(slice.rgba).toBeInstanceOf(Uint8Array);
    expect(slice.rgba[0]).toBe(7);
  });

  it('returns null when the dialog is cancelled', async () => {
    h.setDialog(null);
    expect(ok(await h.dispatch('file:open-dialog', []))).toBeNull();
  });

  it('refuses an unknown handle', async () => {
    const message = err(await h.dispatch('image:info', ['h_' + '0'.repeat(32)]));
    expect(message).toMatch(/unknown file handle/);
  });

  it('refuses a raw path where a handle is expected', async () => {
    const path = join(h.dir, 'a.png');
    expect(err(await h.dispatch('image:info', [path]))).toMatch(/file handle.*paths are not accepted/);
    expect(err(await h.dispatch('image:slice', [{ handle: path, z: 0, maxSize: 64 }]))).toMatch(/handle/);
    expect(err(await h.dispatch('segment:run', ['job1', { handle: '/etc/passwd', modelId: 'm' }]))).toMatch(/handle/);
    // Even a path the user opened before is not accepted in place of its handle.
    await openA();
    expect(err(await h.dispatch('file:close', [path]))).toMatch(/handle/);
  });

  it('closes a handle, after which it is refused', async () => {
    const { handle } = await openA();
    expect(ok(await h.dispatch('file:close', [handle]))).toBeUndefined();
    expect(err(await h.dispatch('image:info', [handle]))).toMatch(/unknown file handle/);
  });

  it('checks dropped paths: absolute, existing, regular file or folder', async () => {
    expect(err(await h.dispatch('file:open-dropped', ['a.png']))).toMatch(/absolute/);
    expect(err(await h.dispatch('file:open-dropped', [join(h.dir, 'missing.png')]))).toMatch(/no such file/);
    expect(err(await h.dispatch('file:open-dropped', ['/dev/null']))).toMatch(/not a regular file/);
    const opened = ok<OpenedImage>(await h.dispatch('file:open-dropped', [join(h.dir, 'a.png')]));
    expect(opened.handle).toMatch(/^h_/);
  });

  it('issues no handle when the engine cannot read the file, and the host survives the error', async () => {
    const before = h.files.size;
    const pid = h.engine.pid;
    expect(err(await h.dispatch('file:open-dropped', [join(h.dir, 'broken.bad')]))).toMatch(/not an image/);
    expect(h.files.size).toBe(before);
    expect(h.engine.status()).toMatchObject({ state: 'ready', pid });
  });
});

describe('argument validation', () => {
  const cases: [string, unknown[], RegExp][] = [
    ['unknown channel', ['fs:read', ['/etc/passwd']], /unknown channel/],
    ['extra argument', ['app:info', [1]], /expected 0 argument/],
    ['missing argument', ['image:info', []], /expected 1 argument/],
    ['number for a handle', ['image:info', [42]], /expected a file handle.*got number/],
    ['null request', ['image:slice', [null]], /expected an object, got null/],
    ['array request', ['image:slice', [[]]], /expected an object, got array/],
    ['extra key', ['image:slice', [{ handle: 'h_' + 'a'.repeat(32), z: 0, maxSize: 64, path: '/etc/passwd' }]], /unexpected key "path"/],
    ['negative slice', ['image:slice', [{ handle: 'h_' + 'a'.repeat(32), z: -1, maxSize: 64 }]], /\.z: expected a value in/],
    ['fractional slice', ['image:slice', [{ handle: 'h_' + 'a'.repeat(32), z: 0.5, maxSize: 64 }]], /\.z: expected an integer/],
    ['string maxSize', ['image:slice', [{ handle: 'h_' + 'a'.repeat(32), z: 0, maxSize: '64' }]], /maxSize: expected an integer, got string/],
    ['NaN window', ['image:slice', [{ handle: 'h_' + 'a'.repeat(32), z: 0, maxSize: 64, window: { center: Number.NaN, width: 1 } }]], /center/],
    ['too many bands', ['image:slice', [{ handle: 'h_' + 'a'.repeat(32), z: 0, maxSize: 64, bands: [0, 1, 2, 3] }]], /bands/],
    ['bad device', ['segment:run', ['j1', { handle: 'h_' + 'a'.repeat(32), modelId: 'm', device: 'tpu' }]], /device: expected one of/],
    ['bad job id', ['job:cancel', ['../../x']], /job id/],
    ['empty dropped path', ['file:open-dropped', ['']], /expected 1\.\./],
    ['prototype-polluting object', ['image:slice', [JSON.parse('{"__proto__": {"x": 1}, "handle": "h_' + 'a'.repeat(32) + '", "z": 0, "maxSize": 1}')]], /unexpected key "__proto__"/],
  ];
  for (const [name, [channel, args], expected] of cases) {
    it(`refuses ${name} with an error reply, never a throw`, async () => {
      const reply = await h.dispatch(channel, args as unknown[]);
      expect(err(reply)).toMatch(expected);
    });
  }
});

describe('jobs and events', () => {
  it('reports progress as job:progress events and cancels a job', async () => {
    const { handle } = await openA();
    const run = h.dispatch('segment:run', ['job_cancel', { handle, modelId: 'slow' }]);
    await h.waitForEvent('job:progress', (p) => p.jobId === 'job_cancel');
    expect(ok(await h.dispatch('job:cancel', ['job_cancel']))).toBe(true);
    expect(err(await run)).toMatch(/cancelled/);
    expect(ok(await h.dispatch('job:cancel', ['job_cancel']))).toBe(false);
  });

  it('returns the result of a job with its id', async () => {
    const { handle } = await openA();
    const result = ok<{ jobId: string; document: { instances: unknown[] } }>(await h.dispatch('segment:run', ['job_quick', { handle, modelId: 'quick' }]));
    expect(result.jobId).toBe('job_quick');
    expect(result.document.instances).toEqual([]);
  });
});

describe('engine host crash', () => {
  it('rejects the pending call clearly, reports crashed, and recovers on restart', async () => {
    const { handle } = await openA();
    const pid = h.engine.pid;
    expect(pid).toBeGreaterThan(0);
    const run = h.dispatch('segment:run', ['job_crash', { handle, modelId: 'slow' }]);
    // Kill only once the job is certainly running in the host.
    await h.waitForEvent('job:progress', (p) => p.jobId === 'job_crash');
    process.kill(pid as number, 'SIGKILL');
    expect(err(await run)).toMatch(/^engine host stopped \(signal SIGKILL\) while running segment$/);

    const crashed = await h.waitForEvent('engine:state', (s) => s.state === 'crashed');
    expect(crashed.message).toMatch(/signal SIGKILL/);
    expect(ok(await h.dispatch('engine:status', []))).toMatchObject({ state: 'crashed', restarts: 0 });
    // While crashed, calls fail fast with a hint instead of hanging.
    expect(err(await h.dispatch('image:info', [handle]))).toMatch(/restart the engine/);

    const status = ok<{ state: string; pid: number; restarts: number }>(await h.dispatch('engine:restart', []));
    expect(status).toMatchObject({ state: 'ready', restarts: 1 });
    expect(status.pid).not.toBe(pid);
    // Handles live in main, so the open image survives the engine.
    expect(ok<{ width: number }>(await h.dispatch('image:info', [handle])).width).toBe(4);
  });

  it('restarts a healthy host on request and counts it', async () => {
    const before = h.engine.status().restarts;
    const pid = h.engine.pid;
    const status = ok<{ state: string; pid: number; restarts: number }>(await h.dispatch('engine:restart', []));
    expect(status.restarts).toBe(before + 1);
    expect(status.pid).not.toBe(pid);
  });
});
