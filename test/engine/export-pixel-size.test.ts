// Exports of a picture without geometry after a person gave its pixel size: the CSV and JSON tables carry mm² / mm
// (or m² / m and ha) instead of px, manual lengths too, and the JSON says the size was given; an image with a
// geometry of its own ignores it.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Geometry, InstancesDocument } from '../../preload/formats';
import { exportResult, type LoadedResult } from '../../main/engine/export/exporter';

const W = 40;
const H = 30;

function result(geometry: Geometry): LoadedResult {
  const labels = new Uint8Array(W * H);
  const instances = new Uint32Array(W * H);
  for (let y = 10; y < 20; y++) for (let x = 5; x < 25; x++) labels[y * W + x] = instances[y * W + x] = 1;
  const document: InstancesDocument = {
    source: { file: 'photo.png', kind: 'image', width: W, height: H, depth: 1 },
    classes: [{ id: 1, name: 'leaf', color: '#00ff00', instanceCount: 1, pixelCount: 200, fraction: 200 / (W * H), areaPx: 200 }],
    instances: [{ id: 1, classId: 1, className: 'leaf', pixelCount: 200, bbox: { min: [5, 10], max: [24, 19] }, centroidPx: [14.5, 14.5], areaPx: 200, longAxisPx: 20, shortAxisPx: 10 }],
  };
  return { dir: 'x', document, width: W, height: H, depth: 1, geometry, classes: [{ name: 'leaf', color: '#00ff00' }], labels, nodataLabel: 255, instances };
}

describe('exports with a given pixel size', () => {
  it('writes mm² and mm in the CSV and JSON, and the manual lengths in mm', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'delineate-export-px-'));
    try {
      const csv = join(dir, 'm.csv');
      await exportResult(result({ type: 'pixel' }), 'csv', csv, { pixelSize: { value: 0.5, unit: 'mm' }, measurements: [{ id: 1, z: 0, kind: 'ruler', points: [[0, 0], [30, 40]] }] });
      const lines = readFileSync(csv, 'utf8').split('\r\n');
      const head = lines[0]!.split(',');
      const row = lines[1]!.split(',');
      expect(head).not.toContain('areaPx');
      expect(Number(row[head.indexOf('areaMm2')])).toBe(50);
      expect(Number(row[head.indexOf('longAxisMm')])).toBe(10);
      expect(lines[3]).toMatch(/^measurement,kind,slice,longMm,/);
      expect(lines[4]!.split(',')[3]).toBe('25');
      const json = join(dir, 'm.json');
      await exportResult(result({ type: 'pixel' }), 'json', json, { pixelSize: { value: 2, unit: 'm' } });
      const doc = JSON.parse(readFileSync(json, 'utf8')) as InstancesDocument;
      expect([doc.instances[0]!.areaM2, doc.instances[0]!.areaHa, doc.classes[0]!.areaM2]).toEqual([800, 0.08, 800]);
      expect(doc.source.pixelSizeGiven).toEqual({ value: 2, unit: 'm' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves an image with its own spacing as it is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'delineate-export-px-'));
    try {
      const json = join(dir, 'm.json');
      await exportResult(result({ type: 'pixel', spacingMm: [0.3, 0.3, 1] }), 'json', json, { pixelSize: { value: 2, unit: 'm' } });
      const doc = JSON.parse(readFileSync(json, 'utf8')) as InstancesDocument;
      expect(doc.instances[0]!.areaPx).toBe(200);
      expect(doc.source.pixelSizeGiven).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
