// Patient and study attributes for the header over the views and the study browser. Kept apart from header.ts on
// purpose: that file never reads identifying attributes, so they cannot reach metadata, logs or errors. These are
// read only when the window asks for them ('image:patient', 'folder:scan') and go nowhere else.

import type { PatientHeader } from '../../../../preload/api';
import type { DataSet } from './parse';
import { parseHeader } from './parse';
import { str } from './header';
import { dicomText } from './charset';

const PATIENT_TAG = {
  patientName: 'x00100010',
  patientId: 'x00100020',
  studyDate: 'x00080020',
  studyDescription: 'x00081030',
  seriesDescription: 'x0008103e',
  modality: 'x00080060',
} as const;

/**
 * "DOE^JANE^^DR" -> "DOE, JANE DR": the family name first, as DICOM person names are read. Of the alphabetic,
 * ideographic and phonetic groups ("Yamada^Tarou=山田^太郎=やまだ^たろう") the first that is not empty.
 */
export function formatPersonName(pn: string): string {
  const first = pn.split('=').find((g) => g.replace(/\^/g, '').trim() !== '') ?? '';
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = first.split('^').map((p) => p.trim());
  const rest = [prefix, given, middle, suffix].filter((p) => p.length > 0).join(' ');
  return family && rest ? `${family}, ${rest}` : family || rest;
}

/** "20240131" -> "2024-01-31"; anything else as stored. */
export function formatDicomDate(da: string): string {
  const m = /^(\d{4})\.?(\d{2})\.?(\d{2})$/.exec(da.trim());
  return m ? `${m[1]}-${m[2]}-${m[3]}` : da.trim();
}

export function patientHeaderOf(ds: DataSet): PatientHeader {
  const out: PatientHeader = {};
  const name = dicomText(ds, PATIENT_TAG.patientName, 'PN');
  if (name && formatPersonName(name)) out.patientName = formatPersonName(name);
  const id = dicomText(ds, PATIENT_TAG.patientId, 'LO');
  if (id) out.patientId = id;
  const date = str(ds, PATIENT_TAG.studyDate);
  if (date) out.studyDate = formatDicomDate(date);
  const study = dicomText(ds, PATIENT_TAG.studyDescription, 'LO');
  if (study) out.studyDescription = study;
  const series = dicomText(ds, PATIENT_TAG.seriesDescription, 'LO');
  if (series) out.seriesDescription = series;
  const modality = str(ds, PATIENT_TAG.modality)?.trim();
  if (modality) out.modality = modality;
  return out;
}

/** The header of one DICOM file (an unreadable file gives an empty header: the view just shows less). */
export async function readPatientHeader(file: string): Promise<PatientHeader> {
  try {
    return patientHeaderOf((await parseHeader(file)).dataSet);
  } catch {
    return {};
  }
}
