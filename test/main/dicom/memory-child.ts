/**
 * Child process of memory-bounds.test.ts: imports and probes one file through the DICOM service (its
 * worker threads, as the app runs them) and prints the entries with this process's peak RSS, so the
 * test can bound the memory one hostile file costs without risking its own process.
 */
import { createDicomService } from '../../../src-main/dicom/dicom-service';
import type { CallContext } from '../../../src-main/ipc/registry';
import { JobManager } from '../../../src-main/jobs/job-manager';

const ctx: CallContext = {
  sink: { id: 'memory-child', send: () => undefined, isAlive: () => true },
  sender: { transport: 'direct', origin: null, isMainFrame: true, authenticated: true },
};

const file = process.argv[2]!;
const jobs = new JobManager();
const service = createDicomService({ jobs, dataDir: null });
const started = await service.import([file], ctx.sink);
const final = await jobs.wait(started.jobId);
const probe = await service.probe([file]);
await service.close();
process.stdout.write(
  JSON.stringify({
    importStatus: final.status,
    importEntries: final.status === 'done' ? (final.result as { entries: unknown[] }).entries : [],
    probe,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  }),
);
