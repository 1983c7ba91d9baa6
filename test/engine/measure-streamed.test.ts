// `delineate measure --labels-are instances` and `--zones` on rasters above the streaming threshold
// (measure-streamed.ts, postprocess/streaming-instances.ts, measure/zones.ts ZoneAccumulator): file for file equal to
// the in-memory path on small rasters, with strips forced small so instances and zones cross many strip borders; and
// equal to independent oracles on generated rasters (GDAL rasterize + numpy for zones, scikit-image regionprops for
// given instances), skipped when /usr/bin/python3 lacks them.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GeoGeometry, Geometry, InstanceRecord } from '../../preload/formats';
import { openGeoTiff } from '../../main/engine/io/geotiff';
import { openImage } from '../../main/engine/io';
import { writeTiff } from '../../main/engine/io/tiff-writer';
import { measureFiles, type MeasureOptions } from '../../main/engine/pipeline';
import { measureFilesStreamed } from '../../main/engine/measure-streamed';
import { readSamples, tempDir } from './helpers';
import { measureBothWays, wholeDocument } from './measure-both-ways';
import { drawShapes, lcg, speckle } from './random-labels';

const temps: Array<() => void> = [];
const saved = process.env.DELINEATE_STREAMING_THRESHOLD_PX;
afterEach(() => {
  for (const c of temps.splice(0)) c();
  if (saved === undefined) delete process.env.DELINEATE_STREAMING_THRESHOLD_PX;
  else process.env.DELINEATE_STREAMING_THRESHOLD_PX = saved;
});

/** Instance ids up to 700 (so uint16), some used by two shapes far apart (one instance in two pieces). */
function instanceRaster(W: number, H: number, seed: number): Uint16Array {
  const out = new Uint16Array(W * H);
  drawShapes(out, W, H, 90, lcg(seed), (k) => (k % 9 === 8 ? 1 + ((k * 7) % 60) * 11 : 1 + k * 7), [2, 14]);
  return out;
}

/** Class ids 1..3 with speckle and nodata (255) patches. */
function classRaster(W: number, H: number, seed: number): Uint8Array {
  const out = new Uint8Array(W * H);
  const rand = lcg(seed);
  drawShapes(out, W, H, 60, rand, () => 1 + Math.floor(rand() * 3), [2, 14]);
  speckle(out, lcg(seed + 1), 0.03, 0.04);
  return out;
}

const UTM: GeoGeometry = { type: 'geo', geotransform: [500000, 10, 0, 4000000, 0, -10], crs: 'EPSG:32633' };

/** A zones GeoJSON in map coordinates of `g`: a square, one with a hole, a multipolygon, a concave one, one outside. */
function zonesGeojson(g: GeoGeometry, W: number, H: number, seed: number): object {
  const [ox, a, , oy, , e] = g.geotransform;
  const rand = lcg(seed);
  // Pixel position -> map; a random sub-pixel jitter keeps vertices off pixel centres (no ties for the oracle).
  const m = (px: number, py: number): [number, number] => [ox + (px + 0.13 + rand() * 0.5) * a, oy + (py + 0.17 + rand() * 0.5) * e];
  const ring = (pts: Array<[number, number]>): Array<[number, number]> => {
    const r = pts.map(([x, y]) => m(x, y));
    return [...r, r[0]!];
  };
  const poly = (coordinates: unknown, name: string, type = 'Polygon'): object => ({ type: 'Feature', properties: { name }, geometry: { type, coordinates } });
  const features = [
    poly([ring([[5, 5], [W * 0.6, 5], [W * 0.6, H * 0.3], [5, H * 0.3]])], 'square'),
    poly(
      [
        ring([[W * 0.1, H * 0.2], [W * 0.9, H * 0.2], [W * 0.9, H * 0.8], [W * 0.1, H * 0.8]]),
        ring([[W * 0.3, H * 0.4], [W * 0.3, H * 0.6], [W * 0.7, H * 0.6], [W * 0.7, H * 0.4]]),
      ],
      'with hole',
    ),
    poly(
      [[ring([[0, H * 0.5], [W * 0.2, H * 0.55], [W * 0.1, H * 0.95]])], [ring([[W * 0.5, H * 0.9], [W - 1, H * 0.7], [W - 1, H - 1]])]],
      'two parts',
      'MultiPolygon',
    ),
    poly([ring([[W * 0.2, 0], [W * 0.8, 0], [W * 0.5, H * 0.5], [W * 0.8, H - 1], [W * 0.2, H - 1], [W * 0.45, H * 0.5]])], 'concave'),
    poly([ring([[W + 10, 0], [W + 50, 0], [W + 50, 30]])], 'outside'),
  ];
  return { type: 'FeatureCollection', crs: { type: 'name', properties: { name: g.crs ?? 'none' } }, features };
}

interface Case {
  dir: string;
  image: string;
  labels: string;
}

async function writeCase(name: string, W: number, H: number, labels: Uint8Array | Uint16Array, geometry: Geometry): Promise<Case> {
  const t = tempDir(`delineate-measure-${name}-`);
  temps.push(t.cleanup);
  const rand = lcg(77);
  const image = path.join(t.dir, 'image.tif');
  const labelsFile = path.join(t.dir, 'labels.tif');
  await writeTiff(image, { data: Int16Array.from({ length: W * H }, () => Math.floor(rand() * 2000) - 1000), width: W, height: H, depth: 1, channels: 1, geometry });
  await writeTiff(labelsFile, { data: labels, width: W, height: H, depth: 1, channels: 1, geometry });
  return { dir: t.dir, image, labels: labelsFile };
}

/** The streamed path through measureFiles (threshold lowered) and with 32-row strips; both must equal in memory. */
async function expectStreamedEqualsInMemory(c: Case, options: MeasureOptions, extraFiles: string[]): Promise<void> {
  const { mem, str } = await measureBothWays(c, options, { files: ['instances.json', 'measurements.csv', ...extraFiles], rasters: ['instances.tif', 'labels.tif'] });
  expect(str.document.instances.length).toBeGreaterThan(10);
  // Tiny strips: objects and zones cross many strip borders.
  const image = await openImage(c.image);
  const labels = await openImage(c.labels);
  try {
    const small = await measureFilesStreamed(image, labels, path.join(c.dir, 'small'), {
      connectivity: options.connectivity ?? 8,
      defaultClass: (id) => mem.document.classes[id - 1] ?? { name: `class ${id}`, color: '#000000' },
      stripRows: 32,
      ...(options.minSizePx ? { minSizePx: options.minSizePx } : {}),
      ...(options.classes ? { classes: options.classes } : {}),
      ...(options.labelsAre ? { labelsAre: options.labelsAre } : {}),
      ...(options.classOfInstance ? { classOfInstance: options.classOfInstance } : {}),
      ...(options.zones ? { zones: options.zones } : {}),
    });
    expect(wholeDocument(small, path.join(c.dir, 'small'))).toEqual(mem.document);
    for (const name of extraFiles) expect(readFileSync(path.join(c.dir, 'small', name), 'utf8')).toEqual(readFileSync(path.join(c.dir, 'mem', name), 'utf8'));
    expect(await readSamples(path.join(c.dir, 'small', 'instances.tif'))).toEqual(await readSamples(path.join(c.dir, 'mem', 'instances.tif')));
  } finally {
    await image.close();
    await labels.close();
  }
}

const CLASSES = ['crop', 'forest', 'water'].map((name, i) => ({ name, color: ['#ffff00', '#00aa00', '#0000ff'][i]! }));

describe('measure --labels-are instances, streamed', () => {
  it('gives the in-memory instances (touching ids apart, one id in two pieces, classes, min size), labels and instance maps', async () => {
    const W = 300;
    const H = 700;
    const values = instanceRaster(W, H, 5);
    const c = await writeCase('inst', W, H, values, UTM);
    const classOfInstance = new Map<number, number>();
    for (let v = 1; v < 800; v++) if (v % 3 === 0) classOfInstance.set(v, 1 + (v % 3 === 0 ? (v % 2) + 1 : 0));
    await expectStreamedEqualsInMemory(c, { labelsAre: 'instances', classes: CLASSES, classOfInstance, minSizePx: 3 }, []);
    const doc = JSON.parse(readFileSync(path.join(c.dir, 'str', 'instances.json'), 'utf8')) as { instances: InstanceRecord[] };
    // Ids are per value, not per connected piece: a value drawn twice is one instance.
    expect(new Set(doc.instances.map((r) => r.labelValue)).size).toBe(doc.instances.length);
    expect(doc.instances.some((r) => typeof r.labelValue === 'number' && r.labelValue > 255)).toBe(true);
  });

  it('with zones (pixel geometry without a CRS, 4-connected)', async () => {
    const W = 260;
    const H = 530;
    const geo: GeoGeometry = { type: 'geo', geotransform: [1000, 2, 0, 5000, 0, -2], crs: null };
    const c = await writeCase('instzones', W, H, instanceRaster(W, H, 8), geo);
    const zones = path.join(c.dir, 'zones.geojson');
    writeFileSync(zones, JSON.stringify(zonesGeojson(geo, W, H, 3)));
    await expectStreamedEqualsInMemory(c, { labelsAre: 'instances', zones, connectivity: 4 }, ['zones.csv', 'zones.geojson']);
  });
});

describe('measure --zones, streamed', () => {
  it('gives the in-memory zones.csv and zones.geojson (ellipsoidal areas, holes, multipolygons, size filter)', async () => {
    const W = 320;
    const H = 650;
    const c = await writeCase('zones', W, H, classRaster(W, H, 4), UTM);
    const zones = path.join(c.dir, 'zones.geojson');
    writeFileSync(zones, JSON.stringify(zonesGeojson(UTM, W, H, 1)));
    await expectStreamedEqualsInMemory(c, { zones, classes: CLASSES, minSizePx: 4 }, ['zones.csv', 'zones.geojson']);
    const csv = readFileSync(path.join(c.dir, 'str', 'zones.csv'), 'utf8').trim().split('\r\n');
    expect(csv).toHaveLength(6);
    expect(csv[0]).toContain('waterAreaM2');
  });

  it('refuses zones on an image without georeferencing, naming the file', async () => {
    const W = 64;
    const H = 64;
    const c = await writeCase('nogeo', W, H, classRaster(W, H, 2), { type: 'pixel' });
    const zones = path.join(c.dir, 'zones.geojson');
    writeFileSync(zones, JSON.stringify({ type: 'FeatureCollection', features: [] }));
    process.env.DELINEATE_STREAMING_THRESHOLD_PX = '100';
    await expect(measureFiles(c.image, c.labels, path.join(c.dir, 'out'), { zones })).rejects.toThrow(/image\.tif.*--zones needs a georeferenced image/);
  });
});

// ---------------------------------------------------------------- oracles

function hasPython(modules: string): boolean {
  return spawnSync('/usr/bin/python3', ['-c', `import ${modules}`]).status === 0;
}
const hasGdal = hasPython('numpy, osgeo.gdal, osgeo.ogr');
const hasSkimage = hasPython('numpy, skimage.measure');

function python(script: string, args: string[]): unknown {
  const r = spawnSync('/usr/bin/python3', ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python oracle failed (${r.status ?? r.signal}): ${r.stderr || r.error?.message || ''}`);
  return JSON.parse(r.stdout);
}

describe.skipIf(!hasGdal)('measure --zones, streamed, against GDAL rasterize + numpy (skipped without python3-gdal)', () => {
  it('gives each zone the pixel count of every class, nodata and none', async () => {
    const W = 900;
    const H = 1100;
    const geo: GeoGeometry = { type: 'geo', geotransform: [300000, 5, 0, 6000000, 0, -5], crs: null };
    const labels = classRaster(W, H, 12);
    const c = await writeCase('zoracle', W, H, labels, geo);
    const zones = path.join(c.dir, 'zones.geojson');
    const fc = zonesGeojson(geo, W, H, 9) as { features: unknown[] };
    // Without a CRS member the coordinates are the raster's map coordinates (no CRS to convert from).
    writeFileSync(zones, JSON.stringify({ type: 'FeatureCollection', features: fc.features }));
    const image = await openImage(c.image);
    const labelSrc = await openImage(c.labels);
    try {
      await measureFilesStreamed(image, labelSrc, path.join(c.dir, 'out'), { connectivity: 8, defaultClass: (id) => CLASSES[id - 1]!, stripRows: 48, zones });
    } finally {
      await image.close();
      await labelSrc.close();
    }
    const script = [
      'import sys, json, numpy as np',
      'from osgeo import gdal, ogr',
      'gdal.UseExceptions()',
      'ras = gdal.Open(sys.argv[1]); lab = ras.ReadAsArray(); gt = ras.GetGeoTransform()',
      'src = ogr.Open(sys.argv[2]); layer = src.GetLayer(0)',
      'out = []',
      'for feat in layer:',
      '    geom = feat.GetGeometryRef().Clone()',
      '    mem = ogr.GetDriverByName("Memory").CreateDataSource("m")',
      '    ml = mem.CreateLayer("z", geom_type=ogr.wkbMultiPolygon)',
      '    f = ogr.Feature(ml.GetLayerDefn()); f.SetGeometry(geom); ml.CreateFeature(f); f = None',
      '    ds = gdal.GetDriverByName("MEM").Create("", lab.shape[1], lab.shape[0], 1, gdal.GDT_Byte)',
      '    ds.SetGeoTransform(gt)',
      '    gdal.RasterizeLayer(ds, [1], ml, burn_values=[1])',
      '    m = ds.ReadAsArray() == 1',
      '    out.append(np.bincount(lab[m].astype(np.int64), minlength=256).tolist())',
      'print(json.dumps(out))',
    ].join('\n');
    const counts = python(script, [c.labels, zones]) as number[][];
    const rows = readFileSync(path.join(c.dir, 'out', 'zones.csv'), 'utf8').trim().split('\r\n');
    const header = rows[0]!.split(',');
    const col = (row: string, name: string): number => Number(row.split(',')[header.indexOf(name)]);
    expect(counts).toHaveLength(5);
    let covered = 0;
    counts.forEach((n, zi) => {
      const row = rows[zi + 1]!;
      expect([col(row, 'noneAreaPx'), col(row, 'cropAreaPx'), col(row, 'forestAreaPx'), col(row, 'waterAreaPx'), col(row, 'nodataAreaPx')]).toEqual([n[0], n[1], n[2], n[3], n[255]]);
      covered += n.reduce((s, v) => s + v, 0);
    });
    expect(covered).toBeGreaterThan(W * H);
  });
});

describe.skipIf(!hasSkimage)('measure --labels-are instances, streamed, against scikit-image regionprops (skipped without python3-skimage)', () => {
  it('gives each instance the area, bbox, centroid, perimeter and intensity statistics of its label value', async () => {
    const W = 700;
    const H = 900;
    const values = instanceRaster(W, H, 21);
    const c = await writeCase('ioracle', W, H, values, { type: 'pixel' });
    const image = await openImage(c.image);
    const labelSrc = await openImage(c.labels);
    let instances: InstanceRecord[];
    try {
      const r = await measureFilesStreamed(image, labelSrc, path.join(c.dir, 'out'), { connectivity: 8, defaultClass: (id) => ({ name: `class ${id}`, color: '#ff0000' }), stripRows: 64, labelsAre: 'instances' });
      instances = r.document.instances;
    } finally {
      await image.close();
      await labelSrc.close();
    }
    const rawLabels = path.join(c.dir, 'labels.u16');
    const rawImage = path.join(c.dir, 'image.i16');
    writeFileSync(rawLabels, values);
    const imageSrc = await openGeoTiff(c.image);
    try {
      writeFileSync(rawImage, (await imageSrc.read()).data as Int16Array);
    } finally {
      await imageSrc.close();
    }
    // Perimeter: marching squares at 0.5 on the padded mask, diagonal pixels joined (fully_connected="high"),
    // the outline definition of measure/index.ts; skimage's own `perimeter` is a different estimator.
    const script = [
      'import sys, json, numpy as np',
      'from skimage import measure',
      `lab = np.fromfile(sys.argv[1], dtype=np.uint16).reshape(${H}, ${W})`,
      `img = np.fromfile(sys.argv[2], dtype=np.int16).reshape(${H}, ${W})`,
      'out = {}',
      'for p in measure.regionprops(lab.astype(np.int32), intensity_image=img.astype(np.float64)):',
      '    m = np.pad(p.image, 1).astype(np.float64)',
      '    per = sum(np.sqrt((np.diff(c, axis=0) ** 2).sum(1)).sum() for c in measure.find_contours(m, 0.5, fully_connected="high"))',
      '    out[p.label] = dict(area=int(p.area), bbox=[int(v) for v in p.bbox], centroid=[float(v) for v in p.centroid], perimeter=float(per),',
      '        mean=float(p.intensity_mean), min=float(p.intensity_min), max=float(p.intensity_max))',
      'print(json.dumps(out))',
    ].join('\n');
    const ref = python(script, [rawLabels, rawImage]) as Record<string, { area: number; bbox: number[]; centroid: number[]; perimeter: number; mean: number; min: number; max: number }>;
    expect(instances.length).toBe(Object.keys(ref).length);
    for (const r of instances) {
      const o = ref[String(r.labelValue)]!;
      expect(r.pixelCount).toBe(o.area);
      expect([...r.bbox.min, ...r.bbox.max]).toEqual([o.bbox[1], o.bbox[0], o.bbox[3]! - 1, o.bbox[2]! - 1]);
      expect(r.centroidPx[0]).toBeCloseTo(o.centroid[1]!, 9);
      expect(r.centroidPx[1]).toBeCloseTo(o.centroid[0]!, 9);
      expect(r.perimeterPx as number).toBeCloseTo(o.perimeter, 4);
      expect(r.meanIntensity as number).toBeCloseTo(o.mean, 9);
      expect([r.minIntensity, r.maxIntensity]).toEqual([o.min, o.max]);
    }
  });
});
