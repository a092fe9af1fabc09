import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { z } from 'zod';
import {
  KNOWN_TASKS,
  machinePolicySchema,
  policyErrorCodes,
  type MachinePolicy,
  type PolicyStatus,
} from '../../src-shared/contracts/policy';
import { DomainError } from '../../src-shared/ipc/envelope';
import { resolvePolicyLocation, type PolicyLocation } from './policy-location';

export const MAX_POLICY_BYTES = 1024 * 1024;

export interface TrustedKey {
  id: string;
  key: KeyObject;
  /** As written in the policy (PEM or base64). */
  publicKey: string;
}

export interface PackRef {
  id: string;
  version: string;
}

/** The DER prefix that turns 32 raw Ed25519 key bytes into an SPKI structure Node can import. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function parseEd25519PublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  const key = trimmed.startsWith('-----BEGIN')
    ? createPublicKey(trimmed)
    : (() => {
        const raw = Buffer.from(trimmed, 'base64');
        // base64 of the SPKI structure (what `openssl pkey -pubout -outform DER | base64` prints) also works
        if (raw.length === 44 && raw.subarray(0, 12).equals(ED25519_SPKI_PREFIX)) return createPublicKey({ key: raw, format: 'der', type: 'spki' });
        if (raw.length !== 32) throw new Error(`expected the 32 raw key bytes (or the 44-byte SPKI) in base64, got ${raw.length} bytes`);
        return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
      })();
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`expected an Ed25519 key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

function describeIssues(error: z.ZodError): string[] {
  return error.issues.slice(0, 10).map((i) => `${i.path.length ? i.path.join('.') : '(file)'}: ${i.message}`);
}

/**
 * The policy in force for this process, and the one place every domain asks before doing something a
 * policy can forbid. An invalid policy yields a locked state: no pack loads, no task runs, no export, no
 * updates, and `messages` says why, so the window and the CLI can show it.
 */
export class MachinePolicyState {
  private readonly disabledTasks: ReadonlySet<string>;

  constructor(
    /** The file read; null when there is none (no policy: nothing restricted). */
    readonly source: string | null,
    /** The validated policy; null when there is none or it is invalid. */
    readonly policy: MachinePolicy | null,
    readonly locked: boolean,
    readonly messages: readonly string[],
    readonly trustedKeys: readonly TrustedKey[],
    /** The policy's data folder, placeholders expanded; null: use the default. */
    readonly dataDir: string | null,
    readonly auditLogPath: string | null,
  ) {
    this.disabledTasks = new Set(policy?.disabledTasks ?? []);
  }

  static unrestricted(): MachinePolicyState {
    return new MachinePolicyState(null, null, false, [], [], null, null);
  }

  static lockedDown(source: string | null, messages: string[]): MachinePolicyState {
    return new MachinePolicyState(source, null, true, messages, [], null, null);
  }

  get requirePackSignature(): boolean {
    return this.locked || this.policy?.requirePackSignature === true;
  }

  get exportAllowed(): boolean {
    return !this.locked && this.policy?.disableExport !== true;
  }

  /** Updates come only from the URL a valid policy names; otherwise they are off. */
  get updateUrl(): string | null {
    return this.locked ? null : (this.policy?.updateUrl ?? null);
  }

  isTaskAllowed(task: string): boolean {
    return !this.locked && !this.disabledTasks.has(task);
  }

  assertTaskAllowed(task: string): void {
    if (this.locked) throw new DomainError(policyErrorCodes.policyLocked, this.lockedMessage());
    if (this.disabledTasks.has(task)) {
      throw new DomainError(policyErrorCodes.disabledByPolicy, `The task "${task}" is disabled by this workstation's policy (${this.source}).`);
    }
  }

  assertExportAllowed(): void {
    if (this.locked) throw new DomainError(policyErrorCodes.policyLocked, this.lockedMessage());
    if (!this.exportAllowed) throw new DomainError(policyErrorCodes.disabledByPolicy, `Export is disabled by this workstation's policy (${this.source}).`);
  }

  assertRejectedExportAllowed(): void {
    this.assertExportAllowed();
    if (this.policy?.disableRejectedExport === true) {
      throw new DomainError(policyErrorCodes.disabledByPolicy, `This run was rejected, and this workstation's policy (${this.source}) forbids exporting rejected runs.`);
    }
  }

  /** Whether a pack may be loaded by id/version (its signature is checked separately). */
  checkPack(pack: PackRef): { allowed: true } | { allowed: false; reason: string } {
    if (this.locked) return { allowed: false, reason: this.lockedMessage() };
    const allowed = this.policy?.allowedPacks;
    if (!allowed) return { allowed: true };
    if (allowed.includes(pack.id) || allowed.includes(`${pack.id}@${pack.version}`)) return { allowed: true };
    return { allowed: false, reason: `The model pack "${pack.id}@${pack.version}" is not in this workstation's allowedPacks (${this.source}).` };
  }

  assertPackAllowed(pack: PackRef): void {
    const check = this.checkPack(pack);
    if (!check.allowed) throw new DomainError(this.locked ? policyErrorCodes.policyLocked : policyErrorCodes.disabledByPolicy, check.reason);
  }

  /**
   * What pack verification (src-main/model/pack-verify.ts verifyPack) must apply: whether a signature is
   * required, and the policy's keys when it lists any (they replace the app's trusted-keys file).
   */
  packVerifyOptions(): { requireSignature: boolean; trustedKeys?: { keys: Array<{ keyId: string; publicKey: string }> } } {
    if (this.locked) return { requireSignature: true, trustedKeys: { keys: [] } };
    const options: ReturnType<MachinePolicyState['packVerifyOptions']> = { requireSignature: this.requirePackSignature };
    // handed over as PEM, whichever form the policy used, so the verifier reads every key the policy accepted
    if (this.trustedKeys.length > 0) {
      options.trustedKeys = { keys: this.trustedKeys.map((k) => ({ keyId: k.id, publicKey: k.key.export({ format: 'pem', type: 'spki' }).toString() })) };
    }
    return options;
  }

  /**
   * Checks an Ed25519 signature over `data` (a pack manifest's bytes) against the policy's trusted keys.
   * Returns the id of the key that signed it, or null.
   */
  verifyWithTrustedKeys(data: Uint8Array, signature: Uint8Array): string | null {
    for (const trusted of this.trustedKeys) {
      try {
        if (verify(null, data, trusted.key, signature)) return trusted.id;
      } catch {
        // a malformed signature verifies against no key
      }
    }
    return null;
  }

  status(): PolicyStatus {
    return {
      source: this.source,
      locked: this.locked,
      messages: [...this.messages],
      disableExport: !this.exportAllowed,
      disableRejectedExport: !this.exportAllowed || this.policy?.disableRejectedExport === true,
      disabledTasks: this.locked ? [...KNOWN_TASKS] : [...this.disabledTasks],
      allowedPacks: this.locked ? [] : (this.policy?.allowedPacks ?? null),
      requirePackSignature: this.requirePackSignature,
      trustedKeyIds: this.trustedKeys.map((k) => k.id),
      dataDir: this.dataDir,
      auditLogPath: this.auditLogPath,
      updateUrl: this.updateUrl,
    };
  }

  /** The summary the app domain reports ({locked, messages}). */
  summary(): { locked: boolean; messages: string[] } {
    return { locked: this.locked, messages: [...this.messages] };
  }

  private lockedMessage(): string {
    return `This workstation is locked down because its policy file is invalid: ${this.messages.join(' ')}`;
  }
}

export interface LoadPolicyOptions {
  /** Read this file instead of resolving the location (tests). */
  path?: string;
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  /** Honour HEALTHGPT_POLICY_FILE (development, tests, CLI). The packaged app passes false. */
  allowEnvOverride?: boolean;
  /** For placeholder expansion (tests). */
  user?: { name: string; home: string };
  /**
   * POSIX: the uids that may own the policy file and its folder. Default: root (0); for a file named by
   * the development override (HEALTHGPT_POLICY_FILE, or `path`) also the user running the app, whose own
   * file it is. Tests inject other uids to act as a non-administrator.
   */
  trustedOwnerUids?: readonly number[];
}

function modeText(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}

/**
 * POSIX checks before a policy file is believed: who could have written it. The file (after following a
 * symbolic link) and every folder it is named through must belong to an administrator and be writable by
 * no group and no other user; otherwise anyone able to write there could set or replace this machine's
 * policy. A symbolic link is followed, not refused (configuration tools link /etc files), but only when
 * its target passes the same checks, and a link whose target is missing is refused instead of meaning
 * "no policy". Returns the problem, or null when the file may be read. Windows: not called; access to
 * ProgramData is decided by ACLs the installer sets, which the mode bits do not show.
 */
function posixTrustProblem(file: string, trustedOwners: readonly number[]): string | null {
  const link = lstatSync(file);
  let real = file;
  let via = '';
  const folders = [path.dirname(file)];
  if (link.isSymbolicLink()) {
    const target = path.resolve(path.dirname(file), readlinkSync(file));
    try {
      real = realpathSync(file);
    } catch {
      return `is a symbolic link to ${target}, which does not exist; a dangling link is not "no policy". Remove the link or restore its target.`;
    }
    via = `is a symbolic link to ${real}, which `;
    folders.push(path.dirname(real));
  }
  const stat = statSync(real);
  const admins = trustedOwners.join(', ');
  if (!trustedOwners.includes(stat.uid)) {
    return `${via}is owned by uid ${stat.uid}, not by an administrator (uid ${admins}), so it cannot be trusted; make root its owner (chown root).`;
  }
  if ((stat.mode & 0o002) !== 0) {
    return `${via}is writable by every user of this machine (mode ${modeText(stat.mode)}), so it cannot be trusted; make it writable by administrators only (chmod 644).`;
  }
  if ((stat.mode & 0o020) !== 0) {
    return `${via}is writable by its group (mode ${modeText(stat.mode)}), so it cannot be trusted; make it writable by administrators only (chmod 644).`;
  }
  for (const folder of folders) {
    const f = statSync(folder);
    if ((f.mode & 0o022) !== 0) {
      return `is in the folder ${folder}, which can be written by other users (mode ${modeText(f.mode)}), so they could replace the policy; make the folder writable by administrators only (chmod 755).`;
    }
    if (!trustedOwners.includes(f.uid)) {
      return `is in the folder ${folder}, owned by uid ${f.uid}, not by an administrator (uid ${admins}), so its owner could replace the policy; make root its owner (chown root).`;
    }
  }
  return null;
}

function expandFolder(value: string, user: { name: string; home: string }, pathApi: path.PlatformPath): string | Error {
  const expanded = value.replaceAll('${user}', user.name).replaceAll('${home}', user.home);
  if (/\$\{[^}]*\}/.test(expanded)) return new Error(`unknown placeholder in "${value}" (only \${user} and \${home} are supported)`);
  if (!pathApi.isAbsolute(expanded)) return new Error(`"${value}" is not an absolute path`);
  if (expanded.split(/[\\/]/).includes('..')) return new Error(`"${value}" must not contain ".." segments`);
  return pathApi.normalize(expanded);
}

/**
 * Reads and validates the machine policy. No file: unrestricted. A file that cannot be read, is not JSON,
 * fails the schema, names an unusable key or folder, or (POSIX) that someone other than an administrator
 * could have written (see posixTrustProblem), or a dangling symbolic link: locked down, with a message
 * naming the file and the problem. Never throws.
 */
export function loadMachinePolicy(options: LoadPolicyOptions = {}): MachinePolicyState {
  const platform = options.platform ?? process.platform;
  const location: PolicyLocation = options.path
    ? { path: options.path, origin: 'env' }
    : resolvePolicyLocation({ platform, env: options.env, allowEnvOverride: options.allowEnvOverride ?? true });
  const file = location.path;
  const notes: string[] = [];
  if (location.ignoredOverride) notes.push(`HEALTHGPT_POLICY_FILE (${location.ignoredOverride}) is ignored by the installed app; the machine policy at ${file} applies.`);
  const locked = (problem: string) => MachinePolicyState.lockedDown(file, [`Policy file ${file}: ${problem}`, ...notes]);

  const ownUid = process.getuid?.();
  const trustedOwners = options.trustedOwnerUids ?? (location.origin === 'env' && ownUid !== undefined ? [0, ownUid] : [0]);
  let text: string;
  try {
    // lstat: a link that points nowhere must not read as "no file" (checked below).
    const entry = lstatSync(file);
    if (entry.isSymbolicLink() && platform === 'win32' && !existsSync(file)) {
      return locked('is a symbolic link whose target does not exist; a dangling link is not "no policy". Remove the link or restore its target.');
    }
    // Not on Windows: there ACLs decide who may write ProgramData, and the mode bits do not show them.
    if (platform !== 'win32') {
      const problem = posixTrustProblem(file, trustedOwners);
      if (problem) return locked(problem);
    }
    const stat = statSync(file);
    if (!stat.isFile()) return locked('is not a regular file.');
    if (stat.size > MAX_POLICY_BYTES) return locked(`is ${stat.size} bytes; a policy file is at most ${MAX_POLICY_BYTES} bytes.`);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return new MachinePolicyState(null, null, false, notes, [], null, null);
    return locked(`cannot be read (${code ?? (e instanceof Error ? e.message : String(e))}).`);
  }

  let json: unknown;
  try {
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    return locked(`is not valid JSON (${e instanceof Error ? e.message : String(e)}).`);
  }
  const parsed = machinePolicySchema.safeParse(json);
  if (!parsed.success) return locked(`does not match the policy schema: ${describeIssues(parsed.error).join('; ')}.`);
  const policy = parsed.data;

  const trustedKeys: TrustedKey[] = [];
  for (const entry of policy.trustedKeys ?? []) {
    try {
      trustedKeys.push({ id: entry.keyId, key: parseEd25519PublicKey(entry.publicKey), publicKey: entry.publicKey });
    } catch (e) {
      return locked(`trusted key "${entry.keyId}" is not a usable Ed25519 public key (${e instanceof Error ? e.message : String(e)}).`);
    }
  }

  const pathApi = platform === 'win32' ? path.win32 : path.posix;
  const user = options.user ?? { name: os.userInfo().username, home: os.homedir() };
  let dataDir: string | null = null;
  if (policy.dataDir !== undefined) {
    const resolved = expandFolder(policy.dataDir, user, pathApi);
    if (resolved instanceof Error) return locked(`dataDir: ${resolved.message}.`);
    dataDir = resolved;
  }
  let auditLogPath: string | null = null;
  if (policy.auditLogPath !== undefined) {
    const resolved = expandFolder(policy.auditLogPath, user, pathApi);
    if (resolved instanceof Error) return locked(`auditLogPath: ${resolved.message}.`);
    auditLogPath = resolved;
    if (platform === process.platform && !existsSync(pathApi.dirname(resolved))) {
      notes.push(`auditLogPath: the folder ${pathApi.dirname(resolved)} does not exist yet; audit records cannot be copied there until it does.`);
    }
  }
  const known = new Set<string>(KNOWN_TASKS);
  for (const task of policy.disabledTasks ?? []) {
    if (!known.has(task)) notes.push(`disabledTasks: "${task}" is not a task this version knows (${KNOWN_TASKS.join(', ')}); check the spelling.`);
  }
  return new MachinePolicyState(file, policy, false, notes, trustedKeys, dataDir, auditLogPath);
}
