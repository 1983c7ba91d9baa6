// Every way the renderer's state changes, one named operation each (pure: state in, state out).
// Edits of a result are not here: they are operations on the engine host's instance map (result:edit), and
// `resultEdited` only takes in what the host answers.
import type { EditResult, EngineStatus, JobProgress, ModelSummary, OpenedImage, OpenedSession, RecoverableSession, PixelProbe, ResultSlice, SegmentResult, SliceBitmap } from '../../preload/api';
import type { AppState, OverlayStyle, SortState, Tool } from './store';

export const imageOpened = (image: OpenedImage) => (s: AppState): AppState => ({
  ...s,
  image,
  z: Math.floor(image.info.depth / 2),
  slice: null,
  display: { window: null, bands: null },
  result: null,
  resultSlice: null,
  selectedId: null,
  cursor: null,
  probe: null,
});

export const sliceChanged = (z: number) => (s: AppState): AppState => {
  if (!s.image) return s;
  const clamped = Math.max(0, Math.min(s.image.info.depth - 1, Math.round(z)));
  return clamped === s.z ? s : { ...s, z: clamped };
};

export const sliceLoaded = (handle: string, z: number, slice: SliceBitmap) => (s: AppState): AppState =>
  // A late answer for another image or slice must not replace what is shown now.
  s.image?.handle === handle && s.z === z ? { ...s, slice } : s;

export const windowChanged = (window: { center: number; width: number } | null) => (s: AppState): AppState => ({
  ...s,
  display: { ...s.display, window: window ? { center: window.center, width: Math.max(1e-6, window.width) } : null },
});

export const bandsChanged = (bands: number[] | null) => (s: AppState): AppState => ({ ...s, display: { ...s.display, bands } });

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

export const jobStarted = (jobId: string, startedMs: number) => (s: AppState): AppState => ({ ...s, job: { jobId, progress: null, startedMs } });
export const jobProgressed = (progress: JobProgress) => (s: AppState): AppState =>
  s.job?.jobId === progress.jobId ? { ...s, job: { ...s.job, progress } } : s;
export const jobEnded = (jobId: string) => (s: AppState): AppState => (s.job?.jobId === jobId ? { ...s, job: null } : s);

/** A segmentation finished: its result replaces the previous one of the same image. */
export const resultReceived = (handle: string, result: SegmentResult) => (s: AppState): AppState => {
  if (s.image?.handle !== handle || !result.resultId) return s;
  const firstClass = result.document.classes[0]?.id ?? 1;
  return {
    ...s,
    result: { resultId: result.resultId, handle, document: result.document, revision: 0, undoStack: [], redoStack: [] },
    resultSlice: null,
    selectedId: null,
    activeClassId: result.document.classes.some((c) => c.id === s.activeClassId) ? s.activeClassId : firstClass,
    overlay: { ...s.overlay, hiddenClasses: [] },
  };
};

/** The engine host that kept the result is gone (restarted): its maps went with it. */
export const resultDropped = () => (s: AppState): AppState => (s.result ? { ...s, result: null, resultSlice: null, selectedId: null } : s);

export const resultSliceLoaded = (slice: ResultSlice) => (s: AppState): AppState => {
  // Only the slice shown, of the result shown, and never an older revision over a newer one.
  if (s.result?.resultId !== slice.resultId || s.z !== slice.z) return s;
  if (s.resultSlice && s.resultSlice.resultId === slice.resultId && s.resultSlice.z === slice.z && s.resultSlice.revision > slice.revision) return s;
  return { ...s, resultSlice: slice };
};

/** The engine host applied an edit, undo or redo: new measurements and stacks. */
export const resultEdited = (edit: EditResult) => (s: AppState): AppState => {
  if (s.result?.resultId !== edit.resultId) return s;
  const exists = (id: number | null) => id !== null && edit.document.instances.some((r) => r.id === id);
  const selectedId = edit.createdInstanceId ?? (exists(s.selectedId) ? s.selectedId : null);
  return {
    ...s,
    result: { ...s.result, document: edit.document, revision: edit.revision, undoStack: edit.undoStack, redoStack: edit.redoStack },
    selectedId,
  };
};

export const instanceSelected = (id: number | null, focus = false) => (s: AppState): AppState => {
  if (s.selectedId === id && !focus) return s;
  return { ...s, selectedId: id, focusRequest: focus ? s.focusRequest + 1 : s.focusRequest };
};

export const overlayStyled = (patch: Partial<OverlayStyle>) => (s: AppState): AppState => ({ ...s, overlay: { ...s.overlay, ...patch } });

export const classToggled = (classId: number) => (s: AppState): AppState => {
  const hidden = s.overlay.hiddenClasses.includes(classId) ? s.overlay.hiddenClasses.filter((c) => c !== classId) : [...s.overlay.hiddenClasses, classId];
  return { ...s, overlay: { ...s.overlay, hiddenClasses: hidden } };
};

export const toolPicked = (tool: Tool) => (s: AppState): AppState => (s.tool === tool ? s : { ...s, tool });
export const brushSized = (diameter: number) => (s: AppState): AppState => ({ ...s, brushDiameter: Math.max(0.01, diameter) });
export const activeClassPicked = (classId: number) => (s: AppState): AppState => ({ ...s, activeClassId: classId });

export const sortChanged = (key: string) => (s: AppState): AppState => {
  const sort: SortState = s.sort.key === key ? { key, dir: s.sort.dir === 1 ? -1 : 1 } : { key, dir: key === 'id' || key === 'className' ? 1 : -1 };
  return { ...s, sort };
};

export const cursorMoved = (cursor: { x: number; y: number } | null) => (s: AppState): AppState => {
  if (s.cursor === cursor || (s.cursor && cursor && s.cursor.x === cursor.x && s.cursor.y === cursor.y)) return s;
  return { ...s, cursor, probe: cursor ? s.probe : null };
};
export const probed = (probe: PixelProbe | null) => (s: AppState): AppState => ({ ...s, probe });
export const zoomChanged = (zoomPct: number) => (s: AppState): AppState => (s.zoomPct === zoomPct ? s : { ...s, zoomPct });

/** A session was opened or recovered: its image (fresh handle), its rebuilt result and the view it kept. */
export const sessionRestored = (opened: OpenedSession) => (s: AppState): AppState => {
  const depth = opened.image.info.depth;
  const z = opened.view.z !== undefined && opened.view.z < depth ? opened.view.z : Math.floor(depth / 2);
  const r = opened.result;
  const firstClass = r.document.classes[0]?.id ?? 1;
  return {
    ...imageOpened(opened.image)(s),
    z,
    display: { window: opened.view.window ?? null, bands: null },
    result: { resultId: r.resultId, handle: opened.image.handle, document: r.document, revision: r.revision, undoStack: r.undoStack, redoStack: r.redoStack },
    activeClassId: r.document.classes.some((c) => c.id === s.activeClassId) ? s.activeClassId : firstClass,
    overlay: { ...s.overlay, hiddenClasses: [] },
  };
};

export const recoverableListed = (recoverable: RecoverableSession[]) => (s: AppState): AppState => ({ ...s, recoverable });
export const recoverableRemoved = (sessionId: string) => (s: AppState): AppState => ({ ...s, recoverable: s.recoverable.filter((x) => x.sessionId !== sessionId) });

export const noticeShown = (notice: string | null) => (s: AppState): AppState => (s.notice === notice ? s : { ...s, notice });
export const exportMenuRequested = () => (s: AppState): AppState => ({ ...s, exportMenuRequest: s.exportMenuRequest + 1 });
