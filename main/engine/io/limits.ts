// Resource limits every reader applies BEFORE it allocates or inflates: a crafted header declaring a huge image,
// or a small file that inflates to gigabytes, is refused with a one-line InputError instead of exhausting memory.
// DELINEATE_MAX_DECODED_MB lowers or raises the ceiling (the fuzz harness lowers it; a workstation may raise it).
import { InputError } from '../image';

const DEFAULT_MAX_DECODED_MB = 2048;

/** Largest decoded buffer one read may produce (whole NIfTI volume, one DICOM series, one decoded raster block). */
export function maxDecodedBytes(): number {
  const mb = Number(process.env.DELINEATE_MAX_DECODED_MB);
  return (Number.isFinite(mb) && mb > 0 ? mb : DEFAULT_MAX_DECODED_MB) * 2 ** 20;
}

/** Most frames one DICOM object may declare (a long cine loop has a few thousand). */
export const MAX_FRAMES = 65_536;

/** Throws InputError when `bytes` (width x height x depth x channels x sample size) is over the limit or not a number. */
export function checkDecodedSize(file: string, what: string, bytes: number): void {
  const max = maxDecodedBytes();
  if (!Number.isFinite(bytes) || bytes < 0 || bytes > max) {
    const gib = (n: number) => `${(n / 2 ** 30).toFixed(n < 2 ** 30 ? 2 : 1)} GiB`;
    throw new InputError(file, `${what} would need ${Number.isFinite(bytes) ? gib(bytes) : 'an unbounded amount of memory'} decoded, over the ${gib(max)} limit (DELINEATE_MAX_DECODED_MB)`);
  }
}
