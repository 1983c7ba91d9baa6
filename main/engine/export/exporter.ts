// Export of a saved result (a folder `segment`/`measure` wrote, or a session's result after its edits) to one file of
// one format: seg | nifti | geotiff | geojson | gpkg | shp | csv | json | png. Every format is written through a
// temporary file and a rename. `deidentify` leaves patient name, ID, dates and the source path out of every non-DICOM
// export (a DICOM SEG must carry them to attach to its study). A result folder's vector exports stream from its
// instances.tif (exportResultFolder), so a windowed run's result of any size exports without loading its maps.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { NODATA_LABEL, NODATA_LABEL_U16, type Geometry, type InferenceRecord, type InstanceRecord, type InstancesDocument, type ManifestClass } from '../../../preload/formats';
import { InputError, type PixelArray } from '../image';
import { openImage } from '../io/index';
import { writeNifti } from '../io/nifti';
import { writeTiff } from '../io/tiff-writer';
import { writeChunksAtomic } from './atomic-stream';
import { readSegSource, writeDicomSeg, type SegSource, type SegTracking } from './dicom-seg';
import { writeRtStruct, type RtStructInput } from './dicom-rtstruct';
import { seriesKeyOf } from '../io/dicom/series';
import { labelColormap, overlayRgb, type SliceImage } from './overlay';
import { snapshotPng } from './snapshot';
import { measurementsCsv, type ResultMaps } from './results';
import { buildVectorLayer, writeGeoJson, writeGeoPackage, writeShapefile, type VectorOptions } from './vector';
import { exportVectorStream, idReaderOf, isVectorFormat, type VectorFormat } from './vector-stream';
import { jsonArrayItems } from './json-items';
import { openGeoTiff } from '../io/geotiff';
import { manualCsv, manualRecords, snapshotLines, type ManualInput } from './manual';
import type { PixelSize } from '../../../preload/api';
import { givenGeometry, takesPixelSize, withGivenPixelSize } from '../measure/given-pixel-size';

export const EXPORT_FORMATS = ['seg', 'rtstruct', 'nifti', 'geotiff', 'geojson', 'gpkg', 'shp', 'csv', 'json', 'png'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** A result in memory: the maps edits change and the document that describes them. */
export interface LoadedResult extends ResultMaps {
  dir: string;
  document: InstancesDocument;
}

async function firstExisting(dir: string, names: string[]): Promise<string> {
  for (const n of names) {
    const p = path.join(dir, n);
    try {
      await fs.access(p);
      return p;
    } catch {
      // next
    }
  }
  throw new InputError(dir, `not a result folder: none of ${names.join(', ')}`);
}

async function readWhole(file: string): Promise<{ data: PixelArray; width: number; height: number; depth: number; geometry: Geometry }> {
  const src = await openImage(file);
  try {
    const block = await src.read();
    return { data: block.data, width: src.width, height: src.height, depth: src.depth, geometry: src.geometry };
  } finally {
    await src.close();
  }
}

/** Reads a result folder: instances.json plus labels.* and instances.* (NIfTI or GeoTIFF). */
export async function loadResultFolder(dir: string): Promise<LoadedResult> {
  const document = await readDocument(dir);
  const labelsFile = await firstExisting(dir, ['labels.nii.gz', 'labels.nii', 'labels.tif']);
  const instancesFile = await firstExisting(dir, ['instances.nii.gz', 'instances.nii', 'instances.tif']);
  const labels = await readWhole(labelsFile);
  const inst = await readWhole(instancesFile);
  if (inst.data.length !== labels.data.length) throw new InputError(dir, 'labels and instances differ in size');
  if (!(labels.data instanceof Uint8Array || labels.data instanceof Uint16Array)) throw new InputError(labelsFile, 'labels must be uint8 or uint16');
  const classes = document.classes.map((c): ManifestClass => ({ name: c.name, color: c.color }));
  return {
    dir,
    document,
    width: labels.width,
    height: labels.height,
    depth: labels.depth,
    geometry: labels.geometry,
    classes,
    labels: labels.data,
    nodataLabel: labels.data instanceof Uint16Array ? NODATA_LABEL_U16 : NODATA_LABEL,
    instances: Uint32Array.from(inst.data as ArrayLike<number>),
  };
}

const IDENTIFYING = /patient|birth|date|time|accession|physician|institution|operator|studyid|^file$|path/i;

/** A copy of the document without patient attributes, dates or the source path (which often names the patient). */
export function deidentifyDocument(doc: InstancesDocument): InstancesDocument {
  const strip = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(o).filter(([k]) => !IDENTIFYING.test(k)));
  const source = { ...strip(doc.source), file: 'deidentified' } as InstancesDocument['source'];
  const out: InstancesDocument = { ...doc, source };
  if (doc.inference) out.inference = strip(doc.inference) as InferenceRecord;
  return out;
}

export interface ExportOptions {
  /** Output CRS for vector formats ("EPSG:n"). */
  crs?: string;
  deidentify?: boolean;
  /** DICOM SEG: one segment per instance instead of per class. */
  perInstance?: boolean;
  /** DICOM SEG: follow-up tracks per instance id (TrackingID/TrackingUID); implies one segment per instance. */
  tracking?: ReadonlyMap<number, SegTracking>;
  /** Vector simplification tolerance in source map units. */
  toleranceMapUnits?: number;
  /** DICOM SEG: the source series when instances.json's source.file has moved. */
  sourceSeries?: string;
  /** Slice shown by png (default the middle one). */
  z?: number;
  /** png: that slice of the image (depth 1), drawn under the labels; default a neutral grey. */
  background?: SliceImage;
  /** Rulers and bidirectional axes drawn by hand: csv and json list them, png draws those on slice z. */
  measurements?: ManualInput[];
  /** Pixel size given to an image without geometry: csv and json tables (and manual lengths) in mm or m. */
  pixelSize?: PixelSize;
}

/** The slice a volume's snapshot shows, counted from 1 for people (`--z` and JSON stay zero-based); none in 2D. */
export function snapshotCaption(z: number, depth: number): string | undefined {
  return depth > 1 ? `Slice ${z + 1} of ${depth}` : undefined;
}

/** buildVectorLayer's options for a vector format: GeoJSON is WGS84 always, the others the source CRS or options.crs. */
function vectorOptions(format: VectorFormat, out: string, options: ExportOptions): VectorOptions {
  const tolerance = options.toleranceMapUnits !== undefined ? { toleranceMapUnits: options.toleranceMapUnits } : {};
  if (format === 'geojson') {
    if (options.crs && !/^EPSG:4326$/i.test(options.crs)) throw new InputError(out, 'GeoJSON (RFC 7946) is always WGS84 lon/lat: leave out --crs or use EPSG:4326');
    return { ...tolerance, crs: 'EPSG:4326' };
  }
  return { ...tolerance, ...(options.crs ? { crs: options.crs } : {}) };
}

async function readDocument(dir: string): Promise<InstancesDocument> {
  try {
    return JSON.parse(await fs.readFile(path.join(dir, 'instances.json'), 'utf8')) as InstancesDocument;
  } catch (err) {
    throw new InputError(dir, `not a result folder: cannot read instances.json (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/**
 * Exports a result folder. Vector formats of a GeoTIFF result are traced from instances.tif block by block (the
 * map is never read whole, so a windowed run's 40000² result exports in bounded memory; the features are those of
 * the in-memory path); everything else loads the folder. Returns the written paths and the number of instances.
 */
export async function exportResultFolder(dir: string, format: ExportFormat, out: string, options: ExportOptions = {}): Promise<{ written: string[]; instanceCount: number }> {
  if (isVectorFormat(format)) {
    const tif = path.join(dir, 'instances.tif');
    const hasTif = await fs.access(tif).then(
      () => true,
      () => false,
    );
    if (hasTif) {
      const vopts = vectorOptions(format, out, options);
      const json = path.join(dir, 'instances.json');
      await fs.access(json).catch((err: NodeJS.ErrnoException) => {
        throw new InputError(dir, `not a result folder: cannot read instances.json (${err.code ?? err.message})`);
      });
      const instances = await openGeoTiff(tif);
      try {
        // The records are read from the file as they are needed (twice: fields, then features), never all at once.
        const records = (): AsyncGenerator<InstanceRecord> => jsonArrayItems<InstanceRecord>(json, 'instances');
        const report = await exportVectorStream({ file: dir, geometry: instances.geometry, ids: idReaderOf(instances), records }, format, out, vopts);
        return { written: report.written, instanceCount: report.instances };
      } finally {
        await instances.close();
      }
    }
  }
  const r = await loadResultFolder(dir);
  return { written: await exportResult(r, format, out, options), instanceCount: r.document.instances.length };
}

/** The DICOM series result r was made from (or `sourceSeries`), each slice's identity, checked against r's size. */
async function sourceSeriesOf(r: LoadedResult, options: ExportOptions): Promise<SegSource> {
  const series = options.sourceSeries ?? r.document.source.file;
  const seriesUid = seriesKeyOf(r.document.source);
  const source = await readSegSource(series, seriesUid ? { seriesUid } : {});
  if (source.columns !== r.width || source.rows !== r.height || source.slices.length !== r.depth) throw new InputError(series, `series is ${source.columns}x${source.rows}x${source.slices.length}, the result ${r.width}x${r.height}x${r.depth}`);
  return source;
}

/** What DICOM SEG and RT Structure Set are both written from: the source slices, the maps and the model. */
async function dicomExportInput(r: LoadedResult, options: ExportOptions): Promise<RtStructInput> {
  const model = r.document.model;
  return {
    source: await sourceSeriesOf(r, options),
    classes: r.classes,
    labels: r.labels,
    nodataLabel: r.nodataLabel,
    instances: { map: r.instances, records: r.document.instances },
    perInstance: options.perInstance ?? false,
    algorithm: { name: model?.name ?? 'Delineate', version: model?.version ?? '0' },
    edited: r.document.instances.some((i) => i.edited === true),
  };
}

/** Writes result r as `format` to `out` (atomically). Returns the written paths. */
export async function exportResult(r: LoadedResult, format: ExportFormat, out: string, options: ExportOptions = {}): Promise<string[]> {
  // A pixel size given to an image without geometry: the tables read in mm or m, as the measurements panel showed.
  const given = options.pixelSize && takesPixelSize(r.geometry) ? options.pixelSize : null;
  const measured = given ? withGivenPixelSize(r.document, given) : r.document;
  const doc = options.deidentify ? deidentifyDocument(measured) : measured;
  const lengthGeometry = given ? givenGeometry(given) : r.geometry;
  const volume = { width: r.width, height: r.height, depth: r.depth, channels: 1, geometry: r.geometry };
  switch (format) {
    case 'seg': {
      if (r.geometry.type !== 'medical') throw new InputError(r.dir, 'DICOM SEG needs a result of a DICOM series');
      const input = await dicomExportInput(r, options);
      await writeDicomSeg(out, { ...input, perInstance: input.perInstance || options.tracking !== undefined, ...(options.tracking ? { tracking: options.tracking } : {}) });
      return [out];
    }
    case 'rtstruct': {
      if (r.geometry.type !== 'medical') throw new InputError(r.dir, 'an RT Structure Set needs a result of a DICOM series');
      await writeRtStruct(out, await dicomExportInput(r, options));
      return [out];
    }
    case 'nifti':
      await writeNifti(out, { ...volume, data: r.labels, nodata: r.nodataLabel });
      return [out];
    case 'geotiff': {
      if (r.depth !== 1) throw new InputError(r.dir, 'GeoTIFF holds one 2D raster; this result has slices (use nifti or seg)');
      const names = r.classes.map((c, i) => `${i + 1}=${c.name}`).join(';');
      await writeTiff(out, { ...volume, data: r.labels, nodata: r.nodataLabel }, { colormap: labelColormap(r.classes, r.labels instanceof Uint8Array ? 256 : 65536), description: `labels: 0=none;${names};${r.nodataLabel}=nodata` });
      return [out];
    }
    case 'geojson':
    case 'gpkg':
    case 'shp': {
      const src = { width: r.width, height: r.height, geometry: r.geometry, instances: r.instances, document: doc };
      const vopts = vectorOptions(format, out, options);
      if (format === 'geojson') {
        await writeGeoJson(out, buildVectorLayer(src, vopts));
        return [out];
      }
      const layer = buildVectorLayer(src, vopts);
      if (format === 'gpkg') {
        await writeGeoPackage(out, layer);
        return [out];
      }
      return writeShapefile(out, layer);
    }
    case 'csv':
      // The objects' table as before; the hand-drawn measurements as a second table after one empty line.
      await writeChunksAtomic(out, [measurementsCsv(doc.instances), ...(options.measurements?.length ? ['\r\n', manualCsv(options.measurements, lengthGeometry)] : [])]);
      return [out];
    case 'json':
      await writeChunksAtomic(out, [JSON.stringify(options.measurements?.length ? { ...doc, manualMeasurements: manualRecords(options.measurements, lengthGeometry) } : doc, null, 2) + '\n']);
      return [out];
    case 'png': {
      const z = options.z ?? Math.floor(r.depth / 2);
      if (z < 0 || z >= r.depth) throw new InputError(out, `slice ${z} is outside 0..${r.depth - 1}`);
      // The labels over the image's slice when the caller read it, else over a neutral grey: the image itself may be
      // gone, and pixels of it would not be de-identified.
      const plane = r.width * r.height;
      const under = options.background ?? { data: new Uint8Array(plane).fill(64), width: r.width, height: r.height, depth: 1, channels: 1 };
      if (under.width !== r.width || under.height !== r.height || under.depth !== 1) throw new InputError(out, 'the snapshot background must be one slice of the result\'s size');
      const rgb = overlayRgb(under, r.labels.subarray(z * plane, (z + 1) * plane), 0, r.classes);
      const lines = snapshotLines(options.measurements ?? [], r.geometry, z);
      await writeChunksAtomic(out, [await snapshotPng(rgb, r.width, r.height, r.classes, r.geometry, lines, snapshotCaption(z, r.depth))]);
      return [out];
    }
  }
}
