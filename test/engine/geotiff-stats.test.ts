// Per-band statistics from the smallest adequate overview, against GDAL: `gdalinfo -stats` (exact, full resolution)
// for min/max/mean/std and numpy percentiles of the full raster for the 2nd/98th percentiles; and the default display
// of 16-bit and float rasters: each band stretched between its own percentiles, in previews, tiles and 'image:windows'.
//
// Tolerances, as a fraction of the band's full-resolution range (max - min): overview mean within 0.5 %, standard
// deviation within 3 %, p2/p98 within 1.5 %; min/max within the full-resolution range and within 10 % of its ends
// (an averaged overview smooths the extremes). Without overviews the statistics are exact (mean to 1e-9 relative,
// standard deviation to 1e-6).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { openGeoTiff, type GeoTiffSource } from '../../main/engine/io/geotiff';
import { levelStatistics, percentileStretch, usesBandStretch } from '../../main/engine/io/geotiff-stats';
import { bandStretch, sourceStatistics } from '../../main/engine/render/band-stretch';
import { renderSlice } from '../../main/engine/render/slice';
import { TileRenderer } from '../../main/engine/render/tile';
import { volumeWindows } from '../../main/engine/render/windows';
import { hasGdal, sharedDir, skipNote, tempDir } from './helpers';
import { hasPythonGdal, python } from './geo-oracle';

const tmp = tempDir('delineate-stats-');
const at = (name: string): string => path.join(tmp.dir, name);
afterAll(() => tmp.cleanup());

interface GdalBandStats {
  min: number;
  max: number;
  mean: number;
  stdDev: number;
}

/** Exact full-resolution statistics from `gdalinfo -stats` (on a copy: it writes a .aux.xml beside the file). */
function gdalStats(file: string): GdalBandStats[] {
  const copy = at(`stats-${path.basename(file)}`);
  copyFileSync(file, copy);
  const r = spawnSync('gdalinfo', ['-json', '-stats', copy], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gdalinfo -stats failed: ${r.stderr}`);
  // The STATISTICS_* metadata keep full precision (the JSON's mean/stdDev fields are rounded to 3 decimals).
  const info = JSON.parse(r.stdout) as { bands: Array<{ metadata: { ''?: Record<string, string> } }> };
  return info.bands.map((b) => {
    const m = b.metadata[''] ?? {};
    return { min: Number(m.STATISTICS_MINIMUM), max: Number(m.STATISTICS_MAXIMUM), mean: Number(m.STATISTICS_MEAN), stdDev: Number(m.STATISTICS_STDDEV) };
  });
}

/** 2nd and 98th percentiles of each band at full resolution (nodata and NaN left out), nearest rank like ours. */
function fullPercentiles(file: string): Array<[number, number]> {
  return python<Array<[number, number]>>(
    `import sys, json, numpy as np
from osgeo import gdal
gdal.UseExceptions()
ds = gdal.Open(sys.argv[1])
out = []
for i in range(ds.RasterCount):
    b = ds.GetRasterBand(i + 1)
    a = b.ReadAsArray().astype(np.float64).ravel()
    nd = b.GetNoDataValue()
    a = a[~np.isnan(a)]
    if nd is not None: a = a[a != nd]
    out.append([float(np.percentile(a, 2, method='nearest')), float(np.percentile(a, 98, method='nearest'))])
print(json.dumps(out))`,
    file,
  );
}

const ready = hasGdal && hasPythonGdal;

describe.skipIf(!ready)(`statistics from overviews vs gdalinfo -stats${skipNote(!ready, 'GDAL or python3-gdal missing')}`, () => {
  beforeAll(() => {
    // 3000x2000 COGs with overviews: UInt16 (3 bands, skewed like reflectance) and Float32 (nodata and NaN holes).
    const code = `
import sys, numpy as np
from osgeo import gdal
gdal.UseExceptions()
out, gtype = sys.argv[1], sys.argv[2]
w, h = 3000, 2000
bands = 3 if gtype == 'UInt16' else 2
mem = gdal.GetDriverByName('MEM').Create('', w, h, bands, gdal.GetDataTypeByName(gtype))
mem.SetGeoTransform([500000, 10, 0, 6650000, 0, -10])
rng = np.random.default_rng(11)
yy, xx = np.mgrid[0:h, 0:w]
for b in range(bands):
    base = np.sin(xx / (150.0 + 40 * b)) * np.cos(yy / 230.0)
    # Spatially smooth, like imagery: pixel noise small beside the structure (an averaged overview keeps the tails).
    if gtype == 'UInt16':
        a = (900 + 1400 * b + 2500 * base ** 2 + rng.normal(0, 25.0, size=(h, w))).clip(0, 65535)
    else:
        a = (base * 12.5 - 3 + rng.normal(0, 0.3, size=(h, w))).astype(np.float32)
        a[100:300, 200:900] = -9999
        a[1500:1540, :] = np.nan
    band = mem.GetRasterBand(b + 1)
    band.WriteArray(a)
    if gtype != 'UInt16': band.SetNoDataValue(-9999)
gdal.GetDriverByName('COG').CreateCopy(out, mem, options=['COMPRESS=DEFLATE', 'BLOCKSIZE=256', 'OVERVIEW_RESAMPLING=AVERAGE'])
`;
    for (const t of ['UInt16', 'Float32']) {
      const r = spawnSync('/usr/bin/python3', ['-c', code, at(`cog-${t}.tif`), t], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
    }
  }, 240_000);

  for (const t of ['UInt16', 'Float32']) {
    it(`${t}: from the 1500x1000 overview, within tolerance of GDAL's full-resolution statistics`, async () => {
      const file = at(`cog-${t}.tif`);
      const src = await openGeoTiff(file);
      try {
        expect(src.overviews.length).toBeGreaterThan(0);
        const stats = await levelStatistics(src, { lowPct: 2, highPct: 98 });
        // The smallest level with >= 1024 px on the long side: the first overview, not full resolution.
        expect([stats.levelWidth, stats.levelHeight]).toEqual([1500, 1000]);
        const gdal = gdalStats(file);
        const pct = fullPercentiles(file);
        expect(stats.bands.length).toBe(gdal.length);
        stats.bands.forEach((s, i) => {
          const g = gdal[i]!;
          const range = g.max - g.min;
          expect(s.validCount).toBeGreaterThan(0);
          expect(Math.abs(s.mean - g.mean)).toBeLessThanOrEqual(0.005 * range);
          expect(Math.abs(s.stdDev - g.stdDev)).toBeLessThanOrEqual(0.03 * range);
          expect(s.min).toBeGreaterThanOrEqual(g.min - 1e-3);
          expect(s.max).toBeLessThanOrEqual(g.max + 1e-3);
          expect(s.min - g.min).toBeLessThanOrEqual(0.1 * range);
          expect(g.max - s.max).toBeLessThanOrEqual(0.1 * range);
          expect(Math.abs(s.low - pct[i]![0])).toBeLessThanOrEqual(0.015 * range);
          expect(Math.abs(s.high - pct[i]![1])).toBeLessThanOrEqual(0.015 * range);
        });
      } finally {
        await src.close();
      }
    });
  }

  it('16-bit imagery is shown with a per-band 2-98 % stretch by default: preview, tiles and image:windows agree', async () => {
    const src: GeoTiffSource = await openGeoTiff(at('cog-UInt16.tif'));
    try {
      expect(usesBandStretch(src)).toBe(true);
      const stats = await sourceStatistics(src);
      const expected = stats.bands.map((s) => percentileStretch(s));
      // The bands differ (offsets 900, 2300, 3700): one window for all would not fit any of them.
      expect(new Set(expected.map((w) => Math.round(w.center))).size).toBe(3);
      const slice = await renderSlice(src, { z: 0, maxSize: 256 });
      expect(slice.bandWindows?.map((w) => [w.center, w.width])).toEqual(expected.map((w) => [w.center, w.width]));
      expect(slice.window).toEqual({ center: expected[0]!.center, width: expected[0]!.width });
      // Each channel is stretched by its own band's window: every channel spans the byte range with a mid-range mean;
      // one window for all (band 1's) would push band 3, 2800 counts higher, to white.
      const meanByte = (rgba: Uint8Array, c: number): number => {
        let sum = 0;
        for (let i = c; i < rgba.length; i += 4) sum += rgba[i]!;
        return sum / (rgba.length / 4);
      };
      for (let c = 0; c < 3; c++) {
        expect(meanByte(slice.rgba, c)).toBeGreaterThan(40);
        expect(meanByte(slice.rgba, c)).toBeLessThan(215);
      }
      const single = await renderSlice(src, { z: 0, maxSize: 256, window: slice.window });
      expect(single.bandWindows).toBeUndefined();
      expect(meanByte(single.rgba, 2)).toBeGreaterThan(250);
      // Tiles with no window take the same per-band stretch; passing the preview's windows gives the same pixels.
      const tiles = new TileRenderer();
      const byDefault = await tiles.render(src, { level: 3, x: 0, y: 0, tileSize: 256, z: 0 });
      const passed = await tiles.render(src, { level: 3, x: 0, y: 0, tileSize: 256, z: 0, window: slice.window, bandWindows: slice.bandWindows! });
      const oneWindow = await tiles.render(src, { level: 3, x: 0, y: 0, tileSize: 256, z: 0, window: slice.window });
      expect(Buffer.compare(Buffer.from(byDefault.rgba), Buffer.from(passed.rgba))).toBe(0);
      expect(Buffer.compare(Buffer.from(oneWindow.rgba), Buffer.from(passed.rgba))).not.toBe(0);
      // The display panel's figures: the same numbers, and Auto keeps the engine's per-band stretch.
      const windows = await volumeWindows(src);
      expect(windows.autoId).toBe('');
      expect(windows.bandStats?.levelWidth).toBe(1500);
      expect([windows.bandStats?.lowPct, windows.bandStats?.highPct]).toEqual([2, 98]);
      expect(windows.bandStats?.bands.map((b) => [b.low, b.high])).toEqual(stats.bands.map((s) => [s.low, s.high]));
      expect(await bandStretch(src, [2])).toEqual([{ center: expected[2]!.center, width: expected[2]!.width }]);
    } finally {
      await src.close();
    }
  });
});

const samples = path.join(sharedDir, 'samples', 'geotiff');
const hasSamples = existsSync(path.join(samples, 'sample_geotiff.tif'));

describe.skipIf(!hasSamples || !hasGdal)(`samples without overviews: exact statistics${skipNote(!hasSamples || !hasGdal, '../shared/samples or GDAL missing')}`, () => {
  for (const name of ['sample_geotiff.tif', 'RGBA.uint16.tif', 'float_raster_with_nodata.tif']) {
    it(name, async () => {
      const file = path.join(samples, name);
      const src = await openGeoTiff(file);
      try {
        const stats = await levelStatistics(src);
        expect([stats.levelWidth, stats.levelHeight]).toEqual([src.width, src.height]);
        const gdal = gdalStats(file);
        stats.bands.forEach((s, i) => {
          const g = gdal[i]!;
          expect(s.min).toBe(g.min);
          expect(s.max).toBe(g.max);
          // GDAL writes the statistics with 14 significant digits.
          expect(Math.abs(s.mean - g.mean)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(g.mean)));
          expect(Math.abs(s.stdDev - g.stdDev)).toBeLessThanOrEqual(1e-6 * Math.max(1, g.stdDev));
        });
        const windows = await volumeWindows(src);
        expect(windows.bandStats?.bands.length).toBe(src.channels);
      } finally {
        await src.close();
      }
    });
  }
});
