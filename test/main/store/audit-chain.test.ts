import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HistoryService } from '../../../src-main/store/history-service';
import { PROTECTIVE_TRIGGERS } from '../../../src-main/store/protective-triggers';
import { tempDir } from './helpers/store-helpers';
import { runHealthgptInProcess } from '../../support/cli-runner';

/**
 * The audit log is tamper-evident without relying on its triggers: each row's hash covers the previous
 * row's hash and the row itself, `check` recomputes the chain and names the first broken link, and the
 * protective triggers are verified and put back at every open.
 */
const tmp = tempDir('audit-chain');
afterAll(() => tmp.cleanup());

let folders = 0;
/** A store in a fresh folder with a case, a run and a review (each write adds audit rows). */
async function seededStore(): Promise<{ dataDir: string; dbFile: string }> {
  folders += 1;
  const dataDir = path.join(tmp.dir, `store-${folders}`);
  const h = await HistoryService.start({ dataDir, actor: 'clinician' });
  try {
    await h.recordCase({ caseId: 'c1', patientId: 'P1', patientName: 'Doe^Jane', studies: [{ studyId: 's1', studyUid: '1.2.3', series: [{ seriesId: 'se1', seriesUid: '1.2.3.1', modality: 'CT' }] }] });
    for (const n of [1, 2]) {
      await h.recordCompletedRun({
        run: { runId: `r${n}`, caseId: 'c1', task: 'vqa', prompt: 'Which modality?', packId: 'p', packHash: 'a'.repeat(64), executionProvider: 'cpu', inputSeriesIds: ['se1'] },
        outputs: [{ outputId: `o${n}`, runId: `r${n}`, kind: 'text', text: 'CT', artifacts: [] }],
        end: { runId: `r${n}`, status: 'succeeded' },
      });
    }
    await h.recordReview({ runId: 'r1', decision: 'accepted', comment: 'agreed' });
    const report = await h.check(true);
    expect(report.ok).toBe(true);
    expect(report.auditChain).toMatchObject({ ok: true, firstBrokenSeq: null });
    expect(report.auditChain.entries).toBeGreaterThanOrEqual(5);
  } finally {
    await h.close();
  }
  return { dataDir, dbFile: path.join(dataDir, 'history.db') };
}

/** Changes the file as someone with write access to it would: with the sqlite tool, not the app. */
function tamper(dbFile: string, statements: string): void {
  const db = new Database(dbFile);
  try {
    db.exec(statements);
  } finally {
    db.close();
  }
}

function triggerNames(dbFile: string): string[] {
  const db = new Database(dbFile, { readonly: true });
  try {
    return (db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'trigger' ORDER BY name`).all() as Array<{ name: string }>).map((r) => r.name);
  } finally {
    db.close();
  }
}

describe('audit log hash chain', () => {
  it('names the first changed row after the triggers were dropped and a row rewritten', async () => {
    const { dataDir, dbFile } = await seededStore();
    tamper(dbFile, `DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE seq = 3;`);
    const h = await HistoryService.start({ dataDir, actor: 'auditor' });
    try {
      const report = await h.check(false);
      expect(report.ok).toBe(false);
      expect(report.auditChain.ok).toBe(false);
      expect(report.auditChain.firstBrokenSeq).toBe(3);
      expect(report.auditChain.problem).toMatch(/audit entry 3 .*changed/);
    } finally {
      await h.close();
    }
    // The command line says the same and fails.
    const cli = await runHealthgptInProcess(['history', 'check', '--no-artifacts'], dataDir);
    expect(cli.code, cli.stderr).toBe(1);
    expect(cli.stdout).toMatch(/PROBLEMS FOUND/);
    expect(cli.stdout).toMatch(/audit log: BROKEN at entry 3: audit entry 3 was changed after it was written/);
  }, 60_000);

  it('names the row after a deleted one, and notices entries removed from the end', async () => {
    const middle = await seededStore();
    tamper(middle.dbFile, `DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 2;`);
    let h = await HistoryService.start({ dataDir: middle.dataDir, actor: 'auditor' });
    try {
      const report = await h.check(false);
      expect(report.ok).toBe(false);
      expect(report.auditChain.firstBrokenSeq).toBe(3);
      expect(report.auditChain.problem).toMatch(/audit entry 3 .*does not follow entry 1/);
    } finally {
      await h.close();
    }

    // Covering the tracks: the trigger is put back exactly as it was, so the next open has nothing to restore.
    const tail = await seededStore();
    const noDelete = PROTECTIVE_TRIGGERS.find((t) => t.name === 'audit_log_no_delete')!.create.text;
    tamper(tail.dbFile, `DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq >= (SELECT max(seq) - 1 FROM audit_log); ${noDelete};`);
    h = await HistoryService.start({ dataDir: tail.dataDir, actor: 'auditor' });
    try {
      const report = await h.check(false);
      expect(report.ok).toBe(false);
      expect(report.auditChain.ok).toBe(false);
      expect(report.auditChain.problem).toMatch(/2 audit entries .* removed from the end/);
    } finally {
      await h.close();
    }
  });

  it('restores dropped or altered protective triggers at open, and says so in the audit log and the check', async () => {
    const { dataDir, dbFile } = await seededStore();
    tamper(
      dbFile,
      `DROP TRIGGER audit_log_no_delete; DROP TRIGGER reviews_no_update; DROP TRIGGER runs_finished_are_final;
       DROP TRIGGER outputs_no_delete; CREATE TRIGGER outputs_no_delete BEFORE DELETE ON outputs BEGIN SELECT 1; END;`,
    );
    expect(triggerNames(dbFile)).not.toContain('reviews_no_update');
    const h = await HistoryService.start({ dataDir, actor: 'auditor' });
    try {
      const report = await h.check(false);
      expect(report.protectiveTriggers.missing).toEqual([]);
      expect(report.protectiveTriggers.restoredAtOpen).toEqual(['audit_log_no_delete', 'outputs_no_delete', 'reviews_no_update', 'runs_finished_are_final']);
      // The chain itself was not touched, and the restore is itself an audited, chained entry.
      expect(report.auditChain.ok).toBe(true);
      expect(report.ok).toBe(true);
    } finally {
      await h.close();
    }
    expect(triggerNames(dbFile)).toEqual(expect.arrayContaining(PROTECTIVE_TRIGGERS.map((t) => t.name)));
    const db = new Database(dbFile);
    try {
      expect(() => db.exec(`DELETE FROM audit_log WHERE seq = 1`)).toThrow(/append-only/);
      expect(() => db.exec(`UPDATE reviews SET decision = 'rejected'`)).toThrow(/append-only/);
      expect(() => db.exec(`UPDATE runs SET status = 'failed' WHERE run_id = 'r1'`)).toThrow(/finished run/);
      expect(() => db.exec(`DELETE FROM outputs WHERE output_id = 'o1'`)).toThrow(/cannot be deleted/);
      const entry = db.prepare(`SELECT actor, detail FROM audit_log WHERE action = 'store.triggers-restored'`).get() as { actor: string; detail: string };
      expect(entry.actor).toBe('auditor');
      expect(JSON.parse(entry.detail)).toEqual({ missing: ['audit_log_no_delete', 'reviews_no_update', 'runs_finished_are_final'], altered: ['outputs_no_delete'] });
    } finally {
      db.close();
    }
  });

  it('reports a protective trigger dropped while the store is open', async () => {
    const { dataDir, dbFile } = await seededStore();
    const h = await HistoryService.start({ dataDir, actor: 'auditor' });
    try {
      tamper(dbFile, `DROP TRIGGER artifacts_no_update;`);
      const report = await h.check(false);
      expect(report.ok).toBe(false);
      expect(report.protectiveTriggers.missing).toEqual(['artifacts_no_update']);
    } finally {
      await h.close();
    }
  });
});
