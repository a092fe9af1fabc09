import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../fs/private-files';
import { historyErrorCodes } from '../../src-shared/contracts/history';
import { DomainError } from '../../src-shared/ipc/envelope';
import { isDiskFull } from '../fs/disk-full';

export type ArtifactCheck = 'ok' | 'missing' | 'corrupt';

/** The few file operations the store makes: the seam through which tests inject faults (ENOSPC). */
export interface ArtifactFile {
  write(buffer: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface ArtifactFs {
  open(file: string, flags: string): Promise<ArtifactFile>;
  rename(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  mkdir(dir: string): Promise<void>;
  /** fsync a directory so a rename in it is durable (no-op where the platform cannot). */
  syncDir(dir: string): Promise<void>;
}

export const nodeArtifactFs: ArtifactFs = {
  open: (file, flags) => fsp.open(file, flags, PRIVATE_FILE_MODE), // artifacts are patient data: this user only
  rename: (from, to) => fsp.rename(from, to),
  unlink: (file) => fsp.unlink(file),
  mkdir: async (dir) => {
    await fsp.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  },
  async syncDir(dir) {
    if (process.platform === 'win32') return;
    const h = await fsp.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  },
};

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const HASH_RE = /^[0-9a-f]{64}$/;

/**
 * Generated images and exported files, content-addressed: <root>/<ab>/<sha256>. A file is written to
 * <root>/tmp, fsynced, renamed into place and the folder fsynced, so a path either holds the whole
 * content whose hash it is named by, or nothing. Reads hash the bytes again and refuse a mismatch.
 */
export class ArtifactStore {
  constructor(
    readonly root: string,
    private readonly fs: ArtifactFs = nodeArtifactFs,
  ) {}

  pathFor(hash: string): string {
    if (!HASH_RE.test(hash)) throw new DomainError('BAD_REQUEST', `not an artifact hash: ${hash.slice(0, 80)}`);
    return path.join(this.root, hash.slice(0, 2), hash);
  }

  async put(bytes: Uint8Array): Promise<{ hash: string; size: number }> {
    const hash = sha256Hex(bytes);
    const final = this.pathFor(hash);
    if ((await this.check(hash)) === 'ok') return { hash, size: bytes.byteLength };
    const tmpDir = path.join(this.root, 'tmp');
    const tmp = path.join(tmpDir, `${hash}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    let file: ArtifactFile | null = null;
    try {
      await this.fs.mkdir(tmpDir);
      await this.fs.mkdir(path.dirname(final));
      file = await this.fs.open(tmp, 'wx');
      let offset = 0;
      while (offset < bytes.byteLength) {
        const { bytesWritten } = await file.write(bytes, offset, Math.min(bytes.byteLength - offset, 1 << 20));
        if (bytesWritten <= 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
        offset += bytesWritten;
      }
      await file.sync();
      await file.close();
      file = null;
      await this.fs.rename(tmp, final);
      await this.fs.syncDir(path.dirname(final));
      return { hash, size: bytes.byteLength };
    } catch (e) {
      if (file) await file.close().catch(() => {});
      await this.fs.unlink(tmp).catch(() => {});
      if (isDiskFull(e)) {
        throw new DomainError(
          historyErrorCodes.diskFull,
          `The disk holding ${this.root} is full: the ${bytes.byteLength}-byte result could not be saved, and nothing of it was recorded. Earlier cases are intact. Free some space and run again.`,
        );
      }
      throw e;
    }
  }

  /** Hashes the file on disk (streamed): 'ok' only when the bytes match their name. */
  async check(hash: string): Promise<ArtifactCheck> {
    const file = this.pathFor(hash);
    try {
      const h = createHash('sha256');
      await new Promise<void>((resolve, reject) => {
        createReadStream(file, { highWaterMark: 1 << 20 })
          .on('data', (chunk) => h.update(chunk))
          .on('error', reject)
          .on('end', resolve);
      });
      return h.digest('hex') === hash ? 'ok' : 'corrupt';
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return 'missing';
      throw e;
    }
  }

  /** The bytes, verified; a missing or corrupted artifact is an error, never returned as if valid. */
  async read(hash: string): Promise<Uint8Array<ArrayBuffer>> {
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(this.pathFor(hash));
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') {
        throw new DomainError(historyErrorCodes.artifactMissing, `Artifact ${hash} is missing from ${this.root}.`);
      }
      throw e;
    }
    if (sha256Hex(bytes) !== hash) {
      throw new DomainError(historyErrorCodes.artifactCorrupt, `Artifact ${hash} is corrupted: its content no longer matches its sha256.`);
    }
    // readFile allocates the file's own ArrayBuffer (never a shared one)
    return new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Hashes of every file in the store (temporary files excluded). */
  async listHashes(): Promise<string[]> {
    const out: string[] = [];
    let dirs: string[];
    try {
      dirs = await fsp.readdir(this.root);
    } catch {
      return out;
    }
    for (const d of dirs) {
      if (!/^[0-9a-f]{2}$/.test(d)) continue;
      for (const f of await fsp.readdir(path.join(this.root, d))) if (HASH_RE.test(f)) out.push(f);
    }
    return out;
  }

  /** Removes temporary files an interrupted write left behind (never referenced by any row). */
  async sweepTemporary(): Promise<number> {
    const dir = path.join(this.root, 'tmp');
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch {
      return 0;
    }
    // Only old ones: another process (the CLI beside the app) may be writing one right now.
    const cutoff = Date.now() - 10 * 60_000;
    let removed = 0;
    for (const n of names) {
      const file = path.join(dir, n);
      const st = await fsp.stat(file).catch(() => null);
      if (st && st.mtimeMs < cutoff) {
        await fsp.rm(file, { force: true });
        removed += 1;
      }
    }
    return removed;
  }
}
