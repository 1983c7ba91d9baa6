// Every real GeoTIFF in ../shared/samples/geotiff against GDAL: whole image, random windows, overviews and masks equal
// GDAL's pixels; geotransform, CRS and lon/lat bounds agree with gdalinfo; invalid/ files give one clear InputError.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { openGeoTiff } from '../../main/engine/io/geotiff';
import { openImage } from '../../main/engine/io';
import { InputError } from '../../main/engine/image';
import type { GeoGeometry } from '../../preload/formats';
import { hasGdal, sharedDir, tempDir, skipNote, skipWhenNone } from './helpers';
import { bytesOf, gdalinfo, gdalPixels, hasPythonGdal, maxByteDiff, sameCrs } from './geo-oracle';

const dir = path.join(sharedDir, 'samples', 'geotiff');
const files = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.tif')).sort() : [];
const tmp = tempDir('delineate-geo-');
afterAll(() => tmp.cleanup());

// Non-YCbCr JPEG goes through geotiff.js's JavaScript IDCT, which rounds differently from libjpeg by at most 1.
const LOSSY_TOLERANCE: Record<string, number> = { 'alpha.tif': 1 };

/** Deterministic pseudo-random windows (same on every run). */
function windows(width: number, height: number, n: number): Array<[number, number, number, number]> {
  let seed = width * 7919 + height;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  return Array.from({ length: n }, () => {
    const w = 1 + Math.floor(rnd() * Math.min(width, 300));
    const h = 1 + Math.floor(rnd() * Math.min(height, 300));
    return [Math.floor(rnd() * (width - w + 1)), Math.floor(rnd() * (height - h + 1)), w, h];
  });
}

describe.skipIf(files.length === 0 || !hasGdal)(`real GeoTIFF samples vs GDAL${skipNote(files.length === 0 || !hasGdal, files.length === 0 ? `no .tif files in ${dir}` : 'GDAL (gdalinfo) missing')}`, () => {
  skipWhenNone(files, 'every GeoTIFF sample', `no .tif files in ${dir}`);
  for (const name of files) {
    it(`${name}: pixels, windows, overviews, mask, georeferencing`, async () => {
      const file = path.join(dir, name);
      const src = await openGeoTiff(file);
      try {
        const tol = LOSSY_TOLERANCE[name] ?? 0;
        const same = (ours: ArrayBufferView, ref: Buffer): void => {
          if (tol === 0) expect(Buffer.compare(bytesOf(ours), ref)).toBe(0);
          else expect(maxByteDiff(bytesOf(ours), ref)).toBeLessThanOrEqual(tol);
        };
        same((await src.read()).data, gdalPixels(file, tmp.dir));
        for (const [x, y, w, h] of windows(src.width, src.height, 3)) {
          const band = (x + y) % src.channels;
          same((await src.read({ x, y, width: w, height: h, channels: [band] })).data, gdalPixels(file, tmp.dir, { srcwin: [x, y, w, h], bands: [band + 1] }));
        }
        const info = gdalinfo(file);
        // Overviews: the same sizes as GDAL's (internal and .ovr), and each level's pixels equal GDAL's -ovr read.
        const gdalOvr = (info.bands[0]?.overviews ?? []).map((o) => ({ width: o.size[0], height: o.size[1] }));
        expect(src.overviews).toEqual(gdalOvr);
        for (let level = 0; level < src.overviews.length; level++) {
          const o = src.overviews[level]!;
          const reduced = await src.readReduced({}, o.width, o.height);
          expect([reduced.level, reduced.width, reduced.height]).toEqual([level + 1, o.width, o.height]);
          same(reduced.data, gdalPixels(file, tmp.dir, { ovr: level }));
        }
        // Masks (internal 1-bit, external .msk): 0/255 like GDAL's mask band.
        const mask = await src.readMask();
        if (src.meta.mask) {
          expect(mask).not.toBeNull();
          expect(Buffer.compare(bytesOf(mask!), gdalPixels(file, tmp.dir, { bands: ['mask'] }))).toBe(0);
        } else {
          expect(mask).toBeNull();
        }
        // Georeferencing.
        if (info.geoTransform && src.kind === 'geo') {
          const g = src.geometry as GeoGeometry;
          info.geoTransform.forEach((v, i) => expect(g.geotransform[i]).toBeCloseTo(v, 6));
          const gdalWkt = info.coordinateSystem?.wkt ?? '';
          if (gdalWkt === '') expect(g.crs).toBeNull();
          else if (hasPythonGdal) expect(sameCrs(file, g.crs ?? '')).toBe(true);
          const ext = info.wgs84Extent?.coordinates[0];
          const bounds = src.meta.bounds as number[] | undefined;
          if (ext && bounds) {
            const lons = ext.map((p) => p[0]!);
            const lats = ext.map((p) => p[1]!);
            // GDAL's extent is from the corners only; NAD27 has no datum grid here (~0.001 degree).
            const expected = [Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)];
            bounds.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(0.01));
          }
        } else {
          expect(src.kind).toBe('image');
        }
        const nd = info.bands[0]?.noDataValue;
        if (nd === undefined) expect(src.nodata).toBeUndefined();
        else if (typeof nd === 'string') expect(src.nodata).toBe('nan');
        else expect(src.nodata).toBe(nd);
      } finally {
        await src.close();
      }
    });
  }

  it('invalid/corrupt.tif gives one clear InputError on read, never a crash', async () => {
    const attempt = async (): Promise<void> => {
      const src = await openImage(path.join(dir, 'invalid', 'corrupt.tif'));
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
    expect((err as Error).message).toMatch(/corrupt\.tif: .*(corrupt|undecodable|truncated)/);
    expect((err as Error).message.split('\n')).toHaveLength(1);
  });
});
