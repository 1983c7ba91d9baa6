// UI end to end of the shape tools and manual measuring on a 2D NIfTI with 0.5 mm pixels and a tiny real model:
// a polygon fill makes a new object, a lasso another, Fill holes fills a ring's hole, a split line cuts a dumbbell
// into two objects, Merge joins them back, region growing fills a grey block up to its edge, undo takes it back, and
// the ruler and bidirectional tools list lengths in mm. Chromium + test host + the real engine host; screenshots in test-results/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { writeNifti } from '../../main/engine/io/nifti';
import { RESULTS, imageToPage, readState, skipReason, startSession, until, writeTestModels, type Session } from './ui-helpers';

if (skipReason) console.warn(`ui e2e tests skipped: ${skipReason}`);

const W = 200;
const H = 120;
/** The grey block region growing fills: value 100 (below the model's threshold), x 150..189, y 20..99. */
const BLOCK = { x0: 150, y0: 20, x1: 189, y1: 99 };

/** The bright ring: its hole is what Fill holes fills. */
const RING = { cx: 40, cy: 100, outer: 12, inner: 6 };

/** Dark background (30), a bright dumbbell (240: two discs joined by a bar), a bright ring and the grey block. */
async function writeScene(path: string): Promise<void> {
  const data = new Uint8Array(W * H).fill(30);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const disc = Math.hypot(x - 40, y - 60) <= 18 || Math.hypot(x - 110, y - 60) <= 18;
      const bar = x >= 40 && x <= 110 && y >= 56 && y <= 63;
      const r = Math.hypot(x - RING.cx, y - RING.cy);
      if (disc || bar || (r <= RING.outer && r > RING.inner)) data[y * W + x] = 240;
      else if (x >= BLOCK.x0 && x <= BLOCK.x1 && y >= BLOCK.y0 && y <= BLOCK.y1) data[y * W + x] = 100;
    }
  }
  const geometry = { type: 'medical' as const, spacingMm: [0.5, 0.5, 1] as [number, number, number], originMm: [0, 0, 0] as [number, number, number], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
  await writeNifti(path, { data, width: W, height: H, depth: 1, channels: 1, geometry });
}

interface Rec {
  id: number;
  classId: number;
  pixelCount: number;
  cx: number;
}
function records(page: Page): Promise<Rec[]> {
  return page.evaluate(() => (window.__delineateState!().result?.document.instances ?? []).map((r) => ({ id: r.id, classId: r.classId, pixelCount: r.pixelCount, cx: r.centroidPx[0]! })));
}

async function drag(page: Page, from: [number, number], to: [number, number]): Promise<void> {
  const a = await imageToPage(page, from[0], from[1]);
  const b = await imageToPage(page, to[0], to[1]);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move(b.x, b.y, { steps: 12 });
  await page.mouse.up();
}

async function clickAt(page: Page, x: number, y: number, modifiers: Array<'Shift' | 'Control'> = []): Promise<void> {
  const p = await imageToPage(page, x, y);
  // mouse.click takes no modifiers: hold the keys around it.
  for (const m of modifiers) await page.keyboard.down(m);
  await page.mouse.click(p.x, p.y);
  for (const m of modifiers) await page.keyboard.up(m);
}

describe.skipIf(skipReason !== null)(`UI: shape tools and manual measuring${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let s: Session;
  let dir: string;
  let dumbbellPixels = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-edit-'));
    await writeScene(join(dir, 'scene.nii'));
    writeTestModels(join(dir, 'models'));
    s = await startSession(join(dir, 'models'));
  });

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the model: the dumbbell (1) and the ring (2)', async () => {
    const { page, host } = s;
    host.setNextDialogPath(join(dir, 'scene.nii'));
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-size').filter({ hasText: `${W} × ${H}` }).waitFor();
    await page.getByTestId('fit-button').click();
    await page.getByTestId('run-button').click();
    const st = await until(() => readState(page), (v) => v.resultId !== null && v.resultSliceZ === 0, 60_000, 'result');
    expect(st.instanceIds).toEqual([1, 2]);
    dumbbellPixels = (await records(page))[0]!.pixelCount;
    expect(dumbbellPixels).toBeGreaterThan(2 * Math.PI * 18 * 18);
  });

  it('fills a polygon into a new object (clicks, then Enter)', async () => {
    const { page } = s;
    await page.keyboard.press('p');
    expect((await readState(page)).tool).toBe('polygon');
    expect(await page.getByTestId('tool-polygon').getAttribute('title')).toMatch(/\(P\)$/);
    // Corners on pixel edges: the 30 x 20 pixels x 10..39, y 4..23 (pixel centres inside).
    for (const [x, y] of [
      [10, 4],
      [40, 4],
      [40, 24],
      [10, 24],
    ] as const) {
      await clickAt(page, x - 0.5, y - 0.5);
    }
    await page.screenshot({ path: join(RESULTS, 'ui-edit-polygon-draft.png') });
    await page.keyboard.press('Enter');
    await page.getByTestId('instance-row-3').waitFor();
    const rec = (await records(page)).find((r) => r.id === 3)!;
    expect(rec.pixelCount).toBe(600);
    expect(await page.getByTestId('instance-row-3').locator('td[data-col="areaMm2"]').textContent()).toBe('150');
    const st = await readState(page);
    expect(st.undoStack).toEqual(['fillPolygon']);
    expect(st.selectedId).toBe(3);
  });

  it('fills a lasso into a new object, and Fill holes fills the ring', async () => {
    const { page } = s;
    await page.keyboard.press('Escape');
    await page.keyboard.press('l');
    // A freehand loop around (80, 100): a diamond dragged through its corners.
    const pts: Array<[number, number]> = [
      [80, 90],
      [90, 100],
      [80, 110],
      [70, 100],
      [80, 90],
    ];
    const first = await imageToPage(page, pts[0]![0], pts[0]![1]);
    await page.mouse.move(first.x, first.y);
    await page.mouse.down();
    for (const [x, y] of pts.slice(1)) {
      const p = await imageToPage(page, x, y);
      await page.mouse.move(p.x, p.y, { steps: 8 });
    }
    await page.mouse.up();
    await page.getByTestId('instance-row-4').waitFor();
    const lasso = (await records(page)).find((r) => r.id === 4)!;
    // A diamond of half-diagonal 10 px: about 200 pixels.
    expect(lasso.pixelCount).toBeGreaterThan(170);
    expect(lasso.pixelCount).toBeLessThan(230);
    await page.keyboard.press('v');
    const ringBefore = (await records(page)).find((r) => r.id === 2)!.pixelCount;
    await clickAt(page, RING.cx + 9, RING.cy);
    await until(() => readState(page), (v) => v.selectedId === 2, 5_000, 'ring selected');
    expect(await page.getByTestId('fill-holes').getAttribute('title')).toMatch(/\(K\)$/);
    await page.getByTestId('fill-holes').click();
    const ring = await until(() => records(page), (r) => r.find((x) => x.id === 2)!.pixelCount > ringBefore, 10_000, 'hole filled');
    let disc = 0;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if (Math.hypot(x - RING.cx, y - RING.cy) <= RING.outer) disc++;
    expect(ring.find((x) => x.id === 2)!.pixelCount).toBe(disc);
    await page.screenshot({ path: join(RESULTS, 'ui-edit-lasso-holes.png') });
    expect((await readState(page)).undoStack).toEqual(['fillPolygon', 'fillPolygon', 'fillHoles']);
  });

  it('splits the dumbbell along a drawn line into two objects of the same class', async () => {
    const { page } = s;
    await page.keyboard.press('Escape');
    await page.keyboard.press('s');
    expect(await page.getByTestId('tool-split').getAttribute('title')).toMatch(/every slice/);
    await drag(page, [75, 35], [75, 85]);
    await page.getByTestId('instance-row-5').waitFor();
    const recs = await records(page);
    expect(recs.map((r) => r.id)).toEqual([1, 2, 3, 4, 5]);
    const [left, right] = [recs.find((r) => r.id === 1)!, recs.find((r) => r.id === 5)!].sort((a, b) => a.cx - b.cx);
    expect(left!.classId).toBe(right!.classId);
    expect(left!.pixelCount + right!.pixelCount).toBe(dumbbellPixels);
    expect(left!.cx).toBeLessThan(75);
    expect(right!.cx).toBeGreaterThan(75);
    expect(await page.getByTestId('instances-table').locator('tbody tr').count()).toBe(5);
    await page.screenshot({ path: join(RESULTS, 'ui-edit-split.png') });
  });

  it('merges the two pieces back (click, Ctrl-click, Merge)', async () => {
    const { page } = s;
    await page.keyboard.press('v');
    await clickAt(page, 40, 60);
    await clickAt(page, 110, 60, ['Control']);
    await page.getByTestId('merge-instances').waitFor();
    expect(await page.getByTestId('merge-selection').textContent()).toMatch(/#\d, #\d/);
    await page.screenshot({ path: join(RESULTS, 'ui-edit-merge-picked.png') });
    await page.getByTestId('merge-instances').click();
    await until(() => records(page), (r) => r.length === 4, 10_000, 'merged');
    const recs = await records(page);
    const merged = recs.find((r) => r.id === 1 || r.id === 5)!;
    expect(merged.pixelCount).toBe(dumbbellPixels);
    expect((await readState(page)).undoStack.slice(-2)).toEqual(['splitInstance', 'mergeInstances']);
  });

  it('grows a region from a click up to the edge of the grey block, and undo takes it back', async () => {
    const { page } = s;
    await page.keyboard.press('Escape');
    await page.keyboard.press('g');
    await page.getByTestId('grow-settings').waitFor();
    await page.getByTestId('grow-radius').fill('100');
    await page.getByTestId('viewer-canvas').focus();
    await clickAt(page, 170, 60);
    const after = await until(() => records(page), (r) => r.length === 5, 10_000, 'grown');
    const grown = after.find((r) => r.id === 6)!;
    expect(grown.pixelCount).toBe((BLOCK.x1 - BLOCK.x0 + 1) * (BLOCK.y1 - BLOCK.y0 + 1));
    await page.screenshot({ path: join(RESULTS, 'ui-edit-grow.png') });
    await page.keyboard.press('Control+z');
    await until(() => records(page), (r) => r.length === 4 && !r.some((x) => x.id === 6), 10_000, 'undone');
    const st = await readState(page);
    expect(st.redoStack).toEqual(['regionGrow']);
    await until(() => readState(page), (v) => !v.sliceInstanceIds.includes(6), 5_000, 'slice without the grown region');
  });

  it('measures with the ruler and the bidirectional tool; lengths in mm in the manual table', async () => {
    const { page } = s;
    await page.keyboard.press('r');
    // 40 pixels along x at 0.5 mm: 20 mm.
    await drag(page, [60, 116], [100, 116]);
    await page.getByTestId('manual-row-1').waitFor();
    expect(await page.getByTestId('manual-long-1').textContent()).toBe('20 mm');
    await page.keyboard.press('d');
    // Long axis 36 px (18 mm) down the right disc; then the short axis out to 10 px from it (20 px = 10 mm).
    await drag(page, [110, 42], [110, 78]);
    const p = await imageToPage(page, 120, 60);
    await page.mouse.move(p.x, p.y, { steps: 4 });
    await page.mouse.click(p.x, p.y);
    await page.getByTestId('manual-row-2').waitFor();
    expect(await page.getByTestId('manual-long-2').textContent()).toBe('18 mm');
    expect(await page.getByTestId('manual-short-2').textContent()).toBe('10 mm');
    await page.screenshot({ path: join(RESULTS, 'ui-edit-measure.png') });
    await page.getByTestId('manual-delete-1').click();
    expect(await page.getByTestId('manual-table').locator('tbody tr').count()).toBe(1);
    expect(s.problems).toEqual([]);
  });
});
