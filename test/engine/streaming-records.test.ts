// Records of streamed results made a chunk at a time (issue 21: a speckled result of millions of 1-pixel objects ran
// out of memory holding them): the statistics in columns (StatsTable), records measured RECORD_CHUNK at a time with
// class totals on the side (InstanceMeasurer), and instances.json / measurements.csv / records.jsonl put together
// from files written as the records arrive (RecordSpill). Each must give the bytes of the in-memory path.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Geometry, InstanceRecord, ManifestClass } from '../../preload/formats';
import { allocPixels, type Region } from '../../main/engine/image';
import { connectedComponents } from '../../main/engine/postprocess/components';
import { measureStreamingTo, RECORD_CHUNK, type RowSource } from '../../main/engine/postprocess/streaming';
import { PieceTable, StatsTable } from '../../main/engine/postprocess/streaming-common';
import { countLabels, cropMask, InstanceMeasurer, measureInstances, planeShapeFields, shapeContext } from '../../main/engine/measure/index';
import { writeJsonWithArray } from '../../main/engine/io/json-stream';
import { RecordSpill } from '../../main/engine/io/record-spill';
import { measurementsCsv } from '../../main/engine/export/results';
import { sizeOfRecord } from '../../main/engine/results/tiles';
import { tempDir } from './helpers';
import { drawShapes, lcg, speckle } from './random-labels';

const t = tempDir('delineate-streaming-records-');
afterAll(() => t.cleanup());

function arraySource(data: Uint8Array, width: number, height: number): RowSource {
  return {
    file: 'memory',
    width,
    height,
    dtype: 'uint8',
    read: (r: Region) => {
      const x = r.x ?? 0;
      const y = r.y ?? 0;
      const w = r.width ?? width - x;
      const h = r.height ?? height - y;
      const out = allocPixels('uint8', w * h);
      for (let yy = 0; yy < h; yy++) out.set(data.subarray((y + yy) * width + x, (y + yy) * width + x + w), yy * w);
      return Promise.resolve({ data: out, width: w, height: h, depth: 1, channels: 1, dtype: 'uint8' });
    },
  };
}

const CLASSES: ManifestClass[] = [
  { name: 'field', color: '#00ff00' },
  // A name that CSV must quote.
  { name: 'road, paved', color: '#808080' },
  { name: 'water', color: '#0000ff' },
];
const GEO: Geometry = { type: 'geo', geotransform: [500000, 0.5, 0, 5000000, 0, -0.5], crs: 'EPSG:32633' };

/** Every other pixel of every other row is a 1-pixel object (classes cycling), plus a few larger blobs. */
function speckleField(W: number, H: number): Uint8Array {
  const labels = new Uint8Array(W * H);
  for (let y = 0; y < H; y += 2) for (let x = 0; x < W; x += 2) labels[y * W + x] = 1 + ((x / 2 + y / 2) % 3);
  const rand = lcg(7);
  drawShapes(labels, W, H, 12, rand, () => 1 + Math.floor(rand() * 3), [6, 40]);
  return labels;
}

/** The in-memory postprocess's records and classes (components.ts + measure/index.ts on the whole map). */
function inMemory(labels: Uint8Array, W: number, H: number, geometry: Geometry, probability?: Uint8Array): ReturnType<typeof measureInstances> {
  const p = probability ? Float32Array.from(probability, (v) => v / 255) : undefined;
  const cc = connectedComponents({ labels: labels.slice(), width: W, height: H, depth: 1, nodataLabel: 255, connectivity: 8, ...(p ? { probability: p } : {}) });
  const counts = countLabels(labels, CLASSES.length, 255);
  return measureInstances(cc.stats, {
    geometry,
    depth: 1,
    classes: CLASSES,
    validPixelCount: counts.valid,
    classPixelCounts: counts.perClass,
    hasProbability: p !== undefined,
    hasIntensity: false,
    instanceMap: cc.instances,
    width: W,
    height: H,
    connectivity: 8,
  });
}

describe('a speckled result streamed a chunk of records at a time', () => {
  const W = 512;
  const H = 512;
  const labels = speckleField(W, H);
  const probability = new Uint8Array(W * H);
  for (let i = 0; i < probability.length; i++) probability[i] = 128 + ((i * 31) % 127);

  it('writes the in-memory path\'s instances.json and measurements.csv, never holding more than a chunk of records', async () => {
    const ref = inMemory(labels, W, H, GEO, probability);
    expect(ref.instances.length).toBeGreaterThan(50000);
    const head = { source: { file: 'speckle.tif' }, classes: ref.classes };
    const refJson = path.join(t.dir, 'ref.json');
    await writeJsonWithArray(refJson, head, 'instances', ref.instances);
    const refCsv = measurementsCsv(ref.instances);

    const out = path.join(t.dir, 'streamed');
    mkdirSync(out);
    const spill = await RecordSpill.open(out, { index: sizeOfRecord });
    const chunks: number[] = [];
    let nextId = 1;
    const got = await measureStreamingTo(
      { labels: arraySource(labels, W, H), probability: arraySource(probability, W, H), connectivity: 8, geometry: GEO, classes: CLASSES, stripRows: 64 },
      async (records: InstanceRecord[]) => {
        chunks.push(records.length);
        for (const r of records) expect(r.id).toBe(nextId++);
        await spill.add(records);
      },
    );
    expect(got.count).toBe(ref.instances.length);
    // Records arrive RECORD_CHUNK at a time (the last chunk: the rest), in id order.
    expect(chunks.length).toBe(Math.ceil(ref.instances.length / RECORD_CHUNK));
    expect(chunks.slice(0, -1).every((n) => n === RECORD_CHUNK)).toBe(true);
    // Class totals accumulated on the side: instance counts and the ellipsoidal area sums, bit for bit.
    expect(got.classes).toEqual(ref.classes);
    const index = await spill.finish(path.join(out, 'instances.json'), { source: { file: 'speckle.tif' }, classes: got.classes }, path.join(out, 'measurements.csv'));
    expect(readFileSync(path.join(out, 'instances.json'), 'utf8')).toBe(readFileSync(refJson, 'utf8'));
    expect(readFileSync(path.join(out, 'measurements.csv'), 'utf8')).toBe(refCsv);

    // records.jsonl: one line per record at the indexed byte ranges, with the sort keys the disk store uses.
    expect(index).not.toBeNull();
    const jsonl = readFileSync(index!.file);
    const n = ref.instances.length;
    expect(index!.ids.length).toBe(n);
    expect(index!.offsets[n]).toBe(jsonl.length);
    for (const k of [0, 1, 777, Math.floor(n / 2), n - 1]) {
      const line = jsonl.subarray(index!.offsets[k]!, index!.offsets[k + 1]!).toString('utf8');
      expect(JSON.parse(line)).toEqual(ref.instances[k]);
      expect(index!.ids[k]).toBe(ref.instances[k]!.id);
      expect(index!.classIds[k]).toBe(ref.instances[k]!.classId);
      expect(index!.sizes[k]).toBe(sizeOfRecord(ref.instances[k]!));
      expect(index!.meanProbability[k]).toBe(Math.fround(ref.instances[k]!.meanProbability as number));
    }
    expect(index!.hadProbability).toBe(true);
  }, 300_000);
});

describe('chunked record production', () => {
  const W = 96;
  const H = 80;
  const rand = lcg(11);
  const labels = new Uint8Array(W * H);
  drawShapes(labels, W, H, 25, rand, () => 1 + Math.floor(rand() * 3), [1, 12]);
  speckle(labels, rand, 0.05, 0.05);

  it('InstanceMeasurer over chunks of any size gives measureInstances\'s records and class totals', () => {
    const cc = connectedComponents({ labels: labels.slice(), width: W, height: H, depth: 1, nodataLabel: 255, connectivity: 8 });
    const counts = countLabels(labels, CLASSES.length, 255);
    const options = { geometry: GEO, depth: 1, classes: CLASSES, validPixelCount: counts.valid, classPixelCounts: counts.perClass, hasProbability: false, hasIntensity: false, width: W, height: H, connectivity: 8 as const };
    const ref = measureInstances(cc.stats, { ...options, instanceMap: cc.instances });
    // Shape fields of each instance's crop, as the streaming pass hands them to the measurer.
    const ctx = shapeContext(GEO, W, H, 8);
    const shapes = cc.stats.map((s) => planeShapeFields(s, cropMask(cc.instances, W, H, 0, s.id, s.min[0], s.min[1], s.max[0] - s.min[0] + 1, s.max[1] - s.min[1] + 1), ctx));
    expect(ref.instances.length).toBeGreaterThan(100);
    for (const chunk of [1, 7, 64, 100000]) {
      const m = new InstanceMeasurer(options);
      const got: InstanceRecord[] = [];
      for (let i = 0; i < cc.stats.length; i += chunk) got.push(...m.measure(cc.stats.slice(i, i + chunk), shapes.slice(i, i + chunk)));
      expect(got).toEqual(ref.instances);
      expect(m.classes()).toEqual(ref.classes);
    }
  });

  it('StatsTable columns hold the same statistics as the objects (resolveTable = resolve)', () => {
    const cc = connectedComponents({ labels: labels.slice(), width: W, height: H, depth: 1, nodataLabel: 255, connectivity: 4, minPixels: 3 });
    const table = StatsTable.fromArray(cc.stats);
    expect(table.length).toBe(cc.stats.length);
    expect(table.toArray()).toEqual(cc.stats);
    // Two piece tables fed the same pieces: columns and objects agree, dropped objects included.
    const feed = (volume = true): PieceTable => {
      const p = new PieceTable(volume);
      const base = p.add(4, 0);
      const cls = new Uint8Array([1, 1, 2, 0, 2, 2, 3, 3]);
      const ids = new Uint32Array([1, 1, 2, 0, 3, 3, 4, 4]);
      p.addPixels(cls, ids, base, 4, 2, 0, 0, 255);
      p.union(base + 2, base + 3);
      return p;
    };
    const objects = feed().resolve(2);
    const columns = feed().resolveTable(2);
    expect(columns.table.toArray()).toEqual(objects.stats);
    expect(Array.from(columns.finalOf)).toEqual(Array.from(objects.finalOf));
    // A plane table keeps no z columns and gives the same statistics (z = 0).
    const plane = feed(false).resolveTable(2);
    expect(plane.table.minZ).toBeNull();
    expect(plane.table.toArray()).toEqual(objects.stats);
    expect(objects.stats.map((s) => s.pixelCount)).toEqual([2, 3, 2]);
  });
});

describe('RecordSpill', () => {
  it('pads rows written before a column first appeared, across read blocks, as measurementsCsv does', async () => {
    const records: InstanceRecord[] = [];
    for (let i = 1; i <= 40000; i++) {
      const rec: InstanceRecord = { id: i, classId: 1 + (i % 3), className: CLASSES[i % 3]!.name, pixelCount: i, bbox: { min: [i, 0], max: [i, 2] }, centroidPx: [i, 1], areaPx: i };
      // A field first seen late (and then only now and then): earlier rows lack a trailing column.
      if (i >= 30000 && i % 2 === 0) rec.shortAxisEndsPx = [[i, 0], [i, 2]];
      if (i === 35000) rec.note = 'a "quoted", multi\nline value';
      records.push(rec);
    }
    const dir = tempDir('delineate-record-spill-');
    try {
      const spill = await RecordSpill.open(dir.dir);
      for (let i = 0; i < records.length; i += 999) await spill.add(records.slice(i, i + 999));
      const head = { classes: [] };
      const index = await spill.finish(path.join(dir.dir, 'instances.json'), head, path.join(dir.dir, 'measurements.csv'));
      expect(index).toBeNull();
      expect(readFileSync(path.join(dir.dir, 'measurements.csv'), 'utf8')).toBe(measurementsCsv(records));
      expect(readFileSync(path.join(dir.dir, 'instances.json'), 'utf8')).toBe(JSON.stringify({ ...head, instances: records }, null, 2) + '\n');
      // Only the two files: the scratch files are gone.
      expect(readdirSync(dir.dir).sort()).toEqual(['instances.json', 'measurements.csv']);
    } finally {
      dir.cleanup();
    }
  });

  it('with no records writes the header-only CSV and an empty array', async () => {
    const dir = tempDir('delineate-record-spill-');
    try {
      const spill = await RecordSpill.open(dir.dir);
      await spill.finish(path.join(dir.dir, 'instances.json'), { classes: [] }, path.join(dir.dir, 'measurements.csv'));
      expect(readFileSync(path.join(dir.dir, 'measurements.csv'), 'utf8')).toBe(measurementsCsv([]));
      expect(readFileSync(path.join(dir.dir, 'instances.json'), 'utf8')).toBe(JSON.stringify({ classes: [], instances: [] }, null, 2) + '\n');
    } finally {
      dir.cleanup();
    }
  });
});
