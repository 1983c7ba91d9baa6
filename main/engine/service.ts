// The engine's service surface: what the engine host process exposes to the Electron shell, the test host
// and (in-process) the CLI. Plain data in, plain data out; paths here are already resolved from handles.

import type { ImageInfo, InstancesDocument, ModelSummary } from '../../preload/formats';
import type { EditOperation, EditResult, JobProgress, PixelProbe, ResultSlice, ResultSliceRequest, SliceBitmap, SliceRequest, SegmentRequest } from '../../preload/api';

export interface OpenOptions {
  /** User-supplied physical spacing for plain images, [x, y(, z)] in mm. */
  spacingMm?: number[];
  /** DICOM: the SeriesInstanceUID to open when a folder holds several series. */
  seriesUid?: string;
  /** DICOM: open a series with missing slices or uneven spacing anyway (the metadata says so). */
  allowGaps?: boolean;
}

export type ProgressFn = (p: Omit<JobProgress, 'jobId'>) => void;

export interface EngineService {
  info(path: string, options?: OpenOptions): Promise<ImageInfo>;
  slice(path: string, request: Omit<SliceRequest, 'handle'>): Promise<SliceBitmap>;
  listModels(): Promise<ModelSummary[]>;
  /** Runs a model on the image and post-processes it; honours the signal between tiles. */
  segment(
    path: string,
    request: Omit<SegmentRequest, 'handle'>,
    onProgress: ProgressFn,
    signal: AbortSignal,
  ): Promise<{ document: InstancesDocument; overlay?: SliceBitmap; resultId?: string }>;
  /** Values and world position of one pixel (the cursor read-out). */
  probe(path: string, x: number, y: number, z: number): Promise<PixelProbe>;
  /** Instance ids of one slice of a kept result. */
  resultSlice(request: ResultSliceRequest): Promise<ResultSlice>;
  /** Applies a named edit operation to a kept result and re-measures what it touched. */
  editResult(resultId: string, operation: EditOperation): Promise<EditResult>;
  undoEdit(resultId: string): Promise<EditResult>;
  redoEdit(resultId: string): Promise<EditResult>;
}

import { openImage } from './io';
import { renderSlice } from './render/slice';
import { describe } from './image';
import { listModels, segmentImage } from './pipeline';
import { SourceCache } from './io/cache';
import { ResultStore } from './results/store';
import { probePixel } from './render/probe';

/** The engine as a service object; the engine host serves it over its process boundary. */
export function createEngineService(): EngineService {
  // The viewer asks for many slices of the same file: keep a few sources open instead of reopening per call.
  const sources = new SourceCache(4);
  // Results stay in the host so the viewer can page through their slices and edits can change them.
  const results = new ResultStore((path) => sources.use(path, {}, async (src) => (await src.read({ channels: [0] })).data));
  return {
    async info(path, options) {
      const src = await openImage(path, options);
      try {
        return describe(src);
      } finally {
        await src.close();
      }
    },
    async slice(path, request) {
      return sources.use(path, {}, (src) => renderSlice(src, request));
    },
    listModels,
    async segment(path, request, onProgress, signal) {
      const src = await openImage(path);
      try {
        const out = await segmentImage(
          src,
          { model: request.modelId, ...(request.device ? { device: request.device } : {}), ...(request.overlap !== undefined ? { overlap: request.overlap } : {}) },
          onProgress,
          signal,
        );
        const r = out.rasters;
        const resultId = results.add({
          path,
          width: r.width,
          height: r.height,
          depth: r.depth,
          geometry: r.geometry,
          classes: r.classes,
          labels: r.labels,
          nodataLabel: r.nodataLabel,
          instances: r.instances,
          document: out.document,
          // The pipeline's default connectivity (segmentImage: 8 in 2D, 26 in 3D).
          connectivity: r.depth > 1 ? 26 : 8,
        });
        return { document: out.document, overlay: out.overlay, resultId };
      } finally {
        await src.close();
      }
    },
    async probe(path, x, y, z) {
      return sources.use(path, {}, (src) => probePixel(src, x, y, z));
    },
    async resultSlice(request) {
      return results.slice(request.resultId, request.z, request.maxSize);
    },
    editResult: (resultId, operation) => results.edit(resultId, operation),
    undoEdit: (resultId) => results.undo(resultId),
    redoEdit: (resultId) => results.redo(resultId),
  };
}
