// What the window may load: the URL filter main/index.ts installs with session.webRequest (kept free of 'electron'
// imports so tests can check it). Everything not listed here is cancelled before it leaves the renderer.
import { sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** True for the URLs the page may load: our bundled renderer files, data:/blob: it made itself, devtools in dev. */
export function isAllowedRequest(url: string, rendererDir: string, dev: boolean): boolean {
  if (url.startsWith('data:') || url.startsWith('blob:')) return true;
  if (url.startsWith('devtools:')) return dev;
  if (!url.startsWith('file:')) return false;
  try {
    // Only files inside the renderer bundle: 'self' on file:// would otherwise cover every file on the disk.
    const file = fileURLToPath(new URL(url));
    return file === rendererDir || file.startsWith(rendererDir + sep);
  } catch {
    return false;
  }
}
