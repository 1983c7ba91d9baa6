// The image viewer: one view of one plane (axial, coronal or sagittal: the `axis` prop) drawing the engine's slice
// preview, the result's instance overlay or probability heat-map on one 2D canvas, with pan (drag, middle-drag),
// zoom (wheel around the cursor; Ctrl+wheel on volumes), fit, slice scrolling (wheel on volumes, arrow keys,
// slider), window/level by right-drag (shared by all views), click-to-select, brush/eraser strokes (axial only),
// the selected object's box and RECIST axes, and a scale bar. In the MPR layout (ViewerLayout.tsx) three of them
// share the linked 3D cursor: a click (or the crosshair tool's drag) moves it, and each view draws the other two
// planes as lines. Image and overlay are both drawn onto the plane's full pixel extent (coronal/sagittal rows
// stretched by the z/x spacing ratio), so previews of any size line up with each other and with the read-out.
// Rasters larger than the preview get full-resolution tiles of the level that matches the zoom (tiles.ts), and so do
// results larger than their preview map (overlayTiles.ts: ids painted per tile, unsmoothed, over the map).
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { ImageInfo, InstanceRecord, ResultSlice, SliceAxis, SliceBitmap } from '../../preload/api';
import { apply, getState, useStore } from '../state/store';
import * as op from '../state/operations';
import * as cmd from '../state/commands';
import { hexToRgb, instanceColor, paintOverlay, paintProbability, type Rgb } from '../overlays/colors';
import { tip } from '../shortcuts';
import { viewerActions } from './actions';
import { moveCrosshair, stepView } from './mpr';
import { TileLayer } from './tiles';
import { OverlayTileLayer, type OverlayTileStyle } from './overlayTiles';
import { InstanceClassIndex } from './instanceClasses';
import { formatLength, lengthUnit, niceLength } from './units';
import { orientationLetters } from './orientation';
import { drawShapes, isShapeTool, shapeDoubleClick, shapePointerDown, shapePointerMove, shapePointerUp, toggleAt, useShapesKey } from '../tools/gestures';
import { axisEnds, focusTarget } from '../measurements/focus';

/** Screen (CSS) pixels per plane pixel along x (rows: s x aspect), and where plane pixel (0,0) lands. */
interface View {
  s: number;
  tx: number;
  ty: number;
}

type Gesture =
  | { kind: 'pan'; x: number; y: number; moved: number; click: boolean }
  | { kind: 'window'; x: number; y: number; center: number; width: number }
  | { kind: 'stroke'; tool: 'brush' | 'eraser'; points: Array<[number, number]>; z: number }
  | { kind: 'crosshair' };

/** Colour of each plane's line in the other views (and of its view's label): the usual MPR colours. */
export const PLANE_COLORS: Record<SliceAxis, string> = { axial: '#ff4d4d', coronal: '#3ddc62', sagittal: '#ffd23f' };
const AXIS_NAMES: Record<SliceAxis, string> = { axial: 'Axial', coronal: 'Coronal', sagittal: 'Sagittal' };
export const AXIAL_ONLY_TOOLS = 'Brush, eraser and the other editing and measuring tools work on axial slices only: use the axial view';

const MIN_ZOOM = 0.01;
const MAX_ZOOM = 64;
/** A press that moves less than this (screen px) is a click (select), not a pan. */
const CLICK_SLOP = 4;

function toCanvas(width: number, height: number, rgba: Uint8ClampedArray): HTMLCanvasElement | null {
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  const ctx = c.getContext('2d');
  if (!ctx) return null;
  ctx.putImageData(new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, width, height), 0, 0);
  return c;
}

function bitmapCanvas(bitmap: SliceBitmap | null): HTMLCanvasElement | null {
  if (!bitmap) return null;
  return toCanvas(bitmap.width, bitmap.height, new Uint8ClampedArray(bitmap.rgba.buffer as ArrayBuffer, bitmap.rgba.byteOffset, bitmap.width * bitmap.height * 4));
}

/** Instance id at image pixel (x, y) of the slice shown, from the preview map. */
export function instanceAt(slice: ResultSlice | null, x: number, y: number): number {
  if (!slice) return 0;
  const mx = Math.floor(x / slice.scaleX);
  const my = Math.floor(y / slice.scaleY);
  if (mx < 0 || my < 0 || mx >= slice.width || my >= slice.height) return 0;
  return slice.instances[my * slice.width + mx] ?? 0;
}

/** Whether an instance has pixels on slice z (2D results: always). */
function onSlice(rec: InstanceRecord, z: number): boolean {
  if (rec.bbox.min.length < 3) return true;
  return (rec.bbox.min[2] ?? 0) <= z && z <= (rec.bbox.max[2] ?? 0);
}

/** Full-resolution plane size [columns, rows], row direction and row/column pixel aspect of a view of the image. */
export function planeGeometry(info: ImageInfo, axis: SliceAxis, bitmap: SliceBitmap | null) {
  const { width: W, height: H, depth: D } = info;
  const sp = info.spacingMm;
  // Non-square pixels are drawn to scale in every plane: rows are as tall as their spacing says (axial: y over x).
  if (axis === 'axial') return { pw: W, ph: H, count: D, flip: false, aspect: sp && sp[0] > 0 && sp[1] > 0 ? sp[1] / sp[0] : 1 };
  // As the engine (render/reformat.ts): z runs up the screen when it runs toward the head (or without directions).
  const flip = bitmap?.flipRows ?? (info.direction && info.direction.length >= 9 ? (info.direction[8] ?? 1) >= 0 : true);
  const colRow = bitmap?.spacingMm ?? (sp ? (axis === 'coronal' ? [sp[0], sp[2]] : [sp[1], sp[2]]) : [1, 1]);
  const aspect = colRow[0]! > 0 && colRow[1]! > 0 ? colRow[1]! / colRow[0]! : 1;
  return axis === 'coronal' ? { pw: W, ph: D, count: H, flip, aspect } : { pw: H, ph: D, count: W, flip, aspect };
}

export function Viewer({ axis = 'axial', mpr = false }: { axis?: SliceAxis; mpr?: boolean }) {
  const axial = axis === 'axial';
  /** Test ids: the axial view keeps the single view's; the others get the axis as a suffix. */
  const tid = (name: string) => (axial ? name : `${name}-${axis}`);
  const image = useStore((s) => s.image);
  const slice = useStore((s) => (axis === 'axial' ? s.slice : s.planes[axis].slice));
  const z = useStore((s) => op.planeIndex(s, axis));
  const crosshair = useStore((s) => s.crosshair);
  const result = useStore((s) => s.result);
  const resultSlice = useStore((s) => (axis === 'axial' ? s.resultSlice : s.planes[axis].resultSlice));
  const probability = useStore((s) => (axis === 'axial' ? s.probability : s.planes[axis].probability));
  const overlay = useStore((s) => s.overlay);
  const selectedId = useStore((s) => s.selectedId);
  const selectedRecord = useStore((s) => s.selectedRecord);
  const tool = useStore((s) => s.tool);
  const brushDiameter = useStore((s) => s.brushDiameter);
  const focusRequest = useStore((s) => s.focusRequest);
  const shapesKey = useShapesKey();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const view = useRef<View>({ s: 1, tx: 0, ty: 0 });
  const fittedFor = useRef<string | null>(null);
  const gesture = useRef<Gesture | null>(null);
  const mouse = useRef<{ x: number; y: number } | null>(null);
  // Tiles arrive asynchronously: each asks for one redraw on the next frame, whatever draw is current then.
  const redraw = useRef<() => void>(() => undefined);
  const redrawPending = useRef(false);
  const requestRedraw = useRef(() => {
    if (redrawPending.current) return;
    redrawPending.current = true;
    requestAnimationFrame(() => {
      redrawPending.current = false;
      redraw.current();
    });
  });
  const tiles = useMemo(() => new TileLayer((request) => window.delineate.imageTile(request), () => requestRedraw.current()), []);
  const overlayTiles = useMemo(
    () =>
      new OverlayTileLayer(
        { tile: (request) => window.delineate.resultTile(request), probability: (request) => window.delineate.resultProbabilityTile(request) },
        () => requestRedraw.current(),
      ),
    [],
  );
  // Classes of a windowed result's ids arrive in pages: each page repaints the tiles (a new style key).
  const [classesVersion, setClassesVersion] = useState(0);
  const classIndex = useMemo(() => new InstanceClassIndex((request) => window.delineate.resultInstances(request), () => setClassesVersion((v) => v + 1)), []);

  const info = image?.info;
  const plane = useMemo(() => (info ? planeGeometry(info, axis, slice) : { pw: 1, ph: 1, count: 1, flip: false, aspect: 1 }), [info, axis, slice]);
  /** Plane pixels: columns and rows (axial: the image's width and height). */
  const widthPx = plane.pw;
  const heightPx = plane.ph;
  const aspect = plane.aspect;
  /** What one fit is for: each opened image, again once its plane's aspect is known. */
  const fitKey = image ? `${image.handle}:${aspect}` : null;
  /** Slices along this view's axis. */
  const depth = plane.count;
  const volumeDepth = info?.depth ?? 1;
  const unit = useMemo(() => (info ? lengthUnit(info) : { unit: 'px' as const, perPxX: 1, perPxY: 1 }), [info]);

  const sliceCanvas = useMemo(() => bitmapCanvas(slice), [slice]);
  const document_ = result?.document;
  const colorOf = useMemo(() => {
    const map = new Map<number, Rgb>();
    if (!document_) return map;
    const classColor = new Map(document_.classes.map((c) => [c.id, hexToRgb(c.color)]));
    for (const r of document_.instances) {
      if (overlay.hiddenClasses.includes(r.classId)) continue;
      map.set(r.id, overlay.colorBy === 'instance' ? instanceColor(r.id) : (classColor.get(r.classId) ?? [255, 0, 255]));
    }
    return map;
  }, [document_, overlay.hiddenClasses, overlay.colorBy]);
  const overlayCanvas = useMemo(() => {
    if (!result || !overlay.visible) return null;
    if (overlay.mode === 'probability') {
      // The heat-map replaces the label colours (class and slice as asked; nothing while it loads).
      if (!probability || probability.resultId !== result.resultId || probability.classId !== overlay.probabilityClassId) return null;
      return toCanvas(probability.width, probability.height, paintProbability(probability.values, probability.edited, Math.max(overlay.opacity, 0.35)));
    }
    if (!resultSlice || resultSlice.resultId !== result.resultId) return null;
    const rgba = paintOverlay(resultSlice, { colorOf, opacity: overlay.opacity, outline: overlay.outline, selectedId });
    return toCanvas(resultSlice.width, resultSlice.height, rgba);
  }, [resultSlice, probability, result, colorOf, overlay.visible, overlay.opacity, overlay.outline, overlay.mode, overlay.probabilityClassId, selectedId]);
  // A windowed result's document lists no instances: its selected record came with the selection.
  const selected = useMemo(
    () => document_?.instances.find((r) => r.id === selectedId) ?? (selectedRecord && selectedRecord.id === selectedId ? selectedRecord : null),
    [document_, selectedId, selectedRecord],
  );
  const windowed = result?.windowed !== undefined;

  // Overlay tiles (full resolution where the view is finer than the preview map): what they are of, and their style.
  useEffect(() => {
    overlayTiles.setSource(
      result && resultSlice && resultSlice.resultId === result.resultId && axial && aspect === 1
        ? {
            resultId: result.resultId,
            revision: result.revision,
            z: resultSlice.z,
            width: widthPx,
            height: heightPx,
            previewScale: Math.min(resultSlice.scaleX, resultSlice.scaleY),
            mode: overlay.mode === 'probability' && result.probabilities ? 'probability' : 'labels',
            classId: overlay.probabilityClassId,
          }
        : null,
    );
    if (result && windowed) classIndex.reset(result.resultId, result.revision, result.document.classes);
  }, [overlayTiles, classIndex, result, windowed, resultSlice, axial, aspect, widthPx, heightPx, overlay.mode, overlay.probabilityClassId]);
  const tileStyle = useMemo((): OverlayTileStyle | null => {
    if (!document_) return null;
    const classColor = new Map(document_.classes.filter((c) => !overlay.hiddenClasses.includes(c.id)).map((c) => [c.id, hexToRgb(c.color)]));
    const paintColor = windowed
      ? (id: number): Rgb | undefined => {
          const classId = classIndex.classOf(id);
          if (classId === undefined || !classColor.has(classId)) return undefined;
          return overlay.colorBy === 'instance' ? instanceColor(id) : classColor.get(classId);
        }
      : (id: number): Rgb | undefined => colorOf.get(id);
    const key = JSON.stringify([overlay.colorBy, overlay.hiddenClasses, overlay.opacity, overlay.outline, windowed ? classesVersion : 0]);
    return { key, colorOf: paintColor, opacity: overlay.opacity, outline: overlay.outline, selectedId };
  }, [document_, windowed, classIndex, classesVersion, colorOf, overlay.colorBy, overlay.hiddenClasses, overlay.opacity, overlay.outline, selectedId]);
  useEffect(() => {
    if (tileStyle) overlayTiles.setStyle(tileStyle);
    requestRedraw.current();
  }, [overlayTiles, tileStyle]);
  useEffect(() => () => overlayTiles.dispose(), [overlayTiles]);

  /** Plane row of voxel z (coronal/sagittal rows run superior at the top when flipped). */
  const rowOfZ = useCallback((vz: number) => (plane.flip ? volumeDepth - 1 - vz : vz), [plane.flip, volumeDepth]);
  /** Voxel (x, y, z) under plane pixel (col, row) of the slice shown. */
  const voxelAt = useCallback(
    (col: number, row: number): { x: number; y: number; z: number } => {
      const st = getState();
      if (axis === 'axial') return { x: col, y: row, z: st.z };
      const vz = plane.flip ? volumeDepth - 1 - row : row;
      const index = op.planeIndex(st, axis);
      return axis === 'coronal' ? { x: col, y: index, z: vz } : { x: index, y: col, z: vz };
    },
    [axis, plane.flip, volumeDepth],
  );
  const editsHere = axial;

  // The slice under a resting pointer changed (wheel, keys, the linked cursor): the read-out names the new voxel.
  useEffect(() => {
    const m = mouse.current;
    if (!m || axial) return;
    const v = view.current;
    const col = Math.floor((m.x - v.tx) / v.s);
    const row = Math.floor((m.y - v.ty) / (v.s * aspect));
    if (col >= 0 && row >= 0 && col < widthPx && row < heightPx) cmd.pointAt(voxelAt(col, row));
  }, [z, axial, aspect, widthPx, heightPx, voxelAt]);

  /** Brush radius in image pixels along x and y. */
  const brushRadiusPx = useCallback((): [number, number] => {
    const d = getState().brushDiameter;
    return [Math.max(0.5, d / 2 / unit.perPxX), Math.max(0.5, d / 2 / unit.perPxY)];
  }, [unit]);

  const draw = useCallback(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
    const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const { s, tx, ty } = view.current;
    // Rows are `aspect` times as tall as columns are wide (coronal/sagittal of anisotropic voxels; axial: 1).
    ctx.setTransform(dpr * s, 0, 0, dpr * s * aspect, dpr * tx, dpr * ty);
    // Crisp pixels when magnified (reading values), smooth when minified.
    ctx.imageSmoothingEnabled = s * (slice?.scale ?? 1) < 2;
    // The preview is the backdrop while tiles load; under a full cover of tiles it is not drawn.
    if (sliceCanvas && !(axial && tiles.covers(view.current, canvas.clientWidth, canvas.clientHeight, dpr))) ctx.drawImage(sliceCanvas, 0, 0, widthPx, heightPx);
    if (axial) tiles.draw(ctx, view.current, canvas.clientWidth, canvas.clientHeight, dpr);
    const overlayOn = getState().overlay.visible && getState().result !== null;
    const covered = overlayOn && axial ? overlayTiles.coveredRects(view.current, canvas.clientWidth, canvas.clientHeight, dpr) : null;
    if (overlayCanvas) {
      ctx.imageSmoothingEnabled = false;
      if (covered && covered.length > 0) {
        // The preview map is the backdrop only where no overlay tile is drawn: never both blended on one pixel.
        ctx.save();
        ctx.beginPath();
        ctx.rect(0, 0, widthPx, heightPx);
        for (const r of covered) ctx.rect(r[0], r[1], r[2], r[3]);
        ctx.clip('evenodd');
        ctx.drawImage(overlayCanvas, 0, 0, widthPx, heightPx);
        ctx.restore();
      } else {
        ctx.drawImage(overlayCanvas, 0, 0, widthPx, heightPx);
      }
    }
    if (overlayOn && axial) overlayTiles.draw(ctx, view.current, canvas.clientWidth, canvas.clientHeight, dpr);
    // Screen-space decorations: thin lines whatever the zoom.
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const sx = (x: number) => tx + x * s;
    const sy = (y: number) => ty + y * s * aspect;
    if (mpr) {
      // The other two planes through the linked cursor, on pixel centres, snapped to whole screen pixels (crisp).
      const c = getState().crosshair;
      const lines: Array<{ color: string; vertical: boolean; at: number }> =
        axis === 'axial'
          ? [
              { color: PLANE_COLORS.sagittal, vertical: true, at: sx(c.x + 0.5) },
              { color: PLANE_COLORS.coronal, vertical: false, at: sy(c.y + 0.5) },
            ]
          : [
              { color: axis === 'coronal' ? PLANE_COLORS.sagittal : PLANE_COLORS.coronal, vertical: true, at: sx((axis === 'coronal' ? c.x : c.y) + 0.5) },
              { color: PLANE_COLORS.axial, vertical: false, at: sy(rowOfZ(c.z) + 0.5) },
            ];
      const cw = canvas.clientWidth;
      const ch = canvas.clientHeight;
      ctx.lineWidth = 1;
      for (const l of lines) {
        const p = Math.floor(l.at) + 0.5;
        ctx.strokeStyle = l.color;
        ctx.beginPath();
        if (l.vertical) {
          ctx.moveTo(p, 0);
          ctx.lineTo(p, ch);
        } else {
          ctx.moveTo(0, p);
          ctx.lineTo(cw, p);
        }
        ctx.stroke();
      }
    }
    if (axial && selected && onSlice(selected, getState().z)) {
      const [x0 = 0, y0 = 0] = selected.bbox.min;
      const [x1 = 0, y1 = 0] = selected.bbox.max;
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 1;
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(sx(x0) - 3, sy(y0) - 3, (x1 - x0 + 1) * s + 6, (y1 - y0 + 1) * s * aspect + 6);
      ctx.setLineDash([]);
      const recist = typeof selected.recistSlice === 'number' ? selected.recistSlice : null;
      if (recist === null || recist === getState().z) {
        for (const [key, color] of [
          ['longAxisEndsPx', '#ffd33d'],
          ['shortAxisEndsPx', '#4fd1ff'],
        ] as const) {
          const ends = axisEnds(selected[key]);
          if (!ends) continue;
          ctx.strokeStyle = color;
          ctx.lineWidth = 1.5;
          ctx.beginPath();
          ctx.moveTo(sx(ends[0][0] + 0.5), sy(ends[0][1] + 0.5));
          ctx.lineTo(sx(ends[1][0] + 0.5), sy(ends[1][1] + 0.5));
          ctx.stroke();
        }
      }
    }
    if (axial) drawShapes(ctx, { sx, sy });
    const g = gesture.current;
    const [rx, ry] = brushRadiusPx();
    if (g?.kind === 'stroke' && g.points.length > 0) {
      // The stroke as it is drawn; the engine's answer replaces it with the real map.
      ctx.fillStyle = g.tool === 'eraser' ? 'rgba(0,0,0,0.55)' : 'rgba(255,255,255,0.45)';
      for (const [px, py] of g.points) {
        ctx.beginPath();
        ctx.ellipse(sx(px), sy(py), rx * s, ry * s * aspect, 0, 0, Math.PI * 2);
        ctx.fill();
      }
    }
    const m = mouse.current;
    if (m && editsHere && (tool === 'brush' || tool === 'eraser')) {
      ctx.strokeStyle = tool === 'eraser' ? '#ff7b72' : '#ffffff';
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.ellipse(m.x, m.y, rx * s, ry * s * aspect, 0, 0, Math.PI * 2);
      ctx.stroke();
    }
    if (axial) apply(op.zoomChanged(s * 100));
    // shapesKey is not read here: drawShapes reads the shape drafts from module state (tools/gestures.ts), and a new
    // key (a draft or manual measurement changed) must give a new draw, which the effects below then run.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [slice, sliceCanvas, overlayCanvas, widthPx, heightPx, aspect, axial, axis, mpr, rowOfZ, selected, tool, editsHere, brushRadiusPx, tiles, overlayTiles, shapesKey]);
  useEffect(() => {
    redraw.current = draw;
  }, [draw]);

  // The tiles are of what the preview shows: same image, slice, window and bands (read when the preview arrives).
  useEffect(() => {
    tiles.setSource(
      // Tiles are square in image pixels: an image with non-square pixels keeps its (stretched) preview instead.
      image && slice && axial && aspect === 1
        ? { handle: image.handle, z: getState().z, width: widthPx, height: heightPx, window: slice.window, ...(slice.bandWindows ? { bandWindows: slice.bandWindows } : {}), bands: getState().display.bands, previewScale: slice.scale }
        : null,
    );
    // A newly opened image arrives with its first slice in one update (state/commands.ts reads the slice before it
    // swaps images), and the fit effect below draws it once fitted. Drawing here first would draw, and queue
    // full-resolution tiles for, a view nobody sees: the previous image's zoom or the initial 1:1 at the top-left.
    if (fittedFor.current === fitKey) redraw.current();
  }, [tiles, image, slice, widthPx, heightPx, axial, aspect, fitKey]);
  useEffect(() => () => tiles.dispose(), [tiles]);

  const fit = useCallback(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const cw = canvas.clientWidth;
    const ch = canvas.clientHeight;
    const s = Math.min(cw / widthPx, ch / (heightPx * aspect)) * 0.95;
    view.current = { s, tx: (cw - widthPx * s) / 2, ty: (ch - heightPx * s * aspect) / 2 };
    draw();
  }, [widthPx, heightPx, aspect, draw]);

  useEffect(() => viewerActions.registerFit(axis, fit), [axis, fit]);

  useEffect(() => {
    if (!axial) return;
    viewerActions.panBy = (dx, dy) => {
      const t0 = performance.now();
      const v = view.current;
      view.current = { ...v, tx: v.tx + dx, ty: v.ty + dy };
      draw();
      return performance.now() - t0;
    };
    viewerActions.tileStats = tiles.stats;
    viewerActions.overlayTileStats = overlayTiles.stats;
    viewerActions.centreOn = (x, y, s) => {
      const canvas = canvasRef.current;
      if (!canvas) return;
      const scale = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, s));
      // Whole CSS pixels: at 1:1 image pixels then land on whole screen pixels.
      view.current = { s: scale, tx: Math.round(canvas.clientWidth / 2 - x * scale), ty: Math.round(canvas.clientHeight / 2 - y * scale * aspect) };
      draw();
    };
    return () => {
      viewerActions.panBy = null;
      viewerActions.tileStats = null;
      viewerActions.overlayTileStats = null;
      viewerActions.centreOn = null;
    };
  }, [draw, tiles, overlayTiles, axial, aspect]);

  // Fit once per opened image (and once the plane's aspect is known); later slices keep the user's pan and zoom.
  useEffect(() => {
    if (image && fittedFor.current !== fitKey) {
      fittedFor.current = fitKey;
      fit();
    } else {
      draw();
    }
  }, [image, fitKey, fit, draw, brushDiameter, crosshair]);

  // Centre on the selected instance when asked (a table row was clicked): its slice, its centre, in view.
  const lastFocus = useRef(focusRequest);
  useEffect(() => {
    if (focusRequest === lastFocus.current) return;
    lastFocus.current = focusRequest;
    const canvas = canvasRef.current;
    if (!selected || !canvas || !axial) return;
    // The RECIST slice, centred on the long axis (measurements/focus.ts says why).
    const { x: cx, y: cy, z: targetZ } = focusTarget(selected);
    // In the MPR layout the linked cursor goes to the object too, so every view shows it.
    if (targetZ !== undefined && depth > 1 && mpr) void moveCrosshair({ x: Math.round(cx), y: Math.round(cy), z: Math.round(targetZ) });
    else if (targetZ !== undefined && depth > 1) void cmd.goToSlice(Math.round(targetZ));
    const cw = canvas.clientWidth;
    const ch = canvas.clientHeight;
    const bw = (selected.bbox.max[0] ?? 0) - (selected.bbox.min[0] ?? 0) + 1;
    const bh = (selected.bbox.max[1] ?? 0) - (selected.bbox.min[1] ?? 0) + 1;
    let s = view.current.s;
    // Zoom out if it does not fit; zoom in if it would be a speck.
    const fitS = Math.min((cw * 0.6) / bw, (ch * 0.6) / (bh * aspect));
    if (s > fitS || s * Math.max(bw, bh) < 24) s = Math.min(MAX_ZOOM, fitS);
    view.current = { s, tx: cw / 2 - (cx + 0.5) * s, ty: ch / 2 - (cy + 0.5) * s * aspect };
    draw();
  }, [focusRequest, selected, depth, draw, axial, mpr, aspect]);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const observer = new ResizeObserver(() => draw());
    observer.observe(canvas);
    return () => observer.disconnect();
  }, [draw]);

  // Wheel needs a non-passive listener to keep the page from scrolling.
  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      // Volumes scroll slices on the wheel (radiology habit) and zoom with Ctrl; 2D images and maps zoom.
      if ((depth > 1 && !e.ctrlKey && !e.metaKey) || e.shiftKey || e.altKey) {
        const delta = e.deltaY || e.deltaX;
        if (delta !== 0 && depth > 1) void stepView(axis, Math.sign(delta));
        return;
      }
      const rect = canvas.getBoundingClientRect();
      const mx = e.clientX - rect.left;
      const my = e.clientY - rect.top;
      const v = view.current;
      const s = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, v.s * Math.exp(-e.deltaY * 0.0015)));
      const k = s / v.s;
      // Keep the image point under the cursor fixed.
      view.current = { s, tx: mx - (mx - v.tx) * k, ty: my - (my - v.ty) * k };
      draw();
    };
    canvas.addEventListener('wheel', onWheel, { passive: false });
    return () => canvas.removeEventListener('wheel', onWheel);
  }, [draw, depth, axis]);

  /** Plane pixel coordinates (axial: image pixels) under the pointer. */
  const imagePoint = (e: React.PointerEvent<HTMLCanvasElement>): [number, number] => {
    const rect = e.currentTarget.getBoundingClientRect();
    const v = view.current;
    return [(e.clientX - rect.left - v.tx) / v.s, (e.clientY - rect.top - v.ty) / (v.s * aspect)];
  };

  /** Moves the linked cursor to the voxel under the pointer (clamped to the plane). */
  const crosshairTo = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const [px, py] = imagePoint(e);
    const col = Math.max(0, Math.min(widthPx - 1, Math.floor(px)));
    const row = Math.max(0, Math.min(heightPx - 1, Math.floor(py)));
    void moveCrosshair(voxelAt(col, row));
  };

  const onPointerDown = (e: React.PointerEvent<HTMLCanvasElement>) => {
    e.currentTarget.setPointerCapture(e.pointerId);
    e.currentTarget.focus();
    if (e.button === 2 && tool === 'ai' && editsHere) {
      // The AI tool: a right-click excludes (as Alt-click does), instead of window/level.
      shapePointerDown(imagePoint(e), { altKey: true }, view.current.s);
      return;
    }
    if (e.button === 2) {
      const w = getState().display.window ?? getState().slice?.window;
      if (w) gesture.current = { kind: 'window', x: e.clientX, y: e.clientY, center: w.center, width: w.width };
      return;
    }
    if (e.button === 0 && tool === 'crosshair' && volumeDepth > 1) {
      gesture.current = { kind: 'crosshair' };
      crosshairTo(e);
      return;
    }
    if (e.button === 0 && editsHere && isShapeTool(tool)) {
      shapePointerDown(imagePoint(e), e, view.current.s);
      return;
    }
    // Coronal and sagittal views do not edit (the tool's tooltip and this view's say so): they pan.
    if (e.button === 0 && editsHere && (tool === 'brush' || tool === 'eraser')) {
      if (!getState().result) {
        apply(op.errorShown('Run a model first: the brush and eraser edit its result.'));
        return;
      }
      gesture.current = { kind: 'stroke', tool, points: [imagePoint(e)], z: getState().z };
      draw();
      return;
    }
    gesture.current = { kind: 'pan', x: e.clientX, y: e.clientY, moved: 0, click: e.button === 0 };
  };

  const onPointerMove = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    mouse.current = { x: e.clientX - rect.left, y: e.clientY - rect.top };
    const g = gesture.current;
    const v = view.current;
    if (g?.kind === 'pan') {
      view.current = { ...v, tx: v.tx + e.clientX - g.x, ty: v.ty + e.clientY - g.y };
      g.moved += Math.abs(e.clientX - g.x) + Math.abs(e.clientY - g.y);
      g.x = e.clientX;
      g.y = e.clientY;
    } else if (g?.kind === 'window') {
      // Horizontal = width (contrast), vertical = level (brightness), as in every PACS viewer. A pixel of drag moves
      // the window by a fixed share of the image's value range (MR in the thousands, CT in HU, 8-bit in 0-255), so
      // the same gesture does as much on any image; without a known range, by a share of the window itself.
      const st = getState();
      const range = st.windows && st.windows.handle === st.image?.handle ? st.windows.value.rangeHigh - st.windows.value.rangeLow : 0;
      const k = range > 0 ? range / 512 : Math.max(g.width, 1) / 256;
      void cmd.setWindow({ center: g.center - (e.clientY - g.y) * k, width: Math.max(1, g.width + (e.clientX - g.x) * k) });
    } else if (g?.kind === 'crosshair') {
      crosshairTo(e);
    } else if (g?.kind === 'stroke') {
      const p = imagePoint(e);
      const last = g.points[g.points.length - 1];
      const [rx] = brushRadiusPx();
      // Keep points about a third of the brush apart: a smooth swept path without thousands of points.
      if (!last || Math.hypot(p[0] - last[0], p[1] - last[1]) >= Math.max(0.5, rx / 3)) g.points.push(p);
    }
    if (editsHere && isShapeTool(tool)) shapePointerMove(imagePoint(e));
    const [ix, iy] = imagePoint(e);
    const x = Math.floor(ix);
    const y = Math.floor(iy);
    const inside = x >= 0 && y >= 0 && x < widthPx && y < heightPx;
    // The read-out names the voxel: a coronal/sagittal view's pixel is on another axial slice (z given).
    const at = inside ? voxelAt(x, y) : null;
    cmd.pointAt(at ? (axial ? { x: at.x, y: at.y } : at) : null);
    draw();
  };

  const onPointerUp = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const g = gesture.current;
    gesture.current = null;
    if ((e.button === 0 || (e.button === 2 && tool === 'ai')) && editsHere && isShapeTool(tool)) shapePointerUp(imagePoint(e));
    if (g?.kind === 'pan' && g.click && g.moved < CLICK_SLOP) {
      const [x, y] = imagePoint(e);
      // The full-resolution tile under the pointer when there is one (the preview map is coarser).
      const id = (axial ? overlayTiles.idAt(x, y) : null) ?? instanceAt(resultSlice, x, y);
      const res = getState().result;
      // Shift/Ctrl-click picks several objects (for Merge).
      if (axial && (e.shiftKey || e.ctrlKey || e.metaKey)) toggleAt([x, y]);
      else if (axial && res?.windowed && x >= 0 && y >= 0 && x < widthPx && y < heightPx) void cmd.selectAt(res.resultId, Math.floor(x), Math.floor(y), getState().z);
      else apply(op.instanceSelected(id === 0 ? null : id));
      // In the MPR layout a click also moves the linked cursor there.
      if (mpr) crosshairTo(e);
    } else if (g?.kind === 'stroke') {
      const radiusPx = brushRadiusPx();
      const points = g.points.slice(0, 8192);
      if (g.tool === 'eraser') {
        void cmd.edit({ op: 'eraseStroke', z: g.z, points, radiusPx });
      } else {
        const { selectedId: sel, activeClassId, resultSlice: rs } = getState();
        const under = instanceAt(rs, points[0]![0], points[0]![1]);
        const into = sel ?? (under || null);
        void cmd.edit({ op: 'paintStroke', z: g.z, points, radiusPx, target: into !== null ? { instanceId: into } : { newInstanceOfClass: activeClassId } });
      }
    }
    draw();
  };

  const onPointerLeave = () => {
    mouse.current = null;
    if (viewerActions.hovered === axis) viewerActions.hovered = null;
    cmd.pointAt(null);
    draw();
  };

  // Coronal and sagittal views pan where the tool would edit or measure (axial only), and say so in the tooltip.
  const axialOnly = !editsHere && (tool === 'brush' || tool === 'eraser' || isShapeTool(tool));
  const toolClass = axialOnly ? 'pan' : tool;
  return (
    <div className={`viewer viewer-${axis}${mpr ? ' viewer-mpr' : ''}`} data-testid={tid('viewer')}>
      <canvas
        ref={canvasRef}
        tabIndex={0}
        className={`viewer-canvas tool-${toolClass}`}
        data-testid={tid('viewer-canvas')}
        title={axialOnly ? AXIAL_ONLY_TOOLS : undefined}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerEnter={() => {
          viewerActions.hovered = axis;
        }}
        onPointerUp={onPointerUp}
        onDoubleClick={() => void (editsHere && isShapeTool(tool) && shapeDoubleClick())}
        onPointerLeave={onPointerLeave}
        onContextMenu={(e) => e.preventDefault()}
      />
      {mpr && (
        <span className="view-label" data-testid={tid('view-label')} style={{ borderColor: PLANE_COLORS[axis] }}>
          {AXIS_NAMES[axis]}
        </span>
      )}
      {info?.kind === 'medical' && info.direction && <OrientationMarks axis={axis} direction={info.direction} flipRows={plane.flip} />}
      <div className="viewer-controls">
        <button data-testid={tid('fit-button')} onClick={fit} title={tip('Fit the image to the window', 'fit')}>
          Fit
        </button>
        {depth > 1 && (
          <>
            <input
              type="range"
              data-testid={tid('slice-slider')}
              min={0}
              max={depth - 1}
              value={z}
              onChange={(e) => void (axial ? cmd.goToSlice(Number(e.target.value)) : stepView(axis, Number(e.target.value) - z))}
              aria-label={`${AXIS_NAMES[axis]} slice`}
              title="Slice (wheel, ↑/↓)"
            />
            <span className="slice-label" data-testid={tid('slice-label')}>
              {z + 1}/{depth}
            </span>
          </>
        )}
      </div>
      {axial && <ScaleBar unitName={unit.unit} perPx={unit.perPxX} />}
    </div>
  );
}

/** Patient directions at the four edges of the view (orientation.ts: the dominant axis, oblique included). */
function OrientationMarks({ axis, direction, flipRows }: { axis: SliceAxis; direction: number[]; flipRows: boolean }) {
  const letters = orientationLetters(direction, axis, flipRows);
  return (
    <>
      {(['top', 'bottom', 'left', 'right'] as const).map((edge) => (
        <span key={edge} className={`orient orient-${edge}`} data-testid={`orient-${edge}-${axis}`} title="Patient direction (A/P anterior/posterior, R/L right/left, S/I superior/inferior)">
          {letters[edge]}
        </span>
      ))}
    </>
  );
}

/** A bar of a round length, about 80-160 screen pixels long, bottom-left. */
function ScaleBar({ unitName, perPx }: { unitName: 'mm' | 'm' | 'px'; perPx: number }) {
  const zoomPct = useStore((s) => s.zoomPct);
  const screenPerPx = zoomPct / 100;
  if (!(screenPerPx > 0) || !(perPx > 0)) return null;
  const length = niceLength((160 / screenPerPx) * perPx);
  const barPx = (length / perPx) * screenPerPx;
  if (!(barPx > 10)) return null;
  return (
    <div className="scale-bar" data-testid="scale-bar" title="Scale bar">
      <div className="scale-bar-line" style={{ width: `${barPx}px` }} />
      <span data-testid="scale-bar-label">{formatLength(length, unitName)}</span>
    </div>
  );
}
