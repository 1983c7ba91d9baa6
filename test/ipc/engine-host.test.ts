// The real engine host bundle (dist/engine-host.cjs) as the app runs it: starts, serves, and turns engine
// errors into messages without dying. Skips when dist/ is not built.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EngineHostClient, forkHost } from '../../main/engine/host/client';

const HOST = join(__dirname, '..', '..', 'dist', 'engine-host.cjs');
const skip = !existsSync(HOST);
if (skip) console.warn('engine host tests skipped: dist/engine-host.cjs is not built (npm run build)');

describe.skipIf(skip)(`real engine host process${skip ? ' (skipped: dist/engine-host.cjs is not built, run npm run build)' : ''}`, () => {
  const engine = new EngineHostClient({ spawn: forkHost(HOST) });
  afterAll(() => engine.stop());

  it('starts and reports ready with its pid', async () => {
    await engine.start();
    expect(engine.status()).toMatchObject({ state: 'ready', restarts: 0 });
    expect(engine.status().pid).toBe(engine.pid);
  });

  it('answers a bad file with an error message and keeps serving', async () => {
    const pid = engine.pid;
    await expect(engine.call('info', [join(__dirname, 'no-such-file.png')])).rejects.toThrow(/no-such-file\.png/);
    await expect(engine.call('listModels', [])).resolves.toBeInstanceOf(Array);
    expect(engine.status()).toMatchObject({ state: 'ready', pid });
  });

  it('rejects with a clear message when stopped under a call', async () => {
    const stopped = new EngineHostClient({ spawn: forkHost(HOST) });
    await stopped.start();
    const rejected = expect(stopped.call('listModels', [])).rejects.toThrow(/^engine host stopped while running listModels$/);
    await stopped.stop();
    await rejected;
    expect(stopped.status().state).toBe('stopped');
  });
});
