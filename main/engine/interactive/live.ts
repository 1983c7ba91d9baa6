// The AI tool's prompt sessions as the engine host keeps them: one PromptSession (model, embeddings, clicks, object)
// per opened prompt, each with its own open image, answering every call with the object as run-length encoded
// windows (small enough to send after each click). Calls on one prompt run one after another. Also the empty
// result an accepted object goes into when the image has no result yet.
import { randomBytes } from 'node:crypto';
import type { MaskRle, PromptOpened, PromptState } from '../../../preload/api';
import type { InstancesDocument, ManifestClass } from '../../../preload/formats';
import { InputError, type ImageSource } from '../image';
import { openImage } from '../io';
import type { OpenOptions } from '../service';
import { resolveModel, scanModels, summarize } from '../inference/manifest';
import type { ModelSummary } from '../../../preload/formats';
import { measureInstances } from '../measure/index';
import { encodeMaskRle } from '../results/rle';
import { isNodata, sourceRecord } from '../segment-setup';
import { labelArrayFor } from '../postprocess/labels';
import type { ResultInput } from '../results/store';
import type { ResultRasters } from '../export/results';
import { resultRasters } from '../export/results';
import { defaultPromptModel, type VolumeMask } from './prompt';
import { PromptSession } from './session';

export const PROMPT_ID_PATTERN = /^p_[A-Za-z0-9]{1,40}$/;

/** Prompts kept at once: each holds a model and an open image; the oldest goes when another opens. */
const MAX_PROMPTS = 2;

interface Live {
  session: PromptSession;
  src: ImageSource;
  /** Calls on this prompt run in order (a click must see the one before it). */
  chain: Promise<unknown>;
}

/** The object on every slice that holds it, as run-length encoded tight windows, by slice. */
export function masksToRle(masks: VolumeMask): MaskRle[] {
  const out: MaskRle[] = [];
  for (const z of [...masks.keys()].sort((a, b) => a - b)) {
    const m = masks.get(z)!.tight();
    if (m.width === 0) continue;
    out.push(encodeMaskRle(z, m.x, m.y, m.width, m.height, m.data));
  }
  return out;
}

/** Installed interactive models (the segmentation list leaves them out: they run from clicks, never from Run). */
export async function listPromptModels(): Promise<ModelSummary[]> {
  const scan = await scanModels();
  return scan.models.filter((m) => m.manifest.task === 'prompt').map(summarize);
}

/** The model a prompt or an empty result uses: the given installed id, else the shipped one for the image's kind. */
async function promptModelFor(src: ImageSource, modelId: string | null) {
  const resolved = await resolveModel(modelId ?? defaultPromptModel(src));
  const m = resolved.manifest;
  if (m.task !== 'prompt' || !m.interactive) throw new InputError(m.id, `"${m.name}" is not an interactive model: the AI tool needs one with "task": "prompt"`);
  if (!m.kinds.includes(src.kind)) throw new InputError(src.file, `model "${m.name}" is for ${m.kinds.join('/')} images; this image is ${src.kind}`);
  return resolved;
}

export class LivePrompts {
  private readonly live = new Map<string, Live>();

  async open(path: string, options: OpenOptions, modelId: string | null): Promise<PromptOpened> {
    const src = await openImage(path, options);
    try {
      const resolved = await promptModelFor(src, modelId);
      const session = await PromptSession.open(src, { model: resolved });
      const promptId = `p_${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
      this.live.set(promptId, { session, src, chain: Promise.resolve() });
      while (this.live.size > MAX_PROMPTS) await this.close(this.live.keys().next().value as string);
      const m = resolved.manifest;
      return { promptId, modelId: m.id, modelName: m.name, format: m.interactive?.format ?? 'clickmaps' };
    } catch (err) {
      await src.close();
      throw err;
    }
  }

  private get(promptId: string): Live {
    const l = this.live.get(promptId);
    if (!l) throw new Error('the AI tool was closed (its model is no longer loaded): pick the tool again');
    return l;
  }

  /** Runs fn after the prompt's earlier calls; the answer is the whole object now. */
  private async run(promptId: string, z: number, fn: (s: PromptSession) => Promise<{ modelMs: number; steps: number }>): Promise<PromptState> {
    const l = this.get(promptId);
    const next = l.chain.then(async (): Promise<PromptState> => {
      const { modelMs, steps } = await fn(l.session);
      const masks = masksToRle(l.session.objectMasks());
      return { promptId, z, masks, slices: masks.map((m) => m.z), modelSeconds: modelMs / 1000, steps };
    });
    l.chain = next.catch(() => undefined);
    return next;
  }

  click(promptId: string, z: number, x: number, y: number, positive: boolean): Promise<PromptState> {
    return this.run(promptId, z, async (s) => {
      const r = await s.click(x, y, z, positive);
      return { modelMs: r.modelMs, steps: 1 };
    });
  }

  box(promptId: string, z: number, box: { x0: number; y0: number; x1: number; y1: number }): Promise<PromptState> {
    return this.run(promptId, z, async (s) => {
      const r = await s.box(box, z);
      return { modelMs: r.modelMs, steps: 1 };
    });
  }

  propagate(promptId: string, z: number, onProgress: (done: number, total: number) => void, signal: AbortSignal): Promise<PromptState> {
    return this.run(promptId, z, async (s) => {
      const r = await s.propagate(z, { signal, onSlice: onProgress });
      return { modelMs: r.modelMs, steps: r.steps.length };
    });
  }

  async clear(promptId: string): Promise<void> {
    const l = this.get(promptId);
    await l.chain;
    l.session.clear();
  }

  /** Releases the model and the image; an unknown id is no error (closed already). */
  async close(promptId: string): Promise<void> {
    const l = this.live.get(promptId);
    if (!l) return;
    this.live.delete(promptId);
    await l.chain;
    await l.session.dispose().catch(() => undefined);
    await l.src.close().catch(() => undefined);
  }
}

/**
 * An empty result for an image (no model run): zero labels (nodata where channel 0 is the file's nodata), the
 * prompt model's classes, measured tables with no objects. What an accepted object goes into when there is no result.
 */
export async function emptyResult(path: string, options: OpenOptions, modelId: string | null): Promise<{ input: ResultInput; rasters: ResultRasters; model: { id: string; version: string } }> {
  const src = await openImage(path, options);
  try {
    const resolved = await promptModelFor(src, modelId);
    // A SAM-family manifest may name no classes: the object is then just an object.
    const named = resolved.manifest.classes ?? [];
    const classes: ManifestClass[] = named.length ? named : [{ name: 'object', color: '#ffcc00' }];
    const { width: W, height: H, depth: D } = src;
    const { labels, nodataLabel } = labelArrayFor(classes.length, W * H * D);
    let valid = W * H * D;
    if (src.nodata !== undefined) {
      const band = (await src.read({ channels: [0] })).data;
      for (let i = 0; i < band.length; i++) {
        if (isNodata(band[i]!, src.nodata)) {
          labels[i] = nodataLabel;
          valid--;
        }
      }
    }
    const geometry = src.geometry;
    const classRecords = measureInstances([], { geometry, depth: D, classes, validPixelCount: valid, classPixelCounts: [], hasProbability: false, hasIntensity: false }).classes;
    const m = resolved.manifest;
    const document: InstancesDocument = { source: sourceRecord(src, geometry), classes: classRecords, instances: [] };
    const instances = new Uint32Array(W * H * D);
    const maps = { width: W, height: H, depth: D, geometry, classes, labels, nodataLabel, instances };
    // The base folder's overlay is never shown; a blank backdrop spares reading the whole image for it.
    const rasters = resultRasters(src.kind, maps, 0, { data: new Uint8Array(W * H * D), channels: 1 }, Math.floor(D / 2));
    return { input: { ...maps, path, document, connectivity: D > 1 ? 26 : 8 }, rasters, model: { id: m.id, version: m.version } };
  } finally {
    await src.close();
  }
}
