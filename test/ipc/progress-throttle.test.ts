// Progress leaving the engine host: stage changes and the last step of a stage always go out, the steps in between
// at most once per interval, so thousands of tiles do not queue thousands of messages in front of the job's end.
import { describe, expect, it } from 'vitest';
import { throttledProgress } from '../../main/engine/host/server';

describe('throttledProgress', () => {
  it('keeps stage changes and stage ends, and thins the steps in between by time', () => {
    const sent: string[] = [];
    let clock = 0;
    const report = throttledProgress((p) => sent.push(`${p.stage} ${p.done}/${p.total}`), 100, () => clock);
    report({ stage: 'reading', done: 0, total: 1 });
    // 1000 tiles, one every millisecond: the first, one per 100 ms, and the last.
    for (let i = 1; i <= 1000; i++) {
      clock += 1;
      report({ stage: 'inference', done: i, total: 1000 });
    }
    report({ stage: 'postprocess', done: 0, total: 1 });
    report({ stage: 'done', done: 1, total: 1 });
    expect(sent[0]).toBe('reading 0/1');
    expect(sent[1]).toBe('inference 1/1000');
    expect(sent).toContain('inference 101/1000');
    expect(sent.slice(-3)).toEqual(['inference 1000/1000', 'postprocess 0/1', 'done 1/1']);
    const inference = sent.filter((s) => s.startsWith('inference'));
    expect(inference.length).toBeGreaterThanOrEqual(10);
    expect(inference.length).toBeLessThanOrEqual(12);
  });
});
