import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { HistoryDb } from './history-db';
import { restoreProtectiveTriggers } from './protective-triggers';
import { runOwnerAlive } from './run-owner';
import { all, run, sql } from './sql';

/**
 * What every open puts right before the store is used, each repair in one transaction with the audit
 * entry that says what was done (so the log shows it, chained like every other entry).
 */

/** Missing or altered protective triggers are recreated; audited as 'store.triggers-restored'. */
export function restoreTriggersAtOpen(history: HistoryDb): string[] {
  let restored: string[] = [];
  history.repairWithAudit(() => {
    const { missing, altered } = restoreProtectiveTriggers(history.db);
    restored = [...missing, ...altered].sort();
    return restored.length ? { action: 'store.triggers-restored', entity: 'store', entityId: null, detail: { missing, altered } } : null;
  });
  return restored;
}

export interface GeneratedFileRecord {
  name: string;
  size: number;
  sha256: string;
}

/** The files a run left in its generated folder (none when there is no folder). */
function filesIn(folder: string): GeneratedFileRecord[] {
  let names: string[];
  try {
    names = readdirSync(folder).sort();
  } catch {
    return [];
  }
  return names.map((name) => {
    const bytes = readFileSync(path.join(folder, name));
    return { name, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  });
}

export const INTERRUPTED_RUN_ERROR =
  'Interrupted: the program recording this run ended (killed or crashed) before the run finished. ' +
  'Any partial generated files it left were removed; its audit entry lists them.';

/**
 * Runs left 'running' by a process that is gone (kill -9, crash, power loss) are marked failed with
 * INTERRUPTED_RUN_ERROR, audited as 'run.interrupted', and their partial generated DICOM files
 * (<generatedDir>/<runId>/, holding patient data, never recorded as an output) are removed. The audit
 * entry names each removed file with its size and sha256, and is committed before the files go: a crash
 * in between leaves the folder, which `check` then reports as unreferenced. The status stays within the
 * schema's set ('failed'); the audit action is what marks a run as interrupted. The update is allowed by
 * the trigger runs_finished_are_final because the row is still 'running'; from then on it is final.
 */
export function recoverInterruptedRuns(history: HistoryDb, generatedDir: string | null): Array<{ runId: string; removedFiles: number }> {
  const recovered: Array<{ runId: string; removedFiles: number }> = [];
  const running = all<{ run_id: string; owner: string | null }>(history.db, sql`SELECT run_id, owner FROM runs WHERE status = 'running' ORDER BY started_at, rowid`);
  for (const r of running) {
    if (runOwnerAlive(r.owner)) continue;
    const folder = generatedDir ? path.join(generatedDir, r.run_id) : null;
    // A run id is ours (run-<uuid>), but it came from a file: never let it name a folder outside generated/.
    const safeFolder = folder && path.dirname(folder) === generatedDir ? folder : null;
    const files = safeFolder ? filesIn(safeFolder) : [];
    const entry = history.repairWithAudit(() => {
      const changed = run(
        history.db,
        sql`UPDATE runs SET status = 'failed', ended_at = ${Date.now()}, error = ${INTERRUPTED_RUN_ERROR}
            WHERE run_id = ${r.run_id} AND status = 'running'`,
      ).changes;
      if (changed !== 1) return null; // finished meanwhile by its writer
      return {
        action: 'run.interrupted',
        entity: 'run',
        entityId: r.run_id,
        detail: { owner: r.owner, generatedFolder: files.length ? safeFolder : null, filesRemoved: files },
      };
    });
    if (!entry) continue;
    if (safeFolder) rmSync(safeFolder, { recursive: true, force: true });
    recovered.push({ runId: r.run_id, removedFiles: files.length });
  }
  return recovered;
}
