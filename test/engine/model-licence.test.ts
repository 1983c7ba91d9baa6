// Model licences: the manifest's `license` is required; licences that forbid commercial use are recognised and
// flagged in summaries (picker, `models list`), and `models list` / `models inspect` print them with the card's
// licence section (the third-party data and code behind the weights).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { resolveModel, summarize, validateManifest } from '../../main/engine/inference/manifest';
import { cardLicenceSection, isNonCommercialLicense } from '../../main/engine/inference/license';
import { brightManifest, tempDir, writeModelFolder } from '../fixtures/models';

const repo = path.resolve(__dirname, '..', '..');
const cli = path.join(repo, 'dist', 'cli.cjs');

const NC_CARD = `# Dim things

Finds dim things.

## Data provenance and licence

* Data: the Dim set, by Someone et al.,
  published 2020.
* Licence: CC BY-NC-SA 4.0 (non-commercial).

## Training

Not relevant here.
`;

describe('model licences', () => {
  it('recognises non-commercial licences, and only those', () => {
    for (const l of ['CC-BY-NC-SA-4.0 (training data; research use)', 'CC BY-NC 4.0', 'cc-by-nc-nd-4.0', 'Custom: non-commercial research only', 'Noncommercial use']) {
      expect(isNonCommercialLicense(l), l).toBe(true);
    }
    for (const l of ['MIT', 'CC-BY-4.0', 'CC-BY-SA-4.0', 'Apache-2.0', 'MIT (xView2-deploy repo; research use)', 'DeepGlobe 2018 challenge terms (research use)', 'commercial licence']) {
      expect(isNonCommercialLicense(l), l).toBe(false);
    }
  });

  it('requires a non-empty license in every manifest', () => {
    const m = JSON.parse(JSON.stringify(brightManifest())) as Record<string, unknown>;
    delete m.license;
    expect(() => validateManifest(m, 'manifest.json')).toThrow(/"license" must be a non-empty string/);
    expect(() => validateManifest({ ...m, license: '' }, 'manifest.json')).toThrow(/"license" must be a non-empty string/);
  });

  it('every shipped manifest names a licence; the brain model (LGG data, CC BY-NC-SA) is flagged non-commercial', async () => {
    const ids = readdirSync(path.join(repo, 'models')).filter((d) => existsSync(path.join(repo, 'models', d, 'manifest.json')));
    expect(ids).toContain('brain-flair-lgg');
    for (const id of ids) {
      const raw = JSON.parse(readFileSync(path.join(repo, 'models', id, 'manifest.json'), 'utf8')) as { license?: unknown };
      expect(typeof raw.license === 'string' && raw.license.length > 0, `${id} license`).toBe(true);
    }
    const env = { DELINEATE_MODELS_DIR: path.join(repo, 'models'), DELINEATE_USER_MODELS_DIR: path.join(repo, 'no-such-dir') };
    expect(summarize(await resolveModel('brain-flair-lgg', env)).nonCommercial).toBe(true);
    expect(summarize(await resolveModel('buildings-joplin', env)).nonCommercial).toBeUndefined();
  });

  describe('card licence section and the CLI', () => {
    const t = tempDir('delineate-licence-');
    const models = path.join(t.dir, 'models');
    const env = { ...process.env, DELINEATE_MODELS_DIR: models, DELINEATE_USER_MODELS_DIR: path.join(t.dir, 'none') };
    beforeAll(() => {
      writeModelFolder(models, { ...brightManifest('dim'), name: 'Dim things', license: 'CC-BY-NC-SA-4.0' }, undefined, NC_CARD);
      writeModelFolder(models, { ...brightManifest('bright'), name: 'Bright things', license: 'MIT' });
    });
    afterAll(() => t.cleanup());

    it('reads the card section as one line per item', async () => {
      const dim = await resolveModel('dim', env);
      expect(await cardLicenceSection(dim.manifestPath, dim.manifest)).toEqual(['* Data: the Dim set, by Someone et al., published 2020.', '* Licence: CC BY-NC-SA 4.0 (non-commercial).']);
      const bright = await resolveModel('bright', env);
      expect(await cardLicenceSection(bright.manifestPath, bright.manifest)).toEqual([]);
    });

    const run = (args: string[]) => spawnSync(process.execPath, [path.join(repo, 'bin', 'delineate.cjs'), ...args], { encoding: 'utf8', env, timeout: 60_000 });

    it.skipIf(!existsSync(cli))(`models list marks the non-commercial model only${existsSync(cli) ? '' : ' (skipped: dist/cli.cjs missing, run npm run build)'}`, () => {
      const r = run(['models', 'list']);
      expect(r.status).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines.find((l) => l.startsWith('dim '))).toMatch(/CC-BY-NC-SA-4\.0, NON-COMMERCIAL USE ONLY\)$/);
      expect(lines.find((l) => l.startsWith('bright '))).not.toMatch(/non-commercial/i);
      const json = JSON.parse(run(['models', 'list', '--json']).stdout) as Array<{ id: string; nonCommercial?: boolean }>;
      expect(json.find((m) => m.id === 'dim')?.nonCommercial).toBe(true);
      expect(json.find((m) => m.id === 'bright')?.nonCommercial).toBeUndefined();
    });

    it.skipIf(!existsSync(cli))(`models inspect <id> lists the model's licence and the third-party terms behind it${existsSync(cli) ? '' : ' (skipped: dist/cli.cjs missing, run npm run build)'}`, () => {
      const r = run(['models', 'inspect', 'dim']);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('licence: CC-BY-NC-SA-4.0 (NON-COMMERCIAL USE ONLY)');
      expect(r.stdout).toContain('  * Data: the Dim set, by Someone et al., published 2020.');
      expect(r.stdout).toMatch(/third-party software licences: THIRD-PARTY-NOTICES\.txt/);
      const json = JSON.parse(run(['models', 'inspect', 'bright', '--json']).stdout) as { license: { model: string; nonCommercial: boolean; thirdParty: string[] } };
      expect(json.license).toEqual({ model: 'MIT', nonCommercial: false, thirdParty: [] });
    });
  });
});
