// The Compare view: two dates on one common grid side by side (or one view with a swipe line, or flickering between
// them), one shared slice, a linked crosshair at the same grid pixel on every view with its world position in the
// status line, the change overlay (on/off); beside it the lesion tracks with the response (medical) or the from-to
// table and the net change chart (land cover), and the warnings. Esc or Close returns to the viewer.
import { useCallback, useEffect, useRef, useState, type PointerEvent as ReactPointerEvent, type WheelEvent as ReactWheelEvent } from 'react';
import type { CompareResult, CompareSlice, GeoChangeDocument, MedicalChangeDocument } from '../../preload/api';
import * as m from './model';
import { useDismiss } from '../ui/useDismiss';
import * as c from './commands';

/** How often flicker changes the date on screen. */
const FLICKER_MS = 600;

export function CompareView() {
  const phase = c.useCompare((s) => s.phase);
  const result = c.useCompare((s) => s.result);
  const error = c.useCompare((s) => s.error);
  useEffect(() => {
    const key = (e: KeyboardEvent) => {
      if (c.handleCompareKey(e)) {
        e.preventDefault();
        e.stopImmediatePropagation();
      }
    };
    // Capture: the viewer's own shortcuts (Esc deselects, arrows change its slice) must not also act.
    window.addEventListener('keydown', key, true);
    return () => window.removeEventListener('keydown', key, true);
  }, []);
  if (phase === 'running') return <Running />;
  if (!result) return null;
  return (
    <div className="compare" data-testid="compare-view">
      <CompareToolbar result={result} />
      {error && (
        <div className="banner banner-error" role="alert" data-testid="compare-error">
          <span>{error}</span>
          <button aria-label="Dismiss" onClick={() => c.applyCompare(m.errorDismissed())}>
            ×
          </button>
        </div>
      )}
      <div className="compare-body">
        <div className="compare-stage">
          <Views result={result} />
          <CompareStatus result={result} />
        </div>
        <aside className="compare-side" data-testid="compare-side">
          {result.change.kind === 'medical' ? <MedicalPanel change={result.change} result={result} /> : <GeoPanel change={result.change} />}
          {/* Month-precision dates (YYYYMM in a file name) order the dates well enough; only a missing date asks. */}
          {result.timepoints.some((t) => t.date === null) && <DatesForm />}
          <Warnings warnings={result.change.warnings} />
        </aside>
      </div>
    </div>
  );
}

function Running() {
  const progress = c.useCompare((s) => s.progress);
  const names = c.useCompare((s) => s.inputs.map((i) => i.name).join(' and '));
  const pct = progress && progress.total > 0 ? Math.round((progress.done / progress.total) * 100) : 0;
  return (
    <div className="compare compare-running" data-testid="compare-running">
      <p>Comparing {names}…</p>
      <progress max={100} value={pct} />
      <p className="hint" data-testid="compare-stage">
        {progress ? `${progress.stage} (${pct}%)` : 'starting'}
      </p>
      <button data-testid="compare-cancel" onClick={() => void c.cancelRun()}>
        Cancel
      </button>
    </div>
  );
}

function dateLabel(result: CompareResult, i: number): string {
  const tp = result.timepoints[i];
  if (!tp) return '';
  return `${tp.date ?? `date ${i + 1}`} · ${tp.name}`;
}

function CompareToolbar({ result }: { result: CompareResult }) {
  const mode = c.useCompare((s) => s.mode);
  const overlay = c.useCompare((s) => s.overlay);
  const left = c.useCompare((s) => s.left);
  const right = c.useCompare((s) => s.right);
  const z = c.useCompare((s) => s.z);
  const flickerRunning = c.useCompare((s) => s.flickerRunning);
  const swipe = c.useCompare((s) => s.swipe);
  const depth = result.grid.depth;
  const many = result.timepoints.length > 2;
  return (
    <div className="compare-toolbar" role="toolbar" aria-label="Compare">
      <div className="tools" role="group" aria-label="Layout">
        {(['side', 'swipe', 'flicker'] as const).map((k) => (
          <button key={k} className={mode === k ? 'active' : ''} aria-pressed={mode === k} data-testid={`compare-mode-${k}`} onClick={() => c.applyCompare(m.modeChanged(k))}>
            {k === 'side' ? 'Side by side' : k === 'swipe' ? 'Swipe' : 'Flicker'}
          </button>
        ))}
      </div>
      {mode === 'swipe' && (
        <label className="compare-swipe">
          Swipe
          <input type="range" min={0} max={100} value={Math.round(swipe * 100)} data-testid="compare-swipe" onChange={(e) => c.applyCompare(m.swipeMoved(Number(e.target.value) / 100))} />
        </label>
      )}
      {mode === 'flicker' && (
        <button aria-pressed={flickerRunning} data-testid="compare-flicker-toggle" onClick={() => c.applyCompare(m.flickerToggled())}>
          {flickerRunning ? 'Pause flicker' : 'Flicker'}
        </button>
      )}
      <label>
        <input type="checkbox" checked={overlay} data-testid="compare-overlay-toggle" onChange={() => c.applyCompare(m.overlayToggled())} /> Change overlay
      </label>
      {many && (
        <>
          <label>
            Left
            <select value={left} data-testid="compare-left-date" onChange={(e) => void c.pickLeft(Number(e.target.value))}>
              {result.timepoints.map((_, i) => (
                <option key={i} value={i} disabled={i === right}>
                  {dateLabel(result, i)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Right
            <select value={right} data-testid="compare-right-date" onChange={(e) => void c.pickRight(Number(e.target.value))}>
              {result.timepoints.map((_, i) => (
                <option key={i} value={i} disabled={i === left}>
                  {dateLabel(result, i)}
                </option>
              ))}
            </select>
          </label>
        </>
      )}
      {depth > 1 && (
        <label className="compare-slice">
          Slice
          <input type="range" min={0} max={depth - 1} value={z} data-testid="compare-slice" onChange={(e) => void c.goToSlice(Number(e.target.value))} />
          <span data-testid="compare-slice-label">
            {z + 1} / {depth}
          </span>
        </label>
      )}
      <AddDate />
      <button className="compare-close" data-testid="compare-close" onClick={() => void c.closeCompare()} title="Back to the viewer (Esc)">
        Close
      </button>
    </div>
  );
}

/** Another date for the comparison: an image (segmented with the chosen model) or a saved session. */
function AddDate() {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  const close = useCallback(() => setOpen(false), []);
  useDismiss(open, close, root);
  return (
    <div className="menu-anchor" ref={root}>
      <button data-testid="compare-add-date" aria-expanded={open} onClick={() => setOpen(!open)} title="Add a third (or later) date to the comparison">
        Add date ▾
      </button>
      {open && (
        <div className="menu" role="menu">
          <button role="menuitem" data-testid="compare-add-image" onClick={() => (setOpen(false), void c.addDate('image'))}>
            An image... (segmented with the chosen model)
          </button>
          <button role="menuitem" data-testid="compare-add-session" onClick={() => (setOpen(false), void c.addDate('session'))}>
            A saved session... (its result)
          </button>
        </div>
      )}
    </div>
  );
}

function Views({ result }: { result: CompareResult }) {
  const mode = c.useCompare((s) => s.mode);
  const left = c.useCompare((s) => s.left);
  const right = c.useCompare((s) => s.right);
  const flickerShown = c.useCompare((s) => s.flickerShown);
  const flickerRunning = c.useCompare((s) => s.flickerRunning);
  useEffect(() => {
    if (mode !== 'flicker' || !flickerRunning) return;
    const timer = window.setInterval(() => c.applyCompare(m.flickered()), FLICKER_MS);
    return () => window.clearInterval(timer);
  }, [mode, flickerRunning]);
  if (mode === 'side') {
    return (
      <div className="compare-views">
        <DateView result={result} date={left} side="left" />
        <DateView result={result} date={right} side="right" />
      </div>
    );
  }
  if (mode === 'swipe') {
    return (
      <div className="compare-views">
        <DateView result={result} date={left} side="swipe" under={right} />
      </div>
    );
  }
  return (
    <div className="compare-views">
      <DateView result={result} date={m.flickerDate({ left, right, flickerShown })} side="flicker" />
    </div>
  );
}

/** Draws RGBA into a canvas of the bitmap's size. */
function putRgba(ctx: CanvasRenderingContext2D, rgba: Uint8Array, width: number, height: number): void {
  const data = new ImageData(new Uint8ClampedArray(rgba.buffer as ArrayBuffer, rgba.byteOffset, rgba.byteLength).slice(), width, height);
  ctx.putImageData(data, 0, 0);
}

function overlayCanvas(slice: CompareSlice): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = slice.width;
  canvas.height = slice.height;
  const ctx = canvas.getContext('2d');
  if (ctx) putRgba(ctx, slice.overlay, slice.width, slice.height);
  return canvas;
}

function imageCanvas(slice: CompareSlice): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = slice.width;
  canvas.height = slice.height;
  const ctx = canvas.getContext('2d');
  if (ctx) putRgba(ctx, slice.rgba, slice.width, slice.height);
  return canvas;
}

/** Colour of the linked crosshair (drawn at the same grid pixel on every view). */
export const CROSSHAIR_RGB: [number, number, number] = [255, 230, 0];

/** One view: a date (and, in swipe mode, the other date under the swipe line), its overlay and the crosshair. */
function DateView({ result, date, side, under }: { result: CompareResult; date: number; side: 'left' | 'right' | 'swipe' | 'flicker'; under?: number }) {
  const slice = c.useCompare((s) => s.slices[date]);
  const underSlice = c.useCompare((s) => (under === undefined ? undefined : s.slices[under]));
  const overlay = c.useCompare((s) => s.overlay);
  const cursor = c.useCompare((s) => s.cursor);
  const swipe = c.useCompare((s) => s.swipe);
  const z = c.useCompare((s) => s.z);
  const ref = useRef<HTMLCanvasElement>(null);
  const { grid } = result;
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas || !slice) return;
    canvas.width = slice.width;
    canvas.height = slice.height;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, slice.width, slice.height);
    ctx.drawImage(imageCanvas(slice), 0, 0);
    if (overlay) ctx.drawImage(overlayCanvas(slice), 0, 0);
    if (underSlice && underSlice.width === slice.width && underSlice.height === slice.height) {
      // Swipe: the other date to the right of the line.
      const x0 = Math.round(swipe * slice.width);
      ctx.save();
      ctx.beginPath();
      ctx.rect(x0, 0, slice.width - x0, slice.height);
      ctx.clip();
      ctx.drawImage(imageCanvas(underSlice), 0, 0);
      if (overlay) ctx.drawImage(overlayCanvas(underSlice), 0, 0);
      ctx.restore();
      ctx.fillStyle = '#ffffff';
      ctx.fillRect(Math.min(slice.width - 1, x0), 0, 1, slice.height);
    }
    if (cursor) {
      // The cursor's grid pixel at this preview's scale: the same world position on every date.
      const px = Math.min(slice.width - 1, Math.floor((cursor.x + 0.5) / slice.scale));
      const py = Math.min(slice.height - 1, Math.floor((cursor.y + 0.5) / slice.scale));
      ctx.fillStyle = `rgb(${CROSSHAIR_RGB.join(',')})`;
      ctx.fillRect(0, py, Math.max(0, px - 2), 1);
      ctx.fillRect(px + 3, py, Math.max(0, slice.width - px - 3), 1);
      ctx.fillRect(px, 0, 1, Math.max(0, py - 2));
      ctx.fillRect(px, py + 3, 1, Math.max(0, slice.height - py - 3));
    }
  }, [slice, underSlice, overlay, cursor, swipe]);

  const move = (e: ReactPointerEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    c.applyCompare(m.cursorMoved(m.gridPixelAt(grid, e.clientX - rect.left, e.clientY - rect.top, rect.width, rect.height)));
  };
  const wheel = (e: ReactWheelEvent<HTMLCanvasElement>) => {
    if (grid.depth < 2 || e.deltaY === 0) return;
    void c.goToSlice(z + (e.deltaY < 0 ? 1 : -1));
  };
  const label = side === 'swipe' && under !== undefined ? `${dateLabel(result, date)} | ${dateLabel(result, under)}` : dateLabel(result, date);
  return (
    <figure className="compare-view" data-testid={`compare-view-${side}`} data-date={date} data-cursor={cursor ? `${cursor.x},${cursor.y},${z}` : ''}>
      <figcaption data-testid={`compare-label-${side}`}>{label}</figcaption>
      <div className="compare-canvas-box" style={{ aspectRatio: `${grid.width} / ${grid.height}` }}>
        <canvas ref={ref} data-testid={`compare-canvas-${side}`} onPointerMove={move} onPointerLeave={() => c.applyCompare(m.cursorMoved(null))} onWheel={wheel} />
        {!slice && <span className="compare-loading">Loading…</span>}
      </div>
    </figure>
  );
}

function CompareStatus({ result }: { result: CompareResult }) {
  const cursor = c.useCompare((s) => s.cursor);
  const z = c.useCompare((s) => s.z);
  return (
    <div className="compare-status" data-testid="compare-status">
      {cursor ? m.describePosition(result.grid, cursor.x, cursor.y, z) : 'Move the cursor over a view: the crosshair follows on every date.'}
    </div>
  );
}

const BADGE_CLASS: Record<string, string> = { PD: 'badge-pd', SD: 'badge-sd', PR: 'badge-pr', CR: 'badge-cr', MR: 'badge-pr' };

function MedicalPanel({ change, result }: { change: MedicalChangeDocument; result: CompareResult }) {
  const r = change.response;
  const rows = m.trackRows(change);
  const dates = result.timepoints;
  const goTo = (track: number) => {
    const z = result.trackSlices?.find((t) => t.track === track)?.z;
    if (z !== undefined) void c.goToSlice(z);
  };
  return (
    <section className="panel compare-panel" aria-label="Response">
      <h3>Response</h3>
      <div className="compare-badges" data-testid="compare-response">
        <span className={`badge ${BADGE_CLASS[r.volumetric] ?? ''}`} data-testid="badge-volumetric">
          Volumetric {r.volumetric}
        </span>
        <span className={`badge ${BADGE_CLASS[r.recist] ?? ''}`} data-testid="badge-recist">
          RECIST 1.1 {r.recist}
        </span>
        <span className={`badge ${BADGE_CLASS[r.rano] ?? ''}`} data-testid="badge-rano">
          {r.ranoVersion} {r.rano}
        </span>
      </div>
      <ul className="compare-reasons" data-testid="compare-reasons">
        {r.reasons
          .filter((reason) => reason !== r.statement)
          .map((reason, i) => (
            <li key={i}>{reason}</li>
          ))}
      </ul>
      <p className="hint" data-testid="compare-statement">
        {r.statement}
      </p>
      <button type="button" data-testid="compare-export-report" title="DICOM SR measurement report (TID 1500): the track table with the targets ticked below, the responses and their reasons" onClick={() => void c.exportReport()}>
        Export report (DICOM SR)…
      </button>
      <h3>Lesions</h3>
      <div className="table-scroll">
        <table className="compare-table" data-testid="compare-tracks">
          <thead>
            <tr>
              <th title="RECIST target lesions: tick to choose them yourself">Target</th>
              <th>Track</th>
              <th>Status</th>
              {dates.map((d, i) => (
                <th key={`v${i}`} title={d.name}>
                  {d.date ?? `date ${i + 1}`} mL
                </th>
              ))}
              {dates.map((d, i) => (
                <th key={`l${i}`} title={d.name}>
                  {d.date ?? `date ${i + 1}`} long axis mm
                </th>
              ))}
              <th>Change</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.track} data-testid={`track-row-${row.track}`} onClick={() => goTo(row.track)} className="clickable" title={`${row.className}${row.target ? ' · RECIST target' : ''}: click to go to its slice`}>
                <td onClick={(e) => e.stopPropagation()}>
                  <input type="checkbox" checked={row.target} data-testid={`target-${row.track}`} aria-label={`RECIST target: track ${row.track}`} onChange={() => void c.toggleTarget(row.track)} />
                </td>
                <td>
                  <span className="swatch" style={{ background: `rgb(${m.trackRgb(result, row.track).join(',')})` }} /> {row.track}
                </td>
                <td>{row.status}</td>
                {row.volumeMl.map((v, i) => (
                  <td key={`v${i}`} className="num">
                    {m.formatMl(v)}
                  </td>
                ))}
                {row.longAxisMm.map((v, i) => (
                  <td key={`l${i}`} className="num">
                    {m.formatMm(v)}
                  </td>
                ))}
                <td className="num">{m.formatPct(row.changePct)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr data-testid="compare-totals">
              <td colSpan={3}>Total</td>
              {change.totals.volumeMl.map((v, i) => (
                <td key={`v${i}`} className="num">
                  {m.formatMl(v)}
                </td>
              ))}
              {change.totals.sumLongAxisMm.map((v, i) => (
                <td key={`l${i}`} className="num">
                  {m.formatMm(v)}
                </td>
              ))}
              <td className="num">{m.formatPct(change.totals.volumeMl[0] ? ((change.totals.volumeMl[change.totals.volumeMl.length - 1]! - change.totals.volumeMl[0]) / change.totals.volumeMl[0]) * 100 : null)}</td>
            </tr>
          </tfoot>
        </table>
      </div>
      {change.lesions.some((l) => l.target !== undefined) && (
        <p className="hint">
          Targets chosen by you.{' '}
          <button className="small" data-testid="compare-auto-targets" onClick={() => void c.automaticTargets()}>
            Automatic targets
          </button>
        </p>
      )}
      {change.registration.length > 0 && (
        <p className="hint" data-testid="compare-registration">
          Registration: {change.registration.map((g) => `date ${g.from + 1} → baseline ${g.method}${g.method === 'none' ? '' : `, mutual information ${g.metricBefore.toFixed(3)} → ${g.metric.toFixed(3)}`}`).join('; ')}
        </p>
      )}
    </section>
  );
}

const CHART_WIDTH = 240;
const BAR_HEIGHT = 18;

function GeoPanel({ change }: { change: GeoChangeDocument }) {
  const rows = m.changedTransitions(change.transitions);
  const { zero, bars } = m.netBars(change.classes, CHART_WIDTH);
  const height = bars.length * (BAR_HEIGHT + 6) + 6;
  return (
    <section className="panel compare-panel" aria-label="Land cover change">
      <h3>Change</h3>
      <p data-testid="compare-geo-summary">
        {m.formatHa(change.changedHa)} ha changed of {m.formatHa(change.overlapHa)} ha valid on both dates ({change.areaMethod} areas)
      </p>
      <h3>Net change per class (ha)</h3>
      <svg className="compare-chart" data-testid="compare-chart" width={CHART_WIDTH + 120} height={height} role="img" aria-label="Net change per class in hectares">
        <line x1={zero + 110} x2={zero + 110} y1={0} y2={height} stroke="#888" />
        {bars.map((b, i) => (
          <g key={b.id} data-testid={`chart-bar-${b.id}`}>
            <text x={0} y={6 + i * (BAR_HEIGHT + 6) + BAR_HEIGHT * 0.75} fontSize={11} fill="currentColor">
              {b.name}
            </text>
            <rect x={110 + b.x} y={6 + i * (BAR_HEIGHT + 6)} width={Math.max(1, b.width)} height={BAR_HEIGHT} fill={b.color} stroke="#222">
              <title>{`${b.name}: ${b.netHa > 0 ? '+' : ''}${m.formatHa(b.netHa)} ha`}</title>
            </rect>
          </g>
        ))}
      </svg>
      <h3>From → to</h3>
      <div className="table-scroll">
        <table className="compare-table" data-testid="compare-fromto">
          <thead>
            <tr>
              <th>From</th>
              <th>To</th>
              <th>ha</th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && (
              <tr>
                <td colSpan={3}>No change between these dates.</td>
              </tr>
            )}
            {rows.map((t) => (
              <tr key={`${t.from}-${t.to}`} data-testid={`fromto-${t.from}-${t.to}`}>
                <td>{t.fromName}</td>
                <td>{t.toName}</td>
                <td className="num">{m.formatHa(t.areaHa)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Dates typed by the user when a file has none (NIfTI, PNG stacks): the comparison runs again in their order. */
function DatesForm() {
  const inputs = c.useCompare((s) => s.inputs);
  const result = c.useCompare((s) => s.result);
  const [dates, setDates] = useState<string[]>(() => m.knownDates({ inputs, result }).map((d) => (d.length === 10 ? d : '')));
  return (
    <section className="panel" aria-label="Dates" data-testid="compare-dates">
      <h3>Dates</h3>
      <p className="hint">Not every image says when it was taken, so they are in the order you opened them. Give each its date to order them:</p>
      {inputs.map((input, i) => (
        <label key={input.handle} className="compare-date">
          <span>{input.name}</span>
          <input type="date" value={dates[i] ?? ''} data-testid={`compare-date-${i}`} onChange={(e) => setDates((d) => d.map((v, k) => (k === i ? e.target.value : v)))} />
        </label>
      ))}
      <button data-testid="compare-dates-apply" disabled={dates.some((d) => !d)} onClick={() => void c.rerunWithDates(dates)}>
        Compare again with these dates
      </button>
    </section>
  );
}

function Warnings({ warnings }: { warnings: string[] }) {
  if (warnings.length === 0) return null;
  return (
    <section className="panel compare-warnings" aria-label="Warnings" data-testid="compare-warnings">
      <h3>Warnings</h3>
      <ul>
        {warnings.map((w, i) => (
          <li key={i}>{w}</li>
        ))}
      </ul>
    </section>
  );
}
