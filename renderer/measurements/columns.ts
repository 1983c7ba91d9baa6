// Which measurement columns a result has (size in mL, mm², m² or px; RECIST axes; intensity; probability),
// how to sort them, and the CSV export. Field names are the instances.json ones, so the CSV header carries units.
import type { ClassRecord, InstanceRecord, InstancesDocument } from '../../preload/api';
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
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const fmtNum = (v: number | string | null): string => (v === null ? '—' : typeof v === 'number' ? trim(v) : v);

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
 * The size shown in the per-class summary and chart: the document's size field, except that map areas switch to
 * hectares once a class covers a hectare or more (land-cover totals in m² run to eight digits; ha is what GIS users
 * read). Objects in the table keep m².
 */
export function summarySizeField(doc: InstancesDocument): [string, string, string] {
  const field = sizeField(doc);
  if (field[0] !== 'areaM2') return field;
  const large = doc.classes.some((c) => (num(c.areaM2) ?? 0) >= 10_000);
  return large && doc.classes.every((c) => num(c.areaHa) !== null || !('areaM2' in c)) ? ['areaHa', 'Area', 'ha'] : field;
}

export function columnsFor(doc: InstancesDocument, valueUnit?: string): Column[] {
  const [sizeKey, sizeLabel, sizeUnit] = sizeField(doc);
  const cols: Column[] = [
    { key: 'id', label: '#', title: 'Instance id', value: (r) => r.id, format: fmtNum, numeric: true },
    { key: 'className', label: 'Class', title: 'Class', value: (r) => r.className, format: fmtNum, numeric: false },
    { key: sizeKey, label: sizeLabel, unit: sizeUnit, title: sizeKey, value: (r) => num(r[sizeKey]), format: fmtNum, numeric: true },
  ];
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
    cols.push({ key: 'meanIntensity', label: 'Mean', ...(valueUnit ? { unit: valueUnit } : {}), title: 'meanIntensity: mean value inside', value: (r) => num(r.meanIntensity), format: fmtNum, numeric: true });
  }
  if (present(doc, 'meanProbability')) {
    cols.push({
      key: 'meanProbability',
      label: 'Prob.',
      unit: '%',
      title: 'meanProbability: mean model probability (— after a manual edit)',
      value: (r) => num(r.meanProbability),
      format: (v) => (typeof v === 'number' ? String(Math.round(v * 100)) : '—'),
      numeric: true,
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
  'longAxisMm', 'shortAxisMm', 'longAxisPx', 'shortAxisPx', 'maxFeretMm', 'maxFeretM', 'maxFeretPx',
  'perimeterMm', 'perimeterM', 'perimeterPx', 'surfaceAreaMm2',
  'meanIntensity', 'sdIntensity', 'minIntensity', 'maxIntensity', 'meanProbability',
  'centroidPx', 'centroidMm', 'centroidLonLat', 'recistSlice', 'edited',
];

/** One row per instance, header = instances.json field names (units in the names). */
export function instancesCsv(doc: InstancesDocument): string {
  const fields = CSV_FIELDS.filter((f) => doc.instances.some((r) => r[f] !== undefined));
  const lines = [fields.join(',')];
  for (const r of doc.instances) lines.push(fields.map((f) => csvCell(r[f])).join(','));
  return lines.join('\n') + '\n';
}

/** Per-class total of the size field. */
export function classTotal(c: ClassRecord, sizeKey: string): number {
  return num(c[sizeKey]) ?? c.pixelCount;
}
