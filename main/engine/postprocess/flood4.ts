// A 4-connected flood fill on a width x height grid, shared by the edits that grow or fill a region (fill holes,
// region growing) and by the click step that honours the newest click through the model's probability.

/**
 * Floods a width x height grid (index y * width + x, x fastest) 4-connected from the seed indices. A pixel is looked
 * at once at most: accept(index, x, y) is asked the first time the pixel comes up, as a seed (a seed listed twice
 * is asked once) or as the left, right, upper or lower neighbour of a filled pixel, and never again, whatever it
 * said. fill(index) is called once for each accepted pixel, when it is taken off the stack and before its
 * neighbours are looked at. A seed accept refuses fills nothing. Seeds must be indices of the grid (RangeError).
 */
export function flood4(
  width: number,
  height: number,
  seeds: ArrayLike<number>,
  accept: (index: number, x: number, y: number) => boolean,
  fill: (index: number) => void,
): void {
  const n = width * height;
  // 1 = looked at (accepted or not).
  const visited = new Uint8Array(n);
  const stack: number[] = [];
  for (let s = 0; s < seeds.length; s++) {
    const i = seeds[s]!;
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`seed ${i} is outside the ${width} x ${height} grid`);
    if (visited[i]) continue;
    visited[i] = 1;
    const x = i % width;
    if (accept(i, x, (i - x) / width)) stack.push(i);
  }
  while (stack.length > 0) {
    const i = stack.pop()!;
    fill(i);
    const x = i % width;
    const y = (i - x) / width;
    if (x > 0 && !visited[i - 1]) {
      visited[i - 1] = 1;
      if (accept(i - 1, x - 1, y)) stack.push(i - 1);
    }
    if (x + 1 < width && !visited[i + 1]) {
      visited[i + 1] = 1;
      if (accept(i + 1, x + 1, y)) stack.push(i + 1);
    }
    if (y > 0 && !visited[i - width]) {
      visited[i - width] = 1;
      if (accept(i - width, x, y - 1)) stack.push(i - width);
    }
    if (y + 1 < height && !visited[i + width]) {
      visited[i + width] = 1;
      if (accept(i + width, x, y + 1)) stack.push(i + width);
    }
  }
}
