// Shell-side handle on the engine host process: spawns it, runs calls with progress and cancel, and turns a
// crash (native fault, out of memory, kill) into clear rejections plus a 'crashed' state the UI can act on.

import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { EngineState, EngineStatus } from '../../../preload/api';
import { isFromHost, type EngineCalls, type EngineMethod, type FromHost, type Progress, type ToHost } from './protocol';

/** The running host as the client sees it; implemented over child_process.fork and Electron's utilityProcess. */
export interface HostProcess {
  readonly pid: number | undefined;
  send(message: ToHost): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Called once when the process is gone, whatever the reason. */
  onExit(listener: (info: { code: number | null; signal: string | null }) => void): void;
  kill(): void;
}

export type SpawnHost = () => HostProcess;

export interface EngineHostOptions {
  spawn?: SpawnHost;
  /** How long a fresh host may take to say 'ready' before it counts as crashed. */
  startTimeoutMs?: number;
}

export interface CallOptions {
  jobId?: string;
  onProgress?: (progress: Progress) => void;
}

/** Why a call failed when the host died under it; the renderer shows the message. */
export class EngineStoppedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineStoppedError';
  }
}

/** The host's own failure (an engine error), rebuilt on this side with its name kept. */
export class EngineCallError extends Error {
  constructor(message: string, name: string) {
    super(message);
    this.name = name;
  }
}

/** The bundled host next to the bundled main: dist/engine-host.cjs. */
export function defaultHostPath(): string {
  return join(__dirname, '..', 'engine-host.cjs');
}

/** Heap cap for the host: a runaway decoder hits it and dies alone instead of swapping the machine. */
export const HOST_MAX_OLD_SPACE_MB = 4096;

/** Forks a Node child running the host bundle (tests, the test host, the CLI's isolated mode). */
export function forkHost(modulePath: string = defaultHostPath(), execArgv: string[] = [], env?: Record<string, string>): SpawnHost {
  return () => {
    const child = fork(modulePath, [], {
      serialization: 'advanced',
      // Extra variables on top of ours (the test host names its autosave folder this way).
      ...(env ? { env: { ...process.env, ...env } } : {}),
      execArgv: [`--max-old-space-size=${HOST_MAX_OLD_SPACE_MB}`, ...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return {
      get pid() {
        return child.pid;
      },
      send: (m) => {
        if (child.connected) child.send(m);
      },
      onMessage: (l) => child.on('message', l),
      onExit: (l) => {
        let fired = false;
        const once = (code: number | null, signal: string | null) => {
          if (!fired) {
            fired = true;
            l({ code, signal });
          }
        };
        child.on('exit', once);
        // A failed spawn emits 'error' and may never emit 'exit'.
        child.on('error', () => once(null, null));
      },
      kill: () => {
        child.kill('SIGKILL');
      },
    };
  };
}

interface Pending {
  method: EngineMethod;
  jobId?: string;
  onProgress?: (progress: Progress) => void;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

type StateListener = (status: EngineStatus) => void;

export class EngineHostClient {
  private readonly spawnHost: SpawnHost;
  private readonly startTimeoutMs: number;
  private proc: HostProcess | null = null;
  private state: EngineState = 'stopped';
  private message: string | undefined;
  private restarts = 0;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<StateListener>();
  private ready: Promise<void> | null = null;

  constructor(options: EngineHostOptions = {}) {
    this.spawnHost = options.spawn ?? forkHost();
    this.startTimeoutMs = options.startTimeoutMs ?? 30_000;
  }

  status(): EngineStatus {
    const status: EngineStatus = { state: this.state, restarts: this.restarts };
    if (this.proc?.pid !== undefined && (this.state === 'ready' || this.state === 'starting')) status.pid = this.proc.pid;
    if (this.message !== undefined) status.message = this.message;
    return status;
  }

  /** Subscribes to state changes; returns the unsubscribe function. */
  onState(listener: StateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts the host if it is not running; resolves once it reports ready. */
  start(): Promise<void> {
    if (this.ready && (this.state === 'starting' || this.state === 'ready')) return this.ready;
    const proc = this.spawnHost();
    this.proc = proc;
    this.message = undefined;
    this.setState('starting');
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.proc === proc && this.state === 'starting') {
          reject(new EngineStoppedError(`engine host did not start within ${this.startTimeoutMs} ms`));
          proc.kill();
        }
      }, this.startTimeoutMs);
      proc.onMessage((raw) => {
        if (this.proc !== proc || !isFromHost(raw)) return;
        if (raw.type === 'ready') {
          clearTimeout(timer);
          this.setState('ready');
          resolve();
          return;
        }
        this.onHostMessage(raw);
      });
      proc.onExit(({ code, signal }) => {
        clearTimeout(timer);
        if (this.proc !== proc) return; // an old host we already replaced
        this.proc = null;
        if (this.state === 'stopped') {
          // Deliberate stop: calls were failed by stopProcess; fail any that slipped in since.
          this.failAll('engine host stopped');
          reject(new EngineStoppedError('engine host stopped'));
          return;
        }
        const why = signal ? `signal ${signal}` : code !== null ? `exit code ${code}` : 'failed to start';
        const msg = `engine host stopped (${why})`;
        this.message = msg;
        this.failAll(msg);
        this.setState('crashed');
        reject(new EngineStoppedError(msg));
      });
    });
    // Callers that never await start() must not produce an unhandled rejection.
    this.ready.catch(() => undefined);
    return this.ready;
  }

  /** Runs one engine method in the host. Rejects with EngineStoppedError if the host dies meanwhile. */
  async call<M extends EngineMethod>(method: M, params: EngineCalls[M]['params'], options: CallOptions = {}): Promise<EngineCalls[M]['result']> {
    if (this.state === 'crashed') {
      throw new EngineStoppedError(`${this.message ?? 'engine host stopped'}; restart the engine to continue`);
    }
    // Register synchronously when ready, so a stop() right after call() still finds this call to reject.
    if (this.state !== 'ready') await this.start();
    const proc = this.proc;
    if (!proc || this.state !== 'ready') throw new EngineStoppedError(this.message ?? 'engine host stopped');
    const id = this.nextId++;
    return new Promise<EngineCalls[M]['result']>((resolve, reject) => {
      const entry: Pending = { method, resolve: resolve as (v: unknown) => void, reject };
      if (options.jobId !== undefined) entry.jobId = options.jobId;
      if (options.onProgress) entry.onProgress = options.onProgress;
      this.pending.set(id, entry);
      const msg: ToHost = { type: 'call', id, method, params: [...params] };
      if (options.jobId !== undefined) msg.jobId = options.jobId;
      proc.send(msg);
    });
  }

  /** Asks the host to abort a job; true when such a job was running. */
  cancel(jobId: string): boolean {
    const running = [...this.pending.values()].some((p) => p.jobId === jobId);
    if (running && this.proc) this.proc.send({ type: 'cancel', jobId });
    return running;
  }

  /** Kills the current host (if any) and starts a fresh one; pending calls reject. */
  async restart(): Promise<EngineStatus> {
    if (this.proc) await this.stopProcess('engine host restarted');
    this.restarts++;
    await this.start();
    return this.status();
  }

  /** Stops the host for good (app quit); pending calls reject. */
  async stop(): Promise<void> {
    if (this.proc) await this.stopProcess('engine host stopped');
    this.setState('stopped');
  }

  /** Methods of the calls waiting on the host now (diagnostics; lets tests kill it mid-call for sure). */
  inFlight(): EngineMethod[] {
    return [...this.pending.values()].map((p) => p.method);
  }

  /** The host's pid, for tests that kill it and for diagnostics. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  private async stopProcess(reason: string): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    this.setState('stopped');
    this.failAll(reason);
    const exited = new Promise<void>((resolve) => proc.onExit(() => resolve()));
    proc.kill();
    await exited;
    if (this.proc === proc) this.proc = null;
  }

  private onHostMessage(msg: Exclude<FromHost, { type: 'ready' }>): void {
    if (msg.type === 'log') {
      process.stderr.write(`${msg.message}\n`);
      return;
    }
    const entry = this.pending.get(msg.id);
    if (!entry) return;
    if (msg.type === 'progress') {
      entry.onProgress?.(msg.progress);
      return;
    }
    this.pending.delete(msg.id);
    if (msg.type === 'result') entry.resolve(msg.result);
    else entry.reject(new EngineCallError(msg.error.message, msg.error.name));
  }

  private failAll(message: string): void {
    const entries = [...this.pending.values()];
    this.pending.clear();
    for (const p of entries) p.reject(new EngineStoppedError(`${message} while running ${p.method}`));
  }

  private setState(state: EngineState): void {
    if (state === this.state && state !== 'starting') return;
    this.state = state;
    const status = this.status();
    for (const l of this.listeners) l(status);
  }
}
