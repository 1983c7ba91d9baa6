// Recently opened images and series folders: the menu beside Open... (with Open folder... and Choose series...)
// and the list on the empty screen.
// Only ids and base names reach the renderer; main keeps the paths and reopens them.
import { useCallback, useEffect, useRef, useState } from 'react';
import { useDismiss } from '../ui/useDismiss';
import type { RecentFile } from '../../preload/api';
import { useStore } from '../state/store';
import { SHORTCUTS, tip } from '../shortcuts';
import { openFolderWithDialog } from '../state/commands';
import { forgetRecent, openRecent, refreshRecent, showSeriesChooser } from './commands';

/** "today 14:05", "yesterday", "3 Nov": short enough for a menu line. */
export function whenText(iso: string, now = new Date()): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return '';
  const day = (d: Date) => Math.floor(new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime() / 86_400_000);
  const days = day(now) - day(t);
  if (days === 0) return `today ${t.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
  if (days === 1) return 'yesterday';
  return t.toLocaleDateString([], { day: 'numeric', month: 'short', ...(t.getFullYear() !== now.getFullYear() ? { year: 'numeric' } : {}) });
}

function detail(r: RecentFile): string {
  const parts = [r.folder ? 'folder' : r.kind === 'medical' ? 'volume' : r.kind === 'geo' ? 'raster' : 'image'];
  if (r.series) parts.push(r.series);
  return parts.join(' · ');
}

/**
 * The arrow beside Open...: open a folder, choose another series of the folder shown, or reopen a recent entry. One
 * narrow button keeps the toolbar on one row.
 */
export function RecentMenu() {
  const recent = useStore((s) => s.recent);
  const request = useStore((s) => s.recentMenuRequest);
  const seriesCount = useStore((s) => s.image?.info.series?.length ?? 0);
  const [open, setOpen] = useState(false);
  const close = useCallback(() => setOpen(false), []);
  const root = useRef<HTMLDivElement>(null);
  const firstRequest = useRef(request);

  useEffect(() => {
    if (request !== firstRequest.current) setOpen(true);
  }, [request]);
  useEffect(() => {
    if (open) void refreshRecent();
  }, [open]);
  useDismiss(open, close, root);

  const run = (action: () => void) => () => {
    setOpen(false);
    action();
  };
  return (
    <div className="menu-anchor" ref={root}>
      <button
        data-testid="recent-button"
        className={open ? 'active' : ''}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label="Open folder, series or recent file"
        onClick={() => setOpen(!open)}
        title={tip('Open a folder, another series, or a recent file', 'recent')}
      >
        ▾
      </button>
      {open && (
        <div className="menu recent-menu" role="menu" data-testid="recent-menu">
          <button role="menuitem" data-testid="open-folder-button" onClick={run(() => void openFolderWithDialog())}>
            <span>Open folder...</span>
            <span className="shortcut">{SHORTCUTS.openFolder.keys}</span>
          </button>
          {seriesCount > 1 && (
            <button role="menuitem" data-testid="series-button" onClick={run(() => showSeriesChooser())}>
              <span>Choose series ({seriesCount})...</span>
              <span className="shortcut">{SHORTCUTS.chooseSeries.keys}</span>
            </button>
          )}
          <div className="menu-heading">Recent</div>
          {recent.length === 0 && <div className="muted menu-empty">Nothing opened yet</div>}
          {recent.map((r) => (
            <button key={r.id} role="menuitem" className="recent-entry" data-testid="recent-item" title={`${r.name} (${detail(r)})`} onClick={run(() => void openRecent(r.id))}>
              <span className="recent-name">{r.name}</span>
              <span className="muted">
                {detail(r)} · {whenText(r.openedAt)}
              </span>
            </button>
          ))}
        </div>
      )}
    </div>
  );
}

/** The empty screen's list: the same entries, each with a "forget" button. */
export function RecentList() {
  const recent = useStore((s) => s.recent);
  if (recent.length === 0) return null;
  return (
    <div className="recent-list" data-testid="recent-list">
      <h3>Recent</h3>
      <ul>
        {recent.map((r) => (
          <li key={r.id}>
            <button className="link" data-testid="recent-list-item" onClick={() => void openRecent(r.id)} title={`Open ${r.name}`}>
              <span className="recent-name">{r.name}</span>
              <span className="muted">
                {detail(r)} · {whenText(r.openedAt)}
              </span>
            </button>
            <button className="ghost" aria-label={`Remove ${r.name} from Recent`} title="Remove from this list (the file stays)" onClick={() => void forgetRecent(r.id)}>
              ×
            </button>
          </li>
        ))}
      </ul>
    </div>
  );
}
