// A validating walk over a TIFF's IFD chain (classic and BigTIFF, both byte orders) BEFORE geotiff.js parses it:
// every tag's declared size must fit in the file, the IFD chain must not loop, and each image's declared pixel size,
// block size and block count must be sane. Corrupt or hostile files are refused here, before anything is allocated.
import type { FileHandle } from 'node:fs/promises';

/** Largest raster (all bands, uncompressed) a file may declare: far beyond real mosaics, far below "absurd". */
export const MAX_DECLARED_BYTES = 2 ** 44; // 16 TiB
/** Largest single decoded tile or strip. */
export const MAX_BLOCK_BYTES = 2 ** 30;
const MAX_IFDS = 4096;
const MAX_ENTRIES = 4096;

/** Tags with exactly one value (TIFF 6.0 field counts N = 1) that the reader relies on. */
const SINGLE_VALUED: ReadonlyArray<[number, string]> = [
  [256, 'ImageWidth'],
  [257, 'ImageLength'],
  [259, 'Compression'],
  [262, 'PhotometricInterpretation'],
  [277, 'SamplesPerPixel'],
  [278, 'RowsPerStrip'],
  [284, 'PlanarConfiguration'],
  [317, 'Predictor'],
  [322, 'TileWidth'],
  [323, 'TileLength'],
];

const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8 };

export interface ScannedIfd {
  offset: number;
  width: number;
  height: number;
  samplesPerPixel: number;
  bitsPerSample: number;
  compression: number;
  newSubfileType: number;
  tiled: boolean;
  blockWidth: number;
  blockHeight: number;
  planar: number;
  blockCount: number;
}

export interface TiffScan {
  bigTiff: boolean;
  littleEndian: boolean;
  fileSize: number;
  ifds: ScannedIfd[];
}

/** Throws Error with a one-line reason; the caller wraps it in an InputError naming the file. */
export async function scanTiff(fh: FileHandle, fileSize: number): Promise<TiffScan> {
  const read = async (offset: number, length: number): Promise<Buffer> => {
    if (offset < 0 || offset + length > fileSize) throw new Error(`truncated: needs bytes ${offset}..${offset + length} of a ${fileSize}-byte file`);
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, offset);
    if (bytesRead < length) throw new Error(`truncated at byte ${offset + bytesRead}`);
    return buf;
  };
  if (fileSize < 8) throw new Error('too short to be a TIFF');
  const head = await read(0, Math.min(16, fileSize));
  const order = head.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') throw new Error('not a TIFF (bad byte-order mark)');
  const le = order === 'II';
  const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const u64 = (b: Buffer, o: number): number => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
  const magic = u16(head, 2);
  if (magic !== 42 && magic !== 43) throw new Error(`not a TIFF (version ${magic})`);
  const big = magic === 43;
  if (big && head.length < 16) throw new Error('truncated BigTIFF header');
  let next = big ? u64(head, 8) : u32(head, 4);
  const countSize = big ? 8 : 2;
  const entrySize = big ? 20 : 12;
  const inline = big ? 8 : 4;
  const ifds: ScannedIfd[] = [];
  const seen = new Set<number>();
  while (next !== 0) {
    if (seen.has(next)) throw new Error('IFD chain loops');
    if (ifds.length >= MAX_IFDS) throw new Error(`more than ${MAX_IFDS} images in one file`);
    seen.add(next);
    const countBuf = await read(next, countSize);
    const n = big ? u64(countBuf, 0) : u16(countBuf, 0);
    if (n === 0 || n > MAX_ENTRIES) throw new Error(`IFD at ${next} declares ${n} entries`);
    const body = await read(next + countSize, n * entrySize + (big ? 8 : 4));
    const tags = new Map<number, { type: number; count: number; at: number; inline: boolean }>();
    for (let i = 0; i < n; i++) {
      const p = i * entrySize;
      const tag = u16(body, p);
      const type = u16(body, p + 2);
      const count = big ? u64(body, p + 4) : u32(body, p + 4);
      const size = TYPE_SIZE[type];
      if (size === undefined) continue; // unknown field types are skipped, as the TIFF spec says
      const bytes = count * size;
      const isInline = bytes <= inline;
      const at = isInline ? next + countSize + p + (big ? 12 : 8) : big ? u64(body, p + 12) : u32(body, p + 8);
      if (!isInline && (at + bytes > fileSize || !Number.isSafeInteger(bytes))) {
        throw new Error(`tag ${tag} declares ${count} values at byte ${at}, past the end of the ${fileSize}-byte file (truncated or corrupt)`);
      }
      tags.set(tag, { type, count, at, inline: isInline });
    }
    // Tags the TIFF specification gives exactly one value: with more, geotiff.js hands an array where a number is
    // meant (an image "256,3,5 pixels" wide) and the failure surfaces far from the cause; GDAL refuses them too.
    for (const [tag, name] of SINGLE_VALUED) {
      const t = tags.get(tag);
      if (t && t.count > 1) throw new Error(`${name} (tag ${tag}) holds ${t.count} values, one expected (corrupt)`);
    }
    // First value of a numeric tag (SHORT, LONG or LONG8), read from the file.
    const first = async (tag: number, fallback: number): Promise<number> => {
      const t = tags.get(tag);
      if (!t) return fallback;
      // Present but empty: geotiff.js would read "undefined" samples or sizes and fail far from the cause.
      if (t.count === 0) throw new Error(`tag ${tag} has no values (corrupt)`);
      const size = TYPE_SIZE[t.type]!;
      const b = await read(t.at, size);
      if (t.type === 3 || t.type === 8) return u16(b, 0);
      if (t.type === 4 || t.type === 9 || t.type === 13) return u32(b, 0);
      if (t.type === 16 || t.type === 17 || t.type === 18) return u64(b, 0);
      if (t.type === 1 || t.type === 6 || t.type === 7) return b[0]!;
      return fallback;
    };
    const width = await first(256, 0);
    const height = await first(257, 0);
    const spp = await first(277, 1);
    const bps = await first(258, 1);
    const tiled = tags.has(322) || tags.has(324);
    const blockWidth = tiled ? await first(322, 0) : width;
    const blockHeight = tiled ? await first(323, 0) : Math.min(height, await first(278, height) || height);
    const planar = await first(284, 1);
    const offsets = tags.get(tiled ? 324 : 273);
    const ifd: ScannedIfd = {
      offset: next,
      width,
      height,
      samplesPerPixel: spp,
      bitsPerSample: bps,
      compression: await first(259, 1),
      newSubfileType: await first(254, 0),
      tiled,
      blockWidth,
      blockHeight,
      planar,
      blockCount: offsets?.count ?? 0,
    };
    checkIfd(ifd);
    ifds.push(ifd);
    const tail = n * entrySize;
    next = big ? u64(body, tail) : u32(body, tail);
    if (next >= fileSize) throw new Error(`next IFD offset ${next} is past the end of the file (truncated)`);
  }
  if (ifds.length === 0) throw new Error('TIFF has no image');
  return { bigTiff: big, littleEndian: le, fileSize, ifds };
}

function checkIfd(d: ScannedIfd): void {
  if (d.width < 1 || d.height < 1) throw new Error(`image declares ${d.width}x${d.height} pixels`);
  if (d.samplesPerPixel < 1 || d.samplesPerPixel > 4096) throw new Error(`image declares ${d.samplesPerPixel} samples per pixel`);
  if (d.bitsPerSample < 1 || d.bitsPerSample > 64) throw new Error(`image declares ${d.bitsPerSample} bits per sample`);
  const bytesPerSample = Math.ceil(d.bitsPerSample / 8);
  const declared = d.width * d.height * d.samplesPerPixel * bytesPerSample;
  if (!(declared <= MAX_DECLARED_BYTES)) {
    throw new Error(`image declares ${d.width}x${d.height}x${d.samplesPerPixel} samples of ${d.bitsPerSample} bits (${(declared / 2 ** 40).toFixed(1)} TiB): refused as absurd`);
  }
  if (d.blockWidth < 1 || d.blockHeight < 1) throw new Error(`image declares ${d.blockWidth}x${d.blockHeight} blocks`);
  const blockBytes = d.blockWidth * d.blockHeight * (d.planar === 2 ? 1 : d.samplesPerPixel) * bytesPerSample;
  if (blockBytes > MAX_BLOCK_BYTES) throw new Error(`image declares ${d.blockWidth}x${d.blockHeight} blocks of ${(blockBytes / 2 ** 20).toFixed(0)} MiB: refused`);
  const expected = Math.ceil(d.width / d.blockWidth) * Math.ceil(d.height / d.blockHeight) * (d.planar === 2 ? d.samplesPerPixel : 1);
  if (d.blockCount < expected) throw new Error(`image needs ${expected} ${d.tiled ? 'tiles' : 'strips'} but lists ${d.blockCount} (corrupt)`);
}
