import Database from 'better-sqlite3';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { all, get, run, sql, sqlJoin } from '../../../src-main/store/sql';
import { REPO_ROOT } from './helpers/store-helpers';

describe('sql tag: every value is bound', () => {
  it('turns interpolations into ? parameters and keeps values out of the text', () => {
    const hostile = "x'); DROP TABLE t; --";
    const q = sql`SELECT * FROM t WHERE a = ${hostile} AND b IN ${[1, 2, 3]} AND c = ${null}`;
    expect(q.text).toBe('SELECT * FROM t WHERE a = ? AND b IN (?, ?, ?) AND c = ?');
    expect(q.values).toEqual([hostile, 1, 2, 3, null]);
    expect(q.text).not.toContain('DROP');
  });

  it('stores an injection attempt as plain data', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (a TEXT)');
    const hostile = "'); DROP TABLE t; --";
    run(db, sql`INSERT INTO t (a) VALUES (${hostile})`);
    expect(all<{ a: string }>(db, sql`SELECT a FROM t`)).toEqual([{ a: hostile }]);
    expect(get<{ n: number }>(db, sql`SELECT count(*) AS n FROM sqlite_schema WHERE name = ${'t'}`)?.n).toBe(1);
  });

  it('composes fragments with their values in order', () => {
    const parts = [sql`a = ${1}`, sql`b = ${'two'}`];
    const q = sql`SELECT 1 WHERE ${sqlJoin(parts, sql` AND `)} LIMIT ${5}`;
    expect(q.text).toBe('SELECT 1 WHERE a = ? AND b = ? LIMIT ?');
    expect(q.values).toEqual([1, 'two', 5]);
  });

  it('refuses values that cannot be bound, and hand-made query objects', () => {
    expect(() => sql`SELECT ${undefined as unknown as null}`).toThrow(/undefined/);
    expect(() => sql`SELECT ${{ a: 1 } as unknown as string}`).toThrow(/cannot be bound/);
    expect(() => sql`SELECT 1 WHERE a IN ${[]}`).toThrow(/empty list/);
    const db = new Database(':memory:');
    expect(() => all(db, { text: 'SELECT 1', values: [] } as unknown as ReturnType<typeof sql>)).toThrow(/sql tag/);
  });

  it('finds no SQL built from strings anywhere in the store', () => {
    const dir = path.join(REPO_ROOT, 'src-main', 'store');
    const files: string[] = [];
    const walk = (d: string) => {
      for (const n of readdirSync(d)) {
        const p = path.join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk(dir);
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      // Statements are prepared only by sql.ts, from SqlQuery objects.
      if (!f.endsWith(`${path.sep}sql.ts`)) expect(text, f).not.toMatch(/\.prepare\(/);
      // exec() only with a plain literal (migrations' DDL): never a template with ${…}.
      for (const m of text.matchAll(/\.exec\(\s*`([^`]*)`/g)) expect(m[1], f).not.toContain('${');
      expect(text, f).not.toMatch(/\.exec\(\s*[^`\s]/);
      // PRAGMA strings with interpolation are limited to integers computed in database.ts.
      for (const m of text.matchAll(/pragma\(`([^`]*)`\)/g)) {
        expect(path.basename(f), m[0]).toBe('database.ts');
        expect(m[1]).toMatch(/^\w+ = \$\{(busy|m\.version|Math\.trunc\(options\.maxPageCount\))\}$/);
      }
    }
  });
});
