// Handle registry: the main process hands the renderer opaque random handles for files the user picked or
// dropped, and resolves them back to paths. A renderer can name only files it was given; never a path.

import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename, isAbsolute } from 'node:path';
import type { FileHandle } from '../../preload/api';

/** Handles are 128 random bits in hex: unguessable, and never mistakable for a path. */
export const HANDLE_PATTERN = /^h_[0-9a-f]{32}$/;

export class UnknownHandleError extends Error {
  constructor() {
    super('unknown file handle: open the file first');
    this.name = 'UnknownHandleError';
  }
}

/** What a handle stands for besides its path: the series chosen in a folder of several (DICOM), opened with gaps. */
export interface HandleOptions {
  seriesUid?: string;
  allowGaps?: boolean;
}

export class FileRegistry {
  private readonly paths = new Map<FileHandle, string>();
  private readonly options = new Map<FileHandle, HandleOptions>();

  /**
   * Checks that `path` is an existing regular file or folder the user chose, and issues a handle for it. With a
   * series, every engine call for the handle opens that series (openOptions).
   */
  async issue(path: string, options: HandleOptions = {}): Promise<FileHandle> {
    if (!isAbsolute(path)) throw new Error('not an absolute path');
    let info;
    try {
      info = await stat(path);
    } catch {
      throw new Error(`${basename(path)}: no such file or folder`);
    }
    if (!info.isFile() && !info.isDirectory()) throw new Error(`${basename(path)}: not a regular file or folder`);
    const handle = `h_${randomBytes(16).toString('hex')}`;
    this.paths.set(handle, path);
    if (options.seriesUid || options.allowGaps) {
      this.options.set(handle, { ...(options.seriesUid ? { seriesUid: options.seriesUid } : {}), ...(options.allowGaps ? { allowGaps: true } : {}) });
    }
    return handle;
  }

  /** The path behind a handle; refuses anything this registry did not issue. */
  resolve(handle: FileHandle): string {
    const path = this.paths.get(handle);
    if (path === undefined) throw new UnknownHandleError();
    return path;
  }

  /** How the engine must open the file behind a handle (pass with every call that takes its path). */
  openOptions(handle: FileHandle): HandleOptions {
    this.resolve(handle);
    const o = this.options.get(handle);
    return o ? { ...o } : {};
  }

  release(handle: FileHandle): boolean {
    this.options.delete(handle);
    return this.paths.delete(handle);
  }

  get size(): number {
    return this.paths.size;
  }
}
