// Spawns the engine host as an Electron utilityProcess (the app's way; tests fork a Node child instead).
// A native crash or out-of-memory there ends only that process; the client reports it and can restart it.

import { app, utilityProcess } from 'electron';
import { join } from 'node:path';
import { HOST_MAX_OLD_SPACE_MB, type HostProcess, type SpawnHost } from '../engine/host/client';

/** The app's data folder: Electron's userData, or DELINEATE_DATA_DIR (a portable install, or a test run). */
export function appDataDir(): string {
  return process.env.DELINEATE_DATA_DIR || app.getPath('userData');
}

/** `dataDir` holds the user's models and the autosaves (default: appDataDir()). */
export function utilityHost(dataDir: string = appDataDir(), modulePath: string = join(__dirname, '..', 'engine-host.cjs')): SpawnHost {
  return (): HostProcess => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    // Packaged: onnxruntime opens models by path, which cannot point inside app.asar (see electron-builder.yml).
    if (app.isPackaged && !env.DELINEATE_MODELS_DIR) env.DELINEATE_MODELS_DIR = join(process.resourcesPath, 'app.asar.unpacked', 'models');
    // The user's own models (a folder per model, or Deepness .onnx files) live in the app's data directory.
    if (!env.DELINEATE_USER_MODELS_DIR) env.DELINEATE_USER_MODELS_DIR = join(dataDir, 'models');
    // Sessions autosave here after every completed edit; the next start offers to recover what a crash left.
    if (!env.DELINEATE_AUTOSAVE_DIR) env.DELINEATE_AUTOSAVE_DIR = join(dataDir, 'autosave');
    const child = utilityProcess.fork(modulePath, [], {
      serviceName: 'Delineate engine',
      env,
      execArgv: [`--max-old-space-size=${HOST_MAX_OLD_SPACE_MB}`],
      stdio: 'inherit',
    });
    return {
      get pid() {
        return child.pid;
      },
      send: (m) => child.postMessage(m),
      onMessage: (l) => child.on('message', l),
      onExit: (l) => {
        // utilityProcess reports only an exit code; a crash shows up as a non-zero code.
        child.once('exit', (code) => l({ code, signal: null }));
      },
      kill: () => {
        child.kill();
      },
    };
  };
}
