// GDAL / pyproj oracles for the geo tests: raw pixels through gdal_translate -of ENVI (band-sequential, the same
// layout as our channel-planar arrays), georeferencing through gdalinfo -json, CRS equality through osr.IsSame.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { commandWorks } from './helpers';

export const hasPythonGdal = commandWorks('/usr/bin/python3', ['-c', 'from osgeo import gdal, osr']);
export const hasPyproj = commandWorks('/usr/bin/python3', ['-c', 'import pyproj']);

/** Pixels as GDAL reads them: band-sequential bytes of the window (all bands, or `bands` 1-based, or "mask"). */
export function gdalPixels(file: string, tmpDir: string, opts: { srcwin?: [number, number, number, number]; ovr?: number; bands?: Array<number | 'mask'> } = {}): Buffer {
  const out = path.join(tmpDir, `oracle-${Math.random().toString(36).slice(2)}.bin`);
  const args = ['-q', '-of', 'ENVI', '-co', 'INTERLEAVE=BSQ', '-a_ullr', '0', '1', '1', '0'];
  if (opts.srcwin) args.push('-srcwin', ...opts.srcwin.map(String));
  if (opts.ovr !== undefined) args.push('-ovr', String(opts.ovr));
  for (const b of opts.bands ?? []) args.push('-b', String(b));
  const r = spawnSync('gdal_translate', [...args, file, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gdal_translate failed: ${r.stderr}`);
  return readFileSync(out);
}

export interface GdalInfo {
  size: [number, number];
  geoTransform?: number[];
  coordinateSystem?: { wkt: string };
  wgs84Extent?: { coordinates: number[][][] };
  bands: Array<{ type: string; noDataValue?: number | string; overviews?: Array<{ size: [number, number] }> }>;
}

export function gdalinfo(file: string): GdalInfo {
  const r = spawnSync('gdalinfo', ['-json', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`gdalinfo failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as GdalInfo;
}

/** Runs a Python snippet with Debian's python3 (GDAL, pyproj); args land in sys.argv[1:]; stdout parsed as JSON. */
export function python<T>(code: string, ...args: string[]): T {
  const r = spawnSync('/usr/bin/python3', ['-c', code, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** Whether GDAL considers the CRS of file a the same as CRS text b (EPSG:n or WKT). */
export function sameCrs(file: string, crs: string): boolean {
  return python<boolean>(
    `import sys, json
from osgeo import gdal, osr
gdal.UseExceptions()
a = gdal.Open(sys.argv[1]).GetSpatialRef()
b = osr.SpatialReference(); b.SetFromUserInput(sys.argv[2])
for s in (a, b): s.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
print(json.dumps(bool(a.IsSame(b, ['IGNORE_DATA_AXIS_TO_SRS_AXIS_MAPPING=YES', 'CRITERION=EQUIVALENT_EXCEPT_AXIS_ORDER_GEOGCRS']))))`,
    file,
    crs,
  );
}

/** Bytes of a typed array (little-endian, as gdal_translate writes ENVI on this machine). */
export function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Largest absolute difference between two byte buffers read as uint8 (for lossy JPEG comparisons). */
export function maxByteDiff(a: Buffer, b: Buffer): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
