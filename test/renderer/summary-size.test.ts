// The per-class summary's size column: hectares for map results with a class of a hectare or more, the document's
// own size field otherwise (mL and mm² for medical results, m² for small map results, pixels without geometry).
import { describe, expect, it } from 'vitest';
import { summarySizeField } from '../../renderer/measurements/columns';
import type { InstancesDocument } from '../../preload/api';

function doc(classes: Array<Record<string, number>>, instance: Record<string, number>): InstancesDocument {
  return {
    classes: classes.map((c, i) => ({ id: i + 1, name: `c${i + 1}`, color: '#ff0000', instanceCount: 1, pixelCount: 10, ...c })),
    instances: [{ id: 1, classId: 1, className: 'c1', pixelCount: 10, ...instance }],
  } as unknown as InstancesDocument;
}

describe('summarySizeField', () => {
  it('uses hectares once a map class covers a hectare', () => {
    expect(summarySizeField(doc([{ areaM2: 8_152_735.1, areaHa: 815.27 }, { areaM2: 50, areaHa: 0.005 }], { areaM2: 50, areaHa: 0.005 }))).toEqual(['areaHa', 'Area', 'ha']);
  });

  it('keeps m² for small map results, and mL / mm² / px where those are the size', () => {
    expect(summarySizeField(doc([{ areaM2: 9_999, areaHa: 0.9999 }], { areaM2: 9_999, areaHa: 0.9999 }))).toEqual(['areaM2', 'Area', 'm²']);
    expect(summarySizeField(doc([{ volumeMl: 42, areaMm2: 2e6 }], { volumeMl: 42 }))).toEqual(['volumeMl', 'Volume', 'mL']);
    expect(summarySizeField(doc([{ areaPx: 20_000 }], { areaPx: 20_000 }))).toEqual(['areaPx', 'Area', 'px']);
  });
});
