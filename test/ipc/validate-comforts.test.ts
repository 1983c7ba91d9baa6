// The comfort channels (recent files, series choice, model management) over the real validators and dispatch:
// every argument checked strictly (a path, a malformed UID or id is refused before any handler runs), and the series
// a handle was opened with travels with it to every engine call that reads the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { DevicePlan, IpcReply, OpenedImage, PixelProbe } from '../../preload/api';
import { validateArgs, ValidationError } from '../../main/ipc/validate';
import { makeHarness, type Harness } from './helpers';

const HANDLE = 'h_' + 'c'.repeat(32);
const UID = '1.2.826.0.1.3680043.9.7433.3.2';

describe('validation of the comfort channels', () => {
  it('file:open-series takes a handle, a DICOM UID and its open options, nothing else', () => {
    expect(validateArgs('file:open-series', [HANDLE, UID, {}])).toEqual([HANDLE, UID, {}]);
    expect(validateArgs('file:open-series', [HANDLE, UID, { allowGaps: true }])).toEqual([HANDLE, UID, { allowGaps: true }]);
    // The n-th volume of a series that holds several at each position.
    expect(validateArgs('file:open-series', [HANDLE, `${UID}#2`, {}])).toEqual([HANDLE, `${UID}#2`, {}]);
    const refused: unknown[][] = [
      [HANDLE, `${UID}#0`, {}],
      [HANDLE, `${UID}#x`, {}],
      [HANDLE, `${UID}#2#3`, {}],
      [HANDLE, `${UID}#123456`, {}],
      ['/data/ct', UID, {}],
      [HANDLE, '../../etc/passwd', {}],
      [HANDLE, '1.2.3a', {}],
      [HANDLE, '1..2', {}],
      [HANDLE, '01.2', {}],
      [HANDLE, '1', {}],
      [HANDLE, '1.' + '2'.repeat(70), {}],
      [HANDLE, 1.2, {}],
      [HANDLE, '', {}],
      [HANDLE],
      [HANDLE, UID],
      [HANDLE, UID, { allowGaps: 'yes' }],
      [HANDLE, UID, { path: '/etc' }],
      [HANDLE, UID, {}, 'extra'],
    ];
    for (const args of refused) expect(() => validateArgs('file:open-series', args), JSON.stringify(args)).toThrow(ValidationError);
  });

  it('recent ids are the store\'s own, never paths', () => {
    const id = 'rf_0123456789abcdef';
    expect(validateArgs('recent:open', [id])).toEqual([id]);
    expect(validateArgs('recent:remove', [id])).toEqual([id]);
    for (const bad of ['/home/u/scan.dcm', 'rf_0123456789abcde', 'rf_0123456789ABCDEF', 'rf_0123456789abcdef0', '../rf_0123456789abcdef', 42, null]) {
      expect(() => validateArgs('recent:open', [bad]), String(bad)).toThrow(/recent-file id|expected/);
    }
  });

  it('models:remove takes an installed model id, not a path; the no-argument channels take none', () => {
    expect(validateArgs('models:remove', ['my-model.v2'])).toEqual(['my-model.v2']);
    for (const bad of ['/models/x', 'x.onnx', 'manifest.json', '../x', '']) expect(() => validateArgs('models:remove', [bad]), bad).toThrow(ValidationError);
    for (const ch of ['models:add', 'models:device', 'recent:list', 'file:open-folder-dialog'] as const) {
      expect(validateArgs(ch, [])).toEqual([]);
      expect(() => validateArgs(ch, ['/tmp/model.onnx'])).toThrow(/expected 0 argument/);
    }
  });
});

describe('comfort channels over IPC', () => {
  let h: Harness;
  let image: OpenedImage;
  beforeAll(async () => {
    h = makeHarness();
    await h.engine.start();
    h.setDialog(join(h.dir, 'a.png'));
    image = ok<OpenedImage>(await h.dispatch('file:open-dialog', []));
  });
  afterAll(async () => {
    await h.engine.stop();
  });

  it('a chosen series gets its own handle, and the choice reaches the engine with every call', async () => {
    const series = ok<OpenedImage>(await h.dispatch('file:open-series', [image.handle, UID, {}]));
    expect(series.handle).not.toBe(image.handle);
    expect(series.seriesInstanceUid).toBe(UID);
    expect(series.info.seriesInstanceUid).toBe(UID);
    expect(h.files.resolve(series.handle)).toBe(h.files.resolve(image.handle));
    expect(h.files.openOptions(series.handle)).toEqual({ seriesUid: UID });
    expect(h.files.openOptions(image.handle)).toEqual({});
    expect(ok<PixelProbe>(await h.dispatch('image:probe', [{ handle: series.handle, x: 1, y: 1, z: 0 }])).valueUnit).toBe(`series ${UID}`);
    expect(ok<PixelProbe>(await h.dispatch('image:probe', [{ handle: image.handle, x: 1, y: 1, z: 0 }])).valueUnit).toBeUndefined();
    expect(ok<{ seriesInstanceUid?: string }>(await h.dispatch('image:info', [series.handle])).seriesInstanceUid).toBe(UID);
    // Closing releases the choice with the handle.
    ok(await h.dispatch('file:close', [series.handle]));
    expect(err(await h.dispatch('image:probe', [{ handle: series.handle, x: 1, y: 1, z: 0 }]))).toMatch(/unknown file handle/);
  });

  it('refuses a series for a handle it never issued', async () => {
    expect(err(await h.dispatch('file:open-series', ['h_' + 'd'.repeat(32), UID, {}]))).toMatch(/unknown file handle/);
  });

  it('the folder dialog opens what it answers, and a cancelled one is null', async () => {
    h.setDialog(null);
    expect(ok(await h.dispatch('file:open-folder-dialog', []))).toBeNull();
    h.setDialog(h.dir);
    const folder = ok<OpenedImage>(await h.dispatch('file:open-folder-dialog', []));
    expect(folder.name).toBe(h.dir.split('/').pop());
    ok(await h.dispatch('file:close', [folder.handle]));
  });

  it('opened files are listed as recent, by name only', async () => {
    const list = ok<Array<{ id: string; name: string }>>(await h.dispatch('recent:list', []));
    expect(list.map((r) => r.name)).toEqual([h.dir.split('/').pop(), 'a.png']);
    expect(JSON.stringify(list)).not.toContain(h.dir);
  });

  it('models:add answers null when the dialog is cancelled, and the engine\'s error otherwise', async () => {
    h.setDialog(null);
    expect(ok(await h.dispatch('models:add', []))).toBeNull();
    h.setDialog(join(h.dir, 'model.bad'));
    expect(err(await h.dispatch('models:add', []))).toMatch(/bad\.onnx: not a valid ONNX model/);
    h.setDialog(join(h.dir, 'model.onnx'));
    expect(ok<{ id: string; source: string }>(await h.dispatch('models:add', []))).toMatchObject({ id: 'added', source: 'user' });
  });

  it('models:device reports the plan', async () => {
    expect(ok<DevicePlan>(await h.dispatch('models:device', []))).toEqual({ candidates: ['cpu'], skipped: ['cuda: not included in this onnxruntime-node build'] });
  });
});

function ok<T>(reply: IpcReply): T {
  if (!reply.ok) throw new Error(`expected ok, got error: ${reply.error}`);
  return reply.value as T;
}
function err(reply: IpcReply): string {
  if (reply.ok) throw new Error(`expected an error, got ${JSON.stringify(reply.value)}`);
  return reply.error;
}
