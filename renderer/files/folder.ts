// Open folder...: the folder is picked, scanned with its subfolders for every DICOM study and series (progress,
// Cancel), and the study browser lists them; the series picked opens. A folder holding exactly one series opens
// at once, and one holding no DICOM (a folder of numbered slices) opens as before.
import type { FolderScan } from '../../preload/api';
import { apply, getState } from '../state/store';
import * as op from '../state/operations';
import { show } from '../state/commands';

const api = () => window.delineate;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const isCancel = (err: unknown): boolean => /abort|cancel/i.test(err instanceof Error ? `${err.name} ${err.message}` : String(err));

/** Every series of a scan, in the order the browser lists them. */
export function scannedSeries(scan: FolderScan) {
  return scan.studies.flatMap((st) => st.series);
}

export async function browseFolder(): Promise<void> {
  if (getState().folderBrowser) return;
  let picked;
  try {
    picked = await api().pickFolder();
  } catch (err) {
    apply(op.errorShown(message(err)));
    return;
  }
  if (!picked) return;
  const jobId = `scan_${crypto.randomUUID().replace(/-/g, '')}`;
  apply(op.folderBrowserChanged({ name: picked.name, jobId, progress: null, scan: null }));
  const off = api().on('job:progress', (p) => {
    const b = getState().folderBrowser;
    if (p.jobId === jobId && b?.jobId === jobId) apply(op.folderBrowserChanged({ ...b, progress: { stage: p.stage, done: p.done, total: p.total } }));
  });
  let scan: FolderScan;
  try {
    scan = await api().scanFolder(jobId, picked.handle);
  } catch (err) {
    apply(op.folderBrowserChanged(null));
    api().closeFile(picked.handle).catch(() => undefined);
    if (!isCancel(err)) apply(op.errorShown(`${picked.name}: ${message(err).replace(`${picked.name}: `, '')}`));
    return;
  } finally {
    off();
  }
  const all = scannedSeries(scan);
  if (all.length === 0) {
    // No DICOM anywhere below: the folder may be a stack of numbered slices, which opens as one image.
    apply(op.folderBrowserChanged(null));
    await openPlainFolder(picked.handle, picked.name);
    return;
  }
  // One series opens at once, unless it cannot or only with slices missing: the browser says why and offers that.
  if (all.length === 1 && all[0] && !all[0].problem && !all[0].gaps) {
    apply(op.folderBrowserChanged(null));
    await openScanned(scan, all[0].uid);
    return;
  }
  apply(op.folderBrowserChanged({ name: scan.name, jobId: null, progress: null, scan }));
}

/** A folder without DICOM opens as the image it is (a slice stack), under the handle it was picked with. */
async function openPlainFolder(handle: string, name: string): Promise<void> {
  apply(op.busyChanged(`Opening ${name}...`));
  try {
    const info = await api().imageInfo(handle);
    if (!(await show({ handle, name, info }))) api().closeFile(handle).catch(() => undefined);
  } catch (err) {
    api().closeFile(handle).catch(() => undefined);
    const text = message(err);
    apply(op.errorShown(text.includes(name) ? text : `${name}: ${text}`));
  } finally {
    apply(op.busyChanged(null));
  }
}

/**
 * Opens one series the scan found (from its own folder); the browser closes once it is shown. `allowGaps`: a series
 * with missing slices opens anyway, stacked at its usual spacing (its runs then warn).
 */
export async function openScanned(scan: FolderScan, seriesUid: string, allowGaps = false): Promise<boolean> {
  apply(op.busyChanged('Opening series...'));
  try {
    const opened = await api().openSeries(scan.handle, seriesUid, allowGaps ? { allowGaps: true } : {});
    // The scan's series are what the chooser would offer: one series is open, so no chooser on top.
    const ok = await show({ ...opened, seriesInstanceUid: opened.seriesInstanceUid ?? seriesUid });
    if (ok) closeBrowser();
    return ok;
  } catch (err) {
    apply(op.errorShown(message(err)));
    return false;
  } finally {
    apply(op.busyChanged(null));
  }
}

export function cancelScan(): void {
  const b = getState().folderBrowser;
  if (b?.jobId) void api().cancelJob(b.jobId).catch(() => undefined);
}

/** Closes the browser and lets go of the picked folder's handle. */
export function closeBrowser(): void {
  const b = getState().folderBrowser;
  apply(op.folderBrowserChanged(null));
  if (b?.scan) api().closeFile(b.scan.handle).catch(() => undefined);
}
