// GeoTIFFs GDAL writes in every compression and layout we claim (small: 300x200), read by us with GDAL's pixels;
// COG overviews picked by resolution; BigTIFF; and the refusals: truncated, non-TIFF, absurd sizes, looping IFDs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { openGeoTiff } from '../../main/engine/io/geotiff';
import { openImage } from '../../main/engine/io';
import { InputError } from '../../main/engine/image';
import type { GeoGeometry } from '../../preload/formats';
import { hasGdal, tempDir, skipNote } from './helpers';
import { bytesOf, gdalPixels, hasPythonGdal, maxByteDiff } from './geo-oracle';

const tmp = tempDir('delineate-geogen-');
afterAll(() => tmp.cleanup());
const at = (name: string): string => path.join(tmp.dir, name);

/** GDAL types of the source rasters, and the band count of each. */
const SOURCES: Record<string, [string, number]> = { Byte: ['Byte', 3], UInt16: ['UInt16', 4], Int16: ['Int16', 2], Float32: ['Float32', 3], Float64: ['Float64', 1], Int32: ['Int32', 1], UInt32: ['UInt32', 2] };

// [source type, creation options, max difference allowed (lossy codecs only)]
const CASES: Array<[string, string[], number]> = [
  ['Byte', ['COMPRESS=NONE', 'TILED=NO', 'INTERLEAVE=PIXEL'], 0],
  ['Byte', ['COMPRESS=NONE', 'TILED=YES', 'BLOCKXSIZE=64', 'BLOCKYSIZE=64', 'INTERLEAVE=BAND'], 0],
  ['Byte', ['COMPRESS=LZW', 'TILED=YES', 'INTERLEAVE=PIXEL'], 0],
  ['Byte', ['COMPRESS=LZW', 'PREDICTOR=2', 'TILED=NO', 'INTERLEAVE=BAND'], 0],
  ['Byte', ['COMPRESS=DEFLATE', 'TILED=NO', 'BLOCKYSIZE=7'], 0],
  ['Byte', ['COMPRESS=DEFLATE', 'TILED=YES', 'INTERLEAVE=BAND', 'BIGTIFF=YES'], 0],
  ['Byte', ['COMPRESS=PACKBITS', 'TILED=YES', 'BLOCKXSIZE=32', 'BLOCKYSIZE=48'], 0],
  ['Byte', ['COMPRESS=JPEG', 'PHOTOMETRIC=YCBCR', 'TILED=YES'], 0],
  ['Byte', ['COMPRESS=JPEG', 'TILED=NO', 'INTERLEAVE=BAND'], 1],
  ['Byte', ['COMPRESS=ZSTD', 'TILED=YES', 'INTERLEAVE=PIXEL'], 0],
  ['Byte', ['COMPRESS=LERC', 'TILED=YES'], 0],
  ['Byte', ['COMPRESS=WEBP', 'TILED=YES', 'WEBP_LOSSLESS=YES'], 0],
  ['Byte', ['COMPRESS=WEBP', 'TILED=YES', 'WEBP_LEVEL=80'], 0],
  ['UInt16', ['COMPRESS=DEFLATE', 'PREDICTOR=2', 'TILED=YES', 'INTERLEAVE=BAND'], 0],
  ['UInt16', ['COMPRESS=LZW', 'TILED=NO', 'INTERLEAVE=PIXEL', 'BIGTIFF=YES'], 0],
  ['UInt16', ['COMPRESS=ZSTD', 'PREDICTOR=2', 'TILED=YES', 'INTERLEAVE=PIXEL'], 0],
  ['Int16', ['COMPRESS=PACKBITS', 'TILED=NO'], 0],
  ['Int16', ['COMPRESS=LERC', 'TILED=YES', 'INTERLEAVE=BAND'], 0],
  ['Float32', ['COMPRESS=DEFLATE', 'PREDICTOR=3', 'TILED=YES', 'INTERLEAVE=PIXEL'], 0],
  ['Float32', ['COMPRESS=LZW', 'TILED=NO', 'INTERLEAVE=BAND'], 0],
  ['Float32', ['COMPRESS=LERC', 'TILED=YES'], 0],
  ['Float64', ['COMPRESS=ZSTD', 'PREDICTOR=3', 'TILED=YES'], 0],
  ['Int32', ['COMPRESS=DEFLATE', 'TILED=NO'], 0],
  ['UInt32', ['COMPRESS=NONE', 'TILED=YES', 'INTERLEAVE=BAND', 'BIGTIFF=YES'], 0],
];

function run(cmd: string, args: string[]): { ok: boolean; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: r.status === 0, err: r.stderr };
}

describe.skipIf(!hasGdal || !hasPythonGdal)(`GDAL-written GeoTIFFs in every compression and layout${skipNote(!hasGdal || !hasPythonGdal, 'GDAL or python3-gdal missing')}`, () => {
  beforeAll(() => {
    // Smooth gradients plus noise, so lossy codecs have something to do and predictors are exercised.
    const code = `
import sys, numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
out, gtype, bands = sys.argv[1], sys.argv[2], int(sys.argv[3])
w, h = 300, 200
drv = gdal.GetDriverByName('GTiff')
ds = drv.Create(out, w, h, bands, gdal.GetDataTypeByName(gtype))
ds.SetGeoTransform([500000, 10, 0, 6650000, 0, -10])
srs = osr.SpatialReference(); srs.ImportFromEPSG(32633); ds.SetProjection(srs.ExportToWkt())
rng = np.random.default_rng(4)
yy, xx = np.mgrid[0:h, 0:w]
for b in range(bands):
    base = (xx * (b + 1) + yy * 2) % 256 + rng.integers(0, 8, size=(h, w))
    if gtype == 'UInt16': a = base * 200 + b
    elif gtype == 'Int16': a = base * 100 - 12000
    elif gtype == 'Int32': a = base * 100000 - 2**30
    elif gtype == 'UInt32': a = base * 1000000 + 7
    elif gtype.startswith('Float'): a = base * 0.37 - 20.5
    else: a = base
    ds.GetRasterBand(b + 1).WriteArray(a)
ds.GetRasterBand(1).SetNoDataValue(0)
ds = None
`;
    for (const [name, [gtype, bands]] of Object.entries(SOURCES)) {
      const r = spawnSync('/usr/bin/python3', ['-c', code, at(`src-${name}.tif`), gtype, String(bands)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
    }
  });

  CASES.forEach(([type, co, tol], i) => {
    it(`${type} ${co.join(' ')}`, async () => {
      const file = at(`case-${i}.tif`);
      const r = run('gdal_translate', ['-q', ...co.flatMap((c) => ['-co', c]), at(`src-${type}.tif`), file]);
      expect(r.ok, r.err).toBe(true);
      const src = await openGeoTiff(file);
      try {
        const same = (ours: ArrayBufferView, ref: Buffer): void => {
          if (tol === 0) expect(Buffer.compare(bytesOf(ours), ref)).toBe(0);
          else expect(maxByteDiff(bytesOf(ours), ref)).toBeLessThanOrEqual(tol);
        };
        expect(src.channels).toBe(SOURCES[type]![1]);
        same((await src.read()).data, gdalPixels(file, tmp.dir));
        same((await src.read({ x: 37, y: 61, width: 201, height: 77, channels: [src.channels - 1] })).data, gdalPixels(file, tmp.dir, { srcwin: [37, 61, 201, 77], bands: [src.channels] }));
        expect((src.geometry as GeoGeometry).crs).toBe('EPSG:32633');
        expect((src.geometry as GeoGeometry).geotransform).toEqual([500000, 10, 0, 6650000, 0, -10]);
        expect(src.nodata).toBe(0);
        if (co.includes('BIGTIFF=YES')) expect(src.meta.bigTiff).toBe(true);
      } finally {
        await src.close();
      }
    });
  });

  it('COG: the overview matching a requested resolution is the one read, with GDAL pixels', async () => {
    const file = at('cog.tif');
    const r = run('gdal_translate', ['-q', '-of', 'COG', '-co', 'COMPRESS=DEFLATE', '-co', 'BLOCKSIZE=128', '-co', 'OVERVIEW_RESAMPLING=AVERAGE', at('src-UInt16.tif'), file]);
    expect(r.ok, r.err).toBe(true);
    const src = await openGeoTiff(file);
    try {
      expect(src.overviews.slice(0, 2)).toEqual([
        { width: 150, height: 100 },
        { width: 75, height: 50 },
      ]);
      // 100 px wide preview of the whole image: overview 2 (75 px) is too coarse, overview 1 (150 px) fits.
      const r1 = await src.readReduced({}, 100, 60);
      expect([r1.level, r1.width, r1.height, r1.scaleX]).toEqual([1, 150, 100, 2]);
      expect(Buffer.compare(bytesOf(r1.data), gdalPixels(file, tmp.dir, { ovr: 0 }))).toBe(0);
      const r2 = await src.readReduced({ x: 100, y: 40, width: 120, height: 80 }, 30, 20);
      expect([r2.level, r2.width, r2.height]).toEqual([2, 30, 20]);
      // gdal_translate -srcwin is in full-resolution pixels even with -ovr: cut the window from the whole level instead.
      const level2 = new Uint16Array(new Uint8Array(gdalPixels(file, tmp.dir, { ovr: 1 })).buffer);
      const expected: number[] = [];
      for (let c = 0; c < 4; c++) for (let y = 10; y < 30; y++) for (let x = 25; x < 55; x++) expected.push(level2[(c * 50 + y) * 75 + x]!);
      expect(Array.from(r2.data)).toEqual(expected);
      // Full resolution when the target needs it.
      expect((await src.readReduced({}, 300, 200)).level).toBe(0);
    } finally {
      await src.close();
    }
  });
});

describe('refusals: one clear InputError, never a crash or a huge allocation', () => {
  const expectInputError = async (file: string, pattern: RegExp): Promise<void> => {
    const attempt = async (): Promise<void> => {
      const src = await openImage(file);
      try {
        await src.read();
      } finally {
        await src.close();
      }
    };
    const err = await attempt().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(pattern);
    expect((err as Error).message).not.toMatch(/\n/);
  };

  /** A minimal classic little-endian TIFF header + one IFD with the given (tag, type, count, value) entries. */
  function tiff(entries: Array<[number, number, number, number]>, nextIfd = 0): Buffer {
    const buf = Buffer.alloc(8 + 2 + entries.length * 12 + 4 + 64);
    buf.write('II', 0, 'latin1');
    buf.writeUInt16LE(42, 2);
    buf.writeUInt32LE(8, 4);
    buf.writeUInt16LE(entries.length, 8);
    entries.forEach(([tag, type, count, value], i) => {
      const p = 10 + i * 12;
      buf.writeUInt16LE(tag, p);
      buf.writeUInt16LE(type, p + 2);
      buf.writeUInt32LE(count, p + 4);
      buf.writeUInt32LE(value, p + 8);
    });
    buf.writeUInt32LE(nextIfd, 10 + entries.length * 12);
    return buf;
  }

  it('absurd declared size is refused before allocation', async () => {
    const f = at('absurd.tif');
    // 4e9 x 4e9 pixels of 64-bit samples, 4 per pixel.
    writeFileSync(f, tiff([[256, 4, 1, 4e9], [257, 4, 1, 4e9], [258, 3, 1, 64], [273, 4, 1, 8], [277, 3, 1, 4], [278, 4, 1, 4e9], [279, 4, 1, 8]]));
    await expectInputError(f, /absurd/);
  });

  it('a tag claiming more data than the file holds is refused', async () => {
    const f = at('hugetag.tif');
    writeFileSync(f, tiff([[256, 4, 1, 10], [257, 4, 1, 10], [258, 3, 1, 8], [273, 4, 1e9, 100], [277, 3, 1, 1], [279, 4, 1, 8]]));
    await expectInputError(f, /past the end/);
  });

  it('a looping IFD chain is refused', async () => {
    const f = at('loop.tif');
    writeFileSync(f, tiff([[256, 4, 1, 1], [257, 4, 1, 1], [258, 3, 1, 8], [273, 4, 1, 0], [277, 3, 1, 1], [279, 4, 1, 1]], 8));
    await expectInputError(f, /loops/);
  });

  it('a file named .tif that is not a TIFF is refused', async () => {
    const f = at('text.tif');
    writeFileSync(f, 'hello, not an image at all\n'.repeat(30));
    await expectInputError(f, /not a valid TIF|not a supported/);
  });

  it.skipIf(!hasGdal)(`a truncated GeoTIFF is refused when its missing blocks are read${skipNote(!hasGdal, 'GDAL missing')}`, async () => {
    const full = at('full.tif');
    expect(run('gdal_translate', ['-q', '-outsize', '400', '300', '-co', 'TILED=YES', '-co', 'COMPRESS=DEFLATE', at('src-Byte.tif'), full]).ok || run('gdal_create', ['-of', 'GTiff', '-outsize', '400', '300', '-bands', '3', '-co', 'TILED=YES', full]).ok).toBe(true);
    const bytes = readFileSync(full);
    const cut = at('cut.tif');
    // Keep the header and IFD (GDAL puts them first), drop the tail of the tile data.
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await expectInputError(cut, /truncated|past the end|corrupt/);
    copyFileSync(full, at('ok.tif'));
  });
});
