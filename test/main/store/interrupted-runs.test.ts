import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HistoryService } from '../../../src-main/store/history-service';
import { fileSha256, sleep, spawnTs, tempDir } from './helpers/store-helpers';

/**
 * A generating run whose process is killed with kill -9 half-way: the next open marks it interrupted
 * (failed, with the reason) and removes its partial DICOM files, naming each in the audit log; `check`
 * reports the interrupted run and any generated folder no recorded series refers to. A run whose
 * process is still alive is left alone.
 */
describe('runs interrupted by kill -9', () => {
  const tmp = tempDir('interrupted');
  afterAll(() => tmp.cleanup());

  it('marks the run interrupted at the next open, removes its partial files and says which, and check reports it', async () => {
    const dataDir = tmp.dir;
    const runId = 'run-killed-1';
    const writer = spawnTs('test/main/store/helpers/run-writer.ts', [dataDir, runId]);
    while (!writer.lines.includes(`writing ${runId}`)) {
      const exited = await Promise.race([writer.exited.then(() => true), sleep(20).then(() => false)]);
      if (exited) throw new Error(`run-writer ended early: ${(await writer.exited).stderr}`);
    }
    const folder = path.join(dataDir, 'generated', runId);
    const leftover = path.join(dataDir, 'generated', 'run-failed-earlier');
    mkdirSync(leftover, { recursive: true });
    writeFileSync(path.join(leftover, '0001.dcm'), 'DICM a slice no series row refers to');

    // While its writer lives, another process opening the store leaves the run alone.
    let h = await HistoryService.start({ dataDir, actor: 'viewer' });
    try {
      const detail = await h.getCase('case-k9', false);
      expect(detail.runs.find((r) => r.runId === runId)?.status).toBe('running');
      expect(existsSync(folder)).toBe(true);
    } finally {
      await h.close();
    }

    const expectedFiles = readdirSync(folder).sort().map((name) => ({ name, sha256: fileSha256(path.join(folder, name)) }));
    expect(expectedFiles).toHaveLength(2);
    writer.child.kill('SIGKILL');
    expect((await writer.exited).signal).toBe('SIGKILL');

    h = await HistoryService.start({ dataDir, actor: 'clinician' });
    try {
      const run = (await h.getCase('case-k9', false)).runs.find((r) => r.runId === runId);
      expect(run?.status).toBe('failed');
      expect(run?.error).toMatch(/^Interrupted: the program recording this run ended/);
      expect(run?.endedAt).not.toBeNull();
      expect(existsSync(folder)).toBe(false);
      expect(existsSync(leftover)).toBe(true); // not a run's: reported, not removed

      const report = await h.check(true);
      expect(report.interruptedRuns).toEqual([{ runId, at: expect.any(Number), removedFiles: 2 }]);
      expect(report.unreferencedGeneratedFolders).toEqual([leftover]);
      expect(report.auditChain.ok).toBe(true);
      expect(report.ok).toBe(true);
    } finally {
      await h.close();
    }

    const db = new Database(path.join(dataDir, 'history.db'));
    try {
      const entries = db.prepare(`SELECT actor, detail FROM audit_log WHERE action = 'run.interrupted' AND entity_id = ?`).all(runId) as Array<{ actor: string; detail: string }>;
      expect(entries).toHaveLength(1);
      expect(entries[0]!.actor).toBe('clinician');
      const detail = JSON.parse(entries[0]!.detail) as { generatedFolder: string; filesRemoved: Array<{ name: string; sha256: string; size: number }> };
      expect(detail.generatedFolder).toBe(folder);
      expect(detail.filesRemoved.map((f) => ({ name: f.name, sha256: f.sha256 }))).toEqual(expectedFiles);
      // Marked once: it is final now, like any finished run.
      expect(() => db.exec(`UPDATE runs SET status = 'running' WHERE run_id = 'run-killed-1'`)).toThrow(/finished run/);
    } finally {
      db.close();
    }

    // A later open has nothing more to do.
    h = await HistoryService.start({ dataDir, actor: 'clinician' });
    try {
      expect((await h.check(false)).interruptedRuns).toHaveLength(1);
    } finally {
      await h.close();
    }
  }, 60_000);
});
