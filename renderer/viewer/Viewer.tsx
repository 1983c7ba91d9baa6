// The image viewer: draws the engine's slice preview on a canvas with pan (drag), zoom (wheel, around the
// cursor), fit, slice scrolling (Shift/Alt+wheel, arrow keys, slider) and the segmentation overlay on top.
import { useCallback, useEffect, useMemo, useRef } from 'react';
import type { SliceBitmap } from '../../preload/api';
import { apply, getState, useStore } from '../state/store';
import * as op from '../state/operations';
import * as cmd from '../state/commands';

/** Screen (CSS) pixels per image pixel, and where image pixel (0,0) lands. */
interface View {
  s: number;
  tx: number;
  ty: number;
}

const MIN_ZOOM = 0.01;
const MAX_ZOOM = 64;
const OVERLAY_ALPHA = 0.5;

/** Copies an RGBA bitmap into a canvas once, so every redraw is a cheap drawImage. */
function toCanvas(bitmap: SliceBitmap | null): HTMLCanvasElement | null {
  if (!bitmap) return null;
  const c = document.createElement('canvas');
  c.width = bitmap.width;
  c.height = bitmap.height;
  const ctx = c.getContext('2d');
  if (!ctx) return null;
  const pixels = new Uint8ClampedArray(bitmap.rgba.buffer as ArrayBuffer, bitmap.rgba.byteOffset, bitmap.width * bitmap.height * 4);
  ctx.putImageData(new ImageData(pixels, bitmap.width, bitmap.height), 0, 0);
  return c;
}

export function Viewer() {
  const image = useStore((s) => s.image);
  const slice = useStore((s) => s.slice);
  const overlay = useStore((s) => s.overlay);
  const z = useStore((s) => s.z);
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const view = useRef<View>({ s: 1, tx: 0, ty: 0 });
  const fittedFor = useRef<string | null>(null);
  const drag = useRef<{ x: number; y: number } | null>(null);

  const sliceCanvas = useMemo(() => toCanvas(slice), [slice]);
  const overlayCanvas = useMemo(() => toCanvas(overlay), [overlay]);
  const widthPx = image?.info.width ?? 1;
  const heightPx = image?.info.height ?? 1;
  const depth = image?.info.depth ?? 1;

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
    if (sliceCanvas && slice) ctx.drawImage(sliceCanvas, 0, 0, slice.width * slice.scale, slice.height * slice.scale);
    if (overlayCanvas && overlay) {
      ctx.globalAlpha = OVERLAY_ALPHA;
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(overlayCanvas, 0, 0, overlay.width * overlay.scale, overlay.height * overlay.scale);
      ctx.globalAlpha = 1;
    }
    apply(op.zoomChanged(s * 100));
  }, [slice, sliceCanvas, overlay, overlayCanvas]);

  const fit = useCallback(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const cw = canvas.clientWidth;
    const ch = canvas.clientHeight;
    const s = Math.min(cw / widthPx, ch / heightPx) * 0.95;
    view.current = { s, tx: (cw - widthPx * s) / 2, ty: (ch - heightPx * s) / 2 };
    draw();
  }, [widthPx, heightPx, draw]);

  // Fit once per opened image; later slices keep the user's pan and zoom.
  useEffect(() => {
    if (image && fittedFor.current !== image.handle) {
      fittedFor.current = image.handle;
      fit();
    } else {
      draw();
    }
  }, [image, fit, draw]);

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
      if (e.shiftKey || e.altKey) {
        const delta = e.deltaY || e.deltaX;
        if (delta !== 0) void cmd.goToSlice(getState().z + Math.sign(delta));
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
  }, [draw]);

  const onPointerDown = (e: React.PointerEvent<HTMLCanvasElement>) => {
    e.currentTarget.setPointerCapture(e.pointerId);
    drag.current = { x: e.clientX, y: e.clientY };
  };
  const onPointerMove = (e: React.PointerEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    const v = view.current;
    if (drag.current) {
      view.current = { ...v, tx: v.tx + e.clientX - drag.current.x, ty: v.ty + e.clientY - drag.current.y };
      drag.current = { x: e.clientX, y: e.clientY };
      draw();
    }
    const x = Math.floor((e.clientX - rect.left - view.current.tx) / view.current.s);
    const y = Math.floor((e.clientY - rect.top - view.current.ty) / view.current.s);
    apply(op.cursorMoved(x >= 0 && y >= 0 && x < widthPx && y < heightPx ? { x, y } : null));
  };
  const onPointerUp = () => {
    drag.current = null;
  };
  const onKeyDown = (e: React.KeyboardEvent) => {
    if (e.key === 'ArrowUp' || e.key === 'PageUp') void cmd.goToSlice(z + 1);
    else if (e.key === 'ArrowDown' || e.key === 'PageDown') void cmd.goToSlice(z - 1);
    else if (e.key === 'f') fit();
    else return;
    e.preventDefault();
  };

  return (
    <div className="viewer" tabIndex={0} onKeyDown={onKeyDown} data-testid="viewer">
      <canvas
        ref={canvasRef}
        className="viewer-canvas"
        data-testid="viewer-canvas"
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerLeave={() => apply(op.cursorMoved(null))}
      />
      <div className="viewer-controls">
        <button data-testid="fit-button" onClick={fit} title="Fit (F)">
          Fit
        </button>
        {depth > 1 && (
          <input
            type="range"
            data-testid="slice-slider"
            min={0}
            max={depth - 1}
            value={z}
            onChange={(e) => void cmd.goToSlice(Number(e.target.value))}
            aria-label="Slice"
          />
        )}
      </div>
    </div>
  );
}
