// What a model's licence allows, read from its manifest (`license`, required) and its card: whether the weights
// are for non-commercial use only (pickers and `models list` must say so), and the card's licence section (the
// third-party code and data the weights come from), which `models inspect` prints.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ModelManifest } from '../../../preload/formats';

/**
 * Whether a licence string forbids commercial use: Creative Commons NC variants (SPDX `CC-BY-NC-4.0`,
 * `CC-BY-NC-SA-4.0`, `CC-BY-NC-ND-4.0`, "CC BY-NC-SA 4.0") and licences that say "non-commercial" in words.
 * "Research use" notes alone do not count: MIT weights with a research-use note may be used commercially.
 */
export function isNonCommercialLicense(license: string): boolean {
  return /\bCC[- ]?BY(?:[- ](?:SA|ND))*[- ]NC\b/i.test(license) || /\bnon[- ]?commercial\b|\bno commercial\b|\bnot for commercial\b/i.test(license);
}

/** The one line shown wherever a non-commercial model is offered (picker, `models list`). */
export const NON_COMMERCIAL_NOTE = 'non-commercial use only';

/**
 * The model card's licence section (a heading containing "licence"/"license", up to the next heading of the same
 * or a higher level) as plain lines, or [] when the card or the section is missing.
 */
export async function cardLicenceSection(manifestPath: string | null, manifest: ModelManifest): Promise<string[]> {
  if (!manifestPath) return [];
  let text: string;
  try {
    text = await fs.readFile(path.join(path.dirname(manifestPath), manifest.card ?? 'README.md'), 'utf8');
  } catch {
    return [];
  }
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((l) => /^#{1,6}\s.*licen[cs]e/i.test(l));
  if (start < 0) return [];
  const level = /^#+/.exec(lines[start]!)![0].length;
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const heading = /^(#+)\s/.exec(line);
    if (heading && heading[1]!.length <= level) break;
    out.push(line);
  }
  // Continuation lines of a list item are joined to it, so each item reads as one line.
  const items: string[] = [];
  for (const line of out) {
    if (line.trim() === '') continue;
    if (/^\s*([*-]|\d+\.)\s/.test(line) || items.length === 0) items.push(line.trim());
    else items[items.length - 1] += ` ${line.trim()}`;
  }
  return items;
}
