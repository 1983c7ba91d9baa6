// The shipped brain model keeps a second real lesion: a real FLAIR volume (validation patient TCGA_CS_6668 of
// ../shared/data/tumor-lgg-flair, as NIfTI) with a real lesion of another validation patient (TCGA_DU_7294) pasted
// into the other hemisphere must come out of `delineate segment --model brain-flair-lgg` as two objects, one on
// each lesion. Before the clean-up rule was changed, only the largest 3D component survived.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCliBundle, readBand0, repoRoot, sharedDir, skipNote, tempDir } from './helpers';
import { countVoxels, loadFlairPatient, pasteLesion, writeFlairNifti } from './flair-synthetic';

const DATA = path.join(sharedDir, 'data', 'tumor-lgg-flair');
const RECIPIENT = path.join(DATA, 'TCGA_CS_6668_20011025');
const DONOR = path.join(DATA, 'TCGA_DU_7294_19890104');
const HAVE = existsSync(RECIPIENT) && existsSync(DONOR) && existsSync(path.join(repoRoot, 'models', 'brain-flair-lgg', 'model.onnx'));

describe.skipIf(!HAVE)(`brain model on a volume with two lesions${skipNote(!HAVE, '../shared/data/tumor-lgg-flair or the brain model missing')}`, () => {
  const t = tempDir('delineate-brain-two-');
  let own: Uint8Array;
  let pasted: Uint8Array;
  let instances: ArrayLike<number>;
  let doc: { instances: Array<{ id: number; pixelCount: number }>; inference?: { postprocess?: Record<string, number> } };

  beforeAll(async () => {
    await ensureCliBundle();
    const recipient = loadFlairPatient(RECIPIENT);
    const two = pasteLesion(recipient, loadFlairPatient(DONOR));
    own = recipient.mask;
    pasted = two.pasted;
    const file = path.join(t.dir, 'two-lesions.nii.gz');
    await writeFlairNifti(file, two, two.image);
    const out = path.join(t.dir, 'out');
    mkdirSync(out, { recursive: true });
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'delineate.cjs'), 'segment', file, '--model', 'brain-flair-lgg', '--out', out], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    doc = JSON.parse(readFileSync(path.join(out, 'instances.json'), 'utf8')) as typeof doc;
    instances = (await readBand0(path.join(out, 'instances.nii.gz'))).data;
  }, 400_000);
  afterAll(() => t.cleanup());

  /** The object covering most of a lesion, and the share of the lesion it covers. */
  function cover(lesion: Uint8Array): { id: number; share: number } {
    const hits = new Map<number, number>();
    for (let i = 0; i < lesion.length; i++) if (lesion[i] && instances[i]) hits.set(instances[i]!, (hits.get(instances[i]!) ?? 0) + 1);
    const [id, n] = [...hits].sort((a, b) => b[1] - a[1])[0] ?? [0, 0];
    return { id, share: n / countVoxels(lesion) };
  }

  it('finds both lesions as separate objects', () => {
    const a = cover(own);
    const b = cover(pasted);
    console.log(`own lesion: object ${a.id} covers ${(a.share * 100).toFixed(0)}%; pasted lesion: object ${b.id} covers ${(b.share * 100).toFixed(0)}%; ${doc.instances.length} object(s); clean-up ${JSON.stringify(doc.inference?.postprocess)}`);
    expect(doc.instances.length).toBeGreaterThanOrEqual(2);
    expect(a.share).toBeGreaterThan(0.5);
    expect(b.share).toBeGreaterThan(0.5);
    expect(a.id).not.toBe(b.id);
  });
});
