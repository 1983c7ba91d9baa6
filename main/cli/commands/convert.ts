// `delineate convert <input> <output>`: .nii/.nii.gz for volumes (any input), .tif for 2D rasters (georeferencing
// kept), .png for 8-bit 2D grey/RGB/RGBA. The output type follows the output name.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InputError } from '../../engine/image';
import { openImage } from '../../engine/io';
import { writeNifti } from '../../engine/io/nifti';
import { writeTiff } from '../../engine/io/tiff-writer';
import { interleave, writePng } from '../../engine/io/png';
import { UsageError, checkFlags, openOptionsFromFlags, OPEN_FLAGS, parseArgs } from '../args';

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
  const outDir = path.dirname(path.resolve(output));
  const dirStat = await fs.stat(outDir).catch(() => null);
  if (!dirStat?.isDirectory()) throw new InputError(output, `output folder ${outDir} does not exist`);

  const src = await openImage(input, openOptionsFromFlags(args));
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
    else if (target === 'tiff') await writeTiff(output, volume);
    else await writePng(output, interleave(block.data as Uint8Array, block.width, block.height, block.channels), block.width, block.height, block.channels as 1 | 3 | 4);
  } finally {
    await src.close();
  }
  process.stdout.write(`wrote ${output}\n`);
  return 0;
}
