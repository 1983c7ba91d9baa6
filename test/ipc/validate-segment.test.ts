// 'segment:run' may switch off the model's component filters (modelPostprocess: false); the model list tells the
// renderer which models have filters, so the switch is only offered for them. A saved session's view may carry
// the manual measurements (rulers with 2 points, bidirectionals with 4), checked strictly.
import { describe, expect, it } from 'vitest';
import { validateArgs } from '../../main/ipc/validate';
import { summarize } from '../../main/engine/inference/manifest';
import type { ResolvedModel } from '../../main/engine/inference/manifest';
import { postprocessLabel } from '../../renderer/models/describe';
import { brightManifest } from '../fixtures/models';

const handle = `h_${'0'.repeat(32)}`;

describe('segment request and model summary', () => {
  it('accepts modelPostprocess as a boolean and refuses anything else', () => {
    expect(validateArgs('segment:run', ['job_1', { handle, modelId: 'brain-flair-lgg', modelPostprocess: false }])[1]).toEqual({ handle, modelId: 'brain-flair-lgg', modelPostprocess: false });
    expect(() => validateArgs('segment:run', ['job_1', { handle, modelId: 'x', modelPostprocess: 'no' }])).toThrow(/modelPostprocess: expected true or false/);
  });

  it('lists the manifest filters and flips in the summary, and says what they do', () => {
    const manifest = { ...brightManifest('m'), testTimeFlips: ['x' as const], postprocess: { keepLargestComponents: 1 } };
    const model = { manifest, source: 'builtin', onnxPath: '/x/model.onnx', dir: '/x' } as unknown as ResolvedModel;
    const s = summarize(model);
    expect(s.postprocess).toEqual({ keepLargestComponents: 1 });
    expect(s.testTimeFlips).toEqual(['x']);
    expect(summarize({ ...model, manifest: brightManifest('plain') } as ResolvedModel).postprocess).toBeUndefined();
    expect(postprocessLabel({ keepLargestComponents: 1 })).toBe('Model clean-up: keep only the largest object per class');
    expect(postprocessLabel({ keepLargestComponents: 2, minComponentFraction: 0.1 })).toMatch(/2 largest objects.*under 10% of the largest/);
    expect(postprocessLabel({ minObjectAreaM2: 25 })).toBe('Model clean-up: drop objects under 25 m²');
    expect(postprocessLabel({ minObjectAreaM2: 25, regularize: { shape: 'rectangle', minFill: 0.6 } })).toBe('Model clean-up: drop objects under 25 m², square off outlines that fill 60% or more of their rectangle');
  });
});

describe('session view measurements', () => {
  const view = (measurements: unknown) => [{ handle, resultId: 'r_a1', view: { z: 0, measurements } }];
  it('accepts rulers with 2 points and bidirectionals with 4', () => {
    const ok = [
      { z: 0, kind: 'ruler', points: [[1, 2], [3, 4]] },
      { z: 2, kind: 'bidirectional', points: [[0, 0], [10, 0], [5, -2], [5, 2]] },
    ];
    expect((validateArgs('session:save', view(ok))[0] as { view: unknown }).view).toEqual({ z: 0, measurements: ok });
  });

  it('refuses a wrong point count, an unknown kind and foreign keys', () => {
    expect(() => validateArgs('session:save', view([{ z: 0, kind: 'ruler', points: [[1, 2], [3, 4], [5, 6]] }]))).toThrow(/points: expected 2 points for a ruler/);
    expect(() => validateArgs('session:save', view([{ z: 0, kind: 'angle', points: [[1, 2], [3, 4]] }]))).toThrow(/kind/);
    expect(() => validateArgs('session:save', view([{ z: 0, kind: 'ruler', points: [[1, 2], [3, 4]], label: 'x' }]))).toThrow(/unexpected key "label"/);
  });
});
