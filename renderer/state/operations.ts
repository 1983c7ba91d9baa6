// Every way the renderer's state changes, one named operation each (pure: state in, state out).
// Edits of a result are not here: they are operations on the engine host's instance map (result:edit), and
// `resultEdited` only takes in what the host answers.
import type { InstanceRecord } from '../../preload/api';
import type { EditResult, EngineStatus, JobProgress, ModelSummary, OpenedImage, OpenedSession, RecoverableSession, PixelProbe, ResultSlice, SegmentResult, SliceBitmap } from '../../preload/api';
import type { DevicePlan, ModelCompatibility, RecentFile } from '../../preload/api';
import type { AppState, OverlayStyle, SortState, Tool, UnsavedPrompt } from './store';
import type { ManualMeasurement } from '../measurements/manual';
import type { ResultProbability, SliceAxis } from '../../preload/api';
import type { PlaneView, ViewLayout } from './store';
import type { FolderBrowserState } from './store';
import type { ImageWindows, PatientHeader, PixelSize } from '../../preload/api';

export const imageOpened = (image: OpenedImage) => (s: AppState): AppState => ({
  ...s,
  image,
  z: Math.floor(image.info.depth / 2),
  crosshair: { x: Math.floor(image.info.width / 2), y: Math.floor(image.info.height / 2), z: Math.floor(image.info.depth / 2) },
  planes: NO_PLANES,
  probability: null,
  slice: null,
  display: { window: null, bands: null },
  result: null,
  resultSlice: null,
  selectedId: null,
  extraSelectedIds: [],
  cursor: null,
  probe: null,
  // A tool picked for the last image (a half-drawn polygon, a ruler) means nothing on this one.
  tool: 'pan',
});

export const sliceChanged = (z: number) => (s: AppState): AppState => {
  if (!s.image) return s;
  const clamped = Math.max(0, Math.min(s.image.info.depth - 1, Math.round(z)));
  return clamped === s.z ? s : { ...s, z: clamped, crosshair: { ...s.crosshair, z: clamped } };
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
export const modelPostprocessSet = (on: boolean) => (s: AppState): AppState => ({ ...s, modelPostprocess: on });

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
    result: {
      resultId: result.resultId,
      handle,
      document: result.document,
      revision: 0,
      undoStack: [],
      redoStack: [],
      probabilities: result.probabilities === true,
      savedDepth: null,
      ...(result.windowed ? { windowed: result.windowed } : {}),
    },
    resultSlice: null,
    probability: null,
    planes: planesWithoutResult(s.planes),
    selectedId: null,
    extraSelectedIds: [],
    activeClassId: result.document.classes.some((c) => c.id === s.activeClassId) ? s.activeClassId : firstClass,
    overlay: { ...s.overlay, hiddenClasses: [], mode: result.probabilities ? s.overlay.mode : 'labels' },
  };
};

/** The engine host that kept the result is gone (restarted): its maps went with it. */
export const resultDropped = () => (s: AppState): AppState => (s.result ? { ...s, result: null, resultSlice: null, selectedId: null, extraSelectedIds: [] } : s);

export const resultSliceLoaded = (slice: ResultSlice) => (s: AppState): AppState => {
  // Only the slice shown, of the result shown, and never an older revision over a newer one.
  if (s.result?.resultId !== slice.resultId || s.z !== slice.z) return s;
  if (s.resultSlice && s.resultSlice.resultId === slice.resultId && s.resultSlice.z === slice.z && s.resultSlice.revision > slice.revision) return s;
  return { ...s, resultSlice: slice };
};

/**
 * The engine host applied an edit, undo or redo: new measurements and stacks. A new edit made while the saved state
 * sat in the redo stack drops that state for good (the host cleared the redo stack), so nothing is "saved" any more.
 */
export const resultEdited = (edit: EditResult, kind: 'edit' | 'undo' | 'redo' = 'edit') => (s: AppState): AppState => {
  if (s.result?.resultId !== edit.resultId) return s;
  const windowed = s.result.windowed !== undefined;
  // A windowed result's document lists no instances: the reply carries the records of the ids it changed, so the
  // selected object's record follows the edit (gone when the edit removed it); untouched selections stay as they are.
  const fresh = new Map((edit.changedRecords ?? []).map((r) => [r.id, r]));
  const touched = new Set(edit.changedInstanceIds);
  const exists = (id: number | null): boolean => {
    if (id === null) return false;
    if (!windowed) return edit.document.instances.some((r) => r.id === id);
    return !touched.has(id) || fresh.has(id) || (edit.changedRecords === undefined);
  };
  const selectedId = edit.createdInstanceId ?? (exists(s.selectedId) ? s.selectedId : null);
  const selectedRecord = !windowed ? s.selectedRecord : selectedId === null ? null : (fresh.get(selectedId) ?? (touched.has(selectedId) ? null : s.selectedRecord?.id === selectedId ? s.selectedRecord : null));
  const saved = s.result.savedDepth;
  const savedDepth = kind === 'edit' && saved !== null && saved > s.result.undoStack.length ? null : saved;
  return {
    ...s,
    result: { ...s.result, document: edit.document, revision: edit.revision, undoStack: edit.undoStack, redoStack: edit.redoStack, savedDepth },
    selectedId,
    selectedRecord,
  };
};

/** The session of `resultId` was saved at undo depth `depth`, with these manual measurements. */
export const sessionSaved = (resultId: string, depth: number, manualKey: string) => (s: AppState): AppState =>
  s.result?.resultId === resultId ? { ...s, result: { ...s.result, savedDepth: depth }, savedManual: { handle: s.result.handle, key: manualKey } } : s;

/** A stable key of the manual measurements of one image (what a session would hold of them). */
export function manualKey(s: AppState, handle: string): string {
  return JSON.stringify(s.manual.filter((m) => m.handle === handle).map((m) => [m.z, m.kind, m.points]));
}

/** What the open image holds that no saved session has: empty when nothing would be lost by replacing it. */
export function unsavedWork(s: AppState): string[] {
  const handle = s.image?.handle;
  if (!handle) return [];
  const out: string[] = [];
  const r = s.result?.handle === handle ? s.result : null;
  if (r && r.savedDepth === null) {
    const n = r.undoStack.length;
    out.push(n > 0 ? `the model's result with ${n} edit${n === 1 ? '' : 's'}` : "the model's result");
  } else if (r && r.savedDepth !== r.undoStack.length) {
    out.push('edits made since the session was saved');
  }
  const key = manualKey(s, handle);
  const savedKey = s.savedManual?.handle === handle ? s.savedManual.key : '[]';
  if (key !== savedKey) {
    const n = s.manual.filter((m) => m.handle === handle).length;
    out.push(n > 0 ? `${n} manual measurement${n === 1 ? '' : 's'}` : 'deleted manual measurements');
  }
  return out;
}

export const unsavedPromptShown = (prompt: UnsavedPrompt | null) => (s: AppState): AppState => (s.unsavedPrompt === prompt ? s : { ...s, unsavedPrompt: prompt });

export const instanceSelected = (id: number | null, focus = false) => (s: AppState): AppState => {
  if (s.selectedId === id && !focus && s.extraSelectedIds.length === 0) return s;
  const selectedRecord = s.selectedRecord?.id === id ? s.selectedRecord : null;
  return { ...s, selectedId: id, selectedRecord, extraSelectedIds: [], focusRequest: focus ? s.focusRequest + 1 : s.focusRequest };
};

/** An object of a windowed result picked (table row, click): its record comes along, as the document lacks it. */
export const instanceRecordSelected = (record: InstanceRecord | null, focus = false) => (s: AppState): AppState => ({
  ...s,
  selectedId: record?.id ?? null,
  selectedRecord: record,
  extraSelectedIds: [],
  focusRequest: focus ? s.focusRequest + 1 : s.focusRequest,
});

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

export const cursorMoved = (cursor: { x: number; y: number; z?: number } | null) => (s: AppState): AppState => {
  if (s.cursor === cursor || (s.cursor && cursor && s.cursor.x === cursor.x && s.cursor.y === cursor.y && s.cursor.z === cursor.z)) return s;
  return { ...s, cursor, probe: cursor ? s.probe : null };
};
export const probed = (probe: PixelProbe | null) => (s: AppState): AppState => ({ ...s, probe });
export const zoomChanged = (zoomPct: number) => (s: AppState): AppState => (s.zoomPct === zoomPct ? s : { ...s, zoomPct });

/**
 * A session was opened or recovered: its image (fresh handle), its rebuilt result and the view it kept. An opened
 * session file is saved work (`saved`); a recovered autosave is not until the user saves it.
 */
export const sessionRestored = (opened: OpenedSession, saved = false) => (s: AppState): AppState => {
  const depth = opened.image.info.depth;
  const z = opened.view.z !== undefined && opened.view.z < depth ? opened.view.z : Math.floor(depth / 2);
  const r = opened.result;
  const firstClass = r.document.classes[0]?.id ?? 1;
  return {
    // A pixel size given to an image without geometry comes back with its session.
    ...imageOpened(opened.view.pixelSize ? { ...opened.image, info: { ...opened.image.info, pixelSize: opened.view.pixelSize } } : opened.image)(s),
    z,
    crosshair: { x: Math.floor(opened.image.info.width / 2), y: Math.floor(opened.image.info.height / 2), z },
    display: { window: opened.view.window ?? null, bands: null },
    result: { resultId: r.resultId, handle: opened.image.handle, document: r.document, revision: r.revision, undoStack: r.undoStack, redoStack: r.redoStack, savedDepth: saved ? r.undoStack.length : null },
    activeClassId: r.document.classes.some((c) => c.id === s.activeClassId) ? s.activeClassId : firstClass,
    // A restored result has no probability maps (sessions do not keep them).
    overlay: { ...s.overlay, hiddenClasses: [], mode: 'labels' },
    // The session's manual measurements belong to the image's new handle.
    manual: [
      ...s.manual,
      ...(opened.view.measurements ?? []).map((m, i) => ({ id: nextManualId(s.manual) + i, handle: opened.image.handle, z: m.z, kind: m.kind, points: m.points })),
    ],
    savedManual: saved ? { handle: opened.image.handle, key: JSON.stringify((opened.view.measurements ?? []).map((m) => [m.z, m.kind, m.points])) } : null,
  };
};

export const recoverableListed = (recoverable: RecoverableSession[]) => (s: AppState): AppState => ({ ...s, recoverable });
export const recoverableRemoved = (sessionId: string) => (s: AppState): AppState => ({ ...s, recoverable: s.recoverable.filter((x) => x.sessionId !== sessionId) });

export const noticeShown = (notice: string | null) => (s: AppState): AppState => (s.notice === notice ? s : { ...s, notice });
export const exportMenuRequested = () => (s: AppState): AppState => ({ ...s, exportMenuRequest: s.exportMenuRequest + 1 });

// ---------------------------------------------------------------- recent files, series, model management

export const recentListed = (recent: RecentFile[]) => (s: AppState): AppState => ({ ...s, recent });
export const recentMenuRequested = () => (s: AppState): AppState => ({ ...s, recentMenuRequest: s.recentMenuRequest + 1 });
/** Shows or hides the series chooser (only while an image with several series is open). */
export const seriesChooserShown = (open: boolean) => (s: AppState): AppState => {
  const next = open && (s.image?.info.series?.length ?? 0) > 1;
  return s.seriesChooserOpen === next ? s : { ...s, seriesChooserOpen: next };
};
export const devicePlanned = (devicePlan: DevicePlan | null) => (s: AppState): AppState => ({ ...s, devicePlan });

/** How the installed models suit an image (a late answer for another image is dropped). */
export const compatibilityLoaded = (handle: string, value: ModelCompatibility[]) => (s: AppState): AppState =>
  s.image?.handle === handle ? { ...s, compatibility: { handle, value } } : s;

/** The run that made this result took this long, from Run to its overlay on screen. */
export const resultTimed = (resultId: string, wallSeconds: number) => (s: AppState): AppState =>
  s.result?.resultId === resultId ? { ...s, result: { ...s.result, wallSeconds } } : s;
/** A model the user added: listed and picked. */
export const modelAdded = (model: ModelSummary) => (s: AppState): AppState => ({
  ...s,
  models: [...s.models.filter((m) => m.id !== model.id), model],
  modelId: model.id,
});
export const modelRemoved = (modelId: string) => (s: AppState): AppState => {
  const models = s.models.filter((m) => m.id !== modelId);
  return { ...s, models, modelId: s.modelId === modelId ? (models[0]?.id ?? null) : s.modelId };
};

// ---------------------------------------------------------------- views: layout, linked cursor, coronal/sagittal planes

const NO_PLANE: PlaneView = { slice: null, resultSlice: null, probability: null };
const NO_PLANES: AppState['planes'] = { coronal: NO_PLANE, sagittal: NO_PLANE };
/** The planes' images stay; their result maps belonged to another result. */
function planesWithoutResult(p: AppState['planes']): AppState['planes'] {
  return { coronal: { ...p.coronal, resultSlice: null, probability: null }, sagittal: { ...p.sagittal, resultSlice: null, probability: null } };
}

export const layoutChanged = (layout: ViewLayout) => (s: AppState): AppState => (s.layout === layout ? s : { ...s, layout });

/** The linked 3D cursor moved (clamped to the volume); the axial slice follows its z. */
export const crosshairMoved = (p: { x: number; y: number; z: number }) => (s: AppState): AppState => {
  if (!s.image) return s;
  const { width, height, depth } = s.image.info;
  const c = (v: number, n: number) => Math.max(0, Math.min(n - 1, Math.round(v)));
  const next = { x: c(p.x, width), y: c(p.y, height), z: c(p.z, depth) };
  if (next.x === s.crosshair.x && next.y === s.crosshair.y && next.z === s.crosshair.z) return s;
  return { ...s, crosshair: next, z: next.z };
};

/** Slice index a view shows: z (axial), the crosshair's y (coronal) or x (sagittal). */
export function planeIndex(s: AppState, axis: SliceAxis): number {
  return axis === 'axial' ? s.z : axis === 'coronal' ? s.crosshair.y : s.crosshair.x;
}

export const planeSliceLoaded = (handle: string, axis: 'coronal' | 'sagittal', index: number, slice: SliceBitmap) => (s: AppState): AppState =>
  s.image?.handle === handle && planeIndex(s, axis) === index ? { ...s, planes: { ...s.planes, [axis]: { ...s.planes[axis], slice } } } : s;

export const planeResultLoaded = (axis: 'coronal' | 'sagittal', slice: ResultSlice) => (s: AppState): AppState => {
  if (s.result?.resultId !== slice.resultId || planeIndex(s, axis) !== slice.z) return s;
  const old = s.planes[axis].resultSlice;
  if (old && old.resultId === slice.resultId && old.z === slice.z && old.revision > slice.revision) return s;
  return { ...s, planes: { ...s.planes, [axis]: { ...s.planes[axis], resultSlice: slice } } };
};

/** A heat-map slice arrived (or null: none to show); only for the result, slice and class shown. */
export const probabilityLoaded = (axis: SliceAxis, p: ResultProbability | null) => (s: AppState): AppState => {
  if (p && (s.result?.resultId !== p.resultId || planeIndex(s, axis) !== p.z || s.overlay.probabilityClassId !== p.classId)) return s;
  return axis === 'axial' ? { ...s, probability: p } : { ...s, planes: { ...s.planes, [axis]: { ...s.planes[axis], probability: p } } };
};

// ---------------------------------------------------------------- shape tools, multi-selection, manual measuring

/** Shift/Ctrl-click: adds an object to the selection (the first picked stays `selectedId`), or takes it out. */
export const instanceToggled = (id: number) => (s: AppState): AppState => {
  if (s.selectedId === null) return { ...s, selectedId: id, extraSelectedIds: [] };
  if (s.selectedId === id) {
    const [next = null, ...rest] = s.extraSelectedIds;
    return { ...s, selectedId: next, extraSelectedIds: rest };
  }
  const extra = s.extraSelectedIds.includes(id) ? s.extraSelectedIds.filter((x) => x !== id) : [...s.extraSelectedIds, id];
  return { ...s, extraSelectedIds: extra };
};
export const growToleranceSet = (tolerance: number) => (s: AppState): AppState => ({ ...s, growTolerance: Math.max(0, tolerance) });
export const growRadiusSet = (radius: number) => (s: AppState): AppState => ({ ...s, growRadius: Math.max(0, radius) });
/** Id the next manual measurement gets (ids are never reused while the app runs). */
const nextManualId = (list: ManualMeasurement[]): number => list.reduce((n, x) => Math.max(n, x.id), 0) + 1;
export const manualAdded = (m: Omit<ManualMeasurement, 'id'>) => (s: AppState): AppState => ({
  ...s,
  manual: [...s.manual, { ...m, id: nextManualId(s.manual) }],
});
export const manualRemoved = (id: number) => (s: AppState): AppState => ({ ...s, manual: s.manual.filter((m) => m.id !== id) });

// ---------------------------------------------------------------- clinical header, window presets, pixel size, study browser

export const deidentifySet = (on: boolean) => (s: AppState): AppState => (s.deidentify === on ? s : { ...s, deidentify: on });

/** Window presets of an image arrived; a late answer for another image is dropped. */
export const windowsLoaded = (handle: string, value: ImageWindows) => (s: AppState): AppState => (s.image?.handle === handle ? { ...s, windows: { handle, value } } : s);

export const patientLoaded = (handle: string, value: PatientHeader) => (s: AppState): AppState => (s.image?.handle === handle ? { ...s, patient: { handle, value } } : s);

/** The pixel size of an image without geometry (null: back to pixels); kept on the open image's info (units.ts). */
export const pixelSizeSet = (handle: string, size: PixelSize | null) => (s: AppState): AppState => {
  if (!s.image || s.image.handle !== handle) return s;
  const { pixelSize: _old, ...info } = s.image.info;
  void _old;
  return { ...s, image: { ...s.image, info: size ? { ...info, pixelSize: { value: size.value, unit: size.unit } } : info } };
};

export const folderBrowserChanged = (browser: FolderBrowserState | null) => (s: AppState): AppState => (s.folderBrowser === browser ? s : { ...s, folderBrowser: browser });
