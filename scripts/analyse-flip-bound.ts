// How a manifest's testTimeFlipsMinProbability changes a model's output: for each validation patient of the brain
// model (never the test half), the labels with the flips on every slice against the labels with the flips only on
// the slices where the plain run reaches each bound, with the slices that ran the flips and the Dice to the expert
// mask. The bound shipped in models/brain-flair-lgg (1.3.0) was chosen with it.
//   node scripts/run-ts.mjs scripts/analyse-flip-bound.ts [--model <id|manifest>] [bound...]   (default 0.02 0.05 0.1 0.2 0.5)
import { resolveModel } from '../main/engine/inference/manifest';
import { segmentImage } from '../main/engine/pipeline';
import { dice } from '../main/engine/measure/agreement';
import { dataPresent, foreground, openBrain, splitIds } from './eval-sets';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const mi = argv.indexOf('--model');
  const spec = mi >= 0 ? argv.splice(mi, 2)[1]! : 'brain-flair-lgg';
  const bounds = argv.length ? argv.map(Number) : [0.02, 0.05, 0.1, 0.2, 0.5];
  if (bounds.some((b) => !(b > 0 && b < 1))) throw new Error('each bound must lie in (0, 1)');
  if (!dataPresent('tumor-lgg-flair')) {
    console.log('skipped: ../shared/data/tumor-lgg-flair is missing');
    return;
  }
  const base = await resolveModel(spec);
  if (!base.manifest.testTimeFlips?.length) throw new Error(`${spec}: the manifest has no testTimeFlips`);
  const patients = splitIds('brain_val.txt', 'brain_test.txt').validation;
  const totals = new Map<number, { changed: number; patientsChanged: number; flipped: number; tiles: number; dice: number[] }>();
  for (const patient of patients) {
    const { src, truth } = await openBrain(patient);
    const gt = await truth();
    const labelsAt = async (bound: number | null): Promise<{ fg: Uint8Array; flipped: number; tiles: number }> => {
      const { testTimeFlipsMinProbability: _, ...plain } = base.manifest;
      const manifest = bound === null ? plain : { ...plain, testTimeFlipsMinProbability: bound };
      const out = await segmentImage(src, { model: { ...base, manifest }, device: 'cpu', threads: 2 }, () => {});
      const inf = out.document.inference!;
      return { fg: foreground(out), flipped: typeof inf.tilesFlipped === 'number' ? inf.tilesFlipped : inf.tiles, tiles: inf.tiles };
    };
    const everywhere = await labelsAt(null);
    const row = [`${patient}: flips everywhere Dice ${dice(everywhere.fg, gt).toFixed(4)}`];
    for (const b of bounds) {
      const r = await labelsAt(b);
      let changed = 0;
      for (let i = 0; i < r.fg.length; i++) if (r.fg[i] !== everywhere.fg[i]) changed++;
      const t = totals.get(b) ?? { changed: 0, patientsChanged: 0, flipped: 0, tiles: 0, dice: [] };
      t.changed += changed;
      t.patientsChanged += changed ? 1 : 0;
      t.flipped += r.flipped;
      t.tiles += r.tiles;
      t.dice.push(dice(r.fg, gt));
      totals.set(b, t);
      row.push(`${b}: ${r.flipped}/${r.tiles} flipped, ${changed} voxels differ`);
    }
    console.log(row.join('; '));
    await src.close();
  }
  for (const [b, t] of totals) {
    const meanDice = t.dice.reduce((a, v) => a + v, 0) / t.dice.length;
    console.log(`bound ${b}: flips on ${t.flipped} of ${t.tiles} slices; ${t.changed} voxels in ${t.patientsChanged} of ${patients.length} patients differ from the flips everywhere; mean Dice ${meanDice.toFixed(4)}`);
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
