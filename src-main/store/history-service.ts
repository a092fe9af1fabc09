import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  historyErrorCodes,
  type ArtifactProblem,
  type BackupResult,
  type CaseDetail,
  type CaseList,
  type CheckReport,
  type CaseSummary,
  type ExportResult,
  type ReviewRecord,
  type OutputRecord,
  type RunRecord,
  type StoreStatus,
} from '../../src-shared/contracts/history';
import type { NewPacsTransfer, PacsTransfer } from '../../src-shared/contracts/pacs';
import { commonErrorCodes, DomainError } from '../../src-shared/ipc/envelope';
import { isDiskFull } from '../fs/disk-full';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, restrictMode } from '../fs/private-files';
import { writeCaseExport } from './case-export';
import { checkStore } from './history-check';
import { ArtifactStore, type ArtifactFs } from './artifact-store';
import type { OpenOptions } from './database';
import type { ParsedCaseQuery } from './history-db';
import type { AuditEntry, NewCase, NewOutput, NewReview, NewRun, NewSeries, NewStudy, RunEnd, StoredArtifact } from './history-types';
import { LATEST_SCHEMA_VERSION } from './migrations';
import { SqlWorkerClient, WorkerCallError } from './sql-worker-client';
import type { ArgOf, ResultOf, WorkerMethod } from './worker-api';

export const HISTORY_DB_FILE = 'history.db';

export interface HistoryServiceOptions {
  dataDir: string;
  /** The database file; default <dataDir>/history.db. Artifacts live in <its folder>/artifacts. */
  dbFile?: string;
  /** The OS user recorded as actor and reviewer; default os.userInfo().username. */
  actor?: string;
  /** File operations of the artifact store (tests inject faults here). */
  fs?: ArtifactFs;
  open?: OpenOptions;
  /** The machine policy's auditLogPath: every audit record is also appended there (JSON lines) once committed. */
  auditMirror?: { path: string; host: string } | null;
}

/** An artifact given as bytes: stored (content-addressed, fsynced) before any row refers to it. */
export interface ArtifactBytes {
  bytes: Uint8Array;
  mediaType: string;
  name: string;
}

export type OutputInput = Omit<NewOutput, 'artifacts'> & { artifacts: Array<StoredArtifact | ArtifactBytes> };

export interface JobHooks {
  signal?: AbortSignal;
  progress?: (done: number, total: number, message?: string) => void;
}

function osUser(): string {
  try {
    return os.userInfo().username || 'unknown';
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}

function abortError(): Error {
  return new DOMException('The operation was cancelled.', 'AbortError');
}

/** Translates worker errors into the messages a user sees. */
function translate(e: unknown): Error {
  if (e instanceof DomainError) return e;
  if (e instanceof WorkerCallError) {
    if (isDiskFull(e)) {
      return new DomainError(
        historyErrorCodes.diskFull,
        'The disk holding the history database is full: this record was not saved (the transaction was rolled back). Earlier cases are intact. Free some space and try again.',
      );
    }
    if (e.code === 'STORE_CLOSED') return new DomainError(historyErrorCodes.storeClosed, e.message);
    if (e.code === 'NOT_FOUND') return new DomainError(historyErrorCodes.notFound, e.message);
    if (e.code === 'CONFLICT' || e.code?.startsWith('SQLITE_CONSTRAINT')) return new DomainError(historyErrorCodes.conflict, e.message);
    if (e.code === 'SQLITE_BUSY' || e.code === 'SQLITE_LOCKED') {
      return new DomainError('STORE_BUSY', 'The history database is busy in another program (a long backup or another copy of the app). Try again in a moment.');
    }
    if (e.name === 'AbortError') return abortError();
  }
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * The case history, as main sees it: a SQL worker that owns the database, and the artifact store on
 * disk. The model workflow records through it (recordCase/recordRun/recordOutput/...); the history
 * contract's handlers read, review, export, back up and check through it. A refused database (damaged,
 * newer schema) does not stop the app: the service stays up in state 'refused' and offers openStore and
 * restoreFromBackup.
 */
export class HistoryService {
  private worker: SqlWorkerClient;
  private dbFile: string;
  private artifactStore: ArtifactStore;
  private state: StoreStatus['state'] = 'closed';
  private opening: Promise<void> = Promise.resolve();
  private refusal: { reason: NonNullable<StoreStatus['reason']>; message: string; schemaVersion: number | null } | null = null;
  private schemaVersion: number | null = null;
  /** Protective triggers the last open found missing or altered and put back (also in the audit log). */
  private restoredAtOpen: string[] = [];
  readonly actor: string;

  private constructor(private readonly options: HistoryServiceOptions) {
    this.worker = new SqlWorkerClient();
    this.dbFile = path.resolve(options.dbFile ?? path.join(options.dataDir, HISTORY_DB_FILE));
    this.artifactStore = new ArtifactStore(path.join(path.dirname(this.dbFile), 'artifacts'), options.fs);
    this.actor = options.actor ?? osUser();
  }

  /**
   * Starts the worker and begins opening the database without waiting: on a large store the start-up
   * quick_check takes seconds (about 5 s per GB here), and the app must not wait for it. status() says
   * 'opening' meanwhile; every other call waits for the open to finish.
   */
  static launch(options: HistoryServiceOptions): HistoryService {
    const service = new HistoryService(options);
    service.opening = service.openFile(service.dbFile);
    return service;
  }

  /** Starts and waits until the database is open or refused; never throws for a refused file. */
  static async start(options: HistoryServiceOptions): Promise<HistoryService> {
    const service = HistoryService.launch(options);
    await service.ready();
    return service;
  }

  /** Settles when the current open (or refusal) is complete. */
  ready(): Promise<void> {
    return this.opening;
  }

  get artifacts(): ArtifactStore {
    return this.artifactStore;
  }

  get file(): string {
    return this.dbFile;
  }

  private async openFile(file: string): Promise<void> {
    this.dbFile = path.resolve(file);
    this.artifactStore = new ArtifactStore(path.join(path.dirname(this.dbFile), 'artifacts'), this.options.fs);
    this.refusal = null;
    this.schemaVersion = null;
    this.state = 'opening';
    try {
      await fsp.mkdir(path.dirname(this.dbFile), { recursive: true, mode: PRIVATE_DIR_MODE });
      const opened = await this.worker.call('open', {
        file: this.dbFile,
        actor: this.actor,
        options: this.options.open ?? {},
        auditMirror: this.options.auditMirror ?? null,
        generatedDir: this.generatedDir(),
      });
      this.schemaVersion = opened.schemaVersion;
      this.restoredAtOpen = opened.restoredTriggers;
      this.state = 'open';
      await this.artifactStore.sweepTemporary();
    } catch (e) {
      this.state = 'refused';
      const reason = e instanceof WorkerCallError && (e.reason === 'corrupt' || e.reason === 'newer-schema' || e.reason === 'unreadable') ? e.reason : 'unreadable';
      this.refusal = {
        reason,
        message: e instanceof Error ? e.message : String(e),
        schemaVersion: e instanceof WorkerCallError ? (e.schemaVersion ?? null) : null,
      };
    }
  }

  /** Waits for a pending open, then refuses (before any artifact is written) when no database is open. */
  private async ensureOpen(): Promise<void> {
    await this.opening;
    if (this.state === 'refused') {
      throw new DomainError(historyErrorCodes.storeRefused, this.refusal?.message ?? 'The history database was refused.');
    }
    if (this.state !== 'open') throw new DomainError(historyErrorCodes.storeClosed, 'The history database is not open.');
  }

  private async call<K extends WorkerMethod>(method: K, arg: ArgOf<K>, options?: Parameters<SqlWorkerClient['call']>[2]): Promise<ResultOf<K>> {
    await this.ensureOpen();
    try {
      return await this.worker.call(method, arg, options);
    } catch (e) {
      throw translate(e);
    }
  }

  async status(): Promise<StoreStatus> {
    return {
      state: this.state,
      path: this.dbFile,
      schemaVersion: this.state === 'open' ? this.schemaVersion : (this.refusal?.schemaVersion ?? null),
      appSchemaVersion: LATEST_SCHEMA_VERSION,
      reason: this.refusal?.reason ?? null,
      message: this.refusal?.message ?? null,
      backups: await this.listBackups(),
      auditCopy: this.options.auditMirror
        ? { path: this.options.auditMirror.path, problem: this.state === 'open' ? await this.worker.call('mirrorProblem', {}).catch(() => null) : null }
        : null,
    };
  }

  backupsDir(): string {
    return path.join(this.options.dataDir, 'backups');
  }

  private async listBackups(): Promise<StoreStatus['backups']> {
    const dir = this.backupsDir();
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return [];
    }
    const out: StoreStatus['backups'] = [];
    for (const n of names) {
      if (!n.endsWith('.db')) continue;
      const st = await fsp.stat(path.join(dir, n)).catch(() => null);
      if (st?.isFile()) out.push({ path: path.join(dir, n), size: st.size, modifiedAt: st.mtimeMs });
    }
    return out.sort((a, b) => b.modifiedAt - a.modifiedAt);
  }

  // ---- recording (main-internal: the model workflow calls these) ----

  /** Stores bytes content-addressed (temp file, fsync, rename) and returns the reference to record. */
  async putArtifact(a: ArtifactBytes): Promise<StoredArtifact> {
    const { hash, size } = await this.artifactStore.put(a.bytes);
    return { hash, size, mediaType: a.mediaType, name: a.name };
  }

  private async storeArtifacts(list: OutputInput['artifacts']): Promise<StoredArtifact[]> {
    const out: StoredArtifact[] = [];
    for (const a of list) out.push('bytes' in a ? await this.putArtifact(a) : a);
    return out;
  }

  recordCase(input: NewCase): Promise<{ caseId: string }> {
    return this.call('recordCase', input);
  }

  /** Finds or creates the case, studies and series of `input` (by their ids) in one transaction. */
  ensureCase(input: NewCase): Promise<{ caseId: string; created: string[] }> {
    return this.call('ensureCase', input);
  }

  /** A run with its case summary, for exports of its text; null when there is no such run. */
  async findRun(runId: string): Promise<{ run: RunRecord; caseSummary: CaseSummary } | null> {
    const caseId = await this.call('caseOfRun', { runId });
    if (!caseId) return null;
    const detail = await this.getCase(caseId, false);
    const found = detail.runs.find((r) => r.runId === runId);
    return found ? { run: found, caseSummary: detail.summary } : null;
  }

  /** The run that generated a series and its series output (the slices are its artifacts); null if none. */
  async findGeneratedSeries(seriesUid: string): Promise<{ run: RunRecord; output: OutputRecord } | null> {
    const runId = await this.call('runOfGeneratedSeries', { seriesUid });
    const found = runId ? await this.findRun(runId) : null;
    const output = found?.run.outputs.find((o) => o.kind === 'series');
    return found && output ? { run: found.run, output } : null;
  }

  recordStudy(caseId: string, study: NewStudy): Promise<{ studyId: string }> {
    return this.call('recordStudy', { caseId, study });
  }

  recordSeries(studyId: string, series: NewSeries): Promise<{ seriesId: string }> {
    return this.call('recordSeries', { studyId, series });
  }

  recordRun(input: NewRun): Promise<{ runId: string }> {
    return this.call('recordRun', input);
  }

  finishRun(end: RunEnd): Promise<void> {
    return this.call('finishRun', end);
  }

  /** Artifacts are written and synced first; the rows that reference them are committed after. */
  async recordOutput(input: OutputInput): Promise<{ outputId: string; artifacts: StoredArtifact[] }> {
    await this.ensureOpen();
    const artifacts = await this.storeArtifacts(input.artifacts);
    await this.call('recordOutput', { ...input, artifacts });
    return { outputId: input.outputId, artifacts };
  }

  /** A finished run with all its outputs in one transaction (after its artifacts are on disk). */
  async recordCompletedRun(input: { run: NewRun; outputs: OutputInput[]; end: RunEnd }): Promise<{ runId: string }> {
    await this.ensureOpen();
    const outputs: NewOutput[] = [];
    for (const o of input.outputs) outputs.push({ ...o, artifacts: await this.storeArtifacts(o.artifacts) });
    return this.call('recordCompletedRun', { run: input.run, outputs, end: input.end });
  }

  recordReview(input: Omit<NewReview, 'reviewId'> & { reviewId?: string }): Promise<ReviewRecord> {
    return this.call('recordReview', { ...input, reviewId: input.reviewId ?? `review-${randomUUID()}` });
  }

  recordAudit(entry: AuditEntry): Promise<void> {
    return this.call('recordAudit', entry);
  }

  /** One PACS retrieve or send (pacs/pacs-service.ts records each as it ends). */
  recordPacsTransfer(transfer: NewPacsTransfer): Promise<void> {
    return this.call('recordPacsTransfer', transfer);
  }

  listPacsTransfers(studyUid: string | null = null): Promise<PacsTransfer[]> {
    return this.call('listPacsTransfers', { studyUid });
  }

  // ---- reading ----

  listCases(query: ParsedCaseQuery): Promise<CaseList> {
    return this.call('listCases', query);
  }

  async getCase(caseId: string, verifyArtifacts = true): Promise<CaseDetail> {
    const rows = await this.call('getCase', { caseId });
    if (!rows) throw new DomainError(historyErrorCodes.notFound, `No case ${caseId} in the history.`);
    const problems: ArtifactProblem[] = [];
    if (verifyArtifacts) {
      const seen = new Map<string, 'ok' | 'missing' | 'corrupt'>();
      for (const run of rows.runs) {
        for (const output of run.outputs) {
          for (const a of output.artifacts) {
            let status = seen.get(a.hash);
            if (!status) {
              status = await this.artifactStore.check(a.hash);
              seen.set(a.hash, status);
              if (status !== 'ok') {
                problems.push({
                  hash: a.hash,
                  status,
                  message: status === 'missing' ? `${a.name}: the file is missing from the artifact store` : `${a.name}: the file no longer matches its sha256`,
                });
              }
            }
            a.status = status;
          }
        }
      }
    }
    return { ...rows, problems };
  }

  async readArtifact(hash: string): Promise<{ hash: string; mediaType: string; bytes: Uint8Array<ArrayBuffer> }> {
    const meta = await this.call('artifact', { hash });
    if (!meta) throw new DomainError(historyErrorCodes.notFound, `No artifact ${hash} is recorded in the history.`);
    const bytes = await this.artifactStore.read(hash);
    return { hash, mediaType: meta.mediaType, bytes };
  }

  /** See history-check.ts: integrity, artifacts, audit chain, protective triggers, interrupted runs, generated folders. */
  check(verifyArtifacts = true, hooks: JobHooks = {}): Promise<CheckReport> {
    return checkStore(
      {
        integrity: () => this.call('integrity', {}),
        referencedArtifacts: () => this.call('referencedArtifacts', {}),
        checkRows: () => this.call('checkRows', {}),
        artifactStore: this.artifactStore,
        generatedDir: this.generatedDir(),
        restoredAtOpen: this.restoredAtOpen,
      },
      verifyArtifacts,
      hooks,
    );
  }

  /** Where generating runs write their DICOM files, one folder per run (workflow-service.ts). */
  generatedDir(): string {
    return path.join(this.options.dataDir, 'generated');
  }

  // ---- jobs ----

  defaultBackupPath(now = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    return path.join(this.backupsDir(), `history-${stamp}.db`);
  }

  async backup(destination: string | undefined, hooks: JobHooks = {}): Promise<BackupResult> {
    const dest = path.resolve(destination ?? this.defaultBackupPath());
    if (dest === this.dbFile) throw new DomainError(commonErrorCodes.badRequest, 'A backup cannot overwrite the database it copies.');
    await fsp.mkdir(path.dirname(dest), { recursive: true, mode: PRIVATE_DIR_MODE });
    try {
      const r = await this.call('backup', { destination: dest }, { signal: hooks.signal, onProgress: (d, t) => hooks.progress?.(d, t, 'pages copied') });
      return { path: r.path, bytes: r.bytes, pages: r.pages, durationMs: r.durationMs };
    } catch (e) {
      if (hooks.signal?.aborted) throw abortError();
      if (isDiskFull(e) || (e instanceof DomainError && e.code === historyErrorCodes.diskFull)) {
        throw new DomainError(historyErrorCodes.diskFull, `The disk holding ${path.dirname(dest)} is full: the backup was not written. The database is unchanged.`);
      }
      throw e;
    }
  }

  /**
   * A zip of the case (case-export.ts), then its audit entry. Artifacts that fail their hash check are
   * left out and listed as problems.
   */
  async exportCase(caseId: string, destination: string, hooks: JobHooks = {}): Promise<ExportResult> {
    const detail = await this.getCase(caseId, true);
    const { result, entries } = await writeCaseExport(
      { caseId, detail, artifactStore: this.artifactStore, exportedBy: this.actor, schemaVersion: this.schemaVersion },
      destination,
      hooks,
    );
    await this.recordAudit({ action: 'case.export', entity: 'case', entityId: caseId, detail: { destination: result.path, entries, problems: result.problems.length } });
    return result;
  }

  // ---- opening another file, restoring ----

  /** Opens another existing database file (never creates one: a typo must not start an empty history). */
  async openStore(file: string): Promise<StoreStatus> {
    if (!existsSync(path.resolve(file))) throw new DomainError(historyErrorCodes.notFound, `No database at ${path.resolve(file)}.`);
    await this.closeDb();
    this.opening = this.openFile(file);
    await this.opening;
    if (this.state === 'open') await this.recordAudit({ action: 'store.open', entity: 'store', entityId: null, detail: { path: this.dbFile } });
    return this.status();
  }

  /**
   * Verifies the backup (read-only: header, schema version, quick_check), keeps the current file aside
   * unchanged (renamed to history.db.replaced-<time>, with its -wal/-shm), copies the backup in through a
   * synced temporary file, and opens it.
   */
  async restoreFromBackup(backupPath: string): Promise<StoreStatus> {
    const source = path.resolve(backupPath);
    if (!existsSync(source)) throw new DomainError(historyErrorCodes.backupInvalid, `No backup at ${source}.`);
    try {
      await this.worker.call('inspect', { file: source });
    } catch (e) {
      throw new DomainError(historyErrorCodes.backupInvalid, `The backup ${source} cannot be restored: ${e instanceof Error ? e.message : String(e)}`);
    }
    await this.closeDb();
    const stamp = new Date().toISOString().replace(/[-:.]/g, '');
    const keptAs = `${this.dbFile}.replaced-${stamp}`;
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(this.dbFile + suffix)) await fsp.rename(this.dbFile + suffix, keptAs + suffix);
    }
    const tmp = `${this.dbFile}.restoring`;
    await fsp.copyFile(source, tmp);
    restrictMode(tmp, PRIVATE_FILE_MODE); // copyFile keeps the backup's mode; the database is this user's only
    const h = await fsp.open(tmp, 'r+');
    await h.sync();
    await h.close();
    await fsp.rename(tmp, this.dbFile);
    this.opening = this.openFile(this.dbFile);
    await this.opening;
    if (this.state === 'open') {
      await this.recordAudit({ action: 'store.restore', entity: 'store', entityId: null, detail: { from: source, previousFileKeptAs: existsSync(keptAs) ? keptAs : null } });
    }
    return this.status();
  }

  private async closeDb(): Promise<void> {
    await this.opening;
    if (this.state === 'open') await this.worker.call('close', {});
    this.state = 'closed';
  }

  async close(): Promise<void> {
    await this.opening;
    await this.worker.close();
    this.state = 'closed';
  }
}
