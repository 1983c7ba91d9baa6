// `delineate compare` on the Sentinel-2 Korea patches of ../shared: 202309 and 202412 patches that overlap in part,
// the later one's labels edited (the dataset draws one static map on both dates, so there is no change to find
// otherwise). From-to tables against an independent GDAL (gdalwarp nearest, exact transformer) + pyproj (Geod area of
// every pixel) computation (test/compare-geo-oracle.py), and against a copy of the later date warped to another UTM
// zone (every transition above 10 ha within 2%: two nearest resamplings cost thin classes a little).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { GeoGeometry, ManifestClass } from '../../preload/formats';
import { main } from '../../main/cli/index';
import { openImage } from '../../main/engine/io/index';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { measureFiles } from '../../main/engine/pipeline';
import type { GeoChangeDocument } from '../../main/engine/compare/geo/index';
import { hasGdal, repoRoot, sharedDir, skipNote, tempDir } from './helpers';
import { hasPyproj, hasPythonGdal } from './geo-oracle';

const DATA = path.join(sharedDir, 'data', 'landcover-sentinel2-korea');
const hasData = existsSync(path.join(DATA, 'labels'));
const hasGdalwarp = hasGdal && spawnSync('gdalwarp', ['--version']).status === 0;
const skip = !hasData || !hasGdalwarp || !hasPythonGdal || !hasPyproj;
const why = !hasData ? '../shared/data/landcover-sentinel2-korea missing' : 'GDAL (gdalwarp, python3-gdal) or python3-pyproj missing';
const ORACLE = path.join(repoRoot, 'test', 'compare-geo-oracle.py');

const CLASSES: ManifestClass[] = [
  { name: 'building', color: '#ff0000' },
  { name: 'road', color: '#ffff00' },
  { name: 'field', color: '#00ff00' },
  { name: 'forest', color: '#006400' },
];

interface Patch {
  k: string;
  image: string;
  labels: string;
  gt: GeoGeometry['geotransform'];
  width: number;
  height: number;
}

async function patches(month: string): Promise<Patch[]> {
  const out: Patch[] = [];
  for (const f of readdirSync(path.join(DATA, 'labels')).filter((n) => n.startsWith(`${month}_mask_`))) {
    const k = /_mask_(\d+)\.tif$/.exec(f)![1]!;
    const src = await openImage(path.join(DATA, 'labels', f));
    try {
      const g = src.geometry as GeoGeometry;
      out.push({ k, image: path.join(DATA, 'images', `${month}_patchN_${k}.tif`), labels: path.join(DATA, 'labels', f), gt: g.geotransform, width: src.width, height: src.height });
    } finally {
      await src.close();
    }
  }
  return out;
}

/** Overlap of two north-up grids in map units [x0, y0, x1, y1] (y0 the top), or null. */
function overlap(a: Patch, b: Patch): [number, number, number, number] | null {
  const x0 = Math.max(a.gt[0], b.gt[0]);
  const x1 = Math.min(a.gt[0] + a.width * a.gt[1], b.gt[0] + b.width * b.gt[1]);
  const y0 = Math.min(a.gt[3], b.gt[3]);
  const y1 = Math.max(a.gt[3] + a.height * a.gt[5], b.gt[3] + b.height * b.gt[5]);
  return x1 > x0 && y0 > y1 ? [x0, y0, x1, y1] : null;
}

async function run(...args: string[]): Promise<{ code: number; stderr: string }> {
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  try {
    return { code: await main(['compare', ...args]), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

interface OracleResult {
  transitions: Array<{ from: number; to: number; pixels: number; areaHa: number }>;
  overlapPixels: number;
  overlapHa: number;
}

function oracle(earlier: string, later: string): OracleResult {
  const r = spawnSync('/usr/bin/python3', [ORACLE, earlier, later], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as OracleResult;
}

describe.skipIf(skip)(`compare on Sentinel-2 Korea date pairs${skipNote(skip, why)}`, () => {
  const tmp = tempDir('delineate-compare-s2-');
  afterAll(() => tmp.cleanup());
  const at = (...p: string[]): string => path.join(tmp.dir, ...p);
  const found: Array<{ a: Patch; b: Patch; box: [number, number, number, number] }> = [];
  const direct = new Map<string, GeoChangeDocument>();

  it('finds 202309/202412 patches that overlap in part', async () => {
    const early = await patches('202309');
    const late = await patches('202412');
    for (const a of early) {
      for (const b of late) {
        const box = overlap(a, b);
        if (!box) continue;
        const share = ((box[2] - box[0]) * (box[1] - box[3])) / (a.width * a.gt[1] * a.height * -a.gt[5]);
        if (share > 0.05 && share < 0.95) found.push({ a, b, box });
      }
    }
    // The largest overlaps first; two pairs keep the run short.
    found.sort((p, q) => (q.box[2] - q.box[0]) * (q.box[1] - q.box[3]) - (p.box[2] - p.box[0]) * (p.box[1] - p.box[3]));
    found.splice(2);
    expect(found.length).toBe(2);
  });

  it('from-to areas equal GDAL warp + pyproj Geod per-pixel areas within 0.1%', async () => {
    for (const { a, b, box } of found) {
      // Edit the later labels inside the overlap: forest -> field in the west half, a built-up block in the middle,
      // field -> forest in the north-east quarter (so field both gains and loses: swap).
      const src = await openImage(b.labels);
      const labels = Uint8Array.from((await src.read()).data);
      const geometry = src.geometry as GeoGeometry;
      await src.close();
      const c0 = Math.round((box[0] - b.gt[0]) / b.gt[1]);
      const c1 = Math.round((box[2] - b.gt[0]) / b.gt[1]);
      const r0 = Math.round((box[1] - b.gt[3]) / b.gt[5]);
      const r1 = Math.round((box[3] - b.gt[3]) / b.gt[5]);
      const cm = Math.floor((c0 + c1) / 2);
      const rm = Math.floor((r0 + r1) / 2);
      for (let y = r0; y < r1; y++) {
        for (let x = c0; x < c1; x++) {
          const i = y * b.width + x;
          if (x < cm && labels[i] === 4) labels[i] = 3;
          else if (x >= cm && y < rm && labels[i] === 3) labels[i] = 4;
        }
      }
      for (let y = rm - 15; y < rm + 15; y++) for (let x = cm - 20; x < cm + 20; x++) labels[y * b.width + x] = 1;
      const edited = at(`202412_mask_${b.k}_edited.tif`);
      await writeTiff(edited, { data: labels, width: b.width, height: b.height, depth: 1, channels: 1, geometry, nodata: 255 });
      const ra = at(`r202309_${a.k}`);
      const rb = at(`r202412_${b.k}`);
      await measureFiles(a.image, a.labels, ra, { classes: CLASSES });
      await measureFiles(b.image, edited, rb, { classes: CLASSES });
      const out = at(`change_${a.k}_${b.k}`);
      const started = performance.now();
      const r = await run(rb, ra, '--out', out);
      const seconds = (performance.now() - started) / 1000;
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(readFileSync(path.join(out, 'change.json'), 'utf8')) as GeoChangeDocument;
      expect(doc.timepoints.map((t) => t.date)).toEqual(['2023-09', '2024-12']);
      const want = oracle(a.labels, edited);
      expect(doc.overlapPixels).toBe(want.overlapPixels);
      expect(doc.transitions.map((t) => [t.from, t.to, t.pixels])).toEqual(want.transitions.map((t) => [t.from, t.to, t.pixels]));
      let worst = 0;
      for (const t of want.transitions) {
        const got = doc.transitions.find((x) => x.from === t.from && x.to === t.to)!;
        worst = Math.max(worst, Math.abs(got.areaHa - t.areaHa) / t.areaHa);
      }
      expect(worst).toBeLessThan(0.001);
      expect(doc.transitions.some((t) => t.from === 4 && t.to === 3 && t.areaHa > 10)).toBe(true);
      expect(doc.swapHa['3']).toBeGreaterThan(0);
      console.log(`compare 202309_${a.k} vs 202412_${b.k}: ${doc.overlapPixels} px valid on both, ${doc.transitions.length} transitions, worst relative area difference vs GDAL+pyproj ${worst.toExponential(2)}, ${seconds.toFixed(2)} s`);
      direct.set(`${a.k}_${b.k}`, doc);
    }
  });

  it('a copy of the later date warped to another UTM zone gives every transition above 10 ha within 2%', async () => {
    for (const { a, b } of found) {
      const edited = at(`202412_mask_${b.k}_edited.tif`);
      const warped = at(`202412_mask_${b.k}_utm51.tif`);
      const w = spawnSync('gdalwarp', ['-q', '-t_srs', 'EPSG:32651', '-r', 'near', '-tr', '10', '10', '-srcnodata', '255', '-dstnodata', '255', edited, warped], { encoding: 'utf8' });
      expect(w.status, w.stderr).toBe(0);
      const rw = at(`r202412_${b.k}_utm51`);
      // The warped labels serve as their own image: only the label map matters for the comparison.
      await measureFiles(warped, warped, rw, { classes: CLASSES });
      const out = at(`change_${a.k}_${b.k}_utm51`);
      const r = await run(at(`r202309_${a.k}`), rw, '--out', out, '--dates', '2023-09-01,2024-12-01');
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(readFileSync(path.join(out, 'change.json'), 'utf8')) as GeoChangeDocument;
      const ref = direct.get(`${a.k}_${b.k}`)!;
      const big = ref.transitions.filter((t) => t.areaHa > 10);
      expect(big.length).toBeGreaterThan(1);
      let worst = 0;
      for (const t of big) {
        const got = doc.transitions.find((x) => x.from === t.from && x.to === t.to);
        expect(got, `${t.from}->${t.to}`).toBeDefined();
        worst = Math.max(worst, Math.abs(got!.areaHa - t.areaHa) / t.areaHa);
      }
      expect(worst).toBeLessThan(0.02);
      // Across CRSs the pixel-centre rule still picks GDAL's pixels: the oracle warps the UTM 51N copy back itself.
      const want = oracle(a.labels, warped);
      const differing = want.transitions.reduce((n, t) => n + Math.abs((doc.transitions.find((x) => x.from === t.from && x.to === t.to)?.pixels ?? 0) - t.pixels), 0);
      let worstOracle = 0;
      for (const t of want.transitions) {
        const got = doc.transitions.find((x) => x.from === t.from && x.to === t.to);
        expect(got, `${t.from}->${t.to}`).toBeDefined();
        worstOracle = Math.max(worstOracle, Math.abs(got!.areaHa - t.areaHa) / t.areaHa);
      }
      expect(doc.overlapPixels).toBe(want.overlapPixels);
      expect(worstOracle).toBeLessThan(0.001);
      console.log(
        `compare 202309_${a.k} vs 202412_${b.k} warped to UTM 51N: ${big.length} transitions > 10 ha, worst difference ${(worst * 100).toFixed(3)}% vs the direct comparison; ` +
          `vs GDAL+pyproj on the warped copy: ${differing} pixel counts differ, worst relative area difference ${worstOracle.toExponential(2)}`,
      );
    }
  });

  const modelFile = path.join(repoRoot, 'models', 'landcover-sentinel2-korea', 'manifest.json');
  it.skipIf(!existsSync(modelFile))(`segments images given with --model first, then compares${skipNote(!existsSync(modelFile), 'the shipped Sentinel-2 model is missing')}`, async () => {
    const { a, b } = found[0]!;
    const out = at('model-change');
    const r = await run(b.image, a.image, '--model', 'landcover-sentinel2-korea', '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(path.join(out, 'change.json'), 'utf8')) as GeoChangeDocument;
    expect(doc.timepoints).toEqual([
      { input: a.image, date: '2023-09' },
      { input: b.image, date: '2024-12' },
    ]);
    // The segmentations are kept with the change, one result folder per date in command-line order.
    const kept = readdirSync(path.join(out, 'timepoints')).sort();
    expect(kept).toEqual([`t0-202412_patchN_${b.k}`, `t1-202309_patchN_${a.k}`]);
    for (const k of kept) expect(existsSync(path.join(out, 'timepoints', k, 'labels.tif'))).toBe(true);
    expect(doc.transitions.reduce((n, t) => n + t.pixels, 0)).toBe(doc.overlapPixels);
    expect(doc.overlapPixels).toBe(direct.get(`${a.k}_${b.k}`)!.overlapPixels);
  });
});
