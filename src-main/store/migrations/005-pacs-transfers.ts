import type { Migration } from './types';

/**
 * The case history's record of PACS transfers: one row per retrieve or send (node, protocol, study and
 * series, instances, bytes, outcome), so what came from or went to which PACS, when and how completely,
 * stays known after the files are moved or exported. Rows are only added, like the audit log.
 */
export const migration005: Migration = {
  version: 5,
  name: 'PACS transfers',
  up(db) {
    db.exec(`
      CREATE TABLE pacs_transfers (
        transfer_id  TEXT PRIMARY KEY,
        direction    TEXT NOT NULL CHECK (direction IN ('retrieve', 'send')),
        node         TEXT NOT NULL,
        protocol     TEXT NOT NULL CHECK (protocol IN ('dicomweb', 'dimse')),
        study_uid    TEXT,
        series_uids  TEXT NOT NULL DEFAULT '[]',
        instances    INTEGER NOT NULL CHECK (instances >= 0),
        bytes        INTEGER NOT NULL CHECK (bytes >= 0),
        outcome      TEXT NOT NULL CHECK (outcome IN ('complete', 'partial', 'failed', 'cancelled')),
        message      TEXT,
        started_at   INTEGER NOT NULL,
        finished_at  INTEGER NOT NULL CHECK (finished_at >= started_at),
        actor        TEXT NOT NULL
      );
      CREATE INDEX pacs_transfers_study ON pacs_transfers (study_uid, started_at);
      CREATE TRIGGER pacs_transfers_no_update BEFORE UPDATE ON pacs_transfers
        BEGIN SELECT RAISE(ABORT, 'pacs_transfers is append-only: rows cannot be changed'); END;
      CREATE TRIGGER pacs_transfers_no_delete BEFORE DELETE ON pacs_transfers
        BEGIN SELECT RAISE(ABORT, 'pacs_transfers is append-only: rows cannot be removed'); END;
    `);
  },
};
