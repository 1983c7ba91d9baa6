// `delineate convert <input> <output>`: .nii/.nii.gz for volumes (any input), .tif for 2D rasters (georeferencing
// kept), .png for 8-bit 2D grey/RGB/RGBA. The output type follows the output name.
import * as path from 'node:path';
import { BYTES_PER_SAMPLE, InputError, type ImageSource } from '../../engine/image';
import { openImage } from '../../engine/io';
import { writeNifti } from '../../engine/io/nifti';
import { TiffWriter } from '../../engine/io/tiff-writer';
import { interleave, writePng } from '../../engine/io/png';
import { UsageError, checkFlags, openOptionsFromFlags, OPEN_FLAGS, parseArgs } from '../args';
import { prepareOutputFolder } from '../output-folder';

type Target = 'nifti' | 'tiff' | 'png';

function targetOf(output: string): Target {
  if (/\.nii(\.gz)?$/i.test(output)) return 'nifti';
  if (/\.tiff?$/i.test(output)) return 'tiff';
  if (/\.png$/i.test(output)) return 'png';
  throw new UsageError(`${output}: unknown output type; use .nii, .nii.gz, .tif or .png`);
}

export async function convertCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ['allow-gaps']);
  checkFlags(args, OPEN_FLAGS);
  const [input, output, ...extra] = args.positionals;
  if (!input || !output) throw new UsageError('convert needs <input> <output>');
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const target = targetOf(output);
  if (path.resolve(input) === path.resolve(output)) throw new UsageError(`${output}: output would overwrite the input`);

  const src = await openImage(input, openOptionsFromFlags(args));
  let removeCreated: (() => Promise<void>) | null = null;
  try {
    // Check what the target can hold before decoding anything.
    if (target === 'tiff' && src.depth !== 1) {
      throw new InputError(src.file, `is a volume (${src.depth} slices); a .tif holds one 2D raster: convert to .nii or .nii.gz`);
    }
    if (target === 'png') {
      if (src.depth !== 1) throw new InputError(src.file, `is a volume (${src.depth} slices); .png holds one 2D image: convert to .nii or .nii.gz`);
      if (src.dtype !== 'uint8') throw new InputError(src.file, `is ${src.dtype}; .png output takes 8-bit images only: convert to .tif or .nii.gz`);
      if (![1, 3, 4].includes(src.channels)) throw new InputError(src.file, `has ${src.channels} channels; .png output takes 1, 3 or 4`);
    }
    // The output folder is made only once the input has opened and fits the target: bad input leaves nothing.
    removeCreated = await prepareOutputFolder(output);
    if (target === 'tiff') {
      await streamToTiff(src, output);
      process.stdout.write(`wrote ${output}\n`);
      return 0;
    }
    const block = await src.read();
    const volume = {
      data: block.data,
      width: block.width,
      height: block.height,
      depth: block.depth,
      channels: block.channels,
      geometry: src.geometry,
      ...(src.nodata !== undefined ? { nodata: src.nodata } : {}),
    };
    if (target === 'nifti') await writeNifti(output, volume);
    else await writePng(output, interleave(block.data as Uint8Array, block.width, block.height, block.channels), block.width, block.height, block.channels as 1 | 3 | 4);
  } catch (err) {
    await removeCreated?.();
    throw err;
  } finally {
    await src.close();
  }
  process.stdout.write(`wrote ${output}\n`);
  return 0;
}

/** Copies a 2D raster into a GeoTIFF band of tile rows at a time (about 64 MiB each), so any size fits in memory. */
async function streamToTiff(src: ImageSource, output: string): Promise<void> {
  const writer = await TiffWriter.open(output, {
    width: src.width,
    height: src.height,
    channels: src.channels,
    dtype: src.dtype,
    geometry: src.geometry,
    ...(src.nodata !== undefined ? { nodata: src.nodata } : {}),
  });
  try {
    const t = writer.tileSize;
    const rowBytes = src.width * src.channels * BYTES_PER_SAMPLE[src.dtype];
    const rows = Math.max(t, Math.floor((64 * 2 ** 20) / rowBytes / t) * t);
    for (let y = 0; y < src.height; y += rows) {
      const h = Math.min(rows, src.height - y);
      const block = await src.read({ y, height: h });
      await writer.writeWindow(0, y, src.width, h, block.data);
    }
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
