// TIFF/GeoTIFF writer: round trips through our geotiff.js reader and, when installed, through GDAL.
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fromFile } from 'geotiff';
import { openImage } from '../../main/engine/io';
import { writeTiff, epsgCode } from '../../main/engine/io/tiff-writer';
import { allocPixels, type PixelArray } from '../../main/engine/image';
import type { DType, GeoGeometry, Geometry } from '../../preload/formats';
import { hasGdal, tempDir, skipNote } from './helpers';
import { InputError } from '../../main/engine/image';
import { setTiffLong, tiffLayout } from '../../scripts/fuzz-mutate';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const at = (name: string): string => path.join(tmp.dir, name);

function fill(dtype: DType, n: number): PixelArray {
  const a = allocPixels(dtype, n);
  for (let i = 0; i < n; i++) a[i] = dtype.startsWith('float') ? i * 0.5 - 100.25 : dtype.startsWith('int') ? (i % 251) - 120 : (i * 7) % 251;
  return a;
}

const utm: GeoGeometry = { type: 'geo', geotransform: [440720, 60, 0, 3751320, 0, -60], crs: 'EPSG:26711' };
const wgs84: GeoGeometry = { type: 'geo', geotransform: [-180, 0.5, 0, 90, 0, -0.5], crs: 'EPSG:4326' };
const rotated: GeoGeometry = { type: 'geo', geotransform: [100, 17.320508075688775, 5, 200, 10, -8.660254037844387], crs: 'EPSG:32618' };

// 300x270 spans several 256 tiles, with partial edge tiles.
const W = 300;
const H = 270;

describe('writeTiff -> our reader (geotiff.js)', () => {
  const cases: Array<[DType, number, Geometry, number | 'nan' | undefined]> = [
    ['uint8', 1, utm, 0],
    ['uint16', 3, wgs84, 65535],
    ['int16', 1, rotated, -32768],
    ['uint32', 2, { type: 'pixel' }, undefined],
    ['int32', 1, utm, undefined],
    ['float32', 4, wgs84, 'nan'],
    ['float64', 1, utm, -9999],
    ['uint8', 4, { type: 'pixel' }, undefined],
  ];
  for (const [dtype, channels, geometry, nodata] of cases) {
    it(`${dtype} x${channels} ${geometry.type === 'geo' ? geometry.crs : 'pixel'}`, async () => {
      const data = fill(dtype, W * H * channels);
      const file = at(`${dtype}-${channels}.tif`);
      await writeTiff(file, { data, width: W, height: H, depth: 1, channels, geometry, ...(nodata !== undefined ? { nodata } : {}) });
      const src = await openImage(file);
      expect([src.width, src.height, src.channels, src.dtype]).toEqual([W, H, channels, dtype]);
      expect(src.geometry).toEqual(geometry);
      expect(src.kind).toBe(geometry.type === 'geo' ? 'geo' : 'image');
      expect(src.nodata).toEqual(nodata);
      expect(Array.from((await src.read()).data)).toEqual(Array.from(data));
      const win = await src.read({ x: 250, y: 200, width: 40, height: 60, channels: [channels - 1] });
      const expected: number[] = [];
      for (let y = 200; y < 260; y++) for (let x = 250; x < 290; x++) expected.push(data[((channels - 1) * H + y) * W + x]!);
      expect(Array.from(win.data)).toEqual(expected);
      await src.close();
    });
  }

  it('writes a palette for single-band uint8 label maps', async () => {
    const data = Uint8Array.from({ length: 16 }, (_, i) => i % 3);
    await writeTiff(at('pal.tif'), { data, width: 4, height: 4, depth: 1, channels: 1, geometry: utm, nodata: 255 }, { colormap: [[0, 0, 0], [255, 0, 0], [0, 128, 255]] });
    const tiff = await fromFile(at('pal.tif'));
    const img = await tiff.getImage();
    const fd = img.getFileDirectory();
    expect(fd.getValue('PhotometricInterpretation')).toBe(3);
    const map = Array.from((await fd.loadValue('ColorMap')) as ArrayLike<number>);
    expect([map[1], map[256 + 1], map[512 + 2]]).toEqual([65535, 0, 65535]);
    expect(Array.from((await img.readRasters({ interleave: true })) as unknown as ArrayLike<number>)).toEqual(Array.from(data));
    await tiff.close();
  });

  it('a georeferenced TIFF this reader refuses (compression, YCbCr) is refused at open, naming the file and the problem', async () => {
    // The same raster with its Compression tag (259) rewritten: CCITT (2), LZMA (34925, named but not decodable
    // here), and a code no one uses. Before, geotiff.js's "Unknown compression method" came out as an internal
    // error at the first read; and the plain image reader it falls back on must not take it (no georeferencing).
    const mutated = async (geometry: Geometry, code: number): Promise<string> => {
      const good = at(`deflate-${geometry.type}.tif`);
      await writeTiff(good, { data: new Uint8Array(64), width: 8, height: 8, depth: 1, channels: 1, geometry });
      const bytes = new Uint8Array(readFileSync(good));
      const t = tiffLayout(bytes)!;
      setTiffLong(bytes, t, t.entries.find((e) => e.tag === 259)!, code);
      const file = at(`compression-${code}-${geometry.type}.tif`);
      writeFileSync(file, bytes);
      return file;
    };
    const refused = async (code: number): Promise<string> => {
      const file = await mutated(utm, code);
      const open = openImage(file);
      await expect(open).rejects.toBeInstanceOf(InputError);
      return ((await open.catch((e: unknown) => e)) as Error).message.replace(file, '<file>');
    };
    const readable = 'readable: NONE, LZW, JPEG, DEFLATE, PACKBITS, LERC, ZSTD, WEBP';
    expect(await refused(2)).toBe(`<file>: TIFF compression code 2 is not supported (${readable}); rewrite it, e.g. gdal_translate -co COMPRESS=DEFLATE`);
    expect(await refused(34925)).toMatch(/^<file>: LZMA compression \(TIFF code 34925\) is not supported/);
    expect(await refused(6)).toMatch(/^<file>: OJPEG compression \(TIFF code 6\) is not supported/);
    expect(await refused(65535)).toMatch(/^<file>: TIFF compression code 65535 is not supported/);
    // Any layout this reader refuses is final for a georeferenced file: YCbCr samples without JPEG compression
    // (3 bands, Photometric 262 rewritten to 6) used to open through libvips as a plain RGB picture, areas in pixels.
    const rgb = at('rgb-utm.tif');
    await writeTiff(rgb, { data: new Uint8Array(3 * 64), width: 8, height: 8, depth: 1, channels: 3, geometry: utm });
    const bytes = new Uint8Array(readFileSync(rgb));
    const t = tiffLayout(bytes)!;
    setTiffLong(bytes, t, t.entries.find((e) => e.tag === 262)!, 6);
    writeFileSync(at('ycbcr-utm.tif'), bytes);
    await expect(openImage(at('ycbcr-utm.tif'))).rejects.toThrow(`${at('ycbcr-utm.tif')}: YCbCr TIFF without JPEG compression is not supported`);
    // A plain TIFF gets the other reader's (libvips') try, which opens the header and refuses the pixels with its reason.
    const plain = await openImage(await mutated({ type: 'pixel' }, 65535));
    try {
      await expect(plain.read()).rejects.toBeInstanceOf(InputError);
      await expect(plain.read()).rejects.toThrow(/Compression scheme 65535/);
    } finally {
      await plain.close();
    }
  });

  it('a one-value tag holding several values is refused at open, naming the tag', async () => {
    // ImageWidth (256) with count 2 (its inline value, 8, now read as an offset into the file): geotiff.js read the
    // width as an array and the image opened "256,3,5 pixels" wide, failing later as an internal range error (fuzz
    // seed 3210).
    const file = at('width-count.tif');
    await writeTiff(file, { data: new Uint8Array(64), width: 8, height: 8, depth: 1, channels: 1, geometry: utm });
    const bytes = new Uint8Array(readFileSync(file));
    const t = tiffLayout(bytes)!;
    const e = t.entries.find((x) => x.tag === 256)!;
    new DataView(bytes.buffer).setUint32(e.at + 4, 2, t.little);
    writeFileSync(file, bytes);
    const open = openImage(file);
    await expect(open).rejects.toBeInstanceOf(InputError);
    await expect(open).rejects.toThrow(`${file}: corrupt or unreadable TIFF (ImageWidth (tag 256) holds 2 values, one expected (corrupt))`);
  });

  it('a NaN or collapsed geotransform is refused at open, not carried into areas and coordinates', async () => {
    // ModelPixelScale (33550, three DOUBLEs stored out of line) damaged: NaN, then a zero pixel height. Before, the
    // file opened as a map and the first area or polygon failed inside the projection code (fuzz seed 3251).
    for (const [value, shown] of [[Number.NaN, 'NaN'], [0, '0']] as const) {
      const file = at(`scale-${shown}.tif`);
      await writeTiff(file, { data: new Uint8Array(64), width: 8, height: 8, depth: 1, channels: 1, geometry: utm });
      const bytes = new Uint8Array(readFileSync(file));
      const t = tiffLayout(bytes)!;
      const e = t.entries.find((x) => x.tag === 33550)!;
      const v = new DataView(bytes.buffer);
      v.setFloat64(v.getUint32(e.at + 8, t.little) + 8, value, t.little);
      writeFileSync(file, bytes);
      const open = openImage(file);
      await expect(open).rejects.toBeInstanceOf(InputError);
      await expect(open).rejects.toThrow(/the georeferencing \(ModelPixelScale \/ ModelTiepoint \/ ModelTransformation\) is not usable: geotransform 440720, 60, 0, /);
    }
  });

  it('refuses volumes', async () => {
    await expect(writeTiff(at('vol.tif'), { data: new Uint8Array(8), width: 2, height: 2, depth: 2, channels: 1, geometry: { type: 'pixel' } })).rejects.toThrow(/depth 2/);
  });

  it('finds EPSG codes in WKT', () => {
    expect(epsgCode('EPSG:32616')).toBe(32616);
    expect(epsgCode('PROJCS["WGS 84 / UTM zone 16N",GEOGCS["WGS 84",AUTHORITY["EPSG","4326"]],AUTHORITY["EPSG","32616"]]')).toBe(32616);
    expect(epsgCode('PROJCS["unnamed",GEOGCS["x"]]')).toBeNull();
  });
});

interface GdalInfo {
  size: number[];
  geoTransform?: number[];
  coordinateSystem?: { wkt: string };
  stac?: { 'proj:epsg'?: number | null };
  bands: Array<{ type: string; noDataValue?: number | string; colorInterpretation?: string }>;
}

function gdalinfo(file: string): GdalInfo {
  const r = spawnSync('gdalinfo', ['-json', file], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as GdalInfo;
}

describe('GDAL oracle', () => {
  const GDAL_TYPE: Record<DType, string> = { uint8: 'Byte', int8: 'Int8', uint16: 'UInt16', int16: 'Int16', uint32: 'UInt32', int32: 'Int32', float32: 'Float32', float64: 'Float64' };
  const cases: Array<[DType, number, GeoGeometry, number | 'nan' | undefined]> = [
    ['uint8', 3, utm, 0],
    ['int16', 1, rotated, -32768],
    ['float32', 2, wgs84, 'nan'],
    ['float64', 1, utm, -9999],
    ['uint32', 1, wgs84, undefined],
  ];
  for (const [dtype, channels, geometry, nodata] of cases) {
    it.skipIf(!hasGdal)(`GDAL reads ${dtype} x${channels} ${geometry.crs} with identical pixels and georeferencing${skipNote(!hasGdal, 'GDAL not installed')}`, () => {
      return (async () => {
        const data = fill(dtype, W * H * channels);
        const file = at(`gdal-${dtype}-${channels}.tif`);
        await writeTiff(file, { data, width: W, height: H, depth: 1, channels, geometry, ...(nodata !== undefined ? { nodata } : {}) });
        const info = gdalinfo(file);
        expect(info.size).toEqual([W, H]);
        info.geoTransform!.forEach((v, i) => expect(v).toBeCloseTo(geometry.geotransform[i]!, 9));
        expect(info.stac?.['proj:epsg']).toBe(epsgCode(geometry.crs));
        expect(info.bands.length).toBe(channels);
        for (const b of info.bands) {
          expect(b.type).toBe(GDAL_TYPE[dtype]);
          if (nodata === 'nan') expect(String(b.noDataValue)).toMatch(/nan/i);
          else expect(b.noDataValue).toEqual(nodata);
        }
        // gdal_translate to raw band-sequential ENVI: the same bytes as our channel-planar array (the ENVI driver
        // cannot hold a rotated geotransform, and georeferencing was checked above, so -a_ullr gives it a plain one).
        const raw = at(`gdal-${dtype}-${channels}.bin`);
        const t = spawnSync('gdal_translate', ['-q', '-of', 'ENVI', '-co', 'INTERLEAVE=BSQ', '-a_ullr', '0', '1', '1', '0', file, raw], { encoding: 'utf8' });
        expect(t.status, t.stderr).toBe(0);
        const bytes = readFileSync(raw);
        expect(Buffer.compare(bytes, Buffer.from(data.buffer, data.byteOffset, data.byteLength))).toBe(0);
      })();
    });
  }
});
