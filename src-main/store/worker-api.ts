import { closeSync, fsyncSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import type { CaseList } from '../../src-shared/contracts/history';
import type { NewPacsTransfer, PacsTransfer } from '../../src-shared/contracts/pacs';
import { PRIVATE_FILE_MODE, restrictMode } from '../fs/private-files';
import { createAuditMirror } from '../policy/audit-mirror';
import { closeDatabase, inspectDatabaseFile, openHistoryDatabase, type OpenOptions } from './database';
import { storeCheckRows, type StoreCheckRows } from './check-queries';
import { HistoryDb, type CaseRows, type ParsedCaseQuery } from './history-db';
import { recoverInterruptedRuns, restoreTriggersAtOpen } from './open-repair';
import type { AuditEntry, NewCase, NewOutput, NewReview, NewRun, NewSeries, NewStudy, RunEnd, StoredArtifact } from './history-types';

/** What a call may do besides returning: report progress, notice a cancel. */
export interface WorkerCallContext {
  progress(done: number, total: number): void;
  readonly cancelled: () => boolean;
}

type NoArg = Record<string, never>;

export interface WorkerState {
  history: HistoryDb | null;
}

function need(state: WorkerState): HistoryDb {
  if (!state.history) throw Object.assign(new Error('The history store is not open.'), { code: 'STORE_CLOSED' });
  return state.history;
}

/**
 * The operations the SQL worker serves, one argument each. The main-side client is typed from this
 * object (WorkerApi below), so a call with a wrong name or argument does not compile.
 */
export function createWorkerApi(state: WorkerState) {
  return {
    /**
     * Opens (checked, migrated), then repairs what must be right before use: protective triggers put back,
     * runs whose process is gone marked interrupted and their partial files under `generatedDir` removed.
     */
    open(arg: { file: string; actor: string; options: OpenOptions; auditMirror: { path: string; host: string } | null; generatedDir: string | null }, _ctx: WorkerCallContext) {
      if (state.history) closeDatabase(state.history.db);
      state.history = null;
      const opened = openHistoryDatabase(arg.file, arg.options);
      const mirror = arg.auditMirror ? createAuditMirror(arg.auditMirror.path, arg.auditMirror.host) : null;
      const history = new HistoryDb(opened.db, arg.actor, undefined, mirror);
      try {
        const restoredTriggers = restoreTriggersAtOpen(history);
        const interruptedRuns = recoverInterruptedRuns(history, arg.generatedDir);
        state.history = history;
        return { schemaVersion: opened.schemaVersion, migratedFrom: opened.migratedFrom, quickCheck: history.quickCheck(), restoredTriggers, interruptedRuns };
      } catch (e) {
        closeDatabase(opened.db);
        throw e;
      }
    },
    /** The last failure to copy an audit record to the policy's audit file, if any. */
    mirrorProblem(_arg: NoArg, _ctx: WorkerCallContext): string | null {
      return state.history?.mirrorProblem ?? null;
    },
    close(_arg: NoArg, _ctx: WorkerCallContext): void {
      if (state.history) closeDatabase(state.history.db);
      state.history = null;
    },
    /** Read-only inspection of any database file (a backup before restoring it): refuses like open does. */
    inspect(arg: { file: string }, _ctx: WorkerCallContext) {
      return inspectDatabaseFile(arg.file);
    },
    recordCase(arg: NewCase, _ctx: WorkerCallContext) {
      return need(state).recordCase(arg);
    },
    ensureCase(arg: NewCase, _ctx: WorkerCallContext) {
      return need(state).ensureCase(arg);
    },
    caseOfRun(arg: { runId: string }, _ctx: WorkerCallContext): string | null {
      return need(state).caseOfRun(arg.runId);
    },
    runOfGeneratedSeries(arg: { seriesUid: string }, _ctx: WorkerCallContext): string | null {
      return need(state).runOfGeneratedSeries(arg.seriesUid);
    },
    recordStudy(arg: { caseId: string; study: NewStudy }, _ctx: WorkerCallContext) {
      return need(state).recordStudy(arg);
    },
    recordSeries(arg: { studyId: string; series: NewSeries }, _ctx: WorkerCallContext) {
      return need(state).recordSeries(arg);
    },
    recordRun(arg: NewRun, _ctx: WorkerCallContext) {
      return need(state).recordRun(arg);
    },
    finishRun(arg: RunEnd, _ctx: WorkerCallContext): void {
      need(state).finishRun(arg);
    },
    recordOutput(arg: NewOutput, _ctx: WorkerCallContext) {
      return need(state).recordOutput(arg);
    },
    recordCompletedRun(arg: { run: NewRun; outputs: NewOutput[]; end: RunEnd }, _ctx: WorkerCallContext) {
      return need(state).recordCompletedRun(arg);
    },
    recordReview(arg: NewReview, _ctx: WorkerCallContext) {
      return need(state).recordReview(arg);
    },
    recordAudit(arg: AuditEntry, _ctx: WorkerCallContext): void {
      need(state).recordAudit(arg);
    },
    recordPacsTransfer(arg: NewPacsTransfer, _ctx: WorkerCallContext): void {
      need(state).recordPacsTransfer(arg);
    },
    listPacsTransfers(arg: { studyUid: string | null }, _ctx: WorkerCallContext): PacsTransfer[] {
      return need(state).listPacsTransfers(arg.studyUid);
    },
    listCases(arg: ParsedCaseQuery, _ctx: WorkerCallContext): CaseList {
      return need(state).listCases(arg);
    },
    getCase(arg: { caseId: string }, _ctx: WorkerCallContext): CaseRows | null {
      return need(state).getCase(arg.caseId);
    },
    runExists(arg: { runId: string }, _ctx: WorkerCallContext): boolean {
      return need(state).runExists(arg.runId);
    },
    artifact(arg: { hash: string }, _ctx: WorkerCallContext): StoredArtifact | null {
      return need(state).artifact(arg.hash);
    },
    referencedArtifacts(_arg: NoArg, _ctx: WorkerCallContext) {
      return need(state).referencedArtifacts();
    },
    integrity(_arg: NoArg, _ctx: WorkerCallContext) {
      return need(state).integrity();
    },
    /** Audit chain, protective triggers, interrupted runs and generated folders, for `check`. */
    checkRows(_arg: NoArg, _ctx: WorkerCallContext): StoreCheckRows {
      return storeCheckRows(need(state).db);
    },
    /**
     * Online backup with SQLite's backup API, into a temporary file beside the destination: checked with
     * quick_check, fsynced, then renamed over the destination, so a backup file is whole or absent.
     */
    async backup(arg: { destination: string; pagesPerStep?: number }, ctx: WorkerCallContext) {
      const history = need(state);
      const started = Date.now();
      const tmp = `${arg.destination}.partial-${process.pid}-${started}`;
      const step = arg.pagesPerStep ?? 2048;
      try {
        const meta = await history.db.backup(tmp, {
          progress: ({ totalPages, remainingPages }) => {
            if (ctx.cancelled()) throw Object.assign(new Error('The backup was cancelled.'), { name: 'AbortError' });
            ctx.progress(totalPages - remainingPages, totalPages);
            return step;
          },
        });
        const check = inspectDatabaseFile(tmp);
        restrictMode(tmp, PRIVATE_FILE_MODE); // a copy of the patient data: this user only
        const fd = openSync(tmp, 'r+');
        try {
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, arg.destination);
        history.recordAudit({ action: 'store.backup', entity: 'store', entityId: null, detail: { destination: arg.destination, pages: meta.totalPages } });
        return { path: arg.destination, bytes: statSync(arg.destination).size, pages: meta.totalPages, durationMs: Date.now() - started, schemaVersion: check.schemaVersion };
      } finally {
        rmSync(tmp, { force: true });
        rmSync(`${tmp}-wal`, { force: true });
        rmSync(`${tmp}-shm`, { force: true });
      }
    },
  };
}

export type WorkerApi = ReturnType<typeof createWorkerApi>;
export type WorkerMethod = keyof WorkerApi;
export type ArgOf<K extends WorkerMethod> = Parameters<WorkerApi[K]>[0];
export type ResultOf<K extends WorkerMethod> = Awaited<ReturnType<WorkerApi[K]>>;

/** Numbered messages between main and the worker. */
export type ToWorker =
  | { type: 'call'; seq: number; method: WorkerMethod; arg: unknown }
  | { type: 'cancel'; seq: number };

export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  reason?: string;
  schemaVersion?: number | null;
}

export type FromWorker =
  | { type: 'result'; seq: number; value: unknown }
  | { type: 'error'; seq: number; error: SerializedError }
  | { type: 'progress'; seq: number; done: number; total: number };
