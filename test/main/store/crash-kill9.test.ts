import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactStore } from '../../../src-main/store/artifact-store';
import { HistoryService } from '../../../src-main/store/history-service';
import { mulberry32, sleep, spawnTs, tempDir } from './helpers/store-helpers';

/**
 * kill -9 of a writer in the middle of 1,000 run inserts with artifacts, many times over one data folder.
 * After every kill: the store opens (quick_check ok), every run the child reported committed is present
 * with its artifacts, and every artifact any run of that child references hashes correctly (no
 * half-written file is referenced).
 */
describe('crash safety: kill -9 during writes', () => {
  const tmp = tempDir('crash');
  afterAll(() => tmp.cleanup());

  it('keeps every reported commit and never references a half-written artifact', async () => {
    const seedBase = Number(process.env.HG_CRASH_SEED ?? Date.now() % 100_000);
    const rand = mulberry32(seedBase);
    const iterations = Number(process.env.HG_CRASH_ITERATIONS ?? 20);
    const artifacts = new ArtifactStore(path.join(tmp.dir, 'artifacts'));
    let totalReported = 0;
    let killedMidway = 0;
    for (let it = 0; it < iterations; it += 1) {
      const seed = `${seedBase}-${it}`;
      const writer = spawnTs('test/main/store/helpers/crash-writer.ts', [tmp.dir, '1000', seed]);
      // Kill at a random moment: sometimes during start-up and migration, mostly mid-inserts: after a
      // random number of commits (so a fast disk cannot finish all 1,000 first), plus a random few ms so
      // the kill lands anywhere inside the next artifact write or transaction.
      if (it % 6 === 0) {
        await Promise.race([sleep(50 + rand() * 600), writer.exited]);
      } else {
        const target = 1 + Math.floor(rand() * 150);
        let exited = false;
        void writer.exited.then(() => (exited = true));
        while (!exited && writer.lines.filter((l) => l.startsWith('committed ')).length < target) await sleep(2);
        await sleep(rand() * 25);
      }
      writer.child.kill('SIGKILL');
      const exit = await writer.exited;
      const reported = writer.lines.filter((l) => l.startsWith('committed ')).map((l) => l.slice('committed '.length));
      if (exit.signal === 'SIGKILL' && !writer.lines.includes('done')) killedMidway += 1;
      expect(writer.lines.some((l) => l.startsWith('refused')), `iteration ${it} (seed ${seed}) found the store refused: ${writer.lines.join('|')}`).toBe(false);
      totalReported += reported.length;

      // Restart: the real start path (read-only inspection with quick_check, then open and migrate).
      const history = await HistoryService.start({ dataDir: tmp.dir, actor: 'verifier' });
      try {
        const status = await history.status();
        expect(status.state, `iteration ${it} seed ${seed}: ${status.message}`).toBe('open');
      } finally {
        await history.close();
      }
      const db = new Database(path.join(tmp.dir, 'history.db'), { readonly: true });
      try {
        expect(db.pragma('quick_check', { simple: true })).toBe('ok');
        const present = new Set((db.prepare('SELECT run_id FROM runs WHERE case_id = ?').all(`case-${seed}`) as Array<{ run_id: string }>).map((r) => r.run_id));
        for (const id of reported) expect(present.has(id), `run ${id} was reported committed but is missing (seed ${seed})`).toBe(true);
        // Every artifact referenced by this child's runs: the file exists and hashes to its name.
        const refs = db
          .prepare(
            `SELECT DISTINCT oa.hash FROM output_artifacts oa JOIN outputs o ON o.output_id = oa.output_id
             JOIN runs r ON r.run_id = o.run_id WHERE r.case_id = ?`,
          )
          .all(`case-${seed}`) as Array<{ hash: string }>;
        for (const { hash } of refs) expect(await artifacts.check(hash), `artifact ${hash} (seed ${seed})`).toBe('ok');
        // A run is whole: a committed run has both its outputs and is finished.
        const partial = db
          .prepare(`SELECT count(*) AS n FROM runs r WHERE r.case_id = ? AND (r.status <> 'succeeded' OR (SELECT count(*) FROM outputs o WHERE o.run_id = r.run_id) <> 2)`)
          .get(`case-${seed}`) as { n: number };
        expect(partial.n).toBe(0);
      } finally {
        db.close();
      }
    }
    // The whole store at the end: integrity, foreign keys, every referenced artifact hashed.
    const history = await HistoryService.start({ dataDir: tmp.dir, actor: 'verifier' });
    try {
      const report = await history.check(true);
      expect(report.quickCheck).toEqual(['ok']);
      expect(report.foreignKeyViolations).toBe(0);
      expect(report.artifacts.missing).toEqual([]);
      expect(report.artifacts.corrupt).toEqual([]);
      expect(report.ok).toBe(true);
    } finally {
      await history.close();
    }
    expect(killedMidway).toBeGreaterThanOrEqual(Math.floor(iterations * 0.8));
    expect(totalReported).toBeGreaterThan(iterations * 20);
    console.log(`crash test: seed ${seedBase}, ${iterations} kills (${killedMidway} mid-write), ${totalReported} reported commits verified`);
  }, 240_000);
});
