// Shared pieces of the UI end-to-end tests (test/e2e/ui-*.test.ts): Chromium + test host start-up, a models folder
// with tiny real ONNX models, reading the app state and canvas pixels, and image-to-screen coordinates after Fit.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ENGINE_HOST, RENDERER_DIR, startTestHost, type HostControl } from '../host/server';
import { BRIGHT_MODEL, brightManifest, writeModelFolder } from '../fixtures/models';

export const CHROMIUM = '/usr/bin/chromium';
export const RESULTS = join(__dirname, '..', '..', 'test-results');

export const skipReason = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is missing (apt-get install -y chromium)`
  : !existsSync(join(RENDERER_DIR, 'index.html')) || !existsSync(ENGINE_HOST)
    ? 'dist/ is not built (npm run build)'
    : null;

export interface Session {
  browser: Browser;
  page: Page;
  host: HostControl;
  /** Console errors and page errors: a CSP violation or an exception means the UI is broken. */
  problems: string[];
  close(): Promise<void>;
}

/**
 * Models the tests run: "bright" (grey > 127.5 is the class; image/medical/geo, with a model card), "slow" (the same
 * on 32-px tiles, so a big image takes long enough to cancel) and "geo-only" (kinds: geo; hidden for other images).
 * The engine host is forked by the test host and inherits DELINEATE_MODELS_DIR from this process.
 */
export function writeTestModels(root: string): void {
  mkdirSync(root, { recursive: true });
  writeModelFolder(root, brightManifest('bright'), BRIGHT_MODEL, '# Bright spots\n\nFinds pixels brighter than mid-grey. A test model: one 1x1 convolution.\n\nMore text.\n');
  writeModelFolder(root, { ...brightManifest('slow'), name: 'Slow bright', tileSize: [32, 32], tileOverlap: 0.5 }, BRIGHT_MODEL);
  writeModelFolder(root, { ...brightManifest('geo-only'), name: 'Roofs', kinds: ['geo'] }, BRIGHT_MODEL);
}

export async function startSession(modelsDir: string, viewport = { width: 1400, height: 860 }): Promise<Session> {
  process.env.DELINEATE_MODELS_DIR = modelsDir;
  delete process.env.DELINEATE_USER_MODELS_DIR;
  mkdirSync(RESULTS, { recursive: true });
  const { chromium } = await import('playwright-core');
  const host = await startTestHost();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(host.url);
  await page.getByTestId('status-engine').filter({ hasText: 'engine: ready' }).waitFor();
  return {
    browser,
    page,
    host,
    problems,
    async close() {
      await browser.close();
      await host.close();
    },
  };
}

/** The parts of the renderer state tests assert on (typed arrays left out). */
export interface StateView {
  z: number;
  depth: number;
  window: { center: number; width: number } | null;
  sliceWindow: { center: number; width: number } | null;
  bands: number[] | null;
  resultId: string | null;
  revision: number;
  instanceIds: number[];
  selectedId: number | null;
  resultSliceZ: number | null;
  /** Distinct non-zero ids on the result slice shown. */
  sliceInstanceIds: number[];
  undoStack: string[];
  redoStack: string[];
  overlay: { visible: boolean; opacity: number; outline: boolean; hiddenClasses: number[] };
  job: boolean;
  tool: string;
}

export function readState(page: Page): Promise<StateView> {
  return page.evaluate(() => {
    const s = window.__delineateState!();
    const ids = new Set<number>();
    if (s.resultSlice) for (const v of s.resultSlice.instances) if (v) ids.add(v);
    return {
      z: s.z,
      depth: s.image?.info.depth ?? 0,
      window: s.display.window,
      sliceWindow: s.slice?.window ?? null,
      bands: s.display.bands,
      resultId: s.result?.resultId ?? null,
      revision: s.result?.revision ?? 0,
      instanceIds: s.result?.document.instances.map((r) => r.id) ?? [],
      selectedId: s.selectedId,
      resultSliceZ: s.resultSlice?.z ?? null,
      sliceInstanceIds: [...ids].sort((a, b) => a - b),
      undoStack: s.result?.undoStack ?? [],
      redoStack: s.result?.redoStack ?? [],
      overlay: s.overlay,
      job: s.job !== null,
      tool: s.tool,
    };
  });
}

/** Page coordinates of the centre of image pixel (x, y), assuming the view was just fitted (Fit button). */
export async function imageToPage(page: Page, x: number, y: number): Promise<{ x: number; y: number }> {
  return page.evaluate(
    ([px, py]) => {
      const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="viewer-canvas"]')!;
      const info = window.__delineateState!().image!.info;
      const r = canvas.getBoundingClientRect();
      const s = Math.min(r.width / info.width, r.height / info.height) * 0.95;
      const tx = (r.width - info.width * s) / 2;
      const ty = (r.height - info.height * s) / 2;
      return { x: r.left + tx + (px! + 0.5) * s, y: r.top + ty + (py! + 0.5) * s };
    },
    [x, y],
  );
}

/** RGBA of the canvas at page coordinates. */
export function canvasPixel(page: Page, at: { x: number; y: number }): Promise<[number, number, number, number]> {
  return page.evaluate(({ x, y }) => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="viewer-canvas"]')!;
    const r = canvas.getBoundingClientRect();
    const k = canvas.width / r.width;
    const d = canvas.getContext('2d')!.getImageData(Math.floor((x - r.left) * k), Math.floor((y - r.top) * k), 1, 1).data;
    return [d[0]!, d[1]!, d[2]!, d[3]!] as [number, number, number, number];
  }, at);
}

/** Polls until `check` holds (or throws with the last value after timeoutMs). */
export async function until<T>(read: () => Promise<T>, check: (v: T) => boolean, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T = await read();
  while (!check(last)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
    last = await read();
  }
  return last;
}

/** Text of a table cell of an instance row, by column key; thousands separators taken out, so numbers parse. */
export async function cellText(page: Page, instanceId: number, col: string): Promise<string> {
  return ((await page.getByTestId(`instance-row-${instanceId}`).locator(`td[data-col="${col}"]`).textContent()) ?? '').replace(/(\d),(?=\d{3}(\D|$))/g, '$1');
}

/** Answers the unsaved-work prompt with Discard when it comes (opening another image while a result is shown). */
export async function discardIfAsked(page: Page): Promise<void> {
  const asked = await page
    .getByTestId('unsaved-prompt')
    .waitFor({ timeout: 1500 })
    .then(() => true)
    .catch(() => false);
  if (asked) await page.getByTestId('unsaved-discard').click();
}
