// A small store: one immutable state object, changed only through the named operations in operations.ts,
// read in components with useStore(selector).
import { useSyncExternalStore } from 'react';
import type { EngineStatus, JobProgress, ModelSummary, OpenedImage, SliceBitmap } from '../../preload/api';

export interface JobState {
  jobId: string;
  progress: JobProgress | null;
}

export interface AppState {
  image: OpenedImage | null;
  /** Slice index shown (0 for 2D). */
  z: number;
  slice: SliceBitmap | null;
  /** Segmentation overlay for the image shown, if any. */
  overlay: SliceBitmap | null;
  busy: string | null;
  error: string | null;
  engine: EngineStatus;
  models: ModelSummary[];
  modelId: string | null;
  job: JobState | null;
  /** Image pixel under the cursor. */
  cursor: { x: number; y: number } | null;
  /** Screen pixels per image pixel, as a percentage. */
  zoomPct: number;
}

export const initialState: AppState = {
  image: null,
  z: 0,
  slice: null,
  overlay: null,
  busy: null,
  error: null,
  engine: { state: 'starting', restarts: 0 },
  models: [],
  modelId: null,
  job: null,
  cursor: null,
  zoomPct: 100,
};

type Listener = () => void;
let state = initialState;
const listeners = new Set<Listener>();

export function getState(): AppState {
  return state;
}

/** Applies one operation (a pure function of the state); operations.ts names them all. */
export function apply(op: (s: AppState) => AppState): void {
  const next = op(state);
  if (next === state) return;
  state = next;
  for (const l of listeners) l();
}

function subscribe(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function useStore<T>(selector: (s: AppState) => T): T {
  return useSyncExternalStore(subscribe, () => selector(state));
}
