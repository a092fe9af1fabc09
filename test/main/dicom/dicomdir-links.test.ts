/**
 * Security issue #14, finding 8: DICOMDIR entries followed symbolic links out of the DICOMDIR's folder,
 * though the folder walk does not follow them. An entry that is a link, passes through a linked folder,
 * or resolves outside the folder is refused with a message of its own; the entries inside are imported.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importReportSchema, type ImportReport } from '../../../src-shared/contracts/dicom';
import { createDicomService, type DicomService } from '../../../src-main/dicom/dicom-service';
import type { CallContext } from '../../../src-main/ipc/registry';
import { JobManager } from '../../../src-main/jobs/job-manager';
import { DicomWorkerClient } from '../../../src-main/dicom/worker-client';
import { dicomDirFile, dicomFile, imageElements } from './hostile-files';

const ctx: CallContext = {
  sink: { id: 'test', send: () => undefined, isAlive: () => true },
  sender: { transport: 'direct', origin: null, isMainFrame: true, authenticated: true },
};

let scratch = '';
let service: DicomService;
let report: ImportReport;

const image = (uid: string): Uint8Array => dicomFile(imageElements({ uid }), uid);

beforeAll(async () => {
  scratch = mkdtempSync(path.join(tmpdir(), 'dicomdir-links-'));
  const media = path.join(scratch, 'media');
  const outside = path.join(scratch, 'private');
  mkdirSync(path.join(media, 'IMAGES'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(media, 'IMAGES', 'IMG1'), image('1.2.8.1'));
  writeFileSync(path.join(outside, 'SECRET'), image('1.2.8.2'));
  writeFileSync(path.join(outside, 'OTHER'), image('1.2.8.3'));
  writeFileSync(path.join(media, 'IMAGES', 'TARGET'), image('1.2.8.4'));
  symlinkSync(path.join(outside, 'SECRET'), path.join(media, 'IMAGES', 'LINKOUT')); // a file link leaving the folder
  symlinkSync(outside, path.join(media, 'LINKDIR')); // a folder link leaving the folder
  symlinkSync('TARGET', path.join(media, 'IMAGES', 'LINKIN')); // a link, even though it stays inside
  writeFileSync(
    path.join(media, 'DICOMDIR'),
    dicomDirFile([
      ['IMAGES', 'IMG1'],
      ['IMAGES', 'LINKOUT'],
      ['LINKDIR', 'OTHER'],
      ['IMAGES', 'LINKIN'],
    ]),
  );
  const jobs = new JobManager();
  service = createDicomService({ jobs, dataDir: null });
  const started = await service.import([path.join(media, 'DICOMDIR')], ctx.sink);
  const final = await jobs.wait(started.jobId);
  expect(final.status).toBe('done');
  report = importReportSchema.parse(final.status === 'done' ? final.result : null);
}, 120_000);

afterAll(async () => {
  await service?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('DICOMDIR entries and symbolic links', () => {
  it('imports the entry inside the folder and nothing a link points to', () => {
    const imported = report.entries.filter((e) => e.status === 'ok').map((e) => path.relative(scratch, e.path));
    expect(imported).toEqual([path.join('media', 'IMAGES', 'IMG1')]);
    expect(report.seriesUids).toEqual(['1.2.8.1.2']);
  });

  it('refuses each linked entry with a message naming it', () => {
    const refused = (name: string) => report.entries.find((e) => e.path.endsWith(name));
    for (const name of [path.join('IMAGES', 'LINKOUT'), path.join('LINKDIR', 'OTHER'), path.join('IMAGES', 'LINKIN')]) {
      const e = refused(name);
      expect(e, name).toMatchObject({ status: 'error', problem: 'refused' });
      expect(e?.message, name).toMatch(/DICOMDIR entry .* symbolic link/);
    }
    expect(refused(path.join('IMAGES', 'LINKOUT'))?.message).toContain('IMAGES\\LINKOUT');
    expect(refused(path.join('LINKDIR', 'OTHER'))?.message).toContain('LINKDIR');
  });

  it('a file found by a walk or a DICOMDIR and swapped for a link afterwards is refused when opened', async () => {
    // The walk and the DICOMDIR check list plain files; the scan opens them without following a link, so
    // a link put in their place between the listing and the read is not read either.
    const client = new DicomWorkerClient(20_000);
    try {
      const link = path.join(scratch, 'media', 'IMAGES', 'LINKOUT');
      const res = await client.request({ type: 'scan', path: link, noFollow: true });
      expect(res).toMatchObject({ type: 'scan', result: { status: 'error', problem: 'refused' } });
      if (res.type === 'scan' && res.result.status === 'error') expect(res.result.message).toMatch(/symbolic link/);
      // A path the user gave explicitly may be a link: it is followed.
      const given = await client.request({ type: 'scan', path: link });
      expect(given).toMatchObject({ type: 'scan', result: { status: 'ok' } });
    } finally {
      await client.close();
    }
  });
});
