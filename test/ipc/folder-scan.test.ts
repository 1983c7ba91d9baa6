// The folder-scan channels over the real validators, dispatch and engine host loop (fake engine): picking a folder
// issues a handle and opens nothing; the scan reports progress as a job and answers without a single path (main
// keeps each series' folder); a scanned series opens by the picked folder's handle and its UID; paths are refused
// where handles belong, for the scan and for the header and window channels alike.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FolderScan, IpcReply, OpenedImage, PickedFolder } from '../../preload/api';
import { validateArgs, ValidationError } from '../../main/ipc/validate';
import { makeHarness, type Harness } from './helpers';

function ok<T>(reply: IpcReply): T {
  if (!reply.ok) throw new Error(`expected ok, got error: ${reply.error}`);
  return reply.value as T;
}

describe('folder scan channels', () => {
  let h: Harness;

  beforeAll(async () => {
    h = makeHarness();
    await h.engine.start();
  });

  afterAll(async () => {
    await h.engine.stop();
  });

  it('refuse paths where a handle belongs', () => {
    for (const [channel, args] of [
      ['folder:scan', ['job_1', '/data/export']],
      ['folder:scan', ['../x', 'h_' + 'a'.repeat(32)]],
      ['image:windows', ['/data/ct']],
      ['image:patient', ['/data/ct']],
      ['folder:pick-dialog', ['/data']],
    ] as const) {
      expect(() => validateArgs(channel, [...args] as never), `${channel} ${JSON.stringify(args)}`).toThrow(ValidationError);
    }
  });

  it('picks a folder without opening it (null when cancelled)', async () => {
    h.setDialog(null);
    expect(ok(await h.dispatch('folder:pick-dialog', []))).toBeNull();
    h.setDialog(h.dir);
    const picked = ok<PickedFolder>(await h.dispatch('folder:pick-dialog', []));
    expect(picked.name).toBe(h.dir.split('/').pop());
    expect(h.files.resolve(picked.handle)).toBe(h.dir);
  });

  it('scans as a job with progress, answers without paths, and opens a scanned series by handle and UID', async () => {
    h.setDialog(h.dir);
    const picked = ok<PickedFolder>(await h.dispatch('folder:pick-dialog', []));
    const scan = ok<FolderScan>(await h.dispatch('folder:scan', ['scan_1', picked.handle]));
    expect(scan.handle).toBe(picked.handle);
    expect(scan.studies[0]?.series[0]).toMatchObject({ uid: '1.2.3.4', images: 3 });
    expect(JSON.stringify(scan)).not.toContain(h.dir);
    expect(Object.keys(scan.studies[0]!.series[0]!)).not.toContain('dir');
    const progress = await h.waitForEvent('job:progress', (p) => p.jobId === 'scan_1' && p.done === 3);
    expect(progress).toMatchObject({ stage: 'scanning files', total: 3 });
    const opened = ok<OpenedImage>(await h.dispatch('file:open-series', [picked.handle, '1.2.3.4', {}]));
    expect(opened.seriesInstanceUid).toBe('1.2.3.4');
    expect(opened.info.seriesInstanceUid).toBe('1.2.3.4');
    expect(opened.handle).not.toBe(picked.handle);
  });
});
