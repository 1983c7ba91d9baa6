// Entry point of the engine host process (bundled to dist/engine-host.cjs): serves the real engine to the
// Electron shell (utilityProcess) or to the test host and tests (child_process.fork).

import { closeDecodePool } from '../io/geotiff-pool';
import { createEngineService } from '../service';
import { detectTransport, installCrashGuards, serveEngine } from './server';

const transport = detectTransport();
if (!transport) {
  process.stderr.write('engine host: no parent to talk to (start it with fork() or utilityProcess.fork())\n');
  process.exit(2);
}
installCrashGuards(transport);
// Without a parent the host has no purpose: exit rather than linger as an orphan (decode threads ended first).
process.on('disconnect', () => void closeDecodePool().finally(() => process.exit(0)));
// The shell names the autosave folder (Electron: userData/autosave; the test host: a temporary folder).
const autosaveDir = process.env.DELINEATE_AUTOSAVE_DIR;
// The user's models folder ('models:add' copies into it; the registry reads it through the same variable).
const userModelsDir = process.env.DELINEATE_USER_MODELS_DIR;
// Rasters above this many pixels run window by window and stay on disk (tests and benchmarks lower it).
const windowedMinPx = Number(process.env.DELINEATE_WINDOWED_MIN_PX ?? '') || undefined;
serveEngine(createEngineService({ ...(autosaveDir ? { autosaveDir } : {}), ...(userModelsDir ? { userModelsDir } : {}), ...(windowedMinPx ? { windowedMinPx } : {}) }), transport);
