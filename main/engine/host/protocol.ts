// Wire protocol between the Electron shell (or the test host) and the engine host process.
// Messages are structured-cloned (utilityProcess / fork with 'advanced' serialization), so typed arrays pass as is.

import type { ImageInfo, InstanceRecord, ModelSummary } from '../../../preload/formats';
import type { ResultInstancesPage, ResultInstancesRequest, ResultProbabilityTile, ResultProbabilityTileRequest, ResultTile, ResultTileRequest } from '../../../preload/api';
import type { DevicePlan, EditOperation, EditResult, JobProgress, ResultExportFormat, SessionView, PixelProbe, ResultProbability, ResultProbabilityRequest, ResultSlice, ResultSliceRequest, SegmentRequest, SliceBitmap, SliceRequest, TileBitmap, TileRequest } from '../../../preload/api';
import type { ExportMeasurement } from '../../../preload/api';
import type { CompareRunInput, EngineService, OpenOptions } from '../service';
import type { CompareRequest, CompareResult, CompareSlice, CompareSliceRequest, MedicalChangeDocument } from '../../../preload/compare';
import type { ImageWindows, PatientHeader, PixelSize } from '../../../preload/api';
import type { DicomFolderScan } from '../io/dicom/scan';
import type { AutosaveEntry, RestoredSession } from '../session/workspace';
import type { ModelCompatibility } from '../../../preload/api';
import type { NewResult, PromptBoxRequest, PromptClickRequest, PromptOpened, PromptPropagateRequest, PromptState } from '../../../preload/api';

/** Every method the host serves, its wire parameters (no callbacks, no signal) and its result. */
export interface EngineCalls {
  info: { params: [path: string, options?: OpenOptions]; result: ImageInfo };
  slice: { params: [path: string, request: Omit<SliceRequest, 'handle'>, options?: OpenOptions]; result: SliceBitmap };
  tile: { params: [path: string, request: Omit<TileRequest, 'handle'>, options?: OpenOptions]; result: TileBitmap };
  listModels: { params: []; result: ModelSummary[] };
  addModel: { params: [file: string]; result: ModelSummary };
  removeModel: { params: [modelId: string]; result: void };
  devicePlan: { params: []; result: DevicePlan };
  modelCompatibility: { params: [path: string, options?: OpenOptions]; result: ModelCompatibility[] };
  segment: { params: [path: string, request: Omit<SegmentRequest, 'handle'>, options?: OpenOptions]; result: Awaited<ReturnType<EngineService['segment']>> };
  windows: { params: [path: string, options?: OpenOptions]; result: ImageWindows };
  patient: { params: [path: string, options?: OpenOptions]; result: PatientHeader };
  scanFolder: { params: [path: string]; result: DicomFolderScan };
  probe: { params: [path: string, x: number, y: number, z: number, options?: OpenOptions]; result: PixelProbe };
  resultSlice: { params: [request: ResultSliceRequest]; result: ResultSlice };
  resultProbability: { params: [request: ResultProbabilityRequest]; result: ResultProbability };
  resultTile: { params: [request: ResultTileRequest]; result: ResultTile };
  resultProbabilityTile: { params: [request: ResultProbabilityTileRequest]; result: ResultProbabilityTile };
  resultInstances: { params: [request: ResultInstancesRequest]; result: ResultInstancesPage };
  resultInstanceAt: { params: [resultId: string, x: number, y: number, z: number]; result: InstanceRecord | null };
  editResult: { params: [resultId: string, operation: EditOperation]; result: EditResult };
  undoEdit: { params: [resultId: string]; result: EditResult };
  redoEdit: { params: [resultId: string]; result: EditResult };
  saveSession: { params: [resultId: string, file: string, view: SessionView]; result: string[] };
  openSession: { params: [file: string]; result: RestoredSession };
  listAutosaves: { params: []; result: AutosaveEntry[] };
  closeResult: { params: [resultId: string]; result: void };
  recoverAutosave: { params: [sessionId: string]; result: RestoredSession };
  discardAutosave: { params: [sessionId: string]; result: void };
  exportResult: { params: [resultId: string, format: ResultExportFormat, out: string, options: { z?: number; deidentify?: boolean; measurements?: ExportMeasurement[]; pixelSize?: PixelSize }]; result: string[] };
  compareRun: { params: [inputs: CompareRunInput[], request: Omit<CompareRequest, 'handles' | 'resultIds'>]; result: CompareResult };
  compareSlice: { params: [request: CompareSliceRequest]; result: CompareSlice };
  compareClose: { params: [compareId: string]; result: void };
  compareTargets: { params: [compareId: string, tracks: number[] | null]; result: MedicalChangeDocument };
  compareExportReport: { params: [compareId: string, tracks: number[] | null, out: string, deidentify: boolean]; result: string[] };
  newResult: { params: [path: string, modelId: string | null, options?: OpenOptions]; result: NewResult };
  promptModels: { params: []; result: ModelSummary[] };
  promptOpen: { params: [path: string, modelId: string | null, options?: OpenOptions]; result: PromptOpened };
  promptClick: { params: [request: PromptClickRequest]; result: PromptState };
  promptBox: { params: [request: PromptBoxRequest]; result: PromptState };
  promptPropagate: { params: [request: PromptPropagateRequest]; result: PromptState };
  promptClear: { params: [promptId: string]; result: void };
  promptClose: { params: [promptId: string]; result: void };
}

export type EngineMethod = keyof EngineCalls;
export const ENGINE_METHODS = ['info', 'slice', 'tile', 'listModels', 'addModel', 'removeModel', 'devicePlan', 'modelCompatibility', 'segment', 'windows', 'patient', 'scanFolder', 'probe', 'resultSlice', 'resultProbability', 'resultTile', 'resultProbabilityTile', 'resultInstances', 'resultInstanceAt', 'editResult', 'undoEdit', 'redoEdit', 'saveSession', 'openSession', 'listAutosaves', 'closeResult', 'recoverAutosave', 'discardAutosave', 'exportResult', 'compareRun', 'compareSlice', 'compareClose', 'compareTargets', 'compareExportReport', 'newResult', 'promptModels', 'promptOpen', 'promptClick', 'promptBox', 'promptPropagate', 'promptClear', 'promptClose'] as const satisfies readonly EngineMethod[];

// Compile-time check that every EngineService method has a wire entry and vice versa.
type _SameKeys = [Exclude<keyof EngineService, EngineMethod>, Exclude<EngineMethod, keyof EngineService>] extends [never, never] ? true : never;
const _sameKeys: _SameKeys = true;
void _sameKeys;

export type Progress = Omit<JobProgress, 'jobId'>;

/** Shell -> host: run a method. `jobId` makes it cancellable. */
export interface CallMessage {
  type: 'call';
  id: number;
  method: EngineMethod;
  params: unknown[];
  jobId?: string;
}

/** Shell -> host: abort the job with this id (its promise then rejects with an AbortError). */
export interface CancelMessage {
  type: 'cancel';
  jobId: string;
}

export type ToHost = CallMessage | CancelMessage;

export interface SerializedError {
  message: string;
  name: string;
}

export type FromHost =
  /** Sent once the host has loaded the engine and listens. */
  | { type: 'ready'; pid: number }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id: number; error: SerializedError }
  | { type: 'progress'; id: number; progress: Progress }
  /** Something failed outside any call (a stray rejection); the host logs it and keeps serving. */
  | { type: 'log'; level: 'warn' | 'error'; message: string };

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) return { message: err.message || err.name, name: err.name };
  return { message: String(err), name: 'Error' };
}

/** Cheap structural check for messages arriving from the other side of a process boundary. */
export function isToHost(value: unknown): value is ToHost {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  if (m.type === 'cancel') return typeof m.jobId === 'string';
  return (
    m.type === 'call' &&
    typeof m.id === 'number' &&
    typeof m.method === 'string' &&
    (ENGINE_METHODS as readonly string[]).includes(m.method) &&
    Array.isArray(m.params) &&
    (m.jobId === undefined || typeof m.jobId === 'string')
  );
}

export function isFromHost(value: unknown): value is FromHost {
  if (typeof value !== 'object' || value === null) return false;
  const t = (value as Record<string, unknown>).type;
  return t === 'ready' || t === 'result' || t === 'error' || t === 'progress' || t === 'log';
}
