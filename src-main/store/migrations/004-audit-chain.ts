import { AUDIT_CHAIN_GENESIS, auditRowHash, type AuditRowContent } from '../audit-chain';
import { all, run, sql } from '../sql';
import type { Migration } from './types';

/**
 * Tamper evidence that does not depend on triggers: every audit row gets `prev_hash` and `hash` (see
 * audit-chain.ts), and the rows already there are chained in seq order. The append-only trigger has to
 * step aside for that one back-fill; it is recreated, identical, in the same transaction.
 * Runs also record which process is writing them (`owner`, host:pid), so that an open can tell a run whose
 * process was killed from one another process (the CLI beside the app) is still writing.
 */
export const migration004: Migration = {
  version: 4,
  name: 'audit log hash chain, run owners',
  up(db) {
    db.exec(`
      ALTER TABLE audit_log ADD COLUMN prev_hash TEXT CHECK (prev_hash IS NULL OR length(prev_hash) = 64);
      ALTER TABLE audit_log ADD COLUMN hash TEXT CHECK (hash IS NULL OR length(hash) = 64);
      ALTER TABLE runs ADD COLUMN owner TEXT;
      DROP TRIGGER audit_log_no_update;
    `);
    let prevHash = AUDIT_CHAIN_GENESIS;
    for (const row of all<AuditRowContent>(db, sql`SELECT seq, at, actor, action, entity, entity_id, detail FROM audit_log ORDER BY seq`)) {
      const hash = auditRowHash(prevHash, row);
      run(db, sql`UPDATE audit_log SET prev_hash = ${prevHash}, hash = ${hash} WHERE seq = ${row.seq}`);
      prevHash = hash;
    }
    db.exec(`
      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be changed'); END;
    `);
  },
};
