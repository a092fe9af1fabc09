import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeArtifactFs, type ArtifactFs } from '../../../src-main/store/artifact-store';
import { HistoryService } from '../../../src-main/store/history-service';
import { tempDir } from './helpers/store-helpers';

/** A small real filesystem where one can be mounted (root on Linux); null elsewhere. */
function mountTmpfs(size: string): { dir: string; unmount: () => void } | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hg-tmpfs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return {
    dir,
    unmount: () => {
      spawnSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes a filler file until the filesystem says ENOSPC; returns its path. */
function fillDisk(dir: string): string {
  const file = path.join(dir, 'filler.bin');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(16 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    expect((e as { code?: string }).code).toBe('ENOSPC');
  } finally {
    closeSync(fd);
  }
  return file;
}

async function seedRuns(h: HistoryService, prefix: string, n: number): Promise<string[]> {
  await h.recordCase({ caseId: `${prefix}-case`, patientName: 'Full^Disk', studies: [] });
  const ids: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const runId = `${prefix}-run-${i}`;
    await h.recordCompletedRun({
      run: { runId, caseId: `${prefix}-case`, task: 'vqa', prompt: 'p', packId: 'p', packHash: 'h', executionProvider: 'cpu' },
      outputs: [{ outputId: `${runId}-o`, runId, kind: 'image', text: 'ok', artifacts: [{ bytes: randomBytes(20_000), mediaType: 'image/png', name: 'a.png' }] }],
      end: { runId, status: 'succeeded' },
    });
    ids.push(runId);
  }
  return ids;
}

async function expectIntact(h: HistoryService, prefix: string, ids: string[]): Promise<void> {
  const c = await h.getCase(`${prefix}-case`);
  expect(c.runs.map((r) => r.runId)).toEqual(ids);
  expect(c.problems).toEqual([]);
  const report = await h.check(true);
  expect(report.quickCheck).toEqual(['ok']);
  expect(report.artifacts.missing).toEqual([]);
  expect(report.artifacts.corrupt).toEqual([]);
}

function tmpFilesLeft(dataDir: string): string[] {
  try {
    return readdirSync(path.join(dataDir, 'artifacts', 'tmp'));
  } catch {
    return [];
  }
}

const mounted = mountTmpfs('3m');
afterAll(() => mounted?.unmount());

describe.skipIf(!mounted)('disk full on a real 3 MiB tmpfs', () => {
  it('refuses an artifact that does not fit, then a transaction on a full disk, with the store intact', async () => {
    const dir = path.join(mounted!.dir, 'data');
    mkdirSync(dir);
    const h = await HistoryService.start({ dataDir: dir });
    try {
      const ids = await seedRuns(h, 'tmpfs', 5);

      // 1. An artifact larger than the free space.
      const big = randomBytes(4 * 1024 * 1024);
      await expect(
        h.recordCompletedRun({
          run: { runId: 'too-big', caseId: 'tmpfs-case', task: 'sr', prompt: 'p', packId: 'p', packHash: 'h', executionProvider: 'cpu' },
          outputs: [{ outputId: 'too-big-o', runId: 'too-big', kind: 'series', artifacts: [{ bytes: big, mediaType: 'application/dicom', name: 's.dcm' }] }],
          end: { runId: 'too-big', status: 'succeeded' },
        }),
      ).rejects.toMatchObject({ code: 'DISK_FULL', message: expect.stringMatching(/is full.*nothing of it was recorded.*Earlier cases are intact/) });
      expect(tmpFilesLeft(dir)).toEqual([]);
      await expectIntact(h, 'tmpfs', ids);

      // 2. A transaction when the disk is full: SQLite cannot grow the WAL.
      const filler = fillDisk(mounted!.dir);
      await expect(
        h.recordCompletedRun({
          run: { runId: 'no-room', caseId: 'tmpfs-case', task: 'vqa', prompt: 'x'.repeat(1_500_000), packId: 'p', packHash: 'h', executionProvider: 'cpu' },
          outputs: [{ outputId: 'no-room-o', runId: 'no-room', kind: 'text', text: 'y'.repeat(500_000), artifacts: [] }],
          end: { runId: 'no-room', status: 'succeeded' },
        }),
      ).rejects.toMatchObject({ code: 'DISK_FULL', message: expect.stringMatching(/full.*rolled back.*Earlier cases are intact/) });
      // A backup to the full disk fails clearly and leaves nothing behind.
      await expect(h.backup(path.join(mounted!.dir, 'backup.db'))).rejects.toMatchObject({ code: 'DISK_FULL' });
      expect(readdirSync(mounted!.dir).filter((n) => n.startsWith('backup.db'))).toEqual([]);

      // Space comes back: the store is intact and takes writes again.
      rmSync(filler);
      await expectIntact(h, 'tmpfs', ids);
      const more = await seedRuns(h, 'after', 1);
      expect(more).toHaveLength(1);
    } finally {
      await h.close();
    }
    // And after a restart.
    const again = await HistoryService.start({ dataDir: dir });
    try {
      expect((await again.status()).state).toBe('open');
      const c = await again.getCase('tmpfs-case');
      expect(c.runs.map((r) => r.runId)).not.toContain('no-room');
      expect(c.runs.map((r) => r.runId)).not.toContain('too-big');
    } finally {
      await again.close();
    }
  }, 60_000);
});

describe('disk full, injected (runs everywhere)', () => {
  const tmp = tempDir('enospc');
  afterAll(() => tmp.cleanup());

  it('an ENOSPC in the middle of an artifact write: clear error, no partial file, no rows', async () => {
    let budget = Number.POSITIVE_INFINITY;
    const failingFs: ArtifactFs = {
      ...nodeArtifactFs,
      async open(file, flags) {
        const real = await nodeArtifactFs.open(file, flags);
        return {
          async write(buffer, offset, length) {
            if (length > budget) {
              const e = new Error('ENOSPC: no space left on device, write') as Error & { code: string };
              e.code = 'ENOSPC';
              // Some bytes reach the file before the error, as on a real disk.
              await real.write(buffer, offset, Math.max(0, Math.floor(budget)));
              throw e;
            }
            budget -= length;
            return real.write(buffer, offset, length);
          },
          sync: () => real.sync(),
          close: () => real.close(),
        };
      },
    };
    const dir = path.join(tmp.dir, 'a');
    const h = await HistoryService.start({ dataDir: dir, fs: failingFs });
    try {
      const ids = await seedRuns(h, 'inj', 3);
      budget = 10_000;
      await expect(
        h.recordOutput({ outputId: 'o-fail', runId: ids[0]!, kind: 'image', artifacts: [{ bytes: randomBytes(50_000), mediaType: 'image/png', name: 'x.png' }] }),
      ).rejects.toMatchObject({ code: 'DISK_FULL' });
      expect(tmpFilesLeft(dir)).toEqual([]);
      budget = Number.POSITIVE_INFINITY;
      await expectIntact(h, 'inj', ids);
      const c = await h.getCase('inj-case');
      expect(c.runs[0]!.outputs.map((o) => o.outputId)).toEqual([`${ids[0]}-o`]);
    } finally {
      await h.close();
    }
  });

  it('SQLITE_FULL inside a transaction (page quota): rolled back, clear error, earlier cases intact', async () => {
    const dir = path.join(tmp.dir, 'b');
    const first = await HistoryService.start({ dataDir: dir });
    const ids = await seedRuns(first, 'quota', 3);
    await first.close();
    const pages = (() => {
      const db = new Database(path.join(dir, 'history.db'), { readonly: true });
      try {
        return db.pragma('page_count', { simple: true }) as number;
      } finally {
        db.close();
      }
    })();
    const h = await HistoryService.start({ dataDir: dir, open: { maxPageCount: pages + 10 } });
    try {
      await expect(
        h.recordCompletedRun({
          run: { runId: 'over', caseId: 'quota-case', task: 'vqa', prompt: 'p', packId: 'p', packHash: 'h', executionProvider: 'cpu' },
          outputs: [{ outputId: 'over-o', runId: 'over', kind: 'text', text: 'z'.repeat(400_000), artifacts: [] }],
          end: { runId: 'over', status: 'succeeded' },
        }),
      ).rejects.toMatchObject({ code: 'DISK_FULL', message: expect.stringMatching(/rolled back/) });
      await expectIntact(h, 'quota', ids);
      const c = await h.getCase('quota-case');
      expect(c.runs.map((r) => r.runId)).toEqual(ids);
      // A small write still fits.
      await h.recordReview({ runId: ids[0]!, decision: 'accepted' });
    } finally {
      await h.close();
    }
  });
});
