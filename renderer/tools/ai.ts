// The AI tool (A): click = include, Alt-click or right-click = exclude, drag = box. Each gesture runs one model step
// in the engine host (prompt:click / prompt:box) and the object's outline and a translucent fill are drawn over the
// image with small markers at the clicks; Enter accepts the object as one undoable edit (acceptPrompt, the masks
// carried in the operation), Esc discards it. On volumes Propagate carries it through the slices, and once it has
// been propagated a correction on any slice propagates again from there. State lives here, outside React, like the
// shape tools' drafts (gestures.ts); the viewer draws it through drawShapes.
import type { MaskRle, ModelSummary, PromptState } from '../../preload/api';
import { apply, getState } from '../state/store';
import * as op from '../state/operations';
import * as cmd from '../state/commands';

type Point = [number, number];

interface SliceMask {
  rle: MaskRle;
  /** Fill and outline at one canvas pixel per image pixel, made once per answer. */
  canvas: HTMLCanvasElement | null;
}

interface AiClick {
  x: number;
  y: number;
  z: number;
  positive: boolean;
}

interface AiState {
  /** The image the prompt is open on. */
  handle: string | null;
  promptId: string | null;
  modelId: string | null;
  modelName: string | null;
  clicks: AiClick[];
  masks: Map<number, SliceMask>;
  /** A call is running (clicks wait for it: each step must see the one before). */
  busy: boolean;
  /** Model time of the last click or box, ms (onnxruntime only). */
  lastClickMs: number | null;
  /** The object was propagated: a correction re-propagates from its slice. */
  propagated: boolean;
  /** The propagation job while it runs (Cancel stops it). */
  jobId: string | null;
  /** The box being dragged, in image pixels. */
  drag: { z: number; a: Point; b: Point; negative: boolean; moved: boolean } | null;
  /** The interactive model the user picked for this tool (null: the shipped one for the image's kind). */
  chosenModelId: string | null;
  /** Installed interactive models (asked once, when the panel first shows). */
  models: ModelSummary[] | null;
}

const state: AiState = { handle: null, promptId: null, modelId: null, modelName: null, clicks: [], masks: new Map(), busy: false, lastClickMs: null, propagated: false, jobId: null, drag: null, chosenModelId: null, models: null };

let version = 0;
const listeners = new Set<() => void>();
function changed(): void {
  version++;
  for (const l of listeners) l();
}
export function subscribeAi(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}
export const aiVersion = (): number => version;

/** Asks once for the installed interactive models (the picker's list leaves them out). */
export async function loadPromptModels(): Promise<void> {
  if (state.models) return;
  state.models = [];
  try {
    state.models = await api().promptModels();
  } catch (err) {
    state.models = null;
    report(err);
  }
  changed();
}

export const promptModels = (): ModelSummary[] => state.models ?? [];

/** Pixels of the object on slice z. */
export function pixelsOn(z: number): number {
  const runs = state.masks.get(z)?.rle.runs ?? [];
  let n = 0;
  for (let k = 1; k < runs.length; k += 2) n += runs[k]!;
  return n;
}

/** What the panel shows (read after subscribeAi says something changed). */
export function aiView(): { busy: boolean; lastClickMs: number | null; modelName: string | null; slices: number[]; clicks: number; propagated: boolean; jobId: string | null; chosenModelId: string | null } {
  return {
    busy: state.busy,
    lastClickMs: state.lastClickMs,
    modelName: state.modelName,
    slices: [...state.masks.keys()].sort((a, b) => a - b),
    clicks: state.clicks.length,
    propagated: state.propagated,
    jobId: state.jobId,
    chosenModelId: state.chosenModelId,
  };
}

const api = () => window.delineate;

function report(err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  if (/engine host (stopped|restarted)/.test(message)) return;
  apply(op.errorShown(message));
}

/** Forgets the object and clicks here (the engine's prompt is cleared or closed by the caller). */
function forget(): void {
  state.clicks = [];
  state.masks = new Map();
  state.propagated = false;
  state.drag = null;
  state.lastClickMs = null;
}

/** Closes the prompt of an image that is no longer shown (its model and embeddings go). */
function leaveIfOtherImage(): void {
  const handle = getState().image?.handle ?? null;
  if (state.handle === handle) return;
  if (state.promptId) void api().promptClose(state.promptId).catch(() => undefined);
  state.handle = handle;
  state.promptId = null;
  state.modelId = null;
  state.modelName = null;
  forget();
}

/** Picks the interactive model for the tool; the next click opens it (the object so far is discarded). */
export function chooseModel(modelId: string | null): void {
  if (state.chosenModelId === modelId) return;
  if (state.promptId) void api().promptClose(state.promptId).catch(() => undefined);
  state.chosenModelId = modelId;
  state.promptId = null;
  state.modelId = null;
  state.modelName = null;
  forget();
  changed();
}

async function ensurePrompt(): Promise<string | null> {
  leaveIfOtherImage();
  const image = getState().image;
  if (!image) return null;
  if (state.promptId) return state.promptId;
  const opened = await api().promptOpen(image.handle, state.chosenModelId);
  if (getState().image?.handle !== image.handle) {
    void api().promptClose(opened.promptId).catch(() => undefined);
    return null;
  }
  state.promptId = opened.promptId;
  state.modelId = opened.modelId;
  state.modelName = opened.modelName;
  return opened.promptId;
}

/** Takes in the engine's answer: the object on every slice that holds it. */
function took(answer: PromptState): void {
  if (answer.promptId !== state.promptId) return;
  state.masks = new Map(answer.masks.map((m) => [m.z, { rle: m, canvas: null }]));
}

/** The engine call running now (busy), so Enter pressed meanwhile can wait for it instead of being lost. */
let inFlight: Promise<void> | null = null;

/** Runs one engine call with the busy state on; a failure is shown, never thrown. */
function busyWhile(label: string, run: () => Promise<void>): Promise<void> {
  const work = busyRun(label, run);
  inFlight = work;
  void work.finally(() => {
    if (inFlight === work) inFlight = null;
  });
  return work;
}

async function busyRun(label: string, run: () => Promise<void>): Promise<void> {
  state.busy = true;
  apply(op.busyChanged(label));
  changed();
  try {
    await run();
  } catch (err) {
    if (!/abort|cancel/i.test(err instanceof Error ? `${err.name} ${err.message}` : '')) report(err);
  } finally {
    state.busy = false;
    apply(op.busyChanged(null));
    changed();
  }
}

/**
 * Runs a call on the open prompt; when the engine host no longer has it (the engine restarted), the model is opened
 * again and the call repeated once (the object so far went with the old host).
 */
async function onPrompt<T>(call: (promptId: string) => Promise<T>): Promise<T | null> {
  const promptId = await ensurePrompt();
  if (!promptId) return null;
  try {
    return await call(promptId);
  } catch (err) {
    if (!/AI tool was closed/.test(err instanceof Error ? err.message : '')) throw err;
    state.promptId = null;
    const again = await ensurePrompt();
    return again ? call(again) : null;
  }
}

async function clickAt(x: number, y: number, z: number, positive: boolean): Promise<void> {
  await busyWhile('AI: outlining...', async () => {
    state.clicks.push({ x, y, z, positive });
    changed();
    const answer = await onPrompt((promptId) => api().promptClick({ promptId, z, x, y, positive }));
    if (!answer) return;
    took(answer);
    state.lastClickMs = answer.modelSeconds * 1000;
  });
  // A correction on a slice of a propagated object carries on through the volume from that slice.
  if (state.propagated && (getState().image?.info.depth ?? 1) > 1 && state.masks.has(z)) await propagate();
}

async function boxAt(z: number, a: Point, b: Point): Promise<void> {
  await busyWhile('AI: outlining...', async () => {
    const answer = await onPrompt((promptId) => api().promptBox({ promptId, z, x0: Math.floor(a[0]), y0: Math.floor(a[1]), x1: Math.floor(b[0]), y1: Math.floor(b[1]) }));
    if (!answer) return;
    took(answer);
    state.lastClickMs = answer.modelSeconds * 1000;
  });
}

/** Carries the object on the slice shown through the volume (a job: progress and Cancel). */
export async function propagate(): Promise<void> {
  const { z, job } = getState();
  if (!state.promptId || !state.masks.has(z) || job) return;
  const promptId = state.promptId;
  const jobId = `job_${crypto.randomUUID().replace(/-/g, '')}`;
  state.jobId = jobId;
  apply(op.jobStarted(jobId, performance.now()));
  try {
    await busyWhile('AI: propagating...', async () => {
      took(await api().promptPropagate(jobId, { promptId, z }));
      state.propagated = true;
    });
  } finally {
    state.jobId = null;
    apply(op.jobEnded(jobId));
    changed();
  }
}

export async function cancelPropagation(): Promise<void> {
  if (state.jobId) await api().cancelJob(state.jobId).catch(report);
}

/** Whether there is an object to accept (Enter) or discard (Esc). */
export function hasObject(): boolean {
  leaveIfOtherImage();
  return state.masks.size > 0 || state.clicks.length > 0;
}

/** Esc: drops the object and the clicks; the model stays loaded. True when there was something to drop. */
export function discard(): boolean {
  if (getState().tool !== 'ai' || !hasObject()) return false;
  if (state.promptId) void api().promptClear(state.promptId).catch(report);
  forget();
  changed();
  return true;
}

/**
 * Enter: the object becomes a new instance of the chosen class (or joins the selected object) as one edit. Without a
 * result yet, an empty one is made first (its classes are the model's), so the object lands in the table.
 */
export async function accept(): Promise<void> {
  // Enter during a click still being outlined accepts the outline that click gives, once it is there.
  if (state.busy && inFlight && !state.jobId) await inFlight;
  const image = getState().image;
  if (!image || state.busy || state.masks.size === 0) return;
  const masks = [...state.masks.values()].map((m) => m.rle);
  await busyWhile('AI: accepting...', async () => {
    if (!getState().result || getState().result?.handle !== image.handle) {
      const made = await api().newResult(image.handle, state.modelId);
      apply(op.resultReceived(image.handle, { jobId: '', document: made.document, resultId: made.resultId }));
      if (made.autosaveError) apply(op.errorShown(`Autosave failed (${made.autosaveError}): a crash now would lose this work. Save the session to keep it.`));
    }
    const { selectedId, activeClassId, result } = getState();
    const exists = selectedId !== null && result?.document.instances.some((r) => r.id === selectedId);
    const depth = result?.undoStack.length ?? 0;
    await cmd.edit({ op: 'acceptPrompt', masks, target: exists ? { instanceId: selectedId } : { newInstanceOfClass: activeClassId } });
    // A refused edit (its error is shown) keeps the outline, so the work is not lost.
    if ((getState().result?.undoStack.length ?? 0) <= depth) return;
    if (state.promptId) await api().promptClear(state.promptId).catch(() => undefined);
    forget();
  });
}

// ---------------------------------------------------------------- gestures (the viewer forwards them here)

/** Screen pixels per image pixel, to tell a click from a drag. */
let screenPerPx = 1;

export function aiPointerDown(p: Point, negative: boolean, scale: number): void {
  leaveIfOtherImage();
  screenPerPx = scale;
  if (state.busy) return;
  state.drag = { z: getState().z, a: p, b: p, negative, moved: false };
}

export function aiPointerMove(p: Point): void {
  const d = state.drag;
  if (!d) return;
  d.b = p;
  // A few screen pixels of travel make it a box, not a click.
  if (Math.hypot(p[0] - d.a[0], p[1] - d.a[1]) * screenPerPx >= 5) d.moved = true;
  changed();
}

export function aiPointerUp(p: Point): void {
  const d = state.drag;
  state.drag = null;
  if (!d) return;
  const info = getState().image?.info;
  if (!info) return;
  const inside = (q: Point) => q[0] >= 0 && q[1] >= 0 && q[0] < info.width && q[1] < info.height;
  if (d.moved && !d.negative) {
    const clamp = (q: Point): Point => [Math.max(0, Math.min(info.width - 1, q[0])), Math.max(0, Math.min(info.height - 1, q[1]))];
    void boxAt(d.z, clamp(d.a), clamp(p));
  } else if (inside(d.a)) {
    if (d.negative && !hasObject()) {
      apply(op.errorShown('Click inside the object first: an exclude click (Alt or right button) only corrects an outline.'));
      return;
    }
    void clickAt(Math.floor(d.a[0]), Math.floor(d.a[1]), d.z, !d.negative);
  }
  changed();
}

// ---------------------------------------------------------------- drawing

const FILL: [number, number, number, number] = [255, 204, 0, 90];
const EDGE: [number, number, number, number] = [255, 204, 0, 255];

/** The mask window as a canvas: translucent fill, opaque boundary pixels (outline). */
function maskCanvas(m: MaskRle): HTMLCanvasElement {
  const { width: w, height: h } = m;
  const bits = new Uint8Array(w * h);
  let at = 0;
  m.runs.forEach((len, k) => {
    if (k % 2 === 1) bits.fill(1, at, at + len);
    at += len;
  });
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, w);
  canvas.height = Math.max(1, h);
  const ctx = canvas.getContext('2d');
  if (!ctx || w === 0 || h === 0) return canvas;
  const img = ctx.createImageData(w, h);
  const on = (x: number, y: number) => x >= 0 && y >= 0 && x < w && y < h && bits[y * w + x] === 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!bits[y * w + x]) continue;
      const edge = !on(x - 1, y) || !on(x + 1, y) || !on(x, y - 1) || !on(x, y + 1);
      img.data.set(edge ? EDGE : FILL, (y * w + x) * 4);
    }
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

interface Screen {
  sx(x: number): number;
  sy(y: number): number;
}

/** Draws the object of the slice shown, the click markers and the box being dragged (only while the tool is on). */
export function drawAi(ctx: CanvasRenderingContext2D, v: Screen): void {
  const s = getState();
  if (s.tool !== 'ai' || !s.image || state.handle !== s.image.handle) return;
  const z = s.z;
  const m = state.masks.get(z);
  ctx.save();
  if (m && m.rle.width > 0) {
    m.canvas ??= maskCanvas(m.rle);
    ctx.imageSmoothingEnabled = false;
    const x0 = v.sx(m.rle.x0);
    const y0 = v.sy(m.rle.y0);
    ctx.drawImage(m.canvas, x0, y0, v.sx(m.rle.x0 + m.rle.width) - x0, v.sy(m.rle.y0 + m.rle.height) - y0);
  }
  for (const c of state.clicks) {
    if (c.z !== z) continue;
    ctx.beginPath();
    ctx.arc(v.sx(c.x + 0.5), v.sy(c.y + 0.5), 4, 0, Math.PI * 2);
    ctx.fillStyle = c.positive ? '#2ea043' : '#f85149';
    ctx.fill();
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = '#ffffff';
    ctx.stroke();
  }
  const d = state.drag;
  if (d && d.moved && d.z === z && !d.negative) {
    ctx.strokeStyle = '#ffcc00';
    ctx.lineWidth = 1.5;
    ctx.setLineDash([6, 4]);
    const x0 = Math.min(d.a[0], d.b[0]);
    const y0 = Math.min(d.a[1], d.b[1]);
    ctx.strokeRect(v.sx(x0), v.sy(y0), v.sx(Math.max(d.a[0], d.b[0])) - v.sx(x0), v.sy(Math.max(d.a[1], d.b[1])) - v.sy(y0));
    ctx.setLineDash([]);
  }
  ctx.restore();
}
