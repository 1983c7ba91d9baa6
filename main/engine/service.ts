// The engine's service surface: what the engine host process exposes to the Electron shell, the test host
// and (in-process) the CLI. Plain data in, plain data out; paths here are already resolved from handles.

import type { ImageInfo, InstancesDocument, ModelSummary } from '../../preload/formats';
import type { JobProgress, SliceBitmap, SliceRequest, SegmentRequest } from '../../preload/api';

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
  ): Promise<{ document: InstancesDocument; overlay?: SliceBitmap }>;
}

import { openImage } from './io';
import { renderSlice } from './render/slice';
import { describe } from './image';
import { listModels, segmentFile } from './pipeline';
import { SourceCache } from './io/cache';

/** The engine as a service object; the engine host serves it over its process boundary. */
export function createEngineService(): EngineService {
  // The viewer asks for many slices of the same file: keep a few sources open instead of reopening per call.
  const sources = new SourceCache(4);
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
    segment: segmentFile,
  };
}
