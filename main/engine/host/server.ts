// The engine host's server loop: receives calls over a message port, runs them on an EngineService and
// answers with results, errors or progress. Pure Node: the same code runs as a Node child and an Electron
// utilityProcess; the transport is injected so tests can drive it in memory.

import type { EngineService, OpenOptions, ProgressFn } from '../service';
import { isToHost, serializeError, type CallMessage, type FromHost, type ToHost } from './protocol';

/** The two ends a host needs; see `detectTransport` for the real ones. */
export interface HostTransport {
  send(message: FromHost): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** Minimal shape of Electron's `process.parentPort` (typed here so this file never imports electron). */
interface ParentPortLike {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

/** Picks Electron's parentPort when run as a utilityProcess, else Node's IPC channel when forked. */
export function detectTransport(): HostTransport | null {
  const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort;
  if (parentPort) {
    return {
      send: (m) => parentPort.postMessage(m),
      onMessage: (l) => parentPort.on('message', (e) => l(e.data)),
    };
  }
  if (typeof process.send === 'function') {
    const send = process.send.bind(process);
    return {
      // A closed channel means the parent is gone; nothing left to tell it.
      send: (m) => {
        if (process.connected) send(m);
      },
      onMessage: (l) => process.on('message', l),
    };
  }
  return null;
}

/** The shortest gap between two progress messages of one job within one stage. */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * Progress as the window needs it: every change of stage and the last step of each stage, otherwise at most one
 * message per `intervalMs`. A model with thousands of small tiles reports every tile; sent one by one they queue
 * in front of the job's end (a cancel then seems to take seconds on a loaded machine).
 */
export function throttledProgress(send: ProgressFn, intervalMs = PROGRESS_INTERVAL_MS, now: () => number = () => performance.now()): ProgressFn {
  let lastStage: string | null = null;
  let lastAt = -Infinity;
  return (p) => {
    const t = now();
    if (p.stage !== lastStage || p.done >= p.total || t - lastAt >= intervalMs) {
      lastStage = p.stage;
      lastAt = t;
      send(p);
    }
  };
}

/** Serves `service` on `transport` until the process ends. Returns the count of jobs running (for tests). */
export function serveEngine(service: EngineService, transport: HostTransport): { running(): number } {
  const jobs = new Map<string, AbortController>();
  let inFlight = 0;

  async function run(msg: CallMessage): Promise<unknown> {
    const p = msg.params;
    switch (msg.method) {
      case 'info':
        return service.info(p[0] as string, p[1] as Parameters<EngineService['info']>[1]);
      case 'slice':
        return service.slice(p[0] as string, p[1] as Parameters<EngineService['slice']>[1], p[2] as OpenOptions | undefined);
      case 'tile':
        return service.tile(p[0] as string, p[1] as Parameters<EngineService['tile']>[1], p[2] as OpenOptions | undefined);
      case 'listModels':
        return service.listModels();
      case 'addModel':
        return service.addModel(p[0] as string);
      case 'removeModel':
        return service.removeModel(p[0] as string);
      case 'devicePlan':
        return service.devicePlan();
      case 'modelCompatibility':
        return service.modelCompatibility(p[0] as string, p[1] as OpenOptions | undefined);
      case 'segment': {
        const controller = new AbortController();
        if (msg.jobId !== undefined) jobs.set(msg.jobId, controller);
        try {
          return await service.segment(
            p[0] as string,
            p[1] as Parameters<EngineService['segment']>[1],
            throttledProgress((progress) => transport.send({ type: 'progress', id: msg.id, progress })),
            controller.signal,
            p[2] as OpenOptions | undefined,
          );
        } finally {
          if (msg.jobId !== undefined && jobs.get(msg.jobId) === controller) jobs.delete(msg.jobId);
        }
      }
      case 'windows':
        return service.windows(p[0] as string, p[1] as OpenOptions | undefined);
      case 'patient':
        return service.patient(p[0] as string, p[1] as OpenOptions | undefined);
      case 'scanFolder': {
        const controller = new AbortController();
        if (msg.jobId !== undefined) jobs.set(msg.jobId, controller);
        try {
          return await service.scanFolder(p[0] as string, throttledProgress((progress) => transport.send({ type: 'progress', id: msg.id, progress })), controller.signal);
        } finally {
          if (msg.jobId !== undefined && jobs.get(msg.jobId) === controller) jobs.delete(msg.jobId);
        }
      }
      case 'probe':
        return service.probe(p[0] as string, p[1] as number, p[2] as number, p[3] as number, p[4] as OpenOptions | undefined);
      case 'resultSlice':
        return service.resultSlice(p[0] as Parameters<EngineService['resultSlice']>[0]);
      case 'resultProbability':
        return service.resultProbability(p[0] as Parameters<EngineService['resultProbability']>[0]);
      case 'resultTile':
        return service.resultTile(p[0] as Parameters<EngineService['resultTile']>[0]);
      case 'resultProbabilityTile':
        return service.resultProbabilityTile(p[0] as Parameters<EngineService['resultProbabilityTile']>[0]);
      case 'resultInstances':
        return service.resultInstances(p[0] as Parameters<EngineService['resultInstances']>[0]);
      case 'resultInstanceAt':
        return service.resultInstanceAt(p[0] as string, p[1] as number, p[2] as number, p[3] as number);
      case 'editResult':
        return service.editResult(p[0] as string, p[1] as Parameters<EngineService['editResult']>[1]);
      case 'undoEdit':
        return service.undoEdit(p[0] as string);
      case 'redoEdit':
        return service.redoEdit(p[0] as string);
      case 'saveSession':
        return service.saveSession(p[0] as string, p[1] as string, p[2] as Parameters<EngineService['saveSession']>[2]);
      case 'openSession':
        return service.openSession(p[0] as string);
      case 'listAutosaves':
        return service.listAutosaves();
      case 'closeResult':
        return service.closeResult(p[0] as string);
      case 'recoverAutosave':
        return service.recoverAutosave(p[0] as string);
      case 'discardAutosave':
        return service.discardAutosave(p[0] as string);
      case 'exportResult':
        return service.exportResult(p[0] as string, p[1] as Parameters<EngineService['exportResult']>[1], p[2] as string, p[3] as Parameters<EngineService['exportResult']>[3]);
      case 'compareRun': {
        const controller = new AbortController();
        if (msg.jobId !== undefined) jobs.set(msg.jobId, controller);
        try {
          return await service.compareRun(
            p[0] as Parameters<EngineService['compareRun']>[0],
            p[1] as Parameters<EngineService['compareRun']>[1],
            throttledProgress((progress) => transport.send({ type: 'progress', id: msg.id, progress })),
            controller.signal,
          );
        } finally {
          if (msg.jobId !== undefined && jobs.get(msg.jobId) === controller) jobs.delete(msg.jobId);
        }
      }
      case 'compareSlice':
        return service.compareSlice(p[0] as Parameters<EngineService['compareSlice']>[0]);
      case 'compareClose':
        return service.compareClose(p[0] as string);
      case 'compareTargets':
        return service.compareTargets(p[0] as string, p[1] as number[] | null);
      case 'compareExportReport':
        return service.compareExportReport(p[0] as string, p[1] as number[] | null, p[2] as string, p[3] as boolean);
      case 'newResult':
        return service.newResult(p[0] as string, p[1] as string | null, p[2] as OpenOptions | undefined);
      case 'promptModels':
        return service.promptModels();
      case 'promptOpen':
        return service.promptOpen(p[0] as string, p[1] as string | null, p[2] as OpenOptions | undefined);
      case 'promptClick':
        return service.promptClick(p[0] as Parameters<EngineService['promptClick']>[0]);
      case 'promptBox':
        return service.promptBox(p[0] as Parameters<EngineService['promptBox']>[0]);
      case 'promptPropagate': {
        const controller = new AbortController();
        if (msg.jobId !== undefined) jobs.set(msg.jobId, controller);
        try {
          return await service.promptPropagate(p[0] as Parameters<EngineService['promptPropagate']>[0], throttledProgress((progress) => transport.send({ type: 'progress', id: msg.id, progress })), controller.signal);
        } finally {
          if (msg.jobId !== undefined && jobs.get(msg.jobId) === controller) jobs.delete(msg.jobId);
        }
      }
      case 'promptClear':
        return service.promptClear(p[0] as string);
      case 'promptClose':
        return service.promptClose(p[0] as string);
    }
  }

  async function handle(msg: ToHost): Promise<void> {
    if (msg.type === 'cancel') {
      jobs.get(msg.jobId)?.abort(new DOMException('cancelled', 'AbortError'));
      return;
    }
    inFlight++;
    try {
      const result = await run(msg);
      transport.send({ type: 'result', id: msg.id, result });
    } catch (err) {
      // Every failure goes back as a message: a bad file must not take the host down.
      transport.send({ type: 'error', id: msg.id, error: serializeError(err) });
    } finally {
      inFlight--;
    }
  }

  transport.onMessage((raw) => {
    if (!isToHost(raw)) {
      transport.send({ type: 'log', level: 'warn', message: 'engine host: ignored a malformed message' });
      return;
    }
    void handle(raw);
  });
  transport.send({ type: 'ready', pid: process.pid });
  return { running: () => inFlight };
}

/** Keeps the host alive through stray errors that escape a call; they are reported, not fatal. */
export function installCrashGuards(transport: HostTransport): void {
  const report = (what: string) => (err: unknown) => {
    const { message } = serializeError(err);
    process.stderr.write(`engine host: ${what}: ${message}\n`);
    transport.send({ type: 'log', level: 'error', message: `${what}: ${message}` });
  };
  process.on('unhandledRejection', report('unhandled rejection'));
  process.on('uncaughtException', report('uncaught exception'));
}
