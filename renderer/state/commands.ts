// What the user can ask for, as async commands over window.delineate; each ends in named operations.
import type { OpenedImage } from '../../preload/api';
import { apply, getState } from './store';
import * as op from './operations';

/** Longest side of the previews we ask the engine for. */
const PREVIEW_MAX = 2048;

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

/** Fetches the current slice of the open image (again after an engine restart). */
export async function loadSlice(): Promise<void> {
  const { image, z } = getState();
  if (!image) return;
  const slice = await withBusy('Rendering...', () => api().imageSlice({ handle: image.handle, z, maxSize: PREVIEW_MAX }));
  if (slice) apply(op.sliceLoaded(image.handle, z, slice));
}

export async function goToSlice(z: number): Promise<void> {
  const before = getState().z;
  apply(op.sliceChanged(z));
  if (getState().z !== before) await loadSlice();
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
  apply(op.jobStarted(jobId));
  try {
    const result = await api().segment(jobId, { handle: image.handle, modelId });
    apply(op.jobFinished(jobId, image.handle, result.overlay ?? null));
  } catch (err) {
    apply(op.jobFinished(jobId, image.handle, getState().overlay));
    if (!/abort|cancel/i.test(err instanceof Error ? `${err.name} ${err.message}` : '')) report(err);
  }
}

export async function cancelJob(): Promise<void> {
  const job = getState().job;
  if (job) await api().cancelJob(job.jobId).catch(report);
}

export async function restartEngine(): Promise<void> {
  try {
    apply(op.engineChanged(await api().restartEngine()));
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
