import type { Migration } from './types';

/**
 * Search: indexes for the history panel's filters, and per-case summary columns (run count, last run,
 * last status, review state) kept by triggers, so listing and filtering 100,000 runs does not aggregate
 * the runs table for every case. Existing rows are backfilled.
 */
export const migration002: Migration = {
  version: 2,
  name: 'search indexes and case summary columns',
  up(db) {
    db.exec(`
      CREATE INDEX runs_by_case      ON runs (case_id, started_at);
      CREATE INDEX runs_by_task      ON runs (task, case_id);
      CREATE INDEX runs_by_status    ON runs (status, case_id);
      CREATE INDEX run_inputs_series ON run_inputs (series_id);
      CREATE INDEX studies_by_case   ON studies (case_id);
      CREATE INDEX studies_by_uid    ON studies (study_uid);
      CREATE INDEX studies_by_date   ON studies (study_date);
      CREATE INDEX series_by_study   ON series (study_id);
      CREATE INDEX outputs_by_run    ON outputs (run_id);
      CREATE INDEX output_artifacts_by_hash ON output_artifacts (hash);
      CREATE INDEX reviews_by_run    ON reviews (run_id, at);
      CREATE INDEX audit_by_entity   ON audit_log (entity, entity_id);
      CREATE INDEX cases_by_created  ON cases (created_at);
      CREATE INDEX cases_by_patient  ON cases (patient_id);

      ALTER TABLE cases ADD COLUMN run_count INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE cases ADD COLUMN last_run_at INTEGER;
      ALTER TABLE cases ADD COLUMN last_run_status TEXT;
      ALTER TABLE cases ADD COLUMN review_state TEXT NOT NULL DEFAULT 'unreviewed'
        CHECK (review_state IN ('unreviewed', 'accepted', 'rejected', 'edited'));

      UPDATE cases SET
        run_count = (SELECT count(*) FROM runs r WHERE r.case_id = cases.case_id),
        last_run_at = (SELECT max(started_at) FROM runs r WHERE r.case_id = cases.case_id),
        last_run_status = (SELECT status FROM runs r WHERE r.case_id = cases.case_id ORDER BY started_at DESC, rowid DESC LIMIT 1),
        review_state = coalesce((SELECT v.decision FROM reviews v JOIN runs r ON r.run_id = v.run_id
                                 WHERE r.case_id = cases.case_id ORDER BY v.at DESC, v.rowid DESC LIMIT 1), 'unreviewed');

      CREATE INDEX cases_by_last_run ON cases (last_run_at);

      CREATE TRIGGER runs_summary_insert AFTER INSERT ON runs BEGIN
        UPDATE cases SET run_count = run_count + 1,
          last_run_at = max(coalesce(last_run_at, NEW.started_at), NEW.started_at),
          last_run_status = CASE WHEN last_run_at IS NULL OR NEW.started_at >= last_run_at THEN NEW.status ELSE last_run_status END
        WHERE case_id = NEW.case_id;
      END;
      CREATE TRIGGER runs_summary_status AFTER UPDATE OF status ON runs BEGIN
        UPDATE cases SET last_run_status = NEW.status
        WHERE case_id = NEW.case_id AND last_run_at = NEW.started_at;
      END;
      CREATE TRIGGER reviews_summary_insert AFTER INSERT ON reviews BEGIN
        UPDATE cases SET review_state = NEW.decision
        WHERE case_id = (SELECT case_id FROM runs WHERE run_id = NEW.run_id);
      END;
    `);
  },
};
