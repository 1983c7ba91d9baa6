// End to end in Debian's Chromium: the built renderer, served by the test host, talking to the real
// main/ipc handlers and a real engine host process. Skips (with the reason) where Chromium or dist/ is missing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { ENGINE_HOST, RENDERER_DIR, startTestHost, type HostControl } from '../host/server';

const CHROMIUM = '/usr/bin/chromium';
const RESULTS = join(__dirname, '..', '..', 'test-results');

const skipReason = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (apt-get install -y chromium)`
  : !existsSync(join(RENDERER_DIR, 'index.html')) || !existsSync(ENGINE_HOST)
    ? 'dist/ is not built (npm run build)'
    : null;
if (skipReason) console.warn(`e2e tests skipped: ${skipReason}`);

/** A small picture with structure (gradient + disc) so a screenshot shows the image is really drawn. */
async function writeSample(path: string, width: number, height: number, hue: string): Promise<void> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <defs><linearGradient id="g" x1="0" x2="1"><stop offset="0" stop-color="#101010"/><stop offset="1" stop-color="${hue}"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/>
    <circle cx="${width * 0.62}" cy="${height * 0.5}" r="${Math.min(width, height) * 0.28}" fill="#f0f0f0"/>
  </svg>`;
  await sharp(Buffer.from(svg)).png().toFile(path);
}

/** Big enough that rendering a preview takes the engine a second or two: a task we can kill mid-way. */
async function writeLarge(path: string): Promise<void> {
  const side = 6000;
  const raw = Buffer.alloc(side * side * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 2654435761) >>> 24;
  await sharp(raw, { raw: { width: side, height: side, channels: 3 } }).png({ compressionLevel: 1 }).toFile(path);
}

/** Counts canvas pixels brighter than near-black. */
function litPixels(page: Page): Promise<number> {
  return page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="viewer-canvas"]');
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx || canvas.width === 0) return 0;
    const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if ((d[i] ?? 0) + (d[i + 1] ?? 0) + (d[i + 2] ?? 0) > 30) n++;
    return n;
  });
}

async function waitForLit(page: Page, timeoutMs = 20_000): Promise<number> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const n = await litPixels(page);
    if (n > 0 || Date.now() > until) return n;
    await page.waitForTimeout(100);
  }
}

describe.skipIf(skipReason !== null)(`app in Chromium over the test host${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let browser: Browser;
  let page: Page;
  let host: HostControl;
  let dir: string;
  const problems: string[] = [];

  beforeAll(async () => {
    const { chromium } = await import('playwright-core');
    dir = mkdtempSync(join(tmpdir(), 'delineate-e2e-'));
    mkdirSync(RESULTS, { recursive: true });
    await Promise.all([
      writeSample(join(dir, 'sample.png'), 320, 200, '#3b82f6'),
      writeSample(join(dir, 'other.png'), 200, 120, '#22c55e'),
      writeLarge(join(dir, 'large.png')),
    ]);
    host = await startTestHost();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
    // A CSP violation or a page error means the shell is broken even if the assertions pass.
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(host.url);
    await page.getByTestId('status-engine').filter({ hasText: 'engine: ready' }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await host?.close();
  });

  it('opens a PNG through the dialog and draws it', async () => {
    host.setNextDialogPath(join(dir, 'sample.png'));
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-size').filter({ hasText: '320 × 200' }).waitFor();
    expect(await page.getByTestId('status-file').textContent()).toBe('sample.png');
    expect(await page.getByTestId('status-kind').textContent()).toBe('image');
    expect(await page.getByTestId('status-dtype').textContent()).toBe('uint8');
    expect(await waitForLit(page)).toBeGreaterThan(10_000);
    // Zoom around the cursor and see the status bar follow.
    const before = await page.getByTestId('status-zoom').textContent();
    await page.mouse.move(550, 360);
    await page.mouse.wheel(0, -300);
    await expect.poll(() => page.getByTestId('status-zoom').textContent()).not.toBe(before);
    expect(await page.getByTestId('status-cursor').textContent()).toMatch(/^x \d+, y \d+$/);
    await page.getByTestId('fit-button').click();
    await page.screenshot({ path: join(RESULTS, 'e2e-open-dialog.png') });
    expect(problems).toEqual([]);
  });

  it('opens a dropped file, and reports a drop it cannot open without losing the image', async () => {
    host.registerDrop('other.png', join(dir, 'other.png'));
    const drop = (name: string) =>
      page.evaluate((fileName) => {
        const dt = new DataTransfer();
        dt.items.add(new File([new Uint8Array([137, 80, 78, 71])], fileName, { type: 'image/png' }));
        const target = document.querySelector('[data-testid="app"]') ?? document.body;
        target.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
        target.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, name);
    await drop('other.png');
    await page.getByTestId('status-size').filter({ hasText: '200 × 120' }).waitFor();
    expect(await page.getByTestId('status-file').textContent()).toBe('other.png');
    expect(await waitForLit(page)).toBeGreaterThan(5_000);
    await page.screenshot({ path: join(RESULTS, 'e2e-drop.png') });

    await drop('never-registered.png');
    await page.getByTestId('error-banner').waitFor();
    expect(await page.getByTestId('error-message').textContent()).toMatch(/not available/);
    expect(await page.getByTestId('status-file').textContent()).toBe('other.png');
    expect(await litPixels(page)).toBeGreaterThan(5_000);
    await page.getByTestId('error-dismiss').click();
    await page.getByTestId('error-banner').waitFor({ state: 'detached' });
  });

  it('survives the engine host being killed mid-task and recovers on Restart', async () => {
    const before = await page.getByTestId('status-file').textContent();
    expect(before).not.toBe('large.png');
    host.setNextDialogPath(join(dir, 'large.png'));
    await page.getByTestId('open-button').click();
    // Kill exactly while the preview of the large image is being rendered in the host.
    const until = Date.now() + 30_000;
    while (!host.engine.inFlight().includes('slice')) {
      if (Date.now() > until) throw new Error('the slice call never started');
      await new Promise((r) => setTimeout(r, 2));
    }
    const pid = host.engine.pid;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid as number, 'SIGKILL');

    const banner = page.getByTestId('engine-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/engine host stopped \(signal SIGKILL\)/);
    expect(await page.getByTestId('status-engine').textContent()).toBe('engine: crashed');
    // The crash banner explains it; no second, generic error banner.
    expect(await page.getByTestId('error-banner').count()).toBe(0);
    // The open never finished (the host died reading its first slice), so the image shown before stays named.
    expect(await page.getByTestId('status-file').textContent()).toBe(before);
    await page.screenshot({ path: join(RESULTS, 'e2e-engine-crashed.png') });

    await page.getByTestId('engine-restart').click();
    await banner.waitFor({ state: 'detached' });
    await page.getByTestId('status-engine').filter({ hasText: 'engine: ready' }).waitFor();
    expect(host.engine.pid).not.toBe(pid);
    expect(host.engine.status().restarts).toBe(1);

    host.setNextDialogPath(join(dir, 'sample.png'));
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-size').filter({ hasText: '320 × 200' }).waitFor();
    expect(await waitForLit(page)).toBeGreaterThan(10_000);
    await page.screenshot({ path: join(RESULTS, 'e2e-after-restart.png') });
    expect(problems).toEqual([]);
  });

  it('refuses a socket without the token', async () => {
    const status = await page.evaluate(async (url) => {
      const u = new URL(url);
      return new Promise<string>((resolve) => {
        const ws = new WebSocket(`ws://${u.host}/ws?token=wrong`);
        ws.onopen = () => resolve('open');
        ws.onerror = () => resolve('refused');
      });
    }, host.url);
    expect(status).toBe('refused');
  });
});
