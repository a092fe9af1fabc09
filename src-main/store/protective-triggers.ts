import type Database from 'better-sqlite3';
import { all, run, sql, type SqlQuery } from './sql';

/**
 * The triggers that make evidence immutable (migration 1): the audit log and reviews are append-only,
 * finished runs are final, outputs and their artifacts can be neither changed nor deleted. Anyone who
 * can write the file can drop them, so every open compares them with these definitions and puts back
 * what is missing or different; `check` reports any that are gone while the store is open. Each text
 * is exactly the one migration 1 created (that step is never edited), so an intact store compares equal.
 */
export interface ProtectiveTrigger {
  readonly name: string;
  readonly create: SqlQuery;
  readonly drop: SqlQuery;
}

export const PROTECTIVE_TRIGGERS: readonly ProtectiveTrigger[] = [
  {
    name: 'audit_log_no_update',
    create: sql`CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be changed'); END`,
    drop: sql`DROP TRIGGER IF EXISTS audit_log_no_update`,
  },
  {
    name: 'audit_log_no_delete',
    create: sql`CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: rows cannot be deleted'); END`,
    drop: sql`DROP TRIGGER IF EXISTS audit_log_no_delete`,
  },
  {
    name: 'reviews_no_update',
    create: sql`CREATE TRIGGER reviews_no_update BEFORE UPDATE ON reviews
        BEGIN SELECT RAISE(ABORT, 'reviews are append-only: record a new review instead'); END`,
    drop: sql`DROP TRIGGER IF EXISTS reviews_no_update`,
  },
  {
    name: 'reviews_no_delete',
    create: sql`CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews
        BEGIN SELECT RAISE(ABORT, 'reviews are append-only'); END`,
    drop: sql`DROP TRIGGER IF EXISTS reviews_no_delete`,
  },
  {
    name: 'runs_finished_are_final',
    create: sql`CREATE TRIGGER runs_finished_are_final BEFORE UPDATE ON runs WHEN OLD.status <> 'running'
        BEGIN SELECT RAISE(ABORT, 'a finished run cannot be changed'); END`,
    drop: sql`DROP TRIGGER IF EXISTS runs_finished_are_final`,
  },
  {
    name: 'runs_no_delete',
    create: sql`CREATE TRIGGER runs_no_delete BEFORE DELETE ON runs
        BEGIN SELECT RAISE(ABORT, 'runs cannot be deleted'); END`,
    drop: sql`DROP TRIGGER IF EXISTS runs_no_delete`,
  },
  {
    name: 'outputs_no_update',
    create: sql`CREATE TRIGGER outputs_no_update BEFORE UPDATE ON outputs
        BEGIN SELECT RAISE(ABORT, 'outputs cannot be changed'); END`,
    drop: sql`DROP TRIGGER IF EXISTS outputs_no_update`,
  },
  {
    name: 'outputs_no_delete',
    create: sql`CREATE TRIGGER outputs_no_delete BEFORE DELETE ON outputs
        BEGIN SELECT RAISE(ABORT, 'outputs cannot be deleted'); END`,
    drop: sql`DROP TRIGGER IF EXISTS outputs_no_delete`,
  },
  {
    name: 'output_artifacts_no_update',
    create: sql`CREATE TRIGGER output_artifacts_no_update BEFORE UPDATE ON output_artifacts
        BEGIN SELECT RAISE(ABORT, 'output artifacts cannot be changed'); END`,
    drop: sql`DROP TRIGGER IF EXISTS output_artifacts_no_update`,
  },
  {
    name: 'output_artifacts_no_delete',
    create: sql`CREATE TRIGGER output_artifacts_no_delete BEFORE DELETE ON output_artifacts
        BEGIN SELECT RAISE(ABORT, 'output artifacts cannot be deleted'); END`,
    drop: sql`DROP TRIGGER IF EXISTS output_artifacts_no_delete`,
  },
  {
    name: 'artifacts_no_update',
    create: sql`CREATE TRIGGER artifacts_no_update BEFORE UPDATE ON artifacts
        BEGIN SELECT RAISE(ABORT, 'artifacts are content-addressed and cannot be changed'); END`,
    drop: sql`DROP TRIGGER IF EXISTS artifacts_no_update`,
  },
];

/** Whitespace differs between how a statement was written and how it is compared; nothing else may. */
function normalized(text: string): string {
  return text.replace(/\s+/g, ' ').trim().replace(/;$/, '');
}

/** The protective triggers that are absent, and those present under their name with another definition. */
export function protectiveTriggerProblems(db: Database.Database): { missing: string[]; altered: string[] } {
  const present = new Map(
    all<{ name: string; sql: string | null }>(db, sql`SELECT name, sql FROM sqlite_schema WHERE type = 'trigger'`).map((r) => [r.name, r.sql ?? '']),
  );
  const missing: string[] = [];
  const altered: string[] = [];
  for (const t of PROTECTIVE_TRIGGERS) {
    const found = present.get(t.name);
    if (found === undefined) missing.push(t.name);
    else if (normalized(found) !== normalized(t.create.text)) altered.push(t.name);
  }
  return { missing, altered };
}

/** Recreates every missing or altered protective trigger; runs inside the caller's transaction. */
export function restoreProtectiveTriggers(db: Database.Database): { missing: string[]; altered: string[] } {
  const problems = protectiveTriggerProblems(db);
  const broken = new Set([...problems.missing, ...problems.altered]);
  for (const t of PROTECTIVE_TRIGGERS) {
    if (!broken.has(t.name)) continue;
    run(db, t.drop);
    run(db, t.create);
  }
  return problems;
}
