import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { PRIVATE_FILE_MODE, restrictMode } from '../fs/private-files';
import Database from 'better-sqlite3';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from './migrations';
import { forgetStatements } from './sql';

export type RefusalReason = 'corrupt' | 'newer-schema' | 'unreadable';

/** The database file was not opened for writing; it was left exactly as it was. */
export class StoreRefusedError extends Error {
  override name = 'StoreRefusedError';
  constructor(
    readonly reason: RefusalReason,
    message: string,
    readonly schemaVersion: number | null = null,
  ) {
    super(message);
  }
}

export interface OpenOptions {
  /**
   * Largest database size in pages (4 KiB each). SQLite answers SQLITE_FULL beyond it, exactly as on a
   * full disk: a storage quota, and the seam the disk-full tests use where no small filesystem can be
   * mounted.
   */
  maxPageCount?: number;
  /** Milliseconds a connection waits for another one's write lock before giving up. */
  busyTimeoutMs?: number;
}

export interface OpenedDatabase {
  db: Database.Database;
  schemaVersion: number;
  migratedFrom: number;
}

const SQLITE_MAGIC = 'SQLite format 3\u0000';

/** Reads the 100-byte header without SQLite: refuses garbage and newer schemas before any open. */
function readHeader(file: string): { userVersion: number } | 'not-sqlite' {
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(100);
    const n = readSync(fd, header, 0, 100, 0);
    if (n < 100 || header.toString('latin1', 0, 16) !== SQLITE_MAGIC) return 'not-sqlite';
    return { userVersion: header.readUInt32BE(60) };
  } finally {
    closeSync(fd);
  }
}

function newerMessage(file: string, version: number): string {
  return (
    `The history database ${file} was written by a newer version of HealthGPT Workstation (schema ${version}; ` +
    `this version understands up to ${LATEST_SCHEMA_VERSION}). It was not opened and has not been changed. ` +
    'Update the app, open another database, or restore a backup.'
  );
}

function corruptMessage(file: string, detail: string): string {
  return (
    `The history database ${file} is damaged (${detail}). It was not opened for writing and has not been changed. ` +
    'Restore it from a backup or open another database; keep the damaged file for investigation.'
  );
}

function sqliteCode(e: unknown): string | undefined {
  return (e as { code?: unknown }).code as string | undefined;
}

/**
 * Checks an existing database file read-only: SQLite header, schema version, PRAGMA quick_check.
 * Throws StoreRefusedError (the file untouched) or returns its schema version.
 */
export function inspectDatabaseFile(file: string): { schemaVersion: number; quickCheck: string[] } {
  let header: ReturnType<typeof readHeader>;
  try {
    if (statSync(file).size === 0) return { schemaVersion: 0, quickCheck: ['ok'] };
    header = readHeader(file);
  } catch (e) {
    throw new StoreRefusedError('unreadable', `The history database ${file} cannot be read: ${(e as Error).message}`);
  }
  if (header === 'not-sqlite') throw new StoreRefusedError('corrupt', corruptMessage(file, 'it is not an SQLite database'));
  if (header.userVersion > LATEST_SCHEMA_VERSION) {
    throw new StoreRefusedError('newer-schema', newerMessage(file, header.userVersion), header.userVersion);
  }
  let ro: Database.Database | null = null;
  try {
    ro = new Database(file, { readonly: true, fileMustExist: true });
    // The header can be stale when a WAL holds newer pages: ask SQLite too.
    const version = ro.pragma('user_version', { simple: true }) as number;
    if (version > LATEST_SCHEMA_VERSION) throw new StoreRefusedError('newer-schema', newerMessage(file, version), version);
    const rows = ro.pragma('quick_check(20)') as Array<{ quick_check: string }>;
    const quickCheck = rows.map((r) => r.quick_check);
    if (quickCheck.length !== 1 || quickCheck[0] !== 'ok') {
      throw new StoreRefusedError('corrupt', corruptMessage(file, `quick_check: ${quickCheck.slice(0, 3).join('; ')}`), version);
    }
    return { schemaVersion: version, quickCheck };
  } catch (e) {
    if (e instanceof StoreRefusedError) throw e;
    const code = sqliteCode(e) ?? '';
    if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
      throw new StoreRefusedError('corrupt', corruptMessage(file, (e as Error).message));
    }
    throw new StoreRefusedError('unreadable', `The history database ${file} cannot be opened: ${(e as Error).message}`);
  } finally {
    ro?.close();
  }
}

/**
 * Connection settings for the one writing connection:
 * - journal_mode=WAL: readers never wait for the writer and the writer never waits for readers;
 * - synchronous=FULL: every commit syncs the WAL before it is reported. With NORMAL a commit survives an
 *   app crash but can be lost on power failure; here a "committed" run is medical-legal evidence and a
 *   commit is one fsync, which batching (one transaction per run with its outputs) keeps cheap;
 * - foreign_keys=ON; busy_timeout so another process's write (CLI, backup) waits instead of failing;
 * - trusted_schema=OFF: nothing in the file can make a query call functions with side effects;
 * - cache_size 64 MiB (the default 2 MiB makes a 100,000-run search re-read pages from the OS).
 */
function configure(db: Database.Database, options: OpenOptions): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('trusted_schema = OFF');
  db.pragma('cache_size = -65536'); // up to 64 MiB of page cache: search scans the cases table whole
  const busy = Math.trunc(options.busyTimeoutMs ?? 10_000);
  db.pragma(`busy_timeout = ${busy}`); // PRAGMA values cannot be bound; `busy` is an integer we computed.
  if (options.maxPageCount !== undefined) {
    db.pragma(`max_page_count = ${Math.trunc(options.maxPageCount)}`);
  }
}

/** Applies every migration newer than the file's user_version, each in its own transaction. */
export function migrate(db: Database.Database, upTo: number = LATEST_SCHEMA_VERSION): { from: number; to: number } {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from > LATEST_SCHEMA_VERSION) {
    throw new StoreRefusedError('newer-schema', newerMessage(db.name, from), from);
  }
  for (const m of MIGRATIONS) {
    if (m.version <= from || m.version > upTo) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`); // an integer from the registry, not input
    }).immediate();
  }
  return { from, to: db.pragma('user_version', { simple: true }) as number };
}

/**
 * Opens (creating if needed) the history database: inspected read-only first, so a damaged or newer file
 * is refused without a single byte written; then opened for writing, configured and migrated.
 */
export function openHistoryDatabase(file: string, options: OpenOptions = {}): OpenedDatabase {
  if (existsSync(file)) inspectDatabaseFile(file);
  else closeSync(openSync(file, 'wx', PRIVATE_FILE_MODE)); // an empty file is a new database to SQLite
  // Patient data: this user only. SQLite gives the -wal and -shm it creates the database file's mode;
  // those an earlier version left 0644 are tightened here.
  restrictMode(file, PRIVATE_FILE_MODE);
  const db = new Database(file);
  try {
    configure(db, options);
    for (const suffix of ['-wal', '-shm']) restrictMode(file + suffix, PRIVATE_FILE_MODE);
    const { from, to } = migrate(db);
    return { db, schemaVersion: to, migratedFrom: from };
  } catch (e) {
    closeDatabase(db);
    throw e;
  }
}

export function closeDatabase(db: Database.Database): void {
  forgetStatements(db);
  if (db.open) db.close();
}
