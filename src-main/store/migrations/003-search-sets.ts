import type { Migration } from './types';

/**
 * Search at 100,000 runs: the history list is ordered by "last activity" through an expression index
 * (no sort of every case per page), and each case carries the set of tasks and of run statuses it has,
 * as '|vqa|report|', kept by triggers, so the task and status filters read one row per case instead of
 * probing the runs index once per case. Existing rows are backfilled.
 */
export const migration003: Migration = {
  version: 3,
  name: 'search: activity-ordered index, per-case task and status sets',
  up(db) {
    db.exec(`
      CREATE INDEX cases_by_activity ON cases (coalesce(last_run_at, created_at) DESC, case_id);

      ALTER TABLE cases ADD COLUMN run_tasks TEXT NOT NULL DEFAULT '|';
      ALTER TABLE cases ADD COLUMN run_statuses TEXT NOT NULL DEFAULT '|';

      UPDATE cases SET
        run_tasks = '|' || coalesce((SELECT group_concat(task, '|') FROM (SELECT DISTINCT task FROM runs r WHERE r.case_id = cases.case_id ORDER BY task)) || '|', ''),
        run_statuses = '|'
          || CASE WHEN EXISTS (SELECT 1 FROM runs r WHERE r.status = 'running' AND r.case_id = cases.case_id) THEN 'running|' ELSE '' END
          || CASE WHEN EXISTS (SELECT 1 FROM runs r WHERE r.status = 'succeeded' AND r.case_id = cases.case_id) THEN 'succeeded|' ELSE '' END
          || CASE WHEN EXISTS (SELECT 1 FROM runs r WHERE r.status = 'failed' AND r.case_id = cases.case_id) THEN 'failed|' ELSE '' END
          || CASE WHEN EXISTS (SELECT 1 FROM runs r WHERE r.status = 'cancelled' AND r.case_id = cases.case_id) THEN 'cancelled|' ELSE '' END;

      CREATE TRIGGER runs_sets_insert AFTER INSERT ON runs BEGIN
        UPDATE cases SET
          run_tasks = CASE WHEN instr(run_tasks, '|' || NEW.task || '|') > 0 THEN run_tasks ELSE run_tasks || NEW.task || '|' END,
          run_statuses = CASE WHEN instr(run_statuses, '|' || NEW.status || '|') > 0 THEN run_statuses ELSE run_statuses || NEW.status || '|' END
        WHERE case_id = NEW.case_id;
      END;
      CREATE TRIGGER runs_sets_status AFTER UPDATE OF status ON runs BEGIN
        UPDATE cases SET run_statuses = '|'
          || CASE WHEN EXISTS (SELECT 1 FROM runs r WHERE r.status = 'running' AND r.case_id = NEW.case_id) THEN 'running|' ELSE '' END
          || CASE WHEN EXISTS (SELECT 1 FROM runs r WHERE r.status = 'succeeded' AND r.case_id = NEW.case_id) THEN 'succeeded|' ELSE '' END
          || CASE WHEN EXISTS (SELECT 1 FROM runs r WHERE r.status = 'failed' AND r.case_id = NEW.case_id) THEN 'failed|' ELSE '' END
          || CASE WHEN EXISTS (SELECT 1 FROM runs r WHERE r.status = 'cancelled' AND r.case_id = NEW.case_id) THEN 'cancelled|' ELSE '' END
        WHERE case_id = NEW.case_id;
      END;
    `);
  },
};
