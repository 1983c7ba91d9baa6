// Everyday comforts as commands over window.delineate: the recent list, the series chooser's choice, and adding or
// removing the user's own models. Each ends in named operations (state/operations.ts).
import { apply, getState } from '../state/store';
import * as op from '../state/operations';
import { confirmLeave, show } from '../state/commands';

const api = () => window.delineate;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function busy<T>(label: string, run: () => Promise<T>): Promise<T | undefined> {
  apply(op.busyChanged(label));
  try {
    return await run();
  } catch (err) {
    apply(op.errorShown(message(err)));
    return undefined;
  } finally {
    apply(op.busyChanged(null));
  }
}

export async function refreshRecent(): Promise<void> {
  try {
    apply(op.recentListed(await api().listRecent()));
  } catch {
    // An unreadable list is shown as empty; main resets it.
  }
}

/** Opens a recent entry again (a file that is gone is named in the error and leaves the list). */
export async function openRecent(id: string): Promise<void> {
  if (!(await confirmLeave())) return;
  const entry = getState().recent.find((r) => r.id === id);
  const opened = await busy(`Opening ${entry?.name ?? ''}...`, () => api().openRecent(id));
  if (opened) await show(opened);
  else await refreshRecent();
}

export async function forgetRecent(id: string): Promise<void> {
  await busy('Updating Recent...', () => api().removeRecent(id));
  await refreshRecent();
}

/** Opens the chosen series of the folder shown (a new handle; the old one is closed by `show`). */
export async function chooseSeries(seriesInstanceUid: string): Promise<void> {
  const image = getState().image;
  apply(op.seriesChooserShown(false));
  if (!image || image.info.series?.every((s) => s.uid !== seriesInstanceUid)) return;
  if (seriesInstanceUid === image.info.seriesInstanceUid && !image.seriesInstanceUid) return;
  if (!(await confirmLeave())) return;
  const opened = await busy('Opening series...', () => api().openSeries(image.handle, seriesInstanceUid, {}));
  if (opened) await show(opened);
}

export function showSeriesChooser(): void {
  apply(op.seriesChooserShown(true));
}

/** Asks for an .onnx file, installs it as a user model and picks it. */
export async function addModel(): Promise<void> {
  if (getState().job) return;
  const model = await busy('Adding model...', () => api().addModel());
  if (!model) return;
  apply(op.modelAdded(model));
  apply(op.noticeShown(`Added model ${model.name} ${model.version}.`));
}

export async function removeModel(modelId: string): Promise<void> {
  const model = getState().models.find((m) => m.id === modelId);
  if (!model || model.source !== 'user' || getState().job) return;
  const done = await busy('Removing model...', async () => {
    await api().removeModel(modelId);
    return true;
  });
  if (!done) return;
  apply(op.modelRemoved(modelId));
  apply(op.noticeShown(`Removed model ${model.name}.`));
}

export async function refreshDevicePlan(): Promise<void> {
  try {
    apply(op.devicePlanned(await api().devicePlan()));
  } catch {
    apply(op.devicePlanned(null));
  }
}
