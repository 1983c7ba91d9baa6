// Every way the renderer's state changes, one named operation each (pure: state in, state out).
import type { EngineStatus, JobProgress, ModelSummary, OpenedImage, SliceBitmap } from '../../preload/api';
import type { AppState } from './store';

export const imageOpened = (image: OpenedImage) => (s: AppState): AppState => ({
  ...s,
  image,
  z: Math.floor(image.info.depth / 2),
  slice: null,
  overlay: null,
  cursor: null,
});

export const sliceChanged = (z: number) => (s: AppState): AppState => {
  if (!s.image) return s;
  const clamped = Math.max(0, Math.min(s.image.info.depth - 1, Math.round(z)));
  return clamped === s.z ? s : { ...s, z: clamped };
};

export const sliceLoaded = (handle: string, z: number, slice: SliceBitmap) => (s: AppState): AppState =>
  // A late answer for another image or slice must not replace what is shown now.
  s.image?.handle === handle && s.z === z ? { ...s, slice } : s;

export const busyChanged = (busy: string | null) => (s: AppState): AppState => ({ ...s, busy });

export const errorShown = (message: string) => (s: AppState): AppState => ({ ...s, error: message });
export const errorDismissed = () => (s: AppState): AppState => ({ ...s, error: null });

export const engineChanged = (engine: EngineStatus) => (s: AppState): AppState => ({ ...s, engine });

export const modelsLoaded = (models: ModelSummary[]) => (s: AppState): AppState => ({
  ...s,
  models,
  modelId: s.modelId && models.some((m) => m.id === s.modelId) ? s.modelId : (models[0]?.id ?? null),
});
export const modelPicked = (modelId: string) => (s: AppState): AppState => ({ ...s, modelId });

export const jobStarted = (jobId: string) => (s: AppState): AppState => ({ ...s, job: { jobId, progress: null } });
export const jobProgressed = (progress: JobProgress) => (s: AppState): AppState =>
  s.job?.jobId === progress.jobId ? { ...s, job: { jobId: progress.jobId, progress } } : s;
export const jobFinished = (jobId: string, handle: string, overlay: SliceBitmap | null) => (s: AppState): AppState => {
  if (s.job?.jobId !== jobId) return s;
  return { ...s, job: null, overlay: s.image?.handle === handle ? overlay : s.overlay };
};

export const cursorMoved = (cursor: { x: number; y: number } | null) => (s: AppState): AppState => ({ ...s, cursor });
export const zoomChanged = (zoomPct: number) => (s: AppState): AppState => (s.zoomPct === zoomPct ? s : { ...s, zoomPct });
