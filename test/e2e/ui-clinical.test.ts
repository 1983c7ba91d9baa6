// UI end to end for the clinical conventions and readable numbers: Open folder... on a parent of several studies
// lists every study and series (thumbnails included) and opens the one picked; the header shows patient, ID, study
// date, series and modality and hides the patient under De-identify; orientation letters sit on every view (single
// and MPR); non-square pixels are drawn to scale; window presets follow the modality (CT: HU presets with the file's
// window active; MR: the volume's 1-99 % Auto) and right-drag moves by a share of the value range; every column
// names its unit; a pixel size turns px areas into mm² and is kept in the saved session; a map result reads in one
// area unit with grouped thousands. Screenshots at 1280x800 and
// 1600x1000 go to /tmp/shots. Chromium + test host + the real engine host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import dcmjs from 'dcmjs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { writeCtSeries } from '../fixtures/dicom-writer';
import { writeNifti } from '../../main/engine/io/nifti';
import { cellText, discardIfAsked, readState, skipReason, startSession, until, writeTestModels, type Session } from './ui-helpers';

if (skipReason) console.warn(`ui clinical e2e tests skipped: ${skipReason}`);

const SHOTS = '/tmp/shots';
const MR_SAMPLE = join(__dirname, '..', '..', '..', 'shared', 'samples', 'dicom', 'pydicom', 'MR_small.dcm');
const HAVE_MR = existsSync(MR_SAMPLE);
const GEO_SAMPLE = join(__dirname, '..', '..', '..', 'shared', 'samples', 'geotiff', 'RGB.byte.tif');
const HAVE_GEO = existsSync(GEO_SAMPLE);
const CT_UID = '1.2.826.0.1.3680043.9.7433.3.901';
const SCOUT_UID = '1.2.826.0.1.3680043.9.7433.3.902';
const SIZES = [
  { width: 1280, height: 800 },
  { width: 1600, height: 1000 },
] as const;

/** Screenshots of the page at both acceptance sizes (the default window size comes back afterwards). */
async function shoot(page: Page, name: string): Promise<void> {
  const before = page.viewportSize();
  for (const size of SIZES) {
    await page.setViewportSize(size);
    await page.waitForTimeout(250);
    await page.screenshot({ path: join(SHOTS, `${name}-${size.width}x${size.height}.png`) });
  }
  if (before) await page.setViewportSize(before);
}

/** Elements whose text is cut (wider than their box) without a tooltip naming it whole. */
function cutOff(page: Page, selector: string): Promise<string[]> {
  return page.evaluate(
    (sel) =>
      [...document.querySelectorAll<HTMLElement>(sel)]
        .filter((e) => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1 && !(e.title || e.closest('[title]')?.getAttribute('title')))
        .map((e) => e.textContent ?? ''),
    selector,
  );
}

/** Bounding box of the non-black canvas pixels (the image drawn), in canvas pixels. */
function drawnBox(page: Page, testId: string): Promise<{ w: number; h: number }> {
  return page.evaluate((id) => {
    const c = document.querySelector<HTMLCanvasElement>(`[data-testid="${id}"]`)!;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let x0 = c.width;
    let y0 = c.height;
    let x1 = -1;
    let y1 = -1;
    for (let y = 0; y < c.height; y++) {
      for (let x = 0; x < c.width; x++) {
        const i = (y * c.width + x) * 4;
        if (d[i]! + d[i + 1]! + d[i + 2]! > 60) {
          x0 = Math.min(x0, x);
          x1 = Math.max(x1, x);
          y0 = Math.min(y0, y);
          y1 = Math.max(y1, y);
        }
      }
    }
    return { w: x1 - x0 + 1, h: y1 - y0 + 1 };
  }, testId);
}

describe.skipIf(skipReason !== null)(`UI: clinical conventions and readable numbers${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let s: Session;
  let dir: string;
  let root: string;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-clinical-'));
    root = join(dir, 'export');
    const ct = join(root, 'PAT1', 'STUDY1', 'SER1');
    const scout = join(root, 'PAT1', 'STUDY1', 'SER2');
    mkdirSync(ct, { recursive: true });
    mkdirSync(scout, { recursive: true });
    const common = { orientation: [1, 0, 0, 0, 1, 0], rescaleIntercept: -1024, instanceNumber: (z: number) => z + 1 };
    // Soft tissue (40 HU, mid-grey in the file's 400/40 window) with a 300 HU block in the middle slices;
    // pixels twice as tall as wide (0.5 mm columns, 1 mm rows).
    writeCtSeries(ct, {
      ...common,
      width: 64,
      height: 40,
      depth: 9,
      spacingMm: [0.5, 1, 2],
      originMm: [-16, -20, 0],
      value: (x, y, z) => (z >= 3 && z <= 5 && x >= 20 && x < 44 && y >= 12 && y < 28 ? 1324 : 1064),
      fileName: (z) => `IM${z}`,
      seriesUid: CT_UID,
      seriesDescription: 'CT abdomen venous phase with a long description that must fit',
    });
    writeCtSeries(scout, { ...common, width: 16, height: 16, depth: 3, spacingMm: [1, 1, 5], originMm: [0, 0, 0], value: (x) => 1024 + x * 60, fileName: (z) => `s${z}.dcm`, seriesUid: SCOUT_UID, seriesDescription: 'Scout' });
    if (HAVE_MR) {
      mkdirSync(join(root, 'PAT2', 'MR'), { recursive: true });
      copyFileSync(MR_SAMPLE, join(root, 'PAT2', 'MR', 'IM0001'));
    }
    // A picture without geometry: a bright 40 x 20 block on dark grey.
    const raw = Buffer.alloc(120 * 80, 30);
    for (let y = 30; y < 50; y++) for (let x = 40; x < 80; x++) raw[y * 120 + x] = 230;
    await sharp(raw, { raw: { width: 120, height: 80, channels: 1 } }).png().toFile(join(dir, 'photo.png'));
    // An MR-like NIfTI in signal units (0..4000, brighter with z): no modality, no window of its own.
    const mr = new Float32Array(48 * 40 * 10);
    for (let z = 0; z < 10; z++) for (let i = 0; i < 48 * 40; i++) mr[z * 48 * 40 + i] = (i % 48) * 40 + z * 200;
    await writeNifti(join(dir, 'flair.nii.gz'), { data: mr, width: 48, height: 40, depth: 10, channels: 1, geometry: { type: 'medical', spacingMm: [1, 1, 3], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] } });
    writeTestModels(join(dir, 'models'));
    s = await startSession(join(dir, 'models'));
  });

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function openFolder(): Promise<void> {
    s.host.setNextDialogPath(root);
    await s.page.getByTestId('recent-button').click();
    await s.page.getByTestId('open-folder-button').click();
    await discardIfAsked(s.page);
    await s.page.getByTestId('study-browser').waitFor();
  }

  it('Open folder on a parent folder lists every study and series with thumbnails, and opens the one picked', async () => {
    const { page } = s;
    await openFolder();
    const rows = page.locator('[data-testid^="browser-series-"]');
    expect(await rows.count()).toBe(HAVE_MR ? 3 : 2);
    const text = await page.getByTestId('study-browser').innerText();
    expect(text).toContain('CT abdomen venous phase');
    expect(text).toContain('Scout');
    expect(text).toMatch(/Test, Phantom · ID PHANTOM-ID-123/);
    expect(text).toContain('2024-01-01');
    expect(text).toMatch(/64 × 40 × 9/);
    if (HAVE_MR) expect(text).toMatch(/MR/);
    expect(await page.getByTestId('series-thumbnail').count()).toBe(HAVE_MR ? 3 : 2);
    expect(await page.getByTestId('study-browser-summary').innerText()).toMatch(HAVE_MR ? /^2 studies, 3 series in 13 files/ : /^1 study, 2 series in 12 files/);
    expect(await cutOff(page, '[data-testid="study-browser"] th, [data-testid="study-browser"] .study-heading span')).toEqual([]);
    await shoot(page, 'study-browser');
    const ctRow = (await rows.allInnerTexts()).findIndex((t) => t.includes('CT abdomen'));
    await page.getByTestId(`browser-series-${ctRow}`).dblclick();
    await page.getByTestId('status-size').filter({ hasText: '64 × 40 × 9' }).waitFor();
    expect(await page.getByTestId('study-browser').count()).toBe(0);
    expect(await page.evaluate(() => window.__delineateState!().image?.seriesInstanceUid)).toBe(CT_UID);
  });

  it('shows patient, ID, study date, series and modality over the views, and hides the patient under De-identify', async () => {
    const { page } = s;
    await page.getByTestId('header-patient').filter({ hasText: 'Test, Phantom' }).waitFor();
    expect(await page.getByTestId('header-patient-id').innerText()).toContain('PHANTOM-ID-123');
    expect(await page.getByTestId('header-study-date').innerText()).toContain('2024-01-01');
    expect(await page.getByTestId('header-series').innerText()).toContain('CT abdomen venous');
    expect(await page.getByTestId('header-modality').innerText()).toBe('CT');
    // A long series description may be cut with an ellipsis, but then its tooltip holds it whole.
    expect(await page.getByTestId('header-series').getAttribute('title')).toContain('with a long description that must fit');
    await page.getByTestId('deidentify-toggle').check();
    await page.getByTestId('header-deidentified').waitFor();
    expect(await page.getByTestId('header-patient').count()).toBe(0);
    expect(await page.getByTestId('image-header').innerText()).not.toMatch(/Phantom|PHANTOM|2024/);
    await page.getByTestId('deidentify-toggle').uncheck();
    await page.getByTestId('header-patient').waitFor();
  });

  it('puts orientation letters on every view and draws non-square pixels to scale', async () => {
    const { page } = s;
    const letters = async (axis: string) => Promise.all(['top', 'bottom', 'left', 'right'].map(async (e) => page.getByTestId(`orient-${e}-${axis}`).innerText()));
    expect(await letters('axial')).toEqual(['A', 'P', 'R', 'L']);
    await page.getByTestId('fit-button').click();
    // 64 columns of 0.5 mm and 40 rows of 1 mm: 32 mm wide and 40 mm tall on screen (not 64 x 40 pixels' shape).
    const box = await drawnBox(page, 'viewer-canvas');
    expect(box.h / box.w).toBeCloseTo(40 / 32, 1);
    await page.getByTestId('layout-mpr').click();
    await page.getByTestId('viewer-canvas-coronal').waitFor();
    await until(() => page.evaluate(() => window.__delineateState!().planes.coronal.slice !== null && window.__delineateState!().planes.sagittal.slice !== null), (v) => v, 10_000, 'planes');
    expect(await letters('coronal')).toEqual(['S', 'I', 'R', 'L']);
    expect(await letters('sagittal')).toEqual(['S', 'I', 'A', 'P']);
    expect(await letters('axial')).toEqual(['A', 'P', 'R', 'L']);
    await shoot(page, 'header-orientation-mpr');
    await page.getByTestId('layout-single').click();
  });

  it('offers CT presets in HU with the active one shown, and right-drag moves by a share of the value range', async () => {
    const { page } = s;
    await until(() => page.getByTestId('wl-preset').inputValue(), (v) => v === 'file', 10_000, "the file's window shown as the active preset");
    await page.getByTestId('wl-preset').selectOption('Lung');
    await until(() => readState(page), (v) => v.sliceWindow?.center === -600 && v.sliceWindow.width === 1500, 10_000, 'lung window');
    expect(await page.getByTestId('wl-preset').inputValue()).toBe('Lung');
    const range = await page.evaluate(() => {
      const w = window.__delineateState!().windows!.value;
      return w.rangeHigh - w.rangeLow;
    });
    expect(range).toBeGreaterThan(200);
    const c = await page.getByTestId('viewer-canvas').boundingBox();
    const x = c!.x + c!.width / 2;
    const y = c!.y + c!.height / 2;
    await page.mouse.move(x, y);
    await page.mouse.down({ button: 'right' });
    await page.mouse.move(x + 128, y, { steps: 4 });
    await page.mouse.up({ button: 'right' });
    const after = await until(() => readState(page), (v) => v.window !== null && Math.abs(v.window.width - 1500) > 1, 10_000, 'width changed by the drag');
    expect(after.window!.width - 1500).toBeCloseTo((128 * range) / 512, 0);
    // Now a custom window: no preset claims it.
    expect(await page.getByTestId('wl-preset').inputValue()).toBe('');
    await page.getByTestId('wl-reset').click();
    await until(() => page.getByTestId('wl-preset').inputValue(), (v) => v === 'file', 10_000, 'Auto back to the file window');
  });

  it.skipIf(!HAVE_MR)(`opens MR on the volume's 1-99 % Auto window, with percentile presets and no HU ones${HAVE_MR ? '' : ' (skipped: ../shared/samples/dicom/pydicom/MR_small.dcm missing)'}`, async () => {
    const { page } = s;
    await openFolder();
    const rows = await page.locator('[data-testid^="browser-series-"]').allInnerTexts();
    await page.getByTestId(`browser-series-${rows.findIndex((t) => /\bMR\b/.test(t))}`).dblclick();
    await page.getByTestId('header-modality').filter({ hasText: 'MR' }).waitFor();
    await until(() => page.getByTestId('wl-preset').inputValue(), (v) => v === 'auto', 10_000, 'MR Auto preset active');
    const labels = await page.getByTestId('wl-preset').locator('option').allTextContents();
    expect(labels).toContain('Auto (1–99 %)');
    expect(labels.some((l) => /Lung|Bone/.test(l))).toBe(false);
    expect(await page.getByTestId('orient-left-axial').innerText()).toMatch(/^[RLAPSI]$/);
    await shoot(page, 'header-orientation-mr');
  });

  it('opens a NIfTI in signal units on the whole volume\'s 1-99 % window, with letters and a header that says it has no patient data', async () => {
    const { page, host } = s;
    host.setNextDialogPath(join(dir, 'flair.nii.gz'));
    await page.getByTestId('open-button').click();
    await discardIfAsked(page);
    await page.getByTestId('status-size').filter({ hasText: '48 × 40 × 10' }).waitFor();
    await page.getByTestId('header-no-patient').waitFor();
    expect(await page.getByTestId('header-patient').count()).toBe(0);
    await until(() => page.getByTestId('wl-preset').inputValue(), (v) => v === 'auto', 10_000, 'Auto (1-99 %) active');
    // The volume runs 0..3640: its 1st and 99th percentiles, not the middle slice's own stretch.
    const { shown, auto } = await page.evaluate(() => {
      const st = window.__delineateState!();
      return { shown: st.display.window, auto: st.windows!.value.presets.find((p) => p.id === 'auto')! };
    });
    expect(shown).toEqual({ center: auto.center, width: auto.width });
    expect(auto.center - auto.width / 2).toBeLessThan(200);
    expect(auto.center + auto.width / 2).toBeGreaterThan(3400);
    expect(await page.getByTestId('orient-left-axial').innerText()).toBe('R');
  });

  it('names the unit of every column (Mean in HU for CT) and cuts off no column at the default size', async () => {
    const { page } = s;
    await openFolder();
    const rows = await page.locator('[data-testid^="browser-series-"]').allInnerTexts();
    await page.getByTestId(`browser-series-${rows.findIndex((t) => t.includes('CT abdomen'))}`).dblclick();
    await page.getByTestId('status-size').filter({ hasText: '64 × 40 × 9' }).waitFor();
    await page.getByTestId('model-select').selectOption('bright');
    await page.getByTestId('run-button').click();
    await until(() => readState(page), (v) => v.resultId !== null && !v.job, 30_000, 'segmentation');
    const heads = await page.getByTestId('instances-table').locator('th').evaluateAll((ths) => ths.map((th) => [th.getAttribute('data-testid') ?? '', th.querySelector('.unit')?.textContent?.trim() ?? '']));
    const missing = heads.filter(([id, unit]) => !['sort-id', 'sort-className', 'sort-recistSlice'].includes(id!) && !unit);
    expect(missing).toEqual([]);
    expect(Object.fromEntries(heads)).toMatchObject({ 'sort-volumeMl': 'mL', 'sort-meanIntensity': 'HU' });
    for (const size of SIZES) {
      await page.setViewportSize(size);
      await page.waitForTimeout(200);
      const overflow = await page.evaluate(() => [...document.querySelectorAll<HTMLElement>('.table-wrap')].map((e) => e.scrollWidth - e.clientWidth));
      expect(overflow.every((d) => d <= 0), `columns cut off at ${size.width}x${size.height}: ${overflow.join(', ')}`).toBe(true);
      expect(await cutOff(page, '.sidebar th, .sidebar h2, .sidebar label, .sidebar .muted')).toEqual([]);
    }
    await page.setViewportSize({ width: 1400, height: 860 });
    await shoot(page, 'measurements-ct');
  });

  it('exports the CT result as a DICOM RT Structure Set from the Export menu, beside DICOM SEG', async () => {
    const { page, host } = s;
    await page.getByTestId('export-button').click();
    const offered = await page.getByTestId('export-menu').locator('[role="menuitem"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
    expect(offered.slice(0, 2)).toEqual(['export-seg', 'export-rtstruct']);
    const file = join(dir, 'contours.dcm');
    host.setNextSavePath(file);
    await page.getByTestId('export-rtstruct').click();
    await page.getByTestId('notice-message').filter({ hasText: 'Exported contours.dcm' }).waitFor({ timeout: 20_000 });
    expect(host.lastSaveRequest()?.extensions).toEqual(['dcm']);
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(readFileSync(file).buffer as ArrayBuffer).dict) as Record<string, unknown>;
    expect(ds.Modality).toBe('RTSTRUCT');
    const rois = ds.StructureSetROISequence as Array<{ ROIName: string }> | { ROIName: string };
    expect((Array.isArray(rois) ? rois : [rois]).map((r) => r.ROIName)).toEqual(['bright']);
    const contours = (Array.isArray(ds.ROIContourSequence) ? ds.ROIContourSequence[0] : ds.ROIContourSequence) as { ContourSequence?: unknown };
    expect(contours.ContourSequence).toBeDefined();
  });

  it('gives a picture without geometry a pixel size: areas in mm² instead of px, kept in the saved session', async () => {
    const { page, host } = s;
    host.setNextDialogPath(join(dir, 'photo.png'));
    await page.getByTestId('open-button').click();
    await discardIfAsked(page);
    await page.getByTestId('status-size').filter({ hasText: '120 × 80' }).waitFor();
    await page.getByTestId('model-select').selectOption('bright');
    await page.getByTestId('run-button').click();
    await until(() => readState(page), (v) => v.resultId !== null && !v.job, 30_000, 'segmentation of the picture');
    const id = (await readState(page)).instanceIds[0]!;
    expect(await page.getByTestId('sort-areaPx').innerText()).toMatch(/px/);
    const areaPx = Number(await cellText(page, id, 'areaPx'));
    expect(areaPx).toBe(800);
    await page.getByTestId('pixel-size-value').fill('0.5');
    await page.getByTestId('sort-areaMm2').waitFor();
    expect(await page.getByTestId('sort-areaMm2').innerText()).toMatch(/mm²/);
    expect(Number(await cellText(page, id, 'areaMm2'))).toBeCloseTo(areaPx * 0.25, 6);
    expect(await page.getByTestId('class-summary').locator('th').allTextContents()).toEqual(['Class', 'Objects', 'Area (mm²)']);
    expect(await page.getByTestId('scale-bar-label').innerText()).toMatch(/ (mm|cm)$/);
    await shoot(page, 'measurements-pixel-size');
    // Metres per pixel: m² (and one unit for the panel).
    await page.getByTestId('pixel-size-unit').selectOption('m');
    await page.getByTestId('sort-areaM2').waitFor();
    expect(Number(await cellText(page, id, 'areaM2'))).toBeCloseTo(areaPx * 0.25, 6);
    await page.getByTestId('pixel-size-unit').selectOption('mm');
    await page.getByTestId('sort-areaMm2').waitFor();
    // Saved with the session, and back when it is opened again.
    const session = join(dir, 'photo.delineate.json');
    host.setNextSavePath(session);
    await page.getByTestId('save-session').click();
    await page.getByTestId('notice-message').filter({ hasText: 'Session saved' }).waitFor();
    host.setNextDialogPath(join(dir, 'photo.png'));
    await page.getByTestId('open-button').click();
    await discardIfAsked(page);
    await until(() => page.getByTestId('pixel-size-value').inputValue(), (v) => v === '', 10_000, 'a freshly opened picture has no pixel size');
    host.setNextDialogPath(session);
    await page.getByTestId('open-session').click();
    await discardIfAsked(page);
    await until(() => page.getByTestId('pixel-size-value').inputValue(), (v) => v === '0.5', 10_000, 'pixel size restored');
    await page.getByTestId('sort-areaMm2').waitFor();
    expect(s.problems).toEqual([]);
  });

  it.skipIf(!HAVE_GEO)(`reads a map result in one area unit with separated thousands, no column cut off${HAVE_GEO ? '' : ' (skipped: ../shared/samples/geotiff/RGB.byte.tif missing)'}`, async () => {
    const { page, host } = s;
    host.setNextDialogPath(GEO_SAMPLE);
    await page.getByTestId('open-button').click();
    await discardIfAsked(page);
    await page.getByTestId('status-size').filter({ hasText: '791 × 718' }).waitFor();
    await page.getByTestId('model-select').selectOption('bright');
    await page.getByTestId('run-button').click();
    await until(() => readState(page), (v) => v.resultId !== null && !v.job, 60_000, 'segmentation of the map');
    const summaryUnit = /\((.+)\)$/.exec((await page.getByTestId('class-summary').locator('th').last().innerText()).trim())?.[1];
    const sizeHead = page.getByTestId('instances-table').locator('th').nth(2);
    // One area unit for the panel: the table's size column is in the summary's unit.
    expect(await sizeHead.locator('.unit').innerText()).toBe(summaryUnit);
    expect(['m²', 'ha']).toContain(summaryUnit);
    // Totals of a 791 x 718 map at 300 m per pixel run to thousands: they are grouped.
    expect(await page.getByTestId('class-total-1').innerText()).toMatch(/^\d{1,3}(,\d{3})*(\.\d+)?$/);
    expect(await page.getByTestId('sort-meanIntensity').locator('.unit').innerText()).toBe('DN');
    for (const size of SIZES) {
      await page.setViewportSize(size);
      await page.waitForTimeout(200);
      const overflow = await page.evaluate(() => [...document.querySelectorAll<HTMLElement>('.table-wrap')].map((e) => e.scrollWidth - e.clientWidth));
      expect(overflow.every((d) => d <= 0), `columns cut off at ${size.width}x${size.height}: ${overflow.join(', ')}`).toBe(true);
    }
    await page.setViewportSize({ width: 1400, height: 860 });
    await shoot(page, 'measurements-geo');
  });
});
