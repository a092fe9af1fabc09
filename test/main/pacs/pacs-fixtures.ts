import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDicomService, type DicomService } from '../../../src-main/dicom/dicom-service';
import { JobManager } from '../../../src-main/jobs/job-manager';
import { PacsNodes } from '../../../src-main/pacs/pacs-nodes';
import { PacsService } from '../../../src-main/pacs/pacs-service';
import { HistoryService } from '../../../src-main/store/history-service';
import type { PacsNodeInput, PacsPolicy } from '../../../src-shared/contracts/pacs';
import { SYSTEM_PYTHON } from '../../support/viewer-fixtures';

export const PYDICOM_FILES = '/usr/lib/python3/dist-packages/pydicom/data/test_files';
export const PHANTOM_STUDY = '1.2.826.0.1.3680043.8.498.1000';

/** The viewer's phantom CT study (original 40 x 256², generated 48 x 400²) and, optionally, an N-slice 512² series. */
export function makePhantomStudy(benchSlices = 0): { dir: string; original: string[]; generated: string[]; bench: string[] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-pacs-fixture-'));
  const script = path.resolve('test/fixtures/viewer/make_viewer_series.py');
  execFileSync(SYSTEM_PYTHON, [script, dir, 'pair'], { stdio: 'ignore' });
  if (benchSlices) execFileSync(SYSTEM_PYTHON, [script, dir, 'bench', String(benchSlices)], { stdio: 'ignore' });
  const list = (sub: string) => {
    try {
      return readdirSync(path.join(dir, sub)).sort().map((f) => path.join(dir, sub, f));
    } catch {
      return [];
    }
  };
  return { dir, original: list('original'), generated: list('generated'), bench: list('bench') };
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Digests of every .dcm file in a folder. */
export function digests(files: string[]): string[] {
  return files.map(sha256).sort();
}

export function dcmFiles(folder: string): string[] {
  return readdirSync(folder)
    .filter((f) => f.endsWith('.dcm'))
    .map((f) => path.join(folder, f));
}

export interface PacsHarness {
  dataDir: string;
  jobs: JobManager;
  dicom: DicomService;
  pacs: PacsService;
  close(): Promise<void>;
}

/** The real services (jobs, DICOM import, PACS) on a fresh data folder, nodes pinned as a policy would. */
export function makeHarness(nodes: PacsNodeInput[], policy: Omit<PacsPolicy, 'nodes'> = {}): PacsHarness {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-pacs-data-'));
  const jobs = new JobManager();
  const dicom = createDicomService({ jobs, dataDir });
  const pacs = new PacsService({ jobs, dicom, dataDir, nodes: new PacsNodes(null, { ...policy, nodes }) });
  return {
    dataDir,
    jobs,
    dicom,
    pacs,
    async close() {
      await jobs.shutdown();
      await dicom.close();
    },
  };
}

/** The same services plus the real case history (SQLite in its worker) on the harness's data folder. */
export async function makeHistoryHarness(nodes: PacsNodeInput[]): Promise<PacsHarness & { history: HistoryService }> {
  const base = makeHarness(nodes);
  const history = await HistoryService.start({ dataDir: base.dataDir, actor: 'pacs-test' });
  const pacs = new PacsService({ jobs: base.jobs, dicom: base.dicom, dataDir: base.dataDir, nodes: base.pacs.nodes, history });
  return {
    ...base,
    pacs,
    history,
    async close() {
      await base.close();
      await history.close();
    },
  };
}
