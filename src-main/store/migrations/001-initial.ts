import type { Migration } from './types';

/**
 * The initial schema. Every table is STRICT; times are milliseconds since the epoch (UTC); JSON columns
 * hold objects written by the store itself. Records that are evidence (runs once finished, outputs, their
 * artifacts, reviews, the audit log) cannot be changed or deleted: triggers refuse it.
 */
export const migration001: Migration = {
  version: 1,
  name: 'initial schema: studies, series, cases, runs, outputs, artifacts, reviews, audit log',
  up(db) {
    db.exec(`
      CREATE TABLE cases (
        case_id      TEXT PRIMARY KEY,
        title        TEXT,
        patient_id   TEXT,
        patient_name TEXT,
        created_at   INTEGER NOT NULL,
        created_by   TEXT NOT NULL
      ) STRICT;

      CREATE TABLE studies (
        study_id    TEXT PRIMARY KEY,
        case_id     TEXT NOT NULL REFERENCES cases(case_id),
        study_uid   TEXT NOT NULL,
        study_date  TEXT,
        description TEXT,
        accession   TEXT,
        UNIQUE (case_id, study_uid)
      ) STRICT;

      CREATE TABLE series (
        series_id      TEXT PRIMARY KEY,
        study_id       TEXT NOT NULL REFERENCES studies(study_id),
        series_uid     TEXT NOT NULL,
        modality       TEXT,
        description    TEXT,
        instance_count INTEGER NOT NULL DEFAULT 0,
        location       TEXT,
        content_hash   TEXT,
        generated      INTEGER NOT NULL DEFAULT 0 CHECK (generated IN (0, 1)),
        UNIQUE (study_id, series_uid)
      ) STRICT;

      CREATE TABLE artifacts (
        hash       TEXT PRIMARY KEY CHECK (length(hash) = 64),
        size       INTEGER NOT NULL CHECK (size >= 0),
        media_type TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE runs (
        run_id             TEXT PRIMARY KEY,
        case_id            TEXT NOT NULL REFERENCES cases(case_id),
        task               TEXT NOT NULL,
        prompt             TEXT NOT NULL,
        pack_id            TEXT NOT NULL,
        pack_hash          TEXT NOT NULL,
        plugin             TEXT,
        execution_provider TEXT NOT NULL,
        params             TEXT NOT NULL DEFAULT '{}',
        seed               INTEGER,
        started_at         INTEGER NOT NULL,
        ended_at           INTEGER,
        status             TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
        error              TEXT,
        timing             TEXT NOT NULL DEFAULT '{}',
        recorded_by        TEXT NOT NULL
      ) STRICT;

      CREATE TABLE run_inputs (
        run_id    TEXT NOT NULL REFERENCES runs(run_id),
        series_id TEXT NOT NULL REFERENCES series(series_id),
        PRIMARY KEY (run_id, series_id)
      ) STRICT;

      CREATE TABLE outputs (
        output_id  TEXT PRIMARY KEY,
        run_id     TEXT NOT NULL REFERENCES runs(run_id),
        kind       TEXT NOT NULL CHECK (kind IN ('text', 'image', 'series', 'file')),
        label      TEXT,
        text       TEXT,
        series_id  TEXT REFERENCES series(series_id),
        created_at INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE output_artifacts (
        output_id TEXT NOT NULL REFERENCES outputs(output_id),
        ordinal   INTEGER NOT NULL,
        hash      TEXT NOT NULL REFERENCES artifacts(hash),
        name      TEXT NOT NULL,
        PRIMARY KEY (output_id, ordinal)
      ) STRICT;

      CREATE TABLE reviews (
        review_id   TEXT PRIMARY KEY,
        run_id      TEXT NOT NULL REFERENCES runs(run_id),
        decision    TEXT NOT NULL CHECK (decision IN ('accepted', 'rejected', 'edited')),
        reviewer    TEXT NOT NULL,
        at          INTEGER NOT NULL,
        comment     TEXT,
        edited_text TEXT
      ) STRICT;

      CREATE TABLE audit_log (
        seq       INTEGER PRIMARY KEY AUTOINCREMENT,
        at        INTEGER NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        entity    TEXT NOT NULL,
        entity_id TEXT,
        detail    TEXT NOT NULL DEFAULT '{}'
      ) STRICT;

      CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be changed'); END;
      CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be deleted'); END;

      CREATE TRIGGER reviews_no_update BEFORE UPDATE ON reviews
        BEGIN SELECT RAISE(ABORT, 'reviews are append-only: record a new review instead'); END;
      CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews
        BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END;

      CREATE TRIGGER runs_finished_are_final BEFORE UPDATE ON runs WHEN OLD.status <> 'running'
        BEGIN SELECT RAISE(ABORT, 'a finished run cannot be changed'); END;
      CREATE TRIGGER runs_no_delete BEFORE DELETE ON runs
        BEGIN SELECT RAISE(ABORT, 'runs cannot be deleted'); END;
      CREATE TRIGGER outputs_no_update BEFORE UPDATE ON outputs
        BEGIN SELECT RAISE(ABORT, 'outputs cannot be changed'); END;
      CREATE TRIGGER outputs_no_delete BEFORE DELETE ON outputs
        BEGIN SELECT RAISE(ABORT, 'outputs cannot be deleted'); END;
      CREATE TRIGGER output_artifacts_no_update BEFORE UPDATE ON output_artifacts
        BEGIN SELECT RAISE(ABORT, 'output artifacts cannot be changed'); END;
      CREATE TRIGGER output_artifacts_no_delete BEFORE DELETE ON output_artifacts
        BEGIN SELECT RAISE(ABORT, 'output artifacts cannot be deleted'); END;
      CREATE TRIGGER artifacts_no_update BEFORE UPDATE ON artifacts
        BEGIN SELECT RAISE(ABORT, 'artifacts are content-addressed and cannot be changed'); END;
    `);
  },
};
