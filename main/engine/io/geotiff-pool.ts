// The pool of worker threads that decode compressed GeoTIFF blocks (geotiff-worker.ts). One pool per process,
// started on the first large read, one thread per core up to 8 (DELINEATE_DECODE_THREADS overrides; 0 turns the
// pool off). Threads are unref'd while idle, so they never keep a CLI process alive, and end after a minute idle
// or on closeDecodePool(). A worker that fails or exits rejects the blocks it held: reads never hang.
import { Worker, threadId } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { BlockError, type BlockJob } from './geotiff-block';

/** Most decode threads, whatever the core count: past this the disk and the copy on the calling thread limit. */
export const MAX_DECODE_THREADS = 8;
/** Blocks posted to one worker at a time: one decoding while the next is on its way. */
const PER_WORKER = 2;
const IDLE_MS = 60_000;

export interface PoolRequest {
  id: number;
  /** Identifies the decoder parameters (one image), so the worker can keep its decoder. */
  decoderKey: string;
  job: BlockJob;
}

export type PoolReply = { id: number; pixels: Uint8Array; error?: undefined } | { id: number; error: string; pixels?: undefined };

/** The pool stopped (closed, or its worker died) before the block came back. */
export class PoolStoppedError extends Error {
  override name = 'PoolStoppedError';
  /** The worker never answered once (it could not start): the block can be decoded on the calling thread instead. */
  readonly workerNeverStarted: boolean;
  constructor(message: string, workerNeverStarted = false) {
    super(message);
    this.workerNeverStarted = workerNeverStarted;
  }
}

/** Threads the pool uses: DELINEATE_DECODE_THREADS when set (0 = no pool), else the cores, at most 8. */
export function decodeThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.DELINEATE_DECODE_THREADS;
  if (raw !== undefined && raw.trim() !== '') {
    const n = Number(raw);
    if (Number.isInteger(n) && n >= 0) return Math.min(n, MAX_DECODE_THREADS);
  }
  return Math.max(1, Math.min(MAX_DECODE_THREADS, availableParallelism()));
}

/** Reads of fewer compressed blocks decode on the calling thread (DELINEATE_DECODE_POOL_MIN_BLOCKS overrides, tests). */
export function poolMinBlocks(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.DELINEATE_DECODE_POOL_MIN_BLOCKS);
  return Number.isInteger(n) && n >= 1 ? n : 4;
}

/** Blocks the pool has decoded and workers it started in this process: what tests and benchmarks report. */
export const decodePoolStats = { blocks: 0, workersStarted: 0 };

interface Task {
  req: PoolRequest;
  resolve: (pixels: Uint8Array) => void;
  reject: (err: Error) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface Slot {
  worker: Worker;
  inFlight: Map<number, Task>;
  /** Whether the worker has answered at least once. */
  answered: boolean;
}

let builtFromSource: string | null = null;
let scriptOverride: string | null = null;

/** Tests: start workers from this file instead (null: the bundle, as shipped). Takes effect for the next pool. */
export function setDecodeWorkerScript(file: string | null): void {
  scriptOverride = file;
}

/**
 * The worker script: the bundle beside this code (dist/geotiff-worker.cjs, unpacked from an asar archive), else,
 * when running from the TypeScript sources (tests), a bundle built once per process with esbuild.
 */
function workerScript(): string | null {
  if (scriptOverride) return scriptOverride;
  for (const dir of [__dirname, path.join(__dirname, '..')]) {
    const file = path.join(dir, 'geotiff-worker.cjs');
    const unpacked = file.replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`);
    if (unpacked !== file && existsSync(unpacked)) return unpacked;
    if (existsSync(file)) return file;
  }
  const source = path.join(__dirname, 'geotiff-worker.ts');
  if (!existsSync(source)) return null;
  if (builtFromSource) return builtFromSource;
  try {
    // esbuild is a development dependency: this branch only runs from the sources, never in a shipped build.
    const esbuild = createRequire(source)('esbuild') as { buildSync(options: Record<string, unknown>): unknown };
    // Inside the checkout (its .tmp/, ignored), so the bundle finds sharp in node_modules like dist/ does.
    const tmp = path.join(__dirname, '..', '..', '..', '.tmp');
    removeStaleBuilds(tmp);
    const dir = path.join(tmp, `geotiff-worker-${process.pid}-${threadId}`);
    mkdirSync(dir, { recursive: true });
    const outfile = path.join(dir, 'geotiff-worker.cjs');
    esbuild.buildSync({ entryPoints: [source], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['sharp'], logLevel: 'error' });
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    builtFromSource = outfile;
    return outfile;
  } catch {
    return null;
  }
}

/** Source builds of processes that are gone (a test runner that kills its forks skips their exit handlers). */
function removeStaleBuilds(tmp: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(tmp).filter((n) => /^geotiff-worker-\d+/.test(n));
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^geotiff-worker-(\d+)/.exec(name)![1]);
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') rmSync(path.join(tmp, name), { recursive: true, force: true });
    }
  }
}

class DecodePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private idleTimer: NodeJS.Timeout | null = null;
  /** Set when a worker failed before answering once: decodePool() then gives no pool. */
  broken = false;
  /** Set once any worker has answered: the bundle loads, so callers need not keep a copy for a retry. */
  proven = false;

  constructor(
    private readonly script: string,
    readonly threads: number,
  ) {}

  decode(req: Omit<PoolRequest, 'id'>, signal?: AbortSignal): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortError(signal));
        return;
      }
      if (this.broken) {
        reject(new PoolStoppedError('the decode workers cannot start', true));
        return;
      }
      const task: Task = { req: { ...req, id: this.nextId++ }, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        task.onAbort = () => this.abort(task);
        signal.addEventListener('abort', task.onAbort, { once: true });
      }
      this.queue.push(task);
      this.pump();
    });
  }

  /** Ends every worker; blocks still out reject with PoolStoppedError. */
  async close(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    for (const task of this.queue.splice(0)) this.settle(task, new PoolStoppedError('the decode pool was closed'));
    const slots = this.slots.splice(0);
    // Closed on purpose: blocks out in a worker that has not answered yet reject too (no retry on the calling
    // thread, which is only for workers that cannot start), so a read in progress fails instead of half-finishing.
    for (const slot of slots) this.fail(slot, 'the decode pool was closed', false);
    await Promise.all(slots.map((s) => s.worker.terminate().catch(() => 0)));
  }

  private pump(): void {
    while (this.queue.length > 0) {
      // An idle worker first, then a new one (up to the thread count), then the least busy with room.
      let slot = this.slots.find((s) => s.inFlight.size === 0);
      if (!slot && this.slots.length < this.threads) slot = this.spawn();
      slot ??= this.slots.filter((s) => s.inFlight.size < PER_WORKER).sort((a, b) => a.inFlight.size - b.inFlight.size)[0];
      if (!slot) break;
      const task = this.queue.shift()!;
      slot.inFlight.set(task.req.id, task);
      slot.worker.ref();
      slot.worker.postMessage(task.req, [task.req.job.raw]);
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.queue.length === 0 && this.slots.every((s) => s.inFlight.size === 0)) {
      this.idleTimer = setTimeout(() => void this.close(), IDLE_MS);
      this.idleTimer.unref();
    }
  }

  private spawn(): Slot {
    const worker = new Worker(this.script, { stdout: false, stderr: false });
    decodePoolStats.workersStarted++;
    const slot: Slot = { worker, inFlight: new Map(), answered: false };
    this.slots.push(slot);
    worker.unref();
    worker.on('message', (reply: PoolReply) => {
      slot.answered = true;
      this.proven = true;
      const task = slot.inFlight.get(reply.id);
      slot.inFlight.delete(reply.id);
      if (slot.inFlight.size === 0) worker.unref();
      if (task) {
        if (reply.error !== undefined) this.settle(task, new BlockError(reply.error));
        else {
          decodePoolStats.blocks++;
          this.settle(task, null, reply.pixels);
        }
      }
      this.pump();
    });
    worker.on('error', (err) => this.drop(slot, `the decode worker failed: ${err.message.split('\n')[0]}`));
    worker.on('exit', (code) => this.drop(slot, `the decode worker exited (code ${code})`));
    return slot;
  }

  /** A worker that failed or exited: its blocks reject, the others carry on, and a new one starts when needed. */
  private drop(slot: Slot, why: string): void {
    const at = this.slots.indexOf(slot);
    if (at >= 0) this.slots.splice(at, 1);
    if (!slot.answered) {
      // A worker that cannot even start (missing or broken bundle) will not start next time either: this process
      // decodes on the calling thread from now on, and the blocks it held are retried there.
      this.broken = true;
      for (const task of this.queue.splice(0)) this.settle(task, new PoolStoppedError(why, true));
    }
    this.fail(slot, why);
    this.pump();
  }

  private fail(slot: Slot, why: string, neverStarted = !slot.answered): void {
    for (const task of slot.inFlight.values()) this.settle(task, new PoolStoppedError(why, neverStarted));
    slot.inFlight.clear();
    slot.worker.unref();
  }

  private abort(task: Task): void {
    const queued = this.queue.indexOf(task);
    if (queued >= 0) this.queue.splice(queued, 1);
    // A block already in a worker finishes there; its pixels are dropped when they arrive.
    for (const slot of this.slots) slot.inFlight.delete(task.req.id);
    this.settle(task, abortError(task.signal!));
    this.pump();
  }

  private settle(task: Task, err: Error | null, pixels?: Uint8Array): void {
    if (task.signal && task.onAbort) task.signal.removeEventListener('abort', task.onAbort);
    task.onAbort = undefined;
    if (err) task.reject(err);
    else task.resolve(pixels!);
  }
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error('the read was cancelled');
  err.name = 'AbortError';
  return err;
}

let pool: DecodePool | null = null;
let unavailable = false;

/** The process's decode pool, started on first use; null when turned off or when no worker script can be found. */
export function decodePool(): DecodePool | null {
  if (pool?.broken) {
    pool = null;
    unavailable = true;
  }
  if (pool) return pool;
  if (unavailable) return null;
  const threads = decodeThreads();
  const script = threads > 0 ? workerScript() : null;
  if (!script) {
    unavailable = true;
    return null;
  }
  pool = new DecodePool(script, threads);
  return pool;
}

/** Ends the pool's threads (engine shutdown, tests); a later large read starts a new pool. */
export async function closeDecodePool(): Promise<void> {
  const p = pool;
  pool = null;
  unavailable = false;
  await p?.close();
}

export type { DecodePool };
