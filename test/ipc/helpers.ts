// Shared setup for the in-memory IPC tests: the real handlers, validators and dispatch, with an engine host
// process that runs the fake engine (fixtures/fake-host.ts) through the real server loop.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventChannel, EventChannels } from '../../preload/api';
import { EngineHostClient, forkHost } from '../../main/engine/host/client';
import { createDispatch } from '../../main/ipc/dispatch';
import { createHandlers, forwardEngineState } from '../../main/ipc/handlers';
import { FileRegistry } from '../../main/services/files';

export const FAKE_HOST = join(__dirname, 'fixtures', 'fake-host.ts');

export interface Harness {
  dispatch: ReturnType<typeof createDispatch>;
  engine: EngineHostClient;
  files: FileRegistry;
  events: { event: EventChannel; payload: unknown }[];
  dir: string;
  setDialog(path: string | null): void;
  /** What the next save dialog answers. */
  setSaveDialog(path: string | null): void;
  waitForEvent<E extends EventChannel>(event: E, match?: (p: EventChannels[E]) => boolean, timeoutMs?: number): Promise<EventChannels[E]>;
}

export function makeHarness(): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'delineate-ipc-'));
  // A PNG signature is enough for main's content check; the fake engine ignores the rest.
  writeFileSync(join(dir, 'a.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  writeFileSync(join(dir, 'broken.bad'), 'fake');
  let dialogPath: string | null = null;
  let savePath: string | null = null;
  const events: Harness['events'] = [];
  const waiters: (() => void)[] = [];
  const emit = <E extends EventChannel>(event: E, payload: EventChannels[E]) => {
    events.push({ event, payload });
    for (const w of waiters.splice(0)) w();
  };
  const engine = new EngineHostClient({ spawn: forkHost(FAKE_HOST, ['--import', 'tsx']) });
  forwardEngineState(engine, emit);
  const files = new FileRegistry();
  const handlers = createHandlers({
    files,
    engine,
    emit,
    dialogs: {
      async openImage() {
        return dialogPath;
      },
      async openSession() {
        return dialogPath;
      },
      async openModel() {
        return dialogPath;
      },
      async openFolder() {
        return dialogPath;
      },
      async saveFile() {
        return savePath;
      },
    },
    app: { name: 'delineate', version: '0.0.0-test', host: 'testhost' },
  });
  const dispatch = createDispatch(handlers);
  return {
    dispatch,
    engine,
    files,
    events,
    dir,
    setDialog: (p) => (dialogPath = p),
    setSaveDialog: (p) => (savePath = p),
    waitForEvent(event, match = () => true, timeoutMs = 20_000) {
      type P = EventChannels[typeof event];
      return new Promise<P>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${event} event within ${timeoutMs} ms`)), timeoutMs);
        const check = () => {
          const hit = events.find((e) => e.event === event && match(e.payload as P));
          if (hit) {
            clearTimeout(timer);
            resolve(hit.payload as P);
          } else {
            waiters.push(check);
          }
        };
        check();
      });
    },
  };
}
