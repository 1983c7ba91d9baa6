// UI end to end of licences: a model whose weights are for non-commercial use only says so in the picker and the
// model card; About shows the app's licence, every model's licence (non-commercial ones marked) and the
// third-party notices the build generated. Chromium + test host + the real engine host.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { BRIGHT_MODEL, brightManifest, writeModelFolder } from '../fixtures/models';
import { RESULTS, skipReason, startSession, type Session } from './ui-helpers';

describe.skipIf(skipReason !== null)(`UI: model and third-party licences${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let s: Session;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-ui-licences-'));
    await sharp({ create: { width: 64, height: 48, channels: 3, background: '#404040' } }).png().toFile(join(dir, 'grey.png'));
    writeModelFolder(join(dir, 'models'), { ...brightManifest('bright'), name: 'Bright', license: 'MIT' }, BRIGHT_MODEL);
    writeModelFolder(join(dir, 'models'), { ...brightManifest('dim'), name: 'Dim', license: 'CC-BY-NC-SA-4.0 (training data)' }, BRIGHT_MODEL);
    s = await startSession(join(dir, 'models'), { width: 1280, height: 800 });
  });

  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('marks the non-commercial model in the picker and its card, and only that one', async () => {
    const { page, host } = s;
    host.setNextDialogPath(join(dir, 'grey.png'));
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-size').filter({ hasText: '64 × 48' }).waitFor();
    const options = await page.getByTestId('model-select').locator('option').allTextContents();
    expect(options.find((o) => o.startsWith('Dim'))).toMatch(/\(non-commercial use only\)$/);
    expect(options.find((o) => o.startsWith('Bright'))).not.toMatch(/non-commercial/);
    await page.getByTestId('model-select').selectOption('bright');
    expect(await page.getByTestId('model-noncommercial').count()).toBe(0);
    await page.getByTestId('model-select').selectOption('dim');
    await page.getByTestId('model-noncommercial').waitFor();
    expect(await page.getByTestId('model-noncommercial').textContent()).toBe('Non-commercial use only');
  });

  it('About lists the app licence, the model licences and the third-party notices; Esc closes it', async () => {
    const { page } = s;
    await page.getByTestId('about-button').click();
    await page.getByTestId('about-dialog').waitFor();
    await page.getByTestId('about-notices').filter({ hasText: 'third-party notices' }).waitFor();
    expect(await page.getByTestId('about-app-licence').textContent()).toContain('MIT License');
    const notices = (await page.getByTestId('about-notices').textContent()) ?? '';
    expect(notices).toMatch(/^ {2}onnxruntime-node \S+ {2}MIT$/m);
    expect(notices).toMatch(/^ {2}react \S+ {2}MIT$/m);
    expect(await page.getByTestId('about-model-dim').textContent()).toContain('CC-BY-NC-SA-4.0');
    await page.getByTestId('about-model-nc-dim').waitFor();
    expect(await page.getByTestId('about-model-nc-bright').count()).toBe(0);
    await page.screenshot({ path: join(RESULTS, 'ui-licences-about-1280x800.png') });
    await page.keyboard.press('Escape');
    await page.getByTestId('about-dialog').waitFor({ state: 'detached' });
    expect(s.problems).toEqual([]);
  });
});
