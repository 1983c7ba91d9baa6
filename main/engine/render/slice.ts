// Renders one slice of an image to an 8-bit RGBA preview (window/level, band selection, downsampling).
import type { SliceBitmap, SliceRequest } from '../../../preload/api';
import type { ImageSource } from '../image';

export async function renderSlice(_src: ImageSource, _request: Omit<SliceRequest, 'handle'>): Promise<SliceBitmap> {
  throw new Error('renderSlice: not implemented yet');
}
