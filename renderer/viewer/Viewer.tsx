// The image viewer: draws the engine's slice preview and the result's instance overlay on one 2D canvas, with
// pan (drag, middle-drag), zoom (wheel around the cursor; Ctrl+wheel on volumes), fit, slice scrolling (wheel on
// volumes, arrow keys, slider), window/level by right-drag, click-to-select, brush/eraser strokes, the selected
// object's box and RECIST axes, and a scale bar. Image and overlay are both drawn onto the image's full pixel
// extent, so previews of any size line up with each other and with the cursor read-out. Rasters larger than the
// preview get full-resolution tiles of the level that matches the zoom over the preview (tiles.ts).
import { useCallback, useEffect, useMemo, useRef } from 'react';
import type { InstanceRecord, ResultSlice, SliceBitmap } from '../../preload/api';
import { apply, getState, useStore } from '../state/store';
import * as op from '../state/operations';
import * as cmd from '../state/commands';
import { hexToRgb, instanceColor, paintOverlay, type Rgb } from '../overlays/colors';
import { tip } from '../shortcuts';
import { viewerActions } from './actions';
import { TileLayer } from './tiles';
import { formatLength, lengthUnit, niceLength } from './units';

/** Screen (CSS) pixels per image pixel, and where image pixel (0,0) lands. */
interface View {
  s: number;
  tx: number;
  ty: number;
}

type Gesture =
  | { kind: 'pan'; x: number; y: number; moved: number; click: boolean }
  | { kind: 'window'; x: number; y: number; center: number; width: number }
  | { kind: 'stroke'; tool: 'brush' | 'eraser'; points: Array<[number, number]>; z: number };

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

function axisEnds(v: unknown): [[number, number], [number, number]] | null {
  if (!Array.isArray(v) || v.length !== 2) return null;
  const [a, b] = v as unknown[];
  if (!Array.isArray(a) || !Array.isArray(b)) return null;
  const n = [a[0], a[1], b[0], b[1]];
  if (!n.every((x) => typeof x === 'number')) return null;
  return [
    [n[0] as number, n[1] as number],
    [n[2] as number, n[3] as number],
  ];
}

export function Viewer() {
  const image = useStore((s) => s.image);
  const slice = useStore((s) => s.slice);
  const z = useStore((s) => s.z);
  const result = useStore((s) => s.result);
  const resultSlice = useStore((s) => s.resultSlice);
  const overlay = useStore((s) => s.overlay);
  const selectedId = useStore((s) => s.selectedId);
  const tool = useStore((s) => s.tool);
  const brushDiameter = useStore((s) => s.brushDiameter);
  const focusRequest = useStore((s) => s.focusRequest);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const view = useRef<View>({ s: 1, tx: 0, ty: 0 });
  const fittedFor = useRef<string | null>(null);
  const gesture = useRef<Gesture | null>(null);
  const mouse = useRef<{ x: number; y: number } | null>(null);
  // Tiles arrive asynchronously: each asks for one redraw on the next frame, whatever draw is current then.
  const redraw = useRef<() => void>(() => undefined);
  const redrawPending = useRef(false);
  const tiles = useMemo(
    () =>
      new TileLayer(
        (request) => window.delineate.imageTile(request),
        () => {
          if (redrawPending.current) return;
          redrawPending.current = true;
          requestAnimationFrame(() => {
            redrawPending.current = false;
            redraw.current();
          });
        },
      ),
    [],
  );

  const info = image?.info;
  const widthPx = info?.width ?? 1;
  const heightPx = info?.height ?? 1;
  const depth = info?.depth ?? 1;
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
    if (!resultSlice || !result || resultSlice.resultId !== result.resultId || !overlay.visible) return null;
    const rgba = paintOverlay(resultSlice, { colorOf, opacity: overlay.opacity, outline: overlay.outline, selectedId });
    return toCanvas(resultSlice.width, resultSlice.height, rgba);
  }, [resultSlice, result, colorOf, overlay.visible, overlay.opacity, overlay.outline, selectedId]);
  const selected = useMemo(() => document_?.instances.find((r) => r.id === selectedId) ?? null, [document_, selectedId]);

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
    ctx.setTransform(dpr * s, 0, 0, dpr * s, dpr * tx, dpr * ty);
    // Crisp pixels when magnified (reading values), smooth when minified.
    ctx.imageSmoothingEnabled = s * (slice?.scale ?? 1) < 2;
    // The preview is the backdrop while tiles load; under a full cover of tiles it is not drawn.
    if (sliceCanvas && !tiles.covers(view.current, canvas.clientWidth, canvas.clientHeight, dpr)) ctx.drawImage(sliceCanvas, 0, 0, widthPx, heightPx);
    tiles.draw(ctx, view.current, canvas.clientWidth, canvas.clientHeight, dpr);
    if (overlayCanvas) {
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(overlayCanvas, 0, 0, widthPx, heightPx);
    }
    // Screen-space decorations: thin lines whatever the zoom.
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const sx = (x: number) => tx + x * s;
    const sy = (y: number) => ty + y * s;
    if (selected && onSlice(selected, getState().z)) {
      const [x0 = 0, y0 = 0] = selected.bbox.min;
      const [x1 = 0, y1 = 0] = selected.bbox.max;
      ctx.strokeStyle = '#ffffff';
      ctx.lineWidth = 1;
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(sx(x0) - 3, sy(y0) - 3, (x1 - x0 + 1) * s + 6, (y1 - y0 + 1) * s + 6);
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
    const g = gesture.current;
    const [rx, ry] = brushRadiusPx();
    if (g?.kind === 'stroke' && g.points.length > 0) {
      // The stroke as it is drawn; the engine's answer replaces it with the real map.
      ctx.fillStyle = g.tool === 'eraser' ? 'rgba(0,0,0,0.55)' : 'rgba(255,255,255,0.45)';
      for (const [px, py] of g.points) {
        ctx.beginPath();
        ctx.ellipse(sx(px), sy(py), rx * s, ry * s, 0, 0, Math.PI * 2);
        ctx.fill();
      }
    }
    const m = mouse.current;
    if (m && (tool === 'brush' || tool === 'eraser')) {
      ctx.strokeStyle = tool === 'eraser' ? '#ff7b72' : '#ffffff';
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.ellipse(m.x, m.y, rx * s, ry * s, 0, 0, Math.PI * 2);
      ctx.stroke();
    }
    apply(op.zoomChanged(s * 100));
  }, [slice, sliceCanvas, overlayCanvas, widthPx, heightPx, selected, tool, brushRadiusPx, tiles]);
  useEffect(() => {
    redraw.current = draw;
  }, [draw]);

  // The tiles are of what the preview shows: same image, slice, window and bands (read when the preview arrives).
  useEffect(() => {
    tiles.setSource(
      image && slice
        ? { handle: image.handle, z: getState().z, width: widthPx, height: heightPx, window: slice.window, bands: getState().display.bands, previewScale: slice.scale }
        : null,
    );
    redraw.current();
  }, [tiles, image, slice, widthPx, heightPx]);
  useEffect(() => () => tiles.dispose(), [tiles]);

  const fit = useCallback(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const cw = canvas.clientWidth;
    const ch = canvas.clientHeight;
    const s = Math.min(cw / widthPx, ch / heightPx) * 0.95;
    view.current = { s, tx: (cw - widthPx * s) / 2, ty: (ch - heightPx * s) / 2 };
    draw();
  }, [widthPx, heightPx, draw]);

  useEffect(() => {
    viewerActions.fit = fit;
    return () => {
      viewerActions.fit = null;
    };
  }, [fit]);

  useEffect(() => {
    viewerActions.panBy = (dx, dy) => {
      const t0 = performance.now();
      const v = view.current;
      view.current = { ...v, tx: v.tx + dx, ty: v.ty + dy };
      draw();
      return performance.now() - t0;
    };
    viewerActions.tileStats = tiles.stats;
    return () => {
      viewerActions.panBy = null;
      viewerActions.tileStats = null;
    };
  }, [draw, tiles]);

  // Fit once per opened image; later slices keep the user's pan and zoom.
  useEffect(() => {
    if (image && fittedFor.current !== image.handle) {
      fittedFor.current = image.handle;
      fit();
    } else {
      draw();
    }
  }, [image, fit, draw, brushDiameter]);

  // Centre on the selected instance when asked (a table row was clicked): its slice, its centre, in view.
  const lastFocus = useRef(focusRequest);
  useEffect(() => {
    if (focusRequest === lastFocus.current) return;
    lastFocus.current = focusRequest;
    const canvas = canvasRef.current;
    if (!selected || !canvas) return;
    const [cx = 0, cy = 0, cz] = selected.centroidPx;
    const targetZ = typeof selected.recistSlice === 'number' ? selected.recistSlice : cz;
    if (targetZ !== undefined && depth > 1) void cmd.goToSlice(Math.round(targetZ));
    const cw = canvas.clientWidth;
    const ch = canvas.clientHeight;
    const bw = (selected.bbox.max[0] ?? 0) - (selected.bbox.min[0] ?? 0) + 1;
    const bh = (selected.bbox.max[1] ?? 0) - (selected.bbox.min[1] ?? 0) + 1;
    let s = view.current.s;
    // Zoom out if it does not fit; zoom in if it would be a speck.
    const fitS = Math.min((cw * 0.6) / bw, (ch * 0.6) / bh);
    if (s > fitS || s * Math.max(bw, bh) < 24) s = Math.min(MAX_ZOOM, fitS);
    view.current = { s, tx: cw / 2 - (cx + 0.5) * s, ty: ch / 2 - (cy + 0.5) * s };
    draw();
  }, [focusRequest, selected, depth, draw]);

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
        if (delta !== 0 && depth > 1) void cmd.goToSlice(getState().z + Math.sign(delta));
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
  }, [draw, depth]);

  const imagePoint = (e: React.PointerEvent<HTMLCanvasElement>): [number, number] => {
    const rect = e.currentTarget.getBoundingClientRect();
    const v = view.current;
    return [(e.clientX - rect.left - v.tx) / v.s, (e.clientY - rect.top - v.ty) / v.s];
  };

  const onPointerDown = (e: React.PointerEvent<HTMLCanvasElement>) => {
    e.currentTarget.setPointerCapture(e.pointerId);
    e.currentTarget.focus();
    if (e.button === 2) {
      const w = getState().display.window ?? getState().slice?.window;
      if (w) gesture.current = { kind: 'window', x: e.clientX, y: e.clientY, center: w.center, width: w.width };
      return;
    }
    if (e.button === 0 && (tool === 'brush' || tool === 'eraser')) {
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
      // Horizontal = width (contrast), vertical = level (brightness), as in every PACS viewer.
      const k = Math.max(g.width, 1) / 256;
      void cmd.setWindow({ center: g.center - (e.clientY - g.y) * k, width: Math.max(1, g.width + (e.clientX - g.x) * k) });
    } else if (g?.kind === 'stroke') {
      const p = imagePoint(e);
      const last = g.points[g.points.length - 1];
      const [rx] = brushRadiusPx();
      // Keep points about a third of the brush apart: a smooth swept path without thousands of points.
      if (!last || Math.hypot(p[0] - last[0], p[1] - last[1]) >= Math.max(0.5, rx / 3)) g.points.push(p);
    }
    const [ix, iy] = imagePoint(e);
    const x = Math.floor(ix);
    const y = Math.floor(iy);
    cmd.pointAt(x >= 0 && y >= 0 && x < widthPx && y < heightPx ? { x, y } : null);
    draw();
  };

  const onPointerUp = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const g = gesture.current;
    gesture.current = null;
    if (g?.kind === 'pan' && g.click && g.moved < CLICK_SLOP) {
      const [x, y] = imagePoint(e);
      const id = instanceAt(getState().resultSlice, x, y);
      apply(op.instanceSelected(id === 0 ? null : id));
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
    cmd.pointAt(null);
    draw();
  };

  return (
    <div className="viewer" data-testid="viewer">
      <canvas
        ref={canvasRef}
        tabIndex={0}
        className={`viewer-canvas tool-${tool}`}
        data-testid="viewer-canvas"
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerLeave={onPointerLeave}
        onContextMenu={(e) => e.preventDefault()}
      />
      <div className="viewer-controls">
        <button data-testid="fit-button" onClick={fit} title={tip('Fit the image to the window', 'fit')}>
          Fit
        </button>
        {depth > 1 && (
          <>
            <input
              type="range"
              data-testid="slice-slider"
              min={0}
              max={depth - 1}
              value={z}
              onChange={(e) => void cmd.goToSlice(Number(e.target.value))}
              aria-label="Slice"
              title="Slice (wheel, ↑/↓)"
            />
            <span className="slice-label" data-testid="slice-label">
              {z + 1}/{depth}
            </span>
          </>
        )}
      </div>
      <ScaleBar unitName={unit.unit} perPx={unit.perPxX} />
    </div>
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
