import type Database from 'better-sqlite3';
import type { CaseList, ReviewRecord } from '../../src-shared/contracts/history';
import type { NewPacsTransfer, PacsTransfer } from '../../src-shared/contracts/pacs';
import type { AuditMirror, MirroredAuditRecord } from '../policy/audit-mirror';
import { auditRowHash, nextAuditLink } from './audit-chain';
import { CaseReader, type CaseRows, type ParsedCaseQuery } from './case-read';
import { RUN_OWNER } from './run-owner';
import { all, get, run, sql } from './sql';
import type { AuditEntry, NewCase, NewOutput, NewReview, NewRun, RunEnd, StoredArtifact } from './history-types';

export type { CaseRows, ParsedCaseQuery } from './case-read';

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
  private readonly reader: CaseReader;

  constructor(
    readonly db: Database.Database,
    /** The OS user of the process: the actor of every audit entry and the reviewer of every review. */
    readonly actor: string,
    private readonly now: () => number = () => Date.now(),
    /** The copy of the audit trail the machine policy asks for (auditLogPath), if any. */
    private readonly mirror: AuditMirror | null = null,
  ) {
    this.reader = new CaseReader(db);
  }

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

  /** Appends one entry, chained to the previous one (audit-chain.ts); only inside a write transaction. */
  private audit(entry: AuditEntry): void {
    const at = this.now();
    const detail = entry.detail ?? {};
    const { seq, prevHash } = nextAuditLink(this.db);
    const row = { seq, at, actor: this.actor, action: entry.action, entity: entry.entity, entity_id: entry.entityId ?? null, detail: JSON.stringify(detail) };
    run(
      this.db,
      sql`INSERT INTO audit_log (seq, at, actor, action, entity, entity_id, detail, prev_hash, hash)
          VALUES (${seq}, ${at}, ${row.actor}, ${row.action}, ${row.entity}, ${row.entity_id}, ${row.detail}, ${prevHash}, ${auditRowHash(prevHash, row)})`,
    );
    this.pendingAudit.push({ at, actor: this.actor, action: entry.action, entity: entry.entity, entityId: entry.entityId ?? null, detail });
  }

  recordAudit(entry: AuditEntry): void {
    this.write(() => this.audit(entry));
  }

  /** A repair made at open (open-repair.ts): `change` runs in one transaction with the entry it returns. */
  repairWithAudit(change: () => AuditEntry | null): AuditEntry | null {
    return this.write(() => {
      const entry = change();
      if (entry) this.audit(entry);
      return entry;
    });
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
                            started_at, status, recorded_by, owner)
          VALUES (${input.runId}, ${input.caseId}, ${input.task}, ${input.prompt}, ${input.packId}, ${input.packHash},
                  ${input.plugin ?? null}, ${input.executionProvider}, ${JSON.stringify(input.params ?? {})}, ${input.seed ?? null},
                  ${input.startedAt ?? this.now()}, 'running', ${this.actor}, ${RUN_OWNER})`,
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

  /** One PACS retrieve or send, with its audit entry, in one transaction. */
  recordPacsTransfer(t: NewPacsTransfer): void {
    this.write(() => {
      run(
        this.db,
        sql`INSERT INTO pacs_transfers (transfer_id, direction, node, protocol, study_uid, series_uids, instances, bytes, outcome, message, started_at, finished_at, actor)
            VALUES (${t.transferId}, ${t.direction}, ${t.node}, ${t.protocol}, ${t.studyUid}, ${JSON.stringify(t.seriesUids)}, ${t.instances}, ${t.bytes},
                    ${t.outcome}, ${t.message}, ${t.startedAt}, ${t.finishedAt}, ${this.actor})`,
      );
      this.audit({ action: `pacs.${t.direction}`, entity: 'pacs-transfer', entityId: t.transferId, detail: { node: t.node, studyUid: t.studyUid, instances: t.instances, outcome: t.outcome } });
    });
  }

  /** PACS transfers, newest first (of one study when given). */
  listPacsTransfers(studyUid: string | null): PacsTransfer[] {
    type Row = { transfer_id: string; direction: PacsTransfer['direction']; node: string; protocol: PacsTransfer['protocol']; study_uid: string | null; series_uids: string; instances: number; bytes: number; outcome: PacsTransfer['outcome']; message: string | null; started_at: number; finished_at: number; actor: string };
    const rows = studyUid === null ? all<Row>(this.db, sql`SELECT * FROM pacs_transfers ORDER BY started_at DESC, rowid DESC`) : all<Row>(this.db, sql`SELECT * FROM pacs_transfers WHERE study_uid = ${studyUid} ORDER BY started_at DESC, rowid DESC`);
    return rows.map((r) => ({
      transferId: r.transfer_id,
      direction: r.direction,
      node: r.node,
      protocol: r.protocol,
      studyUid: r.study_uid,
      seriesUids: JSON.parse(r.series_uids) as string[],
      instances: r.instances,
      bytes: r.bytes,
      outcome: r.outcome,
      message: r.message,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      actor: r.actor,
    }));
  }

  listCases(q: ParsedCaseQuery): CaseList {
    return this.reader.listCases(q);
  }

  getCase(caseId: string): CaseRows | null {
    return this.reader.getCase(caseId);
  }

  /** The latest run that generated the series with this Series Instance UID, or null. */
  runOfGeneratedSeries(seriesUid: string): string | null {
    return (
      get<{ run_id: string }>(this.db, sql`SELECT o.run_id FROM outputs o JOIN series s ON s.series_id = o.series_id WHERE s.series_uid = ${seriesUid} AND s.generated = 1 ORDER BY o.created_at DESC LIMIT 1`)?.run_id ?? null
    );
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
