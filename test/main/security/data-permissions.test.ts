import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobFinal } from '../../../src-shared/contracts/jobs';
import type { CallContext } from '../../../src-main/ipc/registry';
import { createServices, type Services } from '../../../src-main/services';
import { ensureGeneratedSeries } from '../dicom/fixtures';
import { cachedTinyPack, type BuiltPack } from '../model/pack-fixture';

/**
 * The data folder holds patient data (the history database, imported names and IDs in dicom/index.json,
 * generated DICOM, backups, exports): the folder and everything the app creates in it must be readable by
 * the app's user only, 0700 for folders and 0600 for files, including a folder that already existed 0755.
 */
const REPO = path.resolve(import.meta.dirname, '../../..');
const MR_SERIES = path.join(REPO, 'test/fixtures/generated/mr_axial');

const ctx: CallContext = {
  sink: { id: 'perm-test', send: () => {}, isAlive: () => true },
  sender: { transport: 'direct', origin: null, isMainFrame: true, authenticated: true },
};

async function runJob(services: Services, channel: string, payload: unknown): Promise<JobFinal> {
  const r = await services.registry.dispatch(channel, payload, ctx);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return services.jobs.wait((r.value as { jobId: string }).jobId);
}

/** Every folder and file under `root` (root included) with its permission bits. */
function walk(root: string): Array<{ path: string; kind: 'dir' | 'file'; mode: string }> {
  const out: Array<{ path: string; kind: 'dir' | 'file'; mode: string }> = [];
  const visit = (p: string) => {
    const st = lstatSync(p);
    out.push({ path: path.relative(root, p) || '.', kind: st.isDirectory() ? 'dir' : 'file', mode: (st.mode & 0o777).toString(8) });
    if (st.isDirectory()) for (const n of readdirSync(p)) visit(path.join(p, n));
  };
  visit(root);
  return out;
}

describe('permissions in the data folder (POSIX)', () => {
  let work: string;
  let pack: BuiltPack;
  let resources: string;

  beforeAll(() => {
    ensureGeneratedSeries();
    pack = cachedTinyPack();
    work = mkdtempSync(path.join(os.tmpdir(), 'hgpt-perm-'));
    resources = path.join(work, 'resources');
    mkdirSync(path.join(resources, 'packs'), { recursive: true });
    cpSync(pack.dir, path.join(resources, 'packs', 'tiny'), { recursive: true });
  }, 300_000);

  afterAll(() => {
    pack?.cleanup();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('makes the folder 0700 and every file the app writes there 0600: database, index, artifacts, generated DICOM, backups, exports', async () => {
    const dataDir = path.join(work, 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755); // as an earlier version left it
    const services = await createServices({ mode: 'test', dataDir, resourcesDir: resources });
    let listing: ReturnType<typeof walk>;
    try {
      await services.history.ready();
      expect((await runJob(services, 'dicom:import', { paths: [MR_SERIES] })).status).toBe('done');
      await services.history.recordCase({ caseId: 'perm-case', patientId: 'P-PERM', patientName: 'Private^Pat', studies: [] });
      await services.history.recordCompletedRun({
        run: { runId: 'perm-run', caseId: 'perm-case', task: 'vqa', prompt: 'q', packId: 'p', packHash: 'c'.repeat(64), executionProvider: 'cpu' },
        outputs: [{ outputId: 'perm-out', runId: 'perm-run', kind: 'image', artifacts: [{ bytes: randomBytes(2000), mediaType: 'image/png', name: 'map.png' }] }],
        end: { runId: 'perm-run', status: 'succeeded' },
      });
      const studies = (await services.registry.dispatch('dicom:list-studies', {}, ctx)) as { ok: true; value: Array<{ series: Array<{ seriesUid: string; imageCount: number }> }> };
      const seriesUid = studies.value.flatMap((s) => s.series).find((s) => s.imageCount >= 20)!.seriesUid;
      const generated = await runJob(services, 'workflow:generate', { seriesUid, task: 'sr', from: 10, to: 10 });
      expect(generated.status, JSON.stringify(generated)).toBe('done');
      await services.history.backup(undefined);
      await services.history.exportCase('perm-case', path.join(dataDir, 'exports', 'perm-case.zip'));
      listing = walk(dataDir);
    } finally {
      await services.close();
    }
    const paths = listing.map((e) => e.path);
    for (const expected of [/^history\.db$/, /^history\.db-wal$/, /^history\.db-shm$/, /^dicom\/index\.json$/, /^artifacts\/[0-9a-f]{2}\/[0-9a-f]{64}$/, /^generated\/run-[^/]+\/[^/]+\.dcm$/, /^backups\/history-[^/]+\.db$/, /^exports\/perm-case\.zip$/]) {
      expect(paths.some((p) => expected.test(p)), `${expected} among ${paths.join(', ')}`).toBe(true);
    }
    const wrong = listing.filter((e) => e.mode !== (e.kind === 'dir' ? '700' : '600'));
    expect(wrong).toEqual([]);
  }, 300_000);
});
