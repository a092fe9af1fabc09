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
import { all, get, sql, sqlJoin, type SqlQuery } from './sql';

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

/** The read side of the history: the case list with its filters, and one case with everything recorded. */
export class CaseReader {
  constructor(private readonly db: Database.Database) {}

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
    const reviewCounts: CaseSummary['reviewCounts'] = { unreviewed: 0, accepted: 0, rejected: 0, edited: 0 };
    // Each run by its own latest decision; runs that failed or still run have nothing to review.
    for (const row of all<{ state: keyof CaseSummary['reviewCounts']; n: number }>(
      this.db,
      sql`SELECT coalesce((SELECT v.decision FROM reviews v WHERE v.run_id = r.run_id ORDER BY v.at DESC, v.rowid DESC LIMIT 1), 'unreviewed') AS state,
                 count(*) AS n
          FROM runs r WHERE r.case_id = ${r.case_id} AND r.status IN ('succeeded', 'cancelled') GROUP BY state`,
    )) {
      reviewCounts[row.state] = row.n;
    }
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
      reviewCounts,
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
}
