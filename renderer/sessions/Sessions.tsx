// Sessions and exports in the toolbar (Open session, Save session, the Export menu with the formats that fit the
// image) and the "Recover unsaved work?" banner for autosaves a crash or an unsaved quit left behind.
import { useCallback, useEffect, useRef, useState } from 'react';
import { useDismiss } from '../ui/useDismiss';
import type { ImageInfo, ResultExportFormat } from '../../preload/api';
import { apply, useStore } from '../state/store';
import * as op from '../state/operations';
import * as cmd from '../state/commands';
import { tip } from '../shortcuts';

/** Every export format, in menu order, with its label and when it applies (the engine refuses the rest anyway). */
const FORMATS: Record<ResultExportFormat, { label: string; ext: string; fits(info: ImageInfo): boolean }> = {
  seg: { label: 'DICOM SEG', ext: '.dcm', fits: (i) => i.format === 'dicom' },
  rtstruct: { label: 'DICOM RT Structure Set', ext: '.dcm', fits: (i) => i.format === 'dicom' },
  nifti: { label: 'NIfTI label map', ext: '.nii.gz', fits: () => true },
  geotiff: { label: 'GeoTIFF label raster', ext: '.tif', fits: (i) => i.depth === 1 },
  geojson: { label: 'GeoJSON', ext: '.geojson', fits: (i) => i.kind === 'geo' },
  gpkg: { label: 'GeoPackage', ext: '.gpkg', fits: (i) => i.kind === 'geo' },
  shp: { label: 'Shapefile', ext: '.shp', fits: (i) => i.kind === 'geo' },
  csv: { label: 'Measurements (CSV)', ext: '.csv', fits: () => true },
  json: { label: 'Measurements (JSON)', ext: '.json', fits: () => true },
  png: { label: 'Snapshot, legend, scale (PNG)', ext: '.png', fits: () => true },
};

export function SessionButtons() {
  const hasResult = useStore((s) => s.result !== null);
  // A string, not the list, so the selector returns a primitive (store.ts).
  const unsaved = useStore((s) => op.unsavedWork(s).join('; '));
  return (
    <div className="tools" role="group" aria-label="Session">
      <button data-testid="open-session" onClick={() => void cmd.openSession()} title={tip('Open a saved session', 'openSession')}>
        Open session...
      </button>
      <button
        data-testid="save-session"
        className="save-button"
        disabled={!hasResult}
        onClick={() => void cmd.saveSession()}
        title={unsaved ? `Not saved: ${unsaved}. ${tip('Save the result, its edits and the view to one file', 'saveSession')}` : tip('Save the result, its edits and the view to one file', 'saveSession')}
      >
        Save session...
        {/* A dot on the button, as editors mark unsaved files: it takes no toolbar room. */}
        {unsaved && <span className="unsaved-mark" data-testid="unsaved-mark" role="status" aria-label={`Not saved: ${unsaved}`} />}
      </button>
      {hasResult && <ExportMenu />}
    </div>
  );
}

function ExportMenu() {
  const info = useStore((s) => s.image?.info ?? null);
  const request = useStore((s) => s.exportMenuRequest);
  const [open, setOpen] = useState(false);
  const close = useCallback(() => setOpen(false), []);
  // One De-identify for the whole app: the header's switch and this one are the same setting.
  const deidentify = useStore((s) => s.deidentify);
  const setDeidentify = (on: boolean) => apply(op.deidentifySet(on));
  const root = useRef<HTMLDivElement>(null);
  const firstRequest = useRef(request);

  // File > Export... (or Ctrl+E) opens the menu.
  useEffect(() => {
    if (request !== firstRequest.current) setOpen(true);
  }, [request]);

  // A click elsewhere or Esc closes it.
  useDismiss(open, close, root);

  if (!info) return null;
  const formats = (Object.keys(FORMATS) as ResultExportFormat[]).filter((f) => FORMATS[f].fits(info));
  return (
    <div className="menu-anchor" ref={root}>
      <button data-testid="export-button" className={open ? 'active' : ''} aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen(!open)} title={tip('Export the result', 'exportMenu')}>
        Export ▾
      </button>
      {open && (
        <div className="menu" role="menu" data-testid="export-menu">
          {formats.map((f) => (
            <button
              key={f}
              role="menuitem"
              data-testid={`export-${f}`}
              onClick={() => {
                setOpen(false);
                void cmd.exportAs(f, { deidentify: deidentify && f !== 'seg' && f !== 'rtstruct' });
              }}
            >
              <span>{FORMATS[f].label}</span>
              <span className="muted">{FORMATS[f].ext}</span>
            </button>
          ))}
          <label className="menu-option" title="Leave patient name, ID, dates and the source path out (not DICOM SEG or RT Structure Set, which must carry them)">
            <input type="checkbox" data-testid="export-deidentify" checked={deidentify} onChange={(e) => setDeidentify(e.target.checked)} /> De-identify
          </label>
        </div>
      )}
    </div>
  );
}

/** Offers the newest autosave nobody has open; the rest follow once it is recovered or discarded. */
export function RecoverBanner() {
  const recoverable = useStore((s) => s.recoverable);
  const first = recoverable[0];
  if (!first) return null;
  const when = new Date(first.savedAt);
  const more = recoverable.length - 1;
  return (
    <div className="banner banner-recover" role="alert" data-testid="recover-banner">
      <span>
        Recover unsaved work? <strong data-testid="recover-name">{first.imageName}</strong>
        {first.modelId ? ` (${first.modelId})` : ''}, <span data-testid="recover-edits">{first.editCount}</span> edit{first.editCount === 1 ? '' : 's'}, autosaved{' '}
        {Number.isNaN(when.getTime()) ? '' : when.toLocaleString()}
        {more > 0 ? ` · ${more} more` : ''}
      </span>
      <span className="banner-actions">
        <button data-testid="recover-button" className="primary" onClick={() => void cmd.recover(first.sessionId)}>
          Recover
        </button>
        <button data-testid="recover-discard" onClick={() => void cmd.discardRecoverable(first.sessionId)}>
          Discard
        </button>
      </span>
    </div>
  );
}

/** A short confirmation (saved, exported, recovered) the user can dismiss. */
export function NoticeBanner() {
  const notice = useStore((s) => s.notice);
  if (!notice) return null;
  return (
    <div className="banner banner-notice" role="status" data-testid="notice-banner">
      <span data-testid="notice-message">{notice}</span>
      <button aria-label="Dismiss" data-testid="notice-dismiss" onClick={() => apply(op.noticeShown(null))}>
        ×
      </button>
    </div>
  );
}
