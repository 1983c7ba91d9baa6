// The Compare view's store (one immutable state, changed only through model.ts's operations) and its commands over
// window.delineate: choose the other date, run the comparison (a job: progress, Cancel), fetch each date's slice on
// the common grid, close (and close what was opened only for it). Also the offer made when an image of the same
// patient (DICOM PatientID, another study) or of the same place (overlapping map bounds) replaces the open one.
import { useSyncExternalStore } from 'react';
import type { CompareRequest, OpenedImage } from '../../preload/api';
import { apply as applyApp, getState as getAppState } from '../state/store';
import * as op from '../state/operations';
import { shownModel } from '../models/usable';
import * as m from './model';

const api = () => window.delineate;

/** Longest side of the slices asked for (each view is at most about this wide on screen). */
export const COMPARE_PREVIEW_MAX = 1024;

let state: m.CompareState = m.initialCompare;
const listeners = new Set<() => void>();

export function getCompare(): m.CompareState {
  return state;
}

export function applyCompare(op: (s: m.CompareState) => m.CompareState): void {
  const next = op(state);
  if (next === state) return;
  state = next;
  for (const l of listeners) l();
}

export function useCompare<T>(selector: (s: m.CompareState) => T): T {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => selector(state),
  );
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The image in the viewer with its kept result (when the result is of that image). */
function current(): m.CompareInputState | null {
  const s = getAppState();
  if (!s.image) return null;
  const resultId = s.result && s.result.handle === s.image.handle ? s.result.resultId : null;
  return { handle: s.image.handle, name: s.image.name, resultId, owned: false };
}

/** "Compare..." asks which image to compare the open one with. */
export function askCompare(): void {
  if (!getAppState().image || state.phase === 'running') return;
  applyCompare(m.choosing());
}

export function cancelChoice(): void {
  if (state.phase === 'choose') applyCompare(m.closed());
}

/** The other date could not be opened: back to the viewer, whose banner says why. */
function failBeforeRun(err: unknown): void {
  applyCompare(m.failed(message(err)));
  applyApp(op.errorShown(`Compare: ${message(err)}`));
}

/** Compares the open image with an image picked in the open dialog (segmented with the chosen model first). */
export async function compareWithImage(): Promise<void> {
  const first = current();
  if (!first) return;
  let opened: OpenedImage | null;
  try {
    opened = await api().openFileDialog();
  } catch (err) {
    failBeforeRun(err);
    return;
  }
  if (!opened) return;
  await run([first, { handle: opened.handle, name: opened.name, resultId: null, owned: true }]);
}

/** Compares the open image with a saved session (its image and its result, as edited). */
export async function compareWithSession(): Promise<void> {
  const first = current();
  if (!first) return;
  try {
    const opened = await api().openSession();
    if (!opened) return;
    await run([first, { handle: opened.image.handle, name: opened.image.name, resultId: opened.result.resultId, owned: true }]);
  } catch (err) {
    failBeforeRun(err);
  }
}

let unsubscribe: (() => void) | null = null;

/**
 * Runs the comparison of these images (any order: the engine orders them by date, or by `dates` given one per input
 * in input order) and shows it. A comparison shown before is closed; its images stay for this one.
 */
export async function run(inputs: m.CompareInputState[], dates?: string[]): Promise<void> {
  const jobId = `job_${crypto.randomUUID().replace(/-/g, '')}`;
  const before = state.result;
  if (before) void api().closeCompare(before.compareId).catch(() => undefined);
  applyCompare(m.started(inputs, jobId));
  unsubscribe?.();
  unsubscribe = api().on('job:progress', (p) => applyCompare(m.progressed(p)));
  const needsModel = inputs.some((i) => !i.resultId);
  const model = needsModel ? shownModel(getAppState())?.id : undefined;
  const request: CompareRequest = {
    handles: inputs.map((i) => i.handle),
    ...(inputs.some((i) => i.resultId) ? { resultIds: inputs.map((i) => i.resultId) } : {}),
    ...(model ? { model } : {}),
    ...(dates ? { dates } : {}),
  };
  try {
    const result = await api().compare(jobId, request);
    if (getCompare().jobId !== jobId) {
      // Closed while it ran: nothing shows it.
      void api().closeCompare(result.compareId).catch(() => undefined);
      return;
    }
    applyCompare(m.received(result));
    await loadSlices();
  } catch (err) {
    const text = message(err);
    if (getCompare().jobId === jobId) {
      const cancelled = /abort|cancel/i.test(text);
      applyCompare(m.failed(cancelled ? 'Comparison cancelled.' : text));
      // Back in the viewer: its banner says why (a cancel needs no banner).
      if (!cancelled) applyApp(op.errorShown(`Compare: ${text}`));
    }
    if (getCompare().phase === 'idle') releaseInputs(inputs);
  } finally {
    unsubscribe?.();
    unsubscribe = null;
  }
}

/** Adds a date to the comparison shown (an image segmented with the chosen model, or a session) and runs it again. */
export async function addDate(from: 'image' | 'session'): Promise<void> {
  const inputs = state.inputs;
  if (inputs.length < 2 || state.phase !== 'shown') return;
  try {
    let added: m.CompareInputState | null = null;
    if (from === 'image') {
      const opened = await api().openFileDialog();
      if (opened) added = { handle: opened.handle, name: opened.name, resultId: null, owned: true };
    } else {
      const opened = await api().openSession();
      if (opened) added = { handle: opened.image.handle, name: opened.image.name, resultId: opened.result.resultId, owned: true };
    }
    if (added) await run([...inputs, added]);
  } catch (err) {
    applyCompare(m.failed(message(err)));
  }
}

/** Runs the comparison shown again with the dates the user typed (one per image, in the order they were opened). */
export async function rerunWithDates(dates: string[]): Promise<void> {
  const inputs = state.inputs;
  if (inputs.length < 2 || dates.length !== inputs.length || dates.some((d) => !/^\d{4}-\d{2}-\d{2}$/.test(d))) {
    applyCompare(m.failed('Enter a date (YYYY-MM-DD) for every image.'));
    return;
  }
  await run(inputs, dates);
}

export async function cancelRun(): Promise<void> {
  const jobId = state.jobId;
  if (jobId) await api().cancelJob(jobId).catch(() => undefined);
}

/** Closes what was opened only for the comparison (the other date's image and its result). */
function releaseInputs(inputs: m.CompareInputState[]): void {
  for (const i of inputs) {
    if (!i.owned) continue;
    if (i.resultId) void api().closeResult(i.resultId).catch(() => undefined);
    void api().closeFile(i.handle).catch(() => undefined);
  }
}

/** Back to the viewer: the comparison and what was opened for it are closed. */
export async function closeCompare(): Promise<void> {
  const s = state;
  if (s.phase === 'running') await cancelRun();
  applyCompare(m.closed());
  if (s.result) await api().closeCompare(s.result.compareId).catch(() => undefined);
  releaseInputs(s.inputs);
}

let loading: Promise<void> | null = null;
let again = false;

/** Fetches the slices the view shows (left and right date at z), latest request wins. */
export function loadSlices(): Promise<void> {
  if (loading) {
    again = true;
    return loading;
  }
  loading = (async () => {
    do {
      again = false;
      const s = state;
      if (!s.result) return;
      const wanted = [...new Set([s.left, s.right])].filter((t) => !s.slices[t]);
      try {
        await Promise.all(
          wanted.map(async (t) => {
            const slice = await api().compareSlice({ compareId: s.result!.compareId, timepoint: t, z: s.z, maxSize: COMPARE_PREVIEW_MAX });
            applyCompare(m.sliceLoaded(slice));
          }),
        );
      } catch (err) {
        applyCompare(m.failed(message(err)));
      }
    } while (again);
  })().finally(() => {
    loading = null;
  });
  return loading;
}

/** Ticks or unticks a track as a RECIST target: the engine recomputes RECIST and RANO, or says why it cannot. */
export async function toggleTarget(track: number): Promise<void> {
  const r = state.result;
  if (!r || r.change.kind !== 'medical') return;
  try {
    applyCompare(m.targetsChanged(await api().compareTargets(r.compareId, m.toggledTargets(r.change.response.recistTargets, track))));
  } catch (err) {
    applyCompare(m.failed(message(err)));
  }
}

/** Back to the targets compare chose (the largest measurable lesions). */
export async function automaticTargets(): Promise<void> {
  const r = state.result;
  if (!r || r.change.kind !== 'medical') return;
  try {
    applyCompare(m.targetsChanged(await api().compareTargets(r.compareId, null)));
  } catch (err) {
    applyCompare(m.failed(message(err)));
  }
}

/**
 * Saves the DICOM SR measurement report (TID 1500) of the comparison shown, with the target lesions the table shows:
 * the ones ticked by the user, or compare's own. Honours the app-wide De-identify switch.
 */
export async function exportReport(): Promise<void> {
  const r = state.result;
  if (!r || r.change.kind !== 'medical') return;
  const chosen = r.change.lesions.some((l) => l.target !== undefined) ? r.change.response.recistTargets : null;
  try {
    const saved = await api().exportCompareReport(r.compareId, chosen, getAppState().deidentify);
    if (saved) applyApp(op.noticeShown(`Saved the measurement report ${saved.name}`));
  } catch (err) {
    applyCompare(m.failed(message(err)));
  }
}

export async function goToSlice(z: number): Promise<void> {
  applyCompare(m.sliceChanged(z));
  await loadSlices();
}

export async function pickRight(index: number): Promise<void> {
  applyCompare(m.rightPicked(index));
  await loadSlices();
}

export async function pickLeft(index: number): Promise<void> {
  applyCompare(m.leftPicked(index));
  await loadSlices();
}

// ---------------------------------------------------------------- the offer

/** The image a newly opened one may be compared with, kept open while the offer stands. */
export interface CompareOffer {
  previous: { handle: string; name: string; resultId: string | null };
  /** The image now open. */
  handle: string;
}

let offer: CompareOffer | null = null;
const offerListeners = new Set<() => void>();

function setOffer(next: CompareOffer | null): void {
  offer = next;
  for (const l of offerListeners) l();
}

export function useOffer(): CompareOffer | null {
  return useSyncExternalStore(
    (l) => {
      offerListeners.add(l);
      return () => offerListeners.delete(l);
    },
    () => offer,
  );
}

/**
 * Called when `next` replaces `previous` in the viewer, instead of closing the previous handle (and its result) at
 * once: when they are two dates of one patient or one place, they stay open and the banner offers to compare;
 * otherwise they are closed as before. A replaced offer closes what it kept.
 */
export function offerOrClose(previous: OpenedImage, previousResultId: string | null, nextHandle: string): void {
  dismissOffer();
  const close = (): void => {
    if (previousResultId) void api().closeResult(previousResultId).catch(() => undefined);
    api().closeFile(previous.handle).catch(() => undefined);
  };
  void (async () => {
    // The caller shows the new image right after this call: read it once that is done.
    await Promise.resolve();
    const next = getAppState().image;
    if (!next || next.handle !== nextHandle) {
      close();
      return;
    }
    // The same map opened again is no second date (DICOM studies are told apart by the patient check below).
    const sameFile = previous.name === next.name && previous.info.width === next.info.width && previous.info.height === next.info.height && previous.info.depth === next.info.depth;
    let fits = !sameFile && m.mapsOverlap(previous.info, next.info);
    if (!fits && previous.info.kind === 'medical' && next.info.kind === 'medical') {
      const [a, b] = await Promise.all([api().patientHeader(previous.handle).catch(() => null), api().patientHeader(next.handle).catch(() => null)]);
      fits = a !== null && b !== null && m.samePatientOtherStudy(a, b, previous.info, next.info);
    }
    // The viewer may have moved on meanwhile.
    if (!fits || getAppState().image?.handle !== next.handle) {
      close();
      return;
    }
    setOffer({ previous: { handle: previous.handle, name: previous.name, resultId: previousResultId }, handle: next.handle });
  })();
}

/** Drops the offer and closes what it kept. */
export function dismissOffer(): void {
  const o = offer;
  if (!o) return;
  setOffer(null);
  if (o.previous.resultId) void api().closeResult(o.previous.resultId).catch(() => undefined);
  api().closeFile(o.previous.handle).catch(() => undefined);
}

/** Accepts the offer: the previous image (owned by the comparison now) against the one open. */
export async function acceptOffer(): Promise<void> {
  const o = offer;
  const now = current();
  if (!o || !now || now.handle !== o.handle) return;
  setOffer(null);
  await run([{ ...o.previous, owned: true }, now]);
}

/** Whether the open image may be compared (an image is open and no comparison runs). */
export function canCompare(): boolean {
  return getAppState().image !== null && state.phase !== 'running';
}

/** Esc in the Compare view: back to the viewer. */
export function handleCompareKey(e: KeyboardEvent): boolean {
  if (state.phase === 'idle') return false;
  if (e.key === 'Escape') {
    if (state.phase === 'choose') cancelChoice();
    else void closeCompare();
    return true;
  }
  if (state.phase !== 'shown') return false;
  if (e.key === 'ArrowUp' || e.key === 'PageUp') {
    void goToSlice(state.z + 1);
    return true;
  }
  if (e.key === 'ArrowDown' || e.key === 'PageDown') {
    void goToSlice(state.z - 1);
    return true;
  }
  return false;
}

/** For tests in the page: the Compare view's state, read-only. */
declare global {
  interface Window {
    __delineateCompare?: () => m.CompareState;
  }
}
window.__delineateCompare = getCompare;
