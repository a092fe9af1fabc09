import type Database from 'better-sqlite3';
import type {
  ArtifactRef,
  CaseList,
  CaseSummary,
  OutputRecord,
  ReviewRecord,
  RunRecord,
  RunStatus,
  StudyRecord,
  caseQuerySchema,
} from '../../src-shared/contracts/history';
import type { z } from 'zod';
import type { AuditMirror, MirroredAuditRecord } from '../policy/audit-mirror';
import { all, get, run, sql, sqlJoin, type SqlQuery } from './sql';
import type { AuditEntry, NewCase, NewOutput, NewReview, NewRun, RunEnd, StoredArtifact } from './history-types';

export type ParsedCaseQuery = z.output<typeof caseQuerySchema>;

/** A case with its rows as stored; artifact statuses are filled in by main after hashing the files. */
export interface CaseRows {
  summary: CaseSummary;
  studies: StudyRecord[];
  runs: RunRecord[];
}

interface CaseRow {
  case_id: string;
  title: string | null;
  patient_id: string | null;
  patient_name: string | null;
  created_at: number;
  run_count: number;
  last_run_at: number | null;
  last_run_status: RunStatus | null;
  review_state: CaseSummary['reviewState'];
}

interface RunRow {
  run_id: string;
  case_id: string;
  task: string;
  prompt: string;
  pack_id: string;
  pack_hash: string;
  plugin: string | null;
  execution_provider: string;
  params: string;
  seed: number | null;
  started_at: number;
  ended_at: number | null;
  status: RunStatus;
  error: string | null;
  timing: string;
}

function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function parseJsonObject<T>(text: string): T {
  const v: unknown = JSON.parse(text);
  return (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : {}) as T;
}

/**
 * Every query of the history store, synchronous, on one connection. It runs in the SQL worker thread
 * (see sql-worker.ts); tests also use it directly. Each write is one transaction and writes its audit
 * entry in that same transaction, so the log and the data cannot disagree.
 */
export class HistoryDb {
  /** Audit records of the transaction under way, copied to the mirror once it commits. */
  private readonly pendingAudit: MirroredAuditRecord[] = [];
  /** The last failure to copy a record to the policy's audit mirror (the database stays the record). */
  mirrorProblem: string | null = null;

  constructor(
    readonly db: Database.Database,
    /** The OS user of the process: the actor of every audit entry and the reviewer of every review. */
    readonly actor: string,
    private readonly now: () => number = () => Date.now(),
    /** The copy of the audit trail the machine policy asks for (auditLogPath), if any. */
    private readonly mirror: AuditMirror | null = null,
  ) {}

  /**
   * One write transaction (BEGIN IMMEDIATE: the write lock is taken up front, so a busy database waits
   * at the start instead of failing half-way). Its audit records reach the mirror only after COMMIT.
   */
  private write<T>(fn: () => T): T {
    const outermost = !this.db.inTransaction;
    const mark = this.pendingAudit.length;
    let result: T;
    try {
      result = this.db.transaction(fn).immediate();
    } catch (e) {
      this.pendingAudit.length = mark;
      throw e;
    }
    if (outermost) this.flushMirror();
    return result;
  }

  private flushMirror(): void {
    const records = this.pendingAudit.splice(0);
    if (!this.mirror) return;
    for (const r of records) {
      const res = this.mirror.append(r);
      if (!res.ok) this.mirrorProblem = res.problem;
    }
  }

  private audit(entry: AuditEntry): void {
    const at = this.now();
    const detail = entry.detail ?? {};
    run(
      this.db,
      sql`INSERT INTO audit_log (at, actor, action, entity, entity_id, detail)
          VALUES (${at}, ${this.actor}, ${entry.action}, ${entry.entity}, ${entry.entityId ?? null}, ${JSON.stringify(detail)})`,
    );
    this.pendingAudit.push({ at, actor: this.actor, action: entry.action, entity: entry.entity, entityId: entry.entityId ?? null, detail });
  }

  recordAudit(entry: AuditEntry): void {
    this.write(() => this.audit(entry));
  }

  recordCase(input: NewCase): { caseId: string } {
    this.write(() => {
        run(
          this.db,
          sql`INSERT INTO cases (case_id, title, patient_id, patient_name, created_at, created_by)
              VALUES (${input.caseId}, ${input.title ?? null}, ${input.patientId ?? null}, ${input.patientName ?? null},
                      ${input.createdAt ?? this.now()}, ${this.actor})`,
        );
        for (const s of input.studies) this.insertStudy(input.caseId, s);
        this.audit({ action: 'case.create', entity: 'case', entityId: input.caseId, detail: { studies: input.studies.map((s) => s.studyUid) } });
      });
    return { caseId: input.caseId };
  }

  /** A study imported into an existing case later (with its series). */
  recordStudy(input: { caseId: string; study: NewCase['studies'][number] }): { studyId: string } {
    this.write(() => {
        this.insertStudy(input.caseId, input.study);
        this.audit({ action: 'study.import', entity: 'case', entityId: input.caseId, detail: { studyUid: input.study.studyUid, series: input.study.series.map((s) => s.seriesUid) } });
      });
    return { studyId: input.study.studyId };
  }

  /**
   * The case, studies and series the workflow works on, created where missing, in one transaction:
   * a second run on the same study finds its case; a new series of a known study joins it.
   */
  ensureCase(input: NewCase): { caseId: string; created: string[] } {
    const created: string[] = [];
    this.write(() => {
      const existing = get<{ case_id: string }>(this.db, sql`SELECT case_id FROM cases WHERE case_id = ${input.caseId}`);
      if (!existing) {
        run(
          this.db,
          sql`INSERT INTO cases (case_id, title, patient_id, patient_name, created_at, created_by)
              VALUES (${input.caseId}, ${input.title ?? null}, ${input.patientId ?? null}, ${input.patientName ?? null},
                      ${input.createdAt ?? this.now()}, ${this.actor})`,
        );
        this.audit({ action: 'case.create', entity: 'case', entityId: input.caseId, detail: { studies: input.studies.map((st) => st.studyUid) } });
        created.push(input.caseId);
      }
      for (const study of input.studies) {
        const hasStudy = get<{ study_id: string }>(this.db, sql`SELECT study_id FROM studies WHERE study_id = ${study.studyId}`);
        if (!hasStudy) {
          this.insertStudy(input.caseId, { ...study, series: [] });
          created.push(study.studyId);
        }
        for (const se of study.series) {
          const hasSeries = get<{ series_id: string }>(this.db, sql`SELECT series_id FROM series WHERE series_id = ${se.seriesId}`);
          if (!hasSeries) {
            this.insertSeries(study.studyId, se);
            this.audit({ action: 'series.import', entity: 'study', entityId: study.studyId, detail: { seriesUid: se.seriesUid } });
            created.push(se.seriesId);
          }
        }
      }
    });
    return { caseId: input.caseId, created };
  }

  /** The case a run belongs to, or null. */
  caseOfRun(runId: string): string | null {
    return get<{ case_id: string }>(this.db, sql`SELECT case_id FROM runs WHERE run_id = ${runId}`)?.case_id ?? null;
  }

  /** A series imported into an existing study later. */
  recordSeries(input: { studyId: string; series: NewCase['studies'][number]['series'][number] }): { seriesId: string } {
    this.write(() => {
        this.insertSeries(input.studyId, input.series);
        this.audit({ action: 'series.import', entity: 'study', entityId: input.studyId, detail: { seriesUid: input.series.seriesUid } });
      });
    return { seriesId: input.series.seriesId };
  }

  private insertStudy(caseId: string, s: NewCase['studies'][number]): void {
    run(
      this.db,
      sql`INSERT INTO studies (study_id, case_id, study_uid, study_date, description, accession)
          VALUES (${s.studyId}, ${caseId}, ${s.studyUid}, ${s.studyDate ?? null}, ${s.description ?? null}, ${s.accession ?? null})`,
    );
    for (const se of s.series) this.insertSeries(s.studyId, se);
  }

  private insertSeries(studyId: string, se: NewCase['studies'][number]['series'][number]): void {
    run(
      this.db,
      sql`INSERT INTO series (series_id, study_id, series_uid, modality, description, instance_count, location, content_hash, generated)
          VALUES (${se.seriesId}, ${studyId}, ${se.seriesUid}, ${se.modality ?? null}, ${se.description ?? null},
                  ${se.instanceCount ?? 0}, ${se.location ?? null}, ${se.contentHash ?? null}, ${se.generated ? 1 : 0})`,
    );
  }

  private insertRun(input: NewRun): void {
    run(
      this.db,
      sql`INSERT INTO runs (run_id, case_id, task, prompt, pack_id, pack_hash, plugin, execution_provider, params, seed,
                            started_at, status, recorded_by)
          VALUES (${input.runId}, ${input.caseId}, ${input.task}, ${input.prompt}, ${input.packId}, ${input.packHash},
                  ${input.plugin ?? null}, ${input.executionProvider}, ${JSON.stringify(input.params ?? {})}, ${input.seed ?? null},
                  ${input.startedAt ?? this.now()}, 'running', ${this.actor})`,
    );
    for (const seriesId of input.inputSeriesIds ?? []) {
      run(this.db, sql`INSERT INTO run_inputs (run_id, series_id) VALUES (${input.runId}, ${seriesId})`);
    }
    this.audit({ action: 'run.start', entity: 'run', entityId: input.runId, detail: { caseId: input.caseId, task: input.task, packId: input.packId, packHash: input.packHash } });
  }

  private endRun(end: RunEnd): void {
    const r = run(
      this.db,
      sql`UPDATE runs SET status = ${end.status}, ended_at = ${end.endedAt ?? this.now()}, error = ${end.error ?? null},
                          timing = ${JSON.stringify(end.timing ?? {})}
          WHERE run_id = ${end.runId} AND status = 'running'`,
    );
    if (r.changes !== 1) throw Object.assign(new Error(`run ${end.runId} is not running (unknown or already finished)`), { code: 'CONFLICT' });
    this.audit({ action: `run.${end.status}`, entity: 'run', entityId: end.runId, detail: { error: end.error ?? null } });
  }

  private insertOutput(o: NewOutput): void {
    for (const a of o.artifacts) {
      run(
        this.db,
        sql`INSERT INTO artifacts (hash, size, media_type, created_at) VALUES (${a.hash}, ${a.size}, ${a.mediaType}, ${this.now()})
            ON CONFLICT (hash) DO NOTHING`,
      );
    }
    let seriesId: string | null = null;
    if (o.generatedSeries) {
      this.insertSeries(o.generatedSeries.studyId, { ...o.generatedSeries, generated: true, instanceCount: o.generatedSeries.instanceCount ?? o.artifacts.length });
      seriesId = o.generatedSeries.seriesId;
    }
    run(
      this.db,
      sql`INSERT INTO outputs (output_id, run_id, kind, label, text, series_id, created_at)
          VALUES (${o.outputId}, ${o.runId}, ${o.kind}, ${o.label ?? null}, ${o.text ?? null}, ${seriesId}, ${this.now()})`,
    );
    o.artifacts.forEach((a, i) => {
      run(this.db, sql`INSERT INTO output_artifacts (output_id, ordinal, hash, name) VALUES (${o.outputId}, ${i}, ${a.hash}, ${a.name})`);
    });
    this.audit({ action: 'output.create', entity: 'output', entityId: o.outputId, detail: { runId: o.runId, kind: o.kind, artifacts: o.artifacts.map((a) => a.hash) } });
  }

  recordRun(input: NewRun): { runId: string } {
    this.write(() => this.insertRun(input));
    return { runId: input.runId };
  }

  finishRun(end: RunEnd): void {
    this.write(() => this.endRun(end));
  }

  recordOutput(o: NewOutput): { outputId: string } {
    this.write(() => this.insertOutput(o));
    return { outputId: o.outputId };
  }

  /** A whole run (start, outputs, end) in one transaction: present completely or not at all. */
  recordCompletedRun(input: { run: NewRun; outputs: NewOutput[]; end: RunEnd }): { runId: string } {
    this.write(() => {
        this.insertRun(input.run);
        for (const o of input.outputs) this.insertOutput(o);
        this.endRun(input.end);
      });
    return { runId: input.run.runId };
  }

  recordReview(r: NewReview): ReviewRecord {
    const at = this.now();
    this.write(() => {
        const exists = get<{ n: number }>(this.db, sql`SELECT 1 AS n FROM runs WHERE run_id = ${r.runId}`);
        if (!exists) throw Object.assign(new Error(`no run ${r.runId}`), { code: 'NOT_FOUND' });
        run(
          this.db,
          sql`INSERT INTO reviews (review_id, run_id, decision, reviewer, at, comment, edited_text)
              VALUES (${r.reviewId}, ${r.runId}, ${r.decision}, ${this.actor}, ${at}, ${r.comment ?? null}, ${r.editedText ?? null})`,
        );
        this.audit({ action: `review.${r.decision}`, entity: 'run', entityId: r.runId, detail: { reviewId: r.reviewId, comment: r.comment ?? null } });
      });
    return { reviewId: r.reviewId, runId: r.runId, decision: r.decision, reviewer: this.actor, at, comment: r.comment ?? null, editedText: r.editedText ?? null };
  }

  listCases(q: ParsedCaseQuery): CaseList {
    const conds: SqlQuery[] = [sql`1 = 1`];
    if (q.patient) {
      const p = `%${likeEscape(q.patient)}%`;
      conds.push(sql`(c.patient_id LIKE ${p} ESCAPE '\\' OR c.patient_name LIKE ${p} ESCAPE '\\')`);
    }
    // Cheap column tests before the subqueries. Sets kept by triggers (migration 3): '|vqa|report|'.
    if (q.task) conds.push(sql`instr(c.run_tasks, ${`|${q.task}|`}) > 0`);
    if (q.status) conds.push(sql`instr(c.run_statuses, ${`|${q.status}|`}) > 0`);
    if (q.review) conds.push(sql`c.review_state = ${q.review}`);
    if (q.study) {
      const prefix = `${likeEscape(q.study)}%`;
      const inner = `%${likeEscape(q.study)}%`;
      conds.push(sql`c.case_id IN (SELECT s.case_id FROM studies s WHERE s.study_uid LIKE ${prefix} ESCAPE '\\'
                       OR s.description LIKE ${inner} ESCAPE '\\' OR s.accession LIKE ${inner} ESCAPE '\\')`);
    }
    if (q.dateFrom || q.dateTo) {
      // Any study of the case in the range; a case without study dates goes by its creation time (UTC).
      const from = q.dateFrom ?? '0000-01-01';
      const to = q.dateTo ?? '9999-12-31';
      const fromMs = q.dateFrom ? Date.parse(`${q.dateFrom}T00:00:00Z`) : Number.MIN_SAFE_INTEGER;
      const toMs = q.dateTo ? Date.parse(`${q.dateTo}T00:00:00Z`) + 86_400_000 - 1 : Number.MAX_SAFE_INTEGER;
      conds.push(sql`(c.case_id IN (SELECT s.case_id FROM studies s WHERE s.study_date BETWEEN ${from} AND ${to})
                      OR (c.created_at BETWEEN ${fromMs} AND ${toMs}
                          AND NOT EXISTS (SELECT 1 FROM studies s WHERE s.case_id = c.case_id AND s.study_date IS NOT NULL)))`);
    }
    const where = sqlJoin(conds, sql` AND `);
    const total = get<{ n: number }>(this.db, sql`SELECT count(*) AS n FROM cases c WHERE ${where}`)?.n ?? 0;
    // Few matches: sort just those. Many: walk the activity index and stop after the page.
    const rows =
      total * 10 < this.caseCount()
        ? all<CaseRow>(
            this.db,
            sql`SELECT c.case_id, c.title, c.patient_id, c.patient_name, c.created_at, c.run_count, c.last_run_at, c.last_run_status, c.review_state
                FROM cases c NOT INDEXED WHERE ${where}
                ORDER BY coalesce(c.last_run_at, c.created_at) DESC, c.case_id
                LIMIT ${q.limit} OFFSET ${q.offset}`,
          )
        : all<CaseRow>(
            this.db,
            sql`SELECT c.case_id, c.title, c.patient_id, c.patient_name, c.created_at, c.run_count, c.last_run_at, c.last_run_status, c.review_state
                FROM cases c INDEXED BY cases_by_activity WHERE ${where}
                ORDER BY coalesce(c.last_run_at, c.created_at) DESC, c.case_id
                LIMIT ${q.limit} OFFSET ${q.offset}`,
          );
    return { cases: rows.map((r) => this.summarize(r)), total };
  }

  private caseCount(): number {
    return get<{ n: number }>(this.db, sql`SELECT count(*) AS n FROM cases`)?.n ?? 0;
  }

  private summarize(r: CaseRow): CaseSummary {
    const studies = all<{ study_uid: string; study_date: string | null; description: string | null }>(
      this.db,
      sql`SELECT study_uid, study_date, description FROM studies WHERE case_id = ${r.case_id} ORDER BY study_date DESC, rowid`,
    );
    const tasks = all<{ task: string }>(this.db, sql`SELECT DISTINCT task FROM runs WHERE case_id = ${r.case_id} ORDER BY task`);
    return {
      caseId: r.case_id,
      title: r.title,
      patientId: r.patient_id,
      patientName: r.patient_name,
      createdAt: r.created_at,
      studyUids: studies.map((s) => s.study_uid),
      studyDate: studies[0]?.study_date ?? null,
      studyDescription: studies[0]?.description ?? null,
      runCount: r.run_count,
      lastRunAt: r.last_run_at,
      tasks: tasks.map((t) => t.task),
      lastRunStatus: r.last_run_status,
      reviewState: r.review_state,
    };
  }

  getCase(caseId: string): CaseRows | null {
    const row = get<CaseRow>(
      this.db,
      sql`SELECT case_id, title, patient_id, patient_name, created_at, run_count, last_run_at, last_run_status, review_state
          FROM cases WHERE case_id = ${caseId}`,
    );
    if (!row) return null;
    const studies = all<{ study_id: string; study_uid: string; study_date: string | null; description: string | null; accession: string | null }>(
      this.db,
      sql`SELECT study_id, study_uid, study_date, description, accession FROM studies WHERE case_id = ${caseId} ORDER BY rowid`,
    ).map<StudyRecord>((s) => ({
      studyId: s.study_id,
      studyUid: s.study_uid,
      studyDate: s.study_date,
      description: s.description,
      accession: s.accession,
      series: all<{
        series_id: string;
        series_uid: string;
        modality: string | null;
        description: string | null;
        instance_count: number;
        location: string | null;
        content_hash: string | null;
        generated: number;
      }>(this.db, sql`SELECT * FROM series WHERE study_id = ${s.study_id} ORDER BY rowid`).map((se) => ({
        seriesId: se.series_id,
        seriesUid: se.series_uid,
        modality: se.modality,
        description: se.description,
        instanceCount: se.instance_count,
        location: se.location,
        contentHash: se.content_hash,
        generated: se.generated === 1,
      })),
    }));
    const runs = all<RunRow>(this.db, sql`SELECT * FROM runs WHERE case_id = ${caseId} ORDER BY started_at, rowid`).map<RunRecord>((r) => ({
      runId: r.run_id,
      caseId: r.case_id,
      task: r.task,
      prompt: r.prompt,
      packId: r.pack_id,
      packHash: r.pack_hash,
      plugin: r.plugin,
      executionProvider: r.execution_provider,
      params: parseJsonObject<Record<string, unknown>>(r.params),
      seed: r.seed,
      startedAt: r.started_at,
      endedAt: r.ended_at,
      status: r.status,
      error: r.error,
      timing: parseJsonObject<Record<string, number>>(r.timing),
      inputSeriesIds: all<{ series_id: string }>(this.db, sql`SELECT series_id FROM run_inputs WHERE run_id = ${r.run_id} ORDER BY rowid`).map((x) => x.series_id),
      outputs: this.outputsOf(r.run_id),
      reviews: all<{ review_id: string; run_id: string; decision: ReviewRecord['decision']; reviewer: string; at: number; comment: string | null; edited_text: string | null }>(
        this.db,
        sql`SELECT * FROM reviews WHERE run_id = ${r.run_id} ORDER BY at, rowid`,
      ).map((v) => ({ reviewId: v.review_id, runId: v.run_id, decision: v.decision, reviewer: v.reviewer, at: v.at, comment: v.comment, editedText: v.edited_text })),
    }));
    return { summary: this.summarize(row), studies, runs };
  }

  private outputsOf(runId: string): OutputRecord[] {
    return all<{ output_id: string; kind: OutputRecord['kind']; label: string | null; text: string | null; series_id: string | null; created_at: number }>(
      this.db,
      sql`SELECT output_id, kind, label, text, series_id, created_at FROM outputs WHERE run_id = ${runId} ORDER BY created_at, rowid`,
    ).map((o) => ({
      outputId: o.output_id,
      kind: o.kind,
      label: o.label,
      text: o.text,
      seriesId: o.series_id,
      createdAt: o.created_at,
      artifacts: all<{ hash: string; name: string; media_type: string; size: number }>(
        this.db,
        sql`SELECT oa.hash, oa.name, a.media_type, a.size FROM output_artifacts oa JOIN artifacts a ON a.hash = oa.hash
            WHERE oa.output_id = ${o.output_id} ORDER BY oa.ordinal`,
      ).map<ArtifactRef>((a) => ({ hash: a.hash, name: a.name, mediaType: a.media_type, size: a.size, status: 'unchecked' })),
    }));
  }

  runExists(runId: string): boolean {
    return get<{ n: number }>(this.db, sql`SELECT 1 AS n FROM runs WHERE run_id = ${runId}`) !== undefined;
  }

  artifact(hash: string): StoredArtifact | null {
    const a = get<{ hash: string; size: number; media_type: string }>(this.db, sql`SELECT hash, size, media_type FROM artifacts WHERE hash = ${hash}`);
    return a ? { hash: a.hash, size: a.size, mediaType: a.media_type, name: a.hash } : null;
  }

  /** Every artifact a row references, for the integrity check. */
  referencedArtifacts(): Array<{ hash: string; size: number }> {
    return all<{ hash: string; size: number }>(this.db, sql`SELECT hash, size FROM artifacts ORDER BY hash`);
  }

  integrity(): { integrity: string[]; foreignKeyViolations: number; schemaVersion: number } {
    const integrity = (this.db.pragma('integrity_check(20)') as Array<{ integrity_check: string }>).map((r) => r.integrity_check);
    const fk = (this.db.pragma('foreign_key_check') as unknown[]).length;
    return { integrity, foreignKeyViolations: fk, schemaVersion: this.db.pragma('user_version', { simple: true }) as number };
  }

  quickCheck(): string[] {
    return (this.db.pragma('quick_check(20)') as Array<{ quick_check: string }>).map((r) => r.quick_check);
  }

  auditCount(): number {
    return get<{ n: number }>(this.db, sql`SELECT count(*) AS n FROM audit_log`)?.n ?? 0;
  }
}
