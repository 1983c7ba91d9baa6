// Offline proof (issue 10): a full open -> segment -> measure -> export cycle with every network path watched.
// Engine side: the engine host and the CLI run with test/security/net-guard.cjs preloaded (--require), which
// records and refuses any connect/DNS/http(s)/tls/UDP/fetch. Renderer side: Playwright sees every request and
// aborts anything but the test host's own origin and data:/blob:. Then the host is killed: the UI must show the
// error and keep the result on screen (failure isolation).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { EngineHostClient, forkHost } from '../../main/engine/host/client';
import { ENGINE_HOST, startTestHost, type HostControl } from '../host/server';
import { CHROMIUM, RESULTS, readState, skipReason, until, writeTestModels } from './ui-helpers';

const ROOT = join(__dirname, '..', '..');
const GUARD = join(ROOT, 'test', 'security', 'net-guard.cjs');
const CLI = join(ROOT, 'bin', 'delineate.cjs');

if (skipReason) console.warn(`offline e2e test skipped: ${skipReason}`);

interface NetEvent {
  pid: number;
  kind: string;
  target: string;
}

describe.skipIf(skipReason !== null)(`offline: no outbound connection in a full cycle${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let dir: string;
  let netLog: string;
  let host: HostControl;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const requests: string[] = [];
  const aborted: string[] = [];
  const sockets: string[] = [];
  const problems: string[] = [];
  let origin: string;

  const netEvents = (): NetEvent[] =>
    existsSync(netLog)
      ? readFileSync(netLog, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as NetEvent)
      : [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'delineate-offline-'));
    netLog = join(dir, 'net.log');
    writeTestModels(join(dir, 'models'));
    const discs = [
      [60, 80, 30],
      [150, 50, 18],
      [190, 115, 12],
    ];
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="240" height="160"><rect width="100%" height="100%" fill="#202020"/>${discs.map(([x, y, r]) => `<circle cx="${x}" cy="${y}" r="${r}" fill="#f0f0f0"/>`).join('')}</svg>`;
    await sharp(Buffer.from(svg)).flatten().greyscale().png().toFile(join(dir, 'discs.png'));
    // The forked engine host inherits these: the test models, and where the tripwire writes.
    process.env.DELINEATE_MODELS_DIR = join(dir, 'models');
    delete process.env.DELINEATE_USER_MODELS_DIR;
    process.env.DELINEATE_NET_LOG = netLog;

    const engine = new EngineHostClient({ spawn: forkHost(ENGINE_HOST, ['--require', GUARD]) });
    host = await startTestHost({ engine });
    origin = new URL(host.url).origin;
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
    const allowed = (url: string) => url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === origin;
    context.on('request', (r) => requests.push(r.url()));
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (allowed(url)) return route.continue();
      aborted.push(url);
      return route.abort('blockedbyclient');
    });
    page = await context.newPage();
    page.on('websocket', (ws) => sockets.push(ws.url()));
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
    delete process.env.DELINEATE_NET_LOG;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('opens, segments and measures in the UI, exports with the CLI, and nothing goes out', async () => {
    // Open.
    host.setNextDialogPath(join(dir, 'discs.png'));
    await page.getByTestId('open-button').click();
    await page.getByTestId('status-size').filter({ hasText: '240 × 160' }).waitFor();
    // Segment + measure: the objects and their areas land in the table.
    await page.getByTestId('model-select').selectOption({ label: 'Bright spots 1.0.0' });
    await page.getByTestId('run-button').click();
    const st = await until(() => readState(page), (v) => v.resultId !== null && v.resultSliceZ === 0, 60_000, 'result');
    expect(st.instanceIds).toHaveLength(3);
    expect(await page.getByTestId('instances-table').locator('tbody tr').count()).toBe(3);
    await page.screenshot({ path: join(RESULTS, 'offline-result.png') });

    // Export: the result folder (image, labels, measurements) through the CLI, tripwire preloaded.
    const out = join(dir, 'out');
    const cli = spawnSync(process.execPath, ['--require', GUARD, CLI, 'segment', join(dir, 'discs.png'), '--model', 'bright', '--out', out], {
      env: { ...process.env },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(cli.status, cli.stderr).toBe(0);
    const written = readdirSync(out, { recursive: true }).map(String);
    expect(written.some((f) => f.endsWith('instances.json')), written.join(', ')).toBe(true);
    expect(written.some((f) => f.endsWith('.csv')), written.join(', ')).toBe(true);

    // Engine host and CLI: the tripwire was armed in both and saw nothing.
    const events = netEvents();
    const armed = events.filter((e) => e.kind === 'armed');
    expect(armed.some((e) => e.target.endsWith('engine-host.cjs')), JSON.stringify(armed)).toBe(true);
    expect(armed.some((e) => e.target.endsWith('delineate.cjs')), JSON.stringify(armed)).toBe(true);
    expect(events.filter((e) => e.kind !== 'armed')).toEqual([]);
    // Renderer: every request went to the test host itself (or data:/blob:); the only socket is its IPC socket.
    expect(aborted).toEqual([]);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((u) => !(u.startsWith('data:') || u.startsWith('blob:') || new URL(u).origin === origin))).toEqual([]);
    expect(sockets.map((u) => new URL(u).host)).toEqual([new URL(origin).host]);
    expect(problems).toEqual([]);
  });

  it('keeps the result on screen when the engine host dies, and reports it', async () => {
    const before = await readState(page);
    expect(before.resultId).not.toBeNull();
    const pid = host.engine.pid;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid as number, 'SIGKILL');
    const banner = page.getByTestId('engine-banner');
    await banner.waitFor();
    expect(await banner.textContent()).toMatch(/engine host stopped \(signal SIGKILL\)/);
    const after = await readState(page);
    expect(after.resultId).toBe(before.resultId);
    expect(after.instanceIds).toEqual(before.instanceIds);
    expect(await page.getByTestId('instances-table').locator('tbody tr').count()).toBe(3);
    expect(await page.getByTestId('status-file').textContent()).toBe('discs.png');
    await page.screenshot({ path: join(RESULTS, 'offline-engine-crashed.png') });
    await page.getByTestId('engine-restart').click();
    await page.getByTestId('status-engine').filter({ hasText: 'engine: ready' }).waitFor();
    // The restarted host is guarded too, and still nothing went out.
    expect(netEvents().filter((e) => e.kind !== 'armed')).toEqual([]);
    expect(aborted).toEqual([]);
  });
});
