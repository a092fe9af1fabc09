import { createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readdirSync, readFileSync, readSync, realpathSync, statSync, writeFileSync } from 'node:fs';
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

/**
 * Reads and hashes one file through a single descriptor: the bytes returned (keep) are the bytes hashed.
 * Without keep, the file is hashed in 1 MiB chunks and nothing is held.
 */
function readAndHash(fd: number, size: number, keep: boolean): { sha256: string; bytes: Uint8Array | null; read: number } {
  const h = createHash('sha256');
  const bytes = keep ? new Uint8Array(size) : null;
  const chunk = keep ? null : new Uint8Array(Math.min(size, 1 << 20) || 1);
  let read = 0;
  for (;;) {
    const target = bytes ?? chunk!;
    const offset = bytes ? read : 0;
    const want = bytes ? size - read : target.length;
    if (want === 0) break;
    const n = readSync(fd, target, offset, want, read);
    if (n === 0) break;
    h.update(target.subarray(offset, offset + n));
    read += n;
    if (read > size) break; // grew while read: the size check below refuses it
  }
  return { sha256: h.digest('hex'), bytes, read };
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
  if (!opts.skipHashes || contents) {
    for (const f of manifest.files) {
      const fd = openPackFile(path.resolve(realRoot, f.path), f.path);
      if (typeof fd !== 'number') return fd;
      let got;
      try {
        const st = fstatSync(fd);
        if (!st.isFile()) return refuse(packErrorCodes.schema, `file ${f.path} is not a regular file`);
        got = readAndHash(fd, f.size, !!contents);
      } finally {
        closeSync(fd);
      }
      if (got.read !== f.size) return refuse(packErrorCodes.sizeMismatch, `file ${f.path} changed size while it was read (manifest says ${f.size} bytes)`);
      if (got.sha256 !== f.sha256) return refuse(packErrorCodes.hashMismatch, `file ${f.path} has sha256 ${got.sha256.slice(0, 12)}…, manifest says ${f.sha256.slice(0, 12)}… (tampered or corrupted)`);
      if (contents && got.bytes) contents.set(f.path, got.bytes);
    }
  }
  return {
    ok: true,
    dir: root,
    manifest,
    signature: sig,
    manifestSha256: createHash('sha256').update(manifestBytes).digest('hex'),
    ...(contents ? { contents } : {}),
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
