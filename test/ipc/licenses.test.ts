// app:licenses: the About view's texts (the app's licence and the third-party notices) through the real
// handlers and dispatch; a missing file reads as null, and is logged, rather than failing the view.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LicenseTexts } from '../../preload/api';
import { createDispatch } from '../../main/ipc/dispatch';
import { createHandlers, type HandlerDeps } from '../../main/ipc/handlers';
import { FileRegistry } from '../../main/services/files';
import { tempDir } from '../fixtures/models';

const t = tempDir('delineate-licenses-');
afterAll(() => t.cleanup());

function dispatchWith(licenseDir: string, log: (m: string) => void) {
  // app:licenses touches neither the engine nor the dialogs.
  const unused = {} as HandlerDeps['engine'] & HandlerDeps['dialogs'];
  return createDispatch(createHandlers({ files: new FileRegistry(), engine: unused, dialogs: unused, emit: () => undefined, app: { name: 'delineate', version: '0', host: 'testhost' }, log, licenseDir }));
}

describe('app:licenses', () => {
  it('reads LICENSE.txt and THIRD-PARTY-NOTICES.txt from the licence folder', async () => {
    const dir = join(t.dir, 'full');
    mkdirSync(dir);
    writeFileSync(join(dir, 'LICENSE.txt'), 'MIT License\n');
    writeFileSync(join(dir, 'THIRD-PARTY-NOTICES.txt'), 'react 19  MIT\n');
    const reply = await dispatchWith(dir, () => undefined)('app:licenses', []);
    expect(reply).toEqual({ ok: true, value: { app: 'MIT License\n', thirdParty: 'react 19  MIT\n' } satisfies LicenseTexts });
  });

  it('answers null for a missing file and logs why', async () => {
    const dir = join(t.dir, 'half');
    mkdirSync(dir);
    writeFileSync(join(dir, 'LICENSE.txt'), 'MIT License\n');
    const logged: string[] = [];
    const reply = await dispatchWith(dir, (m) => logged.push(m))('app:licenses', []);
    expect(reply).toEqual({ ok: true, value: { app: 'MIT License\n', thirdParty: null } });
    expect(logged.join('\n')).toMatch(/THIRD-PARTY-NOTICES\.txt/);
  });

  it('refuses arguments', async () => {
    const reply = await dispatchWith(t.dir, () => undefined)('app:licenses', [1]);
    expect(reply.ok).toBe(false);
  });
});
