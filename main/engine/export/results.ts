// Writes a result folder: labels.*, instances.*, instances.json, measurements.csv, overlay.png and, on request,
// probabilities.*. Medical images and volumes get NIfTI (.nii.gz), 2D geo and plain images GeoTIFF (.tif, source
// georeferencing, nodata tag, class colour table). Every file is written atomically (temporary + rename).
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Geometry, ImageKind, InstanceRecord, InstancesDocument, ManifestClass } from '../../../preload/formats';
import type { PixelArray } from '../image';
import { writeFileAtomic } from '../io/atomic';
import { writeNifti } from '../io/nifti';
import { writePng } from '../io/png';
import { writeTiff } from '../io/tiff-writer';
import type { VolumeData } from '../io/volume';
import type { LabelArray } from '../postprocess/labels';
import { labelColormap, overlayRgb } from './overlay';

/** The maps of a segmentation result on the source grid (shared by result folders, exports and kept results). */
export interface ResultMaps {
  width: number;
  height: number;
  depth: number;
  geometry: Geometry;
  classes: ManifestClass[];
  labels: LabelArray;
  nodataLabel: number;
  instances: Uint32Array;
}

export interface ResultRasters extends ResultMaps {
  kind: ImageKind;
  /** Instance count (the largest id), to pick uint16 or uint32. */
  instanceCount: number;
  /** Interleaved RGB of the overlay slice. */
  overlay?: { rgb: Uint8Array; width: number; height: number };
  /** Uint8 p x 255, one band per class, channel-planar. */
  probabilities?: { data: Uint8Array; channels: number };
}

/**
 * The rasters a result folder is written from: the maps, their instance count, and the overlay drawn on slice z of
 * the image's display channels (1 = grey, 3 = RGB, as `ImageSource.read` returns them).
 */
export function resultRasters(kind: ImageKind, maps: ResultMaps, instanceCount: number, display: { data: PixelArray; channels: number }, z: number): ResultRasters {
  const { width, height, depth } = maps;
  const rgb = overlayRgb({ data: display.data, width, height, depth, channels: display.channels }, maps.labels, z, maps.classes);
  return { kind, ...maps, instanceCount, overlay: { rgb, width, height } };
}

/** NIfTI for patient images and anything with slices (GeoTIFF output is 2D); GeoTIFF otherwise. */
export function rasterExtension(kind: ImageKind, depth: number): '.nii.gz' | '.tif' {
  return kind === 'medical' || depth > 1 ? '.nii.gz' : '.tif';
}

/** Smallest unsigned type that holds every instance id (uint16 when the largest id is below 65536). */
export function narrowInstances(instances: Uint32Array, instanceCount: number): Uint16Array | Uint32Array {
  return instanceCount < 65536 ? Uint16Array.from(instances) : instances;
}

async function writeRaster(file: string, r: ResultRasters, data: PixelArray, channels: number, extra: { nodata?: number; colormap?: boolean; description?: string }): Promise<void> {
  const volume: VolumeData = {
    data,
    width: r.width,
    height: r.height,
    depth: r.depth,
    channels,
    geometry: r.geometry,
    ...(extra.nodata !== undefined ? { nodata: extra.nodata } : {}),
  };
  if (file.endsWith('.nii.gz')) return writeNifti(file, volume);
  const colormapSize = data instanceof Uint8Array ? 256 : 65536;
  return writeTiff(file, volume, {
    ...(extra.colormap && channels === 1 ? { colormap: labelColormap(r.classes, colormapSize) } : {}),
    ...(extra.description ? { description: extra.description } : {}),
  });
}

// ---------------------------------------------------------------- CSV

/** RFC 4180 field: quoted when it contains a comma, quote, CR or LF; quotes doubled. */
export function csvField(value: unknown): string {
  let s: string;
  if (value === null || value === undefined) s = '';
  else if (typeof value === 'number') s = Number.isFinite(value) ? String(value) : '';
  else if (typeof value === 'string') s = value;
  else if (typeof value === 'boolean') s = value ? 'true' : 'false';
  else s = JSON.stringify(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const AXES = ['X', 'Y', 'Z'];

/**
 * Flattens one instance to CSV columns: bbox -> bboxMinX.., size ranges (volumeMlRange ...) -> volumeMlLow /
 * volumeMlHigh, other number arrays -> nameX/nameY/nameZ.
 */
export function flattenRecord(rec: InstanceRecord): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  for (const [key, value] of Object.entries(rec)) {
    if (key.endsWith('Range') && Array.isArray(value) && value.length === 2) {
      const base = key.slice(0, -'Range'.length);
      out.push([`${base}Low`, value[0]], [`${base}High`, value[1]]);
    } else if (key === 'bbox') {
      rec.bbox.min.forEach((v, i) => out.push([`bboxMin${AXES[i] ?? i}`, v]));
      rec.bbox.max.forEach((v, i) => out.push([`bboxMax${AXES[i] ?? i}`, v]));
    } else if (Array.isArray(value) && value.length <= 3 && value.every((v) => typeof v === 'number')) {
      value.forEach((v, i) => out.push([`${key}${AXES[i] ?? i}`, v]));
    } else out.push([key, value]);
  }
  return out;
}

/** measurements.csv: one row per instance, columns = instances.json field names (union, first-seen order). */
export function measurementsCsv(instances: InstanceRecord[]): string {
  const rows = instances.map((r) => new Map(flattenRecord(r)));
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    for (const k of row.keys()) {
      if (!seen.has(k)) {
        seen.add(k);
        columns.push(k);
      }
    }
  }
  if (columns.length === 0) columns.push('id', 'classId', 'className', 'pixelCount');
  const lines = [columns.map(csvField).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvField(row.get(c))).join(','));
  return lines.join('\r\n') + '\r\n';
}

// ---------------------------------------------------------------- folder

/** Writes every result file into outDir (created if needed); returns the written paths. */
export async function writeResultFolder(outDir: string, doc: InstancesDocument, r: ResultRasters): Promise<string[]> {
  await fs.mkdir(outDir, { recursive: true });
  const ext = rasterExtension(r.kind, r.depth);
  const written: string[] = [];
  const at = (name: string): string => {
    const p = path.join(outDir, name);
    written.push(p);
    return p;
  };
  const classNames = r.classes.map((c, i) => `${i + 1}=${c.name}`).join(';');
  await writeRaster(at(`labels${ext}`), r, r.labels, 1, { nodata: r.nodataLabel, colormap: true, description: `labels: 0=none;${classNames};${r.nodataLabel}=nodata` });
  await writeRaster(at(`instances${ext}`), r, narrowInstances(r.instances, r.instanceCount), 1, { description: 'instances: value = id in instances.json, 0 = none' });
  if (r.probabilities) {
    await writeRaster(at(`probabilities${ext}`), r, r.probabilities.data, r.probabilities.channels, { description: `probabilities x 255: ${r.classes.map((c) => c.name).join(';')}` });
  }
  await writeFileAtomic(at('instances.json'), JSON.stringify(doc, null, 2) + '\n');
  await writeFileAtomic(at('measurements.csv'), measurementsCsv(doc.instances));
  if (r.overlay) await writePng(at('overlay.png'), r.overlay.rgb, r.overlay.width, r.overlay.height, 3);
  return written;
}
