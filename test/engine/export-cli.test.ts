// `delineate export` from result folders (geo and DICOM) to every format, --deidentify, and atomicity: a failing
// writer and a killed export both leave the previous file intact.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InstancesDocument } from '../../preload/formats';
import { main } from '../../main/cli/index';
import { writeChunksAtomic } from '../../main/engine/export/atomic-stream';
import { importDicomSeg, readSegSource } from '../../main/engine/export/dicom-seg';
import { writeResultFolder } from '../../main/engine/export/results';
import { openDicom } from '../../main/engine/io/dicom/index';
import { openImage } from '../../main/engine/io/index';
import { writeCtSeries } from '../fixtures/dicom-writer';
import { writeGeoResult } from '../fixtures/geo-result';
import { bundleChild } from '../fixtures/bundle-child';
import { commandWorks, skipNote, tempDir } from './helpers';

const hasOgr = commandWorks('ogrinfo', ['--version']);
const hasPythonGdal = commandWorks('/usr/bin/python3', ['-c', 'from osgeo import gdal']);

describe('delineate export', () => {
  const tmp = tempDir('delineate-export-');
  let geo: { image: string; result: string };
  const series = path.join(tmp.dir, 'ct');
  const medResult = path.join(tmp.dir, 'ct-result');
  let medLabels: Uint8Array;
  beforeAll(async () => {
    geo = await writeGeoResult(tmp.dir);
    mkdirSync(series);
    writeCtSeries(series, {
      width: 16,
      height: 12,
      depth: 4,
      spacingMm: [0.9, 0.9, 3],
      orientation: [1, 0, 0, 0, 1, 0],
      originMm: [0, 0, 0],
      rescaleIntercept: -1024,
      value: (x, y) => 900 + x * y,
      fileName: (z) => `s${z}.dcm`,
      instanceNumber: (z) => z + 1,
      seriesUid: '1.2.826.0.1.3680043.9.7433.3.91',
    });
    const src = await openDicom(series);
    medLabels = new Uint8Array(16 * 12 * 4);
    const instances = new Uint32Array(medLabels.length);
    for (let z = 1; z < 3; z++) for (let y = 3; y < 8; y++) for (let x = 4; x < 10; x++) medLabels[(z * 12 + y) * 16 + x] = 1;
    medLabels.forEach((v, i) => void (instances[i] = v));
    const doc: InstancesDocument = {
      source: { file: series, kind: 'medical', width: 16, height: 12, depth: 4, seriesInstanceUid: '1.2.826.0.1.3680043.9.7433.3.91', PatientName: 'should-not-leak', studyDate: '20240101' },
      model: { id: 'm', name: 'Tumor model', version: '2' },
      classes: [{ id: 1, name: 'tumor', color: '#ff0000', instanceCount: 1, pixelCount: 60, fraction: 0.03 }],
      instances: [{ id: 1, classId: 1, className: 'tumor', pixelCount: 60, bbox: { min: [4, 3, 1], max: [9, 7, 2] }, centroidPx: [6.5, 5, 1.5], volumeMl: 0.15 }],
    };
    await writeResultFolder(medResult, doc, { kind: 'medical', width: 16, height: 12, depth: 4, geometry: src.geometry, classes: [{ name: 'tumor', color: '#ff0000' }], labels: medLabels, nodataLabel: 255, instances, instanceCount: 1 });
    await src.close();
  });
  afterAll(() => tmp.cleanup());

  it('refuses unknown formats and missing --out', async () => {
    expect(await main(['export', geo.result, '--to', 'docx', '--out', 'x'])).toBe(2);
    expect(await main(['export', geo.result, '--to', 'csv'])).toBe(2);
    expect(await main(['export', geo.result, '--to', 'geojson', '--out', path.join(tmp.dir, 'x.geojson'), '--crs', 'EPSG:32633'])).toBe(2);
  });

  it('exports a geo result to GeoTIFF, CSV, JSON and PNG', async () => {
    const out = (n: string) => path.join(tmp.dir, n);
    for (const [to, file] of [['geotiff', 'l.tif'], ['csv', 'm.csv'], ['json', 'd.json'], ['png', 'v.png']] as const) {
      expect(await main(['export', geo.result, '--to', to, '--out', out(file)]), to).toBe(0);
    }
    const tif = await openImage(out('l.tif'));
    expect(tif.geometry).toEqual({ type: 'geo', geotransform: [500000, 10, 0, 5200000, 0, -10], crs: 'EPSG:32633' });
    await tif.close();
    expect(readFileSync(out('m.csv'), 'utf8').split('\r\n')[0]).toMatch(/^id,classId,className,pixelCount/);
    expect((JSON.parse(readFileSync(out('d.json'), 'utf8')) as InstancesDocument).instances).toHaveLength(5);
    expect(readFileSync(out('v.png')).subarray(1, 4).toString()).toBe('PNG');
  });

  it.skipIf(!hasPythonGdal)(`GDAL reads the exported GeoTIFF with the result's pixels, geotransform and CRS${skipNote(!hasPythonGdal, 'needs python3-gdal')}`, async () => {
    const file = path.join(tmp.dir, 'gdal-check.tif');
    expect(await main(['export', geo.result, '--to', 'geotiff', '--out', file])).toBe(0);
    const script = [
      'import sys, json',
      'from osgeo import gdal, osr',
      'ds = gdal.Open(sys.argv[1])',
      'srs = osr.SpatialReference(wkt=ds.GetProjection()); srs.AutoIdentifyEPSG()',
      'a = ds.GetRasterBand(1).ReadAsArray()',
      'print(json.dumps({"gt": list(ds.GetGeoTransform()), "epsg": srs.GetAuthorityCode(None), "size": [ds.RasterXSize, ds.RasterYSize], "pixels": a.ravel().tolist()}))',
    ].join('\n');
    const r = spawnSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status, r.stderr).toBe(0);
    const gdal = JSON.parse(r.stdout) as { gt: number[]; epsg: string; size: number[]; pixels: number[] };
    const labels = await openImage(path.join(geo.result, 'labels.tif'));
    const ours = await labels.read();
    await labels.close();
    expect(gdal.gt).toEqual([500000, 10, 0, 5200000, 0, -10]);
    expect(gdal.epsg).toBe('32633');
    expect(gdal.size).toEqual([ours.width, ours.height]);
    expect(gdal.pixels).toEqual(Array.from(ours.data));
  });

  it.skipIf(!hasOgr)(`exports vector layers in the source CRS or --crs${skipNote(!hasOgr, 'needs gdal-bin')}`, async () => {
    const gpkg = path.join(tmp.dir, 'v.gpkg');
    const shp = path.join(tmp.dir, 'v.shp');
    const gj = path.join(tmp.dir, 'v.geojson');
    expect(await main(['export', geo.result, '--to', 'gpkg', '--out', gpkg, '--crs', 'EPSG:3857'])).toBe(0);
    expect(await main(['export', geo.result, '--to', 'shp', '--out', shp])).toBe(0);
    expect(await main(['export', geo.result, '--to', 'geojson', '--out', gj])).toBe(0);
    for (const f of [shp.replace('.shp', '.dbf'), shp.replace('.shp', '.shx'), shp.replace('.shp', '.prj')]) expect(existsSync(f)).toBe(true);
    const fc = JSON.parse(readFileSync(gj, 'utf8')) as { features: Array<{ geometry: { coordinates: number[][][] } }> };
    expect(fc.features).toHaveLength(5);
    expect(fc.features[0]!.geometry.coordinates[0]![0]![0]).toBeCloseTo(15, 0); // lon near UTM 33's meridian
  });

  it('creates a missing output folder, as segment does, and removes it again when the export fails', async () => {
    for (const [to, file] of [['geotiff', 'a/l.tif'], ['csv', 'b/c/m.csv'], ['json', 'd/d.json'], ['png', 'e/v.png'], ['geojson', 'f/g.geojson']] as const) {
      const target = path.join(tmp.dir, 'made', file);
      expect(await main(['export', geo.result, '--to', to, '--out', target]), to).toBe(0);
      expect(existsSync(target), target).toBe(true);
    }
    // DICOM SEG needs a DICOM result: the export fails, and the folder made for it goes too.
    expect(await main(['export', geo.result, '--to', 'seg', '--out', path.join(tmp.dir, 'never', 'x.dcm')])).toBe(2);
    expect(existsSync(path.join(tmp.dir, 'never'))).toBe(false);
  });

  it('--deidentify leaves patient name, dates and the source path out of JSON', async () => {
    const plain = path.join(tmp.dir, 'plain.json');
    const deid = path.join(tmp.dir, 'deid.json');
    expect(await main(['export', medResult, '--to', 'json', '--out', plain])).toBe(0);
    expect(await main(['export', medResult, '--to', 'json', '--out', deid, '--deidentify'])).toBe(0);
    expect(readFileSync(plain, 'utf8')).toContain('should-not-leak');
    const text = readFileSync(deid, 'utf8');
    expect(text).not.toContain('should-not-leak');
    expect(text).not.toContain('20240101');
    expect(text).not.toContain(series);
    expect((JSON.parse(text) as InstancesDocument).instances[0]!.volumeMl).toBe(0.15);
  });

  it('exports a DICOM result to SEG (onto the source slices) and NIfTI', async () => {
    const seg = path.join(tmp.dir, 'r.seg.dcm');
    expect(await main(['export', medResult, '--to', 'seg', '--out', seg])).toBe(0);
    const back = await importDicomSeg(seg, await readSegSource(series));
    expect(Array.from(back.labels)).toEqual(Array.from(medLabels));
    const nii = path.join(tmp.dir, 'r.nii.gz');
    expect(await main(['export', medResult, '--to', 'nifti', '--out', nii])).toBe(0);
    const img = await openImage(nii);
    expect(Array.from((await img.read()).data)).toEqual(Array.from(medLabels));
    await img.close();
    expect(await main(['export', geo.result, '--to', 'seg', '--out', seg])).toBe(2); // not a DICOM result
  });

  it('measures a DICOM SEG against its series: the SEG back as a label map, its segments as classes', async () => {
    const seg = path.join(tmp.dir, 'm.seg.dcm');
    expect(await main(['export', medResult, '--to', 'seg', '--out', seg])).toBe(0);
    const out = path.join(tmp.dir, 'from-seg');
    expect(await main(['measure', series, seg, '--out', out])).toBe(0);
    const doc = JSON.parse(readFileSync(path.join(out, 'instances.json'), 'utf8')) as InstancesDocument;
    expect(doc.classes.map((c) => c.name)).toEqual(['tumor']);
    expect(doc.instances.map((i) => [i.classId, i.pixelCount])).toEqual([[1, medLabels.filter((v) => v === 1).length]]);
    expect(doc.source.seriesInstanceUid).toBe('1.2.826.0.1.3680043.9.7433.3.91');
    // A SEG of another series: said, naming the series it was made from.
    const other = path.join(tmp.dir, 'other-ct');
    mkdirSync(other);
    writeCtSeries(other, { width: 16, height: 12, depth: 4, spacingMm: [0.9, 0.9, 3], orientation: [1, 0, 0, 0, 1, 0], originMm: [0, 0, 0], rescaleIntercept: -1024, value: () => 900, fileName: (z) => `o${z}.dcm`, instanceNumber: (z) => z + 1, seriesUid: '1.2.826.0.1.3680043.9.7433.3.92' });
    expect(await main(['measure', other, seg, '--out', path.join(tmp.dir, 'wrong')])).toBe(2);
  });

  it('a writer failing half-way leaves the previous file and no temporary behind', async () => {
    const dir = path.join(tmp.dir, 'fail');
    mkdirSync(dir);
    const target = path.join(dir, 'out.geojson');
    writeFileSync(target, 'previous');
    async function* failing(): AsyncGenerator<string> {
      yield '{"type":"FeatureCollection","features":[';
      throw new Error('disk full');
    }
    await expect(writeChunksAtomic(target, failing())).rejects.toThrow('disk full');
    expect(readFileSync(target, 'utf8')).toBe('previous');
    expect(readdirSync(dir)).toEqual(['out.geojson']);
  });

  it('killing an export half-way leaves the previous file intact', async () => {
    const dir = path.join(tmp.dir, 'kill');
    mkdirSync(dir);
    const target = path.join(dir, 'out.geojson');
    writeFileSync(target, '{"previous":true}');
    const bundle = await bundleChild('test/fixtures/slow-export.ts');
    const child = spawn(process.execPath, [bundle, target], { stdio: ['ignore', 'pipe', 'inherit'] });
    let chunks = 0;
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (b: Buffer) => {
        chunks += (b.toString().match(/chunk/g) ?? []).length;
        if (chunks >= 3) resolve();
      });
      child.on('exit', () => reject(new Error('the export finished before it was killed')));
    });
    const temps = readdirSync(dir).filter((n) => n.endsWith('.tmp'));
    expect(temps).toHaveLength(1);
    expect(statSync(path.join(dir, temps[0]!)).size).toBeGreaterThan(0); // half-written
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(readFileSync(target, 'utf8')).toBe('{"previous":true}');
  });
});
