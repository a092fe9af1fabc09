import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { get, iterate, sql } from './sql';

/**
 * The audit log as a hash chain (migration 4): each row stores the previous row's hash (`prev_hash`) and
 * its own `hash` = sha256(prev_hash, seq, at, actor, action, entity, entity_id, detail). Changing a row
 * breaks its own hash; removing one breaks the link of the row after it; removing the newest rows leaves
 * the AUTOINCREMENT counter ahead of the last row. The triggers stop accidents and the app; the chain
 * makes a change visible even after someone with the file dropped them. Someone who rewrites the whole
 * chain after a change is not detected by the file alone: the policy's audit copy (auditLogPath), kept
 * elsewhere, is the outside reference for that.
 */
export const AUDIT_CHAIN_GENESIS = '0'.repeat(64);

export interface AuditRowContent {
  seq: number;
  at: number;
  actor: string;
  action: string;
  entity: string;
  entity_id: string | null;
  detail: string;
}

export function auditRowHash(prevHash: string, row: AuditRowContent): string {
  const content = JSON.stringify([row.seq, row.at, row.actor, row.action, row.entity, row.entity_id, row.detail]);
  return createHash('sha256').update(prevHash).update('\n').update(content).digest('hex');
}

/**
 * The seq and previous hash for the next row. Called inside the writing transaction (BEGIN IMMEDIATE),
 * so no other connection can append in between. seq is chosen here, not by AUTOINCREMENT, because the
 * hash covers it; it still never reuses a number AUTOINCREMENT has handed out.
 */
export function nextAuditLink(db: Database.Database): { seq: number; prevHash: string } {
  const last = get<{ seq: number; hash: string | null }>(db, sql`SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`);
  const counter = get<{ seq: number }>(db, sql`SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'`)?.seq ?? 0;
  return { seq: Math.max(last?.seq ?? 0, counter) + 1, prevHash: last?.hash ?? AUDIT_CHAIN_GENESIS };
}

export interface AuditChainReport {
  entries: number;
  ok: boolean;
  /** The first row whose hash or link does not hold (null when the chain is whole). */
  firstBrokenSeq: number | null;
  problem: string | null;
}

/** Recomputes the chain from the first row; stops at the first broken link. */
export function verifyAuditChain(db: Database.Database): AuditChainReport {
  let entries = 0;
  let prev: { seq: number; hash: string } | null = null;
  const broken = (seq: number, problem: string): AuditChainReport => ({ entries, ok: false, firstBrokenSeq: seq, problem });
  for (const row of iterate<AuditRowContent & { prev_hash: string | null; hash: string | null }>(
    db,
    sql`SELECT seq, at, actor, action, entity, entity_id, detail, prev_hash, hash FROM audit_log ORDER BY seq`,
  )) {
    entries += 1;
    const expectedPrev = prev?.hash ?? AUDIT_CHAIN_GENESIS;
    if (row.hash === null || row.prev_hash === null) return broken(row.seq, `audit entry ${row.seq} has no hash: it was added without the app.`);
    if (prev && row.seq !== prev.seq + 1) {
      const gone = row.seq - prev.seq === 2 ? `entry ${prev.seq + 1} was` : `entries ${prev.seq + 1} to ${row.seq - 1} were`;
      return broken(row.seq, `audit entry ${row.seq} does not follow entry ${prev.seq}: ${gone} removed after being written.`);
    }
    if (row.prev_hash !== expectedPrev) {
      return broken(row.seq, prev ? `audit entry ${row.seq} does not follow entry ${prev.seq}: an entry between them was removed or changed.` : `audit entry ${row.seq} does not start the chain: earlier entries were removed.`);
    }
    if (auditRowHash(row.prev_hash, row) !== row.hash) return broken(row.seq, `audit entry ${row.seq} was changed after it was written (its hash no longer matches).`);
    prev = { seq: row.seq, hash: row.hash };
  }
  const counter = get<{ seq: number }>(db, sql`SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'`)?.seq ?? 0;
  const last = prev?.seq ?? 0;
  if (counter > last) {
    const n = counter - last;
    return broken(last + 1, `${n} audit ${n === 1 ? 'entry was' : 'entries were'} removed from the end of the log (entries ${last + 1} to ${counter}).`);
  }
  return { entries, ok: true, firstBrokenSeq: null, problem: null };
}
