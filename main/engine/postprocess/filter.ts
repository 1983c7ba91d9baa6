// The component filters a model's manifest may ask for (`postprocess`): per class, keep the N largest connected
// components and/or drop the other components that are smaller than a fraction of the class's largest or that the
// model is not sure of as a whole (mean probability below a bound). The largest component of a class is never
// dropped by these minimum rules, so a faint single lesion still shows. Runs on the label map before
// instances are made, so dropped pixels become background (label 0) everywhere: overlays, measurements, exports.
// On a volume the components are 3D (the run's connectivity), so a lesion counts once, not slice by slice.
import type { ModelPostprocess } from '../../../preload/formats';
import { connectedComponents, type Connectivity } from './components';
import type { LabelArray } from './labels';

export interface FilterInput {
  labels: LabelArray;
  width: number;
  height: number;
  depth: number;
  nodataLabel: number;
  connectivity: Connectivity;
  /** Probability of each pixel's assigned class (same layout as labels); needed by `minComponentMeanProbability`. */
  probability?: Float32Array;
}

export interface FilterOutcome {
  removedComponents: number;
  removedPixels: number;
}

/** Applies the filters in place on `labels`. */
export function filterComponents(input: FilterInput, filter: ModelPostprocess): FilterOutcome {
  const keepN = filter.keepLargestComponents;
  const minFraction = filter.minComponentFraction !== undefined && filter.minComponentFraction > 0 ? filter.minComponentFraction : undefined;
  // Without probabilities (labels given by the user) there is no confidence to judge: that rule cannot apply.
  const minMeanP = filter.minComponentMeanProbability !== undefined && filter.minComponentMeanProbability > 0 && input.probability ? filter.minComponentMeanProbability : undefined;
  if (keepN === undefined && minFraction === undefined && minMeanP === undefined) return { removedComponents: 0, removedPixels: 0 };
  // Probabilities are summed per component only when the rule needs them.
  const { probability, ...labelsOnly } = input;
  const cc = connectedComponents(minMeanP !== undefined && probability ? { ...labelsOnly, probability } : labelsOnly);
  const meanP = new Float64Array(cc.stats.length + 1);
  for (const s of cc.stats) meanP[s.id] = s.pixelCount > 0 ? s.probabilitySum / s.pixelCount : 0;
  const byClass = new Map<number, Array<{ id: number; size: number }>>();
  for (const s of cc.stats) {
    const list = byClass.get(s.classId) ?? [];
    list.push({ id: s.id, size: s.pixelCount });
    byClass.set(s.classId, list);
  }
  const drop = new Uint8Array(cc.stats.length + 1);
  let removedComponents = 0;
  for (const list of byClass.values()) {
    // Largest first; equal sizes keep raster order (the lower id), so the outcome never depends on sort stability.
    list.sort((a, b) => b.size - a.size || a.id - b.id);
    const largest = list[0]!.size;
    list.forEach((c, rank) => {
      const tooMany = keepN !== undefined && rank >= keepN;
      const tooSmall = rank > 0 && minFraction !== undefined && c.size < minFraction * largest;
      const unsure = rank > 0 && minMeanP !== undefined && meanP[c.id]! < minMeanP;
      if (tooMany || tooSmall || unsure) {
        drop[c.id] = 1;
        removedComponents++;
      }
    });
  }
  let removedPixels = 0;
  if (removedComponents > 0) {
    const { labels } = input;
    const map = cc.instances;
    for (let i = 0; i < map.length; i++) {
      if (drop[map[i]!]) {
        labels[i] = 0;
        removedPixels++;
      }
    }
  }
  return { removedComponents, removedPixels };
}
