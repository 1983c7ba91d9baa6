// Asks the engine how each installed model suits the open image (kind, channels, resolution: one engine check,
// main/engine/inference/compatibility.ts), once per image and again when the models change. A failure leaves the
// picker as it was (every model of the image's kind) rather than blocking Run.
import { apply, getState } from '../state/store';
import * as op from '../state/operations';

export async function loadCompatibility(handle: string): Promise<void> {
  try {
    const value = await window.delineate.modelCompatibility(handle);
    if (getState().image?.handle === handle) apply(op.compatibilityLoaded(handle, value));
  } catch {
    // The engine restarting or the file gone: the next open asks again.
  }
}
