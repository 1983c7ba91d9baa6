// Sessions: save/load round trip with the image sanity check, autosave on every completed edit and on a timer, and
// crash recovery: a child process killed in the middle of editing loses none of its completed edits.
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../main/cli/index';
import { checkImageReference, loadSession, newSession, recoverSession, replaySession, saveSession, SessionRecorder, autosavePath } from '../../main/engine/session/session';
import { bundleChild } from '../fixtures/bundle-child';
import { writeGeoResult } from '../fixtures/geo-result';
import { killTestEdit } from '../fixtures/session-edits';
import { tempDir } from './helpers';

describe('sessions', () => {
  const tmp = tempDir('delineate-session-');
  let geo: { image: string; result: string };
  beforeAll(async () => {
    geo = await writeGeoResult(tmp.dir);
  });
  afterAll(() => tmp.cleanup());

  it('saves and loads a session, and notices a changed image', async () => {
    const s = await newSession(geo.image, { result: geo.result, model: { modelId: 'm', modelVersion: '1', options: { overlap: 0.5 } }, view: { z: 0, zoom: 2 } });
    s.edits.push(killTestEdit(1), killTestEdit(2));
    const file = path.join(tmp.dir, 'a.delineate.json');
    await saveSession(file, s);
    const back = await loadSession(file);
    expect(back.edits).toEqual(s.edits);
    expect(back.model?.options).toEqual({ overlap: 0.5 });
    expect(back.view.zoom).toBe(2);
    expect(await checkImageReference(back.image)).toEqual([]);
    const copy = path.join(tmp.dir, 'copy.tif');
    writeFileSync(copy, 'not the image');
    expect((await checkImageReference({ ...back.image, path: copy })).length).toBeGreaterThan(0);
    writeFileSync(path.join(tmp.dir, 'bad.json'), '{"format":"delineate-session","version":99}');
    await expect(loadSession(path.join(tmp.dir, 'bad.json'))).rejects.toThrow(/version 99/);
  });

  it('autosaves every completed edit, undo and redo, and the view on the timer', async () => {
    const dir = path.join(tmp.dir, 'auto');
    const s = await newSession(geo.image, { id: 'auto', result: geo.result });
    const rec = new SessionRecorder(s, dir, 50);
    rec.start();
    await rec.recordEdit(killTestEdit(1));
    await rec.recordEdit(killTestEdit(2));
    expect((await loadSession(autosavePath(dir, 'auto'))).edits).toHaveLength(2);
    await rec.recordUndo();
    let saved = await loadSession(rec.file);
    expect(saved.edits).toHaveLength(1);
    expect(saved.redo).toHaveLength(1);
    await rec.recordRedo();
    rec.setView({ z: 0, zoom: 3 });
    await new Promise((r) => setTimeout(r, 150));
    saved = await loadSession(rec.file);
    expect(saved.edits).toHaveLength(2);
    expect(saved.view.zoom).toBe(3);
    await rec.stop();
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('exports a session: its result with the edits replayed', async () => {
    const s = await newSession(geo.image, { result: geo.result });
    s.edits.push({ op: 'deleteInstance', instanceId: 1 }, { op: 'setInstanceClass', instanceId: 5, classId: 1 });
    const file = path.join(tmp.dir, 'edited.delineate.json');
    await saveSession(file, s);
    const out = path.join(tmp.dir, 'edited.json');
    expect(await main(['export', file, '--to', 'json', '--out', out])).toBe(0);
    const doc = (await import('node:fs')).readFileSync(out, 'utf8');
    const parsed = JSON.parse(doc) as { instances: Array<{ id: number; classId: number }> };
    expect(parsed.instances.map((i) => i.id)).toEqual([2, 3, 4, 5]);
    expect(parsed.instances.find((i) => i.id === 5)!.classId).toBe(1);
  });

  it('recovers every completed edit after the editing process is killed', async () => {
    const dir = path.join(tmp.dir, 'crash');
    mkdirSync(dir);
    const bundle = await bundleChild('test/fixtures/session-child.ts');
    const child = spawn(process.execPath, [bundle, geo.image, geo.result, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const N = 6;
    let reported = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        for (const m of b.toString().matchAll(/done (\d+)/g)) reported = Math.max(reported, Number(m[1]));
        if (reported >= N) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code) => (reported >= N ? undefined : reject(new Error(`child exited early (${String(code)})`))));
    });
    await new Promise((r) => child.once('exit', r));
    const recovered = await recoverSession(dir);
    expect(recovered).not.toBeNull();
    const k = recovered!.session.edits.length;
    // Everything reported done is on disk (an edit saved just before the kill may not have been reported yet).
    expect(k).toBeGreaterThanOrEqual(reported);
    expect(recovered!.applied).toBe(k);
    expect(recovered!.session.edits).toEqual(Array.from({ length: k }, (_, i) => killTestEdit(i + 1)));
    // The replayed maps equal the same k edits applied afresh.
    const fresh = await newSession(geo.image, { result: geo.result });
    fresh.edits = recovered!.session.edits;
    const reference = await replaySession(fresh);
    expect(Array.from(recovered!.result.instances)).toEqual(Array.from(reference.result.instances));
    expect(recovered!.result.document.instances.length).toBeGreaterThan(5);
  });
});
