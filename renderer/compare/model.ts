// The Compare view's state and its named operations (pure functions of the state), plus the pure helpers the view
// formats its tables and read-outs with. Every date is on one common grid, so a cursor is one grid pixel for all.
import type { CompareGrid, CompareResult, CompareSlice, ImageInfo, JobProgress, LandCoverClassChange, LandCoverTransition, MedicalChangeDocument, PatientHeader } from '../../preload/api';

/** Two dates side by side, one view with a swipe line between them, or one view alternating them. */
export type CompareMode = 'side' | 'swipe' | 'flicker';

/** One image taking part: its handle, its kept result (if any), and whether the Compare view opened it (and closes it). */
export interface CompareInputState {
  handle: string;
  name: string;
  resultId: string | null;
  /** Opened for the comparison: its handle (and result) are closed when the view closes. */
  owned: boolean;
}

export interface CompareState {
  /** 'choose': asking which image to compare with; 'running': the job; 'shown': the view. */
  phase: 'idle' | 'choose' | 'running' | 'shown';
  inputs: CompareInputState[];
  jobId: string | null;
  progress: JobProgress | null;
  result: CompareResult | null;
  /** Date indices shown left and right (time-point order). */
  left: number;
  right: number;
  z: number;
  mode: CompareMode;
  /** Swipe line position, 0 (all right date) .. 1 (all left date). */
  swipe: number;
  /** Flicker: which of the two dates is on screen (0 left, 1 right), and whether it alternates. */
  flickerShown: 0 | 1;
  flickerRunning: boolean;
  overlay: boolean;
  /** Grid pixel under the cursor (either view), or null. */
  cursor: { x: number; y: number } | null;
  /** Slices of the shown z, by date index. */
  slices: Record<number, CompareSlice>;
  error: string | null;
}

export const initialCompare: CompareState = {
  phase: 'idle',
  inputs: [],
  jobId: null,
  progress: null,
  result: null,
  left: 0,
  right: 1,
  z: 0,
  mode: 'side',
  swipe: 0.5,
  flickerShown: 0,
  flickerRunning: true,
  overlay: true,
  cursor: null,
  slices: {},
  error: null,
};

// ---------------------------------------------------------------- operations

export const choosing = () => (s: CompareState): CompareState => ({ ...initialCompare, phase: 'choose', overlay: s.overlay, mode: s.mode });

export const started = (inputs: CompareInputState[], jobId: string) => (s: CompareState): CompareState => ({ ...s, phase: 'running', inputs, jobId, progress: null, error: null, result: null, slices: {}, cursor: null });

export const progressed = (p: JobProgress) => (s: CompareState): CompareState => (s.jobId === p.jobId ? { ...s, progress: p } : s);

/** The comparison is ready: the baseline on the left, the latest date on the right, the slice where the first track is largest. */
export const received = (result: CompareResult) => (s: CompareState): CompareState => {
  const last = result.timepoints.length - 1;
  const first = result.trackSlices?.[0]?.z;
  return { ...s, phase: 'shown', jobId: null, progress: null, result, left: 0, right: Math.max(1, last), z: first ?? Math.floor(result.grid.depth / 2), slices: {}, cursor: null };
};

export const failed = (message: string) => (s: CompareState): CompareState => ({ ...s, phase: s.result ? 'shown' : 'idle', jobId: null, progress: null, error: message });

/** The dates to put in the date fields: each input's date as the comparison found it ('' where it found none). */
export function knownDates(s: Pick<CompareState, 'inputs' | 'result'>): string[] {
  return s.inputs.map((_, i) => s.result?.timepoints.find((t) => t.input === i)?.date ?? '');
}

export const closed = () => (s: CompareState): CompareState => ({ ...initialCompare, overlay: s.overlay, mode: s.mode });

export const errorDismissed = () => (s: CompareState): CompareState => ({ ...s, error: null });

/** The medical document after the user chose the RECIST targets (or went back to compare's own). */
export const targetsChanged = (change: MedicalChangeDocument) => (s: CompareState): CompareState =>
  s.result && s.result.change.kind === 'medical' ? { ...s, result: { ...s.result, change }, error: null } : s;

/** The target list after ticking or unticking one track's box. */
export function toggledTargets(current: readonly number[], track: number): number[] {
  return current.includes(track) ? current.filter((t) => t !== track) : [...current, track];
}

export const sliceChanged = (z: number) => (s: CompareState): CompareState => {
  if (!s.result) return s;
  const clamped = Math.max(0, Math.min(s.result.grid.depth - 1, Math.round(z)));
  return clamped === s.z ? s : { ...s, z: clamped, slices: {} };
};

export const sliceLoaded = (slice: CompareSlice) => (s: CompareState): CompareState =>
  s.result && slice.compareId === s.result.compareId && slice.z === s.z ? { ...s, slices: { ...s.slices, [slice.timepoint]: slice } } : s;

/** The right-hand date (3+ dates): never the same as the left one. */
export const rightPicked = (index: number) => (s: CompareState): CompareState => {
  if (!s.result || index < 0 || index >= s.result.timepoints.length || index === s.left) return s;
  return { ...s, right: index };
};

export const leftPicked = (index: number) => (s: CompareState): CompareState => {
  if (!s.result || index < 0 || index >= s.result.timepoints.length || index === s.right) return s;
  return { ...s, left: index };
};

export const modeChanged = (mode: CompareMode) => (s: CompareState): CompareState => (s.mode === mode ? s : { ...s, mode, flickerShown: 0 });

export const swipeMoved = (fraction: number) => (s: CompareState): CompareState => ({ ...s, swipe: Math.max(0, Math.min(1, fraction)) });

/** One flicker step: the other date. */
export const flickered = () => (s: CompareState): CompareState => ({ ...s, flickerShown: s.flickerShown === 0 ? 1 : 0 });

export const flickerToggled = () => (s: CompareState): CompareState => ({ ...s, flickerRunning: !s.flickerRunning });

export const overlayToggled = () => (s: CompareState): CompareState => ({ ...s, overlay: !s.overlay });

export const cursorMoved = (cursor: { x: number; y: number } | null) => (s: CompareState): CompareState => {
  if (cursor === null) return s.cursor === null ? s : { ...s, cursor: null };
  if (!s.result) return s;
  const { width, height } = s.result.grid;
  if (cursor.x < 0 || cursor.y < 0 || cursor.x >= width || cursor.y >= height) return { ...s, cursor: null };
  return s.cursor && s.cursor.x === cursor.x && s.cursor.y === cursor.y ? s : { ...s, cursor: { x: cursor.x, y: cursor.y } };
};

/** The date on screen in the single view of flicker mode. */
export function flickerDate(s: Pick<CompareState, 'left' | 'right' | 'flickerShown'>): number {
  return s.flickerShown === 0 ? s.left : s.right;
}

// ---------------------------------------------------------------- geometry

/** Grid pixel under a point of a view drawn `viewWidth` x `viewHeight` screen pixels for the whole grid. */
export function gridPixelAt(grid: Pick<CompareGrid, 'width' | 'height'>, offsetX: number, offsetY: number, viewWidth: number, viewHeight: number): { x: number; y: number } | null {
  if (viewWidth <= 0 || viewHeight <= 0) return null;
  const x = Math.floor((offsetX / viewWidth) * grid.width);
  const y = Math.floor((offsetY / viewHeight) * grid.height);
  return x < 0 || y < 0 || x >= grid.width || y >= grid.height ? null : { x, y };
}

/**
 * Where a grid pixel is in the world: patient LPS mm of the voxel centre (medical; axis j of the grid runs along
 * direction[3j..3j+2] in steps of spacingMm[j]), or the map x/y of the pixel centre in the grid's CRS (geo).
 */
export function worldPosition(grid: CompareGrid, x: number, y: number, z: number): { lpsMm: [number, number, number] } | { mapXY: [number, number]; crs: string } | null {
  if (grid.geotransform) {
    const g = grid.geotransform;
    const px = x + 0.5;
    const py = y + 0.5;
    return { mapXY: [g[0] + px * g[1] + py * g[2], g[3] + px * g[4] + py * g[5]], crs: grid.crs ?? '' };
  }
  if (grid.spacingMm && grid.originMm) {
    const d = grid.direction ?? [1, 0, 0, 0, 1, 0, 0, 0, 1];
    const idx = [x, y, z];
    const out: [number, number, number] = [0, 0, 0];
    for (let row = 0; row < 3; row++) {
      let v = grid.originMm[row]!;
      for (let axis = 0; axis < 3; axis++) v += (d[axis * 3 + row] ?? (axis === row ? 1 : 0)) * grid.spacingMm[axis]! * idx[axis]!;
      out[row] = v;
    }
    return { lpsMm: out };
  }
  return null;
}

/** The status line's words for a world position. */
export function describePosition(grid: CompareGrid, x: number, y: number, z: number): string {
  const w = worldPosition(grid, x, y, z);
  const px = grid.depth > 1 ? `pixel ${x}, ${y}, slice ${z + 1}` : `pixel ${x}, ${y}`;
  if (!w) return px;
  if ('lpsMm' in w) return `${px} · LPS ${w.lpsMm.map((v) => v.toFixed(1)).join(', ')} mm`;
  const digits = Math.abs(w.mapXY[0]) > 1000 ? 1 : 6;
  return `${px} · map ${w.mapXY[0].toFixed(digits)}, ${w.mapXY[1].toFixed(digits)} (${w.crs || 'no CRS'})`;
}

// ---------------------------------------------------------------- tables

export function formatMl(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : v < 10 ? v.toFixed(2) : v.toFixed(1);
}

export function formatMm(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : v.toFixed(1);
}

export function formatPct(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return `${v > 0 ? '+' : ''}${v.toFixed(1)}%`;
}

export function formatHa(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(4);
}

/** A lesion's total volume on one date: one instance's, or the sum of a fragmented lesion's pieces (already summed). */
export interface TrackRow {
  track: number;
  status: string;
  className: string;
  volumeMl: Array<number | null>;
  longAxisMm: Array<number | null>;
  changePct: number | null;
  target: boolean;
}

export function trackRows(change: MedicalChangeDocument): TrackRow[] {
  const targets = new Set(change.response.recistTargets);
  return change.lesions.map((l) => ({ track: l.track, status: l.status, className: l.className, volumeMl: l.volumeMl, longAxisMm: l.longAxisMm, changePct: l.changePct, target: targets.has(l.track) }));
}

/** Changed transitions (from differs from to), largest first. */
export function changedTransitions(transitions: LandCoverTransition[]): LandCoverTransition[] {
  return transitions.filter((t) => t.from !== t.to).sort((a, b) => b.areaHa - a.areaHa || a.from - b.from || a.to - b.to);
}

export interface NetBar {
  id: number;
  name: string;
  color: string;
  netHa: number;
  /** Bar start and width in chart units (0..width), around the zero line at `zero`. */
  x: number;
  width: number;
}

/** Horizontal bars of the net change per class, on a shared scale with zero in the middle (or at an edge when one-sided). */
export function netBars(classes: LandCoverClassChange[], chartWidth: number): { zero: number; bars: NetBar[]; maxAbsHa: number } {
  const shown = classes.filter((c) => c.fromHa > 0 || c.toHa > 0);
  const maxPos = Math.max(0, ...shown.map((c) => c.netHa));
  const maxNeg = Math.max(0, ...shown.map((c) => -c.netHa));
  const span = maxPos + maxNeg;
  const maxAbsHa = Math.max(maxPos, maxNeg);
  const zero = span > 0 ? (maxNeg / span) * chartWidth : chartWidth / 2;
  const k = span > 0 ? chartWidth / span : 0;
  const bars = shown.map((c) => {
    const w = Math.abs(c.netHa) * k;
    return { id: c.id, name: c.name, color: c.color, netHa: c.netHa, x: c.netHa >= 0 ? zero : zero - w, width: w };
  });
  return { zero, bars, maxAbsHa };
}

/** The colour the engine draws a track with (sent with the result), for the table's swatch; grey if unknown. */
export function trackRgb(result: CompareResult, track: number): [number, number, number] {
  return result.trackSlices?.find((t) => t.track === track)?.rgb ?? [128, 128, 128];
}

// ---------------------------------------------------------------- the offer

/** Same place: two north-up (or any) map grids in one CRS whose bounds overlap. */
export function mapsOverlap(a: ImageInfo, b: ImageInfo): boolean {
  if (a.kind !== 'geo' || b.kind !== 'geo' || !a.geotransform || !b.geotransform || !a.crs || a.crs !== b.crs) return false;
  const box = (i: ImageInfo): [number, number, number, number] => {
    const g = i.geotransform!;
    const xs = [g[0], g[0] + i.width * g[1], g[0] + i.height * g[2], g[0] + i.width * g[1] + i.height * g[2]];
    const ys = [g[3], g[3] + i.width * g[4], g[3] + i.height * g[5], g[3] + i.width * g[4] + i.height * g[5]];
    return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
  };
  const p = box(a);
  const q = box(b);
  return p[0] < q[2] && q[0] < p[2] && p[1] < q[3] && q[1] < p[3];
}

/** Same patient, another study: one PatientID, a different study date (or study UID in the info). */
export function samePatientOtherStudy(a: PatientHeader, b: PatientHeader, infoA: ImageInfo, infoB: ImageInfo): boolean {
  if (!a.patientId || a.patientId !== b.patientId) return false;
  const studyA = typeof infoA.studyInstanceUid === 'string' ? infoA.studyInstanceUid : undefined;
  const studyB = typeof infoB.studyInstanceUid === 'string' ? infoB.studyInstanceUid : undefined;
  return (a.studyDate !== undefined && b.studyDate !== undefined && a.studyDate !== b.studyDate) || (studyA !== undefined && studyB !== undefined && studyA !== studyB);
}
