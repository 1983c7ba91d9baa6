// Integration: real GeoTIFFs from ../shared/samples (when present) against gdalinfo (when installed).
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { openImage } from '../../main/engine/io';
import { InputError } from '../../main/engine/image';
import type { GeoGeometry } from '../../preload/formats';
import { hasGdal, sharedDir, skipNote } from './helpers';

const dir = path.join(sharedDir, 'samples', 'geotiff');
const hasSamples = existsSync(path.join(dir, 'byte.tif'));

// File, expected CRS from our reader (EPSG where the file has a code), dtype, bands.
const FILES: Array<[string, string | null, string, number]> = [
  ['byte.tif', 'EPSG:26711', 'uint8', 1],
  ['RGB.byte.tif', 'EPSG:32618', 'uint8', 3],
  ['RGBA.uint16.tif', 'EPSG:32612', 'uint16', 4],
  ['shade.tif', 'EPSG:3857', 'uint8', 1],
  ['world.rgb.tif', 'EPSG:4326', 'uint8', 3],
  ['sample_geotiff.tif', 'EPSG:32616', 'uint16', 1],
  ['rotated.tif', null, 'uint8', 1],
  ['float_nan.tif', null, 'float32', 1],
  ['rgb_lzw.tif', 'EPSG:32618', 'uint8', 3],
];

interface GdalJson {
  geoTransform: number[];
  stac?: { 'proj:epsg'?: number | null };
  bands: Array<{ noDataValue?: number | string }>;
}

describe.skipIf(!hasSamples)(`real GeoTIFF samples${skipNote(!hasSamples, '../shared/samples/geotiff not present')}`, () => {
  for (const [name, crs, dtype, bands] of FILES) {
    it(`${name}: geometry, nodata and windowed reads`, async () => {
      const src = await openImage(path.join(dir, name));
      expect([src.kind, src.dtype, src.channels]).toEqual(['geo', dtype, bands]);
      const g = src.geometry as GeoGeometry;
      expect(g.crs).toBe(crs);
      if (hasGdal) {
        const r = spawnSync('gdalinfo', ['-json', path.join(dir, name)], { encoding: 'utf8' });
        const info = JSON.parse(r.stdout) as GdalJson;
        info.geoTransform.forEach((v, i) => expect(g.geotransform[i]).toBeCloseTo(v, 6));
        if (crs) expect(`EPSG:${info.stac?.['proj:epsg']}`).toBe(crs);
        const nd = info.bands[0]?.noDataValue;
        if (nd === undefined) expect(src.nodata).toBeUndefined();
        else if (typeof nd === 'string') expect(src.nodata).toBe('nan');
        else expect(src.nodata).toBe(nd);
      }
      // A window equals the same box of a full read.
      const full = await src.read({ channels: [bands - 1] });
      const x = Math.floor(src.width / 3);
      const y = Math.floor(src.height / 4);
      const w = Math.max(1, Math.floor(src.width / 3));
      const h = Math.max(1, Math.floor(src.height / 2));
      const win = await src.read({ x, y, width: w, height: h, channels: [bands - 1] });
      const expected: number[] = [];
      for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) expected.push(full.data[yy * src.width + xx]!);
      expect(Array.from(win.data)).toEqual(expected);
      await src.close();
    });
  }

  it('the intentionally corrupt file is an InputError, not a crash', async () => {
    const attempt = async (): Promise<void> => {
      const src = await openImage(path.join(dir, 'invalid', 'corrupt.tif'));
      await src.read();
    };
    await expect(attempt()).rejects.toBeInstanceOf(InputError);
  });

  it.skipIf(!hasGdal)(`pixels of byte.tif match gdal_translate${skipNote(!hasGdal, 'GDAL not installed')}`, async () => {
    const r = spawnSync('gdal_translate', ['-q', '-of', 'AAIGrid', path.join(dir, 'byte.tif'), '/vsistdout/'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const values = r.stdout
      .split('\n')
      .filter((l) => /^\s*\d/.test(l))
      .flatMap((l) => l.trim().split(/\s+/).map(Number));
    const src = await openImage(path.join(dir, 'byte.tif'));
    expect(Array.from((await src.read()).data)).toEqual(values);
  });
});
