// UI end to end of the segmentation workflow on a picture with three bright discs, with a tiny real ONNX model:
// the model picker and card, Run, overlay toggles (hide class, outline, opacity), selecting an object from the
// table and from the image, brush painting that grows an object's area in the table, undo/redo, CSV copy, and
// cancelling a long run with its progress and ETA showing. Chromium + test host + the real engine host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { RESULTS, canvasPixel, cellText, imageToPage, readState, skipReason, startSession, until, writeTestModels, type Session } from './ui-helpers';

if (skipReason) console.warn(`ui e2e tests skipped: ${skipReason}`);

const W = 240;
const H = 160;
const DISCS = [
  { cx: 60, cy: 80, r: 30 },
  { cx: 150, cy: 50, r: 18 },
  { cx: 190, cy: 115, r: 12 },
];

async function writeDiscs(path: string): Promise<void> {
  const circles = DISCS.map((d) => `<circle cx="${d.cx + 0.5}" cy="${d.cy + 0.5}" r="${d.r}" fill="#f0f0f0"/>`).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="100%" height="100%" fill="#202020"/>${circles}</svg>`;
  await sharp(Buffer.from(svg)).flatten().greyscale().png().toFile(path);
}

async function writeNoise(path: string, side: number): Promise<void> {
  const raw = Buffer.alloc(side * side);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
  await sharp(raw, { raw: { width: side, height: side, channels: 1 } }).png({ compressionLevel: 1 }).toFile(path);
}

/** Instance records as the renderer has them: id, centroid, area. */
function instances(page: Page): Promise<Array<{ id: number; cx: number; cy: number; areaPx: number }>> {
  return page.evaluate(() =>
    (window.__delineateState!().result?.document.instances ?? []).map((r) => ({ id: r.id, cx: r.centroidPx[0]!, cy: r.centroidPx[1]!, areaPx: r.areaPx as number })),
  );
}

async function idAt(page: Page, x: number, y: number): Promise<number> {
  const list = await instances(page);
  const hit = list.find((r) => Math.hypot(r.cx - x, r.cy - y) < 3);
  if (!hit) throw new Error(`no instance near (${x}, ${y}): ${JSON.stringify(list)}`);
  return hit.id;
}

describe.skipIf(skipReason !== null)(`UI: run a model, inspect, edit, measure${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let s: Session;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-seg-'));
    await Promise.all([writeDiscs(join(dir, 'discs.png')), writeNoise(join(dir, 'noise.png'), 2048)]);
    writeTestModels(join(dir, 'models'));
    s = await startSession(join(dir, 'models'));
  });

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows every model for a plain picture with its card, runs one, and lists the objects', async () => {
    const { page, host } = s;
    host.setNextDialogPath(join(dir, 'discs.png'));
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-size').filter({ hasText: `${W} × ${H}` }).waitFor();
    await page.getByTestId('fit-button').click();
    expect(await page.getByTestId('model-select').locator('option').allTextContents()).toEqual(['Bright spots 1.0.0', 'Roofs 1.0.0', 'Slow bright 1.0.0']);
    expect(await page.getByTestId('model-summary').textContent()).toBe('Finds pixels brighter than mid-grey. A test model: one 1x1 convolution.');
    expect(await page.getByTestId('run-button').getAttribute('title')).toMatch(/\(Ctrl\+Enter\)$/);
    await page.getByTestId('run-button').click();
    const st = await until(() => readState(page), (v) => v.resultId !== null && v.resultSliceZ === 0, 60_000, 'result');
    expect(st.instanceIds).toHaveLength(3);
    expect(await page.getByTestId('instances-table').locator('tbody tr').count()).toBe(3);
    expect(await page.getByTestId('device').textContent()).toMatch(/^Ran on CPU in/);
    expect(await page.getByTestId('class-row-1').textContent()).toContain('3');
    await page.getByTestId('class-bar-1').waitFor();
    // Areas match the discs (pi r^2, within a few percent for the rasterised edge).
    const list = await instances(page);
    for (const d of DISCS) {
      const rec = list.find((r) => Math.hypot(r.cx - d.cx, r.cy - d.cy) < 2);
      expect(rec, JSON.stringify(d)).toBeDefined();
      expect(rec!.areaPx / (Math.PI * d.r * d.r)).toBeGreaterThan(0.9);
      expect(rec!.areaPx / (Math.PI * d.r * d.r)).toBeLessThan(1.1);
    }
    // Sorting by area puts the largest first when descending.
    await page.getByTestId('sort-areaPx').click();
    const first = await page.getByTestId('instances-table').locator('tbody tr').first().getAttribute('data-testid');
    expect(first).toBe(`instance-row-${await idAt(page, 60, 80)}`);
    await page.screenshot({ path: join(RESULTS, 'ui-segment-result.png') });
  });

  it('toggles overlays: hide the class, outline only, opacity', async () => {
    const { page } = s;
    const centre = await imageToPage(page, 60, 80);
    // Filled at 45%: white disc tinted red.
    const filled = await until(() => canvasPixel(page, centre), (p) => p[0] > 230 && p[1] < 160, 10_000, 'red tint');
    expect(filled[1]).toBeGreaterThan(100);
    await page.getByTestId('class-toggle-1').uncheck();
    await until(() => canvasPixel(page, centre), (p) => p[1] > 220, 10_000, 'class hidden');
    expect((await readState(page)).overlay.hiddenClasses).toEqual([1]);
    await page.getByTestId('class-toggle-1').check();
    await page.getByTestId('overlay-outline').check();
    await until(() => canvasPixel(page, centre), (p) => p[1] > 220, 10_000, 'no fill in outline mode');
    // Somewhere on the disc's top rim (image rows 47..54 of its centre column) the outline is pure red.
    const rim: Array<[number, number, number, number]> = [];
    for (let y = 47; y <= 54; y++) rim.push(await canvasPixel(page, await imageToPage(page, 60, y)));
    expect(rim.some((p) => p[0] > 200 && p[1] < 60), JSON.stringify(rim)).toBe(true);
    await page.screenshot({ path: join(RESULTS, 'ui-segment-outline.png') });
    await page.getByTestId('overlay-outline').uncheck();
    await page.getByTestId('overlay-opacity').fill('100');
    await until(() => canvasPixel(page, centre), (p) => p[0] > 240 && p[1] < 15, 10_000, 'opaque fill');
    await page.getByTestId('overlay-opacity').fill('45');
    await page.keyboard.press('h');
    await until(() => readState(page), (v) => !v.overlay.visible, 5_000, 'H hides the overlay');
    await until(() => canvasPixel(page, centre), (p) => p[1] > 220, 10_000, 'overlay hidden');
    await page.keyboard.press('h');
    await until(() => canvasPixel(page, centre), (p) => p[1] < 160, 10_000, 'overlay back');
  });

  it('selects an object from the table and from the image', async () => {
    const { page } = s;
    const big = await idAt(page, 60, 80);
    const small = await idAt(page, 190, 115);
    await page.getByTestId(`instance-row-${small}`).click();
    await until(() => readState(page), (v) => v.selectedId === small, 5_000, 'row selects');
    expect(await page.getByTestId(`instance-row-${small}`).getAttribute('aria-selected')).toBe('true');
    await page.screenshot({ path: join(RESULTS, 'ui-segment-row-selected.png') });
    // The row click centred the object; fit again so image coordinates are predictable.
    await page.keyboard.press('f');
    const at = await imageToPage(page, 60, 80);
    await page.mouse.click(at.x, at.y);
    await until(() => readState(page), (v) => v.selectedId === big, 5_000, 'image click selects');
    expect(await page.getByTestId(`instance-row-${big}`).getAttribute('aria-selected')).toBe('true');
    expect(await page.getByTestId(`instance-row-${small}`).getAttribute('aria-selected')).toBe('false');
    // A click on background clears the selection.
    const bg = await imageToPage(page, 110, 140);
    await page.mouse.click(bg.x, bg.y);
    await until(() => readState(page), (v) => v.selectedId === null, 5_000, 'background click deselects');
    await page.mouse.click(at.x, at.y);
    await until(() => readState(page), (v) => v.selectedId === big, 5_000, 'selected again');
  });

  it('paints with the brush, sees the area grow in the table, and undoes/redoes', async () => {
    const { page, problems } = s;
    const big = await idAt(page, 60, 80);
    const areaBefore = Number(await cellText(page, big, 'areaPx'));
    expect(areaBefore).toBeGreaterThan(2500);
    await page.keyboard.press('b');
    await until(() => readState(page), (v) => v.tool === 'brush', 5_000, 'brush tool');
    await page.getByTestId('brush-size').fill('10');
    await page.getByTestId('viewer-canvas').focus();
    // A stroke from inside the disc's right edge outward: grows the selected object.
    const from = await imageToPage(page, 86, 80);
    const to = await imageToPage(page, 110, 80);
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 8 });
    await page.mouse.up();
    await until(() => readState(page), (v) => v.revision === 1, 10_000, 'edit applied');
    await until(() => cellText(page, big, 'areaPx'), (t) => Number(t) > areaBefore + 150, 10_000, 'area grew');
    const areaPainted = Number(await cellText(page, big, 'areaPx'));
    expect(await page.getByTestId(`instance-row-${big}`).textContent()).toContain('✎');
    expect((await readState(page)).undoStack).toEqual(['paintStroke']);
    expect(await page.getByTestId('undo-button').getAttribute('title')).toBe('Undo brush stroke (Ctrl+Z)');
    await page.screenshot({ path: join(RESULTS, 'ui-segment-painted.png') });

    await page.keyboard.press('Control+z');
    await until(() => cellText(page, big, 'areaPx'), (t) => Number(t) === areaBefore, 10_000, 'undo restores the area');
    expect((await readState(page)).redoStack).toEqual(['paintStroke']);
    await page.getByTestId('redo-button').click();
    await until(() => cellText(page, big, 'areaPx'), (t) => Number(t) === areaPainted, 10_000, 'redo paints again');

    // The eraser takes a bite out of it; undo puts it back.
    await page.keyboard.press('e');
    const bite = await imageToPage(page, 60, 52);
    await page.mouse.click(bite.x, bite.y);
    await until(() => cellText(page, big, 'areaPx'), (t) => Number(t) < areaPainted, 10_000, 'eraser');
    await page.keyboard.press('Control+z');
    await until(() => cellText(page, big, 'areaPx'), (t) => Number(t) === areaPainted, 10_000, 'undo eraser');
    await page.keyboard.press('v');
    expect(problems).toEqual([]);
  });

  it('copies the measurements as CSV', async () => {
    const { page, host } = s;
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(host.url).origin });
    await page.getByTestId('copy-csv').click();
    await page.getByTestId('copy-status').filter({ hasText: '3 rows copied' }).waitFor();
    const csv = await page.evaluate(() => navigator.clipboard.readText());
    const lines = csv.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]!.split(',').slice(0, 5)).toEqual(['id', 'classId', 'className', 'pixelCount', 'areaPx']);
    expect(lines[0]).toContain('edited');
  });

  it('runs a long model with progress and ETA, and cancels it', async () => {
    const { page, host, problems } = s;
    host.setNextDialogPath(join(dir, 'noise.png'));
    await page.getByTestId('open-button').click();
    // The edited result of the last image is not saved: the app asks first.
    await page.getByTestId('unsaved-discard').click();
    await page.getByTestId('status-size').filter({ hasText: '2048 × 2048' }).waitFor();
    await page.getByTestId('model-select').selectOption('slow');
    await page.getByTestId('run-button').click();
    await page.getByTestId('job-stage').filter({ hasText: 'inference' }).waitFor({ timeout: 60_000 });
    await page.getByTestId('job-eta').filter({ hasText: /left$/ }).waitFor();
    const value = Number(await page.getByTestId('job-progress').getAttribute('value'));
    expect(value).toBeGreaterThan(0);
    await page.screenshot({ path: join(RESULTS, 'ui-segment-progress.png') });
    await page.getByTestId('cancel-button').click();
    await page.getByTestId('run-button').waitFor({ timeout: 30_000 });
    const st = await readState(page);
    expect(st.job).toBe(false);
    expect(st.resultId).toBeNull();
    expect(await page.getByTestId('error-banner').count()).toBe(0);
    expect(host.engine.inFlight()).not.toContain('segment');
    expect(problems).toEqual([]);
  });
});
