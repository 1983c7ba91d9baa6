// Which measurement columns a result has (size in mL, mm², m² or px; RECIST axes; intensity; probability),
// how to sort them, and the CSV export. Field names are the instances.json ones, so the CSV header carries units.
import type { ClassRecord, InstanceRecord, InstancesDocument, PixelSize } from '../../preload/api';
import { trim } from '../viewer/units';
import { recistSliceNumber } from './focus';

export interface Column {
  /** instances.json field (or a derived name). */
  key: string;
  label: string;
  /** Shown under the label (mm, mL, HU ...). */
  unit?: string;
  title: string;
  value(r: InstanceRecord): number | string | null;
  format(v: number | string | null): string;
  numeric: boolean;
  /** A cell's tooltip, where the value needs one (a stale probability after an edit). */
  cellTitle?(r: InstanceRecord): string | undefined;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const fmtNum = (v: number | string | null): string => (v === null ? '—' : typeof v === 'number' ? trim(v) : v);
/** Hectares keep four decimals below 1 ha: a 150 m² building is 0.015 ha, not 0. */
const fmtHa = (v: number | string | null): string => (v === null ? '—' : typeof v === 'number' ? trim(v, 4) : v);

/** Size fields in order of preference, with their labels and units. */
const SIZE_FIELDS: Array<[string, string, string]> = [
  ['volumeMl', 'Volume', 'mL'],
  ['areaMm2', 'Area', 'mm²'],
  ['areaM2', 'Area', 'm²'],
  ['volumePx', 'Volume', 'px'],
  ['areaPx', 'Area', 'px'],
];

function present(doc: InstancesDocument, key: string): boolean {
  return doc.instances.some((r) => key in r) || doc.classes.some((c) => key in c);
}

/** The size field of a document (volumeMl, areaMm2, areaM2, volumePx or areaPx), its label and unit. */
export function sizeField(doc: InstancesDocument): [string, string, string] {
  return SIZE_FIELDS.find(([k]) => present(doc, k)) ?? ['pixelCount', 'Pixels', 'px'];
}

/**
 * The one size unit of the measurements panel (summary, chart and table alike): the document's size field, except
 * that map areas are in hectares once a class covers a hectare or more (land-cover totals in m² run to eight
 * digits; ha is what GIS users read). Objects are then in ha too, with four decimals (1 m² = 0.0001 ha), so a panel
 * never mixes ha and m².
 */
export function summarySizeField(doc: InstancesDocument): [string, string, string] {
  const field = sizeField(doc);
  if (field[0] !== 'areaM2') return field;
  return doc.classes.some((c) => (num(c.areaM2) ?? 0) >= 10_000) ? ['areaHa', 'Area', 'ha'] : field;
}

/** A record's value of a size field; hectares come from m² where a record has no areaHa of its own. */
export function sizeValue(r: InstanceRecord | ClassRecord, key: string): number | null {
  if (key === 'areaHa') return num(r.areaHa) ?? ((v) => (v === null ? null : v / 10_000))(num(r.areaM2));
  return num(r[key]);
}

/**
 * A record's size range [low, high] for a size field (measure/ranges.ts: the size at the calibrated probability
 * thresholds); null when the model gives none or an edit made it stale.
 */
export function sizeRange(r: InstanceRecord | ClassRecord, key: string): [number, number] | null {
  const pick = (k: string): [number, number] | null => {
    const v = r[`${k}Range`];
    return Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number' ? [v[0], v[1]] : null;
  };
  if (key === 'areaHa') {
    const m2 = pick('areaM2');
    return pick('areaHa') ?? (m2 ? [m2[0] / 10_000, m2[1] / 10_000] : null);
  }
  return pick(key);
}

/** Columns that name or count rather than measure (id, class, slice number): the only ones without a unit. */
export const UNITLESS_COLUMNS: ReadonlySet<string> = new Set(['id', 'className', 'recistSlice']);

/**
 * What intensities are measured in: Hounsfield units for CT; the scanner's raw signal in arbitrary units for MR
 * and other medical images (no physical unit: comparable within one series only); digital numbers for rasters.
 */
export function intensityUnit(info: { kind: string; modality?: unknown } | null | undefined): string {
  if (!info) return 'a.u.';
  if (info.modality === 'CT') return 'HU';
  return info.kind === 'medical' ? 'a.u.' : 'DN';
}

/** Pixel-unit fields and their physical names, for a pixel size given by the user. */
const PX_FIELDS: Array<[string, 'length' | 'area', string, string]> = [
  ['areaPx', 'area', 'areaMm2', 'areaM2'],
  ['longAxisPx', 'length', 'longAxisMm', 'longAxisM'],
  ['shortAxisPx', 'length', 'shortAxisMm', 'shortAxisM'],
  ['maxFeretPx', 'length', 'maxFeretMm', 'maxFeretM'],
  ['perimeterPx', 'length', 'perimeterMm', 'perimeterM'],
];

/**
 * The document as measured with a user-given pixel size (an image without geometry): pixel areas and lengths become
 * mm²/mm or m²/m (and ha for m²), so every panel, chart and copied CSV reads in physical units. Unchanged without.
 */
export function withPixelSize(doc: InstancesDocument, size: PixelSize | null): InstancesDocument {
  if (!size || !(size.value > 0)) return doc;
  const convert = <T extends Record<string, unknown>>(r: T): T => {
    const out: Record<string, unknown> = { ...r };
    for (const [px, kind, mm, m] of PX_FIELDS) {
      const v = num(r[px]);
      if (v === null) continue;
      delete out[px];
      const value = kind === 'area' ? v * size.value * size.value : v * size.value;
      out[size.unit === 'mm' ? mm : m] = value;
      if (kind === 'area' && size.unit === 'm') out.areaHa = value / 10_000;
    }
    return out as T;
  };
  return { ...doc, classes: doc.classes.map(convert), instances: doc.instances.map(convert) };
}

export function columnsFor(doc: InstancesDocument, valueUnit = 'a.u.'): Column[] {
  const [sizeKey, sizeLabel, sizeUnit] = summarySizeField(doc);
  const cols: Column[] = [
    { key: 'id', label: '#', title: 'Instance id', value: (r) => r.id, format: fmtNum, numeric: true },
    { key: 'className', label: 'Class', title: 'Class', value: (r) => r.className, format: fmtNum, numeric: false },
    { key: sizeKey, label: sizeLabel, unit: sizeUnit, title: sizeKey === 'areaHa' ? 'areaM2 in hectares' : sizeKey, value: (r) => sizeValue(r, sizeKey), format: sizeKey === 'areaHa' ? fmtHa : fmtNum, numeric: true },
  ];
  if (doc.instances.some((r) => sizeRange(r, sizeKey) !== null)) {
    const fmt = sizeKey === 'areaHa' ? fmtHa : fmtNum;
    cols.push({
      key: `${sizeKey}Range`,
      label: 'Range',
      unit: sizeUnit,
      title: `${sizeKey === 'areaHa' ? 'areaM2Range in hectares' : `${sizeKey}Range`}: the size at the low and the high calibrated probability threshold (low–high); — after an edit`,
      value: (r) => {
        const range = sizeRange(r, sizeKey);
        return range ? `${fmt(range[0])}–${fmt(range[1])}` : null;
      },
      format: fmtNum,
      numeric: false,
    });
  }
  for (const axis of ['long', 'short'] as const) {
    const key = ['Mm', 'M', 'Px'].map((u) => `${axis}Axis${u}`).find((k) => present(doc, k));
    if (key) {
      const unit = key.endsWith('Mm') ? 'mm' : key.endsWith('Px') ? 'px' : 'm';
      cols.push({ key, label: axis === 'long' ? 'Long' : 'Short', unit, title: `${key}: RECIST ${axis} axis`, value: (r) => num(r[key]), format: fmtNum, numeric: true });
    }
  }
  // Volumes: the slice the axes were measured on, counted from 1 as the slice label does (recistSlice is zero-based).
  if (present(doc, 'recistSlice')) {
    cols.push({ key: 'recistSlice', label: 'Slice', title: 'recistSlice: slice of the RECIST axes (1-based here, zero-based in the CSV and JSON)', value: recistSliceNumber, format: fmtNum, numeric: true });
  }
  if (present(doc, 'meanIntensity')) {
    const what = valueUnit === 'HU' ? 'Hounsfield units' : valueUnit === 'a.u.' ? 'signal in arbitrary units (the scanner\'s, comparable within one series)' : valueUnit === 'DN' ? 'digital numbers (pixel values as stored)' : valueUnit;
    cols.push({ key: 'meanIntensity', label: 'Mean', unit: valueUnit, title: `meanIntensity: mean value inside, in ${what}`, value: (r) => num(r.meanIntensity), format: fmtNum, numeric: true });
  }
  if (present(doc, 'meanProbability')) {
    cols.push({
      key: 'meanProbability',
      label: 'Prob.',
      unit: '%',
      title: 'meanProbability: mean model probability (recomputed after an edit when the map is kept; — when it is not)',
      value: (r) => num(r.meanProbability),
      format: (v) => (typeof v === 'number' ? String(Math.round(v * 100)) : '—'),
      numeric: true,
      cellTitle: (r) =>
        r.edited !== true ? undefined : num(r.meanProbability) === null ? 'edited: probability not recomputed (the model\'s probability map is not kept for this result)' : "edited: recomputed from the model's probability map",
    });
  }
  return cols;
}

export function sortInstances(rows: InstanceRecord[], col: Column | undefined, dir: 1 | -1): InstanceRecord[] {
  if (!col) return rows;
  return [...rows].sort((a, b) => {
    const va = col.value(a);
    const vb = col.value(b);
    // Missing values last, whichever the direction.
    if (va === null || vb === null) return va === vb ? a.id - b.id : va === null ? 1 : -1;
    const c = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
    return c !== 0 ? c * dir : a.id - b.id;
  });
}

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return csvCell(v.join(' '));
  const s = typeof v === 'number' ? String(v) : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Fields of the CSV, in order, that the document has. */
const CSV_FIELDS = [
  'id', 'classId', 'className', 'pixelCount',
  'volumeMl', 'volumeMm3', 'areaMm2', 'areaM2', 'areaHa', 'volumePx', 'areaPx',
  'volumeMlRange', 'areaMm2Range', 'areaM2Range', 'areaHaRange', 'volumePxRange', 'areaPxRange',
  'longAxisMm', 'shortAxisMm', 'longAxisPx', 'shortAxisPx', 'maxFeretMm', 'maxFeretM', 'maxFeretPx',
  'perimeterMm', 'perimeterM', 'perimeterPx', 'surfaceAreaMm2',
  'meanIntensity', 'sdIntensity', 'minIntensity', 'maxIntensity', 'meanProbability',
  'centroidPx', 'centroidMm', 'centroidLonLat', 'recistSlice', 'edited',
];

/** A CSV field's columns: a size range [low, high] becomes <size>Low and <size>High (as measurements.csv). */
function csvColumns(f: string): Array<[string, (r: InstanceRecord) => unknown]> {
  if (!f.endsWith('Range')) return [[f, (r) => r[f]]];
  const base = f.slice(0, -'Range'.length);
  const at = (r: InstanceRecord, i: number): unknown => (Array.isArray(r[f]) ? (r[f] as unknown[])[i] : undefined);
  return [
    [`${base}Low`, (r) => at(r, 0)],
    [`${base}High`, (r) => at(r, 1)],
  ];
}

/** One row per instance, header = instances.json field names (units in the names). */
export function instancesCsv(doc: InstancesDocument): string {
  const fields = CSV_FIELDS.filter((f) => doc.instances.some((r) => r[f] !== undefined)).flatMap(csvColumns);
  const lines = [fields.map(([name]) => name).join(',')];
  for (const r of doc.instances) lines.push(fields.map(([, get]) => csvCell(get(r))).join(','));
  return lines.join('\n') + '\n';
}

/** Per-class total of the size field. */
export function classTotal(c: ClassRecord, sizeKey: string): number {
  return sizeValue(c, sizeKey) ?? c.pixelCount;
}
