// The app shell: toolbar (open, model, run), banners, the viewer and the status bar.
import { useEffect, useState } from 'react';
import { Viewer } from './viewer/Viewer';
import { StatusBar } from './StatusBar';
import { apply, useStore } from './state/store';
import * as op from './state/operations';
import * as cmd from './state/commands';

export function App() {
  const error = useStore((s) => s.error);
  const engine = useStore((s) => s.engine);
  const busy = useStore((s) => s.busy);
  const image = useStore((s) => s.image);
  const [dragging, setDragging] = useState(false);

  useEffect(() => cmd.connectEvents(), []);
  useEffect(() => {
    if (engine.state === 'ready') void cmd.refreshModels();
  }, [engine.state, engine.restarts]);

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
        <button data-testid="open-button" onClick={() => void cmd.openWithDialog()}>
          Open...
        </button>
        <SegmentControls />
        {busy && (
          <span className="busy" data-testid="busy">
            {busy}
          </span>
        )}
      </header>
      {engine.state === 'crashed' && (
        <div className="banner banner-engine" role="alert" data-testid="engine-banner">
          <span>The engine stopped: {engine.message ?? 'unknown reason'}. Your image stays open.</span>
          <button data-testid="engine-restart" onClick={() => void cmd.restartEngine()}>
            Restart engine
          </button>
        </div>
      )}
      {error && (
        <div className="banner banner-error" role="alert" data-testid="error-banner">
          <span data-testid="error-message">{error}</span>
          <button aria-label="Dismiss" data-testid="error-dismiss" onClick={() => apply(op.errorDismissed())}>
            ×
          </button>
        </div>
      )}
      <main className="stage">
        {image ? <Viewer /> : <EmptyState />}
      </main>
      <StatusBar />
    </div>
  );
}

function EmptyState() {
  return (
    <div className="empty" data-testid="empty">
      <p>Open an image with Open... or drop a file here.</p>
      <p className="hint">DICOM, NIfTI, GeoTIFF, TIFF, PNG, JPEG</p>
    </div>
  );
}

function SegmentControls() {
  const models = useStore((s) => s.models);
  const modelId = useStore((s) => s.modelId);
  const job = useStore((s) => s.job);
  const image = useStore((s) => s.image);
  const progress = job?.progress;
  return (
    <div className="segment">
      <select
        data-testid="model-select"
        value={modelId ?? ''}
        disabled={models.length === 0 || job !== null}
        onChange={(e) => apply(op.modelPicked(e.target.value))}
      >
        {models.length === 0 && <option value="">no models</option>}
        {models.map((m) => (
          <option key={m.id} value={m.id}>
            {m.name} {m.version}
          </option>
        ))}
      </select>
      {job ? (
        <>
          <progress data-testid="job-progress" value={progress ? progress.done : undefined} max={progress ? Math.max(1, progress.total) : undefined} />
          <span className="stage-label" data-testid="job-stage">
            {progress ? progress.stage : 'starting'}
          </span>
          <button data-testid="cancel-button" onClick={() => void cmd.cancelJob()}>
            Cancel
          </button>
        </>
      ) : (
        <button data-testid="run-button" disabled={!image || !modelId} onClick={() => void cmd.runSegmentation()}>
          Run
        </button>
      )}
    </div>
  );
}
