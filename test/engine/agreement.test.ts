// Agreement metrics used by `npm run eval`, on hand-made masks, label maps and instance maps.
import { describe, expect, it } from 'vitest';
import { accumulateIou, createIouAccumulator, detectionScores, dice, iouScores, matchInstances, mean, median } from '../../main/engine/measure/agreement';

describe('dice', () => {
  it('is 2|A∩B| / (|A| + |B|)', () => {
    expect(dice([1, 1, 0, 0], [0, 1, 1, 0])).toBeCloseTo(0.5);
    expect(dice([255, 255], [1, 1])).toBe(1);
  });
  it('scores 1 when both are empty and 0 when only one is', () => {
    expect(dice([0, 0, 0], [0, 0, 0])).toBe(1);
    expect(dice([0, 1, 0], [0, 0, 0])).toBe(0);
    expect(dice([0, 0, 0], [1, 0, 0])).toBe(0);
  });
  it('mean and median', () => {
    expect(mean([1, 0, 0.5])).toBeCloseTo(0.5);
    expect(median([0.9, 0.1, 0.5, 0.7])).toBeCloseTo(0.6);
    expect(median([3, 1, 2])).toBe(2);
  });
});

describe('IoU accumulation', () => {
  it('sums intersection and union over images and ignores reference label 0', () => {
    const acc = createIouAccumulator(2);
    // Image 1: pixel 0 is unknown in the reference: the prediction there (class 2) must not count.
    accumulateIou(acc, [2, 1, 1, 2], [0, 1, 2, 2]);
    // Image 2: a "no class" prediction (0) is a miss for the reference class; nodata (255) too.
    accumulateIou(acc, [0, 1, 255], [1, 1, 2]);
    expect(acc.intersection.slice(1)).toEqual([2, 1]);
    // class 1: predicted at 1,2 (img 1) and 1 (img 2); reference at 1 (img 1) and 0,1 (img 2) -> union 4
    // class 2: predicted at 3 (img 1); reference at 2,3 (img 1) and 2 (img 2) -> union 3
    expect(acc.union.slice(1)).toEqual([4, 3]);
    const s = iouScores(acc);
    expect(s.perClass[0]).toBeCloseTo(2 / 4);
    expect(s.perClass[1]).toBeCloseTo(1 / 3);
    expect(s.meanIou).toBeCloseTo((0.5 + 1 / 3) / 2);
  });
  it('leaves a class absent everywhere out of the mean', () => {
    const acc = createIouAccumulator(3);
    accumulateIou(acc, [1, 1], [1, 1]);
    expect(iouScores(acc)).toEqual({ perClass: [1, null, null], meanIou: 1 });
  });
});

describe('instance matching', () => {
  // 6 x 4 maps. Reference: A (id 5) = columns 0-1, B (id 9) = columns 3-5 of rows 0-1, C (id 2) = row 3, columns 3-5.
  // Prediction: A' (id 1) = columns 0-1 rows 0-2 (IoU 6/8 with A: hit); B+C merged into one object (id 2) rows 0-3
  // columns 3-5 minus row 2 (IoU 6/9 with B: hit; C unmatched because one-to-one); a spurious object (id 3).
  const ref = [
    5, 5, 0, 9, 9, 9,
    5, 5, 0, 9, 9, 9,
    5, 5, 0, 0, 0, 0,
    5, 5, 0, 2, 2, 2,
  ];
  const pred = [
    1, 1, 0, 2, 2, 2,
    1, 1, 0, 2, 2, 2,
    1, 1, 3, 0, 0, 0,
    0, 0, 0, 2, 2, 2,
  ];
  it('matches one to one, greedy by IoU, at IoU 0.5', () => {
    const m = matchInstances(pred, ref);
    expect(m.pairs.map(([p, r]) => [p, r])).toEqual([
      [1, 5],
      [2, 9],
    ]);
    expect(m.pairs[0]![2]).toBeCloseTo(6 / 8);
    expect([m.truePositives, m.falsePositives, m.falseNegatives]).toEqual([2, 1, 1]);
    const s = detectionScores(m.truePositives, m.falsePositives, m.falseNegatives);
    expect(s.precision).toBeCloseTo(2 / 3);
    expect(s.recall).toBeCloseTo(2 / 3);
    expect(s.f1).toBeCloseTo(2 / 3);
  });
  it('a stricter threshold or a minimum size changes the counts', () => {
    const strict = matchInstances(pred, ref, { iouThreshold: 0.7 });
    expect([strict.truePositives, strict.falsePositives, strict.falseNegatives]).toEqual([1, 2, 2]);
    // Ignoring objects below 2 px drops the spurious one-pixel prediction.
    const sized = matchInstances(pred, ref, { minPixels: 2 });
    expect([sized.truePositives, sized.falsePositives, sized.falseNegatives]).toEqual([2, 0, 1]);
  });
  it('empty against empty is perfect; predictions against nothing are all false positives', () => {
    expect(detectionScores(0, 0, 0)).toEqual({ precision: 1, recall: 1, f1: 1 });
    const m = matchInstances([0, 4, 4], [0, 0, 0]);
    expect([m.truePositives, m.falsePositives, m.falseNegatives]).toEqual([0, 1, 0]);
    expect(detectionScores(0, 1, 0).f1).toBe(0);
  });
});
