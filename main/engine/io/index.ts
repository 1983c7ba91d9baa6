// Opens any supported input (by content, then extension) as the engine's one image model.
import type { ImageSource } from '../image';
import type { OpenOptions } from '../service';

export async function openImage(_path: string, _options: OpenOptions = {}): Promise<ImageSource> {
  throw new Error('openImage: not implemented yet');
}
