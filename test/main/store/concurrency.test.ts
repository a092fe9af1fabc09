import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { HistoryService } from '../../../src-main/store/history-service';
import { REPO_ROOT, spawnTs, tempDir } from './helpers/store-helpers';

function cliList(dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '-s', 'healthgpt', '--', 'history', 'list', '--json', '--limit', '5'], {
      cwd: REPO_ROOT,
      env: { ...process.env, HEALTHGPT_DATA_DIR: dataDir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Readers (other worker threads, another process) and a second writer, while a writer process commits
 * runs as fast as it can: nobody sees SQLITE_BUSY (WAL readers never wait; writers wait on busy_timeout).
 */
describe('concurrent readers while a writer runs', () => {
  const tmp = tempDir('conc');
  afterAll(() => tmp.cleanup());

  it('serves every read and write without a busy error', async () => {
    const app = await HistoryService.start({ dataDir: tmp.dir, actor: 'app' });
    await app.recordCase({ caseId: 'seed-case', patientName: 'Seed^Case', studies: [] });
    const writer = spawnTs('test/main/store/helpers/crash-writer.ts', [tmp.dir, '400', 'w']);
    const readers = await Promise.all([1, 2].map(() => HistoryService.start({ dataDir: tmp.dir, actor: 'reader' })));
    const errors: unknown[] = [];
    let reads = 0;
    let writes = 0;
    let writerDone = false;
    void writer.exited.then(() => (writerDone = true));
    const readLoop = async (h: HistoryService, i: number) => {
      while (!writerDone) {
        try {
          const list = await h.listCases({ limit: 20, offset: 0, ...(i % 2 ? { task: 'vqa' } : { patient: 'crash' }) });
          if (list.cases[0]) await h.getCase(list.cases[0].caseId, false);
          reads += 1;
        } catch (e) {
          errors.push(e);
        }
      }
    };
    const writeLoop = async () => {
      let n = 0;
      while (!writerDone) {
        try {
          await app.recordCase({ caseId: `app-case-${n}`, patientName: `App^${n}`, studies: [] });
          await app.recordAudit({ action: 'test.tick', entity: 'case', entityId: `app-case-${n}` });
          n += 1;
          writes += 2;
        } catch (e) {
          errors.push(e);
        }
      }
    };
    const cli = (async () => {
      const results = [];
      while (!writerDone && results.length < 3) results.push(await cliList(tmp.dir));
      return results;
    })();
    const backup = (async () => {
      while (!writer.lines.some((l) => l.startsWith('committed'))) await new Promise((r) => setTimeout(r, 50));
      return app.backup(undefined);
    })();
    await Promise.all([...readers.map((h, i) => readLoop(h, i)), readLoop(app, 3), writeLoop()]);
    const exit = await writer.exited;
    const cliResults = await cli;
    const backupResult = await backup;
    try {
      expect(exit.stderr).not.toMatch(/BUSY|locked/i);
      expect(writer.lines.at(-1)).toBe('done');
      expect(errors).toEqual([]);
      expect(reads).toBeGreaterThan(30);
      expect(writes).toBeGreaterThan(10);
      expect(cliResults.length).toBeGreaterThan(0);
      for (const r of cliResults) {
        expect(r.code, r.stderr).toBe(0);
        expect(JSON.parse(r.stdout)).toHaveProperty('total');
      }
      expect(backupResult.bytes).toBeGreaterThan(0);
      const final = await app.listCases({ limit: 1, offset: 0, patient: 'crash' });
      expect(final.total).toBe(1);
      expect((await app.getCase('case-w', false)).runs).toHaveLength(400);
      expect((await app.check(false)).quickCheck).toEqual(['ok']);
    } finally {
      await Promise.all([app, ...readers].map((h) => h.close()));
    }
  }, 120_000);
});
