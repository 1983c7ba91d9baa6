// Sessions: save/load round trip with the image sanity check, autosave on every completed edit and on a timer, and
// crash recovery: a child process killed in the middle of editing loses none of its completed edits; the app's
// SessionWorkspace (open, record, save, list, recover, discard) and the PNG snapshot's legend and scale bar.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../main/cli/index';
import { checkImageReference, loadSession, newSession, recoverSession, replaySession, saveSession, SessionRecorder, autosavePath } from '../../main/engine/session/session';
import { bundleChild } from '../fixtures/bundle-child';
import { GEO_CLASSES, GEO_H, GEO_W, geoFixture, writeGeoResult } from '../fixtures/geo-result';
import sharp from 'sharp';
import { openImage } from '../../main/engine/io/index';
import { ResultStore } from '../../main/engine/results/store';
import { SessionWorkspace } from '../../main/engine/session/workspace';
import { scaleBar, snapshotPng } from '../../main/engine/export/snapshot';
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

  it('refuses a session whose edit log holds an edit the edit channel would refuse, naming it', async () => {
    // Checked field by field with the IPC guards before any replay: a null id list used to surface as an internal
    // "object null is not iterable" from the merge, and a stroke whose points were a string replayed as nothing.
    const bad: Array<[unknown, RegExp]> = [
      [{ op: 'mergeInstances', instanceIds: null }, /session edit 2 of 2 is malformed \(edits\[1\]\.instanceIds: expected an array, got null\)/],
      [{ op: 'paintStroke', z: 0, points: 'xx', radiusPx: [2, 2], target: { instanceId: 1 } }, /edits\[1\]\.points: expected an array, got string/],
      [{ op: 'paintStroke', z: 0, points: [[1, 2]], radiusPx: [1e9, 1e9], target: { newInstanceOfClass: 1 } }, /edits\[1\]\.radiusPx\[0\]: expected a value in \[0\.1, 4096\]/],
      [{ op: 'deleteInstance', instanceId: 'abc' }, /edits\[1\]\.instanceId: expected an integer, got string/],
      [{ op: 'explode' }, /edits\[1\]\.op: expected one of paintStroke/],
    ];
    for (const [edit, why] of bad) {
      const s = await newSession(geo.image, { result: geo.result });
      s.edits.push({ op: 'deleteInstance', instanceId: 1 }, edit as never);
      const file = path.join(tmp.dir, 'bad-edit.delineate.json');
      await saveSession(file, s);
      await expect(loadSession(file)).rejects.toThrow(why);
      const out = path.join(tmp.dir, 'bad-edit.json');
      expect(await main(['export', file, '--to', 'json', '--out', out])).toBe(2);
      expect(existsSync(out)).toBe(false);
    }
    // A damaged redo stack is dropped, the edits kept.
    const s = await newSession(geo.image, { result: geo.result });
    s.edits.push({ op: 'deleteInstance', instanceId: 1 });
    s.redo.push({ op: 'mergeInstances', instanceIds: [2] } as never);
    const file = path.join(tmp.dir, 'bad-redo.delineate.json');
    await saveSession(file, s);
    const back = await loadSession(file);
    expect(back.edits).toEqual([{ op: 'deleteInstance', instanceId: 1 }]);
    expect(back.redo).toEqual([]);
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

  it('keeps app sessions in the engine host: open, record, save beside, list, recover, discard', async () => {
    const auto = path.join(tmp.dir, 'workspace');
    const readImage = async (file: string) => {
      const src = await openImage(file);
      try {
        return (await src.read({ channels: [0] })).data;
      } finally {
        await src.close();
      }
    };
    const store = new ResultStore(readImage);
    const ws = new SessionWorkspace(store, auto, 60_000);
    const s = await newSession(geo.image, { result: geo.result, view: { z: 0 } });
    s.edits.push(killTestEdit(1), killTestEdit(2), killTestEdit(3));
    s.redo.push(killTestEdit(5));
    const file = path.join(tmp.dir, 'ws.delineate.json');
    await saveSession(file, s);
    const opened = await ws.open(file);
    expect(opened.imagePath).toBe(path.resolve(geo.image));
    expect(opened.result.undoStack).toHaveLength(3);
    expect(opened.result.redoStack).toEqual(['paintStroke']);
    expect(opened.view).toEqual({ z: 0 });
    // An edit through the host is autosaved; an open session is not offered for recovery.
    await store.edit(opened.result.resultId, killTestEdit(6));
    await ws.recorded(opened.result.resultId, { edit: killTestEdit(6) });
    const autosaves = readdirSync(auto).filter((n) => n.endsWith('.autosave.json'));
    expect(autosaves).toHaveLength(1);
    expect((await loadSession(path.join(auto, autosaves[0]!))).edits).toHaveLength(4);
    expect(await ws.list()).toEqual([]);

    // A second host (after a crash) offers it, and replays it to the same maps.
    const store2 = new ResultStore(readImage);
    const ws2 = new SessionWorkspace(store2, auto, 60_000);
    const offered = await ws2.list();
    expect(offered.map((o) => o.editCount)).toEqual([4]);
    const back = await ws2.recover(offered[0]!.sessionId);
    expect(back.result.undoStack).toHaveLength(4);
    expect(Array.from(store2.snapshot(back.result.resultId).instances)).toEqual(Array.from(store.snapshot(opened.result.resultId).instances));
    await expect(ws2.recover('../../etc/passwd')).rejects.toThrow(/not a session id/);

    // Saving writes the session and its base beside it, and clears the autosave.
    const saved = path.join(tmp.dir, 'out.delineate.json');
    expect(await ws2.save(back.result.resultId, saved, { z: 0 })).toEqual([saved, path.join(tmp.dir, 'out.delineate-result')]);
    expect((await loadSession(saved)).edits).toHaveLength(4);
    expect(readdirSync(auto).filter((n) => n.endsWith('.autosave.json'))).toEqual([]);

    // A third host finds nothing to offer; discarding an autosave removes it with its base folder.
    const ws3 = new SessionWorkspace(new ResultStore(readImage), auto, 60_000);
    expect(await ws3.list()).toEqual([]);
    const left = await newSession(geo.image, { id: 'left', result: geo.result });
    await saveSession(autosavePath(auto, 'left'), left);
    expect((await ws3.list()).map((o) => o.sessionId)).toEqual(['left']);
    await ws3.discard('left');
    expect(await ws3.list()).toEqual([]);

    // An autosave that cannot be written (the folder replaced by a file) is reported, and the edit stays applied.
    const ws4 = new SessionWorkspace(new ResultStore(readImage), auto, 60_000);
    const live = await ws4.open(saved);
    expect(readdirSync(auto).filter((n) => n.endsWith('.autosave.json'))).toHaveLength(1);
    renameSync(auto, `${auto}.away`);
    writeFileSync(auto, 'not a folder');
    try {
      expect(await ws4.recorded(live.result.resultId, { edit: killTestEdit(7) })).toMatch(/ENOTDIR|EEXIST|not a directory/i);
    } finally {
      rmSync(auto, { force: true });
      renameSync(`${auto}.away`, auto);
    }
    // Closing a result (its work saved, or discarded) deletes its autosave: it is not offered again, even to a new host.
    await ws4.close(live.result.resultId);
    expect(readdirSync(auto).filter((n) => n.endsWith('.autosave.json'))).toEqual([]);
    expect(await new SessionWorkspace(new ResultStore(readImage), auto, 60_000).list()).toEqual([]);
  });

  it('draws the PNG snapshot with a legend and a scale bar in metres or millimetres', async () => {
    const { geometry } = geoFixture();
    // 48 px of 10 m: a fifth is 96 m -> a 50 m bar of 5 image px, 40 output px (small images are enlarged up to x8).
    expect(scaleBar(geometry, GEO_W, GEO_H, 8)).toEqual({ lengthPx: 40, label: '50 m' });
    expect(scaleBar({ type: 'medical', spacingMm: [0.7, 0.7, 2], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] }, 512, 512, 1)).toEqual({ lengthPx: 50 / 0.7, label: '5 cm' });
    expect(scaleBar({ type: 'pixel' }, 100, 100, 1)).toBeNull();
    const rgb = new Uint8Array(GEO_W * GEO_H * 3).fill(40);
    const png = await snapshotPng(rgb, GEO_W, GEO_H, GEO_CLASSES, geometry);
    const meta = await sharp(png).metadata();
    expect(meta.width).toBe(GEO_W * 8);
    expect(meta.height).toBeGreaterThan(GEO_H * 8);
    mkdirSync('test-results', { recursive: true });
    writeFileSync(path.join('test-results', 'snapshot-geo.png'), png);
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
