// UI end to end: a DICOM series with a missing slice. The study browser marks it ("slices missing", with why), the
// plain Open refuses it with the reason, "Open with slices missing" opens it with the missing plane filled in
// (interpolated, and the status bar says so on that plane), and the model panel then says so before Run (a 'series'
// warning). And a series with several volumes at each position: each volume listed, the one picked opened and named.
// Chromium + test host + the real engine host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCtSeries, writeCtSlice } from '../fixtures/dicom-writer';
import { RESULTS, discardIfAsked, readState, skipReason, startSession, until, writeTestModels, type Session } from './ui-helpers';

if (skipReason) console.warn(`ui e2e tests skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)(`UI: a series with a missing slice${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let s: Session;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-gaps-'));
    const series = join(dir, 'STUDY', 'SER');
    mkdirSync(series, { recursive: true });
    writeCtSeries(series, { orientation: [1, 0, 0, 0, 1, 0], rescaleIntercept: -1024, instanceNumber: (z: number) => z + 1, width: 32, height: 24, depth: 8, spacingMm: [0.8, 0.8, 2], originMm: [0, 0, 0], value: (x, y) => (x > 10 && x < 22 && y > 6 && y < 18 ? 2000 : 24), fileName: (z) => `IM${z}`, seriesUid: '1.2.826.0.1.3680043.9.7433.3.901', seriesDescription: 'CT with a gap', skip: [3] });
    writeTestModels(join(dir, 'models'));
    s = await startSession(join(dir, 'models'));
  });

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('marks the series, refuses the plain open with the reason, opens it with slices missing, and warns before Run', async () => {
    const { page } = s;
    s.host.setNextDialogPath(dir);
    await page.getByTestId('recent-button').click();
    await page.getByTestId('open-folder-button').click();
    await discardIfAsked(page);
    await page.getByTestId('study-browser').waitFor();
    const tag = page.getByTestId('series-gaps');
    await tag.waitFor();
    expect(await tag.getAttribute('title')).toBe('1 gap(s) in the slice positions: about 1 missing slice(s) (largest step 4 mm, usual 2 mm)');
    await page.getByTestId('browser-series-0').click();
    await page.screenshot({ path: join(RESULTS, 'ui-series-gaps-browser.png') });
    // The plain open says why it cannot, and names the way out.
    await page.getByTestId('browser-open').click();
    const error = await page.getByTestId('error-message').textContent({ timeout: 20_000 });
    expect(error).toMatch(/gap.*--allow-gaps/);
    await page.getByTestId('browser-open-gaps').click();
    await page.getByTestId('status-kind').filter({ hasText: 'medical' }).waitFor({ timeout: 20_000 });
    const st = await until(() => readState(page), (v) => v.depth > 0, 20_000, 'image shown');
    expect(st.depth).toBe(8);
    // Plane 3 had no image: the status bar says it is interpolated there, and only there.
    expect(await page.getByTestId('status-interpolated').count()).toBe(0);
    await page.getByTestId('slice-slider').fill('3');
    await page.getByTestId('status-interpolated').waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(RESULTS, 'ui-series-gaps-interpolated.png') });
    await page.getByTestId('slice-slider').fill('4');
    await until(() => page.getByTestId('status-interpolated').count(), (n) => n === 0, 10_000, 'interpolated mark gone on an acquired plane');
    await page.getByTestId('model-select').selectOption('bright');
    const warning = page.getByTestId('model-warning').filter({ hasText: 'gap' });
    await warning.waitFor({ timeout: 20_000 });
    expect(await warning.getAttribute('data-code')).toBe('series');
    expect(await warning.textContent()).toMatch(/^series: 1 gap\(s\) in the slice positions.*filled at their positions by linear interpolation.*z = 3, zero-based\); what is outlined and measured on those planes rests on interpolated images$/);
    expect(s.problems).toEqual([]);
  }, 120_000);

  it('lists each volume of a series with several at each position, and opens the one picked, saying which', async () => {
    const { page } = s;
    const folder = join(dir, 'DSC', 'SER');
    mkdirSync(folder, { recursive: true });
    const uid = '1.2.826.0.1.3680043.9.7433.3.902';
    for (let v = 0; v < 3; v++) {
      for (let z = 0; z < 4; z++) {
        writeCtSlice(join(folder, `I${z}_${v}`), { rows: 24, columns: 32, pixels: new Uint16Array(32 * 24).fill(1000 + 400 * v), positionMm: [0, 0, 3 * z], orientation: [1, 0, 0, 0, 1, 0], pixelSpacingMm: [0.8, 0.8], sliceThicknessMm: 3, rescaleIntercept: -1024, instanceNumber: v * 4 + z + 1, seriesUid: uid, studyUid: '1.2.826.0.1.3680043.9.7433.2.7', sopInstanceUid: `${uid}.${v + 1}.${z + 1}`, seriesDescription: 'DSC' });
      }
    }
    s.host.setNextDialogPath(join(dir, 'DSC'));
    await page.getByTestId('recent-button').click();
    await page.getByTestId('open-folder-button').click();
    await discardIfAsked(page);
    await page.getByTestId('study-browser').waitFor();
    const rows = page.locator('[data-testid^="browser-series-"]');
    await until(() => rows.allInnerTexts(), (t) => t.length === 3, 20_000, 'three volumes listed');
    const texts = await rows.allInnerTexts();
    expect(texts.map((t) => /volume (\d) of 3/.exec(t)?.[1])).toEqual(['1', '2', '3']);
    await rows.nth(1).dblclick();
    await page.getByTestId('header-series').filter({ hasText: 'DSC (volume 2 of 3)' }).waitFor({ timeout: 20_000 });
    const st = await until(() => readState(page), (v) => v.depth === 4, 20_000, 'volume 2 shown');
    expect(st.depth).toBe(4);
    await page.getByTestId('model-select').selectOption('bright');
    await page.getByTestId('model-warning').filter({ hasText: 'volume 2 of 3 is open' }).waitFor({ timeout: 20_000 });
    expect(s.problems).toEqual([]);
  }, 120_000);
});
