// The study browser of Open folder...: while the folder is scanned, progress and Cancel; then every study found
// (patient, date, description: hidden while De-identify is on) with its series (thumbnail, description, modality,
// image count, size). Double-click or Enter opens a series; Esc closes. Long text is cut with an ellipsis and shown
// whole in its tooltip.
import { useEffect, useMemo, useRef, useState } from 'react';
import type { ScannedSeries, Thumbnail } from '../../preload/api';
import { useStore } from '../state/store';
import { trim } from '../viewer/units';
import { cancelScan, closeBrowser, openScanned, scannedSeries } from './folder';

function ThumbnailCanvas({ thumb }: { thumb: Thumbnail | undefined }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const c = ref.current;
    if (!c || !thumb) return;
    c.width = thumb.width;
    c.height = thumb.height;
    const rgba = new Uint8ClampedArray(thumb.rgba.buffer as ArrayBuffer, thumb.rgba.byteOffset, thumb.width * thumb.height * 4);
    c.getContext('2d')?.putImageData(new ImageData(rgba, thumb.width, thumb.height), 0, 0);
  }, [thumb]);
  if (!thumb) return <span className="muted">—</span>;
  // Fitted into 48 x 48 CSS pixels with non-square pixels to scale (a 0.5 x 1 mm series is drawn twice as tall).
  const w = thumb.width;
  const h = thumb.height * (thumb.pixelAspect ?? 1);
  const k = 48 / Math.max(w, h);
  return <canvas ref={ref} data-testid="series-thumbnail" aria-hidden="true" style={{ width: `${Math.round(w * k)}px`, height: `${Math.round(h * k)}px` }} />;
}

const sizeText = (s: ScannedSeries): string => (s.size[2] > 1 ? `${s.size[0]} × ${s.size[1]} × ${trim(s.size[2])}` : `${s.size[0]} × ${s.size[1]}`);

export function StudyBrowser() {
  const browser = useStore((s) => s.folderBrowser);
  const deidentify = useStore((s) => s.deidentify);
  const scan = browser?.scan ?? null;
  const all = useMemo(() => (scan ? scannedSeries(scan) : []), [scan]);
  const [picked, setPicked] = useState(0);
  const openButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    setPicked(0);
    if (scan) openButton.current?.focus();
  }, [scan]);

  useEffect(() => {
    if (!browser) return;
    const key = (e: KeyboardEvent) => {
      // Modal: no key reaches the viewer or the window's shortcuts while it is open.
      e.stopImmediatePropagation();
      const onButton = e.target instanceof HTMLButtonElement && (e.key === 'Enter' || e.key === ' ');
      if (onButton && e.target !== openButton.current) return;
      if (e.key === 'Escape') {
        if (browser.jobId) cancelScan();
        else closeBrowser();
      } else if (e.key === 'ArrowDown') setPicked((i) => Math.min(all.length - 1, i + 1));
      else if (e.key === 'ArrowUp') setPicked((i) => Math.max(0, i - 1));
      else if (e.key === 'Enter' && scan && all[picked] && !all[picked].problem) void openScanned(scan, all[picked].uid);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', key, true);
    return () => window.removeEventListener('keydown', key, true);
  }, [browser, all, picked, scan]);

  if (!browser) return null;
  if (!scan) {
    const p = browser.progress;
    return (
      <div className="modal-backdrop" data-testid="study-browser-backdrop">
        <div className="modal modal-narrow" role="dialog" aria-modal="true" aria-labelledby="scan-title" data-testid="folder-scan">
          <h2 id="scan-title">Scanning {browser.name}…</h2>
          <div className="scan-progress">
            <progress data-testid="scan-progress" max={p?.total || 1} value={p?.done ?? 0} />
            <span className="muted num">{p ? `${trim(p.done)} / ${trim(p.total)} ${p.stage}` : 'listing files'}</span>
          </div>
          <div className="modal-buttons">
            <button data-testid="scan-cancel" onClick={cancelScan} title="Stop scanning (Esc)">
              Cancel
            </button>
          </div>
        </div>
      </div>
    );
  }
  const chosen = all[picked];
  let row = -1;
  return (
    <div className="modal-backdrop" data-testid="study-browser-backdrop">
      <div className="modal study-browser" role="dialog" aria-modal="true" aria-labelledby="browser-title" data-testid="study-browser">
        <h2 id="browser-title">Studies in {scan.name}</h2>
        <p className="muted" data-testid="study-browser-summary">
          {scan.studies.length} {scan.studies.length === 1 ? 'study' : 'studies'}, {all.length} series in {trim(scan.filesScanned)} files
          {scan.skippedFiles > 0 ? ` (${trim(scan.skippedFiles)} not DICOM images, skipped)` : ''}. Pick a series to view and segment it.
        </p>
        {scan.studies.map((st, si) => (
          <div key={`${st.uid}-${si}`} data-testid={`study-${si}`}>
            <div className="study-heading">
              {deidentify ? (
                <span data-testid={`study-patient-${si}`}>De-identified</span>
              ) : (
                <>
                  <span data-testid={`study-patient-${si}`} title="Patient">
                    {st.patientName ?? 'No patient name'}
                    {st.patientId ? ` · ID ${st.patientId}` : ''}
                  </span>
                  <span className="muted" title="Study date">
                    {st.date ?? 'no date'}
                  </span>
                </>
              )}
              <span title="Study description">{st.description ?? <span className="muted">(no study description)</span>}</span>
            </div>
            <table className="series-table">
              {/* Fixed column widths, so the tables of all studies line up. */}
              <colgroup>
                <col style={{ width: '60px' }} />
                <col />
                <col style={{ width: '96px' }} />
                <col style={{ width: '80px' }} />
                <col style={{ width: '130px' }} />
              </colgroup>
              <thead>
                <tr>
                  <th aria-label="Thumbnail" />
                  <th>Series description</th>
                  <th>Modality</th>
                  <th className="num">Images</th>
                  <th className="num">Size (px)</th>
                </tr>
              </thead>
              <tbody>
                {st.series.map((s) => {
                  row++;
                  const i = row;
                  return (
                    <tr
                      key={s.uid}
                      data-testid={`browser-series-${i}`}
                      className={i === picked ? 'selected' : ''}
                      aria-selected={i === picked}
                      onClick={() => setPicked(i)}
                      onDoubleClick={() => void (!s.problem && openScanned(scan, s.uid))}
                      title={s.problem ? `Cannot be opened: ${s.problem}` : s.gaps ? `Slices missing: ${s.gaps}` : `Series ${s.uid}`}
                    >
                      <td className="thumb">
                        <ThumbnailCanvas thumb={s.thumbnail} />
                      </td>
                      <td className="desc" title={s.description ?? ''}>
                        {s.description ?? <span className="muted">(no description)</span>}
                        {s.problem && <span className="tag">cannot open</span>}
                        {!s.problem && s.gaps && (
                          <span className="tag" data-testid="series-gaps" title={s.gaps}>
                            slices missing
                          </span>
                        )}
                      </td>
                      <td>{s.modality ?? '—'}</td>
                      <td className="num">{trim(s.images)}</td>
                      <td className="num">{sizeText(s)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ))}
        <div className="modal-buttons">
          <button data-testid="browser-cancel" onClick={closeBrowser} title="Keep what is shown now (Esc)">
            Cancel
          </button>
          {chosen && !chosen.problem && chosen.gaps && (
            <button data-testid="browser-open-gaps" onClick={() => void openScanned(scan, chosen.uid, true)} title={`${chosen.gaps}. Opens stacked at the usual spacing: distances and volumes across a gap come out short, and every run says so.`}>
              Open with slices missing
            </button>
          )}
          <button ref={openButton} data-testid="browser-open" className="primary" disabled={!chosen || chosen.problem !== undefined} onClick={() => chosen && void openScanned(scan, chosen.uid)} title="Open the selected series (Enter)">
            Open series
          </button>
        </div>
      </div>
    </div>
  );
}
