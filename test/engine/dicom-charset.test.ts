// Text attributes in the character set a DICOM file declares (0008,0005): the patient header, the series list and
// the patient / study attributes our DICOM SEG and SR copy. The byte vectors are the examples of PS3.5 Annexes H, I
// and J (Japanese, Korean, Chinese); pydicom's own character-set files, read by pydicom, are the oracle for the rest.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeDicomText, dicomText } from '../../main/engine/io/dicom/charset';
import { parseHeader } from '../../main/engine/io/dicom/parse';
import { formatPersonName, patientHeaderOf } from '../../main/engine/io/dicom/patient';
import { listDicomSeries, openDicom } from '../../main/engine/io/dicom/index';
import { readSegSource, writeDicomSeg } from '../../main/engine/export/dicom-seg';
import { writeCtSeries } from '../fixtures/dicom-writer';
import { commandWorks, skipNote, tempDir } from './helpers';

const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));

describe('DICOM character sets', () => {
  it('decodes the PS3.5 Annex H Japanese examples (ISO 2022 IR 87, with and without IR 13)', () => {
    // H.3.1: "Yamada^Tarou=" then kanji and hiragana in JIS X 0208, each run closed by ESC ( B.
    const h31 = hex('59616d6164615e5461726f753d1b24423b3345441b28425e1b244242404f3a1b28423d1b24422464245e24401b28425e1b2442243f246d24261b2842');
    expect(decodeDicomText(h31, ['', 'ISO 2022 IR 87'], 'PN')).toBe('Yamada^Tarou=山田^太郎=やまだ^たろう');
    // H.3.2: half-width katakana in G1 (ISO 2022 IR 13 as the first value), runs closed by ESC ( J.
    const h32 = hex('d4cfc0de5ec0dbb33d1b24423b3345441b284a5e1b244242404f3a1b284a3d1b24422464245e24401b284a5e1b2442243f246d24261b284a');
    expect(decodeDicomText(h32, ['ISO 2022 IR 13', 'ISO 2022 IR 87'], 'PN')).toBe('ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう');
    // Read one byte as one character, as before, the kanji were escape sequences and Latin letters.
    expect(Buffer.from(h31).toString('latin1')).not.toContain('山田');
  });

  it('decodes the Korean (ISO 2022 IR 149) and Chinese (GB18030) examples of Annexes I and J', () => {
    const i2 = hex('486f6e675e47696c646f6e673d1b242943fbf35e1b242943d1ced4d73d1b242943c8ab5e1b242943b1e6b5bf');
    expect(decodeDicomText(i2, ['', 'ISO 2022 IR 149'], 'PN')).toBe('Hong^Gildong=洪^吉洞=홍^길동');
    const j = hex('57616e675e5869616f446f6e673dcdf55ed0a1b6ab3d');
    expect(decodeDicomText(j, ['GB18030'], 'PN')).toBe('Wang^XiaoDong=王^小东=');
  });

  it('decodes single-byte sets and UTF-8 by their terms, and guesses only between UTF-8 and Latin-1 when none is declared', () => {
    expect(decodeDicomText(hex('bbeeda6365dcd17970d3'), ['ISO_IR 144'], 'PN')).toBe('Люкceмбypг');
    expect(decodeDicomText(Buffer.from('Äneas^Rüdiger', 'latin1'), ['ISO_IR 100'], 'PN')).toBe('Äneas^Rüdiger');
    expect(decodeDicomText(Buffer.from('Äneas^Rüdiger', 'utf8'), ['ISO_IR 192'], 'PN')).toBe('Äneas^Rüdiger');
    // Latin-2 differs from Latin-1 at 0xB9 (š against ¹).
    expect(decodeDicomText(hex('b961'), ['ISO_IR 101'], 'LO')).toBe('ša');
    expect(decodeDicomText(Buffer.from('Müller', 'utf8'), [], 'PN')).toBe('Müller');
    expect(decodeDicomText(Buffer.from('Müller', 'latin1'), [], 'PN')).toBe('Müller');
    // An unknown term reads as Latin-1 rather than failing.
    expect(decodeDicomText(Buffer.from('Müller', 'latin1'), ['ISO_IR 999'], 'PN')).toBe('Müller');
  });

  it('formats the first person-name group that is not empty', () => {
    expect(formatPersonName('Yamada^Tarou=山田^太郎=やまだ^たろう')).toBe('Yamada, Tarou');
    expect(formatPersonName('=山田^太郎=やまだ^たろう')).toBe('山田, 太郎');
  });

  const charsetDir = '/usr/lib/python3/dist-packages/pydicom/data/charset_files';
  const hasCharsetFiles = existsSync(charsetDir) && commandWorks('/usr/bin/python3', ['-c', 'import pydicom']);
  it.skipIf(!hasCharsetFiles)(`reads every patient name of pydicom's character-set files as pydicom does${skipNote(!hasCharsetFiles, 'python3-pydicom and its charset_files not installed')}`, async () => {
    const code = `
import json, os, sys, pydicom
out = {}
for f in sorted(os.listdir(sys.argv[1])):
    if f.endswith('.dcm'):
        ds = pydicom.dcmread(os.path.join(sys.argv[1], f))
        if 'PatientName' in ds and ds.PatientName:
            out[f] = str(ds.PatientName)
print(json.dumps(out))
`;
    const r = spawnSync('/usr/bin/python3', ['-c', code, charsetDir], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const want = JSON.parse(r.stdout) as Record<string, string>;
    const files = readdirSync(charsetDir).filter((f) => f.endsWith('.dcm'));
    expect(Object.keys(want).length).toBeGreaterThanOrEqual(12);
    const trailing = (s: string): string => s.replace(/[=^]+$/, '');
    const nonAscii = Object.values(want).filter((v) => /[^\x20-\x7e]/.test(v)).length;
    expect(nonAscii).toBeGreaterThanOrEqual(10);
    for (const f of files) {
      if (!want[f]) continue;
      const ds = (await parseHeader(path.join(charsetDir, f))).dataSet;
      expect(trailing(dicomText(ds, 'x00100010', 'PN') ?? ''), f).toBe(trailing(want[f]!));
    }
    const jap = (await parseHeader(path.join(charsetDir, 'chrH31.dcm'))).dataSet;
    expect(patientHeaderOf(jap).patientName).toBe('Yamada, Tarou');
  });

  describe('a series whose names are not ASCII', () => {
    const tmp = tempDir('delineate-charset-');
    afterAll(() => tmp.cleanup());
    const hasPydicom = commandWorks('/usr/bin/python3', ['-c', 'import pydicom, numpy']);
    const cases: Array<{ name: string; charset: string; bytes: Uint8Array; want: string; description: Uint8Array; descriptionWant: string }> = [
      { name: 'utf8', charset: 'ISO_IR 192', bytes: Buffer.from('Äneas^Rüdiger', 'utf8'), want: 'Äneas^Rüdiger', description: Buffer.from('Schädel nativ', 'utf8'), descriptionWant: 'Schädel nativ' },
      {
        name: 'jis',
        charset: '\\ISO 2022 IR 87',
        bytes: hex('59616d6164615e5461726f753d1b24423b3345441b28425e1b244242404f3a1b28423d1b24422464245e24401b28425e1b2442243f246d24261b2842'),
        want: 'Yamada^Tarou=山田^太郎=やまだ^たろう',
        description: hex('1b2442462c1b2842'), // 頭 (JIS X 0208 0x462C)
        descriptionWant: '頭',
      },
      { name: 'gb18030', charset: 'GB18030', bytes: hex('57616e675e5869616f446f6e673dcdf55ed0a1b6ab'), want: 'Wang^XiaoDong=王^小东', description: hex('cdb7b2bf'), descriptionWant: '头部' },
    ];
    const folders = new Map<string, string>();
    const folderOf = (c: (typeof cases)[number]): string => {
      let dir = folders.get(c.name);
      if (dir) return dir;
      dir = path.join(tmp.dir, c.name);
      mkdirSync(dir);
      writeCtSeries(dir, {
        width: 8,
        height: 6,
        depth: 3,
        spacingMm: [1, 1, 2],
        orientation: [1, 0, 0, 0, 1, 0],
        originMm: [0, 0, 0],
        rescaleIntercept: -1024,
        value: (x, y, z) => 1000 + x + y + z,
        fileName: (z) => `s${z}.dcm`,
        instanceNumber: (z) => z + 1,
        seriesUid: `1.2.826.0.1.3680043.9.7433.3.${500 + cases.indexOf(c)}`,
        patientName: c.bytes,
        specificCharacterSet: c.charset,
        seriesDescription: c.description,
      });
      folders.set(c.name, dir);
      return dir;
    };

    it.each(cases.map((c) => [c.name, c] as const))('shows the patient and series of a %s series as written', async (_n, c) => {
      const dir = folderOf(c);
      const src = await openDicom(dir);
      try {
        expect(src.meta.seriesDescription).toBe(c.descriptionWant);
      } finally {
        await src.close?.();
      }
      expect((await listDicomSeries(dir))[0]?.description).toBe(c.descriptionWant);
      const ds = (await parseHeader(path.join(dir, 's0.dcm'))).dataSet;
      expect(dicomText(ds, 'x00100010', 'PN')).toBe(c.want);
      expect(patientHeaderOf(ds).patientName).toBe(formatPersonName(c.want));
    });

    it.each(cases.map((c) => [c.name, c] as const))('copies the patient name of a %s series into the DICOM SEG as the same text', async (_n, c) => {
      const dir = folderOf(c);
      const source = await readSegSource(dir);
      expect(source.patientStudy.PatientName).toBe(c.want);
      const file = path.join(tmp.dir, `${c.name}-seg.dcm`);
      const labels = new Uint8Array(8 * 6 * 3);
      labels[8 * 6 + 10] = 1;
      await writeDicomSeg(file, { source, classes: [{ name: 'tumor', color: '#ff0000' }], labels, nodataLabel: 255, algorithm: { name: 'm', version: '1' } });
      const seg = (await parseHeader(file)).dataSet;
      expect(dicomText(seg, 'x00080005')).toBe('ISO_IR 192');
      expect(dicomText(seg, 'x00100010', 'PN')).toBe(c.want);
    });

    it.skipIf(!hasPydicom)(`pydicom reads the exported SEG's patient name as the source's${skipNote(!hasPydicom, 'python3-pydicom not installed')}`, async () => {
      for (const c of cases) {
        const file = path.join(tmp.dir, `${c.name}-py.dcm`);
        const source = await readSegSource(folderOf(c));
        const labels = new Uint8Array(8 * 6 * 3);
        labels[3] = 1;
        await writeDicomSeg(file, { source, classes: [{ name: 'tumor', color: '#ff0000' }], labels, nodataLabel: 255, algorithm: { name: 'm', version: '1' } });
        const r = spawnSync('/usr/bin/python3', ['-c', 'import sys, pydicom; print(str(pydicom.dcmread(sys.argv[1]).PatientName))', file], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stdout.trim().replace(/[=^]+$/, ''), c.name).toBe(c.want);
      }
    });
  });
});

describe('DICOM text that is long or broken', () => {
  it('decodes a 300 kB value of each kind without failing, and unknown escapes as they are', () => {
    const long = new Uint8Array(300_000).map((_, i) => 0xa1 + (i % 60));
    expect(decodeDicomText(long, ['ISO 2022 IR 13'], 'LT')).toHaveLength(300_000);
    const jis = new Uint8Array(300_003);
    jis.set([0x1b, 0x24, 0x42]);
    for (let i = 3; i < jis.length; i++) jis[i] = 0x30 + (i % 2);
    expect(decodeDicomText(jis, ['', 'ISO 2022 IR 87'], 'LT').length).toBeGreaterThan(100_000);
    expect(decodeDicomText(Uint8Array.from([0x41, 0x1b, 0x7a, 0x42]), ['', 'ISO 2022 IR 87'], 'LO')).toBe('A\x1bzB');
  });
});
