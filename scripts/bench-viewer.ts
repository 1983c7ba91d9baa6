// Viewer benchmark in headless Chromium through the test host and the real engine host:
//  1. per-frame draw time while panning a generated 10000x10000 RGB GeoTIFF (overviews from gdaladdo when installed,
//     else the engine builds coarser tiles itself) at 1:1 and at ~40 %, with a model's overlay on top; a frame is
//     the viewer's synchronous draw (preview backdrop, visible tiles, overlay, decorations) plus reading one pixel
//     back, which flushes the canvas. Target: median under 16 ms.
//  2. the same tiles drawn by canvas 2D and by WebGL2 (textures uploaded once, gl.finish + one readPixels), the
//     measurement behind renderer/viewer/tiles.ts choosing canvas 2D.
//  3. time from clicking Run to the first overlay drawn, on a 512x512 image.
//  4. panning a 40000x40000 result at 1:1 (a windowed run kept on disk; one band, image content in a 4096² square and
//     nodata around it so the run stays short; the same 1x1-convolution model):
//     the overlay is drawn from full-resolution result tiles (renderer/viewer/overlayTiles.ts). The last line names
//     its median frame. --large-size N changes the raster, --no-large leaves the case out.
//   npm run bench -- viewer [--size 10000] [--frames 150] [--no-overlay] [--overlay-timeout 600] [--no-ovr] [--keep]
//                           [--large-size 40000] [--large-timeout 3600] [--no-large]
// Runs under tsx (the test host bundles its browser bridge from its own folder, which a bundled copy would lose).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { writeRgbStrips } from './fields-raster';
import { ENGINE_HOST, RENDERER_DIR, startTestHost } from '../test/host/server';
import { brightManifest, writeModelFolder } from '../test/fixtures/models';
import { contentArea, objectCorner, writeLargeRaster } from '../test/fixtures/large-raster';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const SIZE = Number(arg('size', '10000'));
const FRAMES = Number(arg('frames', '150'));
const OVERLAY = !process.argv.includes('--no-overlay');
const OVERLAY_TIMEOUT_S = Number(arg('overlay-timeout', '600'));
const KEEP = process.argv.includes('--keep');
/** Leave overviews out: coarser tiles are then built by the engine from finer ones. */
const NO_OVR = process.argv.includes('--no-ovr');
const LARGE = !process.argv.includes('--no-large');
const LARGE_SIZE = Number(arg('large-size', '40000'));
const LARGE_TIMEOUT_S = Number(arg('large-timeout', '3600'));
const CHROMIUM = '/usr/bin/chromium';
const VIEWPORT = { width: 1400, height: 860 };
/** Screenshots of the view after each pan run, beside the e2e tests' (look at them). */
const RESULTS = join(__dirname, '..', 'test-results');

/** Dark texture with bright squares (what the "bright" model finds), written in bands of tile rows. */
async function makeRaster(file: string, n: number): Promise<void> {
  await writeRgbStrips(file, n, 0.5, (band, y0, h) => {
    for (let y = 0; y < h; y++) {
      const gy = y0 + y;
      for (let x = 0; x < n; x++) {
        const bright = x % 700 > 100 && x % 700 < 300 && gy % 500 > 150 && gy % 500 < 320;
        const t = (x * 7 + gy * 13) & 63;
        const i = y * n + x;
        band[i] = bright ? 230 : 30 + t + ((x >> 6) & 31);
        band[n * h + i] = bright ? 220 : 40 + ((gy >> 5) & 63);
        band[2 * n * h + i] = bright ? 200 : 60 + t;
      }
    }
  });
}

function stats(ms: number[]): { median: number; p95: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (f: number) => s[Math.min(s.length - 1, Math.floor(f * s.length))] ?? NaN;
  return { median: at(0.5), p95: at(0.95), max: s[s.length - 1] ?? NaN };
}

const fmt = (v: number) => v.toFixed(2);

async function open(page: Page, host: Awaited<ReturnType<typeof startTestHost>>, file: string, size: string): Promise<void> {
  host.setNextDialogPath(file);
  await page.getByTestId('open-button').click();
  // The last image's result is unsaved work: the app asks before replacing it, and a benchmark discards it.
  const discard = page.getByTestId('unsaved-discard');
  const shown = page.getByTestId('status-size').filter({ hasText: size });
  const asked = await Promise.race([discard.waitFor({ timeout: 600_000 }).then(() => true, () => false), shown.waitFor({ timeout: 600_000 }).then(() => false)]);
  if (asked) await discard.click();
  await shown.waitFor({ timeout: 600_000 });
  await page.waitForFunction(() => window.__delineateState!().slice !== null, undefined, { timeout: 600_000, polling: 100 });
  await page.getByTestId('fit-button').click();
}

/** Zooms with the wheel around the canvas centre until the zoom is within 10 % of `pct`. */
async function zoomTo(page: Page, pct: number): Promise<number> {
  const box = (await page.getByTestId('viewer-canvas').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < 40; i++) {
    const z = await page.evaluate(() => window.__delineateState!().zoomPct);
    if (Math.abs(z / pct - 1) < 0.1) return z;
    await page.mouse.wheel(0, -Math.log(pct / z) / 0.0015);
  }
  return page.evaluate(() => window.__delineateState!().zoomPct);
}

interface PanResult {
  frames: number[];
  requested: number;
  received: number;
  meanDrawn: number;
  level: number | null;
  /** Frames drawn before every visible tile of the wanted level had arrived (preview or coarser tiles showed). */
  partial: number;
}

/** Pans `frames` frames (one per animation frame) to and fro and times each draw plus a 1-px read-back. */
function pan(page: Page, frames: number, stepPx: number): Promise<PanResult> {
  return page.evaluate(
    async ([n, step]) => {
      const v = window.__delineateViewer!;
      const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="viewer-canvas"]')!;
      const ctx = canvas.getContext('2d')!;
      const stats = v.tileStats!;
      const req0 = stats.requested.length;
      const rec0 = stats.received;
      const out: number[] = [];
      let drawn = 0;
      let partial = 0;
      for (let i = 0; i < n!; i++) {
        await new Promise((r) => requestAnimationFrame(r));
        // Back and forth (periods of 50 and 100 frames), so the view stays over the image however long it runs.
        const dx = Math.floor(i / 25) % 2 === 0 ? -step! : step!;
        const dy = Math.floor(i / 50) % 2 === 0 ? -step! / 3 : step! / 3;
        const t0 = performance.now();
        v.panBy!(dx, dy);
        ctx.getImageData(canvas.width >> 1, canvas.height >> 1, 1, 1);
        out.push(performance.now() - t0);
        drawn += stats.drawn;
        if (stats.inFlight > 0) partial++;
      }
      return { frames: out, requested: stats.requested.length - req0, received: stats.received - rec0, meanDrawn: drawn / n!, level: stats.level, partial };
    },
    [frames, stepPx] as const,
  );
}

/** The same 512-px tiles drawn by canvas 2D and by WebGL2, full-viewport frames; medians in ms (null: no WebGL2). */
function rendererShootout(page: Page, frames: number): Promise<{ canvas2d: number; webgl2: number | null; tiles: number; webglRenderer: string }> {
  return page.evaluate(async (n) => {
    const W = 1400;
    const H = 860;
    const T = 512;
    const cols = Math.ceil(W / T) + 1;
    const rows = Math.ceil(H / T) + 1;
    const pixels: Array<Uint8ClampedArray<ArrayBuffer>> = [];
    for (let i = 0; i < cols * rows; i++) {
      const p = new Uint8ClampedArray(T * T * 4);
      for (let j = 0; j < p.length; j++) p[j] = (j * 31 + i * 17) & 255;
      pixels.push(p);
    }
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
    const frame = (i: number) => ({ ox: -((i * 7) % T), oy: -((i * 3) % T) });

    const c2 = document.createElement('canvas');
    c2.width = W;
    c2.height = H;
    const ctx = c2.getContext('2d')!;
    const bitmaps = await Promise.all(pixels.map((p) => createImageBitmap(new ImageData(p, T, T))));
    const t2: number[] = [];
    for (let i = 0; i < n; i++) {
      const { ox, oy } = frame(i);
      const t0 = performance.now();
      ctx.clearRect(0, 0, W, H);
      bitmaps.forEach((b, k) => ctx.drawImage(b, ox + (k % cols) * T, oy + Math.floor(k / cols) * T, T, T));
      ctx.getImageData(W >> 1, H >> 1, 1, 1);
      t2.push(performance.now() - t0);
    }

    const cg = document.createElement('canvas');
    cg.width = W;
    cg.height = H;
    const gl = cg.getContext('webgl2', { antialias: false, preserveDrawingBuffer: true });
    if (!gl) return { canvas2d: median(t2), webgl2: null, tiles: bitmaps.length, webglRenderer: 'none' };
    const dbg = gl.getExtension('WEBGL_debug_renderer_info');
    const webglRenderer = dbg ? String(gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL)) : String(gl.getParameter(gl.RENDERER));
    const sh = (type: number, src: string) => {
      const s = gl.createShader(type)!;
      gl.shaderSource(s, src);
      gl.compileShader(s);
      return s;
    };
    const prog = gl.createProgram();
    gl.attachShader(prog, sh(gl.VERTEX_SHADER, '#version 300 es\nin vec2 p;uniform vec4 r;out vec2 uv;void main(){uv=p;vec2 q=(r.xy+p*r.zw)/vec2(1400.0,860.0)*2.0-1.0;gl_Position=vec4(q.x,-q.y,0,1);}'));
    gl.attachShader(prog, sh(gl.FRAGMENT_SHADER, '#version 300 es\nprecision mediump float;in vec2 uv;uniform sampler2D t;out vec4 o;void main(){o=texture(t,uv);}'));
    gl.linkProgram(prog);
    gl.useProgram(prog);
    const buf = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([0, 0, 1, 0, 0, 1, 1, 1]), gl.STATIC_DRAW);
    const loc = gl.getAttribLocation(prog, 'p');
    gl.enableVertexAttribArray(loc);
    gl.vertexAttribPointer(loc, 2, gl.FLOAT, false, 0, 0);
    const uR = gl.getUniformLocation(prog, 'r');
    const textures = pixels.map((p) => {
      const t = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, t);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, T, T, 0, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array(p.buffer));
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      return t;
    });
    gl.viewport(0, 0, W, H);
    const px = new Uint8Array(4);
    const tg: number[] = [];
    for (let i = 0; i < n; i++) {
      const { ox, oy } = frame(i);
      const t0 = performance.now();
      gl.clear(gl.COLOR_BUFFER_BIT);
      textures.forEach((t, k) => {
        gl.bindTexture(gl.TEXTURE_2D, t);
        gl.uniform4f(uR, ox + (k % cols) * T, oy + Math.floor(k / cols) * T, T, T);
        gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
      });
      gl.finish();
      gl.readPixels(W >> 1, H >> 1, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, px);
      tg.push(performance.now() - t0);
    }
    return { canvas2d: median(t2), webgl2: median(tg), tiles: bitmaps.length, webglRenderer };
  }, frames);
}

/** Case 4: a windowed result of LARGE_SIZE² panned at 1:1 with its overlay drawn from result tiles. */
async function largeResult(page: Page, host: Awaited<ReturnType<typeof startTestHost>>, dir: string): Promise<void> {
  const file = join(dir, 'large.tif');
  let t = performance.now();
  const ovr = await writeLargeRaster(file, LARGE_SIZE);
  const area = contentArea(LARGE_SIZE);
  console.log(`large raster: ${LARGE_SIZE}x${LARGE_SIZE}x1 uint8 (content ${area.size}² at ${area.x0}, nodata elsewhere)${ovr ? ' with overviews' : ''} written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  await open(page, host, file, `${LARGE_SIZE} × ${LARGE_SIZE}`);
  t = performance.now();
  await page.getByTestId('run-button').click();
  const done = await page.waitForFunction(
    () => {
      const s = window.__delineateState!();
      if (s.error) return { error: s.error, count: 0 };
      return s.result?.windowed && s.resultSlice?.resultId === s.result.resultId ? { error: null, count: s.result.windowed.instanceCount } : false;
    },
    undefined,
    { polling: 1000, timeout: LARGE_TIMEOUT_S * 1000 },
  );
  const outcome = (await done.jsonValue()) as { error: string | null; count: number };
  if (outcome.error) throw new Error(`large run failed: ${outcome.error}`);
  console.log(`large result: windowed, ${outcome.count} objects, run in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const corner = objectCorner(contentArea(LARGE_SIZE));
  await page.evaluate(([x, y]) => window.__delineateViewer!.centreOn!(x!, y!, 1), [corner.x, corner.y]);
  await page.waitForFunction(() => {
    const o = window.__delineateViewer!.overlayTileStats!;
    return o.level === 0 && o.drawn > 0 && o.inFlight === 0;
  }, undefined, { polling: 100, timeout: 120_000 });
  await pan(page, 30, 24);
  const r = await pan(page, FRAMES, 24);
  const o = await page.evaluate(() => {
    const t = window.__delineateViewer!.overlayTileStats!;
    return { level: t.level, drawn: t.drawn, requested: t.requested.length, received: t.received, painted: t.painted };
  });
  const s = stats(r.frames);
  await page.screenshot({ path: join(RESULTS, 'bench-viewer-large-100.png') });
  console.log(`  overlay tiles: level ${o.level ?? '-'}, ${o.drawn} drawn in the last frame, ${o.requested} asked, ${o.received} arrived, ${o.painted} painted; image tiles ${fmt(r.meanDrawn)}/frame`);
  console.log(`viewer-large: pan ${LARGE_SIZE}x${LARGE_SIZE} result at 1:1 with overlay tiles: median frame ${fmt(s.median)} ms (p95 ${fmt(s.p95)} ms, max ${fmt(s.max)} ms, ${FRAMES} frames; target < 16 ms)`);
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing`);
  if (!existsSync(join(RENDERER_DIR, 'index.html')) || !existsSync(ENGINE_HOST)) throw new Error('dist/ is not built (npm run build)');
  const dir = mkdtempSync(join(tmpdir(), 'delineate-bench-viewer-'));
  mkdirSync(RESULTS, { recursive: true });
  const models = join(dir, 'models');
  mkdirSync(models, { recursive: true });
  // The test model on big tiles (a 1x1 convolution: the overlay's cost is post-processing and drawing, not the model).
  writeModelFolder(models, { ...brightManifest('bright'), tileSize: [1024, 1024], tileOverlap: 0 });
  process.env.DELINEATE_MODELS_DIR = models;
  delete process.env.DELINEATE_USER_MODELS_DIR;
  const big = join(dir, 'big.tif');
  const small = join(dir, 'small.tif');
  let t = performance.now();
  await makeRaster(big, SIZE);
  await makeRaster(small, 512);
  console.log(`raster: ${SIZE}x${SIZE}x3 uint8 written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  const factors = [2, 4, 8, 16, 32, 64].filter((f) => SIZE / f >= 256).map(String);
  const gdal = !NO_OVR && spawnSync('gdaladdo', ['-q', '-ro', '-r', 'average', big, ...factors], { stdio: 'ignore' }).status === 0;
  console.log(gdal ? `overviews: gdaladdo -ro ${factors.join(' ')} in ${((performance.now() - t) / 1000).toFixed(1)} s` : `overviews: none (${NO_OVR ? '--no-ovr' : 'gdaladdo missing'}): the engine builds coarser tiles from finer ones`);

  const host = await startTestHost();
  const { chromium } = await import('playwright-core');
  // As the e2e tests run it (software raster), with SwiftShader allowed so WebGL2 can be measured beside it.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--enable-unsafe-swiftshader', '--no-first-run', '--disable-background-networking'] });
  try {
    const page = await (await browser.newContext({ viewport: VIEWPORT })).newPage();
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    // tsx (esbuild keepNames) wraps named functions in the evaluated code with __name(): give the page one.
    await page.addInitScript('window.__name = (f) => f;');
    await page.goto(host.url);
    await page.getByTestId('status-engine').filter({ hasText: 'engine: ready' }).waitFor();

    // Run -> first overlay on 512x512: from the click to the overlay's first pixels on the canvas.
    await open(page, host, small, '512 × 512');
    await page.getByTestId('model-select').selectOption('bright');
    const runMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      await page.evaluate(() => {
        (window as unknown as { __runT0: number }).__runT0 = performance.now();
      });
      const before = await page.evaluate(() => window.__delineateState!().result?.resultId ?? null);
      await page.getByTestId('run-button').click();
      const ms = await page.waitForFunction(
        (prev) => {
          const s = window.__delineateState!();
          if (!s.result || s.result.resultId === prev || !s.resultSlice || s.resultSlice.resultId !== s.result.resultId) return false;
          return performance.now() - (window as unknown as { __runT0: number }).__runT0;
        },
        before,
        { polling: 'raf', timeout: 60_000 },
      );
      runMs.push(Number(await ms.jsonValue()));
    }
    console.log(`run -> first overlay (512x512, 1x1-conv model): median ${fmt(stats(runMs).median)} ms of [${runMs.map(fmt).join(', ')}]`);

    await open(page, host, big, `${SIZE} × ${SIZE}`);
    let overlay = 'none';
    if (OVERLAY) {
      t = performance.now();
      await page.getByTestId('run-button').click();
      try {
        await page.waitForFunction(() => {
          const s = window.__delineateState!();
          return s.result !== null && s.resultSlice !== null && s.resultSlice.resultId === s.result.resultId;
        }, undefined, { polling: 500, timeout: OVERLAY_TIMEOUT_S * 1000 });
        // A windowed result (kept on disk) lists no instances in its document: its count comes with it.
        const n = await page.evaluate(() => {
          const r = window.__delineateState!().result!;
          return r.windowed?.instanceCount ?? r.document.instances.length;
        });
        overlay = `${n} instances, run in ${((performance.now() - t) / 1000).toFixed(1)} s`;
      } catch {
        await page.getByTestId('cancel-button').click().catch(() => undefined);
        overlay = `skipped: the model did not finish on ${SIZE}x${SIZE} within ${OVERLAY_TIMEOUT_S} s`;
      }
    }
    console.log(`overlay: ${overlay}`);

    const rows: string[] = [];
    for (const [label, pct, step, shot] of [
      ['1:1 (level 0)', 100, 24, 'bench-viewer-100.png'],
      ['40% (level 1)', 40, 24, 'bench-viewer-40.png'],
      ['fit (preview only)', 0, 6, 'bench-viewer-fit.png'],
    ] as const) {
      if (pct > 0) await zoomTo(page, pct);
      else await page.getByTestId('fit-button').click();
      await pan(page, 30, step); // warm-up: first tiles, JIT
      const r = await pan(page, FRAMES, step);
      const s = stats(r.frames);
      await page.screenshot({ path: join(RESULTS, shot) });
      rows.push(`  ${label.padEnd(20)} median ${fmt(s.median)} ms  p95 ${fmt(s.p95)} ms  max ${fmt(s.max)} ms  | level ${r.level ?? '-'}, ${fmt(r.meanDrawn)} tiles/frame, ${r.requested} asked, ${r.received} arrived, ${r.partial}/${FRAMES} frames with tiles in flight`);
    }
    console.log(`pan ${FRAMES} frames, ${VIEWPORT.width}x${VIEWPORT.height} CSS px, draw + 1-px read-back:\n${rows.join('\n')}  (target: median < 16 ms)`);
    const shoot = await rendererShootout(page, 60);
    console.log(`same ${shoot.tiles} tiles of 512 px per frame: canvas 2D median ${fmt(shoot.canvas2d)} ms, WebGL2 ${shoot.webgl2 === null ? 'unavailable' : `median ${fmt(shoot.webgl2)} ms`} (${shoot.webglRenderer})`);
    if (LARGE) await largeResult(page, host, dir);
    if (KEEP) console.log(`kept: ${dir}`);
  } finally {
    await browser.close();
    await host.close();
    if (!KEEP) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
