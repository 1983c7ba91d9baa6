// Checks on the one path a renderer can send: 'file:open-dropped'. The preload resolves it from a File the user
// dropped (webUtils.getPathForFile), but a compromised renderer can send any string, so main accepts only an
// absolute, normalised path to an existing regular file or folder outside the system pseudo-filesystems, and for
// a file only content that starts like an image Delineate reads. The engine then parses it; a handle is issued
// only when that succeeds. Residual risk (documented in SECURITY notes of issue 10): a compromised renderer can
// still open any readable image-like file the user can read and see its pixels; it cannot send them anywhere
// (no network: CSP, webRequest filter) nor write files.
import { open, realpath, stat } from 'node:fs/promises';
import { basename, isAbsolute, normalize, sep } from 'node:path';

/** Roots whose entries are devices or kernel state, never images (after symlinks are resolved). */
const SYSTEM_ROOTS = process.platform === 'win32' ? [] : ['/proc', '/sys', '/dev', '/run'];

function sniff(head: Uint8Array, name: string): boolean {
  const b = (i: number): number => head[i] ?? -1;
  if (b(128) === 0x44 && b(129) === 0x49 && b(130) === 0x43 && b(131) === 0x4d) return true; // DICOM Part 10
  if (b(0) === 0x89 && b(1) === 0x50 && b(2) === 0x4e && b(3) === 0x47) return true; // PNG
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return true; // JPEG
  if ((b(0) === 0x49 && b(1) === 0x49 && (b(2) === 42 || b(2) === 43) && b(3) === 0) || (b(0) === 0x4d && b(1) === 0x4d && b(2) === 0 && (b(3) === 42 || b(3) === 43))) return true; // TIFF
  if (b(0) === 0x1f && b(1) === 0x8b) return /\.nii\.gz$/i.test(name); // gzip: only as NIfTI
  if (head.length >= 348) {
    const v = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const magic = String.fromCharCode(b(344), b(345), b(346));
    if ((v.getInt32(0, true) === 348 || v.getInt32(0, false) === 348) && (magic === 'n+1' || magic === 'ni1')) return true;
    if ((v.getInt32(0, true) === 540 || v.getInt32(0, false) === 540) && String.fromCharCode(b(4), b(5), b(6)) === 'n+2') return true;
  }
  // DICOM without the preamble (old exports): implicit VR little endian starting at group 0002 or 0008.
  return (b(0) === 0x02 || b(0) === 0x08) && b(1) === 0x00 && b(3) === 0x00;
}

/** Resolves and checks a dropped path; returns the real path to open, or throws a one-line Error. */
export async function checkDroppedPath(path: string): Promise<string> {
  if (path.includes('\0')) throw new Error('not a valid path');
  if (!isAbsolute(path)) throw new Error('not an absolute path');
  if (normalize(path) !== path && normalize(path) !== path.replace(/[\\/]+$/, '')) throw new Error('not a normalised path');
  let real: string;
  try {
    real = await realpath(path);
  } catch {
    throw new Error(`${basename(path)}: no such file or folder`);
  }
  if (SYSTEM_ROOTS.some((root) => real === root || real.startsWith(root + sep))) throw new Error(`${basename(path)}: not a regular file or folder`);
  const info = await stat(real);
  if (info.isDirectory()) return real;
  if (!info.isFile()) throw new Error(`${basename(path)}: not a regular file or folder`);
  const fh = await open(real, 'r');
  try {
    const head = new Uint8Array(544);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (!sniff(head.subarray(0, bytesRead), real)) throw new Error(`${basename(path)}: not an image Delineate can open (DICOM, NIfTI, TIFF/GeoTIFF, PNG, JPEG)`);
  } finally {
    await fh.close();
  }
  return real;
}
