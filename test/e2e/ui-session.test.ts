// UI end to end of sessions and exports: run a tiny real model, paint N brush strokes, then SIGKILL the engine host
// and reload the page (a crash). After Restart the "Recover unsaved work?" banner offers the autosave; Recover brings
// back all N edits (areas in the table as before). Then export CSV and a PNG snapshot through the injected save
// dialog, and save the session to a file. Chromium + test host + the real engine host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { RESULTS, cellText, imageToPage, readState, skipReason, startSession, until, writeTestModels, type Session } from './ui-helpers';

if (skipReason) console.warn(`ui session e2e tests skipped: ${skipReason}`);

const W = 240;
const H = 160;
/** Brush strokes painted before the crash (image pixel paths). */
const STROKES: Array<[[number, number], [number, number]]> = [
  [[86, 80], [110, 80]],
  [[60, 52], [60, 36]],
  [[150, 66], [150, 84]],
];

async function writeDiscs(path: string): Promise<void> {
  const discs = [
    { cx: 60, cy: 80, r: 30 },
    { cx: 150, cy: 50, r: 18 },
    { cx: 190, cy: 115, r: 12 },
  ];
  const circles = discs.map((d) => `<circle cx="${d.cx + 0.5}" cy="${d.cy + 0.5}" r="${d.r}" fill="#f0f0f0"/>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="100%" height="100%" fill="#202020"/>${circles}</svg>`;
  await sharp(Buffer.from(svg)).flatten().greyscale().png().toFile(path);
}

/** id -> areaPx of the result the renderer shows. */
function areas(page: Page): Promise<Record<number, number>> {
  return page.evaluate(() => Object.fromEntries((window.__delineateState!().result?.document.instances ?? []).map((r) => [r.id, r.areaPx as number])));
}

describe.skipIf(skipReason !== null)(`UI: autosave, crash recovery, export${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let s: Session;
  let dir: string;
  let before: Record<number, number> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-session-'));
    await writeDiscs(join(dir, 'discs.png'));
    writeTestModels(join(dir, 'models'));
    s = await startSession(join(dir, 'models'));
  });

  afterAll(async () => {
    await s?.close();
    if (s) rmSync(s.host.autosaveDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it(`runs a model and autosaves each of ${STROKES.length} brush strokes`, async () => {
    const { page, host } = s;
    host.setNextDialogPath(join(dir, 'discs.png'));
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-size').filter({ hasText: `${W} × ${H}` }).waitFor();
    await page.getByTestId('fit-button').click();
    await page.getByTestId('run-button').click();
    await until(() => readState(page), (v) => v.resultId !== null && v.instanceIds.length === 3, 60_000, 'result');
    // The model's result is autosaved before any edit.
    await until(async () => readdirSync(host.autosaveDir).filter((n) => n.endsWith('.autosave.json')), (l) => l.length === 1, 10_000, 'first autosave');

    await page.keyboard.press('b');
    await page.getByTestId('brush-size').fill('8');
    await page.getByTestId('viewer-canvas').focus();
    for (const [k, [a, b]] of STROKES.entries()) {
      await page.keyboard.press('Escape');
      const from = await imageToPage(page, a[0], a[1]);
      const to = await imageToPage(page, b[0], b[1]);
      await page.mouse.move(from.x, from.y);
      await page.mouse.down();
      await page.mouse.move(to.x, to.y, { steps: 6 });
      await page.mouse.up();
      await until(() => readState(page), (v) => v.revision === k + 1, 10_000, `stroke ${k + 1} applied`);
    }
    const st = await readState(page);
    expect(st.undoStack).toEqual(STROKES.map(() => 'paintStroke'));
    before = await areas(page);
    const file = readdirSync(host.autosaveDir).find((n) => n.endsWith('.autosave.json'))!;
    // The reply to the last stroke came only after the autosave held it.
    const saved = JSON.parse(readFileSync(join(host.autosaveDir, file), 'utf8')) as { edits: unknown[]; result: string };
    expect(saved.edits).toHaveLength(STROKES.length);
    expect(existsSync(join(saved.result, 'instances.json'))).toBe(true);
  });

  it('after the engine is killed and the page reloaded, offers the autosave and recovers every edit', async () => {
    const { page, host } = s;
    // Every cell but the mean probability: the live result recomputed it from the model's map after each edit; a
    // recovered one has no map, so edited objects show it as stale ("—", with a tooltip saying why).
    const cells = () => page.getByTestId('instances-table').locator('tbody td:not([data-col="meanProbability"])').allTextContents();
    const tableBefore = await cells();
    process.kill(host.engine.pid!, 'SIGKILL');
    await until(async () => host.engine.status().state, (st) => st === 'crashed', 10_000, 'engine crashed');
    await page.reload();
    await page.getByTestId('engine-banner').waitFor();
    // Nothing to offer while no engine can replay it; after Restart the banner comes.
    expect(await page.getByTestId('recover-banner').count()).toBe(0);
    await page.getByTestId('engine-restart').click();
    const banner = page.getByTestId('recover-banner');
    await banner.waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('recover-name').textContent()).toBe('discs.png');
    expect(await page.getByTestId('recover-edits').textContent()).toBe(String(STROKES.length));
    await page.screenshot({ path: join(RESULTS, 'ui-session-recover-banner.png') });

    await page.getByTestId('recover-button').click();
    await banner.waitFor({ state: 'detached' });
    await page.getByTestId('status-size').filter({ hasText: `${W} × ${H}` }).waitFor();
    const st = await until(() => readState(page), (v) => v.resultId !== null && v.resultSliceZ === 0, 20_000, 'recovered result');
    expect(st.undoStack).toEqual(STROKES.map(() => 'paintStroke'));
    expect(await areas(page)).toEqual(before);
    for (const [id, areaPx] of Object.entries(before)) expect(Number(await cellText(page, Number(id), 'areaPx'))).toBe(areaPx);
    expect(await cells()).toEqual(tableBefore);
    const stale = page.getByTestId('instances-table').locator('td[data-col="meanProbability"][title^="edited: probability not recomputed"]');
    expect(await stale.count()).toBeGreaterThan(0);
    expect(await stale.first().textContent()).toBe('—');
    await page.getByTestId('notice-message').filter({ hasText: `with ${STROKES.length} edits` }).waitFor();
    await page.getByTestId('fit-button').click();
    await page.screenshot({ path: join(RESULTS, 'ui-session-recovered.png') });

    // Undo still works on the replayed log, and is autosaved like any edit.
    await page.keyboard.press('Control+z');
    await until(() => readState(page), (v) => v.undoStack.length === STROKES.length - 1, 10_000, 'undo after recovery');
    await page.keyboard.press('Control+Shift+z');
    await until(() => readState(page), (v) => v.undoStack.length === STROKES.length && v.redoStack.length === 0, 10_000, 'redo after recovery');
    expect(await areas(page)).toEqual(before);
    // The recovered session is open, so it is no longer offered.
    expect(await page.evaluate(() => window.delineate.listRecoverable())).toEqual([]);
  });

  it('exports CSV and a PNG snapshot through the save dialog, with only the formats that fit', async () => {
    const { page, host, problems } = s;
    await page.getByTestId('export-button').click();
    await page.getByTestId('export-menu').waitFor();
    const offered = await page.getByTestId('export-menu').locator('[role="menuitem"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
    // A plain picture: no DICOM SEG, no vector layers.
    expect(offered).toEqual(['export-nifti', 'export-geotiff', 'export-csv', 'export-json', 'export-png']);
    await page.screenshot({ path: join(RESULTS, 'ui-session-export-menu.png') });
    const csvPath = join(dir, 'out.csv');
    host.setNextSavePath(csvPath);
    await page.getByTestId('export-csv').click();
    await page.getByTestId('notice-message').filter({ hasText: 'Exported out.csv' }).waitFor();
    expect(host.lastSaveRequest()).toEqual({ defaultName: 'discs-measurements.csv', extensions: ['csv'] });
    const lines = readFileSync(csvPath, 'utf8').trim().split(/\r?\n/);
    const header = lines[0]!.split(',');
    const idCol = header.indexOf('id');
    const areaCol = header.indexOf('areaPx');
    expect(lines).toHaveLength(Object.keys(before).length + 1);
    const fromCsv = Object.fromEntries(lines.slice(1).map((l) => l.split(',')).map((c) => [Number(c[idCol]), Number(c[areaCol])]));
    expect(fromCsv).toEqual(before);

    const pngPath = join(dir, 'snapshot.png');
    host.setNextSavePath(pngPath);
    await page.getByTestId('export-button').click();
    await page.getByTestId('export-png').click();
    await page.getByTestId('notice-message').filter({ hasText: 'Exported snapshot.png' }).waitFor();
    const meta = await sharp(pngPath).metadata();
    // Enlarged to at least 640 px wide, with the legend strip below the image.
    expect(meta.width).toBe(W * 3);
    expect(meta.height).toBeGreaterThan(H * 3);
    await sharp(pngPath).toFile(join(RESULTS, 'ui-session-snapshot.png'));

    // A cancelled dialog writes nothing and says nothing.
    host.setNextSavePath(null);
    await page.getByTestId('export-button').click();
    await page.getByTestId('export-json').click();
    await page.waitForTimeout(300);
    expect(await page.getByTestId('error-banner').count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('saves the session to a file the user picks, which then holds the whole edit log and the manual measurements', async () => {
    const { page, host } = s;
    // A ruler across the background: 40 px (the picture has no pixel spacing).
    await page.keyboard.press('r');
    const a = await imageToPage(page, 20, 150);
    const b = await imageToPage(page, 60, 150);
    await page.mouse.move(a.x, a.y);
    await page.mouse.down();
    await page.mouse.move(b.x, b.y, { steps: 6 });
    await page.mouse.up();
    await page.getByTestId('manual-table').locator('tbody tr').first().waitFor();
    expect(await page.getByTestId('manual-table').textContent()).toContain('40 px');
    await page.keyboard.press('v');
    const file = join(dir, 'work.delineate.json');
    host.setNextSavePath(file);
    await page.getByTestId('save-session').click();
    await page.getByTestId('notice-message').filter({ hasText: 'Session saved as work.delineate.json' }).waitFor();
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { edits: unknown[]; result: string; view: { z?: number; measurements?: unknown[] } };
    expect(saved.view.measurements).toEqual([{ z: 0, kind: 'ruler', points: [expect.any(Array), expect.any(Array)] }]);
    expect(saved.edits).toHaveLength(STROKES.length);
    expect(saved.result).toBe(join(dir, 'work.delineate-result'));
    expect(existsSync(join(saved.result, 'instances.json'))).toBe(true);
    expect(saved.view.z).toBe(0);
    // Saved work is no longer an autosave to recover.
    expect(readdirSync(host.autosaveDir).filter((n) => n.endsWith('.autosave.json'))).toEqual([]);

    // Reopening it replays the log onto the saved base.
    host.setNextDialogPath(file);
    await page.getByTestId('open-session').click();
    await until(() => readState(page), (v) => v.resultId !== null && v.undoStack.length === STROKES.length && v.resultSliceZ === 0, 20_000, 'session reopened');
    expect(await areas(page)).toEqual(before);
    // The ruler came back with the session, on the image's new handle.
    const rows = page.getByTestId('manual-table').locator('tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    expect(await page.getByTestId('manual-table').textContent()).toContain('40 px');
  });
});
