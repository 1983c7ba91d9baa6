// What the IPC handlers need from native dialogs; Electron's implementation is in dialogs-electron.ts and the
// test host injects its own, so handlers stay testable without Electron.

import type { ResultExportFormat } from '../../preload/api';

export interface Dialogs {
  /** Asks the user for an image file or DICOM folder; null when cancelled. */
  openImage(): Promise<string | null>;
  /** Asks the user for a folder (a DICOM series folder or a slice stack); null when cancelled. */
  openFolder(): Promise<string | null>;
  /** Asks the user for a saved session file; null when cancelled. */
  openSession(): Promise<string | null>;
  /** Asks the user for an .onnx model file to add; null when cancelled. */
  openModel(): Promise<string | null>;
  /** Asks where to save a file (suggesting `defaultName`); null when cancelled. */
  saveFile(defaultName: string, filters: FileFilter[]): Promise<string | null>;
}

export interface FileFilter {
  name: string;
  /** Extensions without dots. */
  extensions: string[];
}

/** Session files: `<name>.delineate.json` (their base result sits beside them in `<name>.delineate-result/`). */
export const SESSION_EXTENSION = 'delineate.json';
export const SESSION_FILTERS: FileFilter[] = [
  { name: 'Delineate session', extensions: ['json'] },
  { name: 'All files', extensions: ['*'] },
];

/** Model files offered by "Add model..." (a manifest.json beside the .onnx is picked up from there). */
export const MODEL_FILTERS: FileFilter[] = [
  { name: 'ONNX model', extensions: ['onnx'] },
  { name: 'All files', extensions: ['*'] },
];

/** File types offered in the open dialog (extensions without dots). */
export const IMAGE_FILTERS = [
  { name: 'Images', extensions: ['dcm', 'nii', 'gz', 'tif', 'tiff', 'png', 'jpg', 'jpeg'] },
  { name: 'All files', extensions: ['*'] },
];

/** What each export format is called in the save dialog and the extension it suggests (first one). */
export const EXPORT_FILE_TYPES = {
  seg: { name: 'DICOM SEG', extensions: ['dcm'] },
  rtstruct: { name: 'DICOM RT Structure Set', extensions: ['dcm'] },
  nifti: { name: 'NIfTI label map', extensions: ['nii.gz', 'nii'] },
  geotiff: { name: 'GeoTIFF label raster', extensions: ['tif', 'tiff'] },
  geojson: { name: 'GeoJSON', extensions: ['geojson', 'json'] },
  gpkg: { name: 'GeoPackage', extensions: ['gpkg'] },
  shp: { name: 'Shapefile', extensions: ['shp'] },
  csv: { name: 'CSV measurements', extensions: ['csv'] },
  json: { name: 'JSON measurements', extensions: ['json'] },
  png: { name: 'PNG snapshot', extensions: ['png'] },
} as const satisfies Record<ResultExportFormat, FileFilter>;
