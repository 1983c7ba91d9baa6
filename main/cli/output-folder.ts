// The folder an output file goes into: commands that write one file (convert, export) create it, parents included,
// as `segment` creates its output folder, so `convert in.png out/new.nii.gz` works in a fresh checkout.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../engine/image';

/**
 * Makes sure the folder of `output` exists, creating it (and missing parents) when needed. Returns a function that
 * removes the folders it created, for a write that fails afterwards, so a failed command leaves nothing behind.
 * An existing file where the folder should be, or a folder that cannot be created, is an InputError naming `output`.
 */
export async function prepareOutputFolder(output: string): Promise<() => Promise<void>> {
  const dir = path.dirname(path.resolve(output));
  const st = await fs.stat(dir).catch(() => null);
  if (st?.isDirectory()) return async () => undefined;
  if (st) throw new InputError(output, `${dir} is a file, not a folder`);
  let created: string | undefined;
  try {
    created = await fs.mkdir(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(output, `cannot create the output folder ${dir}${code ? ` (${code})` : ''}`);
  }
  return async () => {
    if (created) await fs.rm(created, { recursive: true, force: true });
  };
}
