// The app shell: toolbar (open, sessions, export, tools, undo/redo), banners (engine, recover, error, notice), the viewer with the side panels (display, model,
// overlay, edit, measurements) and the status bar. Keyboard shortcuts are window-wide (shortcuts.ts).
import { useEffect, useState } from 'react';
import { ViewerLayout } from './viewer/ViewerLayout';
import { DisplayPanel } from './viewer/DisplayPanel';
import { StatusBar } from './StatusBar';
import { ModelPanel } from './models/ModelPanel';
import { OverlayPanel } from './overlays/OverlayPanel';
import { EditPanel, ToolButtons } from './tools/Tools';
import { AiPanel } from './tools/AiPanel';
import { MeasurementsPanel } from './measurements/MeasurementsPanel';
import { ManualPanel } from './measurements/ManualPanel';
import { NoticeBanner, RecoverBanner, SessionButtons } from './sessions/Sessions';
import { UnsavedPrompt } from './sessions/UnsavedPrompt';
import { apply, useStore } from './state/store';
import * as op from './state/operations';
import * as cmd from './state/commands';
import { handleKey, tip } from './shortcuts';
import * as files from './files/commands';
import { RecentList, RecentMenu } from './files/Recent';
import { SeriesChooser } from './files/SeriesChooser';
import { StudyBrowser } from './files/StudyBrowser';
import { AboutButton } from './about/About';
import { CompareView } from './compare/CompareView';
import { CompareButton, CompareOfferBanner } from './compare/CompareEntry';
import { useCompare } from './compare/commands';

export function App() {
  const error = useStore((s) => s.error);
  const engine = useStore((s) => s.engine);
  const busy = useStore((s) => s.busy);
  const image = useStore((s) => s.image);
  const [dragging, setDragging] = useState(false);
  // The Compare view takes the stage and the side panels while it runs and is shown.
  const comparing = useCompare((s) => s.phase === 'running' || s.phase === 'shown');

  useEffect(() => cmd.connectEvents(), []);
  useEffect(() => {
    if (engine.state !== 'ready') return;
    void cmd.refreshModels();
    void files.refreshRecent();
    void files.refreshDevicePlan();
    // Autosaves left by a crash (or a quit without saving): offered once the engine that replays them is up.
    void cmd.checkRecoverable();
  }, [engine.state, engine.restarts]);
  useEffect(() => {
    window.addEventListener('keydown', handleKey);
    return () => window.removeEventListener('keydown', handleKey);
  }, []);
  // Closing the window (or quitting) with unsaved work asks first, as opening something else does.
  useEffect(() => {
    window.addEventListener('beforeunload', cmd.holdCloseIfUnsaved);
    return () => window.removeEventListener('beforeunload', cmd.holdCloseIfUnsaved);
  }, []);

  // Dropping anywhere on the window opens the file; the browser must not navigate to it.
  useEffect(() => {
    const over = (e: DragEvent) => {
      e.preventDefault();
      setDragging(true);
    };
    const leave = (e: DragEvent) => {
      if (e.relatedTarget === null) setDragging(false);
    };
    const drop = (e: DragEvent) => {
      e.preventDefault();
      setDragging(false);
      const file = e.dataTransfer?.files[0];
      if (file) void cmd.openDropped(file);
    };
    window.addEventListener('dragover', over);
    window.addEventListener('dragleave', leave);
    window.addEventListener('drop', drop);
    return () => {
      window.removeEventListener('dragover', over);
      window.removeEventListener('dragleave', leave);
      window.removeEventListener('drop', drop);
    };
  }, []);

  return (
    <div className={dragging ? 'app dragging' : 'app'} data-testid="app">
      <header className="toolbar">
        <span className="brand">Delineate</span>
        <div className="open-split">
          <button data-testid="open-button" onClick={() => void cmd.openWithDialog()} title={tip('Open an image, series folder or raster', 'open')}>
            Open...
          </button>
          <RecentMenu />
        </div>
        <SessionButtons />
        {image && <ToolButtons />}
        <CompareButton />
        {busy && (
          <span className="busy" data-testid="busy">
            {busy}
          </span>
        )}
        <AboutButton />
      </header>
      {engine.state === 'crashed' && (
        <div className="banner banner-engine" role="alert" data-testid="engine-banner">
          <span>The engine stopped: {engine.message ?? 'unknown reason'}. Your image stays open.</span>
          <button data-testid="engine-restart" onClick={() => void cmd.restartEngine()}>
            Restart engine
          </button>
        </div>
      )}
      <RecoverBanner />
      {error && (
        <div className="banner banner-error" role="alert" data-testid="error-banner">
          <span data-testid="error-message">{error}</span>
          <button aria-label="Dismiss" data-testid="error-dismiss" onClick={() => apply(op.errorDismissed())}>
            ×
          </button>
        </div>
      )}
      <NoticeBanner />
      <CompareOfferBanner />
      <div className="workspace">
        <main className="stage">{comparing ? <CompareView /> : image ? <ViewerLayout /> : <EmptyState />}</main>
        <aside className="sidebar" data-testid="sidebar" hidden={comparing}>
          <DisplayPanel />
          <ModelPanel />
          <OverlayPanel />
          <AiPanel />
          <EditPanel />
          <MeasurementsPanel />
          <ManualPanel />
        </aside>
      </div>
      <StatusBar />
      <SeriesChooser />
      <StudyBrowser />
      <UnsavedPrompt />
    </div>
  );
}

function EmptyState() {
  return (
    <div className="empty" data-testid="empty">
      <p>Open an image with Open... (▾ beside it: a series folder or a recent file), or drop a file or folder here.</p>
      <p className="hint">DICOM, NIfTI, GeoTIFF, TIFF, PNG, JPEG</p>
      <RecentList />
    </div>
  );
}
