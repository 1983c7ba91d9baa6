// Running a model: the picker lists the models whose manifest accepts the image's kind (plain pictures may use
// any), with the card summary; Run, then a progress bar with stage, ETA and Cancel; the device the next run will
// use and why, and the device of the last run and why faster ones were skipped. "Add model..." installs the
// user's own .onnx model; user-added models can be removed again (shipped ones cannot). Before Run the engine's
// check of each model against the image leaves out the models that cannot fit it and warns about the chosen one
// (a resolution far from the model's); after a run the time shown is the whole run's, as the person waited.
import { useEffect } from 'react';
import type { DevicePlan } from '../../preload/api';
import * as files from '../files/commands';
import { apply, useStore } from '../state/store';
import * as op from '../state/operations';
import * as cmd from '../state/commands';
import { tip } from '../shortcuts';
import { postprocessLabel } from './describe';

import { compatibilityOf, modelsFor, shownModel, unfitModels } from './usable';
import { loadCompatibility } from './compatibility';

export { modelsFor };

const DEVICE_NAMES: Record<string, string> = { cpu: 'CPU', cuda: 'CUDA', dml: 'DirectML', coreml: 'CoreML', webgpu: 'WebGPU' };
const deviceName = (d: string) => DEVICE_NAMES[d] ?? d.toUpperCase();

/** One line before running: which provider comes first and, for CPU, why no GPU provider will be used. */
export function devicePlanText(plan: DevicePlan): { text: string; detail: string } {
  const first = plan.candidates[0] ?? 'cpu';
  // Providers that cannot exist on this platform (DirectML off Windows, CoreML off macOS) are not worth naming.
  const ruledOut = plan.skipped.filter((s) => !/only on /.test(s)).map((s) => deviceName(s.split(':')[0] ?? s));
  const detail = plan.skipped.length ? `Ruled out: ${plan.skipped.join('; ')}` : 'No provider ruled out';
  if (first === 'cpu') {
    const why = ruledOut.length ? `no GPU provider usable here (${ruledOut.join(', ')} unavailable)` : 'no GPU provider in this build';
    return { text: `Runs on CPU: ${why}`, detail };
  }
  return { text: `Tries ${deviceName(first)} first, falls back to CPU`, detail };
}

/** The stage as the progress line names it (post-processing in words; the others as the engine names them). */
function stageName(stage: string): string {
  return stage === 'postprocess' ? 'post-processing' : stage;
}

function eta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '';
  if (seconds < 1) return 'less than 1 s left';
  if (seconds < 90) return `about ${Math.round(seconds)} s left`;
  return `about ${Math.round(seconds / 60)} min left`;
}

export function ModelPanel() {
  const models = useStore((s) => s.models);
  const modelId = useStore((s) => s.modelId);
  const job = useStore((s) => s.job);
  const image = useStore((s) => s.image);
  const result = useStore((s) => s.result);
  const devicePlan = useStore((s) => s.devicePlan);
  const modelPostprocess = useStore((s) => s.modelPostprocess);
  const compatibility = useStore((s) => s.compatibility);
  const usable = modelsFor(models, image?.info.kind, unfitModels({ image, compatibility }));
  // The same choice Run and Ctrl+Enter make (models/usable.ts).
  const chosen = shownModel({ models, modelId, image, compatibility });
  const warnings = chosen ? (compatibilityOf({ image, compatibility }).find((c) => c.modelId === chosen.id)?.warnings ?? []) : [];
  const handle = image?.handle;
  // Asked again when the installed models change (a model added or removed).
  useEffect(() => {
    if (handle) void loadCompatibility(handle);
  }, [handle, models]);
  const progress = job?.progress;
  const inference = result?.document.inference;
  const skipped = Array.isArray(inference?.skippedDevices) ? (inference.skippedDevices as unknown[]).map(String) : [];
  return (
    <section className="panel" data-testid="model-panel">
      <h2>
        Model
        <button data-testid="add-model" disabled={job !== null} onClick={() => void files.addModel()} title={tip('Add an .onnx model (with its manifest.json, or Deepness metadata)', 'addModel')}>
          Add model...
        </button>
      </h2>
      <div className="row">
        <select
          data-testid="model-select"
          value={chosen?.id ?? ''}
          disabled={usable.length === 0 || job !== null}
          onChange={(e) => apply(op.modelPicked(e.target.value))}
          aria-label="Model"
        >
          {usable.length === 0 && <option value="">{models.length === 0 ? 'no models installed' : `no model for ${image?.info.kind ?? ''} images`}</option>}
          {usable.map((m) => (
            <option key={m.id} value={m.id}>
              {m.name} {m.version}
              {m.nonCommercial ? ' (non-commercial use only)' : ''}
            </option>
          ))}
        </select>
        {job ? (
          <button data-testid="cancel-button" className="danger" onClick={() => void cmd.cancelJob()} title="Stop the model; nothing is kept">
            Cancel
          </button>
        ) : (
          <button
            data-testid="run-button"
            className="primary"
            disabled={!image || !chosen}
            onClick={() => void cmd.runSegmentation()}
            title={tip('Run the model on this image', 'run')}
          >
            Run
          </button>
        )}
      </div>
      {chosen && (
        <div className="model-card" data-testid="model-card">
          <div className="muted">
            {chosen.task} · {chosen.kinds.join(', ')} · {chosen.classes.map((c) => c.name).join(', ')} · {chosen.license}
          </div>
          {chosen.nonCommercial && (
            <div className="badge-nc" data-testid="model-noncommercial" title={`The weights' licence (${chosen.license}) forbids commercial use`}>
              Non-commercial use only
            </div>
          )}
          {warnings.map((w, i) => (
            <div key={`${w.code}-${i}`} className="model-warning" data-testid="model-warning" data-code={w.code} role="alert">
              {w.message}
            </div>
          ))}
          {chosen.summary && <p data-testid="model-summary">{chosen.summary}</p>}
          {chosen.postprocess && (
            <label className="row" title="The model's clean-up step, as its card explains; switch it off to keep every object (e.g. multifocal lesions)">
              <input
                type="checkbox"
                data-testid="model-postprocess"
                checked={modelPostprocess}
                disabled={job !== null}
                onChange={(e) => apply(op.modelPostprocessSet(e.target.checked))}
              />
              {postprocessLabel(chosen.postprocess)}
            </label>
          )}
          {chosen.source === 'user' && (
            <div className="row">
              <span className="muted">Added by you</span>
              <button className="small" data-testid="remove-model" disabled={job !== null} onClick={() => void files.removeModel(chosen.id)} title="Remove this model from your models folder">
                Remove
              </button>
            </div>
          )}
        </div>
      )}
      {job && (
        <div className="job" data-testid="job">
          <progress data-testid="job-progress" value={progress ? progress.done : undefined} max={progress ? Math.max(1, progress.total) : undefined} />
          <div className="muted">
            <span data-testid="job-stage">{progress ? stageName(progress.stage) : 'starting'}</span>
            {progress && progress.total > 1 && (
              <span>
                {' '}
                {progress.done}/{progress.total}
              </span>
            )}{' '}
            <span data-testid="job-eta">{eta(progress?.etaSeconds)}</span>
          </div>
        </div>
      )}
      {devicePlan && !job && !inference && (
        <div className="muted" data-testid="device-plan" title={devicePlanText(devicePlan).detail}>
          {devicePlanText(devicePlan).text}
        </div>
      )}
      {inference && !job && (
        <div className="muted" data-testid="device" title={skipped.length ? `Skipped: ${skipped.join('; ')}` : 'First choice'}>
          Ran on {inference.device.toUpperCase()} in <span data-testid="run-seconds" title={`Run to result on screen; the model and its post-processing took ${inference.seconds.toFixed(1)} s of it`}>{(result?.wallSeconds ?? inference.seconds).toFixed(1)} s</span> ({inference.tiles} tiles)
          {skipped.length > 0 && <span> — {skipped.length} faster provider{skipped.length > 1 ? 's' : ''} unavailable</span>}
        </div>
      )}
    </section>
  );
}
