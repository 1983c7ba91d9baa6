// NIfTI-1 reading and writing (.nii, .nii.gz) with qform/sform mapped to patient LPS geometry.
import type { VolumeData } from './volume';

/** Writes atomically; .gz in the name means gzip. Geometry: medical (LPS) or pixel (unit spacing). */
export async function writeNifti(_path: string, _volume: VolumeData): Promise<void> {
  throw new Error('writeNifti: not implemented yet');
}
