// Session and export channels over the real dispatch: paths come only from main's dialogs (a cancelled dialog is
// null, not an error), ids and formats are checked before the engine host sees them, and replies carry base names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import type { IpcReply, OpenedImage, OpenedSession, RecoverableSession, SavedFile } from '../../preload/api';
import { makeHarness, type Harness } from './helpers';

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

function ok<T>(reply: IpcReply): T {
  if (!reply.ok) throw new Error(`expected ok, got error: ${reply.error}`);
  return reply.value as T;
}
function err(reply: IpcReply): string {
  if (reply.ok) throw new Error(`expected an error, got ${JSON.stringify(reply.value)}`);
  return reply.error;
}

describe('sessions and exports over IPC', () => {
  it('saves where the save dialog says, and answers null when it is cancelled', async () => {
    const request = { handle: image.handle, resultId: 'r_abc', view: { z: 0 } };
    h.setSaveDialog(null);
    expect(ok(await h.dispatch('session:save', [request]))).toBeNull();
    h.setSaveDialog(join(h.dir, 'work.delineate.json'));
    expect(ok<SavedFile>(await h.dispatch('session:save', [request]))).toEqual({ name: 'work.delineate.json', files: ['work.delineate.json'] });
  });

  it('exports with sidecars reported by base name, and refuses unknown formats and paths', async () => {
    h.setSaveDialog(join(h.dir, 'layer.shp'));
    const saved = ok<SavedFile>(await h.dispatch('result:export', [{ handle: image.handle, resultId: 'r_abc', format: 'shp' }]));
    expect(saved).toEqual({ name: 'layer.shp', files: ['layer.shp', 'layer.dbf'] });
    expect(err(await h.dispatch('result:export', [{ handle: image.handle, resultId: 'r_abc', format: 'exe' }]))).toMatch(/format: expected one of seg, rtstruct, nifti/);
    expect(err(await h.dispatch('result:export', [{ handle: image.handle, resultId: 'r_abc', format: 'csv', out: '/tmp/x.csv' }]))).toMatch(/unexpected key "out"/);
    expect(err(await h.dispatch('result:export', [{ handle: '/etc/passwd', resultId: 'r_abc', format: 'csv' }]))).toMatch(/handle/);
    expect(err(await h.dispatch('session:save', [{ handle: image.handle, resultId: 'r_abc', view: { z: -1 } }]))).toMatch(/view\.z/);
  });

  it('lists autosaves, refuses a path as a session id, and opens a session with a fresh image handle', async () => {
    const list = ok<RecoverableSession[]>(await h.dispatch('session:recover-list', []));
    expect(list.map((s) => s.sessionId)).toEqual(['s_fake']);
    // The engine host names the image's path (main matches autosaves to an opened image by it); the renderer never sees it.
    expect(list.every((s) => !('imagePath' in s))).toBe(true);
    expect(JSON.stringify(list)).not.toContain('/nowhere');
    // Closing a result takes an engine-issued id, never a path.
    ok(await h.dispatch('result:close', ['r_abc']));
    expect(err(await h.dispatch('result:close', ['/tmp/x.autosave.json']))).toMatch(/result/i);
    expect(err(await h.dispatch('session:recover', ['../../autosave/x']))).toMatch(/session id/);
    expect(err(await h.dispatch('session:discard', ['/tmp/x.autosave.json']))).toMatch(/session id/);
    ok(await h.dispatch('session:discard', ['s_fake']));
    h.setDialog(null);
    expect(ok(await h.dispatch('session:open', []))).toBeNull();
    const file = join(h.dir, 'b.delineate.json');
    writeFileSync(join(h.dir, 'b.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    h.setDialog(file);
    const opened = ok<OpenedSession>(await h.dispatch('session:open', []));
    expect(opened.image.name).toBe('b.png');
    expect(opened.image.handle).toMatch(/^h_[0-9a-f]{32}$/);
    expect(opened.result.undoStack).toHaveLength(2);
  });
});
