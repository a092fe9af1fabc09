import type Database from 'better-sqlite3';
import { verifyAuditChain, type AuditChainReport } from './audit-chain';
import { protectiveTriggerProblems } from './protective-triggers';
import { all, sql } from './sql';

export interface StoreCheckRows {
  auditChain: AuditChainReport;
  /** Protective triggers absent or not as the app defines them, right now. */
  triggersMissing: string[];
  /** Runs marked interrupted at an open (audit action 'run.interrupted'), oldest first. */
  interruptedRuns: Array<{ runId: string; at: number; removedFiles: number }>;
  /** Folders that generated series were recorded in. */
  generatedLocations: string[];
  /** Runs being written now: their generated folders are not referenced yet. */
  runningRunIds: string[];
}

/** The database side of `check` beyond integrity_check: runs in the SQL worker. */
export function storeCheckRows(db: Database.Database): StoreCheckRows {
  const triggers = protectiveTriggerProblems(db);
  const interrupted = all<{ entity_id: string; at: number; detail: string }>(
    db,
    sql`SELECT entity_id, at, detail FROM audit_log WHERE action = 'run.interrupted' ORDER BY seq`,
  ).map((r) => {
    const detail = JSON.parse(r.detail) as { filesRemoved?: unknown[] };
    return { runId: r.entity_id, at: r.at, removedFiles: Array.isArray(detail.filesRemoved) ? detail.filesRemoved.length : 0 };
  });
  return {
    auditChain: verifyAuditChain(db),
    triggersMissing: [...triggers.missing, ...triggers.altered].sort(),
    interruptedRuns: interrupted,
    generatedLocations: all<{ location: string }>(db, sql`SELECT DISTINCT location FROM series WHERE generated = 1 AND location IS NOT NULL`).map((r) => r.location),
    runningRunIds: all<{ run_id: string }>(db, sql`SELECT run_id FROM runs WHERE status = 'running'`).map((r) => r.run_id),
  };
}
