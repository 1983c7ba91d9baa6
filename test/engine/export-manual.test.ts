// Hand-drawn measurements in the exports: lengths in mm / m / px by the geometry, a second CSV table after the
// objects' one (slices counted from 1), `manualMeasurements` in the JSON export, and the lines drawn on the PNG
// snapshot of their slice only.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Geometry, InstancesDocument } from '../../preload/formats';
import { exportResult, snapshotCaption, type LoadedResult } from '../../main/engine/export/exporter';
import { lengthOn, manualCsv, manualRecords, snapshotLines, type ManualInput } from '../../main/engine/export/manual';

const W = 80;
const H = 60;
const D = 3;
const MEDICAL: Geometry = { type: 'medical', spacingMm: [0.5, 0.5, 2], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };

const RULER: ManualInput = { id: 3, z: 1, kind: 'ruler', points: [[10, 10], [40, 50]] };
const BIDI: ManualInput = { id: 7, z: 2, kind: 'bidirectional', points: [[10, 10], [70, 10], [40, 0], [40, 20]] };

function result(geometry: Geometry): LoadedResult {
  const labels = new Uint8Array(W * H * D);
  const instances = new Uint32Array(W * H * D);
  for (let y = 20; y < 30; y++) {
    for (let x = 20; x < 30; x++) {
      labels[W * H + y * W + x] = 1;
      instances[W * H + y * W + x] = 1;
    }
  }
  const document: InstancesDocument = {
    source: { file: 'x.nii', kind: 'medical', width: W, height: H, depth: D },
    classes: [{ id: 1, name: 'lesion', color: '#ff0000', instanceCount: 1, pixelCount: 100, fraction: 100 / (W * H * D) }],
    instances: [{ id: 1, classId: 1, className: 'lesion', pixelCount: 100, bbox: { min: [20, 20, 1], max: [29, 29, 1] }, centroidPx: [24.5, 24.5, 1] }],
  };
  return { dir: 'x', document, width: W, height: H, depth: D, geometry, classes: [{ name: 'lesion', color: '#ff0000' }], labels, nodataLabel: 255, instances };
}

describe('manual measurements in exports', () => {
  it('measures lengths in mm with the pixel spacing, in m on a projected map, in px without geometry', () => {
    // 30 x 40 px at 0.5 mm: 25 mm.
    expect(manualRecords([RULER], MEDICAL)[0]).toEqual({ measurement: 'M3', kind: 'ruler', slice: 2, z: 1, points: [[10, 10], [40, 50]], longMm: 25 });
    const bidi = manualRecords([BIDI], MEDICAL)[0]!;
    expect([bidi.longMm, bidi.shortMm, bidi.slice]).toEqual([30, 10, 3]);
    const utm: Geometry = { type: 'geo', geotransform: [500000, 10, 0, 4000000, 0, -10], crs: 'EPSG:32633' };
    expect(lengthOn(utm).unit).toBe('M');
    expect(manualRecords([RULER], utm)[0]!.longM).toBe(500);
    expect(manualRecords([RULER], { type: 'pixel' })[0]!.longPx).toBe(50);
  });

  it('appends a CSV table after the objects, and lists them in the JSON export', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'delineate-export-manual-'));
    try {
      const csv = join(dir, 'm.csv');
      await exportResult(result(MEDICAL), 'csv', csv, { measurements: [RULER, BIDI] });
      const lines = readFileSync(csv, 'utf8').split('\r\n');
      expect(lines[0]!.startsWith('id,')).toBe(true);
      expect(lines[2]).toBe('');
      expect(lines[3]).toBe('measurement,kind,slice,longMm,shortMm,x0,y0,x1,y1,x2,y2,x3,y3');
      expect(lines[4]).toBe('M3,ruler,2,25,,10,10,40,50,,,,');
      expect(lines[5]).toBe('M7,bidirectional,3,30,10,10,10,70,10,40,0,40,20');
      expect(manualCsv([], MEDICAL)).toBe('');
      // Without measurements the file is the objects' table alone, as before.
      await exportResult(result(MEDICAL), 'csv', csv);
      expect(readFileSync(csv, 'utf8').trim().split('\r\n')).toHaveLength(2);

      const json = join(dir, 'm.json');
      await exportResult(result(MEDICAL), 'json', json, { measurements: [RULER] });
      const doc = JSON.parse(readFileSync(json, 'utf8')) as { manualMeasurements: unknown[]; instances: unknown[] };
      expect(doc.instances).toHaveLength(1);
      expect(doc.manualMeasurements).toEqual([{ measurement: 'M3', kind: 'ruler', slice: 2, z: 1, points: [[10, 10], [40, 50]], longMm: 25 }]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('draws the measurements of the snapshot\'s slice (only those) on the PNG', async () => {
    expect(snapshotLines([RULER, BIDI], MEDICAL, 1)).toEqual([{ a: [10, 10], b: [40, 50], label: 'M3 25 mm' }]);
    expect(snapshotLines([RULER, BIDI], MEDICAL, 2)).toHaveLength(2);
    const dir = mkdtempSync(join(tmpdir(), 'delineate-export-manual-'));
    try {
      const plain = join(dir, 'plain.png');
      const drawn = join(dir, 'drawn.png');
      const other = join(dir, 'other.png');
      await exportResult(result(MEDICAL), 'png', plain, { z: 1 });
      await exportResult(result(MEDICAL), 'png', drawn, { z: 1, measurements: [RULER] });
      await exportResult(result(MEDICAL), 'png', other, { z: 1, measurements: [BIDI] });
      const read = async (f: string) => sharp(f).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const [a, b, c] = await Promise.all([read(plain), read(drawn), read(other)]);
      // The ruler's midpoint (25, 30) in output pixels (the 80-px image is enlarged 8x to 640).
      const k = a.info.width / W;
      const at = (img: { data: Buffer; info: { width: number } }, x: number, y: number) => [...img.data.subarray((Math.round(y * k) * img.info.width + Math.round(x * k)) * 3, (Math.round(y * k) * img.info.width + Math.round(x * k)) * 3 + 3)];
      expect(at(a, 25, 30)).toEqual([64, 64, 64]);
      const [r, g, bl] = at(b, 25, 30);
      expect(r).toBeGreaterThan(200);
      expect(g).toBeGreaterThan(180);
      expect(bl).toBeLessThan(120);
      // A measurement on another slice is not drawn.
      expect(c.data.equals(a.data)).toBe(true);
      // The volume's slice is named, counted from 1 (upper left); a 2D result has no such label.
      expect(snapshotCaption(1, D)).toBe('Slice 2 of 3');
      expect(snapshotCaption(0, 1)).toBeUndefined();
      const corner = (img: { data: Buffer; info: { width: number } }) => {
        const out: number[] = [];
        for (let y = 5; y < 25; y++) for (let x = 8; x < 90; x++) out.push(img.data[(y * img.info.width + x) * 3]!);
        return out;
      };
      expect(Math.max(...corner(a))).toBeGreaterThan(200);
      const flat = join(dir, 'flat.png');
      await exportResult({ ...result(MEDICAL), depth: 1, labels: new Uint8Array(W * H), instances: new Uint32Array(W * H) }, 'png', flat, { z: 0 });
      expect(Math.max(...corner(await read(flat)))).toBe(64);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
