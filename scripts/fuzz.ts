// `npm run fuzz -- [--iterations N] [--seed S] [--timeout-ms T] [--rss-mb M] [--heap-mb H] [--kinds a,b] [--case ID]`
// Mutates real and generated inputs and runs them through the engine host (see scripts/fuzz-lib.ts); prints the
// counts and the time taken, keeps failing inputs in .tmp/fuzz/findings, and exits 1 when our code crashed, hung
// or allocated without bound. Deterministic for a given --seed (timing-dependent hangs aside).
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { findAppRoot } from '../main/engine/inference/manifest';
import { FUZZ_KINDS, failuresInOurCode, formatReport, runFuzz, type FuzzKind, type FuzzOptions } from './fuzz-lib';

const ROOT = findAppRoot(__dirname) ?? process.cwd();

function parseArgs(argv: string[]): FuzzOptions {
  const o: FuzzOptions = {
    iterations: 200,
    seed: 1,
    timeoutMs: 20_000,
    rssCapMb: 1536,
    heapMb: 1024,
    hostPath: path.join(ROOT, 'dist', 'engine-host.cjs'),
    samplesDir: existsSync(path.join(ROOT, '..', 'shared', 'samples')) ? path.join(ROOT, '..', 'shared', 'samples') : null,
    kinds: FUZZ_KINDS,
    findingsDir: path.join(ROOT, '.tmp', 'fuzz', 'findings'),
    log: (line) => process.stderr.write(`${line}\n`),
  };
  const int = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${name}: expected an integer >= ${min}, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    switch (a) {
      case '--iterations':
        o.iterations = int(a, v, 1);
        break;
      case '--seed':
        o.seed = int(a, v, 0);
        break;
      case '--timeout-ms':
        o.timeoutMs = int(a, v, 100);
        break;
      case '--rss-mb':
        o.rssCapMb = int(a, v, 64);
        break;
      case '--heap-mb':
        o.heapMb = int(a, v, 64);
        break;
      case '--case':
        o.only = int(a, v, 0);
        break;
      case '--samples':
        o.samplesDir = v && v !== 'none' ? path.resolve(v) : null;
        break;
      case '--kinds': {
        const kinds = (v ?? '').split(',').filter(Boolean);
        const bad = kinds.filter((k) => !(FUZZ_KINDS as readonly string[]).includes(k));
        if (bad.length || kinds.length === 0) throw new Error(`--kinds: expected some of ${FUZZ_KINDS.join(',')}`);
        o.kinds = kinds as FuzzKind[];
        break;
      }
      default:
        throw new Error(`unknown argument ${a ?? ''}`);
    }
    i++;
  }
  return o;
}

async function main(): Promise<number> {
  let o: FuzzOptions;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`fuzz: ${(err as Error).message}\n`);
    return 2;
  }
  process.stderr.write(`fuzz: ${o.only !== undefined ? `case ${o.only}` : `${o.iterations} cases`}, seed ${o.seed}, kinds ${o.kinds.join(',')}, samples ${o.samplesDir ?? 'none (generated seeds only)'}\n`);
  const report = await runFuzz(o);
  process.stdout.write(`${formatReport(report, o)}\n`);
  return failuresInOurCode(report) > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fuzz: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(2);
  },
);
