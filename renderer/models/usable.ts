// Which models fit the open image, and which one the picker shows: one definition, read by the picker, the Run
// button and Ctrl+Enter, so the model that runs is always the model on screen.
import type { ImageKind, ModelCompatibility, ModelSummary } from '../../preload/api';
import type { AppState } from '../state/store';

/**
 * Models that can run on an image of this kind (no image yet: all of them), less those the engine found unfit for
 * the open image (another kind of data, or channels they cannot read: the brain model on a colour photo).
 */
export function modelsFor(models: ModelSummary[], kind: ImageKind | undefined, unfit: ReadonlySet<string> = new Set()): ModelSummary[] {
  const byKind = !kind || kind === 'image' ? models : models.filter((m) => m.kinds.includes(kind));
  return byKind.filter((m) => !unfit.has(m.id));
}

/** What the engine said about the open image's fit with each model (nothing yet, or for another image: empty). */
export function compatibilityOf(s: Pick<AppState, 'image' | 'compatibility'>): ModelCompatibility[] {
  return s.image && s.compatibility?.handle === s.image.handle ? s.compatibility.value : [];
}

/** Ids of the models the engine found unfit for the open image. */
export function unfitModels(s: Pick<AppState, 'image' | 'compatibility'>): Set<string> {
  return new Set(compatibilityOf(s).filter((c) => c.unfit).map((c) => c.modelId));
}

/**
 * The model the picker shows: the one picked when it fits the open image, else the first that does. The picked id
 * can be one that does not fit (picked for an image of another kind); it is kept, so going back to such an image
 * shows it again, but it is never what runs here.
 */
export function shownModel(s: Pick<AppState, 'models' | 'modelId' | 'image' | 'compatibility'>): ModelSummary | undefined {
  const usable = modelsFor(s.models, s.image?.info.kind, unfitModels(s));
  return usable.find((m) => m.id === s.modelId) ?? usable[0];
}
