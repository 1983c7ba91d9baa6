// The streaming GeoTIFF writer and `convert in.tif out.tif`: GDAL reads back identical pixels, geotransform, CRS
// (EPSG code or WKT) and nodata; BigTIFF; windows written out of order; a failed write leaves no file behind.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { TiffWriter, writeTiff } from '../../main/engine/io/tiff-writer';
import { openGeoTiff } from '../../main/engine/io/geotiff';
import { convertCommand } from '../../main/cli/commands/convert';
import type { GeoGeometry } from '../../preload/formats';
import { hasGdal, sharedDir, tempDir, skipNote, skipWhenNone } from './helpers';
import { bytesOf, gdalinfo, gdalPixels, hasPythonGdal, python } from './geo-oracle';

const tmp = tempDir('delineate-geowrite-');
afterAll(() => tmp.cleanup());
const at = (name: string): string => path.join(tmp.dir, name);
const samples = path.join(sharedDir, 'samples', 'geotiff');
const sampleFiles = existsSync(samples) ? readdirSync(samples).filter((n) => n.endsWith('.tif')).sort() : [];

const LAEA_WKT =
  'PROJCS["unnamed",GEOGCS["GRS 1980(IUGG, 1980)",DATUM["unknown",SPHEROID["GRS80",6378137,298.257222101]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Lambert_Azimuthal_Equal_Area"],PARAMETER["latitude_of_center",52],PARAMETER["longitude_of_center",10],PARAMETER["false_easting",4321000],PARAMETER["false_northing",3210000],UNIT["metre",1]]';

describe('streaming writer', () => {
  it('accepts tile-aligned windows in any order and refuses misaligned ones', async () => {
    const W = 300;
    const H = 200;
    const geometry: GeoGeometry = { type: 'geo', geotransform: [4321000, 25, 0, 3210000, 0, -25], crs: LAEA_WKT };
    const w = await TiffWriter.open(at('stream.tif'), { width: W, height: H, channels: 2, dtype: 'int16', geometry, nodata: -1 }, { tileSize: 64 });
    const full = new Int16Array(W * H * 2).map((_, i) => (i * 37) % 30000);
    const windowOf = (x: number, y: number, ww: number, hh: number): Int16Array => {
      const out = new Int16Array(ww * hh * 2);
      for (let c = 0; c < 2; c++) for (let yy = 0; yy < hh; yy++) for (let xx = 0; xx < ww; xx++) out[(c * hh + yy) * ww + xx] = full[(c * H + y + yy) * W + x + xx]!;
      return out;
    };
    await expect(w.writeWindow(10, 0, 64, 64, windowOf(10, 0, 64, 64))).rejects.toThrow(/tile-aligned/);
    // Bottom band first, then the top band as two windows, right one first.
    await w.writeWindow(0, 128, W, 72, windowOf(0, 128, W, 72));
    await w.writeWindow(128, 0, 172, 128, windowOf(128, 0, 172, 128));
    await w.writeWindow(0, 0, 128, 128, windowOf(0, 0, 128, 128));
    expect(existsSync(at('stream.tif'))).toBe(false); // nothing at the target until close
    await w.close();
    const src = await openGeoTiff(at('stream.tif'));
    expect(Array.from((await src.read()).data)).toEqual(Array.from(full));
    expect((src.geometry as GeoGeometry).crs).toBe(LAEA_WKT);
    expect(src.nodata).toBe(-1);
    await src.close();
    if (hasGdal) expect(Buffer.compare(gdalPixels(at('stream.tif'), tmp.dir), bytesOf(full))).toBe(0);
  });

  it('abort leaves no file', async () => {
    const w = await TiffWriter.open(at('aborted.tif'), { width: 10, height: 10, channels: 1, dtype: 'uint8', geometry: { type: 'pixel' } });
    await w.abort();
    expect(readdirSync(tmp.dir).filter((n) => n.includes('aborted'))).toEqual([]);
  });

  it.skipIf(!hasGdal || !hasPythonGdal)(`BigTIFF output with a WKT CRS reads back in GDAL identically${skipNote(!hasGdal || !hasPythonGdal, 'GDAL missing')}`, async () => {
    const data = new Float32Array(260 * 130).map((_, i) => Math.sin(i) * 1000);
    data[5] = NaN;
    const geometry: GeoGeometry = { type: 'geo', geotransform: [4321000, 25, 0, 3210000, 0, -25], crs: LAEA_WKT };
    await writeTiff(at('big.tif'), { data, width: 260, height: 130, depth: 1, channels: 1, geometry, nodata: 'nan' }, { bigTiff: true });
    const info = python<{ big: boolean; same: boolean; gt: number[]; nd: number | null }>(
      `import sys, json, math
from osgeo import gdal, osr
gdal.UseExceptions()
ds = gdal.Open(sys.argv[1]); s = osr.SpatialReference(); s.SetFromUserInput(sys.argv[2])
nd = ds.GetRasterBand(1).GetNoDataValue()
print(json.dumps({'big': open(sys.argv[1], 'rb').read(4)[2] == 43, 'same': bool(ds.GetSpatialRef().IsSame(s)), 'gt': list(ds.GetGeoTransform()), 'nd': None if nd is None or math.isnan(nd) else nd}))`,
      at('big.tif'),
      LAEA_WKT,
    );
    expect(info).toEqual({ big: true, same: true, gt: geometry.geotransform, nd: null });
    expect(Buffer.compare(gdalPixels(at('big.tif'), tmp.dir), bytesOf(data))).toBe(0);
  });
});

const convertSkip = sampleFiles.length === 0 ? `no .tif files in ${samples}` : !hasGdal || !hasPythonGdal ? 'GDAL or python3-gdal missing' : null;
describe.skipIf(convertSkip !== null)(`convert in.tif out.tif keeps pixels, geotransform, CRS and nodata${skipNote(convertSkip !== null, convertSkip ?? '')}`, () => {
  skipWhenNone(sampleFiles, 'every GeoTIFF sample', `no .tif files in ${samples}`);
  for (const name of sampleFiles) {
    it(name, async () => {
      const input = path.join(samples, name);
      const output = at(`converted-${name}`);
      const write = process.stdout.write;
      process.stdout.write = (() => true) as typeof process.stdout.write; // convert prints "wrote ..."
      try {
        expect(await convertCommand([input, output])).toBe(0);
      } finally {
        process.stdout.write = write;
      }
      // Pixels: ours decoded the input; GDAL must read the output to the same bytes (JPEG inputs included: the output
      // is lossless, so compare with what we read, which the sample tests hold to GDAL's own decode).
      const src = await openGeoTiff(input);
      const ours = (await src.read()).data;
      await src.close();
      expect(Buffer.compare(gdalPixels(output, tmp.dir), bytesOf(ours))).toBe(0);
      const a = gdalinfo(input);
      const b = gdalinfo(output);
      expect(b.size).toEqual(a.size);
      expect(b.geoTransform ?? null).toEqual(a.geoTransform ?? null);
      expect(b.bands.map((x) => x.type)).toEqual(a.bands.map((x) => x.type));
      expect(String(b.bands[0]?.noDataValue)).toBe(String(a.bands[0]?.noDataValue));
      if (a.coordinateSystem?.wkt) {
        const same = python<boolean>(
          `import sys, json
from osgeo import gdal
print(json.dumps(bool(gdal.Open(sys.argv[1]).GetSpatialRef().IsSame(gdal.Open(sys.argv[2]).GetSpatialRef()))))`,
          input,
          output,
        );
        expect(same).toBe(true);
      } else {
        expect(b.coordinateSystem?.wkt ?? '').toBe('');
      }
    });
  }
});
