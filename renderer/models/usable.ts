// Which models fit the open image, and which one the picker shows: one definition, read by the picker, the Run
// button and Ctrl+Enter, so the model that runs is always the model on screen.
import type { ImageKind, ModelSummary } from '../../preload/api';
import type { AppState } from '../state/store';

/** Models that can run on an image of this kind (no image yet: all of them). */
export function modelsFor(models: ModelSummary[], kind: ImageKind | undefined): ModelSummary[] {
  if (!kind || kind === 'image') return models;
  return models.filter((m) => m.kinds.includes(kind));
}

/**
 * The model the picker shows: the one picked when it fits the open image, else the first that does. The picked id
 * can be one that does not fit (picked for an image of another kind); it is kept, so going back to such an image
 * shows it again, but it is never what runs here.
 */
export function shownModel(s: Pick<AppState, 'models' | 'modelId' | 'image'>): ModelSummary | undefined {
  const usable = modelsFor(s.models, s.image?.info.kind);
  return usable.find((m) => m.id === s.modelId) ?? usable[0];
}
