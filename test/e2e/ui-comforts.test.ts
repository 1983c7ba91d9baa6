// UI end to end for the everyday comforts: a folder with two DICOM series opens its largest and offers the series
// chooser; picking the other shows its slices (and its values under the cursor); Recent reopens it (menu and empty
// screen) without asking again; "Add model..." installs a model through the injected dialog and picks it, a corrupt
// one is refused by name, and a user model can be removed. Chromium + test host + the real engine host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeCtSeries } from '../fixtures/dicom-writer';
import { brightManifest, writeModelFolder } from '../fixtures/models';
import { buildPixelModel } from '../fixtures/onnx-builder';
import { RESULTS, imageToPage, readState, skipReason, startSession, until, writeTestModels, type Session } from './ui-helpers';

if (skipReason) console.warn(`ui e2e tests skipped: ${skipReason}`);

const CT_UID = '1.2.826.0.1.3680043.9.7433.3.501';
const SCOUT_UID = '1.2.826.0.1.3680043.9.7433.3.502';

interface Seen {
  handle: string | null;
  seriesInstanceUid: string | null;
  size: number[] | null;
  sliceWidth: number | null;
  chooser: boolean;
  recent: string[];
  modelId: string | null;
  models: string[];
}

function seen(s: Session): Promise<Seen> {
  return s.page.evaluate(() => {
    const st = window.__delineateState!();
    return {
      handle: st.image?.handle ?? null,
      seriesInstanceUid: st.image?.seriesInstanceUid ?? null,
      size: st.image ? [st.image.info.width, st.image.info.height, st.image.info.depth] : null,
      sliceWidth: st.slice?.width ?? null,
      chooser: st.seriesChooserOpen,
      recent: st.recent.map((r) => r.name),
      modelId: st.modelId,
      models: st.models.map((m) => m.id),
    };
  });
}

describe.skipIf(skipReason !== null)(`UI: recent files, series chooser, adding models${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let s: Session;
  let dir: string;
  let study: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-comforts-'));
    study = join(dir, 'study');
    mkdirSync(study);
    // The larger series (48 x 40 x 12, -1000 HU air) opens by default; the scout (32 x 32 x 6, 500 HU) is the one to pick.
    const common = { orientation: [1, 0, 0, 0, 1, 0], rescaleIntercept: -1024, instanceNumber: (z: number) => z + 1 };
    writeCtSeries(study, { ...common, width: 48, height: 40, depth: 12, spacingMm: [0.8, 0.8, 2], originMm: [0, 0, 0], value: (x, y) => 24 + ((x + y) % 5), fileName: (z) => `ct_${z}.dcm`, seriesUid: CT_UID, seriesDescription: 'CT abdomen venous' });
    writeCtSeries(study, { ...common, width: 32, height: 32, depth: 6, spacingMm: [1, 1, 5], originMm: [0, 0, 0], value: () => 1524, fileName: (z) => `scout_${z}.dcm`, seriesUid: SCOUT_UID, seriesDescription: 'Scout localizer' });
    await sharp(Buffer.alloc(40 * 30 * 3, 90), { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(join(dir, 'photo.png'));
    writeTestModels(join(dir, 'models'));
    s = await startSession(join(dir, 'models'));
  });

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('offers the series of a folder, and the chosen one is what the viewer shows and reads', async () => {
    const { page, host } = s;
    host.setNextDialogPath(study);
    // Open... on a folder opens its largest series and offers the others (Open folder... lists them first instead:
    // ui-clinical.test.ts).
    await page.getByTestId('open-button').click();
    await page.getByTestId('series-chooser').waitFor();
    const first = await until(() => seen(s), (v) => v.sliceWidth !== null, 10_000, 'default series shown');
    expect(first.size).toEqual([48, 40, 12]);
    expect(first.seriesInstanceUid).toBeNull();
    const rows = page.locator('[data-testid^="series-row-"]');
    expect(await rows.count()).toBe(2);
    expect(await page.getByTestId('series-row-0').innerText()).toMatch(/CT abdomen venous[\s\S]*open[\s\S]*CT[\s\S]*12[\s\S]*48 × 40 × 12\s+…9\.7433\.3\.501$/);
    expect(await page.getByTestId('series-row-1').innerText()).toMatch(/Scout localizer[\s\S]*CT[\s\S]*6[\s\S]*32 × 32 × 6/);
    // The other series is selected to start with.
    expect(await page.getByTestId('series-row-1').getAttribute('aria-selected')).toBe('true');
    await page.screenshot({ path: join(RESULTS, 'ui-comforts-series-chooser.png') });

    await page.getByTestId('series-open').click();
    await page.getByTestId('status-size').filter({ hasText: '32 × 32 × 6' }).waitFor();
    const picked = await until(() => seen(s), (v) => v.sliceWidth === 32 && !v.chooser, 10_000, 'scout slices shown');
    expect(picked.seriesInstanceUid).toBe(SCOUT_UID);
    expect(picked.handle).not.toBe(first.handle);
    expect(await page.getByTestId('series-chooser').count()).toBe(0);
    // Every slice request carries the series: the next slice is the scout's too.
    await page.keyboard.press('ArrowUp');
    await until(() => readState(page), (v) => v.z === 4 && v.depth === 6, 10_000, 'next scout slice');
    expect((await seen(s)).sliceWidth).toBe(32);
    // So does the cursor read-out: the scout is 500 HU everywhere (the CT series is about -1000).
    await page.getByTestId('fit-button').click();
    const at = await imageToPage(page, 10, 10);
    await page.mouse.move(at.x, at.y);
    await page.getByTestId('status-value').filter({ hasText: '500' }).waitFor();
    // The model runs on the chosen series too: its result is the scout's size and names the scout.
    await page.getByTestId('run-button').click();
    await until(() => readState(page), (v) => v.resultId !== null && !v.job, 30_000, 'segmentation of the scout');
    const source = await page.evaluate(() => window.__delineateState!().result!.document.source);
    expect([source.width, source.height, source.depth, source.seriesInstanceUid]).toEqual([32, 32, 6, SCOUT_UID]);
    // A saved session of the scout reopens the scout, not the folder's default series.
    const sessionFile = join(dir, 'scout.delineate.json');
    host.setNextSavePath(sessionFile);
    await page.getByTestId('save-session').click();
    await page.getByTestId('notice-message').filter({ hasText: 'Session saved as scout.delineate.json' }).waitFor();
    const savedHandle = (await seen(s)).handle;
    host.setNextDialogPath(sessionFile);
    await page.getByTestId('open-session').click();
    const restored = await until(() => seen(s), (v) => v.handle !== savedHandle && v.sliceWidth === 32, 20_000, 'scout session reopened');
    expect(restored.size).toEqual([32, 32, 6]);
    expect(restored.seriesInstanceUid).toBe(SCOUT_UID);
    // The menu beside Open... brings the chooser back; Esc keeps what is shown.
    await page.getByTestId('recent-button').click();
    expect(await page.getByTestId('series-button').innerText()).toMatch(/^Choose series \(2\)\.\.\.\s+Alt\+S$/);
    await page.screenshot({ path: join(RESULTS, 'ui-comforts-open-menu.png') });
    await page.getByTestId('series-button').click();
    await page.getByTestId('series-chooser').waitFor();
    // The dialog is modal: arrows move its selection, tool keys do nothing.
    const toolBefore = (await readState(page)).tool;
    await page.keyboard.press('ArrowUp');
    expect(await page.getByTestId('series-row-0').getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('b');
    expect((await readState(page)).tool).toBe(toolBefore);
    await page.keyboard.press('Escape');
    await until(() => seen(s), (v) => !v.chooser, 5_000, 'chooser closed');
    expect((await seen(s)).seriesInstanceUid).toBe(SCOUT_UID);
  });

  it('reopens the chosen series from Recent without asking again, from the menu and from the empty screen', async () => {
    const { page, host } = s;
    host.setNextDialogPath(join(dir, 'photo.png'));
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-size').filter({ hasText: '40 × 30' }).waitFor();

    await page.getByTestId('recent-button').click();
    await page.getByTestId('recent-menu').waitFor();
    const items = page.getByTestId('recent-item');
    await until(() => items.allInnerTexts(), (t) => t.length === 2, 5_000, 'two recent items');
    const texts = await items.allInnerTexts();
    expect(texts[0]).toMatch(/^photo\.png\s+image · today/);
    expect(texts[1]).toMatch(/^study\s+folder · Scout localizer · today/);
    // Names only: no folder of the test machine shows in the menu.
    expect(texts.join(' ')).not.toContain(dir);
    await page.screenshot({ path: join(RESULTS, 'ui-comforts-recent-menu.png') });
    await items.nth(1).click();
    await page.getByTestId('status-size').filter({ hasText: '32 × 32 × 6' }).waitFor();
    const reopened = await until(() => seen(s), (v) => v.sliceWidth === 32, 10_000, 'scout from Recent');
    expect(reopened.seriesInstanceUid).toBe(SCOUT_UID);
    expect(reopened.chooser).toBe(false);

    // A fresh window starts on the empty screen, which lists the same entries.
    await page.reload();
    await page.getByTestId('status-engine').filter({ hasText: 'engine: ready' }).waitFor();
    await page.getByTestId('recent-list').waitFor();
    expect(await page.getByTestId('recent-list-item').allInnerTexts()).toEqual([expect.stringMatching(/^study/), expect.stringMatching(/^photo\.png/)]);
    await page.screenshot({ path: join(RESULTS, 'ui-comforts-empty-recent.png') });
    await page.getByTestId('recent-list-item').first().click();
    await page.getByTestId('status-size').filter({ hasText: '32 × 32 × 6' }).waitFor();
  });

  it('a recent file that is gone is named in the error and leaves the list', async () => {
    const { page, host } = s;
    const doomed = join(dir, 'doomed.png');
    await sharp(Buffer.alloc(20 * 20 * 3, 30), { raw: { width: 20, height: 20, channels: 3 } }).png().toFile(doomed);
    host.setNextDialogPath(doomed);
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-size').filter({ hasText: '20 × 20' }).waitFor();
    rmSync(doomed);
    await page.getByTestId('recent-button').click();
    await page.getByTestId('recent-item').filter({ hasText: 'doomed.png' }).click();
    await page.getByTestId('error-message').filter({ hasText: 'doomed.png: no such file or folder any more' }).waitFor();
    await until(() => seen(s), (v) => !v.recent.includes('doomed.png') && v.recent.includes('study'), 5_000, 'gone file dropped from Recent');
    await page.getByTestId('error-dismiss').click();
  });

  it('adds a model through the dialog and picks it; a corrupt one is refused by name; a user model can be removed', async () => {
    const { page, host } = s;
    // Before any run, the panel says which provider the run will use and why.
    expect(await page.getByTestId('device-plan').innerText()).toMatch(/^(Runs on CPU: .+|Tries \w+ first, falls back to CPU)$/);

    const downloads = join(dir, 'downloads');
    const corrupt = join(downloads, 'corrupt.onnx');
    mkdirSync(downloads, { recursive: true });
    writeFileSync(corrupt, Uint8Array.from({ length: 2048 }, (_, i) => (i * 31 + 7) % 253));
    host.setNextModelPath(corrupt);
    await page.getByTestId('add-model').click();
    await page.getByTestId('error-message').filter({ hasText: 'corrupt.onnx: not a valid ONNX model' }).waitFor();
    expect(existsSync(host.userModelsDir) ? readdirSync(host.userModelsDir) : []).toEqual([]);
    await page.getByTestId('error-dismiss').click();

    const folder = writeModelFolder(downloads, { ...brightManifest('vessels'), name: 'Vessel finder', version: '0.3.0' }, undefined, '# Vessels\n\nMarks bright vessels in CT.\n');
    host.setNextModelPath(join(folder, 'model.onnx'));
    await page.getByTestId('add-model').click();
    await page.getByTestId('notice-message').filter({ hasText: 'Added model Vessel finder 0.3.0.' }).waitFor();
    const after = await until(() => seen(s), (v) => v.modelId === 'vessels', 5_000, 'new model picked');
    expect(after.models).toContain('vessels');
    expect(await page.getByTestId('model-select').inputValue()).toBe('vessels');
    expect(await page.getByTestId('model-select').locator('option:checked').innerText()).toBe('Vessel finder 0.3.0');
    expect(await page.getByTestId('model-summary').innerText()).toBe('Marks bright vessels in CT.');
    expect(existsSync(join(host.userModelsDir, 'vessels', 'manifest.json'))).toBe(true);
    await page.screenshot({ path: join(RESULTS, 'ui-comforts-model-added.png') });

    // The list from the engine agrees after a refresh (the model is really installed, not only in the page).
    await page.reload();
    await page.getByTestId('status-engine').filter({ hasText: 'engine: ready' }).waitFor();
    await until(() => seen(s), (v) => v.models.includes('vessels'), 10_000, 'installed model listed after reload');

    // The same id again is refused, naming the file and the installed model.
    host.setNextModelPath(join(folder, 'model.onnx'));
    await page.getByTestId('add-model').click();
    await page.getByTestId('error-message').filter({ hasText: 'a model with id "vessels" (Vessel finder 0.3.0) is already installed' }).waitFor();
    await page.getByTestId('error-dismiss').click();

    await page.getByTestId('model-select').selectOption('vessels');
    await page.getByTestId('remove-model').click();
    await page.getByTestId('notice-message').filter({ hasText: 'Removed model Vessel finder.' }).waitFor();
    expect((await seen(s)).models).not.toContain('vessels');
    expect(existsSync(join(host.userModelsDir, 'vessels'))).toBe(false);
    // Shipped models offer no Remove.
    await page.getByTestId('model-select').selectOption('bright');
    expect(await page.getByTestId('remove-model').count()).toBe(0);
    expect(s.problems).toEqual([]);
  });

  it('adds a Deepness-only model with Alt+M', async () => {
    const { page, host } = s;
    const file = join(dir, 'downloads', 'roofs.onnx');
    writeFileSync(file, buildPixelModel({ inChannels: 1, weights: [[1]], activation: 'sigmoid', metadata: { model_type: 'Segmentor', class_names: '{"0": "roof"}', tiles_size: '64' } }));
    host.setNextModelPath(file);
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('Alt+m');
    await until(() => seen(s), (v) => v.modelId === 'roofs', 10_000, 'Deepness model added by shortcut');
    expect(await page.getByTestId('add-model').getAttribute('title')).toBe('Add an .onnx model (with its manifest.json, or Deepness metadata) (Alt+M)');
  });
});
