// `delineate compare` on generated georeferenced results: a known edit on one grid (exact counts, areas against the
// geodesic area of the edited rectangle, the change raster, CSV and polygons, --min-area), a later date on another UTM
// zone at another resolution overlapping in part, building objects (new, demolished, changed), dates and their order,
// and the refusals: classes renamed between dates or no overlap exit 2 with one line and write nothing.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import proj4 from 'proj4';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { GeoGeometry, ManifestClass } from '../../preload/formats';
import { main } from '../../main/cli/index';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { measureFiles } from '../../main/engine/pipeline';
import { polygonAreaM2 } from '../../main/engine/measure/geodesy';
import { resolveCrs } from '../../main/engine/geo/crs';
import { dateFromName, imageDate, parseDateText } from '../../main/engine/compare/timepoints';
import { writeCtSeries } from '../fixtures/dicom-writer';
import { newSession, saveSession } from '../../main/engine/session/session';
import type { GeoChangeDocument } from '../../main/engine/compare/geo/index';
import { hasGdal, readBand0, skipNote, tempDir } from './helpers';

const tmp = tempDir('delineate-compare-geo-');
afterAll(() => tmp.cleanup());
const at = (...p: string[]): string => path.join(tmp.dir, ...p);

const CLASSES: ManifestClass[] = [
  { name: 'building', color: '#ff0000' },
  { name: 'road', color: '#ffff00' },
  { name: 'field', color: '#00ff00' },
  { name: 'forest', color: '#006400' },
];

/** A result folder as `measure` makes it, from a label map (uint8, 255 = nodata) on a georeferenced grid. */
async function resultFolder(name: string, labels: Uint8Array, W: number, H: number, geometry: GeoGeometry, options: { classes?: ManifestClass[]; instances?: boolean } = {}): Promise<string> {
  const image = at(`${name}.tif`);
  const labelsFile = at(`${name}-labels.tif`);
  await writeTiff(image, { data: labels.map((v) => (v === 255 ? 0 : v * 50)), width: W, height: H, depth: 1, channels: 1, geometry });
  await writeTiff(labelsFile, { data: labels, width: W, height: H, depth: 1, channels: 1, geometry, nodata: 255 });
  const out = at(`${name}-result`);
  await measureFiles(image, labelsFile, out, { classes: options.classes ?? CLASSES, ...(options.instances ? { labelsAre: 'instances' as const, classOfInstance: new Map() } : {}) });
  return out;
}

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
  try {
    const code = await main(['compare', ...args]);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

const readJson = (dir: string): GeoChangeDocument => JSON.parse(readFileSync(path.join(dir, 'change.json'), 'utf8')) as GeoChangeDocument;
const pair = (doc: Pick<GeoChangeDocument, 'transitions'>, from: number, to: number) => doc.transitions.find((t) => t.from === from && t.to === to);

/** Features of a GeoPackage layer, through sql.js (the writer's own SQLite). */
async function gpkgRows(file: string, sql: string): Promise<unknown[][]> {
  const { default: initSqlJs } = await import('sql.js');
  const SQL = await initSqlJs();
  const db = new SQL.Database(readFileSync(file));
  try {
    return db.exec(sql)[0]?.values ?? [];
  } finally {
    db.close();
  }
}

describe('compare: one grid, a known edit', () => {
  // 64 x 300 px of 10 m on UTM 33N: fields west, forest east, a road along the top. The later date has a 20 x 20
  // building block in the field across the 256-row strip border, and its last 10 rows are nodata.
  const W = 64;
  const H = 300;
  const geometry: GeoGeometry = { type: 'geo', geotransform: [500000, 10, 0, 5200000, 0, -10], crs: 'EPSG:32633' };
  const before = new Uint8Array(W * H).map((_, i) => (Math.floor(i / W) < 20 ? 2 : i % W < 32 ? 3 : 4));
  const after = before.slice();
  for (let y = 246; y < 266; y++) for (let x = 10; x < 30; x++) after[y * W + x] = 1;
  after.fill(255, 290 * W);
  const block: Array<[number, number]> = [
    [500100, 5200000 - 2460],
    [500300, 5200000 - 2460],
    [500300, 5200000 - 2660],
    [500100, 5200000 - 2660],
  ];
  let r0 = '';
  let r1 = '';

  it('counts every from-to pixel exactly and measures the edit as its geodesic rectangle', async () => {
    r0 = await resultFolder('grid-202309', before, W, H, geometry);
    r1 = await resultFolder('grid-202412', after, W, H, geometry);
    const out = at('grid-change');
    const r = await run(r1, r0, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const doc = readJson(out);
    expect(doc.kind).toBe('geo');
    expect(doc.timepoints.map((t) => t.date)).toEqual(['2023-09', '2024-12']);
    expect(doc.timepoints[0]!.input).toBe(r0);
    expect(doc.overlapPixels).toBe(W * 290);
    expect(doc.transitions.map((t) => [t.from, t.to, t.pixels])).toEqual([
      [2, 2, 64 * 20],
      [3, 1, 400],
      [3, 3, 32 * 270 - 400],
      [4, 4, 32 * 270],
    ]);
    const t31 = pair(doc, 3, 1)!;
    expect(t31).toMatchObject({ fromName: 'field', toName: 'building' });
    const blockM2 = polygonAreaM2(block, 'EPSG:32633').areaM2;
    expect(Math.abs(t31.areaHa * 1e4 - blockM2) / blockM2).toBeLessThan(1e-4);
    const overlapM2 = polygonAreaM2([[500000, 5200000], [500640, 5200000], [500640, 5197100], [500000, 5197100]], 'EPSG:32633').areaM2;
    expect(Math.abs(doc.overlapHa * 1e4 - overlapM2) / overlapM2).toBeLessThan(1e-4);
    expect(doc.netHa['1']).toBeCloseTo(t31.areaHa, 8);
    expect(doc.netHa['3']).toBeCloseTo(-t31.areaHa, 8);
    expect(doc.grossHa['3']).toBeCloseTo(t31.areaHa, 8);
    expect(doc.swapHa['3']).toBe(0);
    expect(doc.changedHa).toBeCloseTo(t31.areaHa, 8);

    const csv = readFileSync(path.join(out, 'change.csv'), 'utf8').trim().split('\r\n');
    expect(csv[0]).toBe('from,fromName,to,toName,pixels,areaHa');
    expect(csv).toHaveLength(doc.transitions.length + 1);
    expect(csv).toContain(`3,field,1,building,400,${t31.areaHa}`);

    const tif = await readBand0(path.join(out, 'change.tif'));
    expect([tif.width, tif.height]).toEqual([W, H]);
    expect(tif.data[255 * W + 15]).toBe(301);
    expect(tif.data[256 * W + 15]).toBe(301);
    expect(tif.data[100 * W + 40]).toBe(404);
    expect(tif.data[295 * W + 5]).toBe(65535);

    const rows = await gpkgRows(path.join(out, 'change.gpkg'), 'SELECT "from", "to", pixels, areaHa FROM change');
    expect(rows).toEqual([[3, 1, 400, t31.areaHa]]);
  });

  it.skipIf(!hasGdal)(`writes a colour table and the nodata value GDAL reads${skipNote(!hasGdal, 'gdalinfo missing')}`, () => {
    const info = JSON.parse(spawnSync('gdalinfo', ['-json', at('grid-change', 'change.tif')], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).stdout) as { bands: Array<{ type: string; noDataValue?: number; colorTable?: { count: number; entries: number[][] } }> };
    const band = info.bands[0]!;
    expect(band.type).toBe('UInt16');
    expect(band.noDataValue).toBe(65535);
    expect(band.colorTable?.entries[301]?.slice(0, 3)).toEqual([255, 0, 0]);
  });

  it('--min-area drops change polygons smaller than the minimum mapping unit, not the table', async () => {
    const out = at('grid-change-mmu');
    const r = await run(r0, r1, '--out', out, '--min-area', '50000');
    expect(r.code, r.stderr).toBe(0);
    const doc = readJson(out);
    expect(doc.polygons).toBe(0);
    expect(pair(doc, 3, 1)!.pixels).toBe(400);
    expect(await gpkgRows(path.join(out, 'change.gpkg'), 'SELECT count(*) FROM change')).toEqual([[0]]);
  });

  it('a saved session counts with its edits: the building block set back to forest', async () => {
    const doc = JSON.parse(readFileSync(path.join(r1, 'instances.json'), 'utf8')) as { source: { file: string }; instances: Array<{ id: number; className: string }> };
    const block = doc.instances.find((r) => r.className === 'building')!;
    const session = await newSession(doc.source.file, { result: r1 });
    session.edits.push({ op: 'setInstanceClass', instanceId: block.id, classId: 4 });
    const file = at('grid-edited.session.json');
    await saveSession(file, session);
    const out = at('grid-session-change');
    const r = await run(r0, file, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const change = readJson(out);
    expect(change.timepoints).toEqual([
      { input: r0, date: '2023-09' },
      { input: file, date: '2024-12' },
    ]);
    expect(pair(change, 3, 4)!.pixels).toBe(400);
    expect(change.transitions.some((t) => t.to === 1)).toBe(false);
    // The edited result is kept beside the change files.
    expect(readdirSync(path.join(out, 'timepoints'))).toEqual(['t1-grid-edited.session']);
  });

  it('renamed classes: one line naming the difference, exit 2, nothing written', async () => {
    const renamed = await resultFolder('grid-renamed-202412', after, W, H, geometry, { classes: CLASSES.map((c) => (c.name === 'forest' ? { ...c, name: 'woodland' } : c)) });
    const out = at('refused', 'change');
    const r = await run(r0, renamed, '--out', out);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/class 4 is "forest" in .* but "woodland" in /);
    expect(existsSync(at('refused'))).toBe(false);
  });

  it('a class that exists on one date only is not a mismatch', async () => {
    const fewer = await resultFolder('grid-fewer-202412', after, W, H, geometry, { classes: CLASSES.slice(0, 3).concat({ name: 'forest', color: '#006400' }, { name: 'water', color: '#0000ff' }) });
    const r = await run(r0, fewer, '--out', at('grid-extra-class'));
    expect(r.code, r.stderr).toBe(0);
  });

  it('no overlap: one line, exit 2, nothing written', async () => {
    const far: GeoGeometry = { ...geometry, geotransform: [600000, 10, 0, 5200000, 0, -10] };
    const elsewhere = await resultFolder('far-202412', after, W, H, far);
    const before0 = readdirSync(tmp.dir).sort();
    const r = await run(r0, elsewhere, '--out', at('no-overlap'));
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/does not overlap/);
    expect(readdirSync(tmp.dir).sort()).toEqual(before0);
  });
});

describe('compare: another UTM zone, another resolution, partial overlap', () => {
  // Earlier date: 10 m on UTM 33N; later date: 20 m on UTM 34N, shifted east so the two overlap in part. The land is a
  // function of lon/lat (field west of 18.0°E, forest east of it) with a building area the later date adds.
  const crsA = 'EPSG:32633';
  const crsB = 'EPSG:32634';
  const toA = proj4(resolveCrs('EPSG:4326').proj4, resolveCrs(crsA).proj4);
  const toB = proj4(resolveCrs('EPSG:4326').proj4, resolveCrs(crsB).proj4);
  const aToB = proj4(resolveCrs(crsA).proj4, resolveCrs(crsB).proj4);
  const bToLl = proj4(resolveCrs(crsB).proj4, resolveCrs('EPSG:4326').proj4);
  const aToLl = proj4(resolveCrs(crsA).proj4, resolveCrs('EPSG:4326').proj4);
  const [ax, ay] = toA.forward([17.99, 46.01]);
  const [bx, by] = toB.forward([17.998, 46.012]);
  const WA = 200;
  const HA = 150;
  const WB = 100;
  const HB = 80;
  const gA: GeoGeometry = { type: 'geo', geotransform: [Math.round(ax!), 10, 0, Math.round(ay!), 0, -10], crs: crsA };
  const gB: GeoGeometry = { type: 'geo', geotransform: [Math.round(bx!), 20, 0, Math.round(by!), 0, -20], crs: crsB };
  const land = (lon: number, lat: number, edited: boolean): number => {
    if (edited && lon > 18.002 && lon < 18.01 && lat > 46.0 && lat < 46.006) return 1;
    return lon < 18.0 ? 3 : 4;
  };
  const mapA = new Uint8Array(WA * HA);
  for (let y = 0; y < HA; y++) {
    for (let x = 0; x < WA; x++) {
      const [lon, lat] = aToLl.forward([gA.geotransform[0] + (x + 0.5) * 10, gA.geotransform[3] - (y + 0.5) * 10]);
      mapA[y * WA + x] = land(lon!, lat!, false);
    }
  }
  const mapB = new Uint8Array(WB * HB);
  for (let y = 0; y < HB; y++) {
    for (let x = 0; x < WB; x++) {
      const [lon, lat] = bToLl.forward([gB.geotransform[0] + (x + 0.5) * 20, gB.geotransform[3] - (y + 0.5) * 20]);
      mapB[y * WB + x] = land(lon!, lat!, true);
    }
  }

  it('resamples the later date onto the earlier grid at pixel centres and measures the added area', async () => {
    const r0 = await resultFolder('zoneA-20230901', mapA, WA, HA, gA);
    const r1 = await resultFolder('zoneB-20241201', mapB, WB, HB, gB);
    const out = at('zones-change');
    const r = await run(r0, r1, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const doc = readJson(out);
    expect(doc.grid.crs).toBe(crsA);
    expect([doc.grid.width, doc.grid.height]).toEqual([WA, HA]);
    // The earlier grid's pixels whose centre falls inside the later raster, and the later pixel each one takes.
    const tif = await readBand0(path.join(out, 'change.tif'));
    let inside = 0;
    let agree = 0;
    for (let y = 0; y < HA; y++) {
      for (let x = 0; x < WA; x++) {
        const [mx, my] = aToB.forward([gA.geotransform[0] + (x + 0.5) * 10, gA.geotransform[3] - (y + 0.5) * 10]);
        const u = (mx! - gB.geotransform[0]) / 20;
        const v = (gB.geotransform[3] - my!) / 20;
        const code = tif.data[y * WA + x]!;
        if (u < 0 || v < 0 || u >= WB || v >= HB) {
          expect(code).toBe(65535);
          continue;
        }
        inside++;
        if (code === mapA[y * WA + x]! * 100 + mapB[Math.floor(v) * WB + Math.floor(u)]!) agree++;
      }
    }
    expect(inside).toBeGreaterThan(0.2 * WA * HA);
    expect(inside).toBeLessThan(0.8 * WA * HA);
    expect(doc.overlapPixels).toBe(inside);
    // Pixels exactly on a later pixel's edge may round either way; nearly all must agree.
    expect(agree / inside).toBeGreaterThan(0.999);
    // The building area (a lon/lat box inside the overlap, measured geodesically) against what the comparison found:
    // nearest resampling of 20 m pixels moves each edge by up to 10 m.
    const box: Array<[number, number]> = [
      [18.002, 46.0],
      [18.01, 46.0],
      [18.01, 46.006],
      [18.002, 46.006],
    ];
    const trueM2 = polygonAreaM2(box.map(([lon, lat]) => toA.forward([lon, lat]) as [number, number]), crsA).areaM2;
    const added = doc.transitions.filter((t) => t.to === 1).reduce((s, t) => s + t.areaHa * 1e4, 0);
    expect(Math.abs(added - trueM2) / trueM2).toBeLessThan(0.06);
    expect(pair(doc, 4, 1)!.pixels).toBeGreaterThan(0);
    expect(doc.netHa['1']).toBeGreaterThan(0);

    // Rasters above the streaming threshold read change.tif back strip by strip for the polygons: same features.
    const before = process.env.DELINEATE_STREAMING_THRESHOLD_PX;
    process.env.DELINEATE_STREAMING_THRESHOLD_PX = '0';
    try {
      const streamedOut = at('zones-change-streamed');
      const s = await run(r0, r1, '--out', streamedOut);
      expect(s.code, s.stderr).toBe(0);
      const query = 'SELECT fid, "from", "to", pixels, areaHa, hex(geom) FROM change ORDER BY fid';
      const inMemory = await gpkgRows(path.join(out, 'change.gpkg'), query);
      expect(inMemory.length).toBeGreaterThan(0);
      expect(await gpkgRows(path.join(streamedOut, 'change.gpkg'), query)).toEqual(inMemory);
      expect(readJson(streamedOut).transitions).toEqual(doc.transitions);
    } finally {
      if (before === undefined) delete process.env.DELINEATE_STREAMING_THRESHOLD_PX;
      else process.env.DELINEATE_STREAMING_THRESHOLD_PX = before;
    }
  });
});

describe('compare: streamed change polygons on a tall raster', () => {
  it('pieces in the rolling window and pieces taller than it give the in-memory features', async () => {
    // 12 x 1300 px: a stripe changed over the full height (taller than two 512-row strips) plus small blocks in
    // every strip and one across a strip border.
    const W = 12;
    const H = 1300;
    const geometry: GeoGeometry = { type: 'geo', geotransform: [300000, 5, 0, 6000000, 0, -5], crs: 'EPSG:32632' };
    const before = new Uint8Array(W * H).fill(3);
    const after = before.slice();
    for (let y = 0; y < H; y++) after[y * W + 1] = 4;
    for (const y0 of [10, 500, 700, 1020, 1290]) for (let y = y0; y < y0 + 8; y++) for (let x = 5; x < 9; x++) after[y * W + x] = 1;
    const r0 = await resultFolder('tall-20200101', before, W, H, geometry);
    const r1 = await resultFolder('tall-20210101', after, W, H, geometry);
    const memory = await run(r0, r1, '--out', at('tall-memory'));
    expect(memory.code, memory.stderr).toBe(0);
    const previous = process.env.DELINEATE_STREAMING_THRESHOLD_PX;
    process.env.DELINEATE_STREAMING_THRESHOLD_PX = '0';
    try {
      const streamed = await run(r0, r1, '--out', at('tall-streamed'));
      expect(streamed.code, streamed.stderr).toBe(0);
    } finally {
      if (previous === undefined) delete process.env.DELINEATE_STREAMING_THRESHOLD_PX;
      else process.env.DELINEATE_STREAMING_THRESHOLD_PX = previous;
    }
    const query = 'SELECT fid, "from", "to", pixels, areaHa, hex(geom) FROM change ORDER BY fid';
    const inMemory = await gpkgRows(at('tall-memory', 'change.gpkg'), query);
    expect(inMemory.map((r) => [r[1], r[2], r[3]])).toEqual([[3, 4, 1300], [3, 1, 32], [3, 1, 32], [3, 1, 32], [3, 1, 32], [3, 1, 32]]);
    expect(await gpkgRows(at('tall-streamed', 'change.gpkg'), query)).toEqual(inMemory);
  });
});

describe('compare: a geographic (lon/lat) earlier date', () => {
  it('takes the lon/lat grid as the common grid and measures its pixels on the ellipsoid', async () => {
    // 0.0001° pixels at 46°N (about 7.7 x 11.1 m); the later date is 10 m UTM 33N over the same ground.
    const gA: GeoGeometry = { type: 'geo', geotransform: [14.99, 0.0001, 0, 46.01, 0, -0.0001], crs: 'EPSG:4326' };
    const WA = 200;
    const HA = 100;
    const mapA = new Uint8Array(WA * HA).fill(3);
    const toUtm = proj4(resolveCrs('EPSG:4326').proj4, resolveCrs('EPSG:32633').proj4);
    const [ox, oy] = toUtm.forward([14.985, 46.015]);
    const gB: GeoGeometry = { type: 'geo', geotransform: [Math.round(ox!), 10, 0, Math.round(oy!), 0, -10], crs: 'EPSG:32633' };
    const utmToLl = proj4(resolveCrs('EPSG:32633').proj4, resolveCrs('EPSG:4326').proj4);
    const WB = 300;
    const HB = 200;
    const mapB = new Uint8Array(WB * HB);
    for (let y = 0; y < HB; y++) {
      for (let x = 0; x < WB; x++) {
        const [lon] = utmToLl.forward([gB.geotransform[0] + (x + 0.5) * 10, gB.geotransform[3] - (y + 0.5) * 10]);
        mapB[y * WB + x] = lon! > 15.0 ? 4 : 3;
      }
    }
    const r0 = await resultFolder('lonlat-20200101', mapA, WA, HA, gA);
    const r1 = await resultFolder('utm-20210101', mapB, WB, HB, gB);
    const out = at('lonlat-change');
    const r = await run(r0, r1, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const doc = readJson(out);
    expect(doc.grid.crs).toBe('EPSG:4326');
    expect(doc.overlapPixels).toBe(WA * HA);
    // Field turned forest east of 15.0°E: a lon/lat box of 0.01° x 0.01°, measured as a geodesic polygon.
    const trueM2 = polygonAreaM2([[15.0, 46.0], [15.01, 46.0], [15.01, 46.01], [15.0, 46.01]], 'EPSG:4326').areaM2;
    // The later 10 m pixels straddle 15.0°E, so the edge moves by up to 5 m over a 770 m wide box.
    expect(Math.abs(pair(doc, 3, 4)!.areaHa * 1e4 - trueM2) / trueM2).toBeLessThan(0.01);
    expect(pair(doc, 3, 4)!.pixels).toBeGreaterThan(0.45 * WA * HA);
  });
});

describe('compare: building objects', () => {
  const W = 60;
  const H = 40;
  const geometry: GeoGeometry = { type: 'geo', geotransform: [400000, 1, 0, 4000000, 0, -1], crs: 'EPSG:32617' };
  const rects = (list: Array<[number, number, number, number, number]>): Uint8Array => {
    const m = new Uint8Array(W * H);
    for (const [id, x0, y0, x1, y1] of list) for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * W + x] = id;
    return m;
  };

  it('reports new, demolished, changed and unchanged buildings', async () => {
    // 1 stays, 2 is demolished, 3 grows to four times its area, 4 stays, 5 is new.
    const before = rects([[1, 2, 2, 10, 10], [2, 20, 2, 28, 10], [3, 40, 2, 46, 8], [4, 2, 20, 12, 30]]);
    const after = rects([[1, 2, 2, 10, 10], [3, 40, 2, 52, 14], [4, 2, 20, 12, 30], [5, 30, 25, 40, 35]]);
    const r0 = await resultFolder('objects-20200101', before, W, H, geometry, { classes: [CLASSES[0]!], instances: true });
    const r1 = await resultFolder('objects-20210101', after, W, H, geometry, { classes: [CLASSES[0]!], instances: true });
    const out = at('objects-change');
    const r = await run(r0, r1, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const doc = readJson(out);
    expect(doc.objects?.counts).toEqual({ new: 1, demolished: 1, changed: 1, unchanged: 2 });
    const demolished = doc.objects!.list.find((o) => o.status === 'demolished')!;
    expect(demolished.fromAreaM2).toBeCloseTo(64, 0);
    expect(doc.objects!.list.find((o) => o.status === 'new')!.toAreaM2).toBeCloseTo(100, 0);
  });
});

describe('compare: dates', () => {
  it('reads dates from file names and from --dates', () => {
    expect(dateFromName('/x/202309_patchN_0.tif')).toBe('2023-09');
    expect(dateFromName('scan_20240131_t1.nii.gz')).toBe('2024-01-31');
    expect(dateFromName('series_12345678.tif')).toBeNull();
    expect(dateFromName('a_20241332.tif')).toBeNull();
    expect(parseDateText('2024-02-29')).toBe('2024-02-29');
    expect(parseDateText('2023-02-29')).toBeNull();
    expect(parseDateText('20230115')).toBe('2023-01-15');
  });

  it('without dates keeps command-line order and warns; --dates orders by the given dates', async () => {
    const geometry: GeoGeometry = { type: 'geo', geotransform: [500000, 10, 0, 5200000, 0, -10], crs: 'EPSG:32633' };
    const a = await resultFolder('undated-a', new Uint8Array(100).fill(3), 10, 10, geometry);
    const b = await resultFolder('undated-b', new Uint8Array(100).fill(4), 10, 10, geometry);
    const plain = await run(b, a, '--out', at('undated'));
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toMatch(/warning: no date found .*command-line order/);
    expect(readJson(at('undated')).timepoints.map((t) => t.input)).toEqual([b, a]);
    expect(pair(readJson(at('undated')), 4, 3)!.pixels).toBe(100);
    // Into the same --out again: the files are replaced, no temporary folder is left beside it.
    const dated = await run(b, a, '--out', at('undated'), '--dates', '2024-05-01,2023-05-01');
    expect(dated.code, dated.stderr).toBe(0);
    expect(readdirSync(tmp.dir).filter((n) => n.startsWith('.undated'))).toEqual([]);
    const doc = readJson(at('undated'));
    expect(doc.timepoints).toEqual([
      { input: a, date: '2023-05-01' },
      { input: b, date: '2024-05-01' },
    ]);
    expect(pair(doc, 3, 4)!.pixels).toBe(100);
  });

  it('three dates: the top level is earliest -> latest, steps hold each date -> the next', async () => {
    const geometry: GeoGeometry = { type: 'geo', geotransform: [500000, 10, 0, 5200000, 0, -10], crs: 'EPSG:32633' };
    const d0 = await resultFolder('three-20200601', new Uint8Array(100).fill(3), 10, 10, geometry);
    const d1 = await resultFolder('three-20210601', new Uint8Array(100).map((_, i) => (i < 40 ? 4 : 3)), 10, 10, geometry);
    const d2 = await resultFolder('three-20220601', new Uint8Array(100).map((_, i) => (i < 40 ? 4 : i < 50 ? 1 : 3)), 10, 10, geometry);
    const r = await run(d2, d0, d1, '--out', at('three'));
    expect(r.code, r.stderr).toBe(0);
    const doc = readJson(at('three'));
    expect(doc.timepoints.map((t) => t.input)).toEqual([d0, d1, d2]);
    expect(doc.transitions.map((t) => [t.from, t.to, t.pixels])).toEqual([
      [3, 1, 10],
      [3, 3, 50],
      [3, 4, 40],
    ]);
    expect(doc.steps?.map((st) => [st.from, st.to, st.transitions.map((t) => [t.from, t.to, t.pixels])])).toEqual([
      [0, 1, [[3, 3, 60], [3, 4, 40]]],
      [1, 2, [[3, 1, 10], [3, 3, 50], [4, 4, 40]]],
    ]);
  });

  it('reads the StudyDate of a DICOM series', async () => {
    const series = at('ct-series');
    mkdirSync(series);
    writeCtSeries(series, {
      width: 8,
      height: 8,
      depth: 2,
      spacingMm: [1, 1, 2],
      orientation: [1, 0, 0, 0, 1, 0],
      originMm: [0, 0, 0],
      rescaleIntercept: -1024,
      value: (x, y) => 1000 + x + y,
      fileName: (z) => `s${z}.dcm`,
      instanceNumber: (z) => z + 1,
      seriesUid: '1.2.826.0.1.3680043.9.7433.3.92',
    });
    expect(await imageDate(series)).toBe('2024-01-01');
    expect(await imageDate(path.join(series, 's1.dcm'))).toBe('2024-01-01');
  });

  it.skipIf(!hasGdal)(`reads a GeoTIFF acquisition date tag${skipNote(!hasGdal, 'gdal_translate missing')}`, async () => {
    const geometry: GeoGeometry = { type: 'geo', geotransform: [500000, 10, 0, 5200000, 0, -10], crs: 'EPSG:32633' };
    const r0 = await resultFolder('tagged', new Uint8Array(100).fill(3), 10, 10, geometry);
    const doc = JSON.parse(readFileSync(path.join(r0, 'instances.json'), 'utf8')) as { source: { file: string } };
    const tagged = spawnSync('gdal_translate', ['-q', '-mo', 'TIFFTAG_DATETIME=2022:07:14 10:00:00', doc.source.file, at('tagged-dated.tif')]);
    expect(tagged.status).toBe(0);
    spawnSync('mv', [at('tagged-dated.tif'), doc.source.file]);
    const later = await resultFolder('tagged-later-20230101', new Uint8Array(100).fill(4), 10, 10, geometry);
    const r = await run(later, r0, '--out', at('tagged-change'));
    expect(r.code, r.stderr).toBe(0);
    expect(readJson(at('tagged-change')).timepoints.map((t) => t.date)).toEqual(['2022-07-14', '2023-01-01']);
  });
});
