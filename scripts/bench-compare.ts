// Timing and memory of the map comparison (compareGeo) on large generated label rasters: the same CRS, and the later
// date on the neighbouring UTM zone (proj4 per pixel). Usage: node scripts/run-ts.mjs scripts/bench-compare.ts [size]
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TiffWriter } from '../main/engine/io/tiff-writer';
import { compareGeo } from '../main/engine/compare/geo/index';
import type { TimePoint } from '../main/engine/compare/timepoints';
import proj4 from 'proj4';
import { resolveCrs } from '../main/engine/geo/crs';
import type { GeoGeometry } from '../preload/formats';

async function labels(file: string, W: number, H: number, g: GeoGeometry, seed: number): Promise<void> {
  const w = await TiffWriter.open(file, { width: W, height: H, channels: 1, dtype: 'uint8', geometry: g, nodata: 255 });
  for (let y = 0; y < H; y += 256) {
    const h = Math.min(256, H - y);
    const d = new Uint8Array(W * h);
    for (let j = 0; j < h; j++) for (let x = 0; x < W; x++) d[j * W + x] = 1 + ((Math.floor(x / 97 + seed) + Math.floor((y + j) / 89)) % 4);
    await w.writeWindow(0, y, W, h, d);
  }
  await w.close();
}
const tp = (dir: string, input: string): TimePoint => ({ input, date: null, imagePath: '', labelsPath: path.join(dir, `${input}.tif`), resultDir: dir, kind: 'geo', instances: { classes: [1, 2, 3, 4].map((id) => ({ id, name: `c${id}`, color: '#123456' })), instances: [] } });
(async () => {
  const N = Number(process.argv[2] ?? 4096);
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'delineate-bench-compare-'));
  const dir = path.join(root, 'data');
  await fs.mkdir(dir, { recursive: true });
  const a: GeoGeometry = { type: 'geo', geotransform: [500000, 10, 0, 4000000, 0, -10], crs: 'EPSG:32652' };
  const b: GeoGeometry = { type: 'geo', geotransform: [500000 + 2560, 10, 0, 4000000 - 2560, 0, -10], crs: 'EPSG:32652' };
  await labels(path.join(dir, 'a.tif'), N, N, a, 0);
  await labels(path.join(dir, 'b.tif'), N, N, b, 1);
  let t = performance.now();
  let doc = await compareGeo([tp(dir, 'a'), tp(dir, 'b')], { outDir: path.join(root, 'out1'), warnings: [] });
  console.log(`${N}x${N} same CRS: ${((performance.now() - t) / 1000).toFixed(1)} s, ${doc.transitions.length} transitions, ${doc.polygons} polygons, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  // Same land on UTM 51N: the later date's grid origin moved into the other zone.
  const o = proj4(resolveCrs('EPSG:32652').proj4, resolveCrs('EPSG:32651').proj4).forward([500000 + 2560, 4000000 - 2560]);
  const c: GeoGeometry = { type: 'geo', geotransform: [Math.round(o[0]!), 10, 0, Math.round(o[1]!), 0, -10], crs: 'EPSG:32651' };
  await labels(path.join(dir, 'c.tif'), N, N, c, 1);
  t = performance.now();
  doc = await compareGeo([tp(dir, 'a'), tp(dir, 'c')], { outDir: path.join(root, 'out2'), warnings: [] });
  console.log(`${N}x${N} UTM 52N vs 51N: ${((performance.now() - t) / 1000).toFixed(1)} s, overlap ${doc.overlapPixels} px, ${doc.transitions.length} transitions, ${doc.polygons} polygons, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
})().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
