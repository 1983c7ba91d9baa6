// PNG writing for 8-bit 2D images (grey, RGB or RGBA, interleaved), atomically.
export async function writePng(_path: string, _pixels: Uint8Array, _width: number, _height: number, _channels: 1 | 3 | 4): Promise<void> {
  throw new Error('writePng: not implemented yet');
}
