// UI end to end of a model whose manifest asks for a clean-up step (keep the largest object): the model panel
// says what the step does, a run applies it (one object of three discs), and switching it off keeps every disc.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { BRIGHT_MODEL, brightManifest, writeModelFolder } from '../fixtures/models';
import { RESULTS, readState, skipReason, startSession, until, type Session } from './ui-helpers';

if (skipReason) console.warn(`ui e2e tests skipped: ${skipReason}`);

describe.skipIf(skipReason !== null)(`UI: a model with a clean-up step${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let s: Session;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-opt-'));
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="200" height="120"><rect width="100%" height="100%" fill="#202020"/>
      <circle cx="50" cy="60" r="30" fill="#f0f0f0"/><circle cx="130" cy="40" r="12" fill="#f0f0f0"/><circle cx="170" cy="95" r="8" fill="#f0f0f0"/></svg>`;
    await sharp(Buffer.from(svg)).flatten().greyscale().png().toFile(join(dir, 'discs.png'));
    writeModelFolder(join(dir, 'models'), { ...brightManifest('largest'), name: 'Largest bright', postprocess: { keepLargestComponents: 1 }, testTimeFlips: ['x'] }, BRIGHT_MODEL);
    s = await startSession(join(dir, 'models'));
  });

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies the clean-up by default and keeps every object when it is switched off', async () => {
    const { page, host } = s;
    host.setNextDialogPath(join(dir, 'discs.png'));
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-size').filter({ hasText: '200 × 120' }).waitFor();
    const box = page.getByTestId('model-postprocess');
    expect(await box.isChecked()).toBe(true);
    expect(await page.getByTestId('model-card').textContent()).toContain('Model clean-up: keep only the largest object per class');
    await page.getByTestId('run-button').click();
    let st = await until(() => readState(page), (v) => v.resultId !== null, 60_000, 'first result');
    expect(st.instanceIds).toHaveLength(1);
    const inference = await page.evaluate(() => window.__delineateState!().result?.document.inference);
    expect(inference).toMatchObject({ testTimeFlips: ['x'], postprocess: { keepLargestComponents: 1 } });
    const firstResult = st.resultId;
    await box.uncheck();
    await page.getByTestId('run-button').click();
    st = await until(() => readState(page), (v) => v.resultId !== null && v.resultId !== firstResult, 60_000, 'second result');
    expect(st.instanceIds).toHaveLength(3);
    expect(await page.getByTestId('instances-table').locator('tbody tr').count()).toBe(3);
    await page.screenshot({ path: join(RESULTS, 'ui-model-options.png') });
    expect(s.problems).toEqual([]);
  });
});
