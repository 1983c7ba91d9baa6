// Benchmark of vector export (GeoJSON, GeoPackage, Shapefile) of a windowed run's result folder, streamed from its
// instances.tif block by block (export/vector-stream.ts), beside the in-memory path that loads the folder whole.
//   node scripts/run-ts.mjs scripts/bench-vector-export.ts [--size 20000] [--cell 64] [--formats gpkg,geojson,shp]
//       [--in-memory] [--keep <dir>]
// The result folder is generated strip by strip (TiffWriter, 256 px DEFLATE tiles, as `segment` writes it): a grid
// of fields (one per cell x cell block, some with a hole, some touching their right neighbour) and a full-width road
// every 20 cell rows, ids in raster order of each object's first pixel; uint32 ids when there are more than 65535
// objects (the default: 97,344 at 20000^2). Each export runs in a fresh process (its peak RSS is its own); the last
// line names the figures: seconds and peak RSS per format. --keep reuses (or leaves) the folder at <dir>.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ClassRecord, GeoGeometry, InstanceRecord, InstancesDocument } from '../preload/formats';
import { TiffWriter } from '../main/engine/io/tiff-writer';
import { exportResult, exportResultFolder, loadResultFolder, type ExportFormat } from '../main/engine/export/exporter';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const GSD_M = 0.5;
const geometry: GeoGeometry = { type: 'geo', geotransform: [500000, GSD_M, 0, 5000000, 0, -GSD_M], crs: 'EPSG:32633' };
const STRIP = 256;

interface Box {
  x0: number;
  y0: number;
  /** Exclusive. */
  x1: number;
  y1: number;
  hole: Box | null;
  classId: number;
  id: number;
}

/** Deterministic 0..1 from two integers. */
function hash(i: number, j: number): number {
  let h = Math.imul(i * 73856093 + j * 19349663 + 1, 2654435761) >>> 0;
  h ^= h >>> 15;
  return (Math.imul(h, 2246822519) >>> 0) / 4294967296;
}

/** The fields and roads, ids in raster order of their first pixel. */
function layout(n: number, cell: number): Box[] {
  const boxes: Box[] = [];
  const cells = Math.floor(n / cell);
  for (let j = 0; j < cells; j++) {
    for (let i = 0; i < cells; i++) {
      const touchRight = (i + j) % 5 === 0 && i + 1 < cells;
      const touchLeft = (i - 1 + j) % 5 === 0 && i > 0;
      const inset = (k: number): number => 3 + Math.floor(hash(i * 4 + k, j) * (cell / 5));
      const x0 = i * cell + (touchLeft ? 0 : inset(0));
      const x1 = (i + 1) * cell - (touchRight ? 0 : inset(1));
      const y0 = j * cell + inset(2);
      const y1 = (j + 1) * cell - inset(3);
      const w = x1 - x0;
      const h = y1 - y0;
      const hole = (i * 7 + j * 3) % 7 === 0 && w > 12 && h > 12 ? { x0: x0 + Math.floor(w / 3), y0: y0 + Math.floor(h / 3), x1: x0 + Math.floor((2 * w) / 3), y1: y0 + Math.floor((2 * h) / 3), hole: null, classId: 0, id: 0 } : null;
      boxes.push({ x0, y0, x1, y1, hole, classId: 1, id: 0 });
    }
    if (j > 0 && j % 20 === 0) boxes.push({ x0: 0, y0: j * cell - 1, x1: n, y1: j * cell + 2, hole: null, classId: 2, id: 0 });
  }
  boxes.sort((a, b) => a.y0 - b.y0 || a.x0 - b.x0);
  boxes.forEach((b, k) => (b.id = k + 1));
  return boxes;
}

function record(b: Box): InstanceRecord {
  const holePx = b.hole ? (b.hole.x1 - b.hole.x0) * (b.hole.y1 - b.hole.y0) : 0;
  const pixelCount = (b.x1 - b.x0) * (b.y1 - b.y0) - holePx;
  const perimeterPx = 2 * (b.x1 - b.x0 + b.y1 - b.y0) + (b.hole ? 2 * (b.hole.x1 - b.hole.x0 + b.hole.y1 - b.hole.y0) : 0);
  return {
    id: b.id,
    classId: b.classId,
    className: b.classId === 1 ? 'field' : 'road',
    pixelCount,
    bbox: { min: [b.x0, b.y0], max: [b.x1 - 1, b.y1 - 1] },
    centroidPx: [(b.x0 + b.x1 - 1) / 2, (b.y0 + b.y1 - 1) / 2],
    areaM2: pixelCount * GSD_M * GSD_M,
    areaHa: (pixelCount * GSD_M * GSD_M) / 10000,
    perimeterM: perimeterPx * GSD_M,
    meanProbability: Math.round((0.6 + 0.4 * hash(b.id, 7)) * 1e4) / 1e4,
  };
}

/** Writes labels.tif, instances.tif and instances.json of the layout, strip by strip. */
async function writeFolder(dir: string, n: number, boxes: Box[]): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const wide = boxes.length > 65535;
  const inst = await TiffWriter.open(path.join(dir, 'instances.tif'), { width: n, height: n, channels: 1, dtype: wide ? 'uint32' : 'uint16', geometry }, { description: 'instances: value = id in instances.json, 0 = none', tileSize: 256 });
  const labels = await TiffWriter.open(path.join(dir, 'labels.tif'), { width: n, height: n, channels: 1, dtype: 'uint8', geometry, nodata: 255 }, { description: 'labels: 0=none;1=field;2=road;255=nodata', tileSize: 256 });
  // Boxes by the strips they touch.
  const byStrip: Box[][] = Array.from({ length: Math.ceil(n / STRIP) }, () => []);
  for (const b of boxes) for (let s = Math.floor(b.y0 / STRIP); s <= Math.floor((b.y1 - 1) / STRIP); s++) byStrip[s]!.push(b);
  try {
    for (let s = 0; s < byStrip.length; s++) {
      const y = s * STRIP;
      const h = Math.min(STRIP, n - y);
      const ids = wide ? new Uint32Array(n * h) : new Uint16Array(n * h);
      const lab = new Uint8Array(n * h);
      for (const b of byStrip[s]!) {
        for (let yy = Math.max(y, b.y0); yy < Math.min(y + h, b.y1); yy++) {
          const row = (yy - y) * n;
          ids.fill(b.id, row + b.x0, row + b.x1);
          lab.fill(b.classId, row + b.x0, row + b.x1);
          if (b.hole && yy >= b.hole.y0 && yy < b.hole.y1) {
            ids.fill(0, row + b.hole.x0, row + b.hole.x1);
            lab.fill(0, row + b.hole.x0, row + b.hole.x1);
          }
        }
      }
      await inst.writeWindow(0, y, n, h, ids);
      await labels.writeWindow(0, y, n, h, lab);
    }
    await inst.close();
    await labels.close();
  } catch (err) {
    await inst.abort().catch(() => undefined);
    await labels.abort().catch(() => undefined);
    throw err;
  }
  const records = boxes.map(record);
  const classes: ClassRecord[] = [1, 2].map((c) => {
    const rs = records.filter((r) => r.classId === c);
    const px = rs.reduce((t, r) => t + r.pixelCount, 0);
    return { id: c, name: c === 1 ? 'field' : 'road', color: c === 1 ? '#00ff00' : '#808080', instanceCount: rs.length, pixelCount: px, fraction: px / (n * n), areaM2: px * GSD_M * GSD_M };
  });
  const doc: InstancesDocument = { source: { file: 'fields.tif', kind: 'geo', width: n, height: n, depth: 1, geotransform: geometry.geotransform, crs: geometry.crs }, classes, instances: records };
  writeFileSync(path.join(dir, 'instances.json'), JSON.stringify(doc, null, 2) + '\n');
}

/** Child mode: one export, then its time and peak RSS as JSON on the last line. */
async function child(dir: string, format: ExportFormat, out: string, inMemory: boolean): Promise<void> {
  const t0 = performance.now();
  const written = inMemory ? await exportResult(await loadResultFolder(dir), format, out) : (await exportResultFolder(dir, format, out)).written;
  const seconds = (performance.now() - t0) / 1000;
  const bytes = written.reduce((s, f) => s + statSync(f).size, 0);
  console.log(JSON.stringify({ seconds, peakRssMb: process.resourceUsage().maxRSS / 1024, bytes }));
}

async function main(): Promise<void> {
  if (process.argv[2] === '--child') {
    await child(process.argv[3]!, process.argv[4] as ExportFormat, process.argv[5]!, process.argv[6] === 'memory');
    return;
  }
  const n = Number(arg('size') ?? 20000);
  const cell = Number(arg('cell') ?? 64);
  const formats = (arg('formats') ?? 'gpkg,geojson,shp').split(',') as ExportFormat[];
  const keep = arg('keep');
  const work = mkdtempSync(path.join(os.tmpdir(), 'delineate-bench-vector-'));
  const dir = keep ?? path.join(work, 'result');
  try {
    const boxes = layout(n, cell);
    if (!existsSync(path.join(dir, 'instances.json'))) {
      const t0 = performance.now();
      await writeFolder(dir, n, boxes);
      console.log(`generated ${n}x${n} result folder with ${boxes.length} objects in ${((performance.now() - t0) / 1000).toFixed(1)} s: instances.tif ${(statSync(path.join(dir, 'instances.tif')).size / 2 ** 20).toFixed(0)} MB (${boxes.length > 65535 ? 'uint32' : 'uint16'}, ${((n * n * (boxes.length > 65535 ? 4 : 2)) / 2 ** 30).toFixed(2)} GiB as ids)`);
    } else console.log(`reusing ${dir}`);
    const figures: string[] = [];
    const modes = process.argv.includes('--in-memory') ? ['stream', 'memory'] : ['stream'];
    for (const format of formats) {
      for (const mode of modes) {
        const out = path.join(work, `out-${mode}.${format}`);
        // Through process.argv[1]: the bundle run-ts.mjs made of this script.
        const r = spawnSync(process.execPath, [process.argv[1]!, '--child', dir, format, out, mode], { encoding: 'utf8' });
        if (r.status !== 0) {
          console.log(`${format} (${mode}): failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
          figures.push(`${format} ${mode} failed`);
          continue;
        }
        const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { seconds: number; peakRssMb: number; bytes: number };
        console.log(`${format} (${mode === 'stream' ? 'streamed from instances.tif' : 'whole folder in memory'}): ${res.seconds.toFixed(1)} s, peak RSS ${res.peakRssMb.toFixed(0)} MB, ${(res.bytes / 2 ** 20).toFixed(0)} MB written`);
        figures.push(`${format}${mode === 'memory' ? ' in memory' : ''} ${res.seconds.toFixed(1)} s / ${res.peakRssMb.toFixed(0)} MB`);
      }
    }
    console.log(`vector-export ${n}x${n}, ${boxes.length} objects: ${figures.join(', ')} (peak RSS)`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
