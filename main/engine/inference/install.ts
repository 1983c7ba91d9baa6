// Installing and removing the user's own models: a model file the user picked is checked (manifest or Deepness
// metadata, then loaded by onnxruntime) and copied, as one folder per model, into the user models folder.
// The copy is built in a temporary folder beside its destination and renamed into place, so a failure
// leaves nothing half-installed. An installed id is never overwritten.
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ModelSummary } from '../../../preload/formats';
import type { DevicePlan } from '../../../preload/api';
import { InputError } from '../image';
import { createOrtRuntime, detectHost, planDevices, type ModelRuntime } from './runtime';
import { resolveModel, scanModels, summarize, type ResolvedModel } from './manifest';

/** Same rule as manifest ids: the id names the model's folder, so it must be a plain name. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface InstallOptions {
  /** The user models folder (the app's userData/models). */
  userDir: string;
  /** Environment whose model roots count for duplicate ids (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Loads the model once to prove onnxruntime accepts it (tests may inject a fake). */
  runtime?: ModelRuntime;
}

/** Errors name the model file by its base name only: the message reaches the renderer. */
function refused(file: string, problem: string): InputError {
  return new InputError(path.basename(file), problem);
}

/** Strips "<full path>: " from an engine error about `file`, keeping the reason. */
function reasonOf(err: unknown, file: string): string {
  const message = err instanceof Error ? err.message : String(err);
  for (const prefix of [`${file}: `, `${path.resolve(file)}: `]) if (message.startsWith(prefix)) return message.slice(prefix.length);
  return message.split('\n')[0] ?? message;
}

/** Resolves and validates the picked model: its manifest (beside it, or from its metadata) and a real load. */
async function checkModel(file: string, runtime: ModelRuntime): Promise<ResolvedModel> {
  if (!/\.onnx$/i.test(file)) throw refused(file, 'not an .onnx model file');
  let model: ResolvedModel;
  try {
    model = await resolveModel(path.resolve(file));
  } catch (err) {
    throw refused(file, reasonOf(err, path.resolve(file)));
  }
  if (!SAFE_ID.test(model.manifest.id)) throw refused(file, `model id "${model.manifest.id}" is not a plain name (letters, digits, ".", "_", "-")`);
  try {
    const session = await runtime.createSession(model.onnxPath, {
      device: 'cpu',
      ...(model.manifest.input.name ? { inputName: model.manifest.input.name } : {}),
      ...(model.manifest.outputs.name ? { outputName: model.manifest.outputs.name } : {}),
    });
    await session.dispose();
  } catch (err) {
    throw refused(file, `onnxruntime cannot load it: ${reasonOf(err, model.onnxPath).slice(0, 300)}`);
  }
  return model;
}

/**
 * Installs the .onnx `file` (with its manifest.json beside it, or Deepness metadata inside) as
 * `<userDir>/<id>/`; returns the installed model's summary. Refuses an id that is already installed.
 */
export async function installModel(file: string, options: InstallOptions): Promise<ModelSummary> {
  const env = options.env ?? process.env;
  const model = await checkModel(file, options.runtime ?? createOrtRuntime());
  const id = model.manifest.id;
  const scan = await scanModels({ ...env, DELINEATE_USER_MODELS_DIR: options.userDir });
  const existing = scan.models.find((m) => m.manifest.id === id);
  if (existing) {
    const where = existing.source === 'builtin' ? 'shipped with the app' : 'already installed';
    throw refused(file, `a model with id "${id}" (${existing.manifest.name} ${existing.manifest.version}) is ${where}; remove it first or give this one another id`);
  }
  const dest = path.join(options.userDir, id);
  if (existsSync(dest)) throw refused(file, `the models folder already holds a folder "${id}"; remove it first`);

  await fs.mkdir(options.userDir, { recursive: true });
  const temp = path.join(options.userDir, `.installing-${id}-${randomBytes(6).toString('hex')}`);
  await fs.mkdir(temp);
  try {
    const onnxName = path.basename(model.onnxPath);
    await fs.copyFile(model.onnxPath, path.join(temp, onnxName));
    // Deepness models get a manifest written from their metadata: the folder then reads like any other model.
    const manifest = { ...model.manifest, file: onnxName };
    const prompt = model.manifest.interactive;
    if (prompt?.format === 'sam' && model.manifestPath) {
      // A SAM pair is two files: the encoder (the manifest's file) and the decoder beside it.
      const decoderName = path.basename(prompt.decoder);
      await fs.copyFile(path.resolve(path.dirname(model.manifestPath), prompt.decoder), path.join(temp, decoderName));
      manifest.interactive = { ...prompt, encoder: onnxName, decoder: decoderName };
    }
    if (model.manifestPath) {
      const card = path.join(path.dirname(model.manifestPath), model.manifest.card ?? 'README.md');
      if (existsSync(card) && path.dirname(path.resolve(card)) === path.dirname(model.manifestPath)) await fs.copyFile(card, path.join(temp, path.basename(card)));
      if (manifest.card) manifest.card = path.basename(manifest.card);
    }
    await fs.writeFile(path.join(temp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    // The copy must read back as the same model before it goes live.
    const copied = await resolveModel(temp);
    if (copied.manifest.id !== id) throw refused(file, 'the copied model reads back with another id');
    await fs.rename(temp, dest);
  } catch (err) {
    await fs.rm(temp, { recursive: true, force: true });
    throw err;
  }
  const installed = (await scanModels({ ...env, DELINEATE_USER_MODELS_DIR: options.userDir })).models.find((m) => m.manifest.id === id && m.source === 'user');
  if (!installed) throw refused(file, 'installed, but the model list does not show it');
  return summarize(installed);
}

/** Removes a model the user added (its folder, or its bare .onnx file); shipped models are never removed. */
export async function removeUserModel(id: string, options: Omit<InstallOptions, 'runtime'>): Promise<void> {
  const env = options.env ?? process.env;
  const scan = await scanModels({ ...env, DELINEATE_USER_MODELS_DIR: options.userDir });
  const model = scan.models.find((m) => m.manifest.id === id);
  if (!model) throw new InputError(id, 'no such installed model');
  if (model.source !== 'user') throw new InputError(id, 'shipped models cannot be removed');
  const root = path.resolve(options.userDir);
  if (model.manifestPath) {
    const folder = path.dirname(path.resolve(model.manifestPath));
    // Only a direct child of the user folder is ever deleted.
    if (path.dirname(folder) !== root) throw new InputError(id, 'not in the user models folder');
    await fs.rm(folder, { recursive: true, force: true });
  } else {
    if (path.dirname(path.resolve(model.onnxPath)) !== root) throw new InputError(id, 'not in the user models folder');
    await fs.rm(model.onnxPath, { force: true });
  }
}

/** Which execution providers a run with device 'auto' will try, and why faster ones are out. */
export function planAutoDevice(): DevicePlan {
  const plan = planDevices('auto', detectHost());
  return { candidates: plan.candidates, skipped: plan.skipped };
}
