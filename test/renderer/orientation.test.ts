// Orientation letters at the edges of each view, from the direction cosines (LPS): axial, coronal and sagittal of a
// standard acquisition, a volume stored feet-first or flipped, and an oblique acquisition (the dominant axis names
// each edge).
import { describe, expect, it } from 'vitest';
import { directionLetter, orientationLetters } from '../../renderer/viewer/orientation';

const IDENTITY = [1, 0, 0, 0, 1, 0, 0, 0, 1];

describe('orientation letters', () => {
  it('names the patient axis a direction points to most', () => {
    expect([directionLetter([1, 0, 0]), directionLetter([-1, 0, 0]), directionLetter([0, 1, 0]), directionLetter([0, -1, 0]), directionLetter([0, 0, 1]), directionLetter([0, 0, -1])]).toEqual(['L', 'R', 'P', 'A', 'S', 'I']);
  });

  it('reads an axial view as radiologists do: patient right on the left, anterior at the top', () => {
    expect(orientationLetters(IDENTITY, 'axial')).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' });
  });

  it('puts superior at the top of coronal and sagittal views when their rows are flipped (z toward the head)', () => {
    expect(orientationLetters(IDENTITY, 'coronal', true)).toEqual({ left: 'R', right: 'L', top: 'S', bottom: 'I' });
    expect(orientationLetters(IDENTITY, 'sagittal', true)).toEqual({ left: 'A', right: 'P', top: 'S', bottom: 'I' });
    // Not flipped (z runs toward the feet, rows kept): inferior at the top.
    expect(orientationLetters([1, 0, 0, 0, 1, 0, 0, 0, -1], 'coronal', false)).toEqual({ left: 'R', right: 'L', top: 'S', bottom: 'I' });
  });

  it('follows a volume whose rows run right-to-left and anterior-ward (a flipped NIfTI in RAS order)', () => {
    expect(orientationLetters([-1, 0, 0, 0, -1, 0, 0, 0, 1], 'axial')).toEqual({ left: 'L', right: 'R', top: 'P', bottom: 'A' });
  });

  it('names an oblique acquisition by its dominant axis', () => {
    // Axial tilted 30° about the left-right axis: columns still run to L; rows run 0.87 P and 0.5 S.
    const c = Math.cos(Math.PI / 6);
    const s = Math.sin(Math.PI / 6);
    expect(orientationLetters([1, 0, 0, 0, c, s, 0, -s, c], 'axial')).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' });
    // A sagittal acquisition stored as the x/y plane, tilted 20° (columns 0.94 P, 0.34 L; rows 0.94 I): the axial
    // "axis" of this volume shows a sagittal image, and its letters say so.
    const c2 = Math.cos((20 * Math.PI) / 180);
    const s2 = Math.sin((20 * Math.PI) / 180);
    expect(orientationLetters([s2, c2, 0, 0, 0, -1, c2, -s2, 0], 'axial')).toEqual({ left: 'A', right: 'P', top: 'S', bottom: 'I' });
  });

  it('uses the standard axes when the image has no direction', () => {
    expect(orientationLetters(undefined, 'axial')).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' });
  });
});
