// The AI tool's panel (shown while the tool is on): which interactive model, what the clicks do, the model time of
// the last click, the slices the object spans, Accept / Discard, and on volumes Propagate with progress and Cancel.
import { useEffect, useSyncExternalStore } from 'react';
import { useStore } from '../state/store';
import { tip } from '../shortcuts';
import * as ai from './ai';

export function AiPanel() {
  const tool = useStore((s) => s.tool);
  const image = useStore((s) => s.image);
  const job = useStore((s) => s.job);
  const z = useStore((s) => s.z);
  useSyncExternalStore(ai.subscribeAi, ai.aiVersion);
  const on = tool === 'ai' && image !== null;
  useEffect(() => {
    if (on) void ai.loadPromptModels();
  }, [on]);
  if (!on || !image) return null;
  const v = ai.aiView();
  const kind = image.info.kind;
  const usable = ai.promptModels().filter((m) => m.kinds.includes(kind));
  const depth = image.info.depth;
  const propagating = v.jobId !== null && job?.jobId === v.jobId;
  const progress = propagating ? job?.progress : null;
  const span = v.slices.length === 0 ? 'no object yet' : depth === 1 ? 'outlined' : v.slices.length > 1 ? `slices ${v.slices[0]! + 1}–${v.slices[v.slices.length - 1]! + 1}` : `slice ${v.slices[0]! + 1}`;
  return (
    <section className="panel" data-testid="ai-panel">
      <h2>AI outline</h2>
      <label className="row" title="The interactive model the clicks go to (shipped ones, or a SAM-family pair you added)">
        <span className="muted">Model</span>
        <select data-testid="ai-model" value={v.chosenModelId ?? ''} disabled={v.busy} onChange={(e) => ai.chooseModel(e.target.value || null)} aria-label="Interactive model">
          <option value="">Default for {kind === 'geo' ? 'maps' : 'this image'}</option>
          {usable.map((m) => (
            <option key={m.id} value={m.id}>
              {m.name}
              {m.nonCommercial ? ' (non-commercial)' : ''}
            </option>
          ))}
        </select>
      </label>
      <div className="muted">Click inside an object to include it; Alt-click or right-click excludes; drag a box around it.</div>
      <div className="row" data-testid="ai-status">
        {v.busy ? <span data-testid="ai-busy">working…</span> : <span data-testid="ai-span">{span}</span>}
        {!v.busy && v.slices.includes(z) && <span data-testid="ai-pixels">{ai.pixelsOn(z)} px here</span>}
        {v.lastClickMs !== null && <span data-testid="ai-click-ms">model {v.lastClickMs < 10 ? v.lastClickMs.toFixed(1) : Math.round(v.lastClickMs)} ms per click</span>}
        {v.modelName && <span className="muted">{v.modelName}</span>}
      </div>
      <div className="row">
        <button data-testid="ai-accept" className="primary" disabled={v.busy || v.slices.length === 0} onClick={() => void ai.accept()} title={tip('Accept the outline as an object (one undoable edit)', 'acceptAi')}>
          Accept
        </button>
        <button data-testid="ai-discard" disabled={v.busy || v.clicks === 0} onClick={() => ai.discard()} title={tip('Discard the outline and the clicks', 'deselect')}>
          Discard
        </button>
        {depth > 1 && (
          <button data-testid="ai-propagate" disabled={v.busy || v.slices.length === 0 || (job !== null && !propagating)} onClick={() => void ai.propagate()} title="Carry the object on this slice through the volume, slice by slice, until it ends">
            Propagate
          </button>
        )}
        {propagating && (
          <button data-testid="ai-cancel" className="danger" onClick={() => void ai.cancelPropagation()} title="Stop propagating (the object stays as it was)">
            Cancel
          </button>
        )}
      </div>
      {propagating && (
        <div className="job" data-testid="ai-progress">
          <progress value={progress ? progress.done : undefined} max={progress ? Math.max(1, progress.total) : undefined} />
          <span className="muted">{progress ? `${progress.done}/${progress.total} slices` : 'starting'}</span>
        </div>
      )}
      {v.propagated && depth > 1 && <div className="muted">A click on any slice corrects it there and propagates again from that slice.</div>}
    </section>
  );
}
