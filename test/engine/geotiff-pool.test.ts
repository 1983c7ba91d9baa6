// The GeoTIFF decode pool: reads through the worker threads give the same bytes as the calling thread and as GDAL,
// in every compression GDAL writes here and on every sample in ../shared/samples/geotiff; a corrupt block is the same
// InputError naming the file either way; cancel and a closed pool reject at once instead of hanging; idle workers
// never keep a process alive.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { openGeoTiff } from '../../main/engine/io/geotiff';
import { closeDecodePool, decodePool, decodePoolStats, decodeThreads, MAX_DECODE_THREADS, setDecodeWorkerScript } from '../../main/engine/io/geotiff-pool';
import { InputError } from '../../main/engine/image';
import { hasGdal, repoRoot, sharedDir, skipNote, tempDir } from './helpers';
import { bytesOf, gdalPixels, hasPythonGdal, maxByteDiff } from './geo-oracle';

const tmp = tempDir('delineate-pool-');
const at = (name: string): string => path.join(tmp.dir, name);
const envBefore = { threads: process.env.DELINEATE_DECODE_THREADS, min: process.env.DELINEATE_DECODE_POOL_MIN_BLOCKS };

function restoreEnv(): void {
  for (const [key, value] of [
    ['DELINEATE_DECODE_THREADS', envBefore.threads],
    ['DELINEATE_DECODE_POOL_MIN_BLOCKS', envBefore.min],
  ] as const) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
}

/** Pool on (2 threads, every read of 1+ blocks goes to it) or off (the calling thread decodes everything). */
async function usePool(on: boolean): Promise<void> {
  await closeDecodePool();
  process.env.DELINEATE_DECODE_THREADS = on ? '2' : '0';
  process.env.DELINEATE_DECODE_POOL_MIN_BLOCKS = '1';
}

/** Full read and one window, with the pool on and off: bytes, or the error message when the read fails. */
async function readBoth(file: string): Promise<{ pool: string[]; local: string[]; poolBlocks: number; full: Buffer | null }> {
  const once = async (): Promise<{ out: string[]; full: Buffer | null }> => {
    const src = await openGeoTiff(file);
    const out: string[] = [];
    let full: Buffer | null = null;
    try {
      full = bytesOf((await src.read()).data);
      out.push(full.toString('base64'));
      const w = Math.max(1, Math.floor(src.width / 2));
      const h = Math.max(1, Math.floor(src.height / 3));
      out.push(bytesOf((await src.read({ x: Math.floor(src.width / 5), y: Math.floor(src.height / 4), width: w, height: h, channels: [src.channels - 1] })).data).toString('base64'));
    } catch (err) {
      out.push(`error: ${err instanceof Error ? `${err.name} ${err.message}` : String(err)}`);
    } finally {
      await src.close();
    }
    return { out, full };
  };
  await usePool(true);
  const before = decodePoolStats.blocks;
  const pool = await once();
  const poolBlocks = decodePoolStats.blocks - before;
  await usePool(false);
  const local = await once();
  return { pool: pool.out, local: local.out, poolBlocks, full: local.full };
}

afterEach(async () => {
  await closeDecodePool();
  restoreEnv();
});
afterAll(() => tmp.cleanup());

describe('pool size', () => {
  it('one thread per core, at most 8; DELINEATE_DECODE_THREADS overrides and 0 turns it off', () => {
    const auto = decodeThreads({});
    expect(auto).toBeGreaterThanOrEqual(1);
    expect(auto).toBeLessThanOrEqual(MAX_DECODE_THREADS);
    expect(decodeThreads({ DELINEATE_DECODE_THREADS: '3' })).toBe(3);
    expect(decodeThreads({ DELINEATE_DECODE_THREADS: '0' })).toBe(0);
    expect(decodeThreads({ DELINEATE_DECODE_THREADS: '64' })).toBe(MAX_DECODE_THREADS);
    expect(decodeThreads({ DELINEATE_DECODE_THREADS: 'many' })).toBe(auto);
  });
});

// [GDAL type, creation options, max difference from GDAL (lossy codecs decoded by another library)]
const CASES: Array<[string, string[], number]> = [
  ['Byte', ['COMPRESS=LZW', 'PREDICTOR=2'], 0],
  ['Byte', ['COMPRESS=DEFLATE', 'INTERLEAVE=BAND'], 0],
  ['Byte', ['COMPRESS=ZSTD'], 0],
  ['Byte', ['COMPRESS=LERC'], 0],
  ['Byte', ['COMPRESS=PACKBITS'], 0],
  ['Byte', ['COMPRESS=WEBP', 'WEBP_LOSSLESS=YES'], 0],
  ['Byte', ['COMPRESS=WEBP', 'WEBP_LEVEL=80'], 0],
  ['Byte', ['COMPRESS=JPEG', 'PHOTOMETRIC=YCBCR'], 0],
  ['Byte', ['COMPRESS=JPEG', 'INTERLEAVE=BAND'], 1],
  ['UInt16', ['COMPRESS=DEFLATE', 'PREDICTOR=2'], 0],
  ['UInt16', ['COMPRESS=LZW', 'ENDIANNESS=BIG'], 0],
  ['Int16', ['COMPRESS=LERC', 'INTERLEAVE=BAND'], 0],
  ['Float32', ['COMPRESS=DEFLATE', 'PREDICTOR=3'], 0],
  ['Float32', ['COMPRESS=LZW', 'ENDIANNESS=BIG'], 0],
  ['Float64', ['COMPRESS=ZSTD', 'PREDICTOR=3'], 0],
  ['UInt32', ['COMPRESS=DEFLATE'], 0],
];

describe.skipIf(!hasGdal || !hasPythonGdal)(`generated GeoTIFFs: pool = calling thread = GDAL${skipNote(!hasGdal || !hasPythonGdal, 'GDAL or python3-gdal missing')}`, () => {
  beforeAll(() => {
    // 300x200, 3 bands (1 for Float64), smooth ramps plus noise; NaNs in the float rasters.
    const code = `
import sys, numpy as np
from osgeo import gdal
gdal.UseExceptions()
out, gtype = sys.argv[1], sys.argv[2]
w, h = 300, 200
bands = 1 if gtype == 'Float64' else 3
ds = gdal.GetDriverByName('GTiff').Create(out, w, h, bands, gdal.GetDataTypeByName(gtype))
ds.SetGeoTransform([500000, 10, 0, 6650000, 0, -10])
rng = np.random.default_rng(7)
yy, xx = np.mgrid[0:h, 0:w]
for b in range(bands):
    base = (xx * (b + 1) + yy * 2) % 256 + rng.integers(0, 8, size=(h, w))
    a = base * 200 + b if gtype in ('UInt16', 'UInt32') else base * 100 - 12000 if gtype == 'Int16' else base * 0.37 - 20.5 if gtype.startswith('Float') else base
    if gtype.startswith('Float'): a[5:9, 40:60] = np.nan
    ds.GetRasterBand(b + 1).WriteArray(a)
ds = None
`;
    for (const t of new Set(CASES.map((c) => c[0]))) {
      const r = spawnSync('/usr/bin/python3', ['-c', code, at(`src-${t}.tif`), t], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
    }
  });

  CASES.forEach(([type, co, tol], i) => {
    it(`${type} ${co.join(' ')}, 64x64 tiles and 16-row strips`, async () => {
      for (const layout of [['TILED=YES', 'BLOCKXSIZE=64', 'BLOCKYSIZE=64'], ['TILED=NO', 'BLOCKYSIZE=16']]) {
        const file = at(`case-${i}-${layout[0]}.tif`);
        const r = spawnSync('gdal_translate', ['-q', ...[...co, ...layout].flatMap((c) => ['-co', c]), at(`src-${type}.tif`), file], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        const { pool, local, poolBlocks, full } = await readBoth(file);
        expect(local[0]!.startsWith('error')).toBe(false);
        expect(pool).toEqual(local);
        expect(poolBlocks).toBeGreaterThan(0);
        const ref = gdalPixels(file, tmp.dir);
        if (tol === 0) expect(Buffer.compare(full!, ref)).toBe(0);
        else expect(maxByteDiff(full!, ref)).toBeLessThanOrEqual(tol);
      }
    });
  });

  it('a corrupt block decoded by a worker is the same InputError naming the file as on the calling thread', async () => {
    const file = at('corrupt.tif');
    expect(spawnSync('gdal_translate', ['-q', '-co', 'TILED=YES', '-co', 'BLOCKXSIZE=64', '-co', 'BLOCKYSIZE=64', '-co', 'COMPRESS=DEFLATE', at('src-Byte.tif'), file]).status).toBe(0);
    // Scribble over the middle of the file: some tile's DEFLATE stream no longer inflates.
    const bytes = readFileSync(file);
    for (let i = Math.floor(bytes.length / 2); i < Math.floor(bytes.length / 2) + 400; i++) bytes[i] = (i * 151) & 0xff;
    writeFileSync(file, bytes);
    const { pool, local } = await readBoth(file);
    expect(local[0]).toMatch(/^error: InputError .*corrupt.tif.*(corrupt|undecodable).*block \d+/);
    expect(pool[0]).toBe(local[0]);
  });

  it('cancel: an aborted read rejects at once with the abort reason, and the next read works', async () => {
    const file = at('cancel.tif');
    expect(spawnSync('gdal_translate', ['-q', '-co', 'TILED=YES', '-co', 'BLOCKXSIZE=16', '-co', 'BLOCKYSIZE=16', '-co', 'COMPRESS=ZSTD', at('src-UInt16.tif'), file]).status).toBe(0);
    await usePool(true);
    const src = await openGeoTiff(file);
    try {
      const ac = new AbortController();
      const reason = new Error('cancelled by the test');
      const reading = src.read({ signal: ac.signal });
      setImmediate(() => ac.abort(reason));
      await expect(reading).rejects.toBe(reason);
      const pre = new AbortController();
      pre.abort(reason);
      await expect(src.read({ signal: pre.signal })).rejects.toBe(reason);
      const after = await src.read();
      expect(Buffer.compare(bytesOf(after.data), gdalPixels(file, tmp.dir))).toBe(0);
    } finally {
      await src.close();
    }
  });

  it('a worker that cannot start: the read decodes on the calling thread instead, and later reads skip the pool', async () => {
    const file = at('fallback.tif');
    expect(spawnSync('gdal_translate', ['-q', '-co', 'TILED=YES', '-co', 'BLOCKXSIZE=32', '-co', 'BLOCKYSIZE=32', '-co', 'COMPRESS=LZW', at('src-UInt16.tif'), file]).status).toBe(0);
    const broken = at('broken-worker.cjs');
    writeFileSync(broken, "throw new Error('a broken worker bundle');\n");
    await usePool(true);
    setDecodeWorkerScript(broken);
    try {
      const started = decodePoolStats.workersStarted;
      const src = await openGeoTiff(file);
      try {
        expect(Buffer.compare(bytesOf((await src.read()).data), gdalPixels(file, tmp.dir))).toBe(0);
        // Tried once per thread at most, not once per block.
        expect(decodePoolStats.workersStarted - started).toBeGreaterThan(0);
        expect(decodePoolStats.workersStarted - started).toBeLessThanOrEqual(2);
        expect(decodePool()).toBeNull();
        expect(Buffer.compare(bytesOf((await src.read({ x: 10, y: 10, width: 200, height: 150 })).data), gdalPixels(file, tmp.dir, { srcwin: [10, 10, 200, 150] }))).toBe(0);
      } finally {
        await src.close();
      }
    } finally {
      setDecodeWorkerScript(null);
    }
  });

  it('closing the pool during a read rejects it with an InputError naming the file, never a hung promise', async () => {
    const file = at('closed.tif');
    expect(spawnSync('gdal_translate', ['-q', '-co', 'TILED=YES', '-co', 'BLOCKXSIZE=16', '-co', 'BLOCKYSIZE=16', '-co', 'COMPRESS=DEFLATE', '-co', 'PREDICTOR=3', at('src-Float32.tif'), file]).status).toBe(0);
    await usePool(true);
    const src = await openGeoTiff(file);
    try {
      const reading = src.read().then(
        () => null,
        (e: unknown) => e,
      );
      // Once the first blocks are out in the workers.
      const started = decodePoolStats.workersStarted;
      await new Promise<void>((resolve) => {
        const poll = (): void => (decodePoolStats.workersStarted > started ? resolve() : void setTimeout(poll, 1));
        poll();
      });
      await closeDecodePool();
      const err = await reading;
      expect(err).toBeInstanceOf(InputError);
      expect((err as Error).message).toMatch(/closed\.tif.*block \d+ was not decoded: the decode pool was closed/);
      // A later read starts a new pool.
      expect(Buffer.compare(bytesOf((await src.read()).data), gdalPixels(file, tmp.dir))).toBe(0);
    } finally {
      await src.close();
    }
  });
});

const samplesDir = path.join(sharedDir, 'samples', 'geotiff');
const samples = existsSync(samplesDir) ? readdirSync(samplesDir).filter((f) => f.endsWith('.tif')) : [];

describe.skipIf(samples.length === 0)(`every sample in ../shared/samples/geotiff: pool = calling thread${skipNote(samples.length === 0, '../shared/samples/geotiff not present')}`, () => {
  for (const name of samples) {
    it(name, async () => {
      const { pool, local } = await readBoth(path.join(samplesDir, name));
      expect(pool).toEqual(local);
    });
  }
});

const cliBundle = path.join(repoRoot, 'dist', 'cli.cjs');
const workerBundle = path.join(repoRoot, 'dist', 'geotiff-worker.cjs');
const built = existsSync(cliBundle) && existsSync(workerBundle) && samples.includes('RGB.byte.tif');

describe.skipIf(!built || !hasGdal)(`the built CLI${skipNote(!built || !hasGdal, 'npm run build not run, GDAL or ../shared/samples missing')}`, () => {
  it('decodes on its pool from dist/ and exits on its own when done (idle workers are unref\'d)', () => {
    const file = at('cli-src.tif');
    expect(spawnSync('gdal_translate', ['-q', '-outsize', '600', '400', '-co', 'TILED=YES', '-co', 'BLOCKXSIZE=64', '-co', 'BLOCKYSIZE=64', '-co', 'COMPRESS=DEFLATE', path.join(samplesDir, 'RGB.byte.tif'), file]).status).toBe(0);
    const out = at('cli-out.tif');
    const t0 = Date.now();
    // main() without the bin's process.exit: the process ends only when nothing (no worker) keeps it alive.
    const script = `require(${JSON.stringify(cliBundle)}).main(process.argv.slice(1)).then((code) => { process.exitCode = code; })`;
    const r = spawnSync(process.execPath, ['-e', script, 'convert', file, out], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, DELINEATE_DECODE_THREADS: '2', DELINEATE_DECODE_POOL_MIN_BLOCKS: '1' } });
    expect(r.status, r.stderr).toBe(0);
    // A worker left referenced would hold the process until the idle timer (60 s) or forever.
    expect(Date.now() - t0).toBeLessThan(45_000);
    expect(Buffer.compare(gdalPixels(out, tmp.dir), gdalPixels(file, tmp.dir))).toBe(0);
  }, 90_000);
});
