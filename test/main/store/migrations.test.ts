import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { verifyAuditChain } from '../../../src-main/store/audit-chain';
import { migrate, StoreRefusedError } from '../../../src-main/store/database';
import { HistoryDb } from '../../../src-main/store/history-db';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../../src-main/store/migrations';

function memory(): Database.Database {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  return db;
}

const version = (db: Database.Database) => db.pragma('user_version', { simple: true }) as number;
const tables = (db: Database.Database) =>
  (db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`).all() as Array<{ name: string }>).map((r) => r.name);
const columns = (db: Database.Database, table: string) => (db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as Array<{ name: string }>).map((r) => r.name);
const indexes = (db: Database.Database) =>
  (db.prepare(`SELECT name FROM sqlite_schema WHERE type = 'index' AND name NOT LIKE 'sqlite_%'`).all() as Array<{ name: string }>).map((r) => r.name);

/** Rows written with plain SQL at schema 1, as a v1 app would have left them. */
function seedV1(db: Database.Database): void {
  db.exec(`
    INSERT INTO cases (case_id, title, patient_id, patient_name, created_at, created_by) VALUES
      ('c1', 'first', 'P1', 'Doe^Jane', 1000, 'u'), ('c2', NULL, 'P2', 'Roe^Rick', 2000, 'u'), ('c3', NULL, NULL, NULL, 3000, 'u');
    INSERT INTO studies (study_id, case_id, study_uid, study_date) VALUES ('s1', 'c1', '1.2.3', '2025-05-01');
    INSERT INTO runs (run_id, case_id, task, prompt, pack_id, pack_hash, execution_provider, started_at, status, recorded_by) VALUES
      ('r1', 'c1', 'vqa', 'q', 'p', 'h', 'cpu', 10, 'succeeded', 'u'),
      ('r2', 'c1', 'sr', 'q', 'p', 'h', 'cpu', 20, 'failed', 'u'),
      ('r3', 'c2', 'vqa', 'q', 'p', 'h', 'cpu', 5, 'succeeded', 'u');
    INSERT INTO reviews (review_id, run_id, decision, reviewer, at) VALUES
      ('v1', 'r1', 'accepted', 'a', 100), ('v2', 'r2', 'rejected', 'b', 200);
  `);
}

describe('migration registry', () => {
  it('numbers migrations 1..N without gaps, the latest being the app schema', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(LATEST_SCHEMA_VERSION).toBe(MIGRATIONS.length);
  });
});

describe('migration 1 (from an empty database)', () => {
  it('creates every table and sets user_version 1', () => {
    const db = memory();
    expect(migrate(db, 1)).toEqual({ from: 0, to: 1 });
    expect(version(db)).toBe(1);
    expect(tables(db)).toEqual(['artifacts', 'audit_log', 'cases', 'output_artifacts', 'outputs', 'reviews', 'run_inputs', 'runs', 'series', 'studies'].sort());
  });

  it('forbids UPDATE and DELETE on the audit log and on reviews, and changes to finished runs', () => {
    const db = memory();
    migrate(db, 1);
    seedV1(db);
    db.exec(`INSERT INTO audit_log (at, actor, action, entity) VALUES (1, 'u', 'x', 'case')`);
    expect(() => db.exec(`UPDATE audit_log SET actor = 'mallory'`)).toThrow(/append-only/);
    expect(() => db.exec(`DELETE FROM audit_log`)).toThrow(/append-only/);
    expect(() => db.exec(`UPDATE reviews SET decision = 'accepted' WHERE review_id = 'v2'`)).toThrow(/append-only/);
    expect(() => db.exec(`DELETE FROM reviews`)).toThrow(/append-only/);
    expect(() => db.exec(`UPDATE runs SET status = 'succeeded' WHERE run_id = 'r2'`)).toThrow(/finished run/);
    expect(() => db.exec(`DELETE FROM runs WHERE run_id = 'r3'`)).toThrow(/cannot be deleted/);
    expect((db.prepare('SELECT count(*) AS n FROM audit_log').get() as { n: number }).n).toBe(1);
  });

  it('enforces foreign keys and value checks', () => {
    const db = memory();
    migrate(db, 1);
    expect(() => db.exec(`INSERT INTO runs (run_id, case_id, task, prompt, pack_id, pack_hash, execution_provider, started_at, status, recorded_by)
                          VALUES ('x', 'no-such-case', 't', 'p', 'p', 'h', 'cpu', 1, 'succeeded', 'u')`)).toThrow(/FOREIGN KEY/);
    db.exec(`INSERT INTO cases (case_id, created_at, created_by) VALUES ('c', 1, 'u')`);
    expect(() => db.exec(`INSERT INTO runs (run_id, case_id, task, prompt, pack_id, pack_hash, execution_provider, started_at, status, recorded_by)
                          VALUES ('x', 'c', 't', 'p', 'p', 'h', 'cpu', 1, 'exploded', 'u')`)).toThrow(/CHECK/);
  });
});

describe('migration 2 (from schema 1 with data)', () => {
  it('adds the search indexes and backfills each case summary from its runs and reviews', () => {
    const db = memory();
    migrate(db, 1);
    seedV1(db);
    expect(migrate(db, 2)).toEqual({ from: 1, to: 2 });
    expect(columns(db, 'cases')).toEqual(expect.arrayContaining(['run_count', 'last_run_at', 'last_run_status', 'review_state']));
    expect(indexes(db)).toEqual(expect.arrayContaining(['runs_by_case', 'runs_by_task', 'studies_by_uid', 'cases_by_last_run']));
    const rows = db.prepare('SELECT case_id, run_count, last_run_at, last_run_status, review_state FROM cases ORDER BY case_id').all();
    expect(rows).toEqual([
      { case_id: 'c1', run_count: 2, last_run_at: 20, last_run_status: 'failed', review_state: 'rejected' },
      { case_id: 'c2', run_count: 1, last_run_at: 5, last_run_status: 'succeeded', review_state: 'unreviewed' },
      { case_id: 'c3', run_count: 0, last_run_at: null, last_run_status: null, review_state: 'unreviewed' },
    ]);
    // The summary triggers keep it current afterwards (the app's writer needs the latest schema).
    migrate(db);
    const h = new HistoryDb(db, 'tester', () => 50);
    h.recordRun({ runId: 'r4', caseId: 'c3', task: 'vqa', prompt: 'p', packId: 'p', packHash: 'h', executionProvider: 'cpu', startedAt: 40 });
    h.finishRun({ runId: 'r4', status: 'cancelled', endedAt: 45 });
    h.recordReview({ reviewId: 'v3', runId: 'r4', decision: 'edited', editedText: 'better' });
    expect(db.prepare(`SELECT run_count, last_run_at, last_run_status, review_state FROM cases WHERE case_id = 'c3'`).get()).toEqual({
      run_count: 1,
      last_run_at: 40,
      last_run_status: 'cancelled',
      review_state: 'edited',
    });
    // Search uses the new index for task filters.
    const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT 1 FROM runs r WHERE r.task = ? AND r.case_id = ?`).all('vqa', 'c1') as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/runs_by_task|sqlite_autoindex/);
  });

  it('runs in one transaction: a failing step leaves schema 1 and the data as they were', () => {
    const db = memory();
    migrate(db, 1);
    seedV1(db);
    db.exec('CREATE INDEX cases_by_last_run ON cases (created_at)'); // a name migration 2 will try to create
    expect(() => migrate(db, 2)).toThrow(/already exists/);
    expect(version(db)).toBe(1);
    expect(columns(db, 'cases')).not.toContain('run_count');
    expect(indexes(db)).not.toContain('runs_by_case');
    expect((db.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n).toBe(3);
  });
});

describe('migration 3 (from schema 2 with data)', () => {
  it('backfills each case\'s task and status sets, keeps them current, and orders the list by an index', () => {
    const db = memory();
    migrate(db, 1);
    seedV1(db);
    migrate(db, 2);
    db.exec(`INSERT INTO runs (run_id, case_id, task, prompt, pack_id, pack_hash, execution_provider, started_at, status, recorded_by)
             VALUES ('r5', 'c2', 'vqa', 'q', 'p', 'h', 'cpu', 30, 'running', 'u')`);
    expect(migrate(db, 3)).toEqual({ from: 2, to: 3 });
    const sets = () => db.prepare('SELECT case_id, run_tasks, run_statuses FROM cases ORDER BY case_id').all();
    expect(sets()).toEqual([
      { case_id: 'c1', run_tasks: '|sr|vqa|', run_statuses: '|succeeded|failed|' },
      { case_id: 'c2', run_tasks: '|vqa|', run_statuses: '|running|succeeded|' },
      { case_id: 'c3', run_tasks: '|', run_statuses: '|' },
    ]);
    migrate(db); // the app's writer needs the latest schema
    const h = new HistoryDb(db, 'tester', () => 60);
    h.finishRun({ runId: 'r5', status: 'failed' });
    h.recordRun({ runId: 'r6', caseId: 'c3', task: 'ct-to-mri', prompt: 'p', packId: 'p', packHash: 'h', executionProvider: 'cpu', startedAt: 50 });
    expect(sets()).toEqual([
      { case_id: 'c1', run_tasks: '|sr|vqa|', run_statuses: '|succeeded|failed|' },
      { case_id: 'c2', run_tasks: '|vqa|', run_statuses: '|succeeded|failed|' },
      { case_id: 'c3', run_tasks: '|ct-to-mri|', run_statuses: '|running|' },
    ]);
    expect(h.listCases({ task: 'ct-to-mri', limit: 50, offset: 0 }).cases.map((c) => c.caseId)).toEqual(['c3']);
    expect(h.listCases({ status: 'failed', limit: 50, offset: 0 }).cases.map((c) => c.caseId)).toEqual(['c2', 'c1']);
    expect(h.listCases({ status: 'running', limit: 50, offset: 0 }).cases.map((c) => c.caseId)).toEqual(['c3']);
    const plan = db
      .prepare('EXPLAIN QUERY PLAN SELECT case_id FROM cases c ORDER BY coalesce(c.last_run_at, c.created_at) DESC, c.case_id LIMIT 50')
      .all() as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/cases_by_activity/);
    expect(plan.map((p) => p.detail).join(' ')).not.toMatch(/TEMP B-TREE/);
  });
});

describe('migration 4 (from schema 3 with data)', () => {
  /** Audit rows as a schema-3 app wrote them: no hashes. */
  function seedV3WithAudit(db: Database.Database): void {
    migrate(db, 1);
    seedV1(db);
    migrate(db, 3);
    db.exec(`
      INSERT INTO audit_log (at, actor, action, entity, entity_id, detail) VALUES
        (100, 'u', 'case.create', 'case', 'c1', '{"studies":["1.2.3"]}'),
        (110, 'u', 'run.start', 'run', 'r1', '{}'),
        (120, 'a', 'review.accepted', 'run', 'r1', '{"reviewId":"v1","comment":null}');
      INSERT INTO runs (run_id, case_id, task, prompt, pack_id, pack_hash, execution_provider, started_at, status, recorded_by)
        VALUES ('r9', 'c3', 'sr', 'q', 'p', 'h', 'cpu', 90, 'running', 'u');
    `);
  }
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');

  it('chains the existing audit rows in order, keeps the log append-only, and adds run owners', () => {
    const db = memory();
    seedV3WithAudit(db);
    expect(migrate(db, 4)).toEqual({ from: 3, to: 4 });
    expect(columns(db, 'audit_log')).toEqual(expect.arrayContaining(['prev_hash', 'hash']));
    expect(columns(db, 'runs')).toContain('owner');
    const rows = db.prepare('SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq').all() as Array<{ seq: number; prev_hash: string; hash: string }>;
    // Computed here independently of the app's code: sha256(previous hash, newline, the row as JSON).
    const first = sha(`${'0'.repeat(64)}\n${JSON.stringify([1, 100, 'u', 'case.create', 'case', 'c1', '{"studies":["1.2.3"]}'])}`);
    const second = sha(`${first}\n${JSON.stringify([2, 110, 'u', 'run.start', 'run', 'r1', '{}'])}`);
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(rows[0]).toEqual({ seq: 1, prev_hash: '0'.repeat(64), hash: first });
    expect(rows[1]).toEqual({ seq: 2, prev_hash: first, hash: second });
    expect(rows[2]!.prev_hash).toBe(second);
    expect(verifyAuditChain(db)).toEqual({ entries: 3, ok: true, firstBrokenSeq: null, problem: null });
    expect(() => db.exec(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 1`)).toThrow(/append-only/);
    expect(db.prepare(`SELECT owner FROM runs WHERE run_id = 'r9'`).get()).toEqual({ owner: null });
    // The app's writer continues the chain.
    const h = new HistoryDb(db, 'tester', () => 200);
    h.recordAudit({ action: 'case.view', entity: 'case', entityId: 'c1' });
    expect(verifyAuditChain(db)).toMatchObject({ entries: 4, ok: true });
    expect((db.prepare('SELECT prev_hash FROM audit_log WHERE seq = 4').get() as { prev_hash: string }).prev_hash).toBe(rows[2]!.hash);
  });

  it('runs in one transaction: a failing step leaves schema 3, no hashes, and the triggers in place', () => {
    const db = memory();
    seedV3WithAudit(db);
    db.exec('ALTER TABLE runs ADD COLUMN owner TEXT'); // a column migration 4 will try to add
    expect(() => migrate(db, 4)).toThrow(/duplicate column/);
    expect(version(db)).toBe(3);
    expect(columns(db, 'audit_log')).not.toContain('hash');
    expect(() => db.exec(`DELETE FROM audit_log`)).toThrow(/append-only/);
    expect(() => db.exec(`UPDATE audit_log SET actor = 'mallory'`)).toThrow(/append-only/);
  });
});

describe('migration 5 (PACS transfers, from schema 4 with data)', () => {
  const row = (id: string, outcome = 'complete', instances = 40) =>
    `INSERT INTO pacs_transfers (transfer_id, direction, node, protocol, study_uid, series_uids, instances, bytes, outcome, message, started_at, finished_at, actor)
     VALUES ('${id}', 'retrieve', 'orthanc', 'dimse', '1.2.3', '["1.2.3.4"]', ${instances}, 1000, '${outcome}', NULL, 10, 20, 'u')`;

  it('adds the append-only pacs_transfers table with its checks; the rows already there are untouched', () => {
    const db = memory();
    migrate(db, 1);
    seedV1(db);
    migrate(db, 4);
    expect(migrate(db, 5)).toEqual({ from: 4, to: 5 });
    expect(columns(db, 'pacs_transfers')).toEqual(['transfer_id', 'direction', 'node', 'protocol', 'study_uid', 'series_uids', 'instances', 'bytes', 'outcome', 'message', 'started_at', 'finished_at', 'actor']);
    expect(indexes(db)).toContain('pacs_transfers_study');
    expect((db.prepare('SELECT count(*) AS n FROM cases').get() as { n: number }).n).toBe(3);
    db.exec(row('t1'));
    expect(() => db.exec(row('t2', 'half-done'))).toThrow(/CHECK constraint/);
    expect(() => db.exec(row('t3', 'complete', -1))).toThrow(/CHECK constraint/);
    expect(() => db.exec(`UPDATE pacs_transfers SET outcome = 'failed'`)).toThrow(/append-only/);
    expect(() => db.exec(`DELETE FROM pacs_transfers`)).toThrow(/append-only/);
    // The app's writer: the row and its audit entry, read back newest first.
    const h = new HistoryDb(db, 'tester', () => 500);
    h.recordPacsTransfer({ transferId: 't4', direction: 'send', node: 'pacs', protocol: 'dicomweb', studyUid: '1.2.3', seriesUids: ['1.2.3.9'], instances: 48, bytes: 99, outcome: 'partial', message: '1 refused', startedAt: 400, finishedAt: 450 });
    expect(h.listPacsTransfers('1.2.3').map((t) => [t.transferId, t.direction, t.outcome, t.actor])).toEqual([
      ['t4', 'send', 'partial', 'tester'],
      ['t1', 'retrieve', 'complete', 'u'],
    ]);
    expect(db.prepare(`SELECT action, entity_id FROM audit_log ORDER BY seq DESC LIMIT 1`).get()).toEqual({ action: 'pacs.send', entity_id: 't4' });
  });

  it('runs in one transaction: a failing step leaves schema 4 and no trigger behind', () => {
    const db = memory();
    migrate(db, 4);
    db.exec('CREATE INDEX pacs_transfers_study ON cases (created_at)'); // a name migration 5 will try to create
    expect(() => migrate(db, 5)).toThrow(/already exists/);
    expect(version(db)).toBe(4);
    expect(tables(db)).not.toContain('pacs_transfers');
  });
});

describe('newer schemas', () => {
  it('refuses a database whose user_version is above the app schema, without touching it', () => {
    const db = memory();
    migrate(db);
    db.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`);
    const before = db.serialize();
    expect(() => migrate(db)).toThrow(StoreRefusedError);
    expect(() => migrate(db)).toThrow(/newer version of HealthGPT Workstation/);
    expect(Buffer.compare(db.serialize(), before)).toBe(0);
  });
});
