// UI end to end of never losing work and no stale state: opening another file over unsaved edits asks Save /
// Discard / Cancel (Cancel keeps the edit and its undo history; Save writes the session, then opens); a file that
// fails to open (random bytes, a TIFF cut short after its header) keeps the open image and its result and names the
// file; undo back to the saved state clears the unsaved and edited marks; a ruler is in the CSV and JSON exports;
// Ctrl+Enter after switching images runs the model the picker shows. Chromium + test host + the real engine host;
// screenshots of the question at 1280x800 in /tmp/shots/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { writeNifti } from '../../main/engine/io/nifti';
import { imageToPage, readState, skipReason, startSession, until, writeTestModels, type Session } from './ui-helpers';

if (skipReason) console.warn(`ui unsaved-work e2e tests skipped: ${skipReason}`);

const W = 240;
const H = 160;
const SHOTS = '/tmp/shots';

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

/**
 * An uncompressed 8-bit TIFF whose directory comes first (as many writers put it) and whose pixels are cut off:
 * the header reads, the pixels do not.
 */
function truncatedTiff(path: string, w: number, h: number): void {
  const entries: Array<[tag: number, type: number, value: number]> = [
    [256, 3, w],
    [257, 3, h],
    [258, 3, 8],
    [259, 3, 1],
    [262, 3, 1],
    [273, 4, 0],
    [277, 3, 1],
    [278, 3, h],
    [279, 4, w * h],
  ];
  const dataAt = 8 + 2 + entries.length * 12 + 4;
  const b = Buffer.alloc(dataAt + w * h);
  b.write('II', 0);
  b.writeUInt16LE(42, 2);
  b.writeUInt32LE(8, 4);
  b.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, value], i) => {
    const o = 10 + i * 12;
    b.writeUInt16LE(tag, o);
    b.writeUInt16LE(type, o + 2);
    b.writeUInt32LE(1, o + 4);
    const v = tag === 273 ? dataAt : value;
    if (type === 3) b.writeUInt16LE(v, o + 8);
    else b.writeUInt32LE(v, o + 8);
  });
  for (let i = 0; i < w * h; i++) b[dataAt + i] = i % 251;
  writeFileSync(path, b.subarray(0, dataAt + Math.floor((w * h) / 4)));
}

async function stroke(page: Page, from: [number, number], to: [number, number]): Promise<void> {
  const a = await imageToPage(page, from[0], from[1]);
  const b = await imageToPage(page, to[0], to[1]);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move(b.x, b.y, { steps: 8 });
  await page.mouse.up();
}

const imageName = (page: Page) => page.evaluate(() => window.__delineateState!().image?.name ?? null);
const prompt = (page: Page) => page.getByTestId('unsaved-prompt');

describe.skipIf(skipReason !== null)('UI: never lose work, no stale state', () => {
  let s: Session;
  let dir: string;
  let resultId: string | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-unsaved-'));
    await writeDiscs(join(dir, 'discs.png'));
    await writeDiscs(join(dir, 'other.png'));
    writeFileSync(join(dir, 'noise.tif'), randomBytes(4096));
    truncatedTiff(join(dir, 'cut.tif'), 120, 80);
    // A 2D "medical" image: the geo-only model does not fit it.
    const data = new Uint8Array(W * H).fill(20);
    for (let y = 50; y < 90; y++) for (let x = 50; x < 90; x++) data[y * W + x] = 230;
    await writeNifti(join(dir, 'scan.nii'), { data, width: W, height: H, depth: 1, channels: 1, geometry: { type: 'medical', spacingMm: [0.5, 0.5, 1], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] } });
    writeTestModels(join(dir, 'models'));
    mkdirSync(SHOTS, { recursive: true });
    s = await startSession(join(dir, 'models'), { width: 1280, height: 800 });
  });

  afterAll(async () => {
    await s?.close();
    if (s) rmSync(s.host.autosaveDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('asks Save / Discard / Cancel before another file replaces an edit; Cancel (click, Esc or keys) keeps the edit and its undo history', async () => {
    const { page, host } = s;
    host.setNextDialogPath(join(dir, 'discs.png'));
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-size').filter({ hasText: `${W} × ${H}` }).waitFor();
    await page.getByTestId('fit-button').click();
    await page.getByTestId('run-button').click();
    resultId = (await until(() => readState(page), (v) => v.resultId !== null && v.instanceIds.length === 3, 60_000, 'result')).resultId;
    await page.keyboard.press('b');
    await page.getByTestId('brush-size').fill('8');
    await page.getByTestId('viewer-canvas').focus();
    await stroke(page, [86, 80], [110, 80]);
    await until(() => readState(page), (v) => v.undoStack.length === 1, 10_000, 'stroke applied');
    await page.getByTestId('unsaved-mark').waitFor();

    // Open... with the mouse: the question comes before any dialog, and Cancel keeps everything.
    host.setNextDialogPath(join(dir, 'other.png'));
    await page.getByTestId('open-button').click();
    await prompt(page).waitFor();
    expect(await page.getByTestId('unsaved-text').textContent()).toContain("the model's result with 1 edit");
    expect(await prompt(page).getAttribute('role')).toBe('alertdialog');
    // Keyboard: focus starts on Save.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('unsaved-save');
    await page.screenshot({ path: join(SHOTS, 'unsaved-prompt-1280x800.png') });
    await page.getByTestId('unsaved-cancel').click();
    await prompt(page).waitFor({ state: 'detached' });
    expect(await imageName(page)).toBe('discs.png');
    let st = await readState(page);
    expect(st.resultId).toBe(resultId);
    expect(st.undoStack).toEqual(['paintStroke']);

    // Esc is Cancel too; so is Tab, Tab, Enter (Save -> Discard -> Cancel).
    await page.keyboard.press('Control+o');
    await prompt(page).waitFor();
    await page.keyboard.press('Escape');
    await prompt(page).waitFor({ state: 'detached' });
    await page.keyboard.press('Control+o');
    await prompt(page).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('unsaved-discard');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('unsaved-cancel');
    await page.keyboard.press('Enter');
    await prompt(page).waitFor({ state: 'detached' });
    expect(await imageName(page)).toBe('discs.png');
    host.setNextDialogPath(null);

    // The undo history survived: undo and redo still work on the same result.
    await page.keyboard.press('Control+z');
    st = await until(() => readState(page), (v) => v.undoStack.length === 0 && v.redoStack.length === 1, 10_000, 'undo after cancel');
    expect(st.resultId).toBe(resultId);
    await page.keyboard.press('Control+Shift+z');
    await until(() => readState(page), (v) => v.undoStack.length === 1, 10_000, 'redo after cancel');
  });

  it('a file that fails to open (random bytes, a TIFF cut short) keeps the open image and its result, and the error names the file', async () => {
    const { page, host } = s;
    for (const name of ['noise.tif', 'cut.tif']) {
      host.setNextDialogPath(join(dir, name));
      await page.getByTestId('open-button').click();
      await prompt(page).waitFor();
      await page.getByTestId('unsaved-discard').click();
      const message = page.getByTestId('error-message');
      await message.filter({ hasText: name }).waitFor({ timeout: 15_000 });
      expect(await imageName(page)).toBe('discs.png');
      const st = await readState(page);
      expect(st.resultId).toBe(resultId);
      expect(st.undoStack).toEqual(['paintStroke']);
      expect(st.instanceIds).toHaveLength(3);
      // The picture shown is still the image's (its preview belongs to the open handle).
      expect(await page.evaluate(() => window.__delineateState!().slice?.width ?? 0)).toBe(W);
      await page.getByTestId('status-size').filter({ hasText: `${W} × ${H}` }).waitFor();
    }
    await page.screenshot({ path: join(SHOTS, 'corrupt-file-kept-1280x800.png') });
  });

  it('Save in the question saves the session as Save session does, then opens the other file with a fresh tool and no stale banners', async () => {
    const { page, host } = s;
    const file = join(dir, 'discs.delineate.json');
    host.setNextDialogPath(join(dir, 'other.png'));
    host.setNextSavePath(file);
    await page.getByTestId('open-button').click();
    await prompt(page).waitFor();
    await page.keyboard.press('Enter');
    await until(() => imageName(page), (n) => n === 'other.png', 15_000, 'other.png open');
    expect(existsSync(file)).toBe(true);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { edits: unknown[] };
    expect(saved.edits).toHaveLength(1);
    const st = await readState(page);
    expect(st.resultId).toBeNull();
    // The brush picked for discs.png does not carry over; the error of the failed opens is gone.
    expect(st.tool).toBe('pan');
    expect(await page.getByTestId('error-banner').count()).toBe(0);
    expect(await page.getByTestId('unsaved-mark').count()).toBe(0);
  });

  it('undo back to the saved state clears the unsaved mark and the edited mark of the object', async () => {
    const { page, host } = s;
    await page.getByTestId('fit-button').click();
    await page.getByTestId('run-button').click();
    await until(() => readState(page), (v) => v.resultId !== null && v.instanceIds.length === 3, 60_000, 'result');
    // A result nobody saved is unsaved work.
    await page.getByTestId('unsaved-mark').waitFor();
    host.setNextSavePath(join(dir, 'other.delineate.json'));
    await page.keyboard.press('Control+s');
    await page.getByTestId('unsaved-mark').waitFor({ state: 'detached' });

    await page.keyboard.press('b');
    await page.getByTestId('viewer-canvas').focus();
    await stroke(page, [86, 80], [110, 80]);
    await until(() => readState(page), (v) => v.undoStack.length === 1, 10_000, 'stroke applied');
    await page.getByTestId('unsaved-mark').waitFor();
    const editedIds = () => page.evaluate(() => (window.__delineateState!().result?.document.instances ?? []).filter((r) => r.edited === true).map((r) => r.id));
    expect((await editedIds()).length).toBe(1);
    const row = page.getByTestId(`instance-row-${(await editedIds())[0]}`).locator('[title="Edited by hand"]');
    expect(await row.count()).toBe(1);

    await page.keyboard.press('Control+z');
    await until(() => readState(page), (v) => v.undoStack.length === 0, 10_000, 'undo');
    await page.getByTestId('unsaved-mark').waitFor({ state: 'detached' });
    expect(await editedIds()).toEqual([]);
    expect(await page.locator('[title="Edited by hand"]').count()).toBe(0);
    // Redo brings the edit (and both marks) back.
    await page.keyboard.press('Control+Shift+z');
    await page.getByTestId('unsaved-mark').waitFor();
    expect((await editedIds()).length).toBe(1);
  });

  it('a ruler drawn by hand is in the CSV and JSON exports, with its slice counted from 1', async () => {
    const { page, host } = s;
    await page.keyboard.press('r');
    await stroke(page, [20, 150], [60, 150]);
    await page.getByTestId('manual-table').locator('tbody tr').first().waitFor();
    await page.keyboard.press('v');
    const csv = join(dir, 'out.csv');
    host.setNextSavePath(csv);
    await page.getByTestId('export-button').click();
    await page.getByTestId('export-csv').click();
    await page.getByTestId('notice-message').filter({ hasText: 'Exported out.csv' }).waitFor();
    const text = readFileSync(csv, 'utf8');
    const lines = text.split(/\r?\n/);
    const header = lines.findIndex((l) => l.startsWith('measurement,'));
    expect(header).toBeGreaterThan(0);
    const cols = lines[header]!.split(',');
    const ruler = lines[header + 1]!.split(',');
    expect(ruler[cols.indexOf('kind')]).toBe('ruler');
    expect(ruler[cols.indexOf('slice')]).toBe('1');
    expect(Number(ruler[cols.indexOf('longPx')])).toBeCloseTo(40, 2);

    const json = join(dir, 'out.json');
    host.setNextSavePath(json);
    await page.getByTestId('export-button').click();
    await page.getByTestId('export-json').click();
    await page.getByTestId('notice-message').filter({ hasText: 'Exported out.json' }).waitFor();
    const doc = JSON.parse(readFileSync(json, 'utf8')) as { manualMeasurements?: Array<{ kind: string; z: number; longPx: number }> };
    expect(doc.manualMeasurements).toHaveLength(1);
    expect(doc.manualMeasurements![0]).toMatchObject({ kind: 'ruler', z: 0 });
    expect(doc.manualMeasurements![0]!.longPx).toBeCloseTo(40, 2);
  });

  it('Ctrl+Enter after switching images runs the model the picker shows', async () => {
    const { page, host, problems } = s;
    // On a plain picture every model fits: pick the geo-only one.
    await page.getByTestId('model-select').selectOption('geo-only');
    host.setNextDialogPath(join(dir, 'scan.nii'));
    await page.getByTestId('open-button').click();
    await prompt(page).waitFor();
    await page.getByTestId('unsaved-discard').click();
    await until(() => imageName(page), (n) => n === 'scan.nii', 15_000, 'scan.nii open');
    // A medical image: the picker falls back to the first model that fits it.
    const shown = await page.getByTestId('model-select').inputValue();
    expect(shown).toBe('bright');
    await page.getByTestId('viewer-canvas').focus();
    await page.keyboard.press('Control+Enter');
    const st = await until(() => readState(page), (v) => v.resultId !== null, 20_000, 'result of Ctrl+Enter');
    expect(st.resultId).not.toBeNull();
    expect(await page.evaluate(() => window.__delineateState!().result?.document.model?.id)).toBe(shown);
    expect(await page.getByTestId('error-banner').count()).toBe(0);
    expect(problems).toEqual([]);
  });
});

describe.skipIf(skipReason !== null)('UI: autosaves — offered when their image is reopened, failures said', () => {
  let s: Session;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-autosave-'));
    await writeDiscs(join(dir, 'discs.png'));
    await writeDiscs(join(dir, 'other.png'));
    writeTestModels(join(dir, 'models'));
    s = await startSession(join(dir, 'models'), { width: 1280, height: 800 });
  });

  afterAll(async () => {
    await s?.close();
    if (s) rmSync(s.host.autosaveDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens `name`, runs the model and paints one stroke (autosaved before the reply comes). */
  async function runAndEdit(page: Page, name: string): Promise<void> {
    s.host.setNextDialogPath(join(dir, name));
    await page.getByTestId('open-button').click();
    await until(() => imageName(page), (n) => n === name, 15_000, `${name} open`);
    await page.getByTestId('fit-button').click();
    await page.getByTestId('run-button').click();
    await until(() => readState(page), (v) => v.resultId !== null && v.instanceIds.length === 3, 60_000, 'result');
    await page.keyboard.press('b');
    await page.getByTestId('viewer-canvas').focus();
    await stroke(page, [86, 80], [110, 80]);
    await until(() => readState(page), (v) => v.undoStack.length === 1, 10_000, 'stroke applied');
    await page.keyboard.press('v');
  }

  /** The engine dies (as in a crash) and the page is reloaded; Restart brings an engine that lists the autosaves. */
  async function crash(page: Page): Promise<void> {
    process.kill(s.host.engine.pid!, 'SIGKILL');
    await until(async () => s.host.engine.status().state, (st) => st === 'crashed', 10_000, 'engine crashed');
    await page.reload();
    await page.getByTestId('engine-restart').click();
    await page.getByTestId('recover-banner').waitFor({ timeout: 20_000 });
  }

  it('reopening an image whose work was autosaved offers that work first, and Recover restores its edits', async () => {
    const { page } = s;
    await runAndEdit(page, 'discs.png');
    await crash(page);
    // Recover it (so the next crash leaves two autosaves), then work on another image and crash again.
    await page.getByTestId('recover-button').click();
    await until(() => readState(page), (v) => v.undoStack.length === 1, 20_000, 'recovered discs.png');
    s.host.setNextDialogPath(join(dir, 'other.png'));
    await page.getByTestId('open-button').click();
    // Recovered work is not saved: the question comes; Cancel, then Save would lose the test's point, so crash now.
    await prompt(page).waitFor();
    await page.getByTestId('unsaved-cancel').click();
    await crash(page);
    expect(await page.getByTestId('recover-name').textContent()).toBe('discs.png');
    // Nothing open yet: open other.png, run and edit it, crash again: now two autosaves, the newest (other.png) first.
    await runAndEdit(page, 'other.png');
    await crash(page);
    expect(await page.getByTestId('recover-name').textContent()).toBe('other.png');

    // Reopening discs.png puts its own autosave first.
    s.host.setNextDialogPath(join(dir, 'discs.png'));
    await page.getByTestId('open-button').click();
    await until(() => imageName(page), (n) => n === 'discs.png', 15_000, 'discs.png open');
    await page.getByTestId('recover-name').filter({ hasText: 'discs.png' }).waitFor();
    await page.screenshot({ path: join(SHOTS, 'reopen-offers-autosave-1280x800.png') });
    await page.getByTestId('recover-button').click();
    const st = await until(() => readState(page), (v) => v.resultId !== null && v.undoStack.length === 1, 20_000, 'discs.png recovered');
    expect(st.undoStack).toEqual(['paintStroke']);
    expect(await imageName(page)).toBe('discs.png');
  });

  it('closing the window with unsaved work asks first: Cancel keeps everything, Close without saving closes and forgets the work', async () => {
    const { page, host } = s;
    // What the window's close button, Quit or a logout fires; a prevented beforeunload keeps the window (Electron).
    const closeHeld = () =>
      page.evaluate(() => {
        const e = new Event('beforeunload', { cancelable: true });
        window.dispatchEvent(e);
        return e.defaultPrevented;
      });
    // Recovered work on discs.png is unsaved: the close is held and the question asked, worded for closing.
    expect(await closeHeld()).toBe(true);
    await prompt(page).waitFor();
    expect(await page.getByTestId('unsaved-text').textContent()).toMatch(/^Not saved: .*edit.*\. Closing the window ends the image and its work\./);
    expect(await page.getByTestId('unsaved-discard').textContent()).toBe('Close without saving');
    await page.screenshot({ path: join(SHOTS, 'unsaved-close-1280x800.png') });
    await page.keyboard.press('Escape');
    await prompt(page).waitFor({ state: 'detached' });
    expect(host.closeRequests()).toBe(0);
    expect((await readState(page)).undoStack).toEqual(['paintStroke']);

    // Close without saving: the window is asked to close, and the work is not offered again on the next start.
    expect(await closeHeld()).toBe(true);
    await prompt(page).waitFor();
    await page.getByTestId('unsaved-discard').click();
    await until(async () => host.closeRequests(), (n) => n === 1, 10_000, 'window asked to close');
    const offered = await page.evaluate(() => window.delineate.listRecoverable());
    expect(offered.map((r) => r.imageName)).not.toContain('discs.png');
    // The close then goes through (the page's beforeunload no longer holds it).
    expect(await closeHeld()).toBe(false);
  });

  it('Discard and open another file forgets the discarded work: it is not offered again, not even after a restart', async () => {
    const { page } = s;
    s.host.setNextDialogPath(join(dir, 'other.png'));
    await page.getByTestId('open-button').click();
    await prompt(page).waitFor();
    await page.getByTestId('unsaved-discard').click();
    await until(() => imageName(page), (n) => n === 'other.png', 15_000, 'other.png open');
    // A new engine (the next start of the app) finds other.png's autosave (from before the last crash) but not the
    // discarded work on discs.png.
    await crash(page);
    const offered = await page.evaluate(() => window.delineate.listRecoverable());
    expect(offered.map((r) => r.imageName)).toEqual(['other.png']);
  });

  it('an autosave that cannot be written is shown, and the edit stays', async () => {
    const { page, host } = s;
    // Recover other.png's work, then take the autosave folder away (a file where the folder was: every write fails).
    await page.getByTestId('recover-button').click();
    await until(() => readState(page), (v) => v.resultId !== null && v.undoStack.length === 1, 20_000, 'other.png recovered');
    const moved = `${host.autosaveDir}.away`;
    renameSync(host.autosaveDir, moved);
    writeFileSync(host.autosaveDir, 'not a folder');
    try {
      await page.keyboard.press('b');
      await page.getByTestId('viewer-canvas').focus();
      await stroke(page, [150, 40], [150, 60]);
      await until(() => readState(page), (v) => v.undoStack.length === 2, 10_000, 'second stroke applied');
      await page.getByTestId('error-message').filter({ hasText: 'Autosave failed' }).waitFor({ timeout: 10_000 });
      await page.screenshot({ path: join(SHOTS, 'autosave-failed-1280x800.png') });
    } finally {
      rmSync(host.autosaveDir, { force: true });
      renameSync(moved, host.autosaveDir);
    }
  });
});
