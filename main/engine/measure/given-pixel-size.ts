// Measurements of an image without geometry (PNG, JPEG) once a person gives its pixel size: pixel areas and lengths
// become mm²/mm or m²/m (and ha for m²), as the measurements panel shows them, so exported CSV and JSON read the
// same. The document says the size was given, not read from the file.
import type { Geometry, InstancesDocument, PixelSize } from '../../../preload/api';

/** Pixel-unit fields and their physical names. */
const PX_FIELDS: Array<[string, 'length' | 'area', string, string]> = [
  ['areaPx', 'area', 'areaMm2', 'areaM2'],
  ['longAxisPx', 'length', 'longAxisMm', 'longAxisM'],
  ['shortAxisPx', 'length', 'shortAxisMm', 'shortAxisM'],
  ['maxFeretPx', 'length', 'maxFeretMm', 'maxFeretM'],
  ['perimeterPx', 'length', 'perimeterMm', 'perimeterM'],
];

/** Whether a result's geometry leaves room for a given pixel size (no spacing, no map). */
export function takesPixelSize(geometry: Geometry): boolean {
  return geometry.type === 'pixel' && !geometry.spacingMm;
}

export function withGivenPixelSize(doc: InstancesDocument, size: PixelSize): InstancesDocument {
  const convert = <T extends Record<string, unknown>>(r: T): T => {
    const out: Record<string, unknown> = { ...r };
    for (const [px, kind, mm, m] of PX_FIELDS) {
      const v = r[px];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      delete out[px];
      const value = kind === 'area' ? v * size.value * size.value : v * size.value;
      out[size.unit === 'mm' ? mm : m] = value;
      if (kind === 'area' && size.unit === 'm') out.areaHa = value / 10_000;
    }
    return out as T;
  };
  return { ...doc, source: { ...doc.source, pixelSizeGiven: { value: size.value, unit: size.unit } }, classes: doc.classes.map(convert), instances: doc.instances.map(convert) };
}

/** The geometry manual lengths are measured on: the given pixel size as a spacing in mm. */
export function givenGeometry(size: PixelSize): Geometry {
  const mm = size.unit === 'mm' ? size.value : size.value * 1000;
  return { type: 'pixel', spacingMm: [mm, mm, 1] };
}
