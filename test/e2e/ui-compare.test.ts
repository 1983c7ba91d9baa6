// UI end to end of the Compare view, in Chromium against the real engine host, on real pairs from ../shared:
// (a) two dates of one glioblastoma patient (expert masks measured into result folders and saved as sessions): open the
// baseline, Compare... with the follow-up's session, see both dates rendered on the common grid, move the cursor over
// the left view and find the crosshair at the same grid pixel on the right with the LPS position in the status line,
// read the response badges, a reason and the track table, jump to a track's slice, Esc back to the viewer;
// (b) two overlapping Sentinel-2 dates (the later labels edited to create change): opening the second offers to
// compare, and the from-to table and the net change chart show the change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { CompareSlice, GeoGeometry, ManifestClass } from '../../preload/api';
import { measureFiles } from '../../main/engine/pipeline';
import { newSession, saveSession } from '../../main/engine/session/session';
import { openImage } from '../../main/engine/io/index';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { volumetricTruth } from '../engine/compare-medical-helpers';
import { RESULTS, skipReason, startSession, until, writeTestModels, type Session } from './ui-helpers';

const SHARED = join(__dirname, '..', '..', '..', 'shared', 'data');
const GBM = join(SHARED, 'longitudinal-gbm-t1c', 'patient01');
const S2 = join(SHARED, 'landcover-sentinel2-korea');
const haveGbm = existsSync(join(GBM, 'baseline.nii.gz'));
const haveS2 = existsSync(join(S2, 'labels'));
const why = skipReason ?? (!haveGbm || !haveS2 ? '../shared/data (longitudinal-gbm-t1c, landcover-sentinel2-korea) missing' : null);
if (why) console.warn(`ui compare e2e tests skipped: ${why}`);

/** Summary of the Compare view's state (typed arrays left out). */
interface CompareView {
  phase: string;
  z: number;
  cursor: { x: number; y: number } | null;
  slices: Array<{ t: number; z: number; width: number; height: number; scale: number }>;
  kind: string | null;
  left: number;
  right: number;
}

function readCompare(page: Page): Promise<CompareView> {
  return page.evaluate(() => {
    const s = window.__delineateCompare!();
    return {
      phase: s.phase,
      z: s.z,
      cursor: s.cursor,
      slices: Object.values(s.slices).map((x: CompareSlice) => ({ t: x.timepoint, z: x.z, width: x.width, height: x.height, scale: x.scale })),
      kind: s.result?.kind ?? null,
      left: s.left,
      right: s.right,
    };
  });
}

/**
 * Counts on a Compare canvas, computed in the page (a whole bitmap over the wire takes many seconds): pixels that are
 * not black, and pixels that differ from another canvas or from a snapshot taken earlier under `key`.
 */
function canvasCounts(page: Page, side: string, other: { side?: string; snapshot?: string; keep?: string } = {}): Promise<{ lit: number; differing: number }> {
  return page.evaluate(
    ({ side, other }) => {
      const read = (s: string) => {
        const c = document.querySelector<HTMLCanvasElement>(`[data-testid="compare-canvas-${s}"]`)!;
        return c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      };
      const store = window as unknown as Record<string, Uint8ClampedArray | undefined>;
      const a = read(side);
      const b = other.side ? read(other.side) : other.snapshot ? store[other.snapshot] : undefined;
      let lit = 0;
      let differing = 0;
      for (let i = 0; i < a.length; i += 4) {
        if (a[i]! + a[i + 1]! + a[i + 2]! > 30) lit++;
        if (b && (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2])) differing++;
      }
      if (other.keep) store[other.keep] = a;
      return { lit, differing };
    },
    { side, other },
  );
}

function canvasPixelAt(page: Page, side: string, x: number, y: number): Promise<number[]> {
  return page.evaluate(
    ([testId, px, py]) => {
      const c = document.querySelector<HTMLCanvasElement>(`[data-testid="${testId}"]`)!;
      return Array.from(c.getContext('2d')!.getImageData(px as number, py as number, 1, 1).data);
    },
    [`compare-canvas-${side}`, x, y] as const,
  );
}

describe.skipIf(why !== null)(`UI: Compare view${why === null ? '' : ` (skipped: ${why})`}`, () => {
  let session: Session;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-compare-'));
    writeTestModels(join(dir, 'models'));
    session = await startSession(join(dir, 'models'), { width: 1600, height: 1000 });
  }, 60_000);

  afterAll(async () => {
    await session?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('medical: baseline and follow-up side by side, linked cursor, response and tracks', async () => {
    const { page, host } = session;
    const info = JSON.parse(readFileSync(join(GBM, 'info.json'), 'utf8')) as { baselineDate: string; followupDate: string; baseline_maskVoxels: number; followup_maskVoxels: number };
    const sessions: string[] = [];
    for (const date of ['baseline', 'followup']) {
      const out = join(dir, `gbm-${date}`);
      await measureFiles(join(GBM, `${date}.nii.gz`), join(GBM, `${date}_mask.nii.gz`), out, {});
      const file = join(dir, `gbm-${date}.delineate.json`);
      await saveSession(file, await newSession(join(GBM, `${date}.nii.gz`), { result: out }));
      sessions.push(file);
    }
    host.setNextDialogPath(sessions[0]!);
    await page.getByTestId('open-session').click();
    await until(() => page.evaluate(() => window.__delineateState!().result?.resultId ?? null), (id) => id !== null, 30_000, 'the baseline session');

    await page.getByTestId('compare-button').click();
    await page.getByTestId('compare-chooser').waitFor();
    host.setNextDialogPath(sessions[1]!);
    await page.getByTestId('compare-with-session').click();
    await page.getByTestId('compare-view').waitFor({ timeout: 180_000 });
    const view = await until(() => readCompare(page), (v) => v.slices.length === 2, 30_000, 'both dates drawn');
    expect(view.kind).toBe('medical');
    // The view opens at the slice where the first track is largest.
    const change = await page.evaluate(() => window.__delineateCompare!().result!);
    expect(view.z).toBe(change.trackSlices![0]!.z);
    await page.waitForTimeout(200);
    const left = await canvasCounts(page, 'left', { side: 'right' });
    expect(left.lit).toBeGreaterThan(5000);
    expect((await canvasCounts(page, 'right')).lit).toBeGreaterThan(5000);
    expect(left.differing).toBeGreaterThan(2000);

    // The cursor over the left view: the crosshair at the same grid pixel on the right, and the LPS position.
    const box = (await page.getByTestId('compare-canvas-left').boundingBox())!;
    const grid = change.grid;
    const gx = 100;
    const gy = 140;
    await page.mouse.move(box.x + ((gx + 0.5) / grid.width) * box.width, box.y + ((gy + 0.5) / grid.height) * box.height);
    const moved = await until(() => readCompare(page), (v) => v.cursor !== null, 5000, 'the cursor');
    expect(moved.cursor).toEqual({ x: gx, y: gy });
    await expect.poll(() => page.getByTestId('compare-view-right').getAttribute('data-cursor')).toBe(`${gx},${gy},${view.z}`);
    const lps = [0, 1, 2].map((row) => grid.originMm![row]! + [gx, gy, view.z].reduce((s, idx, axis) => s + grid.direction![axis * 3 + row]! * grid.spacingMm![axis]! * idx, 0));
    await expect.poll(() => page.getByTestId('compare-status').textContent()).toContain(`LPS ${lps.map((v) => v.toFixed(1)).join(', ')} mm`);
    const scale = view.slices.find((s) => s.t === view.right)!.scale;
    const px = Math.floor((gx + 0.5) / scale);
    const py = Math.floor((gy + 0.5) / scale);
    // The crosshair's arms (a gap is left at the pixel itself so it stays visible).
    await expect.poll(() => canvasPixelAt(page, 'right', px + 6, py)).toEqual([255, 230, 0, 255]);
    expect(await canvasPixelAt(page, 'right', px, py + 6)).toEqual([255, 230, 0, 255]);
    expect(await canvasPixelAt(page, 'left', px - 6, py)).toEqual([255, 230, 0, 255]);
    await page.screenshot({ path: join(RESULTS, 'ui-compare-medical.png') });

    // Response: the badge follows the volumetric rule from the mask volumes; reasons in words, the imaging-only note.
    const doc = change.change;
    if (doc.kind !== 'medical') throw new Error('expected a medical comparison');
    const v0 = info.baseline_maskVoxels / 1000;
    const v1 = info.followup_maskVoxels / 1000;
    expect(doc.totals.volumeMl).toEqual([v0, v1]);
    const hasNew = doc.lesions.some((l) => l.status === 'new');
    const volumetric = volumetricTruth(v0, v1, hasNew);
    await expect.poll(() => page.getByTestId('badge-volumetric').textContent()).toBe(`Volumetric ${volumetric}`);
    expect(await page.getByTestId('badge-recist').textContent()).toBe(`RECIST 1.1 ${doc.response.recist}`);
    expect(await page.getByTestId('badge-rano').textContent()).toBe(`RANO 2.0 ${doc.response.rano}`);
    const reasons = await page.getByTestId('compare-reasons').locator('li').allTextContents();
    expect(reasons.some((r) => r.startsWith(`volumetric ${volumetric}:`))).toBe(true);
    expect(await page.getByTestId('compare-statement').textContent()).toMatch(/imaging-only/i);

    // Track table: one row per track; the totals row carries the mask volumes.
    const rows = page.getByTestId('compare-tracks').locator('tbody tr');
    expect(await rows.count()).toBe(doc.lesions.length);
    const totals = await page.getByTestId('compare-totals').locator('td').allTextContents();
    expect(totals.slice(1, 3)).toEqual([v0 < 10 ? v0.toFixed(2) : v0.toFixed(1), v1 < 10 ? v1.toFixed(2) : v1.toFixed(1)]);
    const pct = ((v1 - v0) / v0) * 100;
    expect(totals[totals.length - 1]).toBe(`${pct > 0 ? '+' : ''}${pct.toFixed(1)}%`);

    // RECIST targets are the user's to choose: a lesion absent at baseline is refused with the reason, and the
    // category stays; unticking every target is refused too.
    const absent = doc.lesions.find((l) => l.instances[0] === null);
    if (absent) {
      await page.getByTestId(`target-${absent.track}`).click();
      await expect.poll(() => page.getByTestId('compare-error').textContent()).toContain(`track ${absent.track} cannot be a target`);
      expect(await page.getByTestId(`target-${absent.track}`).isChecked()).toBe(false);
      await page.getByTestId('compare-error').getByRole('button').click();
    }
    const target = doc.response.recistTargets[0]!;
    expect(await page.getByTestId(`target-${target}`).isChecked()).toBe(true);
    await page.getByTestId(`target-${target}`).click();
    await expect.poll(() => page.getByTestId('compare-error').textContent()).toContain('at least one target');
    expect(await page.getByTestId('badge-recist').textContent()).toBe(`RECIST 1.1 ${doc.response.recist}`);
    await page.getByTestId('compare-error').getByRole('button').click();

    // A row click goes to its track's slice; the slider says so.
    const last = doc.lesions[doc.lesions.length - 1]!;
    const want = change.trackSlices!.find((t) => t.track === last.track)!.z;
    await page.getByTestId('compare-slice').fill('0');
    await until(() => readCompare(page), (v) => v.z === 0, 5000, 'slice 1');
    await page.getByTestId(`track-row-${last.track}`).click();
    await until(() => readCompare(page), (v) => v.z === want, 5000, 'the track slice');
    expect(await page.getByTestId('compare-slice-label').textContent()).toBe(`${want + 1} / ${grid.depth}`);

    // Swipe and flicker use one view.
    await page.getByTestId('compare-mode-swipe').click();
    await page.getByTestId('compare-canvas-swipe').waitFor();
    await page.getByTestId('compare-mode-flicker').click();
    const shown = await until(
      async () => page.getByTestId('compare-view-flicker').getAttribute('data-date'),
      (d) => d === String(view.right),
      5000,
      'flicker to the other date',
    );
    expect(shown).toBe(String(view.right));
    await page.getByTestId('compare-mode-side').click();

    // NIfTI files carry no date: the view says so and takes the dates typed in; the comparison runs again with them.
    expect(await page.getByTestId('compare-warnings').textContent()).toMatch(/no date found/);
    expect(await page.getByTestId('compare-label-left').textContent()).toBe('date 1 · baseline.nii.gz');
    await page.getByTestId('compare-date-0').fill(info.baselineDate);
    await page.getByTestId('compare-date-1').fill(info.followupDate);
    await page.getByTestId('compare-dates-apply').click();
    await until(() => page.getByTestId('compare-label-left').textContent(), (t) => t === `${info.baselineDate} · baseline.nii.gz`, 180_000, 'the dated comparison');
    expect(await page.getByTestId('compare-label-right').textContent()).toBe(`${info.followupDate} · followup.nii.gz`);
    expect(await page.getByTestId('compare-dates').count()).toBe(0);
    expect((await page.getByTestId('compare-warnings').count()) === 0 || !/no date found/.test((await page.getByTestId('compare-warnings').textContent()) ?? '')).toBe(true);

    // The DICOM SR measurement report (TID 1500) is saved from the view: one file, an Enhanced SR whose groups carry
    // every track's TrackingUID (its contents are checked against dcmtk, dciodvfy and pydicom in the engine tests).
    const reportFile = join(dir, 'change-report.dcm');
    host.setNextSavePath(reportFile);
    await page.getByTestId('compare-export-report').click();
    await until(async () => existsSync(reportFile), (v) => v, 60_000, 'the SR report written');
    const report = readFileSync(reportFile);
    expect(report.subarray(128, 132).toString('latin1')).toBe('DICM');
    expect(report.includes(Buffer.from('1.2.840.10008.5.1.4.1.1.88.22'))).toBe(true);
    const shownDoc = await page.evaluate(() => window.__delineateCompare!().result!.change);
    for (const l of shownDoc.kind === 'medical' ? shownDoc.lesions : []) expect(report.includes(Buffer.from(l.trackingUid))).toBe(true);

    // Esc: back to the viewer, the baseline still open with its result.
    await page.keyboard.press('Escape');
    await page.getByTestId('compare-view').waitFor({ state: 'detached' });
    expect(await page.evaluate(() => window.__delineateState!().result?.resultId ?? null)).not.toBeNull();
    expect(session.problems).toEqual([]);
  }, 300_000);

  it('geo: a second overlapping date offers to compare; from-to table and net change chart', async () => {
    const { page, host } = session;
    const CLASSES: ManifestClass[] = [
      { name: 'building', color: '#ff0000' },
      { name: 'road', color: '#ffff00' },
      { name: 'field', color: '#00ff00' },
      { name: 'forest', color: '#006400' },
    ];
    const grids = async (month: string) =>
      Promise.all(
        readdirSync(join(S2, 'labels'))
          .filter((n) => n.startsWith(`${month}_mask_`))
          .map(async (f) => {
            const k = /_mask_(\d+)\.tif$/.exec(f)![1]!;
            const src = await openImage(join(S2, 'labels', f));
            const g = src.geometry as GeoGeometry;
            const out = { k, labels: join(S2, 'labels', f), image: join(S2, 'images', `${month}_patchN_${k}.tif`), gt: g.geotransform, width: src.width, height: src.height, geometry: g };
            await src.close();
            return out;
          }),
      );
    const early = await grids('202309');
    const late = await grids('202412');
    // A pair that overlaps in part (as in the engine's Sentinel-2 test).
    let pair: { a: (typeof early)[number]; b: (typeof late)[number]; c0: number; c1: number; r0: number; r1: number } | null = null;
    for (const a of early) {
      for (const b of late) {
        const x0 = Math.max(a.gt[0], b.gt[0]);
        const x1 = Math.min(a.gt[0] + a.width * a.gt[1], b.gt[0] + b.width * b.gt[1]);
        const y0 = Math.min(a.gt[3], b.gt[3]);
        const y1 = Math.max(a.gt[3] + a.height * a.gt[5], b.gt[3] + b.height * b.gt[5]);
        if (x1 <= x0 || y0 <= y1) continue;
        const share = ((x1 - x0) * (y0 - y1)) / (a.width * a.gt[1] * a.height * -a.gt[5]);
        if (share > 0.2 && share < 0.95 && !pair) {
          pair = { a, b, c0: Math.round((x0 - b.gt[0]) / b.gt[1]), c1: Math.round((x1 - b.gt[0]) / b.gt[1]), r0: Math.round((y0 - b.gt[3]) / b.gt[5]), r1: Math.round((y1 - b.gt[3]) / b.gt[5]) };
        }
      }
    }
    expect(pair).not.toBeNull();
    const { a, b, c0, c1, r0, r1 } = pair!;
    // The later labels edited inside the overlap: forest becomes field in its west half.
    const src = await openImage(b.labels);
    const labels = Uint8Array.from((await src.read()).data);
    await src.close();
    const cm = Math.floor((c0 + c1) / 2);
    let edited = 0;
    for (let y = r0; y < r1; y++) {
      for (let x = c0; x < cm; x++) {
        if (labels[y * b.width + x] === 4) {
          labels[y * b.width + x] = 3;
          edited++;
        }
      }
    }
    expect(edited).toBeGreaterThan(0);
    const editedFile = join(dir, `202412_mask_${b.k}_edited.tif`);
    await writeTiff(editedFile, { data: labels, width: b.width, height: b.height, depth: 1, channels: 1, geometry: b.geometry, nodata: 255 });
    const sessions: string[] = [];
    for (const [image, lab, name] of [
      [a.image, a.labels, 'a'],
      [b.image, editedFile, 'b'],
    ] as const) {
      const out = join(dir, `s2-${name}`);
      await measureFiles(image, lab, out, { classes: CLASSES });
      const file = join(dir, `s2-${name}.delineate.json`);
      await saveSession(file, await newSession(image, { result: out }));
      sessions.push(file);
    }
    host.setNextDialogPath(sessions[0]!);
    await page.getByTestId('open-session').click();
    await until(() => page.evaluate(() => window.__delineateState!().image?.name ?? ''), (n) => n.startsWith('202309'), 30_000, 'the earlier date');
    host.setNextDialogPath(sessions[1]!);
    await page.getByTestId('open-session').click();
    await page.getByTestId('compare-offer').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('compare-offer').textContent()).toContain(`Compare with 202309_patchN_${a.k}.tif?`);
    await page.getByTestId('compare-offer-accept').click();
    await page.getByTestId('compare-view').waitFor({ timeout: 120_000 });
    const view = await until(() => readCompare(page), (v) => v.slices.length === 2, 30_000, 'both dates drawn');
    expect(view.kind).toBe('geo');
    const result = await page.evaluate(() => window.__delineateCompare!().result!);
    const doc = result.change;
    if (doc.kind !== 'geo') throw new Error('expected a map comparison');
    // Earliest first, whatever the order they were opened in; the grid is the earlier date's.
    expect(result.timepoints.map((t) => t.date)).toEqual(['2023-09', '2024-12']);
    expect(result.grid.geotransform).toEqual(a.gt);
    await page.waitForTimeout(200);
    expect((await canvasCounts(page, 'left')).lit).toBeGreaterThan(1000);
    expect((await canvasCounts(page, 'right')).lit).toBeGreaterThan(1000);

    // From-to rows with hectares: forest -> field is there, with the document's area.
    const forestToField = doc.transitions.find((t) => t.from === 4 && t.to === 3)!;
    expect(forestToField.pixels).toBeGreaterThan(0);
    const row = page.getByTestId('fromto-4-3');
    expect(await row.locator('td').allTextContents()).toEqual(['forest', 'field', forestToField.areaHa >= 100 ? forestToField.areaHa.toFixed(0) : forestToField.areaHa >= 1 ? forestToField.areaHa.toFixed(2) : forestToField.areaHa.toFixed(4)]);
    const rows = await page.getByTestId('compare-fromto').locator('tbody tr').count();
    expect(rows).toBe(doc.transitions.filter((t) => t.from !== t.to).length);
    // The chart: one bar per class present, field grows and forest shrinks.
    const barWidth = async (id: number) => Number(await page.getByTestId(`chart-bar-${id}`).locator('rect').getAttribute('width'));
    expect(await barWidth(3)).toBeGreaterThan(1);
    expect(await barWidth(4)).toBeGreaterThan(1);
    expect(doc.netHa['3']).toBeGreaterThan(0);
    expect(doc.netHa['4']).toBeLessThan(0);
    const fieldX = Number(await page.getByTestId('chart-bar-3').locator('rect').getAttribute('x'));
    const forestX = Number(await page.getByTestId('chart-bar-4').locator('rect').getAttribute('x'));
    expect(forestX).toBeLessThan(fieldX);
    // The change overlay is drawn (changed pixels in the new class's colour) and can be switched off.
    await canvasCounts(page, 'right', { keep: 'withOverlay' });
    await page.getByTestId('compare-overlay-toggle').uncheck();
    await expect.poll(async () => (await canvasCounts(page, 'right', { snapshot: 'withOverlay' })).differing).toBeGreaterThan(0);
    await page.getByTestId('compare-overlay-toggle').check();

    // The map position of the cursor, in the grid's CRS.
    const box = (await page.getByTestId('compare-canvas-left').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => page.getByTestId('compare-status').textContent()).toMatch(/map [\d.]+, [\d.]+ \(EPSG:\d+/);
    await page.screenshot({ path: join(RESULTS, 'ui-compare-geo.png') });

    // A third date (the later session once more): the right-hand view takes any date but the left one.
    host.setNextDialogPath(sessions[1]!);
    await page.getByTestId('compare-add-date').click();
    await page.getByTestId('compare-add-session').click();
    await until(() => page.evaluate(() => window.__delineateCompare!().result?.timepoints.length ?? 0), (n) => n === 3, 60_000, 'three dates');
    const three = await until(() => readCompare(page), (v) => v.phase === 'shown' && v.slices.length === 2, 30_000, 'the views of three dates');
    expect([three.left, three.right]).toEqual([0, 2]);
    const options = page.getByTestId('compare-right-date').locator('option');
    expect(await options.count()).toBe(3);
    expect(await options.nth(0).isDisabled()).toBe(true);
    await page.getByTestId('compare-right-date').selectOption('1');
    await until(() => readCompare(page), (v) => v.right === 1 && v.slices.some((x) => x.t === 1), 10_000, 'the middle date on the right');
    const dateLabels = await page.evaluate(() => window.__delineateCompare!().result!.timepoints.map((t) => `${t.date} · ${t.name}`));
    expect(await page.getByTestId('compare-label-right').textContent()).toBe(dateLabels[1]);
    await page.getByTestId('compare-close').click();
    await page.getByTestId('compare-view').waitFor({ state: 'detached' });
    expect(session.problems).toEqual([]);
  }, 300_000);
});
