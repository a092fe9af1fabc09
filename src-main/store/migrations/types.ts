import type Database from 'better-sqlite3';

/**
 * One schema step. `up` runs inside the transaction the runner opens (with user_version set in the same
 * transaction), so a step is applied completely or not at all. Steps only ever go up: there is no down.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: Database.Database): void;
}
