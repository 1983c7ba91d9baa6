// Every measurement column names its unit (a header without one fails here), the intensity unit follows the
// modality (HU for CT, arbitrary signal units for MR, DN for rasters), a panel uses one area unit (ha or m², never
// both), and a pixel size given to an image without geometry turns px into mm² or m².
import { describe, expect, it } from 'vitest';
import type { InstancesDocument } from '../../preload/api';
import { UNITLESS_COLUMNS, columnsFor, instancesCsv, intensityUnit, summarySizeField, withPixelSize } from '../../renderer/measurements/columns';

function doc(kind: 'medical' | 'geo' | 'image', fields: Record<string, number>, classFields: Record<string, number> = fields): InstancesDocument {
  return {
    source: { file: 'x', kind, width: 10, height: 10, depth: 1 },
    classes: [{ id: 1, name: 'tumour', color: '#ff0000', instanceCount: 1, pixelCount: 10, fraction: 0.1, ...classFields }],
    instances: [{ id: 1, classId: 1, className: 'tumour', pixelCount: 10, bbox: { min: [0, 0], max: [1, 1] }, centroidPx: [0, 0], meanIntensity: 3, meanProbability: 0.9, recistSlice: 2, ...fields }],
  } as unknown as InstancesDocument;
}

const CASES: Array<[string, InstancesDocument, string]> = [
  ['CT volume', doc('medical', { volumeMl: 2, longAxisMm: 12, shortAxisMm: 8 }), 'HU'],
  ['MR volume', doc('medical', { volumeMl: 2, longAxisMm: 12, shortAxisMm: 8 }), 'a.u.'],
  ['MR slice', doc('medical', { areaMm2: 30, longAxisMm: 6, shortAxisMm: 4 }), 'a.u.'],
  ['map, small objects', doc('geo', { areaM2: 120, longAxisM: 14, shortAxisM: 9 }), 'DN'],
  ['map, large regions', doc('geo', { areaM2: 20_000, areaHa: 2 }), 'DN'],
  ['picture without geometry', doc('image', { areaPx: 40, longAxisPx: 9, shortAxisPx: 5 }), 'DN'],
];

describe('measurement columns', () => {
  it.each(CASES)('every column of a %s result names its unit', (_name, d, valueUnit) => {
    const cols = columnsFor(d, valueUnit);
    const missing = cols.filter((c) => !UNITLESS_COLUMNS.has(c.key) && !(c.unit && c.unit.trim()));
    expect(missing.map((c) => c.label)).toEqual([]);
    expect(cols.find((c) => c.key === 'meanIntensity')?.unit).toBe(valueUnit);
  });

  it('only identifiers go without a unit', () => {
    expect([...UNITLESS_COLUMNS].sort()).toEqual(['className', 'id', 'recistSlice']);
  });

  it('takes the intensity unit from the modality', () => {
    expect(intensityUnit({ kind: 'medical', modality: 'CT' })).toBe('HU');
    expect(intensityUnit({ kind: 'medical', modality: 'MR' })).toBe('a.u.');
    expect(intensityUnit({ kind: 'medical' })).toBe('a.u.');
    expect(intensityUnit({ kind: 'geo' })).toBe('DN');
  });

  it('uses one area unit for the whole panel: hectares in the table too once the summary is in hectares', () => {
    const d = doc('geo', { areaM2: 150 }, { areaM2: 25_000, areaHa: 2.5 });
    expect(summarySizeField(d)[2]).toBe('ha');
    const size = columnsFor(d, 'DN')[2]!;
    expect([size.key, size.unit]).toEqual(['areaHa', 'ha']);
    expect(size.format(size.value(d.instances[0]!))).toBe('0.015');
    const small = doc('geo', { areaM2: 150 }, { areaM2: 900, areaHa: 0.09 });
    expect(summarySizeField(small)[2]).toBe('m²');
    expect(columnsFor(small, 'DN')[2]!.unit).toBe('m²');
  });

  it('turns pixel areas and lengths into mm² / mm or m² / m with a user-given pixel size', () => {
    const d = doc('image', { areaPx: 400, longAxisPx: 30, shortAxisPx: 10 });
    expect(columnsFor(d, 'DN')[2]!.unit).toBe('px');
    const mm = withPixelSize(d, { value: 0.5, unit: 'mm' });
    const cols = columnsFor(mm, 'DN');
    expect(cols.map((c) => [c.key, c.unit]).slice(2, 5)).toEqual([
      ['areaMm2', 'mm²'],
      ['longAxisMm', 'mm'],
      ['shortAxisMm', 'mm'],
    ]);
    expect(mm.instances[0]!.areaMm2).toBeCloseTo(100);
    expect(mm.instances[0]!.longAxisMm).toBeCloseTo(15);
    expect(mm.classes[0]!.areaMm2).toBeCloseTo(100);
    expect(instancesCsv(mm).split('\n')[0]).toContain('areaMm2');
    const m = withPixelSize(d, { value: 2, unit: 'm' });
    expect([m.instances[0]!.areaM2, m.instances[0]!.areaHa]).toEqual([1600, 0.16]);
    expect(withPixelSize(d, null)).toBe(d);
  });
});
