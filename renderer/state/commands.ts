// What the user can ask for, as async commands over window.delineate; each ends in named operations.
import type { EditOperation, EditResult, OpenedImage } from '../../preload/api';
import { apply, getState } from './store';
import * as op from './operations';

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

async function show(opened: OpenedImage): Promise<void> {
  const previous = getState().image;
  apply(op.imageOpened(opened));
  apply(op.errorDismissed());
  if (previous && previous.handle !== opened.handle) api().closeFile(previous.handle).catch(() => undefined);
  await loadSlice();
}

export async function openWithDialog(): Promise<void> {
  const opened = await withBusy('Opening...', () => api().openFileDialog());
  if (opened) await show(opened);
}

export async function openDropped(file: File): Promise<void> {
  const opened = await withBusy(`Opening ${file.name}...`, () => api().openDropped(file));
  if (opened) await show(opened);
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
}

export async function setBands(bands: number[] | null): Promise<void> {
  apply(op.bandsChanged(bands));
  // A new band mix needs its own stretch: the old window was for other values.
  apply(op.windowChanged(null));
  await loadSlice();
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
  const { image, modelId, job } = getState();
  if (!image || !modelId || job) return;
  const jobId = `job_${crypto.randomUUID().replace(/-/g, '')}`;
  apply(op.jobStarted(jobId, performance.now()));
  try {
    const result = await api().segment(jobId, { handle: image.handle, modelId });
    apply(op.resultReceived(image.handle, result));
    await loadResultSlice();
  } catch (err) {
    if (!/abort|cancel/i.test(err instanceof Error ? `${err.name} ${err.message}` : '')) report(err);
  } finally {
    apply(op.jobEnded(jobId));
  }
}

export async function cancelJob(): Promise<void> {
  const job = getState().job;
  if (job) await api().cancelJob(job.jobId).catch(report);
}

/** Takes in what the host answered for an edit/undo/redo and refreshes the slice shown when it changed. */
async function edited(edit: EditResult): Promise<void> {
  apply(op.resultEdited(edit));
  await loadResultSlice();
}

/** Edits go one after another, in order: a stroke must land before the next one (or an undo) is applied. */
let editQueue: Promise<void> = Promise.resolve();
function queueEdit(run: (resultId: string) => Promise<EditResult>): Promise<void> {
  const next = editQueue.then(async () => {
    const result = getState().result;
    if (!result) return;
    try {
      await edited(await run(result.resultId));
    } catch (err) {
      report(err);
    }
  });
  editQueue = next;
  return next;
}

/** Applies a named edit operation to the current result in the engine host (measurements come back with it). */
export function edit(operation: EditOperation): Promise<void> {
  return queueEdit((id) => api().editResult(id, operation));
}

export function undo(): Promise<void> {
  if (!getState().result?.undoStack.length) return Promise.resolve();
  return queueEdit((id) => api().undoEdit(id));
}

export function redo(): Promise<void> {
  if (!getState().result?.redoStack.length) return Promise.resolve();
  return queueEdit((id) => api().redoEdit(id));
}

export function deleteSelected(): Promise<void> {
  const id = getState().selectedId;
  return id === null ? Promise.resolve() : edit({ op: 'deleteInstance', instanceId: id });
}

let probeTarget: { x: number; y: number } | null = null;
const runProbe = coalesced(async () => {
  const { image, z } = getState();
  const at = probeTarget;
  if (!image || !at) return;
  try {
    const probe = await api().probe({ handle: image.handle, x: at.x, y: at.y, z });
    // Only if the cursor is still there (it may have left the image meanwhile).
    const cursor = getState().cursor;
    if (cursor && cursor.x === probe.x && cursor.y === probe.y) apply(op.probed(probe));
  } catch {
    // A read-out that fails (engine busy restarting) is not worth a banner; the next move asks again.
  }
});

/** Cursor moved over image pixel (x, y) (null: left the image): the status bar's read-out follows. */
export function pointAt(cursor: { x: number; y: number } | null): void {
  apply(op.cursorMoved(cursor));
  probeTarget = cursor;
  if (cursor) void runProbe();
}

export async function restartEngine(): Promise<void> {
  try {
    const hadResult = getState().result !== null;
    apply(op.engineChanged(await api().restartEngine()));
    if (hadResult) {
      // Results live in the engine host; a new host starts without them.
      apply(op.resultDropped());
      apply(op.errorShown('The engine restarted, so the segmentation result is gone: run the model again.'));
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
    }),
  ];
  api()
    .engineStatus()
    .then((status) => apply(op.engineChanged(status)))
    .catch(report);
  return () => offs.forEach((off) => off());
}
