// The recent-files store main keeps in the app's data folder: newest first, capped, written atomically, one entry
// per path (its latest series), a damaged file resets the list instead of failing, and a gone file leaves the list
// when it is reopened (through the real handlers).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RECENT_ID_PATTERN, RECENT_MAX, RecentFiles } from '../../main/services/recent';
import { createHandlers } from '../../main/ipc/handlers';
import { FileRegistry } from '../../main/services/files';
import type { EngineHostClient } from '../../main/engine/host/client';

/** Root ignores file permissions, so a read-only folder cannot make a write fail. */
const AS_ROOT = process.getuid?.() === 0;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'delineate-recent-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function touch(name: string): string {
  const p = join(dir, name);
  writeFileSync(p, 'x');
  return p;
}

describe('RecentFiles', () => {
  it('keeps entries newest first, one per path, and persists them for the next start', async () => {
    const file = join(dir, 'data', 'recent.json');
    let t = Date.parse('2026-01-01T10:00:00Z');
    const recent = new RecentFiles(file, { now: () => new Date((t += 60_000)) });
    const a = touch('a.png');
    const b = touch('b.nii.gz');
    const first = await recent.add(a, { kind: 'image' });
    await recent.add(b, { kind: 'medical' });
    const again = await recent.add(a, { kind: 'image', seriesUid: '1.2.3', series: 'T2 axial' });
    expect(again.id).toBe(first.id);
    expect(first.id).toMatch(RECENT_ID_PATTERN);
    const reread = new RecentFiles(file);
    const list = await reread.list();
    expect(list.map((e) => e.name)).toEqual(['a.png', 'b.nii.gz']);
    expect(list[0]).toMatchObject({ path: a, seriesUid: '1.2.3', series: 'T2 axial', kind: 'image' });
    // The renderer's view has no path.
    const view = await reread.view();
    expect(JSON.stringify(view)).not.toContain(dir);
    expect(view[0]).toEqual({ id: first.id, name: 'a.png', kind: 'image', series: 'T2 axial', openedAt: list[0]!.openedAt });
  });

  it(`keeps at most ${RECENT_MAX} entries, dropping the oldest`, async () => {
    const recent = new RecentFiles(join(dir, 'recent.json'));
    for (let i = 0; i < RECENT_MAX + 3; i++) await recent.add(touch(`f${i}.png`));
    const names = (await new RecentFiles(join(dir, 'recent.json')).list()).map((e) => e.name);
    expect(names).toHaveLength(RECENT_MAX);
    expect(names[0]).toBe(`f${RECENT_MAX + 2}.png`);
    expect(names).not.toContain('f0.png');
    expect(names).not.toContain('f2.png');
  });

  it('writes atomically: no temporary file is left and concurrent adds all land, the last one last', async () => {
    const file = join(dir, 'recent.json');
    const recent = new RecentFiles(file);
    await Promise.all(Array.from({ length: 6 }, (_, i) => recent.add(touch(`c${i}.png`))));
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { version: number; entries: Array<{ name: string }> };
    expect(stored.version).toBe(1);
    expect(stored.entries.map((e) => e.name)).toEqual(['c5.png', 'c4.png', 'c3.png', 'c2.png', 'c1.png', 'c0.png']);
  });

  it.skipIf(AS_ROOT)(`a write that fails leaves the previous file whole${AS_ROOT ? ' (skipped: running as root, which ignores file permissions)' : ''}`, async () => {
    const file = join(dir, 'recent.json');
    const recent = new RecentFiles(file);
    await recent.add(touch('keep.png'));
    const before = readFileSync(file, 'utf8');
    // The temporary file is written beside the target: a read-only folder makes the write fail before the rename.
    const { chmodSync } = await import('node:fs');
    chmodSync(dir, 0o500);
    try {
      await expect(recent.add(join(dir, 'other.png'))).rejects.toThrow();
      expect(readFileSync(file, 'utf8')).toBe(before);
    } finally {
      chmodSync(dir, 0o700);
    }
  });

  it.each([
    ['not JSON', '{"entries": [ {"id": '],
    ['no entries list', '{"version": 1}'],
    ['not an object', '42'],
  ])('resets a corrupt list (%s) to empty instead of failing, and writes a good one next time', async (_what, text) => {
    const file = join(dir, 'recent.json');
    writeFileSync(file, text);
    const problems: string[] = [];
    const recent = new RecentFiles(file, { onProblem: (m) => problems.push(m) });
    expect(await recent.list()).toEqual([]);
    expect(problems[0]).toMatch(/not readable.*starts empty/);
    await recent.add(touch('new.png'));
    expect((await new RecentFiles(file).list()).map((e) => e.name)).toEqual(['new.png']);
  });

  it('drops entries that are not well-formed (relative paths, bad ids) and keeps the rest', async () => {
    const file = join(dir, 'recent.json');
    const good = { id: 'rf_0123456789abcdef', path: touch('ok.png'), name: 'ok.png', openedAt: '2026-01-01T00:00:00.000Z' };
    writeFileSync(file, JSON.stringify({ version: 1, entries: [{ ...good, id: '../../x' }, { ...good, id: 'rf_1111111111111111', path: 'relative.png' }, good] }));
    expect((await new RecentFiles(file).list()).map((e) => e.id)).toEqual([good.id]);
  });
});

describe('recent:open through the handlers', () => {
  function handlers(recent: RecentFiles) {
    // An engine stand-in: only 'info' is asked for.
    const engine = {
      call: async (method: string, params: unknown[]) => {
        if (method !== 'info') throw new Error(`unexpected ${method}`);
        return { file: String(params[0]), format: 'png', kind: 'image', width: 2, height: 2, depth: 1, channels: 1, dtype: 'uint8' };
      },
    } as unknown as EngineHostClient;
    const none = async () => null;
    return createHandlers({ files: new FileRegistry(), engine, emit: () => undefined, dialogs: { openImage: none, openFolder: none, openSession: none, openModel: none, saveFile: none }, app: { name: 'd', version: '0', host: 'testhost' }, recent });
  }

  it('reopens an entry with a fresh handle and puts it on top', async () => {
    const recent = new RecentFiles(join(dir, 'recent.json'));
    const h = handlers(recent);
    const a = join(dir, 'a.png');
    // A PNG signature is enough for main's content check.
    writeFileSync(a, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    await h['file:open-dropped'](a);
    await recent.add(touch('b.png'));
    const [, entryA] = await h['recent:list']();
    const opened = await h['recent:open'](entryA!.id);
    expect(opened.name).toBe('a.png');
    expect(opened.handle).toMatch(/^h_/);
    expect((await h['recent:list']()).map((r) => r.name)).toEqual(['a.png', 'b.png']);
  });

  it('a series opened with slices missing reopens the same way from Recent', async () => {
    const recent = new RecentFiles(join(dir, 'recent-gaps.json'));
    const calls: unknown[] = [];
    const engine = {
      call: async (method: string, params: unknown[]) => {
        if (method === 'listAutosaves') return [];
        calls.push(params[1]);
        return { file: String(params[0]), format: 'dicom', kind: 'medical', width: 2, height: 2, depth: 3, channels: 1, dtype: 'int16', series: [{ uid: '1.2.3', description: 'CT with a gap' }] };
      },
    } as unknown as EngineHostClient;
    const none = async () => null;
    const files = new FileRegistry();
    const h = createHandlers({ files, engine, emit: () => undefined, dialogs: { openImage: none, openFolder: none, openSession: none, openModel: none, saveFile: none }, app: { name: 'd', version: '0', host: 'testhost' }, recent });
    const series = join(dir, 'gapped');
    mkdirSync(series, { recursive: true });
    const folder = await files.issue(series);
    await h['file:open-series'](folder, '1.2.3', { allowGaps: true });
    expect(calls.at(-1)).toEqual({ seriesUid: '1.2.3', allowGaps: true });
    const [entry] = await h['recent:list']();
    expect((await new RecentFiles(join(dir, 'recent-gaps.json')).list())[0]).toMatchObject({ seriesUid: '1.2.3', allowGaps: true });
    const reopened = await h['recent:open'](entry!.id);
    expect(calls.at(-1)).toEqual({ seriesUid: '1.2.3', allowGaps: true });
    // Every later engine call for the handle opens it the same way.
    expect(files.openOptions(reopened.handle)).toEqual({ seriesUid: '1.2.3', allowGaps: true });
  });

  it('a file that is gone gives an error naming it and leaves the list', async () => {
    const recent = new RecentFiles(join(dir, 'recent.json'));
    const h = handlers(recent);
    const sub = join(dir, 'gone');
    mkdirSync(sub);
    const gone = join(sub, 'scan.png');
    writeFileSync(gone, 'x');
    await recent.add(gone);
    const [entry] = await h['recent:list']();
    rmSync(gone);
    await expect(h['recent:open'](entry!.id)).rejects.toThrow(/^scan\.png: no such file or folder any more .*removed from Recent/);
    expect(await h['recent:list']()).toEqual([]);
    expect(existsSync(join(dir, 'recent.json'))).toBe(true);
    await expect(h['recent:open'](entry!.id)).rejects.toThrow(/no longer in the recent list/);
  });
});
