// `delineate measure` on 2D label rasters above the streaming threshold (postprocess/streaming.ts): the label map is
// read strip by strip from disk, never whole, and the result folder (labels.tif, instances.tif, instances.json,
// measurements.csv, overlay.png, and zones.csv/zones.geojson with --zones) is written as it goes. Same fields and
// values as the in-memory path; overlay.png is a preview (every n-th pixel, longest side <= PREVIEW_PX), as for
// windowed segmentation. Label values are class ids (components per class, streaming.ts) or, with
// `--labels-are instances`, instance ids (postprocess/streaming-instances.ts); zones are summed from the same strips.
// NIfTI label volumes above the threshold are read slice by slice (postprocess/streaming-volume.ts): labels.nii.gz
// and instances.nii.gz are streamed out, overlay.png shows the middle slice, as in memory.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ClassRecord, InstanceRecord, InstancesDocument, ManifestClass } from '../../preload/formats';
import { allocPixels, InputError, type ImageSource, type PixelArray } from './image';
import type { ComponentStats, Connectivity } from './postprocess/components';
import { labelNodata, measureStreamingTo, streamShapes } from './postprocess/streaming';
import { GIVEN_NODATA_LABEL, streamGivenInstances } from './postprocess/streaming-instances';
import { measureInstances, type MeasureOptions } from './measure/index';
import { geoMeasurer } from './measure/geo';
import { ZoneAccumulator } from './measure/zones';
import { labelColormap, overlayRgb } from './export/overlay';
import { measurementsCsv } from './export/results';
import { writeFileAtomic } from './io/atomic';
import { openGeoTiff } from './io/geotiff';
import { writeJsonWithArray } from './io/json-stream';
import { RecordSpill } from './io/record-spill';
import { isNiftiPath, openNiftiSlices, type NiftiSlices } from './io/nifti-stream';
import { streamVolumeComponents, streamVolumeShapes } from './postprocess/streaming-volume';
import type { LabelArray } from './postprocess/labels';
import { writePng } from './io/png';
import { sourceRecord } from './segment-setup';

/** Longest side of overlay.png for streamed rasters. */
const PREVIEW_PX = 2048;

export interface StreamedMeasureOptions {
  connectivity: Connectivity;
  minSizePx?: number;
  classes?: ManifestClass[];
  /** Class list entry for a label value the user's list does not name. */
  defaultClass: (id: number) => ManifestClass;
  stripRows?: number;
  /** 'instances': every label value is one instance (`--labels-are instances`). Default 'classes'. */
  labelsAre?: 'classes' | 'instances';
  /** Class id of an instance value (with labelsAre 'instances'; default 1). */
  classOfInstance?: Map<number, number>;
  /** GeoJSON zones file: zones.csv and zones.geojson are written too. */
  zones?: string;
}

/** The class of each label value 1..maxLabel: the user's list, then a default entry for each value it does not name. */
function classListFor(options: Pick<StreamedMeasureOptions, 'classes' | 'defaultClass'>, maxLabel: number): ManifestClass[] {
  return Array.from({ length: Math.max(options.classes?.length ?? 0, maxLabel) }, (_, i) => options.classes?.[i] ?? options.defaultClass(i + 1));
}

/**
 * Instance and class records of a streamed label map (2D or volume): measured against the image's intensities, with
 * no probability map, class pixel counts from the per-value tally and shape fields already measured from disk.
 */
function measureCounted(
  counted: { stats: ComponentStats[]; valid: number; perValue: Float64Array },
  shapes: ReadonlyArray<Record<string, unknown>>,
  classes: ManifestClass[],
  layout: Pick<MeasureOptions, 'geometry' | 'depth' | 'width' | 'height' | 'connectivity' | 'geo'>,
): { instances: InstanceRecord[]; classes: ClassRecord[] } {
  return measureInstances(counted.stats, {
    ...layout,
    classes,
    validPixelCount: counted.valid,
    classPixelCounts: Array.from(counted.perValue.subarray(0, classes.length + 1)),
    hasProbability: false,
    hasIntensity: true,
    shapes,
  });
}

/** Writes instances.json, measurements.csv and overlay.png of a measured document; returns their paths. */
async function writeDocumentFiles(outDir: string, document: InstancesDocument, overlay: { rgb: Uint8Array; width: number; height: number }): Promise<string[]> {
  const jsonPath = path.join(outDir, 'instances.json');
  // Record by record: 100000 records never become one string (the same bytes as JSON.stringify(document, null, 2)).
  await writeJsonWithArray(jsonPath, { source: document.source, classes: document.classes }, 'instances', document.instances);
  const csvPath = path.join(outDir, 'measurements.csv');
  await writeFileAtomic(csvPath, measurementsCsv(document.instances));
  const overlayPath = path.join(outDir, 'overlay.png');
  await writePng(overlayPath, overlay.rgb, overlay.width, overlay.height, 3);
  return [jsonPath, csvPath, overlayPath];
}

/**
 * Measures a label raster against its image strip by strip and writes the result folder. Class-id labels: records
 * go to disk a chunk at a time (io/record-spill.ts), as in a windowed segmentation, so `document.instances` is left
 * empty and `instanceCount` says how many instances.json holds; given instance ids keep theirs in the document.
 */
export async function measureFilesStreamed(image: ImageSource, labels: ImageSource, outDir: string, options: StreamedMeasureOptions): Promise<{ document: InstancesDocument; instanceCount: number; files: string[] }> {
  const { width: W, height: H, geometry } = image;
  if (options.zones && geometry.type !== 'geo') throw new InputError(image.file, '--zones needs a georeferenced image');
  await fs.mkdir(outDir, { recursive: true });
  const labelsPath = path.join(outDir, 'labels.tif');
  const instancesPath = path.join(outDir, 'instances.tif');
  // Preview: every `scale`-th pixel of the image and of the cleaned labels.
  const scale = Math.max(1, Math.ceil(Math.max(W, H) / PREVIEW_PX));
  const pw = Math.ceil(W / scale);
  const ph = Math.ceil(H / scale);
  const display = image.channels >= 3 ? [0, 1, 2] : [0];
  const preview = { labels: new Uint16Array(pw * ph), image: allocPixels(image.dtype, pw * ph * display.length) };
  const classList = (maxLabel: number): ManifestClass[] => classListFor(options, maxLabel);
  const given = options.labelsAre === 'instances';
  const nodataLabel = given ? GIVEN_NODATA_LABEL : await labelNodata(labels, options.stripRows);
  const geo = geometry.type === 'geo' ? geoMeasurer(geometry, W, H) : null;
  const zones = options.zones && geometry.type === 'geo' ? await ZoneAccumulator.open(options.zones, { geometry, width: W, height: H, nodataLabel, geo }) : null;
  const labelsOptions = (maxLabel: number): { colormap: Array<[number, number, number]>; description: string } => ({
    colormap: labelColormap(classList(maxLabel), maxLabel > 254 ? 65536 : 256),
    description: `labels: 0=none;${classList(maxLabel)
      .map((c, i) => `${i + 1}=${c.name}`)
      .join(';')};${nodataLabel}=nodata`,
  });
  const onStrip = async (y0: number, rows: number, cleaned: PixelArray): Promise<void> => {
    zones?.add(y0, rows, cleaned);
    const first = y0 + ((scale - (y0 % scale)) % scale);
    if (first >= y0 + rows) return;
    const block = await image.read({ x: 0, y: y0, width: W, height: rows, channels: display });
    const plane = W * rows;
    for (let y = first; y < y0 + rows; y += scale) {
      for (let x = 0; x < W; x += scale) {
        const p = (y / scale) * pw + x / scale;
        const s = (y - y0) * W + x;
        preview.labels[p] = cleaned[s]!;
        for (let c = 0; c < display.length; c++) preview.image[c * pw * ph + p] = block.data[c * plane + s]!;
      }
    }
  };
  const common = {
    geometry,
    instancesPath,
    labelsPath,
    onStrip,
    ...(options.minSizePx ? { minPixels: options.minSizePx } : {}),
    ...(options.stripRows ? { stripRows: options.stripRows } : {}),
  };
  if (!given) {
    // Class ids: millions of speckle objects must not become millions of records in memory.
    const spill = await RecordSpill.open(outDir);
    try {
      // Zones list the instances whose centroid they hold: only id and centroid are kept for that.
      const zoneRefs: Array<Pick<InstanceRecord, 'id' | 'centroidPx'>> = [];
      const streamed = await measureStreamingTo(
        {
          ...common,
          labels,
          nodataLabel,
          intensity: image,
          connectivity: options.connectivity,
          labelsOptions,
          defaultClass: options.defaultClass,
          ...(options.classes ? { classes: options.classes } : {}),
        },
        async (records) => {
          if (zones) for (const r of records) zoneRefs.push({ id: r.id, centroidPx: r.centroidPx });
          await spill.add(records);
        },
      );
      const head = { source: sourceRecord(image, geometry), classes: streamed.classes };
      const jsonPath = path.join(outDir, 'instances.json');
      const csvPath = path.join(outDir, 'measurements.csv');
      await spill.finish(jsonPath, head, csvPath);
      const overlayPath = path.join(outDir, 'overlay.png');
      await writePng(overlayPath, overlayRgb({ data: preview.image, width: pw, height: ph, depth: 1, channels: display.length }, preview.labels, 0, streamed.classList), pw, ph, 3);
      const files = [labelsPath, instancesPath, jsonPath, csvPath, overlayPath];
      if (zones) files.push(...(await zones.write(outDir, streamed.classList, zoneRefs)));
      return { document: { ...head, instances: [] }, instanceCount: streamed.count, files };
    } catch (err) {
      await spill.discard();
      throw err;
    }
  }
  // Given instance ids: records in memory (one per id the raster holds).
  const classOf = options.classOfInstance;
  const cc = await streamGivenInstances({
    ...common,
    values: labels,
    intensity: image,
    labelsOptions,
    ...(classOf ? { classOf: (v: number) => classOf.get(v) ?? 1 } : {}),
  });
  const instanceSrc = await openGeoTiff(cc.instancesPath);
  let shapes: Array<Record<string, unknown>>;
  try {
    shapes = await streamShapes(cc.stats, instanceSrc, { geometry, connectivity: options.connectivity, geo, ...(options.stripRows ? { stripRows: options.stripRows } : {}) });
  } finally {
    await instanceSrc.close();
  }
  const list = classList(cc.maxClass);
  const m = measureCounted(cc, shapes, list, { geometry, depth: 1, width: W, height: H, connectivity: options.connectivity, geo });
  // Each record also names the label value it came from, as in memory.
  const measured = { instances: m.instances.map((r, i) => ({ ...r, labelValue: cc.valueOfId[i] })), classes: m.classes, classList: list };
  const document: InstancesDocument = { source: sourceRecord(image, geometry), classes: measured.classes, instances: measured.instances };
  const overlay = overlayRgb({ data: preview.image, width: pw, height: ph, depth: 1, channels: display.length }, preview.labels, 0, measured.classList);
  const files = [labelsPath, instancesPath, ...(await writeDocumentFiles(outDir, document, { rgb: overlay, width: pw, height: ph }))];
  if (zones) files.push(...(await zones.write(outDir, measured.classList, document.instances)));
  return { document, instanceCount: document.instances.length, files };
}

/** A NIfTI image and label volume opened for slice-by-slice reading, and the image as the document describes it. */
export interface StreamedVolume {
  image: NiftiSlices;
  labels: NiftiSlices;
  /** Header-only view of the image (never read): for the document's source record and size rules. */
  info: ImageSource;
}

/**
 * Opens image and labels for the streamed volume path when both are NIfTI volumes (depth > 1) with more voxels than
 * `thresholdPx` and an image of one or two channels (an RGB display needs the whole volume); else null.
 */
export async function openStreamedVolume(imagePath: string, labelsPath: string, thresholdPx: number): Promise<StreamedVolume | null> {
  if (!isNiftiPath(imagePath) || !isNiftiPath(labelsPath)) return null;
  const labels = await openNiftiSlices(labelsPath);
  const l = labels.layout;
  if (l.depth <= 1 || l.width * l.height * l.depth <= thresholdPx) return null;
  const image = await openNiftiSlices(imagePath);
  const m = image.layout;
  if (m.channels >= 3) return null;
  if (l.width !== m.width || l.height !== m.height || l.depth !== m.depth) {
    throw new InputError(labelsPath, `label map is ${l.width}x${l.height}x${l.depth}; the image is ${m.width}x${m.height}x${m.depth}`);
  }
  if (l.channels !== 1) throw new InputError(labelsPath, `a label map has one channel; this has ${l.channels}`);
  const info: ImageSource = {
    file: imagePath,
    format: 'nifti',
    kind: 'medical',
    width: m.width,
    height: m.height,
    depth: m.depth,
    channels: m.channels,
    dtype: m.dtype,
    geometry: m.geometry,
    meta: m.meta,
    read: () => Promise.reject(new Error(`${imagePath}: streamed volumes are read slice by slice`)),
    close: () => Promise.resolve(),
  };
  return { image, labels, info };
}

/** Measures a NIfTI label volume against its image slice by slice and writes the result folder. */
export async function measureVolumeFilesStreamed(volume: StreamedVolume, outDir: string, options: Omit<StreamedMeasureOptions, 'stripRows' | 'labelsAre' | 'classOfInstance' | 'zones'> & { signal?: AbortSignal }): Promise<{ document: InstancesDocument; instanceCount: number; files: string[] }> {
  const { info } = volume;
  const { width: W, height: H, depth: D, geometry } = info;
  await fs.mkdir(outDir, { recursive: true });
  const labelsPath = path.join(outDir, 'labels.nii.gz');
  const instancesPath = path.join(outDir, 'instances.nii.gz');
  // overlay.png: the middle slice, as resultRasters draws it.
  const mid = Math.floor(D / 2);
  let midLabels: LabelArray | null = null;
  let display: PixelArray | null = null;
  const cc = await streamVolumeComponents({
    labels: volume.labels,
    intensity: volume.image,
    connectivity: options.connectivity,
    geometry,
    instancesPath,
    labelsPath,
    ...(options.minSizePx ? { minPixels: options.minSizePx } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    onSlice: (z, labels, _ids, intensity) => {
      if (z !== mid) return;
      midLabels = labels.slice();
      display = intensity ? intensity.slice() : null;
    },
  });
  const instances = await openNiftiSlices(instancesPath);
  const shapes = await streamVolumeShapes(cc.stats, instances, { geometry, connectivity: options.connectivity, ...(options.signal ? { signal: options.signal } : {}) });
  const classList = classListFor(options, cc.maxLabel);
  const measured = measureCounted(cc, shapes, classList, { geometry, depth: D, width: W, height: H, connectivity: options.connectivity });
  const document: InstancesDocument = { source: sourceRecord(info, geometry), classes: measured.classes, instances: measured.instances };
  const overlay = overlayRgb({ data: display ?? new Uint8Array(W * H), width: W, height: H, depth: 1, channels: 1 }, midLabels ?? new Uint8Array(W * H), 0, classList);
  const files = [labelsPath, instancesPath, ...(await writeDocumentFiles(outDir, document, { rgb: overlay, width: W, height: H }))];
  return { document, instanceCount: document.instances.length, files };
}
