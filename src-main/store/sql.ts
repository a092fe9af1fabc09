import type Database from 'better-sqlite3';

/** A value SQLite can bind. */
export type SqlValue = string | number | bigint | Buffer | Uint8Array | null;

const SQL_BRAND = Symbol('sql');

/**
 * A query with its bound values. It can only be made by the `sql` tag, so the text of every query is a
 * literal written in this source tree and every interpolated value becomes a `?` parameter: there is no
 * way to splice a string into SQL.
 */
export interface SqlQuery {
  readonly [SQL_BRAND]: true;
  readonly text: string;
  readonly values: readonly SqlValue[];
}

function isQuery(v: unknown): v is SqlQuery {
  return typeof v === 'object' && v !== null && (v as { [SQL_BRAND]?: boolean })[SQL_BRAND] === true;
}

function checkValue(v: unknown): SqlValue {
  if (v === undefined) throw new TypeError('sql: undefined cannot be bound (use null)');
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || v instanceof Uint8Array) return v;
  throw new TypeError(`sql: a ${typeof v} cannot be bound; convert it first (JSON.stringify for objects)`);
}

/**
 * Tagged template: `sql\`SELECT * FROM runs WHERE run_id = ${id}\`` → text "… = ?" and values [id].
 * A nested `sql` fragment is spliced in with its own values (for optional WHERE clauses); an array of
 * values becomes `(?, ?, …)`.
 */
export function sql(strings: TemplateStringsArray, ...params: Array<SqlValue | boolean | SqlQuery | readonly SqlValue[]>): SqlQuery {
  let text = strings[0] ?? '';
  const values: SqlValue[] = [];
  params.forEach((p, i) => {
    if (isQuery(p)) {
      text += p.text;
      values.push(...p.values);
    } else if (Array.isArray(p)) {
      if (p.length === 0) throw new TypeError('sql: an empty list cannot be bound');
      text += `(${p.map(() => '?').join(', ')})`;
      for (const v of p) values.push(checkValue(v));
    } else {
      text += '?';
      values.push(checkValue(p));
    }
    text += strings[i + 1] ?? '';
  });
  return { [SQL_BRAND]: true, text, values };
}

/** Joins fragments with a separator written as a literal fragment (e.g. sql` AND `). */
export function sqlJoin(parts: readonly SqlQuery[], separator: SqlQuery): SqlQuery {
  if (separator.values.length) throw new TypeError('sql: a separator cannot carry values');
  return {
    [SQL_BRAND]: true,
    text: parts.map((p) => p.text).join(separator.text),
    values: parts.flatMap((p) => p.values),
  };
}

/** Statements are prepared once per connection and text. */
const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

function prepare(db: Database.Database, q: SqlQuery): Database.Statement {
  if (!isQuery(q)) throw new TypeError('sql: only queries made with the sql tag can run');
  let byText = cache.get(db);
  if (!byText) cache.set(db, (byText = new Map()));
  let stmt = byText.get(q.text);
  if (!stmt) {
    stmt = db.prepare(q.text);
    byText.set(q.text, stmt);
  }
  return stmt;
}

export function all<T>(db: Database.Database, q: SqlQuery): T[] {
  return prepare(db, q).all(...q.values) as T[];
}

export function get<T>(db: Database.Database, q: SqlQuery): T | undefined {
  return prepare(db, q).get(...q.values) as T | undefined;
}

/** Rows one at a time, for scans of whole tables (the audit chain check) that must not be held in memory. */
export function iterate<T>(db: Database.Database, q: SqlQuery): IterableIterator<T> {
  return prepare(db, q).iterate(...q.values) as IterableIterator<T>;
}

export function run(db: Database.Database, q: SqlQuery): Database.RunResult {
  return prepare(db, q).run(...q.values);
}

/** The statement cache must be dropped when a connection closes. */
export function forgetStatements(db: Database.Database): void {
  cache.delete(db);
}
