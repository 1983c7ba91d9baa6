// UI end to end of the MPR layout on a CT series with anisotropic voxels (0.8 x 0.8 x 2.5 mm): axial, coronal and
// sagittal views side by side, a click in the axial view moves the linked cursor (the other views' slices follow
// and draw its lines), coronal/sagittal views keep the voxel aspect and superior at the top, the read-out names the
// voxel under the pointer, and the model's probability heat-map is drawn in every view. Chromium + test host +
// the real engine host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { writeCtSeries } from '../fixtures/dicom-writer';
import { RESULTS, imageToPage, skipReason, startSession, until, writeTestModels, type Session } from './ui-helpers';

if (skipReason) console.warn(`ui e2e tests skipped: ${skipReason}`);

const W = 64;
const H = 64;
const D = 16;
/** Sphere of 300 HU in air, centre (32, 30, 8), radius 7 voxels in x/y and 3.5 slices in z. */
const inSphere = (x: number, y: number, z: number) => (x - 32) ** 2 + (y - 30) ** 2 + ((z - 8) * 2) ** 2 <= 49;

/** What the MPR tests read from the app state (typed arrays summarised). */
interface MprView {
  layout: string;
  crosshair: { x: number; y: number; z: number };
  z: number;
  coronal: { width: number; height: number; spacingMm?: [number, number]; flipRows?: boolean; bright: number } | null;
  sagittal: { width: number; height: number; spacingMm?: [number, number]; flipRows?: boolean; bright: number } | null;
  coronalResultZ: number | null;
  sagittalResultZ: number | null;
  probability: { axial: number | null; coronal: number | null; sagittal: number | null };
  resultId: string | null;
  probabilities: boolean;
  cursor: { x: number; y: number; z?: number } | null;
}

function readMpr(page: Page): Promise<MprView> {
  return page.evaluate(() => {
    const s = window.__delineateState!();
    const plane = (b: typeof s.slice) => {
      if (!b) return null;
      // Bright pixels (the sphere in the soft-tissue window) on the plane's preview.
      let bright = 0;
      for (let i = 0; i < b.rgba.length; i += 4) if (b.rgba[i]! > 200) bright++;
      return { width: b.width, height: b.height, spacingMm: b.spacingMm, flipRows: b.flipRows, bright };
    };
    const maxOf = (p: { values: Uint8Array } | null) => (p ? p.values.reduce((m, v) => Math.max(m, v), 0) : null);
    return {
      layout: s.layout,
      crosshair: s.crosshair,
      z: s.z,
      coronal: plane(s.planes.coronal.slice),
      sagittal: plane(s.planes.sagittal.slice),
      coronalResultZ: s.planes.coronal.resultSlice?.z ?? null,
      sagittalResultZ: s.planes.sagittal.resultSlice?.z ?? null,
      probability: { axial: maxOf(s.probability), coronal: maxOf(s.planes.coronal.probability), sagittal: maxOf(s.planes.sagittal.probability) },
      resultId: s.result?.resultId ?? null,
      probabilities: s.result?.probabilities === true,
      cursor: s.cursor,
    };
  });
}

/**
 * Page coordinates of plane pixel (col, row) of a coronal/sagittal view just fitted: rows are drawn `aspect` times
 * taller than columns are wide (as Viewer.fit lays them out).
 */
function planeToPage(page: Page, axis: 'coronal' | 'sagittal', col: number, row: number, cols: number, rows: number, aspect: number): Promise<{ x: number; y: number }> {
  return page.evaluate(
    ({ axis, col, row, cols, rows, aspect }) => {
      const r = document.querySelector<HTMLCanvasElement>(`[data-testid="viewer-canvas-${axis}"]`)!.getBoundingClientRect();
      const s = Math.min(r.width / cols, r.height / (rows * aspect)) * 0.95;
      const tx = (r.width - cols * s) / 2;
      const ty = (r.height - rows * s * aspect) / 2;
      return { x: r.left + tx + (col + 0.5) * s, y: r.top + ty + (row + 0.5) * s * aspect };
    },
    { axis, col, row, cols, rows, aspect },
  );
}

/** RGBA of a view's canvas at page coordinates. */
function pixelOf(page: Page, testId: string, at: { x: number; y: number }): Promise<number[]> {
  return page.evaluate(
    ({ testId, x, y }) => {
      const canvas = document.querySelector<HTMLCanvasElement>(`[data-testid="${testId}"]`)!;
      const r = canvas.getBoundingClientRect();
      const k = canvas.width / r.width;
      return Array.from(canvas.getContext('2d')!.getImageData(Math.floor((x - r.left) * k), Math.floor((y - r.top) * k), 1, 1).data);
    },
    { testId, ...at },
  );
}

/**
 * Bright (sphere) extent on a view's canvas, in screen pixels: [width, height] of the box of pixels brighter than
 * 200 (grey; the crosshair lines are coloured, not grey).
 */
function brightExtent(page: Page, testId: string): Promise<[number, number]> {
  return page.evaluate((testId) => {
    const canvas = document.querySelector<HTMLCanvasElement>(`[data-testid="${testId}"]`)!;
    const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let x0 = Infinity;
    let x1 = -Infinity;
    let y0 = Infinity;
    let y1 = -Infinity;
    for (let y = 0; y < canvas.height; y++) {
      for (let x = 0; x < canvas.width; x++) {
        const i = (y * canvas.width + x) * 4;
        const [r, g, b] = [d[i]!, d[i + 1]!, d[i + 2]!];
        if (r > 200 && g > 200 && b > 200 && Math.abs(r - b) < 20) {
          x0 = Math.min(x0, x);
          x1 = Math.max(x1, x);
          y0 = Math.min(y0, y);
          y1 = Math.max(y1, y);
        }
      }
    }
    return [x1 - x0 + 1, y1 - y0 + 1] as [number, number];
  }, testId);
}

const near = (a: number[], b: number[], tol = 40) => a.slice(0, 3).every((v, i) => Math.abs(v - b[i]!) <= tol);

/** Whether a 1-px line of `color` crosses `at` (the pixel there or one either side across the line). */
async function lineAt(page: Page, testId: string, at: { x: number; y: number }, color: number[], vertical: boolean): Promise<number[][] | true> {
  const seen: number[][] = [];
  for (const d of [-1, 0, 1]) {
    const px = await pixelOf(page, testId, vertical ? { x: at.x + d, y: at.y } : { x: at.x, y: at.y + d });
    if (near(px, color)) return true;
    seen.push(px);
  }
  return seen;
}

describe.skipIf(skipReason !== null)(`UI: MPR views of a CT volume${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let s: Session;
  let dir: string;
  const ASPECT = 2.5 / 0.8;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-mpr-'));
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
      fileName: (z) => `IM${String(z).padStart(3, '0')}.dcm`,
      instanceNumber: (z) => z + 1,
      seriesUid: '1.2.826.0.1.3680043.9.7433.3.77',
    });
    writeTestModels(join(dir, 'models'));
    s = await startSession(join(dir, 'models'), { width: 1500, height: 860 });
  });

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows axial, coronal and sagittal views with the voxel aspect and superior at the top', async () => {
    const { page, host } = s;
    host.setNextDialogPath(join(dir, 'series'));
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-size').filter({ hasText: `${W} × ${H} × ${D}` }).waitFor();
    await page.getByTestId('layout-mpr').click();
    await page.getByTestId('mpr-layout').waitFor();
    // The cursor starts at the centre (32, 32, 8): the coronal slice y 32 and the sagittal slice x 32 cut the sphere.
    const st = await until(() => readMpr(page), (v) => v.coronal !== null && v.sagittal !== null, 20_000, 'coronal and sagittal slices');
    expect(st.crosshair).toEqual({ x: 32, y: 32, z: 8 });
    expect(st.coronal).toMatchObject({ width: W, height: D, spacingMm: [0.8, 2.5], flipRows: true });
    expect(st.sagittal).toMatchObject({ width: H, height: D, spacingMm: [0.8, 2.5], flipRows: true });
    expect(st.coronal!.bright).toBeGreaterThan(20);
    expect(await page.getByTestId('slice-label-coronal').textContent()).toBe(`33/${H}`);
    await page.keyboard.press('f');
    await page.mouse.move(5, 5);
    // The sphere is 15 voxels wide (12 mm) and 7 slices tall (17.5 mm) through its centre: taller than wide on the
    // screen only if rows are drawn 2.5/0.8 times taller than columns.
    const [bw, bh] = await brightExtent(page, 'viewer-canvas-coronal');
    // (13 columns by 7 rows: 1.68 with the aspect, 0.54 without.)
    expect(bh / bw).toBeGreaterThan(1.3);
    expect(bh / bw).toBeLessThan(2.0);
    // Superior (the highest z) is at the top: row 0 is z 15 (air), row 5 is z 10 (in the sphere). Column 30, off
    // the cursor's line at x 32.
    const top = await planeToPage(page, 'coronal', 30, 0, W, D, ASPECT);
    const sphereTop = await planeToPage(page, 'coronal', 30, D - 1 - 10, W, D, ASPECT);
    expect((await pixelOf(page, 'viewer-canvas-coronal', top))[0]).toBeLessThan(100);
    expect((await pixelOf(page, 'viewer-canvas-coronal', sphereTop))[0]).toBeGreaterThan(200);
    // Marks of the patient directions (LPS series: x runs to the patient's left, y to posterior).
    expect(await page.getByTestId('orient-top-coronal').textContent()).toBe('S');
    expect(await page.getByTestId('orient-left-coronal').textContent()).toBe('R');
    expect(await page.getByTestId('orient-left-sagittal').textContent()).toBe('A');
    await page.screenshot({ path: join(RESULTS, 'ui-mpr-views.png') });
  });

  it('moves the linked cursor with a click in the axial view; the other views follow and draw its lines', async () => {
    const { page } = s;
    const at = await imageToPage(page, 20, 40);
    await page.mouse.click(at.x, at.y);
    const st = await until(() => readMpr(page), (v) => v.crosshair.x === 20 && v.crosshair.y === 40 && v.coronal !== null && v.coronal.bright === 0, 20_000, 'cursor at (20, 40)');
    expect(st.z).toBe(8);
    expect(await page.getByTestId('slice-label-coronal').textContent()).toBe(`41/${H}`);
    expect(await page.getByTestId('slice-label-sagittal').textContent()).toBe(`21/${W}`);
    expect(await page.getByTestId('crosshair-readout').textContent()).toBe('20, 40, 8');
    await page.mouse.move(5, 5);
    // Coronal view: the sagittal plane (x 20) is a yellow vertical line, the axial plane (z 8) a red horizontal one.
    const yellow = await planeToPage(page, 'coronal', 20, 1, W, D, ASPECT);
    expect(await lineAt(page, 'viewer-canvas-coronal', yellow, [255, 210, 63], true)).toBe(true);
    const red = await planeToPage(page, 'coronal', 50, D - 1 - 8, W, D, ASPECT);
    expect(await lineAt(page, 'viewer-canvas-coronal', red, [255, 77, 77], false)).toBe(true);
    // Off the lines: not their colours (the lines are where the cursor is, not everywhere).
    const off = await planeToPage(page, 'coronal', 50, 1, W, D, ASPECT);
    expect(await lineAt(page, 'viewer-canvas-coronal', off, [255, 77, 77], false)).not.toBe(true);
    // Axial view: the coronal plane (y 40) is a green horizontal line.
    const green = await imageToPage(page, 5, 40);
    expect(await lineAt(page, 'viewer-canvas', green, [61, 220, 98], false)).toBe(true);
    await page.screenshot({ path: join(RESULTS, 'ui-mpr-cursor.png') });

    // The wheel over the sagittal view scrolls its slice (the cursor's x) only.
    const sag = await planeToPage(page, 'sagittal', 10, 8, H, D, ASPECT);
    await page.mouse.move(sag.x, sag.y);
    await page.mouse.wheel(0, 100);
    await until(() => readMpr(page), (v) => v.crosshair.x === 21 && v.crosshair.y === 40 && v.z === 8, 10_000, 'sagittal scrolled');
    // The read-out names the voxel under the pointer there: x 21 (the slice), y 10 (the column), z 15 - 8 = 7.
    await until(() => readMpr(page), (v) => v.cursor?.x === 21 && v.cursor.y === 10 && v.cursor.z === 7, 10_000, 'read-out of the sagittal voxel');
    expect(await page.getByTestId('status-cursor').textContent()).toBe('x 21, y 10, z 7');
    // Arrow keys scroll the view under the pointer: sagittal here, then coronal.
    await page.keyboard.press('ArrowUp');
    await until(() => readMpr(page), (v) => v.crosshair.x === 22 && v.crosshair.y === 40 && v.z === 8, 10_000, 'sagittal by key');
    const cor = await planeToPage(page, 'coronal', 10, 8, W, D, ASPECT);
    await page.mouse.move(cor.x, cor.y);
    await page.keyboard.press('ArrowDown');
    await until(() => readMpr(page), (v) => v.crosshair.x === 22 && v.crosshair.y === 39 && v.z === 8, 10_000, 'coronal by key');
  });

  it('keeps brush and eraser to the axial view, and draws the probability heat-map in every view', async () => {
    const { page } = s;
    await page.keyboard.press('b');
    expect(await page.getByTestId('viewer-canvas-coronal').getAttribute('title')).toMatch(/axial slices only/);
    await page.keyboard.press('v');
    // Back to the sphere's centre, then run the model.
    const centre = await imageToPage(page, 32, 30);
    await page.mouse.click(centre.x, centre.y);
    await until(() => readMpr(page), (v) => v.crosshair.x === 32 && v.crosshair.y === 30, 10_000, 'cursor on the sphere');
    await page.getByTestId('model-select').selectOption('bright');
    await page.getByTestId('run-button').click();
    const st = await until(() => readMpr(page), (v) => v.resultId !== null && v.coronalResultZ === 30 && v.sagittalResultZ === 32, 60_000, 'result in every view');
    expect(st.probabilities).toBe(true);
    await page.mouse.move(5, 5);
    const inAxial = await imageToPage(page, 32, 30);
    // z 9, off the axial plane's line (z 8).
    const inCoronal = await planeToPage(page, 'coronal', 30, D - 1 - 9, W, D, ASPECT);
    const labelsAxial = await pixelOf(page, 'viewer-canvas', { x: inAxial.x + 3, y: inAxial.y + 3 });
    const labelsCoronal = await pixelOf(page, 'viewer-canvas-coronal', { x: inCoronal.x + 3, y: inCoronal.y });
    await page.screenshot({ path: join(RESULTS, 'ui-mpr-labels.png') });

    await page.getByTestId('overlay-mode-probability').click();
    await page.getByTestId('probability-legend').waitFor();
    const p = await until(() => readMpr(page), (v) => v.probability.axial !== null && v.probability.coronal !== null && v.probability.sagittal !== null, 20_000, 'heat-maps');
    // The bright model is sure inside the sphere.
    expect(p.probability.axial).toBeGreaterThan(200);
    expect(p.probability.coronal).toBeGreaterThan(200);
    // The views redraw once the maps arrive: wait for the pixels to change, then check what they became.
    const heatAxial = await until(() => pixelOf(page, 'viewer-canvas', { x: inAxial.x + 3, y: inAxial.y + 3 }), (v) => !near(v, labelsAxial, 10), 10_000, 'axial heat-map drawn');
    const heatCoronal = await until(() => pixelOf(page, 'viewer-canvas-coronal', { x: inCoronal.x + 3, y: inCoronal.y }), (v) => !near(v, labelsCoronal, 10), 10_000, 'coronal heat-map drawn');
    expect(near(heatCoronal, heatAxial, 10)).toBe(true);
    // Inferno at p ~ 1 is pale yellow over the white sphere: red and green high.
    expect(heatAxial[0]).toBeGreaterThan(200);
    expect(heatAxial[1]).toBeGreaterThan(200);
    await page.screenshot({ path: join(RESULTS, 'ui-mpr-heatmap.png') });
    // T toggles back to the single view (the axial one, with its heat-map).
    await page.keyboard.press('t');
    await until(() => readMpr(page), (v) => v.layout === 'single', 10_000, 'single layout');
    expect(await page.getByTestId('mpr-layout').count()).toBe(0);
    expect(await page.getByTestId('viewer-canvas').count()).toBe(1);
    expect(s.problems).toEqual([]);
  });
});
