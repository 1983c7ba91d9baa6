// The shape tools' pointer gestures and what they draw over the image: polygon (click vertices; double-click or
// Enter closes), lasso (drag), split (drag a line across an object), region grow (click), ruler (drag) and
// bidirectional (drag the long axis, then move for the perpendicular short axis and click). The viewer forwards
// its pointer events here for these tools and calls drawShapes from its draw; everything else lives here.
import { useMemo, useSyncExternalStore } from 'react';
import type { ImageInfo, InstanceRecord } from '../../preload/api';
import { apply, getState, useStore } from '../state/store';
import * as op from '../state/operations';
import * as cmd from '../state/commands';
import type { Tool } from '../state/store';
import { lengthUnit } from '../viewer/units';
import { formatMeasured, lengthScale, measurementLengths, shortAxisFor, type ManualMeasurement } from '../measurements/manual';
import { instanceAtPoint, instanceUnderLine, isFillable, tidyPath, type Point } from './polygon';
import { aiPointerDown, aiPointerMove, aiPointerUp, aiVersion, drawAi, subscribeAi } from './ai';

export const SHAPE_TOOLS: readonly Tool[] = ['polygon', 'lasso', 'regionGrow', 'split', 'ruler', 'bidirectional', 'ai'];
export const isShapeTool = (tool: Tool): boolean => SHAPE_TOOLS.includes(tool);
/** Tools that edit the result (the others measure and work without one). */
const EDITING: readonly Tool[] = ['polygon', 'lasso', 'regionGrow', 'split'];

type Draft =
  | { kind: 'polygon' | 'lasso'; z: number; points: Point[]; erase: boolean }
  | { kind: 'split'; z: number; points: Point[] }
  | { kind: 'ruler'; z: number; a: Point; b: Point }
  | { kind: 'long'; z: number; a: Point; b: Point }
  | { kind: 'short'; z: number; a: Point; b: Point; c: Point; d: Point };

let draft: Draft | null = null;

/** The tool a draft belongs to: switching tools hides it (and the next press starts afresh). */
function toolOf(d: Draft): Tool {
  return d.kind === 'long' || d.kind === 'short' ? 'bidirectional' : d.kind;
}
let hover: Point | null = null;
let version = 0;
const listeners = new Set<() => void>();
function changed(): void {
  version++;
  for (const l of listeners) l();
}

/** What the viewer's draw depends on here: changes whenever a draft, the manual list or the selection does. */
export function useShapesKey(): unknown {
  const v = useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => version,
  );
  const manual = useStore((s) => s.manual);
  const extra = useStore((s) => s.extraSelectedIds);
  // The AI tool's object and clicks are drawn here too.
  const ai = useSyncExternalStore(subscribeAi, aiVersion);
  return useMemo(() => ({ v, manual, extra, ai }), [v, manual, extra, ai]);
}

/** Screen pixels of the viewer's 1 image pixel (to tell a click from a drag, and to thin lasso points). */
let screenPerPx = 1;

export function shapePointerDown(p: Point, mods: { altKey: boolean }, scale: number): void {
  screenPerPx = scale;
  const s = getState();
  const tool = s.tool;
  if (tool === 'ai') {
    aiPointerDown(p, mods.altKey, scale);
    return;
  }
  if (EDITING.includes(tool) && !s.result) {
    apply(op.errorShown('Run a model first: this tool edits its result.'));
    return;
  }
  const z = s.z;
  if (draft && toolOf(draft) !== tool) draft = null;
  if (tool === 'polygon') {
    if (draft?.kind === 'polygon' && draft.z === z) draft.points.push(p);
    else draft = { kind: 'polygon', z, points: [p], erase: mods.altKey };
  } else if (tool === 'lasso') draft = { kind: 'lasso', z, points: [p], erase: mods.altKey };
  else if (tool === 'split') draft = { kind: 'split', z, points: [p] };
  else if (tool === 'ruler') draft = { kind: 'ruler', z, a: p, b: p };
  else if (tool === 'bidirectional') {
    if (draft?.kind === 'short' && draft.z === z) {
      commitBidirectional(draft);
      draft = null;
    } else draft = { kind: 'long', z, a: p, b: p };
  } else if (tool === 'regionGrow') void regionGrowAt(p);
  changed();
}

export function shapePointerMove(p: Point): void {
  hover = p;
  if (getState().tool === 'ai') aiPointerMove(p);
  const d = draft;
  if (d?.kind === 'lasso' || d?.kind === 'split') {
    const last = d.points[d.points.length - 1]!;
    // About two screen pixels apart: smooth enough, without thousands of points.
    if (Math.hypot(p[0] - last[0], p[1] - last[1]) * screenPerPx >= 2) d.points.push(p);
  } else if (d?.kind === 'ruler' || d?.kind === 'long') d.b = p;
  else if (d?.kind === 'short') [d.c, d.d] = shortAxisFor(d.a, d.b, p);
  changed();
}

export function shapePointerUp(p: Point): void {
  if (getState().tool === 'ai') aiPointerUp(p);
  const d = draft;
  if (!d) return;
  const minPx = 3 / Math.max(1e-9, screenPerPx);
  if (d.kind === 'lasso') {
    d.points.push(p);
    draft = null;
    void fillPath(d.z, d.points, d.erase);
  } else if (d.kind === 'split') {
    d.points.push(p);
    draft = null;
    void splitAlong(d.z, tidyPath(d.points, 0.25));
  } else if (d.kind === 'ruler') {
    draft = null;
    if (Math.hypot(p[0] - d.a[0], p[1] - d.a[1]) >= minPx) addManual({ kind: 'ruler', z: d.z, points: [d.a, p] });
  } else if (d.kind === 'long') {
    // A press without a drag draws nothing; otherwise the short axis follows the pointer until the next click.
    if (Math.hypot(p[0] - d.a[0], p[1] - d.a[1]) < minPx) draft = null;
    else draft = { kind: 'short', z: d.z, a: d.a, b: p, c: d.a, d: d.a };
  }
  changed();
}

/** Double-click closes the polygon (its two clicks added the last vertex twice: tidyPath drops the copy). */
export function shapeDoubleClick(): void {
  finishShape();
}

/** Enter: closes the polygon being drawn. True when there was one. */
export function finishShape(): boolean {
  const d = draft;
  if (d?.kind !== 'polygon' || getState().tool !== 'polygon') return false;
  draft = null;
  changed();
  void fillPath(d.z, d.points, d.erase);
  return true;
}

/** Whether a polygon is being drawn (Enter closes it). */
export function hasOpenPolygon(): boolean {
  return draft?.kind === 'polygon' && getState().tool === 'polygon';
}

/** Esc: drops the shape being drawn. True when there was one. */
export function cancelShape(): boolean {
  if (!draft) return false;
  draft = null;
  changed();
  return true;
}

// ---------------------------------------------------------------- the edits the gestures end in

/** Fills (or with Alt, erases) a closed path: into the selected object, else a new object of the active class. */
async function fillPath(z: number, raw: Point[], erase: boolean): Promise<void> {
  const points = tidyPath(raw, 0.25);
  if (!isFillable(points)) return;
  const { selectedId, activeClassId } = getState();
  if (erase) await cmd.edit(selectedId !== null ? { op: 'erasePolygon', z, points, instanceId: selectedId } : { op: 'erasePolygon', z, points });
  else await cmd.edit({ op: 'fillPolygon', z, points, target: selectedId !== null ? { instanceId: selectedId } : { newInstanceOfClass: activeClassId } });
}

/** Splits the selected object (else the one the line crosses most) along the line. */
async function splitAlong(z: number, line: Point[]): Promise<void> {
  if (line.length < 2) return;
  const { selectedId, resultSlice } = getState();
  const id = selectedId ?? instanceUnderLine(resultSlice, line);
  if (!id) {
    apply(op.errorShown('Draw the split line across an object (or select the object first).'));
    return;
  }
  await cmd.edit({ op: 'splitInstance', instanceId: id, z, line });
  apply(op.instanceSelected(id));
}

/** The region-grow radius in image pixels: the set radius in the image's unit, else a quarter of the shorter side. */
export function growRadiusPx(info: ImageInfo, radius: number): number {
  if (radius > 0) {
    const u = lengthUnit(info);
    return Math.max(1, radius / Math.min(u.perPxX, u.perPxY));
  }
  return Math.max(8, Math.round(Math.min(info.width, info.height) / 4));
}

async function regionGrowAt(p: Point): Promise<void> {
  const { image, z, selectedId, activeClassId, growTolerance, growRadius } = getState();
  if (!image) return;
  const x = Math.floor(p[0]);
  const y = Math.floor(p[1]);
  if (x < 0 || y < 0 || x >= image.info.width || y >= image.info.height) return;
  // Into the selected object, else a new object of the active class.
  await cmd.edit({
    op: 'regionGrow',
    z,
    seed: [x, y],
    tolerance: growTolerance,
    maxRadiusPx: Math.min(65536, growRadiusPx(image.info, growRadius)),
    target: selectedId !== null ? { instanceId: selectedId } : { newInstanceOfClass: activeClassId },
  });
}

function addManual(m: Omit<ManualMeasurement, 'id' | 'handle'>): void {
  const image = getState().image;
  if (image) apply(op.manualAdded({ ...m, handle: image.handle }));
}

function commitBidirectional(d: Extract<Draft, { kind: 'short' }>): void {
  addManual({ kind: 'bidirectional', z: d.z, points: [d.a, d.b, d.c, d.d] });
}

/** Merges the selected objects (Shift/Ctrl-click picks more) into the first picked. */
export function mergeSelected(): Promise<void> {
  const { selectedId, extraSelectedIds, result } = getState();
  const exists = new Set(result?.document.instances.map((r) => r.id));
  const ids = [selectedId, ...extraSelectedIds].filter((id): id is number => id !== null && exists.has(id));
  const unique = [...new Set(ids)];
  if (unique.length < 2) {
    apply(op.errorShown('Pick two or more objects to merge (Shift- or Ctrl-click them in the image or the table).'));
    return Promise.resolve();
  }
  return cmd.edit({ op: 'mergeInstances', instanceIds: unique }).then(() => apply(op.instanceSelected(unique[0]!)));
}

/** Fills the holes of the selected object (on every slice it has). */
export function fillHolesSelected(): Promise<void> {
  const id = getState().selectedId;
  if (id === null) {
    apply(op.errorShown('Select an object first: Fill holes fills the holes it encloses.'));
    return Promise.resolve();
  }
  return cmd.edit({ op: 'fillHoles', instanceId: id });
}

// ---------------------------------------------------------------- drawing

interface Screen {
  sx(x: number): number;
  sy(y: number): number;
}

function line(ctx: CanvasRenderingContext2D, v: Screen, pts: readonly Point[], close = false): void {
  ctx.beginPath();
  pts.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(v.sx(x), v.sy(y)) : ctx.lineTo(v.sx(x), v.sy(y))));
  if (close) ctx.closePath();
  ctx.stroke();
}

function label(ctx: CanvasRenderingContext2D, text: string, x: number, y: number): void {
  ctx.font = '12px system-ui, sans-serif';
  ctx.lineWidth = 3;
  ctx.strokeStyle = 'rgba(0,0,0,0.85)';
  ctx.strokeText(text, x, y);
  ctx.fillStyle = '#ffffff';
  ctx.fillText(text, x, y);
}

/** A measurement line with end ticks, in its colour. */
function axis(ctx: CanvasRenderingContext2D, v: Screen, a: Point, b: Point, color: string): void {
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.5;
  line(ctx, v, [a, b]);
  const dx = v.sx(b[0]) - v.sx(a[0]);
  const dy = v.sy(b[1]) - v.sy(a[1]);
  const len = Math.hypot(dx, dy) || 1;
  const nx = (-dy / len) * 4;
  const ny = (dx / len) * 4;
  for (const p of [a, b]) {
    ctx.beginPath();
    ctx.moveTo(v.sx(p[0]) - nx, v.sy(p[1]) - ny);
    ctx.lineTo(v.sx(p[0]) + nx, v.sy(p[1]) + ny);
    ctx.stroke();
  }
}

function drawMeasurement(ctx: CanvasRenderingContext2D, v: Screen, info: ImageInfo, kind: ManualMeasurement['kind'], points: Point[], name: string): void {
  const scale = lengthScale(info);
  const m = measurementLengths({ id: 0, handle: '', z: 0, kind, points }, scale);
  const [a, b, c, d] = points;
  if (!a || !b) return;
  axis(ctx, v, a, b, '#ffd33d');
  if (c && d && kind === 'bidirectional') axis(ctx, v, c, d, '#4fd1ff');
  const approx = scale.approximate !== null;
  const text = `${name}${formatMeasured(m.long, scale.unit, approx)}${m.short !== undefined ? ` × ${formatMeasured(m.short, scale.unit, approx)}` : ''}`;
  // Beside the end further right, so the text does not sit on the line.
  const end = v.sx(a[0]) > v.sx(b[0]) ? a : b;
  label(ctx, text, v.sx(end[0]) + 8, v.sy(end[1]) + 4);
}

/** Draws the drafts, the manual measurements of the slice shown, and the boxes of the extra selected objects. */
export function drawShapes(ctx: CanvasRenderingContext2D, v: Screen): void {
  const s = getState();
  const info = s.image?.info;
  if (!info) return;
  ctx.save();
  for (const m of s.manual) if (m.handle === s.image?.handle && m.z === s.z) drawMeasurement(ctx, v, info, m.kind, m.points, `M${m.id}: `);
  const extra = s.result?.document.instances.filter((r) => s.extraSelectedIds.includes(r.id)) ?? [];
  for (const r of extra) drawBox(ctx, v, r, s.z);
  const d = draft;
  if (d && d.z === s.z && toolOf(d) === s.tool) {
    if (d.kind === 'polygon' || d.kind === 'lasso') {
      ctx.strokeStyle = d.erase ? '#ff7b72' : '#ffffff';
      ctx.fillStyle = d.erase ? 'rgba(255,123,114,0.2)' : 'rgba(255,255,255,0.2)';
      ctx.lineWidth = 1.5;
      const pts = d.kind === 'polygon' && hover ? [...d.points, hover] : d.points;
      line(ctx, v, pts, d.kind === 'lasso');
      if (pts.length >= 3) {
        ctx.beginPath();
        pts.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(v.sx(x), v.sy(y)) : ctx.lineTo(v.sx(x), v.sy(y))));
        ctx.closePath();
        ctx.fill();
      }
      ctx.fillStyle = '#ffffff';
      for (const [x, y] of d.kind === 'polygon' ? d.points : []) ctx.fillRect(v.sx(x) - 2, v.sy(y) - 2, 4, 4);
    } else if (d.kind === 'split') {
      ctx.strokeStyle = '#ff7b72';
      ctx.lineWidth = 2;
      ctx.setLineDash([6, 4]);
      line(ctx, v, d.points);
      ctx.setLineDash([]);
    } else if (d.kind === 'ruler' || d.kind === 'long') drawMeasurement(ctx, v, info, 'ruler', [d.a, d.b], '');
    else if (d.kind === 'short') drawMeasurement(ctx, v, info, 'bidirectional', [d.a, d.b, d.c, d.d], '');
  }
  drawAi(ctx, v);
  ctx.restore();
}

function drawBox(ctx: CanvasRenderingContext2D, v: Screen, r: InstanceRecord, z: number): void {
  if (r.bbox.min.length >= 3 && ((r.bbox.min[2] ?? 0) > z || z > (r.bbox.max[2] ?? 0))) return;
  const [x0 = 0, y0 = 0] = r.bbox.min;
  const [x1 = 0, y1 = 0] = r.bbox.max;
  ctx.strokeStyle = '#4fd1ff';
  ctx.lineWidth = 1;
  ctx.setLineDash([4, 3]);
  ctx.strokeRect(v.sx(x0) - 3, v.sy(y0) - 3, v.sx(x1 + 1) - v.sx(x0) + 6, v.sy(y1 + 1) - v.sy(y0) + 6);
  ctx.setLineDash([]);
}

/** The object under an image point of the slice shown (for Shift/Ctrl-click multi-selection in the viewer). */
export function toggleAt(p: Point): void {
  const id = instanceAtPoint(getState().resultSlice, p[0], p[1]);
  if (id) apply(op.instanceToggled(id));
}
