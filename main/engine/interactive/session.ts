// A live prompt session on one opened image, for the app's AI tool: the model, its embedding cache and the object
// stay loaded between clicks, so each click costs one model step. Every click (or box) runs one step on its slice
// with all clicks so far on that slice and the current mask, exactly as `delineate prompt` replays them; Propagate
// carries the current slice's object through the volume. Plain data in and out: the host decides what to send on.
import type { ImageSource } from '../image';
import { resolveModel, type ResolvedModel } from '../inference/manifest';
import type { DeviceRequest, ModelRuntime } from '../inference/runtime';
import { MaskWindow, type Click2, type PixelBox } from './geometry';
import { openPromptModel, type PromptModel, type StepResult } from './models';
import { defaultPromptModel, runPrompt, type PromptRun, type VolumeMask } from './prompt';
import { PromptImage } from './prompt-image';

export interface PromptSessionOptions {
  model?: string | ResolvedModel;
  device?: DeviceRequest;
  threads?: number;
  runtime?: ModelRuntime;
}

export class PromptSession {
  private readonly clicks = new Map<number, Click2[]>();
  private readonly boxes = new Map<number, PixelBox>();
  private masks: VolumeMask = new Map();

  private constructor(
    readonly model: PromptModel,
    readonly image: PromptImage,
  ) {}

  /** Opens the model for an image (default: the shipped interactive model for its kind). The caller owns src. */
  static async open(src: ImageSource, options: PromptSessionOptions = {}): Promise<PromptSession> {
    const resolved = typeof options.model === 'object' ? options.model : await resolveModel(options.model ?? defaultPromptModel(src));
    const model = await openPromptModel(resolved, { device: options.device ?? 'cpu', ...(options.threads ? { threads: options.threads } : {}), ...(options.runtime ? { runtime: options.runtime } : {}) });
    const m = resolved.manifest;
    const channels = m.interactive?.format === 'sam' ? Math.min(3, src.channels) : m.input.channels.length;
    return new PromptSession(model, new PromptImage(src, channels));
  }

  private check(x: number, y: number, z: number): void {
    if (![x, y, z].every(Number.isInteger) || x < 0 || y < 0 || z < 0 || x >= this.image.width || y >= this.image.height || z >= this.image.depth) {
      throw new RangeError(`point ${x},${y},${z} is outside the image (${this.image.width}x${this.image.height}x${this.image.depth})`);
    }
  }

  private async step(z: number): Promise<StepResult> {
    const r = await this.model.step(this.image, { z, clicks: [...(this.clicks.get(z) ?? [])], box: this.boxes.get(z) ?? null, previous: this.masks.get(z) ?? MaskWindow.empty() });
    this.masks.set(z, r.mask.tight());
    return r;
  }

  /** Adds an include (positive) or exclude click on slice z and runs one step there. */
  async click(x: number, y: number, z: number, positive: boolean): Promise<StepResult> {
    this.check(x, y, z);
    this.clicks.set(z, [...(this.clicks.get(z) ?? []), { x, y, positive }]);
    return this.step(z);
  }

  /** Sets the box of slice z (inclusive corners) and runs one step there. */
  async box(box: PixelBox, z: number): Promise<StepResult> {
    this.check(box.x0, box.y0, z);
    this.check(box.x1, box.y1, z);
    this.boxes.set(z, { x0: Math.min(box.x0, box.x1), y0: Math.min(box.y0, box.y1), x1: Math.max(box.x0, box.x1), y1: Math.max(box.y0, box.y1) });
    return this.step(z);
  }

  /** Carries slice z's object through the volume both ways; the other slices are replaced by the result. */
  async propagate(z: number, options: { signal?: AbortSignal; onSlice?: (done: number, total: number) => void } = {}): Promise<PromptRun> {
    const start = this.masks.get(z);
    if (!start?.bbox()) throw new RangeError(`slice ${z} has no object to propagate yet`);
    // Propagation seeds from the slice's mask alone (no clicks to replay): the model sees it as the previous mask.
    const run = await runPrompt(this.model, this.image, { clicks: [], box: null, previous: new Map([[z, start]]), propagate: true, startSlice: z, ...options });
    this.masks = run.masks;
    return run;
  }

  /** The object now: slice -> mask window. */
  objectMasks(): VolumeMask {
    return new Map(this.masks);
  }

  /** Forgets clicks, boxes and masks (Esc); the model and its embeddings stay loaded. */
  clear(): void {
    this.clicks.clear();
    this.boxes.clear();
    this.masks = new Map();
    this.model.reset();
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}
