// A small store: one immutable state object, changed only through the named operations in operations.ts,
// read in components with useStore(selector). Selectors must return state parts or primitives (no new objects).
import { useSyncExternalStore } from 'react';
import type { ManualMeasurement } from '../measurements/manual';
import type { ResultProbability } from '../../preload/api';
import type { DevicePlan, ModelCompatibility, RecentFile } from '../../preload/api';
import type { FolderScan, ImageWindows, PatientHeader } from '../../preload/api';
import type { InstanceRecord } from '../../preload/api';
import type { EditOperationName, EngineStatus, RecoverableSession, InstancesDocument, JobProgress, ModelSummary, OpenedImage, PixelProbe, ResultSlice, SliceBitmap } from '../../preload/api';

export interface JobState {
  jobId: string;
  progress: JobProgress | null;
  /** performance.now() when Run was pressed (the progress bar's elapsed time). */
  startedMs: number;
}

/** A segmentation result kept in the engine host, as the renderer knows it. */
export interface ResultState {
  resultId: string;
  /** The image it belongs to. */
  handle: string;
  document: InstancesDocument;
  /** Edit revision (0 = as the model produced it). */
  revision: number;
  undoStack: EditOperationName[];
  redoStack: EditOperationName[];
  /** The host kept the model's per-class probabilities (the heat-map can show them). */
  probabilities?: boolean;
  /** Wall time of the run that made it, from Run to its overlay on screen (post-processing included). */
  wallSeconds?: number;
  /**
   * Kept on disk by a windowed Run (a raster too large for memory): document.instances is empty, the table pages
   * through 'result:instances' and the viewer draws 'result:tile' tiles.
   */
  windowed?: { width: number; height: number; instanceCount: number };
  /**
   * Where the last saved session sits in the undo stack: its depth (undoStack.length) when saved or opened. Null when
   * this result was never saved, or when the saved state was in the redo stack and a new edit dropped it. Undo back
   * to this depth is the saved state again (a depth, not a boolean, so undo can return to "saved").
   */
  savedDepth: number | null;
}

/** The Save / Discard / Cancel question asked before work that is not saved would be replaced. */
export interface UnsavedPrompt {
  /** The image whose work would be lost. */
  imageName: string;
  /** What would lose it: something else opening over it (default), or the window closing. */
  action?: 'close';
  /** What would be lost, one item each ("the model's result", "3 edits", "1 manual measurement"). */
  unsaved: string[];
  /** Save needs a result: manual measurements alone cannot be saved as a session. */
  canSave: boolean;
}

export type Tool = 'pan' | 'brush' | 'eraser' | 'crosshair' | 'polygon' | 'lasso' | 'regionGrow' | 'split' | 'ruler' | 'bidirectional' | 'ai';

export interface OverlayStyle {
  visible: boolean;
  /** 0..1 fill opacity. */
  opacity: number;
  outline: boolean;
  colorBy: 'class' | 'instance';
  /** Class ids not drawn. */
  hiddenClasses: number[];
  /** Labels (class/instance colours) or the model's probability of one class as a heat-map. */
  mode: 'labels' | 'probability';
  probabilityClassId: number;
}

/** Single view, or axial, coronal and sagittal side by side (volumes). */
export type ViewLayout = 'single' | 'mpr';

/** What a coronal or sagittal view shows (the axial view's are `slice`, `resultSlice`, `probability`). */
export interface PlaneView {
  slice: SliceBitmap | null;
  resultSlice: ResultSlice | null;
  probability: ResultProbability | null;
}

export interface DisplayState {
  /** Window in modality values; null = the engine's default (file window, else percentile stretch). */
  window: { center: number; width: number } | null;
  /** Bands shown (1 = grey, 3 = RGB); null = the engine's default. */
  bands: number[] | null;
}

export interface SortState {
  key: string;
  dir: 1 | -1;
}

export interface AppState {
  image: OpenedImage | null;
  /** Slice index shown (0 for 2D). */
  z: number;
  slice: SliceBitmap | null;
  display: DisplayState;
  result: ResultState | null;
  /** Instance map of the slice shown, for the result shown. */
  resultSlice: ResultSlice | null;
  overlay: OverlayStyle;
  selectedId: number | null;
  /** The record of selectedId where the document does not list it (a windowed result: from its table page or a click). */
  selectedRecord: InstanceRecord | null;
  tool: Tool;
  /** Brush diameter in the image's length unit (mm, m, or px without spacing). */
  brushDiameter: number;
  /** Class a brush stroke outside any selected instance paints. */
  activeClassId: number;
  /** Objects picked with Shift/Ctrl-click besides selectedId (what Merge joins, after selectedId). */
  extraSelectedIds: number[];
  /** Region grow: seed value ± this, in modality units (HU for CT). */
  growTolerance: number;
  /** Region grow: how far from the click it may reach, in the image's length unit (0 = a default for the image). */
  growRadius: number;
  /** Ruler and bidirectional measurements drawn by hand, of every image opened (each names its handle). */
  manual: ManualMeasurement[];
  /** The manual measurements of `handle` as the last saved or opened session held them (manualKey), to tell unsaved ones. */
  savedManual: { handle: string; key: string } | null;
  /** The unsaved-work question shown (an in-app dialog), or null. */
  unsavedPrompt: UnsavedPrompt | null;
  sort: SortState;
  busy: string | null;
  error: string | null;
  engine: EngineStatus;
  models: ModelSummary[];
  modelId: string | null;
  /** Apply the chosen model's component filters (its manifest `postprocess`) when it runs. */
  modelPostprocess: boolean;
  job: JobState | null;
  /** Image pixel under the cursor (z when it is on another slice than `z`: a coronal/sagittal view), and what the engine says is there. */
  cursor: { x: number; y: number; z?: number } | null;
  probe: PixelProbe | null;
  /** Screen pixels per image pixel, as a percentage. */
  zoomPct: number;
  /** Bumped to ask the viewer to centre on the selected instance. */
  focusRequest: number;
  /** Autosaves a crash or an unsaved quit left (the recover banner offers the first). */
  recoverable: RecoverableSession[];
  /** A short confirmation (session saved, file exported), shown until dismissed or replaced. */
  notice: string | null;
  /** Bumped to ask the toolbar to open the export menu (File > Export... in the app menu). */
  exportMenuRequest: number;
  layout: ViewLayout;
  /** The linked 3D cursor in voxels: coronal views show slice y, sagittal views slice x; z is always `z`. */
  crosshair: { x: number; y: number; z: number };
  planes: { coronal: PlaneView; sagittal: PlaneView };
  /** Heat-map of the axial slice shown (overlay mode 'probability'). */
  probability: ResultProbability | null;
  /** Recently opened images and series folders, newest first (ids and names only; main keeps the paths). */
  recent: RecentFile[];
  /** Bumped to ask the toolbar to open the Recent menu. */
  recentMenuRequest: number;
  /** The series chooser is shown (the open folder holds several series). */
  seriesChooserOpen: boolean;
  /** Which execution providers a run will try (asked once the engine is up). */
  devicePlan: DevicePlan | null;
  /** How each installed model suits the open image (kind, channels, resolution), asked once per image. */
  compatibility: { handle: string; value: ModelCompatibility[] } | null;
  /** Patient name, ID and dates are hidden everywhere they are shown, and exports leave them out by default. */
  deidentify: boolean;
  /** Window presets of the open image by its modality (asked once per image). */
  windows: { handle: string; value: ImageWindows } | null;
  /** The header over the views of a DICOM image: patient, study and series. */
  patient: { handle: string; value: PatientHeader } | null;
  /** The study browser of Open folder...: scanning (with progress), or what the scan found. */
  folderBrowser: FolderBrowserState | null;
}

export interface FolderBrowserState {
  /** The picked folder's name while scanning (the scan names it once done). */
  name: string;
  /** The scan job while it runs (Cancel stops it). */
  jobId: string | null;
  progress: { stage: string; done: number; total: number } | null;
  scan: FolderScan | null;
}

export const initialState: AppState = {
  image: null,
  z: 0,
  slice: null,
  display: { window: null, bands: null },
  result: null,
  resultSlice: null,
  overlay: { visible: true, opacity: 0.45, outline: false, colorBy: 'class', hiddenClasses: [], mode: 'labels', probabilityClassId: 1 },
  selectedId: null,
  selectedRecord: null,
  tool: 'pan',
  brushDiameter: 5,
  activeClassId: 1,
  extraSelectedIds: [],
  growTolerance: 50,
  growRadius: 0,
  manual: [],
  savedManual: null,
  unsavedPrompt: null,
  sort: { key: 'id', dir: 1 },
  busy: null,
  error: null,
  engine: { state: 'starting', restarts: 0 },
  models: [],
  modelId: null,
  modelPostprocess: true,
  job: null,
  cursor: null,
  probe: null,
  zoomPct: 100,
  focusRequest: 0,
  recoverable: [],
  notice: null,
  exportMenuRequest: 0,
  layout: 'single',
  crosshair: { x: 0, y: 0, z: 0 },
  planes: { coronal: { slice: null, resultSlice: null, probability: null }, sagittal: { slice: null, resultSlice: null, probability: null } },
  probability: null,
  recent: [],
  recentMenuRequest: 0,
  seriesChooserOpen: false,
  devicePlan: null,
  compatibility: null,
  deidentify: false,
  windows: null,
  patient: null,
  folderBrowser: null,
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

/** For tests and debugging in the page: the current state, read-only. */
declare global {
  interface Window {
    __delineateState?: () => AppState;
  }
}
window.__delineateState = getState;
