// UI end to end on a CT series (written here with the DICOM fixture writer): open the folder, scroll slices by
// wheel, keys and slider, window/level by preset and right-drag, read HU and patient mm under the cursor, run a
// model and see its overlay follow the slices. Chromium + test host + the real engine host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCtSeries } from '../fixtures/dicom-writer';
import { RESULTS, cellText, imageToPage, readState, skipReason, startSession, until, writeTestModels, type Session } from './ui-helpers';

if (skipReason) console.warn(`ui e2e tests skipped: ${skipReason}`);

const W = 64;
const H = 64;
const D = 16;
/** Sphere of 300 HU (stored 1324 with intercept -1024) in air (-1000 HU), centre (32, 30, 8), radius 7 voxels. */
const inSphere = (x: number, y: number, z: number) => (x - 32) ** 2 + (y - 30) ** 2 + ((z - 8) * 2) ** 2 <= 49;

describe.skipIf(skipReason !== null)(`UI: a CT volume${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let s: Session;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-volume-'));
    const series = join(dir, 'series');
    mkdirSync(series);
    writeCtSeries(series, {
      width: W,
      height: H,
      depth: D,
      spacingMm: [0.8, 0.8, 2.5],
      orientation: [1, 0, 0, 0, 1, 0],
      originMm: [-25, -20, 100],
      rescaleIntercept: -1024,
      value: (x, y, z) => (inSphere(x, y, z) ? 1324 : 24 + ((x + y) % 7)),
      fileName: (z) => `IM${String((z * 7) % D).padStart(3, '0')}_${z}.dcm`,
      instanceNumber: (z) => D - z,
      seriesUid: '1.2.826.0.1.3680043.9.7433.3.42',
    });
    writeTestModels(join(dir, 'models'));
    s = await startSession(join(dir, 'models'));
  });

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens a DICOM series and scrolls its slices by wheel, keys and slider', async () => {
    const { page, host } = s;
    host.setNextDialogPath(join(dir, 'series'));
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-size').filter({ hasText: `${W} × ${H} × ${D}` }).waitFor();
    expect(await page.getByTestId('status-kind').textContent()).toBe('medical');
    expect(await page.getByTestId('status-slice').textContent()).toBe(`slice 9/${D}`);
    await page.getByTestId('fit-button').click();
    const centre = await imageToPage(page, 32, 30);
    await page.mouse.move(centre.x, centre.y);
    await page.mouse.wheel(0, 100);
    await until(() => readState(page), (v) => v.z === 9, 10_000, 'wheel to slice 10');
    await page.getByTestId('status-slice').filter({ hasText: `slice 10/${D}` }).waitFor();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await until(() => readState(page), (v) => v.z === 7, 10_000, 'keys to slice 8');
    await page.getByTestId('slice-slider').fill('3');
    await until(() => readState(page), (v) => v.z === 3, 10_000, 'slider to slice 4');
    expect(await page.getByTestId('slice-label').textContent()).toBe(`4/${D}`);
    await page.getByTestId('slice-slider').fill('8');
    await until(() => readState(page), (v) => v.z === 8 && v.sliceWindow !== null, 10_000, 'slider back to 9');
  });

  it('sets window/level by preset and by right-drag, and reads HU and patient mm under the cursor', async () => {
    const { page } = s;
    // The file's window (40/400) is the default.
    expect((await readState(page)).sliceWindow).toEqual({ center: 40, width: 400 });
    await page.getByTestId('wl-preset').selectOption('Lung');
    await until(() => readState(page), (v) => v.sliceWindow?.center === -600 && v.sliceWindow.width === 1500, 10_000, 'lung window');
    expect(await page.getByTestId('window-readout').textContent()).toBe('1,500 / -600');
    const centre = await imageToPage(page, 32, 30);
    await page.mouse.move(centre.x, centre.y);
    await page.mouse.down({ button: 'right' });
    await page.mouse.move(centre.x + 60, centre.y + 30, { steps: 4 });
    await page.mouse.up({ button: 'right' });
    // Right-drag widened (drag right) and lowered (drag down) the window; the shown slice catches up with the last one.
    const after = await until(
      () => readState(page),
      (v) => v.window !== null && v.window.width > 1500 && v.window.center < -600 && JSON.stringify(v.window) === JSON.stringify(v.sliceWindow),
      10_000,
      'dragged window',
    );
    expect(after.window!.width).toBeGreaterThan(1600);
    await page.getByTestId('wl-preset').selectOption('Soft tissue');
    await until(() => readState(page), (v) => v.sliceWindow?.width === 400, 10_000, 'soft tissue window');

    await page.mouse.move(centre.x + 1, centre.y);
    await page.mouse.move(centre.x, centre.y);
    await page.getByTestId('status-value').filter({ hasText: '300 HU' }).waitFor();
    expect(await page.getByTestId('status-cursor').textContent()).toBe('x 32, y 30');
    // Patient position: origin (-25, -20, 100) + (32 * 0.8, 30 * 0.8, 8 * 2.5) = (0.6, 4, 120) LPS.
    expect(await page.getByTestId('status-world').textContent()).toBe('L 0.6  P 4  S 120 mm');
    expect(await page.getByTestId('scale-bar-label').textContent()).toMatch(/^\d+(\.\d+)? (mm|cm)$/);
  });

  it('lists only models for medical images, runs one, and the overlay follows the slices', async () => {
    const { page, problems } = s;
    const options = await page.getByTestId('model-select').locator('option').allTextContents();
    expect(options).toEqual(['Bright spots 1.0.0', 'Slow bright 1.0.0']);
    await page.getByTestId('model-select').selectOption('bright');
    await page.getByTestId('run-button').click();
    const st = await until(() => readState(page), (v) => v.resultId !== null && v.resultSliceZ === 8, 60_000, 'result');
    expect(st.instanceIds).toEqual([1]);
    expect(st.sliceInstanceIds).toEqual([1]);
    await page.getByTestId('instance-row-1').waitFor();
    expect(await page.getByTestId('sort-volumeMl').textContent()).toBe('VolumemL');
    expect(await page.getByTestId('sort-meanIntensity').textContent()).toBe('MeanHU');
    await page.screenshot({ path: join(RESULTS, 'ui-volume-overlay.png') });
    // Away from the sphere the slice has no object; back on it, the overlay is there again.
    await page.getByTestId('slice-slider').fill('0');
    await until(() => readState(page), (v) => v.resultSliceZ === 0 && v.sliceInstanceIds.length === 0, 10_000, 'empty slice 1');
    await page.getByTestId('slice-slider').fill('6');
    await until(() => readState(page), (v) => v.resultSliceZ === 6 && v.sliceInstanceIds.length === 1, 10_000, 'slice 7 with the sphere');
    // A row click goes to the object's RECIST slice and selects it.
    await page.getByTestId('instance-row-1').click();
    await until(() => readState(page), (v) => v.selectedId === 1 && v.z === 8, 10_000, 'centred on the sphere');
    // The row names that slice as the slice label counts it (from 1).
    expect(await cellText(page, 1, 'recistSlice')).toBe('9');
    await page.screenshot({ path: join(RESULTS, 'ui-volume-selected.png') });
    expect(problems).toEqual([]);
  });
});
