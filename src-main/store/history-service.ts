import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { Zip, type ZipInputFile } from 'fflate';
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
  type RunRecord,
  type StoreStatus,
} from '../../src-shared/contracts/history';
import { commonErrorCodes, DomainError } from '../../src-shared/ipc/envelope';
import { isDiskFull } from '../fs/disk-full';
import { ArtifactStore, type ArtifactFs } from './artifact-store';
import type { OpenOptions } from './database';
import type { ParsedCaseQuery } from './history-db';
import type { AuditEntry, NewCase, NewOutput, NewReview, NewRun, NewSeries, NewStudy, RunEnd, StoredArtifact } from './history-types';
import { LATEST_SCHEMA_VERSION } from './migrations';
import { SqlWorkerClient, WorkerCallError } from './sql-worker-client';
import type { ArgOf, ResultOf, WorkerMethod } from './worker-api';

const deflateRawAsync = promisify(zlib.deflateRaw);

let crcTable: Uint32Array | null = null;
/** CRC-32 for zip entries: node:zlib's (Node >= 20.15, native) or a table-driven fallback. */
function crc32(bytes: Uint8Array): number {
  const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;
  if (native) return native(bytes);
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n += 1) {
      let c = n;
      for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i += 1) crc = (crcTable[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8)) >>> 0;
  return (crc ^ 0xffffffff) >>> 0;
}

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

function extensionFor(mediaType: string): string {
  const known: Record<string, string> = {
    'image/png': '.png',
    'image/jpeg': '.jpg',
    'application/dicom': '.dcm',
    'application/json': '.json',
    'text/plain': '.txt',
    'application/octet-stream': '.bin',
  };
  return known[mediaType] ?? '.bin';
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
      await fsp.mkdir(path.dirname(this.dbFile), { recursive: true });
      const opened = await this.worker.call('open', {
        file: this.dbFile,
        actor: this.actor,
        options: this.options.open ?? {},
        auditMirror: this.options.auditMirror ?? null,
      });
      this.schemaVersion = opened.schemaVersion;
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

  /** Database integrity (integrity_check, foreign keys) and every referenced artifact hashed again. */
  async check(verifyArtifacts = true, hooks: JobHooks = {}): Promise<CheckReport> {
    const started = Date.now();
    const integrity = await this.call('integrity', {});
    const refs = await this.call('referencedArtifacts', {});
    const missing: string[] = [];
    const corrupt: string[] = [];
    let ok = 0;
    if (verifyArtifacts) {
      let i = 0;
      for (const r of refs) {
        if (hooks.signal?.aborted) throw abortError();
        const status = await this.artifactStore.check(r.hash);
        if (status === 'ok') ok += 1;
        else (status === 'missing' ? missing : corrupt).push(r.hash);
        hooks.progress?.((i += 1), refs.length);
      }
    }
    const referenced = new Set(refs.map((r) => r.hash));
    const onDisk = await this.artifactStore.listHashes();
    return {
      ok: integrity.integrity.length === 1 && integrity.integrity[0] === 'ok' && integrity.foreignKeyViolations === 0 && missing.length === 0 && corrupt.length === 0,
      quickCheck: integrity.integrity,
      foreignKeyViolations: integrity.foreignKeyViolations,
      artifacts: { checked: verifyArtifacts ? refs.length : 0, ok, missing, corrupt },
      unreferencedFiles: onDisk.filter((h) => !referenced.has(h)).length,
      schemaVersion: integrity.schemaVersion,
      durationMs: Date.now() - started,
    };
  }

  // ---- jobs ----

  defaultBackupPath(now = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
    return path.join(this.backupsDir(), `history-${stamp}.db`);
  }

  async backup(destination: string | undefined, hooks: JobHooks = {}): Promise<BackupResult> {
    const dest = path.resolve(destination ?? this.defaultBackupPath());
    if (dest === this.dbFile) throw new DomainError(commonErrorCodes.badRequest, 'A backup cannot overwrite the database it copies.');
    await fsp.mkdir(path.dirname(dest), { recursive: true });
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
   * A zip of the case: case.json (everything recorded, artifact statuses verified), artifacts/<sha256>.<ext>
   * for every artifact that passes its hash check, and manifest.json with the sha256 and size of every
   * entry. Written to a temporary file, synced, then linked to the destination, which must not exist.
   */
  async exportCase(caseId: string, destination: string, hooks: JobHooks = {}): Promise<ExportResult> {
    const detail = await this.getCase(caseId, true);
    const dest = path.resolve(destination);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.partial-${process.pid}-${Date.now()}`;
    const fh = await fsp.open(tmp, 'wx');
    const zipHash = createHash('sha256');
    let written = 0;
    const chunks: Uint8Array[] = [];
    let zipError: Error | null = null;
    const zip = new Zip((e, data) => {
      if (e) zipError = e;
      else chunks.push(data);
    });
    const flush = async () => {
      if (zipError) throw zipError;
      for (const c of chunks.splice(0)) {
        zipHash.update(c);
        let off = 0;
        while (off < c.byteLength) off += (await fh.write(c, off, c.byteLength - off)).bytesWritten;
        written += c.byteLength;
      }
    };
    const entries: Array<{ path: string; sha256: string; size: number }> = [];
    /**
     * Deflate runs in libuv's thread pool (node:zlib), never on the event loop; fflate only frames the
     * zip. `knownHash`: an artifact's bytes were just verified against their name, no need to hash again.
     */
    const add = async (name: string, bytes: Uint8Array<ArrayBuffer>, level: 0 | 1 | 6, knownHash?: string) => {
      const data = level === 0 ? bytes : await deflateRawAsync(bytes, { level });
      const file: ZipInputFile = { filename: name, size: bytes.byteLength, crc: crc32(bytes), compression: level === 0 ? 0 : 8 };
      zip.add(file);
      file.ondata?.(null, data, true);
      await flush();
      entries.push({ path: name, sha256: knownHash ?? createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength });
    };
    try {
      const artifacts = new Map<string, { mediaType: string; name: string }>();
      for (const r of detail.runs) for (const o of r.outputs) for (const a of o.artifacts) if (a.status === 'ok') artifacts.set(a.hash, a);
      let done = 0;
      const total = artifacts.size + 2;
      const problems = [...detail.problems];
      for (const [hash, a] of artifacts) {
        if (hooks.signal?.aborted) throw abortError();
        let bytes: Uint8Array<ArrayBuffer>;
        try {
          bytes = await this.artifactStore.read(hash);
        } catch (e) {
          if (e instanceof DomainError) {
            problems.push({ hash, status: e.code === historyErrorCodes.artifactMissing ? 'missing' : 'corrupt', message: e.message });
            continue;
          }
          throw e;
        }
        // PNG/JPEG are compressed already: stored as they are; DICOM and the rest get fast deflate.
        await add(`artifacts/${hash}${extensionFor(a.mediaType)}`, bytes, /^image\/(png|jpeg)$/.test(a.mediaType) ? 0 : 1, hash);
        hooks.progress?.((done += 1), total, a.name);
      }
      const enc = new TextEncoder();
      await add('case.json', enc.encode(JSON.stringify({ format: 'healthgpt-case/1', ...detail, problems }, null, 2)), 6);
      const manifest = {
        format: 'healthgpt-case-export/1',
        caseId,
        exportedAt: new Date().toISOString(),
        exportedBy: this.actor,
        schemaVersion: this.schemaVersion,
        entries,
        problems,
      };
      await add('manifest.json', enc.encode(JSON.stringify(manifest, null, 2)), 6);
      zip.end();
      await flush();
      await fh.sync();
      await fh.close();
      // A link fails atomically on an existing name: an export never replaces a file.
      await fsp.link(tmp, dest);
      await fsp.rm(tmp, { force: true });
      hooks.progress?.(total, total);
      await this.recordAudit({ action: 'case.export', entity: 'case', entityId: caseId, detail: { destination: dest, entries: entries.length, problems: problems.length } });
      return { path: dest, bytes: written, artifacts: entries.length - 2, sha256: zipHash.digest('hex'), problems };
    } catch (e) {
      await fh.close().catch(() => {});
      await fsp.rm(tmp, { force: true });
      if (isDiskFull(e)) throw new DomainError(historyErrorCodes.diskFull, `The disk holding ${path.dirname(dest)} is full: the export was not written.`);
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new DomainError(commonErrorCodes.badRequest, `${dest} already exists and is never replaced: the export was not written.`);
      throw e;
    }
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
