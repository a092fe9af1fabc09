import { createHash, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
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
}

export interface PackRefusal {
  ok: false;
  code: PackErrorCode;
  message: string;
}

export type VerifyResult = VerifiedPack | PackRefusal;

const refuse = (code: PackErrorCode, message: string): PackRefusal => ({ ok: false, code, message });

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  await new Promise<void>((resolve, reject) => {
    createReadStream(file, { highWaterMark: 1 << 20 })
      .on('data', (c) => h.update(c))
      .on('end', () => resolve())
      .on('error', reject);
  });
  return h.digest('hex');
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
    sig = manifestSignatureSchema.parse(JSON.parse(readFileSync(sigPath, 'utf8')));
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
  const manifestPath = path.join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) return refuse(packErrorCodes.missingFile, `manifest.json is missing from ${dir}`);
  const manifestBytes = readFileSync(manifestPath);
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
  const root = path.resolve(dir);
  for (const f of manifest.files) {
    const p = path.resolve(root, f.path);
    if (!p.startsWith(root + path.sep)) return refuse(packErrorCodes.schema, `file ${f.path} points outside the pack`);
    if (!existsSync(p)) return refuse(packErrorCodes.missingFile, `file ${f.path} listed in manifest.json is missing`);
    const size = statSync(p).size;
    if (size !== f.size) return refuse(packErrorCodes.sizeMismatch, `file ${f.path} has ${size} bytes, manifest says ${f.size} (truncated or replaced)`);
  }
  if (!opts.skipHashes) {
    for (const f of manifest.files) {
      const got = await sha256File(path.join(root, f.path));
      if (got !== f.sha256) return refuse(packErrorCodes.hashMismatch, `file ${f.path} has sha256 ${got.slice(0, 12)}…, manifest says ${f.sha256.slice(0, 12)}… (tampered or corrupted)`);
    }
  }
  return {
    ok: true,
    dir: root,
    manifest,
    signature: sig,
    manifestSha256: createHash('sha256').update(manifestBytes).digest('hex'),
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
