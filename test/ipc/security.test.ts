// Security of the IPC surface against a compromised renderer (issue 10): no path it was not given reaches the engine,
// malformed arguments of every kind become error replies (never an exception in main, never a dead host), and the
// window's request filter admits only the renderer bundle.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IpcReply, OpenedImage } from '../../preload/api';
import { isAllowedRequest } from '../../main/ipc/web-policy';
import { makeHarness, type Harness } from './helpers';

let h: Harness;
let errorsInMain: unknown[];
beforeAll(async () => {
  h = makeHarness();
  await h.engine.start();
  errorsInMain = [];
});
afterAll(async () => {
  await h.engine.stop();
});

const HANDLE = 'h_' + 'c'.repeat(32);

/** Dispatches and requires an error reply; a rejected promise (an exception escaping dispatch) fails the test. */
async function refused(channel: unknown, args: unknown[]): Promise<string> {
  let reply: IpcReply;
  try {
    reply = await h.dispatch(channel, args);
  } catch (err) {
    errorsInMain.push(err);
    throw new Error(`dispatch threw instead of replying: ${String(err)}`);
  }
  if (reply.ok) throw new Error(`expected a refusal, got ${JSON.stringify(reply.value)?.slice(0, 200)}`);
  expect(typeof reply.error).toBe('string');
  expect(reply.error.length).toBeLessThan(2000);
  return reply.error;
}

describe('paths the renderer was never given', () => {
  it('refuses a handle it never received, and a real path in its place', async () => {
    writeFileSync(join(h.dir, 'secret.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    expect(await refused('image:info', [HANDLE])).toMatch(/unknown file handle/);
    expect(await refused('image:info', [join(h.dir, 'secret.png')])).toMatch(/paths are not accepted/);
    expect(await refused('image:probe', [{ handle: join(h.dir, 'secret.png'), x: 0, y: 0, z: 0 }])).toMatch(/handle/);
    expect(await refused('file:close', ['/etc/passwd'])).toMatch(/handle/);
  });

  it('refuses a handle once the file is closed, even though the path still exists', async () => {
    h.setDialog(join(h.dir, 'a.png'));
    const reply = await h.dispatch('file:open-dialog', []);
    if (!reply.ok) throw new Error(reply.error);
    const { handle } = reply.value as OpenedImage;
    await h.dispatch('file:close', [handle]);
    expect(await refused('image:slice', [{ handle, z: 0, maxSize: 64 }])).toMatch(/unknown file handle/);
  });

  it('takes only an installed model id, never a model path', async () => {
    h.setDialog(join(h.dir, 'a.png'));
    const reply = await h.dispatch('file:open-dialog', []);
    if (!reply.ok) throw new Error(reply.error);
    const { handle } = reply.value as OpenedImage;
    for (const modelId of ['/tmp/evil/manifest.json', '../models/x', 'evil.onnx', 'manifest.json', 'C:\\models\\m', '.hidden']) {
      expect(await refused('segment:run', ['job_model', { handle, modelId }])).toMatch(/model id \(not a path\)/);
    }
    expect(await refused('segment:run', ['job_model', { handle, modelId: 'not-installed' }])).toMatch(/no installed model "not-installed"/);
  });

  it('refuses dropped paths that are not images Delineate reads', async () => {
    const before = h.files.size;
    writeFileSync(join(h.dir, 'notes.txt'), 'not an image at all');
    mkdirSync(join(h.dir, 'links'), { recursive: true });
    symlinkSync('/proc/self/environ', join(h.dir, 'links', 'environ.png'));
    expect(await refused('file:open-dropped', [join(h.dir, 'notes.txt')])).toMatch(/not an image Delineate can open/);
    expect(await refused('file:open-dropped', ['/etc/passwd'])).toMatch(/not an image Delineate can open/);
    expect(await refused('file:open-dropped', ['/proc/self/environ'])).toMatch(/not a regular file or folder/);
    expect(await refused('file:open-dropped', [join(h.dir, 'links', 'environ.png')])).toMatch(/not a regular file or folder/);
    expect(await refused('file:open-dropped', [`${h.dir}/../${h.dir.split('/').pop()}/a.png`])).toMatch(/not a normalised path/);
    expect(await refused('file:open-dropped', [`${join(h.dir, 'a.png')}\0.txt`])).toMatch(/not a valid path/);
    expect(await refused('file:open-dropped', ['relative/a.png'])).toMatch(/absolute/);
    expect(h.files.size).toBe(before);
  });
});

describe('malformed arguments', () => {
  const deep = (n: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < n; i++) v = [v];
    return v;
  };
  const cyclic: Record<string, unknown> = { handle: HANDLE, z: 0, maxSize: 64 };
  cyclic.window = cyclic;
  const cases: Array<[string, unknown, unknown[], RegExp]> = [
    ['a 1 MB dropped path', 'file:open-dropped', ['/' + 'a'.repeat(1 << 20)], /expected 1\.\.32768 characters/],
    ['a 100k-character handle', 'image:info', ['h_' + 'a'.repeat(100_000)], /expected 1\.\.64 characters/],
    ['a 1 MB job id', 'job:cancel', ['j'.repeat(1 << 20)], /expected 1\.\.64 characters/],
    ['a huge channel name', 'x'.repeat(1 << 20), [], /unknown channel: x{64}$/],
    ['a non-string channel', { toString: () => 'image:info' }, [HANDLE], /unknown channel/],
    ['NaN', 'image:slice', [{ handle: HANDLE, z: Number.NaN, maxSize: 64 }], /\.z: expected an integer, got number/],
    ['Infinity', 'image:slice', [{ handle: HANDLE, z: 0, maxSize: Number.POSITIVE_INFINITY }], /maxSize: expected an integer/],
    ['-Infinity window width', 'image:slice', [{ handle: HANDLE, z: 0, maxSize: 64, window: { center: 0, width: Number.NEGATIVE_INFINITY } }], /width: expected a finite number/],
    ['a huge integer', 'image:probe', [{ handle: HANDLE, x: 2 ** 60, y: 0, z: 0 }], /\.x: expected a value in/],
    ['a BigInt', 'image:probe', [{ handle: HANDLE, x: 1n, y: 0, z: 0 }], /\.x: expected an integer, got bigint/],
    ['a Symbol', 'image:info', [Symbol('h')], /got symbol/],
    ['a function', 'image:info', [() => HANDLE], /got function/],
    ['a typed array for a handle', 'image:info', [new Uint8Array(34)], /got object/],
    ['a Date for a request', 'image:slice', [new Date()], /a plain object/],
    ['a Map for a request', 'image:slice', [new Map([['handle', HANDLE]])], /a plain object/],
    ['a class instance', 'image:slice', [Object.assign(Object.create({ inherited: 1 }) as object, { handle: HANDLE, z: 0, maxSize: 64 })], /a plain object/],
    ['a cyclic object', 'image:slice', [cyclic], /window: unexpected key "handle"/],
    ['a 100k-deep array', 'image:slice', [{ handle: HANDLE, z: 0, maxSize: 64, bands: deep(100_000) }], /bands\[0\]: expected an integer, got array/],
    ['a 100k-deep object', 'image:slice', [JSON.parse('{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000))], /unexpected key "a"/],
    ['a million-point stroke', 'result:edit', ['r_1', { op: 'paintStroke', z: 0, points: new Array(1_000_000).fill([0, 0]), radiusPx: [1, 1], target: { instanceId: 1 } }], /points: expected 1\.\.8192 items/],
    ['a sparse array', 'image:slice', [{ handle: HANDLE, z: 0, maxSize: 64, bands: [0, , 2] }], /bands\[1\]: expected an integer, got undefined/],
    ['"__proto__" key', 'image:slice', [JSON.parse(`{"handle":"${HANDLE}","z":0,"maxSize":1,"__proto__":{"polluted":true}}`)], /unexpected key "__proto__"/],
    ['nested "__proto__"', 'image:slice', [JSON.parse(`{"handle":"${HANDLE}","z":0,"maxSize":1,"window":{"center":0,"width":1,"__proto__":{"polluted":true}}}`)], /unexpected key "__proto__"/],
    ['"constructor" key', 'image:probe', [{ handle: HANDLE, x: 0, y: 0, z: 0, constructor: { prototype: { polluted: true } } }], /unexpected key "constructor"/],
    ['"prototype" key', 'segment:run', ['job', { handle: HANDLE, modelId: 'm', prototype: { polluted: true } }], /unexpected key "prototype"/],
    ['an edit op named after Object.prototype', 'result:edit', ['r_1', { op: 'constructor' }], /op: expected one of/],
    ['an edit op of "__proto__"', 'result:edit', ['r_1', JSON.parse('{"op":"__proto__"}')], /op: expected one of/],
    ['a channel named "__proto__"', '__proto__', [], /unknown channel/],
    ['a channel named "constructor"', 'constructor', [], /unknown channel/],
    ['a channel named "hasOwnProperty"', 'hasOwnProperty', [], /unknown channel/],
    ['too many arguments', 'image:info', [HANDLE, HANDLE], /expected 1 argument/],
    ['non-array arguments', 'image:info', 'h_x' as unknown as unknown[], /expected 1 argument|argument 1/],
  ];
  for (const [name, channel, args, expected] of cases) {
    it(`refuses ${name} with an error reply`, async () => {
      expect(await refused(channel, args)).toMatch(expected);
    });
  }

  it('left Object.prototype alone, threw nothing in main, and kept the host alive', async () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    expect(errorsInMain).toEqual([]);
    expect(h.engine.status().state).toBe('ready');
  });
});

describe('window request filter', () => {
  const dir = '/opt/Delineate/resources/app.asar/dist/renderer';
  it('admits the bundle, data: and blob: only', () => {
    expect(isAllowedRequest(`file://${dir}/index.html`, dir, false)).toBe(true);
    expect(isAllowedRequest(`file://${dir}/assets/index-abc.js`, dir, false)).toBe(true);
    expect(isAllowedRequest('data:image/png;base64,AAAA', dir, false)).toBe(true);
    expect(isAllowedRequest('blob:file:///3f1c', dir, false)).toBe(true);
    for (const url of [
      'https://example.com/x.js',
      'http://127.0.0.1:8080/',
      'ws://localhost/',
      'file:///etc/passwd',
      `file://${dir}/../../../secret.json`,
      `file://${dir}-evil/index.html`,
      'ftp://host/file',
      'chrome://settings',
      'devtools://devtools/bundled/inspector.html',
    ]) {
      expect(isAllowedRequest(url, dir, false), url).toBe(false);
    }
    expect(isAllowedRequest('devtools://devtools/bundled/inspector.html', dir, true)).toBe(true);
  });
});
