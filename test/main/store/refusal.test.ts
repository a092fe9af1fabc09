import Database from 'better-sqlite3';
import { closeSync, copyFileSync, existsSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { directCall } from '../../../src-main/cli/direct-call';
import { createServices } from '../../../src-main/services';
import { HistoryService } from '../../../src-main/store/history-service';
import { LATEST_SCHEMA_VERSION } from '../../../src-main/store/migrations';
import { fileSha256, tempDir } from './helpers/store-helpers';
import { runHealthgptInProcess } from '../../support/cli-runner';

const cleanups: Array<() => void> = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()?.();
});

/** A store with some cases, closed cleanly (WAL checkpointed into the main file), plus a backup of it. */
async function makeStore(cases = 300): Promise<{ dir: string; db: string; backup: string }> {
  const t = tempDir('refuse');
  cleanups.push(t.cleanup);
  const h = await HistoryService.start({ dataDir: t.dir });
  for (let i = 0; i < cases; i += 1) {
    await h.recordCase({
      caseId: `case-${i}`,
      patientName: `Patient^${i}`,
      studies: [{ studyId: `s-${i}`, studyUid: `1.2.3.${i}`, description: 'x'.repeat(200), series: [] }],
    });
  }
  const backup = (await h.backup(undefined)).path;
  await h.close();
  return { dir: t.dir, db: path.join(t.dir, 'history.db'), backup };
}

function overwrite(file: string, offset: number, bytes: Buffer): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

function dbFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith('history.db')).sort();
}

describe('a database the app must not open', () => {
  it('refuses a schema newer than the app, leaves the file byte-identical, and the app still starts', async () => {
    const { dir, db } = await makeStore(20);
    const raw = new Database(db);
    raw.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 5}`);
    raw.close();
    const before = fileSha256(db);
    const filesBefore = dbFiles(dir);

    const services = await createServices({ mode: 'test', dataDir: dir });
    try {
      await services.history.ready();
      const status = await directCall(services, 'history', 'status', {});
      expect(status).toMatchObject({ state: 'refused', reason: 'newer-schema', schemaVersion: LATEST_SCHEMA_VERSION + 5, appSchemaVersion: LATEST_SCHEMA_VERSION });
      expect(status.message).toMatch(/newer version of HealthGPT Workstation.*not been changed/);
      expect(status.backups).toHaveLength(1);
      await expect(directCall(services, 'history', 'listCases', {})).rejects.toMatchObject({ code: 'STORE_REFUSED' });
      await expect(services.history.recordCase({ caseId: 'new', studies: [] })).rejects.toMatchObject({ code: 'STORE_REFUSED' });
      await expect(services.history.recordOutput({ outputId: 'o', runId: 'r', kind: 'image', artifacts: [{ bytes: new Uint8Array(10), mediaType: 'image/png', name: 'x' }] })).rejects.toMatchObject({
        code: 'STORE_REFUSED',
      });
      // Other domains keep working.
      expect((await directCall(services, 'app', 'ping', { sentAt: 1 })).sentAt).toBe(1);
    } finally {
      await services.close();
    }
    expect(fileSha256(db)).toBe(before);
    expect(dbFiles(dir)).toEqual(filesBefore);
    expect(existsSync(path.join(dir, 'artifacts'))).toBe(false); // nothing was written for the refused output
  });

  it('refuses a file that is not a database (garbage header), untouched', async () => {
    const { dir, db } = await makeStore(20);
    overwrite(db, 0, Buffer.from('this is not sqlite at all'));
    const before = fileSha256(db);
    const h = await HistoryService.start({ dataDir: dir });
    try {
      const status = await h.status();
      expect(status).toMatchObject({ state: 'refused', reason: 'corrupt' });
      expect(status.message).toMatch(/damaged \(it is not an SQLite database\)/);
    } finally {
      await h.close();
    }
    expect(fileSha256(db)).toBe(before);
  });

  it('refuses a database with damaged pages (quick_check fails), untouched, then restores from a backup', async () => {
    const { dir, db, backup } = await makeStore(600);
    const pages = statSync(db).size / 4096;
    expect(pages).toBeGreaterThan(20);
    // Scribble over the b-tree headers of pages in the middle of the file.
    for (let p = Math.floor(pages / 2); p < Math.floor(pages / 2) + 3; p += 1) overwrite(db, p * 4096, Buffer.alloc(64, 0x5a));
    const before = fileSha256(db);

    const h = await HistoryService.start({ dataDir: dir });
    try {
      const status = await h.status();
      expect(status).toMatchObject({ state: 'refused', reason: 'corrupt' });
      expect(status.message).toMatch(/is damaged .*has not been changed/);
      expect(fileSha256(db)).toBe(before);

      // A damaged "backup" is refused too, and the store stays as it was.
      const badBackup = path.join(dir, 'backups', 'bad.db');
      copyFileSync(db, badBackup);
      await expect(h.restoreFromBackup(badBackup)).rejects.toMatchObject({ code: 'BACKUP_INVALID' });
      expect((await h.status()).state).toBe('refused');

      const restored = await h.restoreFromBackup(backup);
      expect(restored).toMatchObject({ state: 'open', reason: null, schemaVersion: LATEST_SCHEMA_VERSION });
      expect((await h.listCases({ limit: 1, offset: 0 })).total).toBe(600);
      expect((await h.check(true)).ok).toBe(true);
    } finally {
      await h.close();
    }
    // The damaged file was kept aside, byte-identical, for investigation.
    const kept = readdirSync(dir).filter((n) => /^history\.db\.replaced-[0-9TZ]+$/.test(n));
    expect(kept).toHaveLength(1);
    expect(fileSha256(path.join(dir, kept[0]!))).toBe(before);
    const audit = new Database(db, { readonly: true });
    try {
      expect((audit.prepare(`SELECT count(*) AS n FROM audit_log WHERE action = 'store.restore'`).get() as { n: number }).n).toBe(1);
    } finally {
      audit.close();
    }
  });

  it('opens another database when asked', async () => {
    const a = await makeStore(5);
    const b = await makeStore(9);
    overwrite(a.db, 0, Buffer.from('garbage garbage garbage'));
    const h = await HistoryService.start({ dataDir: a.dir });
    try {
      expect((await h.status()).state).toBe('refused');
      await expect(h.openStore(path.join(b.dir, 'typo.db'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect(existsSync(path.join(b.dir, 'typo.db'))).toBe(false);
      expect((await h.status()).state).toBe('refused');
      const status = await h.openStore(b.db);
      expect(status).toMatchObject({ state: 'open', path: b.db });
      expect((await h.listCases({ limit: 50, offset: 0 })).total).toBe(9);
    } finally {
      await h.close();
    }
  });

  it('`healthgpt history check --json` reports the refusal with exit code 1', async () => {
    const { dir, db } = await makeStore(5);
    const raw = new Database(db);
    raw.pragma('user_version = 999');
    raw.close();
    const r = await runHealthgptInProcess(['history', 'check', '--json'], dir);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, store: { state: 'refused', reason: 'newer-schema' } });
  }, 60_000);
});
