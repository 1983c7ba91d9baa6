// Plain-words descriptions of what a model's manifest asks for (pure: unit-tested without a page).
import type { ModelSummary } from '../../preload/api';

/** What the model's component filters do, in words. */
export function postprocessLabel(p: NonNullable<ModelSummary['postprocess']>): string {
  const parts: string[] = [];
  if (p.keepLargestComponents !== undefined) parts.push(p.keepLargestComponents === 1 ? 'keep only the largest object per class' : `keep the ${p.keepLargestComponents} largest objects per class`);
  if (p.minComponentFraction !== undefined) parts.push(`drop objects under ${Math.round(p.minComponentFraction * 100)}% of the largest`);
  if (p.minComponentMeanProbability !== undefined) parts.push(`drop other objects whose mean probability is under ${Math.round(p.minComponentMeanProbability * 100)}%`);
  if (p.minObjectAreaM2 !== undefined) parts.push(`drop objects under ${p.minObjectAreaM2} m²`);
  if (p.regularize) parts.push(`square off outlines that fill ${Math.round(p.regularize.minFill * 100)}% or more of their rectangle`);
  return `Model clean-up: ${parts.join(', ')}`;
}
