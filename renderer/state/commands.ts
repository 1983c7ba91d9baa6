// What the user can ask for, as async commands over window.delineate; each ends in named operations.
import type { EditOperation, EditResult, OpenedImage, OpenedSession, ResultExportFormat, SliceBitmap } from '../../preload/api';
import { apply, getState } from './store';
import * as op from './operations';
import { loadProbability, refreshPlaneImages, refreshPlaneResults, refreshPlanes } from '../viewer/planes';
import { addModel, refreshRecent } from '../files/commands';
import { browseFolder } from '../files/folder';
import { userPixelSize } from '../viewer/units';
import { shownModel } from '../models/usable';
import { offerOrClose } from '../compare/commands';

/** Longest side of the previews we ask the engine for (image slices and result maps alike, so they line up). */
export const PREVIEW_MAX = 2048;

const api = () => window.delineate;

/** Errors from a crashed engine are shown by the crash banner; everything else by the error banner. */
function report(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  if (/engine host (stopped|restarted)/.test(message)) return;
  apply(op.errorShown(message));
}

async function withBusy<T>(label: string, run: () => Promise<T>): Promise<T | undefined> {
  apply(op.busyChanged(label));
  try {
    return await run();
  } catch (err) {
    report(err);
    return undefined;
  } finally {
    apply(op.busyChanged(null));
  }
}

/**
 * Runs `task` serially, latest wins: a call while one runs asks for exactly one more run afterwards (which reads
 * the state then). Right-drag window/level and slice scrolling fire many requests; only the last one matters.
 */
function coalesced(task: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  const loop = async (): Promise<void> => {
    do {
      again = false;
      await task();
    } while (again);
  };
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = loop().finally(() => {
      running = null;
    });
    return running;
  };
}

/** An error message that names the file (the engine's usually does; a decoder's may not). */
function namingFile(name: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.includes(name) ? message : `${name}: ${message}`;
}

/**
 * Reads the first slice of a newly opened image before anything is replaced: a file whose header reads but whose
 * pixels do not (truncated, corrupt) must not take the place of the image that is open. On failure its handle is
 * closed and the error names the file; null is returned.
 */
async function firstSlice(opened: OpenedImage): Promise<SliceBitmap | null> {
  const z = Math.floor(opened.info.depth / 2);
  try {
    return await withBusyRaw('Rendering...', () => api().imageSlice({ handle: opened.handle, z, maxSize: PREVIEW_MAX }));
  } catch (err) {
    api().closeFile(opened.handle).catch(() => undefined);
    report(new Error(namingFile(opened.name, err)));
    return null;
  }
}

async function withBusyRaw<T>(label: string, run: () => Promise<T>): Promise<T> {
  apply(op.busyChanged(label));
  try {
    return await run();
  } finally {
    apply(op.busyChanged(null));
  }
}

/**
 * What replacing the open image ends: a run of that image (its result would belong to no image shown) and its result
 * in the engine host. Its work was saved or the user chose Discard (confirmLeave), so its autosave goes too: it is
 * not offered for recovery later.
 */
function leaveImage(previous: OpenedImage | null, next: string, closedResultId: string | null): void {
  const { job, result } = getState();
  if (job) void api().cancelJob(job.jobId).catch(() => undefined);
  const previousResultId = result && previous && result.handle === previous.handle && result.resultId !== closedResultId ? result.resultId : null;
  if (previous && previous.handle !== next) {
    // Another date of the same patient or place stays open (with its result) while the Compare offer stands; the
    // offer reads the next image once the caller has shown it, so this stays synchronous with the caller's apply.
    if (previous.info.kind === 'image') api().closeFile(previous.handle).catch(() => undefined);
    else offerOrClose(previous, previousResultId, next);
  } else if (previousResultId) void api().closeResult(previousResultId).catch(() => undefined);
}

/**
 * Before the next image shows: work still unsaved on the open result was discarded by the user (confirmLeave let it
 * go), so it goes now, autosave and all, and is never kept for a comparison; a plain picture's result goes too
 * (nothing to compare). Awaited, so a crash right after never offers discarded work again. The closed result's id.
 */
async function dropDiscarded(previous: OpenedImage | null): Promise<string | null> {
  const { result } = getState();
  const id = result && previous && result.handle === previous.handle ? result.resultId : null;
  if (!id || (op.unsavedWork(getState()).length === 0 && previous!.info.kind !== 'image')) return null;
  await api().closeResult(id).catch(() => undefined);
  return id;
}

/** An autosave that could not be written is said, not swallowed: the work is open but a crash would lose it. */
function autosaveFailed(why: string | undefined): void {
  if (why) apply(op.errorShown(`Autosave failed (${why}): a crash now would lose this work. Save the session to keep it.`));
}

/**
 * Shows an opened image (closing the previous one) once its first slice has been read; a folder of several series
 * offers the series chooser. False when the image could not be shown (the previous one stays, with its work).
 */
export async function show(opened: OpenedImage): Promise<boolean> {
  const first = await firstSlice(opened);
  if (!first) return false;
  const previous = getState().image;
  const closed = await dropDiscarded(previous);
  leaveImage(previous, opened.handle, closed);
  apply(op.imageOpened(opened));
  apply(op.sliceLoaded(opened.handle, getState().z, first));
  // Banners about the image that was open are stale now.
  apply(op.errorDismissed());
  apply(op.noticeShown(null));
  // The default (largest) series opens at once; the chooser offers the others unless one was already chosen.
  apply(op.seriesChooserShown(!opened.seriesInstanceUid));
  // Work autosaved on this very image (a crash, a quit without saving): the recover banner offers it first.
  if (opened.autosaves?.length) {
    const mine = new Set(opened.autosaves.map((a) => a.sessionId));
    apply(op.recoverableListed([...opened.autosaves, ...getState().recoverable.filter((r) => !mine.has(r.sessionId))]));
  }
  void refreshRecent();
  await refreshPlanes();
  return true;
}

export async function openWithDialog(): Promise<void> {
  if (!(await confirmLeave())) return;
  const opened = await withBusy('Opening...', () => api().openFileDialog());
  if (opened) await show(opened);
}

export async function openFolderWithDialog(): Promise<void> {
  if (!(await confirmLeave())) return;
  // The folder is scanned (subfolders too) and its studies and series listed: the browser opens the one picked.
  await browseFolder();
}

export async function openDropped(file: File): Promise<void> {
  if (!(await confirmLeave())) return;
  const opened = await withBusy(`Opening ${file.name}...`, () => api().openDropped(file));
  if (opened) await show(opened);
}

// ---------------------------------------------------------------- unsaved work: Save / Discard / Cancel

export type UnsavedChoice = 'save' | 'discard' | 'cancel';
let promptAnswer: ((choice: UnsavedChoice) => void) | null = null;

/** The unsaved-work dialog's buttons (and Esc) answer here. */
export function answerUnsavedPrompt(choice: UnsavedChoice): void {
  const resolve = promptAnswer;
  promptAnswer = null;
  apply(op.unsavedPromptShown(null));
  resolve?.(choice);
}

/**
 * Asked before anything replaces the open image (another file, folder, recent item, series or session): when it
 * holds work no saved session has, the user picks Save (the session is saved as Save session does, then it goes
 * on), Discard or Cancel. True when it may go on; Cancel, or a cancelled save dialog, keeps everything as it was,
 * undo history included.
 */
export async function confirmLeave(action?: 'close'): Promise<boolean> {
  // Strokes still on their way must land before deciding what is unsaved.
  await editQueue;
  const s = getState();
  const unsaved = op.unsavedWork(s);
  if (unsaved.length === 0 || !s.image) return true;
  // One question at a time: a second open while it is asked is ignored.
  if (promptAnswer) return false;
  const canSave = s.result !== null && s.result.handle === s.image.handle;
  const choice = await new Promise<UnsavedChoice>((resolve) => {
    promptAnswer = resolve;
    apply(op.unsavedPromptShown({ imageName: s.image!.name, unsaved, canSave, ...(action ? { action } : {}) }));
  });
  if (choice === 'cancel') return false;
  if (choice === 'discard') return true;
  return saveSession();
}

let closeSettled = false;

/**
 * The window's beforeunload: a close (the window's button, Quit, the OS logging out) with unsaved work is held, and
 * the same question is asked; Save or Discard then closes the window through the API, Cancel keeps it open with
 * everything in it. With nothing unsaved the close goes ahead at once. (Electron cancels a close whose beforeunload
 * is prevented and shows nothing itself, so the question is ours.) A crash or a kill still leaves the autosave.
 */
export function holdCloseIfUnsaved(e: BeforeUnloadEvent): void {
  if (closeSettled) return;
  const s = getState();
  if (!s.image || op.unsavedWork(s).length === 0) return;
  e.preventDefault();
  e.returnValue = '';
  void (async () => {
    if (!(await confirmLeave('close'))) return;
    // Discarded work goes with its autosave, as when another file replaces it: the next start does not offer it.
    await dropDiscarded(getState().image);
    closeSettled = true;
    await api().closeWindow();
  })().catch((err: unknown) => {
    closeSettled = false;
    report(err);
  });
}

/** Fetches the current slice of the open image with the current window and bands (again after an engine restart). */
export const loadSlice = coalesced(async () => {
  const { image, z, display } = getState();
  if (!image) return;
  const request = {
    handle: image.handle,
    z,
    maxSize: PREVIEW_MAX,
    ...(display.window ? { window: display.window } : {}),
    ...(display.bands ? { bands: display.bands } : {}),
  };
  const slice = await withBusy('Rendering...', () => api().imageSlice(request));
  if (slice) apply(op.sliceLoaded(image.handle, z, slice));
});

/** Fetches the instance map of the current slice of the current result. */
export const loadResultSlice = coalesced(async () => {
  const { result, z } = getState();
  if (!result) return;
  try {
    apply(op.resultSliceLoaded(await api().resultSlice({ resultId: result.resultId, z, maxSize: PREVIEW_MAX })));
    await loadProbability('axial');
  } catch (err) {
    report(err);
  }
});

export async function goToSlice(z: number): Promise<void> {
  const before = getState().z;
  apply(op.sliceChanged(z));
  if (getState().z !== before) await Promise.all([loadSlice(), loadResultSlice()]);
}

export async function setWindow(window: { center: number; width: number } | null): Promise<void> {
  apply(op.windowChanged(window));
  await loadSlice();
  await refreshPlaneImages();
}

export async function setBands(bands: number[] | null): Promise<void> {
  apply(op.bandsChanged(bands));
  // A new band mix needs its own stretch: the old window was for other values.
  apply(op.windowChanged(null));
  await loadSlice();
  await refreshPlaneImages();
}

export async function refreshModels(): Promise<void> {
  try {
    apply(op.modelsLoaded(await api().listModels()));
  } catch {
    // No models yet (or none installed) is not an error worth a banner: the picker shows "no models".
    apply(op.modelsLoaded([]));
  }
}

export async function runSegmentation(): Promise<void> {
  const { image, job, modelPostprocess } = getState();
  // The model the picker shows (it falls back to the first usable one when the picked one does not fit this image):
  // Run and Ctrl+Enter both run exactly that one.
  const modelId = shownModel(getState())?.id;
  if (!image || !modelId || job) return;
  if (modelId !== getState().modelId) apply(op.modelPicked(modelId));
  const jobId = `job_${crypto.randomUUID().replace(/-/g, '')}`;
  const startedMs = performance.now();
  apply(op.jobStarted(jobId, startedMs));
  try {
    const result = await api().segment(jobId, { handle: image.handle, modelId, ...(modelPostprocess ? {} : { modelPostprocess: false }) });
    apply(op.resultReceived(image.handle, result));
    if (getState().result?.resultId === result.resultId) autosaveFailed(result.autosaveError);
    await Promise.all([loadResultSlice(), refreshPlaneResults()]);
    // The time shown is what the person waited: the whole run, post-processing and the first overlay included.
    if (result.resultId) apply(op.resultTimed(result.resultId, (performance.now() - startedMs) / 1000));
  } catch (err) {
    if (!/abort|cancel/i.test(err instanceof Error ? `${err.name} ${err.message}` : '')) report(err);
  } finally {
    apply(op.jobEnded(jobId));
  }
}

/** Selects the object under a full-resolution pixel of a windowed result (its record comes from the engine host). */
export async function selectAt(resultId: string, x: number, y: number, z: number): Promise<void> {
  try {
    const record = await api().resultInstanceAt(resultId, x, y, z);
    if (getState().result?.resultId === resultId) apply(op.instanceRecordSelected(record));
  } catch (err) {
    report(err);
  }
}

export async function cancelJob(): Promise<void> {
  const job = getState().job;
  if (job) await api().cancelJob(job.jobId).catch(report);
}

/** Takes in what the host answered for an edit/undo/redo and refreshes the slice shown when it changed. */
async function edited(edit: EditResult, kind: 'edit' | 'undo' | 'redo'): Promise<void> {
  apply(op.resultEdited(edit, kind));
  autosaveFailed(edit.autosaveError);
  await Promise.all([loadResultSlice(), refreshPlaneResults()]);
}

/** Edits go one after another, in order: a stroke must land before the next one (or an undo) is applied. */
let editQueue: Promise<void> = Promise.resolve();
function queueEdit(run: (resultId: string) => Promise<EditResult>, kind: 'edit' | 'undo' | 'redo'): Promise<void> {
  const next = editQueue.then(async () => {
    const result = getState().result;
    if (!result) return;
    try {
      await edited(await run(result.resultId), kind);
    } catch (err) {
      report(err);
    }
  });
  editQueue = next;
  return next;
}

/** Applies a named edit operation to the current result in the engine host (measurements come back with it). */
export function edit(operation: EditOperation): Promise<void> {
  return queueEdit((id) => api().editResult(id, operation), 'edit');
}

export function undo(): Promise<void> {
  if (!getState().result?.undoStack.length) return Promise.resolve();
  return queueEdit((id) => api().undoEdit(id), 'undo');
}

export function redo(): Promise<void> {
  if (!getState().result?.redoStack.length) return Promise.resolve();
  return queueEdit((id) => api().redoEdit(id), 'redo');
}

export function deleteSelected(): Promise<void> {
  const id = getState().selectedId;
  return id === null ? Promise.resolve() : edit({ op: 'deleteInstance', instanceId: id });
}

let probeTarget: { x: number; y: number; z?: number } | null = null;
const runProbe = coalesced(async () => {
  const { image, z } = getState();
  const at = probeTarget;
  if (!image || !at) return;
  try {
    const probe = await api().probe({ handle: image.handle, x: at.x, y: at.y, z: at.z ?? z });
    // Only if the cursor is still there (it may have left the image meanwhile).
    const cursor = getState().cursor;
    if (cursor && cursor.x === probe.x && cursor.y === probe.y && (cursor.z ?? getState().z) === probe.z) apply(op.probed(probe));
  } catch {
    // A read-out that fails (engine busy restarting) is not worth a banner; the next move asks again.
  }
});

/** Cursor moved over image pixel (x, y) (null: left the image): the status bar's read-out follows. */
export function pointAt(cursor: { x: number; y: number; z?: number } | null): void {
  apply(op.cursorMoved(cursor));
  probeTarget = cursor;
  if (cursor) void runProbe();
}

export async function restartEngine(): Promise<void> {
  try {
    const hadResult = getState().result !== null;
    apply(op.engineChanged(await api().restartEngine()));
    if (hadResult) {
      // Results live in the engine host; a new host starts without them, but their autosaves are on disk.
      apply(op.resultDropped());
      await checkRecoverable();
      if (getState().recoverable.length === 0) apply(op.errorShown('The engine restarted, so the segmentation result is gone: run the model again.'));
    }
    await refreshModels();
    // The handle survives in main; only the preview needs fetching again.
    await loadSlice();
  } catch (err) {
    apply(op.errorShown(err instanceof Error ? err.message : String(err)));
  }
}

/** Subscribes to main's events; returns the unsubscribe function. */
export function connectEvents(): () => void {
  const offs = [
    api().on('engine:state', (status) => apply(op.engineChanged(status))),
    api().on('job:progress', (progress) => apply(op.jobProgressed(progress))),
    api().on('app:command', (cmd) => {
      if (cmd.command === 'open-file') void openWithDialog();
      else if (cmd.command === 'open-session') void openSession();
      else if (cmd.command === 'save-session') void saveSession();
      else if (cmd.command === 'export' && getState().result) apply(op.exportMenuRequested());
      else if (cmd.command === 'open-folder') void openFolderWithDialog();
      else if (cmd.command === 'open-recent') apply(op.recentMenuRequested());
      else if (cmd.command === 'add-model') void addModel();
    }),
  ];
  api()
    .engineStatus()
    .then((status) => apply(op.engineChanged(status)))
    .catch(report);
  return () => offs.forEach((off) => off());
}

// ---------------------------------------------------------------- sessions and exports

/** Asks the engine host which autosaves nobody has open (after start-up and after an engine restart). */
export async function checkRecoverable(): Promise<void> {
  try {
    apply(op.recoverableListed(await api().listRecoverable()));
  } catch {
    // No list (engine not ready yet) is no reason for a banner; the next ready state asks again.
  }
}

/**
 * Shows a session the engine host rebuilt: its image, the result with its edits, the slice it was on. `saved`: it
 * came from a session file (saved work), not from an autosave. False when its image could not be shown.
 */
async function showSession(opened: OpenedSession, saved: boolean): Promise<boolean> {
  if (!(await firstSlice(opened.image))) return false;
  const previous = getState().image;
  const closed = await dropDiscarded(previous);
  leaveImage(previous, opened.image.handle, closed);
  apply(op.sessionRestored(opened, saved));
  apply(op.errorDismissed());
  apply(op.noticeShown(null));
  if (opened.warnings.length > 0) apply(op.errorShown(`The image changed since the session was saved: ${opened.warnings.join('; ')}`));
  await Promise.all([loadSlice(), loadResultSlice()]);
  await refreshPlanes();
  return true;
}

/** Rebuilds an autosaved session (the model's result with every completed edit replayed). */
export async function recover(sessionId: string): Promise<void> {
  if (!(await confirmLeave())) return;
  const opened = await withBusy('Recovering...', () => api().recoverSession(sessionId));
  if (!opened) return;
  apply(op.recoverableRemoved(sessionId));
  if (!(await showSession(opened, false))) return;
  const n = opened.result.undoStack.length;
  apply(op.noticeShown(`Recovered ${opened.image.name} with ${n} edit${n === 1 ? '' : 's'}.`));
}

export async function discardRecoverable(sessionId: string): Promise<void> {
  await withBusy('Discarding...', () => api().discardRecoverable(sessionId));
  apply(op.recoverableRemoved(sessionId));
}

export async function openSession(): Promise<void> {
  if (!(await confirmLeave())) return;
  const opened = await withBusy('Opening session...', () => api().openSession());
  if (opened) await showSession(opened, true);
}

/** Saves the result shown, its edits and the view as a session (save dialog); true once it is written. */
export async function saveSession(): Promise<boolean> {
  // Strokes still on their way belong in the file.
  await editQueue;
  const state = getState();
  const { result, z, display, manual } = state;
  if (!result) return false;
  // Always sent (possibly empty), so a session saved again without them does not keep deleted ones.
  const measurements = manual.filter((m) => m.handle === result.handle).map((m) => ({ z: m.z, kind: m.kind, points: m.points.map((p) => [p[0], p[1]] as [number, number]) }));
  const pixelSize = state.image?.handle === result.handle ? userPixelSize(state.image.info) : null;
  const view = { z, ...(display.window ? { window: display.window } : {}), measurements, ...(pixelSize ? { pixelSize } : {}) };
  const key = op.manualKey(state, result.handle);
  const saved = await withBusy('Saving session...', () => api().saveSession({ handle: result.handle, resultId: result.resultId, view }));
  if (!saved) return false;
  apply(op.sessionSaved(result.resultId, result.undoStack.length, key));
  apply(op.noticeShown(`Session saved as ${saved.name}.`));
  return true;
}

export async function exportAs(format: ResultExportFormat, options: { deidentify?: boolean } = {}): Promise<void> {
  const { result, z, manual } = getState();
  if (!result) return;
  // The rulers and bidirectional axes drawn on this image go with the measurements (CSV, JSON) and the snapshot (PNG).
  const measurements = manual.filter((m) => m.handle === result.handle).map((m) => ({ id: m.id, z: m.z, kind: m.kind, points: m.points.map((p) => [p[0], p[1]] as [number, number]) }));
  const withManual = (format === 'csv' || format === 'json' || format === 'png') && measurements.length > 0;
  // A pixel size given to a picture without geometry: the exported tables read in its unit, as the panel does.
  const image = getState().image;
  const pixelSize = image?.handle === result.handle ? userPixelSize(image.info) : null;
  const request = { handle: result.handle, resultId: result.resultId, format, z, ...(options.deidentify ? { deidentify: true } : {}), ...(withManual ? { measurements } : {}), ...(pixelSize ? { pixelSize } : {}) };
  const saved = await withBusy('Exporting...', () => api().exportResult(request));
  if (saved) apply(op.noticeShown(`Exported ${saved.files.join(', ')}.`));
}
