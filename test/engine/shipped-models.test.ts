// The four shipped models as the built CLI sees them: listed, each ONNX within the 10 MB budget, each one's graph
// agreeing with its manifest (no problems from `models inspect`), and the embedded manifest equal to manifest.json.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from './helpers';

const SHIPPED = ['brain-flair-lgg', 'landcover-deepglobe', 'buildings-joplin', 'landcover-sentinel2-korea'];
const MAX_ONNX_BYTES = 10 * 1024 * 1024;
const cli = path.join(repoRoot, 'dist', 'cli.cjs');
const skip = !existsSync(cli) ? 'dist/ is not built (npm run build)' : null;
if (skip) console.warn(`shipped model checks skipped: ${skip}`);

function delineate(args: string[]): { code: number | null; stdout: string; stderr: string } {
  // The user's own models folder is pointed at nothing so only the shipped ones are listed.
  const env = { ...process.env, DELINEATE_USER_MODELS_DIR: path.join(repoRoot, '.tmp', 'no-user-models') };
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'delineate.cjs'), ...args], { encoding: 'utf8', env, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(skip !== null)(`shipped models${skip === null ? '' : ` (skipped: ${skip})`}`, () => {
  it('models list shows all four (and the interactive models, as task "prompt")', () => {
    const r = delineate(['models', 'list', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const builtin = (JSON.parse(r.stdout) as Array<{ id: string; source: string; task: string }>).filter((m) => m.source === 'builtin');
    expect(builtin.filter((m) => m.task !== 'prompt').map((m) => m.id).sort()).toEqual([...SHIPPED].sort());
    for (const m of builtin.filter((b) => b.task === 'prompt')) expect(m.id).toMatch(/^interactive-/);
  });

  it.each(SHIPPED)('%s: ONNX under 10 MB, graph and manifest agree', (id) => {
    const onnx = path.join(repoRoot, 'models', id, 'model.onnx');
    expect(statSync(onnx).size).toBeLessThanOrEqual(MAX_ONNX_BYTES);
    const r = delineate(['models', 'inspect', id, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { onnx: { metadata: Record<string, string> }; manifest: { id: string }; problems: string[] };
    expect(report.problems).toEqual([]);
    const onDisk = JSON.parse(readFileSync(path.join(repoRoot, 'models', id, 'manifest.json'), 'utf8')) as unknown;
    expect(JSON.parse(report.onnx.metadata.delineate_manifest!)).toEqual(onDisk);
  });
});
