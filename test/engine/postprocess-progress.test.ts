// Post-processing has its own progress with an estimate of the time left: from 0 % (estimated from the voxel
// count) to 100 % after the last step, between the last tile and 'done'; and those events leave the engine host
// through its progress thinning (first and last always), as the window receives them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as path from 'node:path';
import { postprocessProgress, segmentImage } from '../../main/engine/pipeline';
import { openImage } from '../../main/engine/io';
import { writeNifti } from '../../main/engine/io/nifti';
import { createEngineService } from '../../main/engine/service';
import { serveEngine, type HostTransport } from '../../main/engine/host/server';
import type { FromHost } from '../../main/engine/host/protocol';
import type { JobProgress } from '../../preload/api';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';

type Progress = Omit<JobProgress, 'jobId'>;
const W = 96;
const D = 6;

/** Bright blocks of several sizes on a textured background, on every slice. */
function volume(): Uint8Array {
  const px = new Uint8Array(W * W * D);
  for (let i = 0; i < px.length; i++) px[i] = 30 + (i % 17);
  for (let z = 0; z < D; z++) {
    for (const [x0, y0, s] of [[5, 5, 20], [50, 50, 9], [70, 10, 4]] as const) {
      for (let y = y0; y < y0 + s; y++) for (let x = x0; x < x0 + s; x++) px[(z * W + y) * W + x] = 230;
    }
  }
  return px;
}

describe('post-processing progress', () => {
  const t = tempDir();
  const models = path.join(t.dir, 'models');
  const file = path.join(t.dir, 'vol.nii.gz');
  const savedModelsDir = process.env.DELINEATE_MODELS_DIR;
  beforeAll(async () => {
    // The model's clean-up step (keep the largest object) adds a step, so the stage has more than one.
    writeModelFolder(models, { ...brightManifest('largest'), postprocess: { keepLargestComponents: 1 } });
    await writeNifti(file, { data: volume(), width: W, height: W, depth: D, channels: 1, geometry: { type: 'medical', spacingMm: [1, 1, 2], originMm: [0, 0, 0], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] } });
    process.env.DELINEATE_MODELS_DIR = models;
  });
  afterAll(() => {
    if (savedModelsDir === undefined) delete process.env.DELINEATE_MODELS_DIR;
    else process.env.DELINEATE_MODELS_DIR = savedModelsDir;
    t.cleanup();
  });

  it('goes from 0 % with an estimate to 100 % after the last tile and before done', async () => {
    const events: Progress[] = [];
    const src = await openImage(file);
    try {
      await segmentImage(src, { model: path.join(models, 'largest'), device: 'cpu' }, (p) => events.push(p));
    } finally {
      await src.close();
    }
    const stages = events.map((e) => e.stage);
    const post = events.filter((e) => e.stage === 'postprocess');
    expect(stages.lastIndexOf('inference')).toBeLessThan(stages.indexOf('postprocess'));
    expect(stages.lastIndexOf('postprocess')).toBeLessThan(stages.indexOf('done'));
    // Start, one per step (filter, components, measurements): at least four, done never going back.
    expect(post.length).toBeGreaterThanOrEqual(4);
    expect(post[0]).toMatchObject({ done: 0, total: 100 });
    expect(post.at(-1)).toMatchObject({ done: 100, total: 100 });
    for (let i = 1; i < post.length; i++) expect(post[i]!.done).toBeGreaterThanOrEqual(post[i - 1]!.done);
    // The first estimate comes from the voxel count, the later ones from the time taken; none is missing or negative.
    for (const e of post) {
      expect(e.etaSeconds).toBeTypeOf('number');
      expect(e.etaSeconds!).toBeGreaterThanOrEqual(0);
    }
    expect(post[0]!.etaSeconds!).toBeGreaterThan(0);
    expect(post.at(-1)!.etaSeconds).toBe(0);
  });

  it('estimates the time left from the share of the work done', () => {
    const sent: Progress[] = [];
    let clockMs = 1000;
    const step = postprocessProgress((p) => sent.push(p), 1_000_000, () => clockMs);
    clockMs += 500;
    step(1, 4);
    clockMs += 1500;
    step(4, 4);
    expect(sent.map((p) => p.done)).toEqual([0, 25, 100]);
    // A quarter in 0.5 s: 1.5 s left; all done: nothing left.
    expect(sent[1]!.etaSeconds).toBeCloseTo(1.5, 6);
    expect(sent[2]!.etaSeconds).toBe(0);
    expect(sent[0]!.etaSeconds).toBeGreaterThan(0);
  });

  it('reaches the window through the engine host loop: the first and the last post-processing event', async () => {
    const messages: FromHost[] = [];
    let deliver: (m: unknown) => void = () => undefined;
    const transport: HostTransport = { send: (m) => messages.push(m), onMessage: (l) => (deliver = l) };
    serveEngine(createEngineService(), transport);
    deliver({ type: 'call', id: 1, method: 'segment', params: [file, { modelId: 'largest', device: 'cpu' }], jobId: 'j1' });
    const end = Date.now() + 60_000;
    while (!messages.some((m) => (m.type === 'result' || m.type === 'error') && m.id === 1) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const failed = messages.find((m) => m.type === 'error');
    expect(failed).toBeUndefined();
    const post = messages.flatMap((m) => (m.type === 'progress' && m.progress.stage === 'postprocess' ? [m.progress] : []));
    expect(post[0]).toMatchObject({ done: 0, total: 100 });
    expect(post.at(-1)).toMatchObject({ done: 100, total: 100, etaSeconds: 0 });
    expect(messages.some((m) => m.type === 'result' && m.id === 1)).toBe(true);
  }, 90_000);
});
