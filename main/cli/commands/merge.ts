// `delineate merge <shard-dir>... --out <dir>`: joins the folders `segment --shard K/N` wrote into the result one
// run would have written (shards.ts). Shards that do not belong together are one line and exit 2, nothing written.
import { checkFlags, flagString, parseArgs, UsageError } from '../args';
import { mergeShards } from '../../engine/shards';

export async function mergeCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  checkFlags(args, ['out']);
  if (args.positionals.length === 0) throw new UsageError('merge needs the shard folders: delineate merge <dir>... --out <dir>');
  const outDir = flagString(args, 'out');
  if (!outDir) throw new UsageError('merge needs --out <dir>');
  const startedMs = performance.now();
  const r = await mergeShards(args.positionals, outDir, () => undefined);
  const wallS = ((performance.now() - startedMs) / 1000).toFixed(1);
  if (r.mode === 'files') {
    for (const f of r.failed) process.stderr.write(`delineate merge: ${f.message}\n`);
    process.stdout.write(`merged ${args.positionals.length} shards: ${r.files.length} result folders into ${outDir}${r.failed.length ? `; ${r.failed.length} inputs had failed` : ''} (${wallS} s)\n`);
    return r.failed.length ? 2 : 0;
  }
  process.stdout.write(`merged ${args.positionals.length} shards into ${outDir}: ${r.instanceCount} instances (${wallS} s)\n`);
  return 0;
}
