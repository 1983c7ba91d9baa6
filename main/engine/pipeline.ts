// Segmentation pipeline: open -> inference -> postprocess -> measure -> document (+ files with the CLI).
import type { InstancesDocument, ModelSummary } from '../../preload/formats';
import type { SegmentRequest, SliceBitmap } from '../../preload/api';
import type { ProgressFn } from './service';

export async function listModels(): Promise<ModelSummary[]> {
  throw new Error('listModels: not implemented yet');
}

export async function segmentFile(
  _path: string,
  _request: Omit<SegmentRequest, 'handle'>,
  _onProgress: ProgressFn,
  _signal: AbortSignal,
): Promise<{ document: InstancesDocument; overlay?: SliceBitmap }> {
  throw new Error('segmentFile: not implemented yet');
}
