// The series chooser: a folder holding several DICOM series opens its largest one at once, and this dialog
// offers the others (description, modality, images, size, a short UID). Enter opens, Esc keeps what is shown.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { SeriesSummary } from '../../preload/api';
import { apply, useStore } from '../state/store';
import { chooseSeries } from './commands';
import * as op from '../state/operations';
import { trim } from '../viewer/units';

/** The last 12 characters of a UID: enough to tell series of one study apart. */
export function shortUid(uid: string): string {
  return uid.length > 14 ? `…${uid.slice(-12)}` : uid;
}

function sizeText(s: SeriesSummary): string {
  const [w, h, d] = s.size;
  return d > 1 ? `${w} × ${h} × ${d}` : `${w} × ${h}`;
}

export function SeriesChooser() {
  const open = useStore((s) => s.seriesChooserOpen);
  const image = useStore((s) => s.image);
  // One array per image, so the effects below re-run for a new image, not on every render.
  const series = useMemo(() => image?.info.series ?? [], [image?.info.series]);
  const current = (image?.seriesInstanceUid ?? image?.info.seriesInstanceUid) as string | undefined;
  const [picked, setPicked] = useState(0);
  const openButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (!open) return;
    // Start on the first series that is not the one shown: that is what the user came to pick.
    const other = series.findIndex((s) => s.uid !== current);
    setPicked(other >= 0 ? other : 0);
    openButton.current?.focus();
  }, [open, series, current]);

  useEffect(() => {
    if (!open) return;
    const key = (e: KeyboardEvent) => {
      // The dialog is modal: no key reaches the viewer or the window's shortcuts while it is open.
      e.stopImmediatePropagation();
      // Enter or Space on a focused button of the dialog presses that button.
      const onButton = e.target instanceof HTMLButtonElement && (e.key === 'Enter' || e.key === ' ');
      if (onButton && e.target !== openButton.current) return;
      if (e.key === 'Escape') apply(op.seriesChooserShown(false));
      else if (e.key === 'ArrowDown') setPicked((i) => Math.min(series.length - 1, i + 1));
      else if (e.key === 'ArrowUp') setPicked((i) => Math.max(0, i - 1));
      else if (e.key === 'Enter') {
        const s = series[picked];
        if (s) void chooseSeries(s.uid);
      } else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', key, true);
    return () => window.removeEventListener('keydown', key, true);
  }, [open, picked, series]);

  if (!open || series.length < 2) return null;
  const chosen = series[picked];
  return (
    <div className="modal-backdrop" data-testid="series-chooser-backdrop">
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby="series-title" data-testid="series-chooser">
        <h2 id="series-title">Choose a series</h2>
        <p className="muted">
          {image?.name} holds {trim(series.length)} series. The largest is open; pick another to view and segment it.
        </p>
        <table className="series-table">
          <thead>
            <tr>
              <th>Description</th>
              <th>Modality</th>
              <th className="num">Images</th>
              <th className="num">Size (px)</th>
              <th>Series UID</th>
            </tr>
          </thead>
          <tbody>
            {series.map((s, i) => (
              <tr
                key={s.uid}
                data-testid={`series-row-${i}`}
                className={i === picked ? 'selected' : ''}
                aria-selected={i === picked}
                onClick={() => setPicked(i)}
                onDoubleClick={() => void chooseSeries(s.uid)}
              >
                <td>
                  {s.description || <span className="muted">(no description)</span>}
                  {s.uid === current && <span className="tag">open</span>}
                </td>
                <td>{s.modality ?? '—'}</td>
                <td className="num">{trim(s.slices)}</td>
                <td className="num">{sizeText(s)}</td>
                <td title={s.uid}>
                  <code>{shortUid(s.uid)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="modal-buttons">
          <button data-testid="series-cancel" onClick={() => apply(op.seriesChooserShown(false))} title="Keep the series shown now (Esc)">
            Keep current
          </button>
          <button ref={openButton} data-testid="series-open" className="primary" disabled={!chosen} onClick={() => chosen && void chooseSeries(chosen.uid)} title="Open the selected series (Enter)">
            Open series
          </button>
        </div>
      </div>
    </div>
  );
}

