import { createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { closeSync, constants, existsSync, lstatSync, openSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import {
  manifestSignatureSchema,
  packErrorCodes,
  packManifestSchema,
  trustedKeysSchema,
  type PackErrorCode,
  type PackManifest,
  type TrustedKeys,
} from '../../src-shared/contracts/model-pack';
import { fileIdentity, PackHashCache, type FileIdentity } from './pack-hash-cache';
import { packMemoryRefusal } from './pack-memory';

export interface VerifyOptions {
  /** Path of the trusted-keys JSON file (Ed25519 public keys). */
  trustedKeysPath?: string;
  /** Already-parsed trusted keys (takes precedence over trustedKeysPath). */
  trustedKeys?: TrustedKeys;
  /** Policy: refuse packs without a valid signature from a trusted key. */
  requireSignature?: boolean;
  /** Skip hashing (sizes are still checked). Only for a pack verified moments ago in the same process. */
  skipHashes?: boolean;
  /**
   * Keep the bytes of every listed file as they were hashed (always hashes): loadPack loads these, so what
   * runs is exactly what was verified, whatever happens to the files afterwards.
   */
  keepContents?: boolean;
  /**
   * File in the data folder remembering files already hashed against their identity (pack-hash-cache.ts):
   * a file whose identity is unchanged is not hashed again. Absent: every file is hashed every time.
   */
  hashCachePath?: string;
  /** With keepContents: the memory free for loading (default the OS's available memory); a pack needing more is refused before it is read. */
  freeMemoryBytes?: number;
}

export interface SignatureStatus {
  present: boolean;
  valid: boolean;
  keyId?: string;
}

export interface VerifiedPack {
  ok: true;
  dir: string;
  manifest: PackManifest;
  signature: SignatureStatus;
  /** sha256 of manifest.json's bytes: identifies the exact pack (recorded with every run). */
  manifestSha256: string;
  /** With keepContents: the verified bytes of each listed file, by its manifest path (loadPack takes them). */
  contents?: Map<string, Uint8Array>;
  /** Manifest paths whose sha256 was computed by this call (the others were skipped: unchanged since hashed). */
  hashed: string[];
}

export interface PackRefusal {
  ok: false;
  code: PackErrorCode;
  message: string;
}

export type VerifyResult = VerifiedPack | PackRefusal;

const refuse = (code: PackErrorCode, message: string): PackRefusal => ({ ok: false, code, message });

// O_NOFOLLOW: a file swapped for a link after the folder was checked fails to open instead of being read.
const OPEN_NO_FOLLOW = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0);

/** Opens a pack file without following a link; a link (ELOOP) becomes a refusal naming the file. */
function openPackFile(file: string, name: string): number | PackRefusal {
  try {
    return openSync(file, OPEN_NO_FOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return refuse(packErrorCodes.symlink, `file ${name} is a symbolic link; packs may not contain links, so it was not read`);
    if (code === 'ENOENT') return refuse(packErrorCodes.missingFile, `file ${name} listed in manifest.json is missing`);
    throw e;
  }
}

/** A small pack file (manifest, signature) read whole without following a link. */
function readPackBytes(file: string, name: string): Buffer | PackRefusal {
  const fd = openPackFile(file, name);
  if (typeof fd !== 'number') return fd;
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Opens a pack file for streaming without following a link (as openPackFile). */
async function openPackHandle(file: string, name: string): Promise<FileHandle | PackRefusal> {
  try {
    return await open(file, OPEN_NO_FOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return refuse(packErrorCodes.symlink, `file ${name} is a symbolic link; packs may not contain links, so it was not read`);
    if (code === 'ENOENT') return refuse(packErrorCodes.missingFile, `file ${name} listed in manifest.json is missing`);
    throw e;
  }
}

const CHUNK = 4 << 20;

/**
 * Reads one file through a single descriptor, in 4 MiB chunks without blocking the event loop, hashing
 * what it reads unless `hash` is false: the bytes returned (keep) are the bytes hashed. Without keep
 * nothing is held.
 */
async function readAndHash(fh: FileHandle, size: number, keep: boolean, hash: boolean): Promise<{ sha256: string | null; bytes: Uint8Array | null; read: number }> {
  const h = hash ? createHash('sha256') : null;
  const bytes = keep ? new Uint8Array(size) : null;
  const chunk = keep ? null : new Uint8Array(Math.min(size, CHUNK) || 1);
  let read = 0;
  for (;;) {
    const target = bytes ?? chunk!;
    const offset = bytes ? read : 0;
    const want = bytes ? Math.min(size - read, CHUNK) : target.length;
    if (want === 0) break;
    const { bytesRead: n } = await fh.read(target, offset, want, read);
    if (n === 0) break;
    h?.update(target.subarray(offset, offset + n));
    read += n;
    if (read > size) break; // grew while read: the size check below refuses it
  }
  return { sha256: h ? h.digest('hex') : null, bytes, read };
}

/** The first symbolic link anywhere under `root` (relative path), or null. */
function findSymlink(root: string, rel = ''): string | null {
  for (const d of readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const child = rel ? `${rel}/${d.name}` : d.name;
    if (d.isSymbolicLink()) return child;
    if (d.isDirectory()) {
      const inner = findSymlink(root, child);
      if (inner) return inner;
    }
  }
  return null;
}

function publicKeyFrom(text: string): KeyObject {
  const t = text.trim();
  if (t.startsWith('-----BEGIN')) return createPublicKey(t);
  const raw = Buffer.from(t, 'base64');
  if (raw.length !== 32) throw new Error('raw Ed25519 public key must be 32 bytes');
  // SPKI DER prefix for Ed25519 + the 32 raw bytes
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]);
  return createPublicKey({ key: der, format: 'der', type: 'spki' });
}

function loadTrustedKeys(opts: VerifyOptions): TrustedKeys | PackRefusal {
  if (opts.trustedKeys) return opts.trustedKeys;
  if (!opts.trustedKeysPath || !existsSync(opts.trustedKeysPath)) return { keys: [] };
  try {
    return trustedKeysSchema.parse(JSON.parse(readFileSync(opts.trustedKeysPath, 'utf8')));
  } catch (e) {
    return refuse(packErrorCodes.untrustedKey, `trusted-keys file ${opts.trustedKeysPath} is unreadable: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function checkSignature(dir: string, manifestBytes: Buffer, opts: VerifyOptions): SignatureStatus | PackRefusal {
  const sigPath = path.join(dir, 'manifest.sig');
  if (!existsSync(sigPath)) {
    if (opts.requireSignature) return refuse(packErrorCodes.signatureMissing, 'policy requires a signed pack, but manifest.sig is missing');
    return { present: false, valid: false };
  }
  let sig;
  try {
    const sigBytes = readPackBytes(sigPath, 'manifest.sig');
    if (!Buffer.isBuffer(sigBytes)) return sigBytes;
    sig = manifestSignatureSchema.parse(JSON.parse(sigBytes.toString('utf8')));
  } catch (e) {
    return refuse(packErrorCodes.signatureInvalid, `manifest.sig is malformed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const keys = loadTrustedKeys(opts);
  if ('ok' in keys) return keys;
  const key = keys.keys.find((k) => k.keyId === sig.keyId);
  if (!key) {
    // A signature by an unknown key proves nothing; refuse only where policy demands a trusted signature.
    if (opts.requireSignature) return refuse(packErrorCodes.untrustedKey, `manifest is signed by key "${sig.keyId}", which is not in the trusted-keys file`);
    return { present: true, valid: false, keyId: sig.keyId };
  }
  let good = false;
  try {
    good = verify(null, manifestBytes, publicKeyFrom(key.publicKey), Buffer.from(sig.signature, 'base64'));
  } catch (e) {
    return refuse(packErrorCodes.signatureInvalid, `signature check failed for key "${sig.keyId}": ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!good) return refuse(packErrorCodes.signatureInvalid, `manifest.sig does not match manifest.json for trusted key "${sig.keyId}" (manifest altered or wrong signature)`);
  return { present: true, valid: true, keyId: sig.keyId };
}

const sameId = (a: FileIdentity, b: FileIdentity): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * One listed file: opened once without following links; its identity (fstat of that descriptor) looked up
 * in the hash cache; hashed unless the cache vouches for exactly this identity; with `contents`, its bytes
 * kept. A cache-vouched file must still have the same identity after it was read (else it changed while
 * read and is hashed after all). Returns a refusal or null.
 */
async function checkFile(
  realRoot: string,
  f: PackManifest['files'][number],
  manifestSha256: string,
  cache: PackHashCache | null,
  contents: Map<string, Uint8Array> | undefined,
  hashed: string[],
): Promise<PackRefusal | null> {
  const file = path.resolve(realRoot, f.path);
  const fh = await openPackHandle(file, f.path);
  if ('ok' in fh) return fh;
  const key = PackHashCache.key(manifestSha256, file, f.sha256);
  try {
    const st = await fh.stat({ bigint: true });
    if (!st.isFile()) return refuse(packErrorCodes.schema, `file ${f.path} is not a regular file`);
    const id = fileIdentity(st);
    const vouched = cache?.lookup(key, id) === f.sha256;
    // vouched and not kept: nothing to read at all (the identity already matched the listed size)
    if (vouched && !contents) return id.size === String(f.size) ? null : refuse(packErrorCodes.sizeMismatch, `file ${f.path} changed size (manifest says ${f.size} bytes)`);
    let got = await readAndHash(fh, f.size, !!contents, !vouched);
    if (vouched && !sameId(fileIdentity(await fh.stat({ bigint: true })), id)) got = await readAndHash(fh, f.size, !!contents, true);
    if (got.read !== f.size) return refuse(packErrorCodes.sizeMismatch, `file ${f.path} changed size while it was read (manifest says ${f.size} bytes)`);
    if (got.sha256 !== null) {
      hashed.push(f.path);
      if (got.sha256 !== f.sha256) {
        cache?.forget(key);
        return refuse(packErrorCodes.hashMismatch, `file ${f.path} has sha256 ${got.sha256.slice(0, 12)}…, manifest says ${f.sha256.slice(0, 12)}… (tampered or corrupted)`);
      }
      // remembered only if nothing changed while it was read
      if (cache && sameId(fileIdentity(await fh.stat({ bigint: true })), id)) cache.record(key, id, got.sha256);
    }
    if (contents && got.bytes) contents.set(f.path, got.bytes);
    return null;
  } finally {
    await fh.close();
  }
}

/**
 * Verifies a pack folder before anything in it is loaded: manifest schema, every listed file present with
 * the listed size and sha256, and the optional Ed25519 signature of manifest.json against trusted keys.
 */
export async function verifyPack(dir: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return refuse(packErrorCodes.notFound, `pack folder ${dir} does not exist`);
  const root = path.resolve(dir);
  // Links are refused anywhere in the pack (lstat): a link could point outside it or be swapped later.
  const realRoot = realpathSync(root);
  const link = findSymlink(realRoot);
  if (link) return refuse(packErrorCodes.symlink, `file ${link} is a symbolic link; packs may not contain links (copy the real file into ${root} instead)`);
  const manifestPath = path.join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) return refuse(packErrorCodes.missingFile, `manifest.json is missing from ${dir}`);
  const manifestBytes = readPackBytes(manifestPath, 'manifest.json');
  if (!Buffer.isBuffer(manifestBytes)) return manifestBytes;
  let raw: unknown;
  try {
    raw = JSON.parse(manifestBytes.toString('utf8'));
  } catch (e) {
    return refuse(packErrorCodes.manifestUnreadable, `manifest.json is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  const parsed = packManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    return refuse(packErrorCodes.schema, `manifest.json does not match the pack schema: ${issues.join('; ')}`);
  }
  const manifest = parsed.data;
  const sig = checkSignature(dir, manifestBytes, opts);
  if ('ok' in sig) return sig;
  for (const f of manifest.files) {
    const p = path.resolve(realRoot, f.path);
    if (!p.startsWith(realRoot + path.sep)) return refuse(packErrorCodes.schema, `file ${f.path} points outside the pack`);
    if (!existsSync(p)) return refuse(packErrorCodes.missingFile, `file ${f.path} listed in manifest.json is missing`);
    const size = lstatSync(p).size;
    if (size !== f.size) return refuse(packErrorCodes.sizeMismatch, `file ${f.path} has ${size} bytes, manifest says ${f.size} (truncated or replaced)`);
  }
  const contents = opts.keepContents ? new Map<string, Uint8Array>() : undefined;
  if (contents) {
    const tooLarge = packMemoryRefusal(manifest, opts.freeMemoryBytes);
    if (tooLarge) return refuse(tooLarge.code, tooLarge.message);
  }
  const manifestSha256 = createHash('sha256').update(manifestBytes).digest('hex');
  const cache = opts.hashCachePath ? PackHashCache.open(opts.hashCachePath) : null;
  const hashed: string[] = [];
  if (!opts.skipHashes || contents) {
    try {
      for (const f of manifest.files) {
        const refusal = await checkFile(realRoot, f, manifestSha256, cache, contents, hashed);
        if (refusal) return refusal;
      }
    } finally {
      cache?.save();
    }
  }
  return {
    ok: true,
    dir: root,
    manifest,
    signature: sig,
    manifestSha256,
    ...(contents ? { contents } : {}),
    hashed,
  };
}

/** Signs manifest.json of a pack with an Ed25519 private key (PEM), writing manifest.sig. */
export function signPackManifest(dir: string, privateKeyPem: string, keyId: string): void {
  const bytes = readFileSync(path.join(dir, 'manifest.json'));
  const signature = sign(null, bytes, privateKeyPem).toString('base64');
  writeFileSync(path.join(dir, 'manifest.sig'), `${JSON.stringify({ algorithm: 'ed25519', keyId, signature }, null, 2)}\n`);
}

/** A fresh Ed25519 key pair as PEM strings (pack signing tool, tests). */
export function generateSigningKeys(): { publicKeyPem: string; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}
