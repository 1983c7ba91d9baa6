// Streamed vector export: a result folder's instance map read block by block gives the same GeoJSON, GeoPackage and
// Shapefile features (ids, attributes, coordinates) as the in-memory export of the same folder, with objects across
// 256 px tiles, holes, touching neighbours, a road whose box is the whole raster and an id in two parts; each block
// is decoded once when records come in raster order, and a one-block cache with records out of order changes
// nothing. The disk result store exports vectors with its deletions, merges, class changes and pixel edits. GDAL
// (ogrinfo) and shapely, where installed, read the streamed files with the right count and valid polygons.
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportResult, exportResultFolder, loadResultFolder } from '../../main/engine/export/exporter';
import { buildVectorLayer, geojsonText } from '../../main/engine/export/vector';
import { exportVectorStream, idReaderOf, type IdWindowReader } from '../../main/engine/export/vector-stream';
import { openGeoTiff } from '../../main/engine/io/geotiff';
import { DiskResultStore } from '../../main/engine/results/disk';
import { main } from '../../main/cli/index';
import type { InstanceRecord, InstancesDocument } from '../../preload/formats';
import { commandWorks, skipNote, tempDir } from './helpers';
import { TILES_CLASSES, TILES_H, TILES_W, tiledGeoFixture, writeTiledGeoResult } from '../fixtures/geo-tiles-result';

const hasOgr = commandWorks('ogrinfo', ['--version']);
const hasShapely = commandWorks('/usr/bin/python3', ['-c', 'import shapely; from osgeo import ogr']);

interface GeoJsonOut {
  bbox?: number[];
  features: Array<{ id: number; geometry: { type: string; coordinates: unknown }; properties: Record<string, unknown> }>;
}

const readJson = (file: string): GeoJsonOut => JSON.parse(readFileSync(file, 'utf8')) as GeoJsonOut;

/** Every row of a GeoPackage's feature table (geometry blobs as arrays) and its extent in gpkg_contents. */
async function gpkgRows(file: string): Promise<{ rows: unknown[][]; columns: string[]; extent: unknown[] }> {
  const { default: initSqlJs } = await import('sql.js');
  const SQL = await initSqlJs();
  const db = new SQL.Database(readFileSync(file));
  try {
    const res = db.exec('SELECT * FROM instances ORDER BY fid')[0]!;
    const extent = db.exec("SELECT min_x, min_y, max_x, max_y, srs_id FROM gpkg_contents WHERE table_name = 'instances'")[0]!.values[0]!;
    return { columns: res.columns, rows: res.values.map((r) => r.map((v) => (v instanceof Uint8Array ? Array.from(v) : v))), extent };
  } finally {
    db.close();
  }
}

/** Feature count, invalid polygons and ids as GDAL + shapely read them. */
function ogrCheck(file: string): { count: number; invalid: string[]; ids: number[] } {
  const code = `
import json, sys
from osgeo import ogr
from shapely import wkb
ds = ogr.Open(sys.argv[1]); lyr = ds.GetLayer(0)
out = {"count": lyr.GetFeatureCount(), "invalid": [], "ids": []}
for f in lyr:
    g = wkb.loads(bytes(f.GetGeometryRef().ExportToWkb()))
    out["ids"].append(f.GetField("id"))
    if not g.is_valid: out["invalid"].append(str(f.GetField("id")))
print(json.dumps(out))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', code, file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ReturnType<typeof ogrCheck>;
}

/** A reader that counts the blocks it decodes. */
function counting(ids: IdWindowReader): { reader: IdWindowReader; reads: () => number } {
  let n = 0;
  return {
    reader: {
      ...ids,
      read: async (x, y, w, h) => {
        n++;
        return ids.read(x, y, w, h);
      },
    },
    reads: () => n,
  };
}

describe('streamed vector export of a result folder', () => {
  const tmp = tempDir('delineate-vector-stream-');
  afterAll(() => tmp.cleanup());
  let folder = '';
  const fx = tiledGeoFixture();
  const records = fx.document.instances;

  beforeAll(async () => {
    folder = await writeTiledGeoResult(tmp.dir);
  });

  it('the fixture crosses the 256 px tiles of instances.tif, has a hole, a two-part id and a whole-raster box', async () => {
    const src = await openGeoTiff(path.join(folder, 'instances.tif'));
    try {
      expect(src.meta).toMatchObject({ tiled: true, blockWidth: 256, blockHeight: 256 });
    } finally {
      await src.close();
    }
    const crossing = records.filter((r) => Math.floor(r.bbox.min[0]! / 256) !== Math.floor(r.bbox.max[0]! / 256) || Math.floor(r.bbox.min[1]! / 256) !== Math.floor(r.bbox.max[1]! / 256));
    expect(crossing.length).toBeGreaterThanOrEqual(5);
    expect(records.some((r) => r.bbox.min[0] === 0 && r.bbox.min[1] === 0 && r.bbox.max[0] === TILES_W - 1 && r.bbox.max[1] === TILES_H - 1)).toBe(true);
    const layer = buildVectorLayer({ width: TILES_W, height: TILES_H, geometry: fx.geometry, instances: fx.instances, document: fx.document });
    expect(layer.features.some((f) => f.polygons.some((p) => p.length > 1))).toBe(true);
    expect(layer.features.some((f) => f.polygons.length === 2)).toBe(true);
    expect(layer.features.some((f) => f.simplified)).toBe(true);
  });

  it('GeoJSON: the same features, in the same order, and the same bbox as the in-memory export', async () => {
    const mem = path.join(tmp.dir, 'mem.geojson');
    const streamed = path.join(tmp.dir, 'stream.geojson');
    await exportResult(await loadResultFolder(folder), 'geojson', mem);
    const done = await exportResultFolder(folder, 'geojson', streamed);
    expect(done).toEqual({ written: [streamed], instanceCount: records.length });
    const a = readJson(mem);
    const b = readJson(streamed);
    expect(b.features.map((f) => f.id)).toEqual(records.map((r) => r.id));
    expect(b.features).toEqual(a.features);
    expect(b.bbox).toEqual(a.bbox);
    expect(b.features.find((f) => f.id === 3)!.properties.note).toBe('café 東');
  });

  it('GeoPackage: the same rows (fid, geometry blob, attributes) and extent as the in-memory export, in --crs too', async () => {
    for (const crs of [undefined, 'EPSG:3857']) {
      const mem = path.join(tmp.dir, `mem-${crs ?? 'src'}.gpkg`);
      const streamed = path.join(tmp.dir, `stream-${crs ?? 'src'}.gpkg`);
      const options = crs ? { crs } : {};
      await exportResult(await loadResultFolder(folder), 'gpkg', mem, options);
      await exportResultFolder(folder, 'gpkg', streamed, options);
      const a = await gpkgRows(mem);
      const b = await gpkgRows(streamed);
      expect(b.columns).toEqual(a.columns);
      expect(b.rows.length).toBe(records.length);
      expect(b.rows).toEqual(a.rows);
      expect(b.extent).toEqual(a.extent);
      expect(b.extent[4]).toBe(crs ? 3857 : 32633);
    }
  });

  it('Shapefile: .shp, .shx and .dbf byte for byte as the in-memory export, through the CLI', async () => {
    const mem = path.join(tmp.dir, 'mem.shp');
    const streamed = path.join(tmp.dir, 'cli', 'stream.shp');
    expect(await main(['export', folder, '--to', 'shp', '--out', streamed, '--tolerance', '0.75'])).toBe(0);
    const memFiles = await exportResult(await loadResultFolder(folder), 'shp', mem, { toleranceMapUnits: 0.75 });
    for (const ext of ['shp', 'shx', 'dbf', 'prj', 'cpg']) {
      const m = readFileSync(mem.replace(/shp$/, ext));
      const s = readFileSync(streamed.replace(/shp$/, ext));
      expect(s.length, ext).toBe(m.length);
      expect(Buffer.compare(s, m), ext).toBe(0);
    }
    expect(memFiles).toHaveLength(5);
  });

  it('each block is decoded once with records in raster order; a one-block cache and records out of order give the same features', async () => {
    const src = await openGeoTiff(path.join(folder, 'instances.tif'));
    try {
      const blocks = Math.ceil(TILES_W / 256) * Math.ceil(TILES_H / 256);
      const ordered = counting(idReaderOf(src));
      const out1 = path.join(tmp.dir, 'ordered.geojson');
      const report = await exportVectorStream({ file: folder, geometry: src.geometry, ids: ordered.reader, records: () => records }, 'geojson', out1);
      expect(report.records).toBe(records.length);
      expect(ordered.reads()).toBe(blocks);
      expect(report.blockReads).toBe(blocks);

      const shuffled = [...records].sort((a, b) => ((a.id * 7) % 11) - ((b.id * 7) % 11));
      const tiny = counting(idReaderOf(src));
      const out2 = path.join(tmp.dir, 'shuffled.geojson');
      const options = { toleranceMapUnits: 2 };
      await exportVectorStream({ file: folder, geometry: src.geometry, ids: tiny.reader, records: async function* () {
        for (const r of shuffled) yield r;
      }, cacheBlocks: 1 }, 'geojson', out2, options);
      expect(tiny.reads()).toBeGreaterThan(blocks);
      const expected = JSON.parse(geojsonText(buildVectorLayer({ width: TILES_W, height: TILES_H, geometry: fx.geometry, instances: fx.instances, document: { ...fx.document, instances: shuffled } }, { ...options, crs: 'EPSG:4326' }))) as GeoJsonOut;
      const got = readJson(out2);
      expect(got.features.map((f) => f.id)).toEqual(shuffled.map((r) => r.id));
      expect(got.features).toEqual(expected.features);
    } finally {
      await src.close();
    }
  });

  it('a record whose box leaves the map is refused with the folder and the id named', async () => {
    const src = await openGeoTiff(path.join(folder, 'instances.tif'));
    try {
      const bad: InstanceRecord = { ...records[0]!, bbox: { min: [10, 10], max: [TILES_W, 20] } };
      await expect(exportVectorStream({ file: folder, geometry: src.geometry, ids: idReaderOf(src), records: () => [bad] }, 'gpkg', path.join(tmp.dir, 'bad.gpkg'))).rejects.toThrow(new RegExp(`${records[0]!.id}.*not inside the 600x520`));
    } finally {
      await src.close();
    }
  });

  it.skipIf(!hasOgr || !hasShapely)(`GDAL reads the streamed files with every feature, and shapely finds every polygon valid${skipNote(!hasOgr || !hasShapely, 'needs gdal-bin, python3-gdal and python3-shapely')}`, async () => {
    const files = { geojson: path.join(tmp.dir, 'oracle.geojson'), gpkg: path.join(tmp.dir, 'oracle.gpkg'), shp: path.join(tmp.dir, 'oracle.shp') };
    for (const [format, file] of Object.entries(files) as Array<['geojson' | 'gpkg' | 'shp', string]>) {
      await exportResultFolder(folder, format, file);
      const summary = spawnSync('ogrinfo', ['-so', '-al', file], { encoding: 'utf8' });
      expect(summary.status, format).toBe(0);
      expect(summary.stdout, format).toMatch(new RegExp(`Feature Count: ${records.length}\\b`));
      const info = ogrCheck(file);
      expect(info.count, format).toBe(records.length);
      expect(info.invalid, format).toEqual([]);
      expect([...info.ids].sort((a, b) => a - b), format).toEqual(records.map((r) => r.id));
    }
  });
});

describe('vector export of a result kept on disk, with its edits', () => {
  const tmp = tempDir('delineate-vector-disk-');
  const store = new DiskResultStore();
  afterAll(async () => {
    await store.closeAll();
    tmp.cleanup();
  });
  const fx = tiledGeoFixture();
  const records = fx.document.instances;
  // The two touching rectangles (merged), the ring's island (deleted), the two-part object (class changed) and the
  // ring, whose left side an erased polygon cuts away (a pixel edit: its hole opens into a C).
  const byFirstPixel = (x: number, y: number): number => fx.instances[y * TILES_W + x]!;
  const rectA = byFirstPixel(480, 20);
  const rectB = byFirstPixel(540, 20);
  const island = byFirstPixel(250, 250);
  const twoParts = byFirstPixel(400, 300);
  const ring = byFirstPixel(200, 200);
  // Pixel centres (at +0 or +0.5, either way) inside it: x 195..244, y 190..330.
  const erased: Array<[number, number]> = [
    [194.75, 189.75],
    [244.75, 189.75],
    [244.75, 330.25],
    [194.75, 330.25],
  ];

  it('deleted ids are left out, merged ids are one feature of the target id, a class change and a pixel edit show', async () => {
    const folder = await writeTiledGeoResult(tmp.dir, 'run');
    const dir = path.join(tmp.dir, 'kept');
    cpSync(folder, dir, { recursive: true });
    const id = await store.add({ dir, path: path.join(tmp.dir, 'scene.tif'), document: fx.document, classes: TILES_CLASSES, geometry: fx.geometry, width: TILES_W, height: TILES_H, nodataLabel: 255 });
    await store.edit(id, { op: 'deleteInstance', instanceId: island });
    await store.edit(id, { op: 'mergeInstances', instanceIds: [rectA, rectB] });
    await store.edit(id, { op: 'setInstanceClass', instanceId: twoParts, classId: 2 });
    await store.edit(id, { op: 'erasePolygon', z: 0, points: erased });

    const out = path.join(tmp.dir, 'edited.geojson');
    expect(await store.export(id, 'geojson', out)).toEqual([out]);
    const got = readJson(out);
    const ids = got.features.map((f) => f.id);
    expect(ids).not.toContain(island);
    expect(ids).not.toContain(rectB);
    expect(ids).toContain(rectA);
    expect(got.features).toHaveLength(records.length - 2);
    expect(ids).toContain(ring);
    const merged = got.features.find((f) => f.id === rectA)!;
    expect(merged.geometry.type).toBe('Polygon'); // the two touching rectangles are one outline now
    expect(merged.properties.pixelCount).toBe(records.find((r) => r.id === rectA)!.pixelCount + records.find((r) => r.id === rectB)!.pixelCount);
    expect(got.features.find((f) => f.id === twoParts)!.properties.className).toBe('road');
    expect(got.features.find((f) => f.id === twoParts)!.geometry.type).toBe('MultiPolygon');
    const cut = got.features.find((f) => f.id === ring)!;
    expect(cut.geometry.type).toBe('Polygon');
    expect(cut.geometry.coordinates as unknown[]).toHaveLength(1); // no hole left

    // The same as the in-memory export of the edited map with the store's live records.
    const edited = fx.instances.map((v, i) => {
      const x = i % TILES_W;
      const y = Math.floor(i / TILES_W);
      if (x >= 195 && x <= 244 && y >= 190 && y <= 330) return 0;
      return v === island ? 0 : v === rectB ? rectA : v;
    });
    const json = path.join(tmp.dir, 'edited.json');
    await store.export(id, 'json', json);
    const live = (JSON.parse(readFileSync(json, 'utf8')) as InstancesDocument).instances;
    const expected = JSON.parse(geojsonText(buildVectorLayer({ width: TILES_W, height: TILES_H, geometry: fx.geometry, instances: edited, document: { ...fx.document, instances: live } }, { crs: 'EPSG:4326' }))) as GeoJsonOut;
    expect(got.features).toEqual(expected.features);

    // GeoPackage and Shapefile from the same store: one row per live object.
    const gpkg = path.join(tmp.dir, 'edited.gpkg');
    await store.export(id, 'gpkg', gpkg);
    const rows = await gpkgRows(gpkg);
    expect(rows.rows.map((r) => r[0])).toEqual(live.map((r) => r.id));
    const shp = path.join(tmp.dir, 'edited.shp');
    const written = await store.export(id, 'shp', shp);
    expect(written.map((p) => path.extname(p)).sort()).toEqual(['.cpg', '.dbf', '.prj', '.shp', '.shx']);
  });
});
