import { existsSync, readFileSync, type BigIntStats } from 'node:fs';
import { z } from 'zod';
import { writeFileAtomic } from '../fs/atomic-write';

/**
 * Remembers which pack files were hashed and found to match their manifest, keyed by the file's identity,
 * so a multi-GB pack opened again is not read through sha256 again. An entry only ever lets verification
 * skip the hash of a file whose identity is unchanged since it was hashed: same device and inode, same
 * size, same modification AND status-change time (nanoseconds), same manifest (its sha256) and same expected
 * digest. Anything else is hashed again. The trust argument is in docs/model-pack.md ("Hash cache").
 */

/** What a file is, as the filesystem says: ctime cannot be set by a user (utimes sets it to now). */
export interface FileIdentity {
  dev: string;
  ino: string;
  size: string;
  mtimeNs: string;
  ctimeNs: string;
}

const entrySchema = z.object({
  dev: z.string(),
  ino: z.string(),
  size: z.string(),
  mtimeNs: z.string(),
  ctimeNs: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
const cacheFileSchema = z.object({ version: z.literal(1), entries: z.record(z.string(), entrySchema) });
type CacheEntry = z.infer<typeof entrySchema>;

/** Most packs a machine keeps: the oldest-written entries go first beyond this. */
const MAX_ENTRIES = 2000;

export function fileIdentity(st: BigIntStats): FileIdentity {
  return { dev: String(st.dev), ino: String(st.ino), size: String(st.size), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
}

const sameIdentity = (a: FileIdentity, b: FileIdentity): boolean =>
  a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

export class PackHashCache {
  private entries = new Map<string, CacheEntry>();
  private dirty = false;

  private constructor(private readonly file: string) {}

  /** Reads the cache file; a missing, unreadable or foreign file is an empty cache (everything is hashed). */
  static open(file: string): PackHashCache {
    const c = new PackHashCache(file);
    if (!existsSync(file)) return c;
    try {
      const parsed = cacheFileSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (parsed.success) c.entries = new Map(Object.entries(parsed.data.entries));
    } catch {
      // damaged: start empty; it is rewritten on the next save
    }
    return c;
  }

  /** One key per (pack manifest, real path of the file, digest the manifest expects). */
  static key(manifestSha256: string, realFile: string, expectedSha256: string): string {
    return `${manifestSha256}:${expectedSha256}:${realFile}`;
  }

  /** The digest remembered for this identity, or null (not seen, or changed since). */
  lookup(key: string, id: FileIdentity): string | null {
    const e = this.entries.get(key);
    return e && sameIdentity(e, id) ? e.sha256 : null;
  }

  /** Records a digest computed from the bytes of the file with this identity (only matching digests). */
  record(key: string, id: FileIdentity, sha256: string): void {
    this.entries.delete(key); // re-insert: Map order is the age order used for trimming
    this.entries.set(key, { ...id, sha256 });
    while (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.dirty = true;
  }

  forget(key: string): void {
    if (this.entries.delete(key)) this.dirty = true;
  }

  /** Writes the cache (atomically, 0600) when it changed; a write failure only costs a re-hash next time. */
  save(): void {
    if (!this.dirty) return;
    try {
      writeFileAtomic(this.file, `${JSON.stringify({ version: 1, entries: Object.fromEntries(this.entries) })}\n`);
      this.dirty = false;
    } catch {
      // read-only or full data folder: verification stays correct, only slower next time
    }
  }
}
