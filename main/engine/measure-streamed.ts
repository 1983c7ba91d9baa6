// `delineate measure` on 2D label rasters above the streaming threshold (postprocess/streaming.ts): the label map is
// read strip by strip from disk, never whole, and the result folder (labels.tif, instances.tif, instances.json,
// measurements.csv, overlay.png) is written as it goes. Same fields and values as the in-memory path; overlay.png is
// a preview (every n-th pixel, longest side <= PREVIEW_PX), as for windowed segmentation.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { InstancesDocument, ManifestClass } from '../../preload/formats';
import { allocPixels, type ImageSource } from './image';
import type { Connectivity } from './postprocess/components';
import { labelNodata, measureStreaming } from './postprocess/streaming';
import { labelColormap, overlayRgb } from './export/overlay';
import { measurementsCsv } from './export/results';
import { writeFileAtomic } from './io/atomic';
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
}

/** Measures a label raster against its image strip by strip and writes the result folder. */
export async function measureFilesStreamed(image: ImageSource, labels: ImageSource, outDir: string, options: StreamedMeasureOptions): Promise<{ document: InstancesDocument; files: string[] }> {
  const { width: W, height: H, geometry } = image;
  await fs.mkdir(outDir, { recursive: true });
  const labelsPath = path.join(outDir, 'labels.tif');
  const instancesPath = path.join(outDir, 'instances.tif');
  // Preview: every `scale`-th pixel of the image and of the cleaned labels.
  const scale = Math.max(1, Math.ceil(Math.max(W, H) / PREVIEW_PX));
  const pw = Math.ceil(W / scale);
  const ph = Math.ceil(H / scale);
  const display = image.channels >= 3 ? [0, 1, 2] : [0];
  const preview = { labels: new Uint16Array(pw * ph), image: allocPixels(image.dtype, pw * ph * display.length) };
  const classList = (maxLabel: number): ManifestClass[] => Array.from({ length: Math.max(options.classes?.length ?? 0, maxLabel) }, (_, i) => options.classes?.[i] ?? options.defaultClass(i + 1));
  const nodataLabel = await labelNodata(labels, options.stripRows);
  const measured = await measureStreaming({
    labels,
    nodataLabel,
    intensity: image,
    connectivity: options.connectivity,
    geometry,
    instancesPath,
    labelsPath,
    labelsOptions: (maxLabel) => ({
      colormap: labelColormap(classList(maxLabel), maxLabel > 254 ? 65536 : 256),
      description: `labels: 0=none;${classList(maxLabel)
        .map((c, i) => `${i + 1}=${c.name}`)
        .join(';')};${nodataLabel}=nodata`,
    }),
    defaultClass: options.defaultClass,
    ...(options.classes ? { classes: options.classes } : {}),
    ...(options.minSizePx ? { minPixels: options.minSizePx } : {}),
    ...(options.stripRows ? { stripRows: options.stripRows } : {}),
    onStrip: async (y0, rows, cleaned) => {
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
    },
  });
  const files = [labelsPath, instancesPath];
  const document: InstancesDocument = { source: sourceRecord(image, geometry), classes: measured.classes, instances: measured.instances };
  const jsonPath = path.join(outDir, 'instances.json');
  await writeFileAtomic(jsonPath, JSON.stringify(document, null, 2) + '\n');
  const csvPath = path.join(outDir, 'measurements.csv');
  await writeFileAtomic(csvPath, measurementsCsv(document.instances));
  const overlayPath = path.join(outDir, 'overlay.png');
  await writePng(overlayPath, overlayRgb({ data: preview.image, width: pw, height: ph, depth: 1, channels: display.length }, preview.labels, 0, measured.classList), pw, ph, 3);
  files.push(jsonPath, csvPath, overlayPath);
  return { document, files };
}
