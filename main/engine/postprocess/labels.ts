// Probability maps -> label map. Label values follow the fixed contract: 0 = no class, 1..N = manifest classes
// in order, 255 (65535 for > 254 classes) = nodata / not processed. Alongside, the probability of the chosen
// class per pixel, which instances average into `meanProbability`.
import { NODATA_LABEL, NODATA_LABEL_U16 } from '../../../preload/formats';
import type { ModelManifest } from '../../../preload/formats';

export type LabelArray = Uint8Array | Uint16Array;

export interface LabelResult {
  labels: LabelArray;
  /** Probability of the assigned class (for label 0: of background, or 1 - max class probability). */
  probability: Float32Array;
  /**
   * The most probable class other than the assigned one (its label; 0 = none) and its probability: where the
   * object could grow (size ranges, measure/ranges.ts). Sigmoid: a no-class pixel's best class; a class pixel's
   * next class above 0, if any. Softmax: the next class after the assigned one (background excluded).
   */
  altLabels: LabelArray;
  altProbability: Float32Array;
  nodataLabel: number;
}

/** Output channel of each class (class i -> label i + 1). */
export function classChannels(outputs: ModelManifest['outputs'], classCount: number, channels: number): number[] {
  if (outputs.classChannels) return outputs.classChannels;
  // Softmax/logits with several channels: channel 0 is background unless the manifest says otherwise.
  const multi = outputs.type === 'softmax' || (outputs.type === 'logits' && channels > 1);
  const firstClass = multi && outputs.backgroundChannel !== false ? 1 : 0;
  return Array.from({ length: classCount }, (_, i) => firstClass + i);
}

export function labelArrayFor(classCount: number, length: number): { labels: LabelArray; nodataLabel: number } {
  return classCount > 254 ? { labels: new Uint16Array(length), nodataLabel: NODATA_LABEL_U16 } : { labels: new Uint8Array(length), nodataLabel: NODATA_LABEL };
}

/**
 * probs: K x P (P pixels). Softmax (and multi-channel logits, already activated): argmax over background +
 * class channels; with no background channel a pixel is a class only if its probability reaches `threshold`
 * (when given). Sigmoid: a class where p >= threshold (default 0.5), the most probable class if several.
 * valid: optional mask (0 = nodata) -> nodata label.
 */
export function probabilitiesToLabels(
  probs: Float32Array,
  channels: number,
  pixels: number,
  outputs: ModelManifest['outputs'],
  classCount: number,
  valid?: Uint8Array,
): LabelResult {
  const chans = classChannels(outputs, classCount, channels);
  for (const ch of chans) if (ch >= channels) throw new Error(`class channel ${ch} does not exist: the model has ${channels} output channels`);
  const { labels, nodataLabel } = labelArrayFor(classCount, pixels);
  const probability = new Float32Array(pixels);
  const altLabels = labelArrayFor(classCount, pixels).labels;
  const altProbability = new Float32Array(pixels);
  const sigmoid = outputs.type === 'sigmoid' || (outputs.type === 'logits' && channels === 1);
  // Channel 0 is background for softmax/logits unless the manifest says there is none or gives channel 0 another
  // role (a class, the boundary or the distance head).
  const hasBackground =
    !sigmoid && outputs.backgroundChannel !== false && !chans.includes(0) && outputs.boundaryChannel !== 0 && outputs.distanceChannel !== 0;
  const threshold = outputs.threshold ?? (sigmoid ? 0.5 : undefined);
  for (let i = 0; i < pixels; i++) {
    if (valid && valid[i] === 0) {
      labels[i] = nodataLabel;
      continue;
    }
    let best = -1;
    let bestP = hasBackground ? probs[i]! : -Infinity;
    // Best and second-best class channel (background left out), for the alternative class.
    let top = -1;
    let topP = -Infinity;
    let second = -1;
    let secondP = -Infinity;
    for (let k = 0; k < chans.length; k++) {
      const p = probs[chans[k]! * pixels + i]!;
      if (p > bestP) {
        bestP = p;
        best = k;
      }
      if (p > topP) {
        second = top;
        secondP = topP;
        top = k;
        topP = p;
      } else if (p > secondP) {
        second = k;
        secondP = p;
      }
    }
    if (best >= 0 && threshold !== undefined && !hasBackground && bestP < threshold) best = -1;
    labels[i] = best + 1;
    probability[i] = best >= 0 ? bestP : hasBackground ? bestP : 1 - Math.max(0, bestP);
    const alt = best === top ? second : top;
    const altP = best === top ? secondP : topP;
    if (alt >= 0 && altP > 0) {
      altLabels[i] = alt + 1;
      altProbability[i] = altP;
    }
  }
  return { labels, probability, altLabels, altProbability, nodataLabel };
}
