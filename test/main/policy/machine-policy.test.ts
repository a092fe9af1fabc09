import { generateKeyPairSync, sign } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KNOWN_TASKS, type MachinePolicy } from '../../../src-shared/contracts/policy';
import { DomainError } from '../../../src-shared/ipc/envelope';
import { loadMachinePolicy, MAX_POLICY_BYTES, parseEd25519PublicKey } from '../../../src-main/policy/machine-policy';
import { machinePolicyPath, resolvePolicyLocation } from '../../../src-main/policy/policy-location';
import { createServices } from '../../../src-main/services';

let dir: string;
let counter = 0;
const user = { name: 'rad1', home: '/home/rad1' };

function writePolicy(content: unknown, raw = false): string {
  counter += 1;
  const file = path.join(dir, `policy-${counter}.json`);
  writeFileSync(file, raw ? String(content) : JSON.stringify(content, null, 2));
  chmodSync(file, 0o644);
  return file;
}

function load(content: MachinePolicy | Record<string, unknown>) {
  return loadMachinePolicy({ path: writePolicy(content), user });
}

function thrownCode(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    return e instanceof DomainError ? e.code : `not a DomainError: ${String(e)}`;
  }
}

const keys = generateKeyPairSync('ed25519');
const otherKeys = generateKeyPairSync('ed25519');
const pem = keys.publicKey.export({ format: 'pem', type: 'spki' }).toString();
const rawBase64 = (keys.publicKey.export({ format: 'der', type: 'spki' }) as Buffer).subarray(12).toString('base64');

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hgpt-policy-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('policy location', () => {
  it('uses the OS machine-wide location for each platform', () => {
    expect(machinePolicyPath('win32', { ProgramData: 'D:\\ProgramData' })).toBe('D:\\ProgramData\\HealthGPT\\policy.json');
    expect(machinePolicyPath('win32', {})).toBe('C:\\ProgramData\\HealthGPT\\policy.json');
    expect(machinePolicyPath('darwin', {})).toBe('/Library/Application Support/HealthGPT/policy.json');
    expect(machinePolicyPath('linux', {})).toBe('/etc/healthgpt/policy.json');
  });

  it('honours HEALTHGPT_POLICY_FILE only where the override is allowed', () => {
    const env = { HEALTHGPT_POLICY_FILE: '/tmp/mine.json' };
    expect(resolvePolicyLocation({ platform: 'linux', env, allowEnvOverride: true })).toEqual({ path: '/tmp/mine.json', origin: 'env' });
    const refused = resolvePolicyLocation({ platform: 'linux', env, allowEnvOverride: false });
    expect(refused.path).toBe('/etc/healthgpt/policy.json');
    expect(refused.ignoredOverride).toBe('/tmp/mine.json');
  });

  it('says so when the installed app ignores an override, and then reads the machine file', () => {
    const file = writePolicy({ disableExport: true });
    const state = loadMachinePolicy({ platform: 'linux', env: { HEALTHGPT_POLICY_FILE: file }, allowEnvOverride: false, user });
    expect(state.source).toBeNull(); // /etc/healthgpt/policy.json does not exist on this machine
    expect(state.exportAllowed).toBe(true);
    expect(state.messages.join(' ')).toMatch(/HEALTHGPT_POLICY_FILE .* is ignored/);
    const honoured = loadMachinePolicy({ platform: 'linux', env: { HEALTHGPT_POLICY_FILE: file }, allowEnvOverride: true, user });
    expect(honoured.exportAllowed).toBe(false);
  });
});

describe('no policy file', () => {
  it('is unrestricted and says nothing', () => {
    const state = loadMachinePolicy({ path: path.join(dir, 'absent.json'), user });
    expect(state.locked).toBe(false);
    expect(state.source).toBeNull();
    expect(state.messages).toEqual([]);
    expect(state.exportAllowed).toBe(true);
    expect(state.isTaskAllowed('ct2mri')).toBe(true);
    expect(state.checkPack({ id: 'any', version: '1' })).toEqual({ allowed: true });
    expect(state.updateUrl).toBeNull();
  });
});

describe('each setting', () => {
  it('dataDir: absolute, placeholders expanded, relative refused', () => {
    expect(load({ dataDir: '/srv/healthgpt/${user}' }).dataDir).toBe('/srv/healthgpt/rad1');
    expect(load({ dataDir: '${home}/hgpt' }).dataDir).toBe('/home/rad1/hgpt');
    const relative = load({ dataDir: 'data' });
    expect(relative.locked).toBe(true);
    expect(relative.messages[0]).toMatch(/dataDir: "data" is not an absolute path/);
    expect(load({ dataDir: '/srv/${username}' }).messages[0]).toMatch(/unknown placeholder/);
    expect(load({ dataDir: '/srv/../etc' }).locked).toBe(true);
    const win = loadMachinePolicy({ path: writePolicy({ dataDir: 'D:\\HealthGPT\\${user}' }), platform: 'win32', user });
    expect(win.locked).toBe(false);
    expect(win.dataDir).toBe('D:\\HealthGPT\\rad1');
  });

  it('allowedPacks: by id or pinned id@version; empty allows none', () => {
    const state = load({ allowedPacks: ['healthgpt-nano', 'healthgpt-m3@1.2.0'] });
    expect(state.checkPack({ id: 'healthgpt-nano', version: '9.9.9' }).allowed).toBe(true);
    expect(state.checkPack({ id: 'healthgpt-m3', version: '1.2.0' }).allowed).toBe(true);
    const wrongVersion = state.checkPack({ id: 'healthgpt-m3', version: '1.3.0' });
    expect(wrongVersion.allowed).toBe(false);
    expect(!wrongVersion.allowed && wrongVersion.reason).toMatch(/healthgpt-m3@1.3.0.*not in this workstation's allowedPacks/);
    expect(thrownCode(() => state.assertPackAllowed({ id: 'other', version: '1' }))).toBe('DISABLED_BY_POLICY');
    expect(load({ allowedPacks: [] }).checkPack({ id: 'healthgpt-nano', version: '1' }).allowed).toBe(false);
    expect(load({ allowedPacks: ['bad id with spaces'] }).locked).toBe(true);
  });

  it('requirePackSignature + trustedKeys: a real Ed25519 signature verifies, others do not', () => {
    const state = load({ requirePackSignature: true, trustedKeys: [{ keyId: 'vendor-2026', publicKey: pem, comment: 'vendor release key' }, { keyId: 'raw', publicKey: rawBase64 }] });
    expect(state.locked).toBe(false);
    expect(state.requirePackSignature).toBe(true);
    expect(state.trustedKeys.map((k) => k.id)).toEqual(['vendor-2026', 'raw']);
    const manifest = Buffer.from(JSON.stringify({ id: 'healthgpt-nano', version: '0.1.0' }));
    expect(state.verifyWithTrustedKeys(manifest, sign(null, manifest, keys.privateKey))).toBe('vendor-2026');
    expect(state.verifyWithTrustedKeys(manifest, sign(null, manifest, otherKeys.privateKey))).toBeNull();
    const tampered = Buffer.from(manifest);
    tampered[5] = (tampered[5] ?? 0) ^ 1;
    expect(state.verifyWithTrustedKeys(tampered, sign(null, manifest, keys.privateKey))).toBeNull();
    expect(state.verifyWithTrustedKeys(manifest, new Uint8Array(3))).toBeNull();
    expect(load({}).requirePackSignature).toBe(false);
    expect(state.packVerifyOptions()).toEqual({ requireSignature: true, trustedKeys: { keys: [{ keyId: 'vendor-2026', publicKey: pem }, { keyId: 'raw', publicKey: pem }] } });
    expect(load({}).packVerifyOptions()).toEqual({ requireSignature: false });
  });

  it('requirePackSignature reaches the real pack verifier: unsigned refused, signed by a policy key accepted, other key refused', async () => {
    const { verifyPack, signPackManifest } = await import('../../../src-main/model/pack-verify');
    const { cachedTinyPack } = await import('../model/pack-fixture');
    const pack = cachedTinyPack();
    try {
      const state = load({ requirePackSignature: true, trustedKeys: [{ keyId: 'vendor-2026', publicKey: pem }] });
      const unsigned = await verifyPack(pack.dir, state.packVerifyOptions());
      expect(unsigned).toMatchObject({ ok: false, code: 'PACK_SIGNATURE_MISSING' });
      expect((await verifyPack(pack.dir, load({}).packVerifyOptions())).ok).toBe(true);
      signPackManifest(pack.dir, keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 'vendor-2026');
      const signed = await verifyPack(pack.dir, state.packVerifyOptions());
      expect(signed).toMatchObject({ ok: true, signature: { present: true, valid: true, keyId: 'vendor-2026' } });
      signPackManifest(pack.dir, otherKeys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), 'someone-else');
      expect(await verifyPack(pack.dir, state.packVerifyOptions())).toMatchObject({ ok: false, code: 'PACK_UNTRUSTED_KEY' });
      const locked = load({ requirePackSignature: 'yes' });
      expect(locked.packVerifyOptions()).toEqual({ requireSignature: true, trustedKeys: { keys: [] } });
      expect((await verifyPack(pack.dir, locked.packVerifyOptions())).ok).toBe(false);
    } finally {
      pack.cleanup();
    }
  }, 120_000);

  it('requirePackSignature without keys, unusable or non-Ed25519 keys and duplicate ids lock the workstation', () => {
    expect(load({ requirePackSignature: true }).messages[0]).toMatch(/no trustedKeys are listed/);
    expect(load({ trustedKeys: [{ keyId: 'k', publicKey: 'A'.repeat(60) }] }).messages[0]).toMatch(/trusted key "k" is not a usable Ed25519 public key/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(load({ trustedKeys: [{ keyId: 'rsa', publicKey: rsa }] }).messages[0]).toMatch(/expected an Ed25519 key, got rsa/);
    expect(load({ trustedKeys: [{ keyId: 'a', publicKey: pem }, { keyId: 'a', publicKey: pem }] }).messages[0]).toMatch(/"a" appears twice/);
    expect(parseEd25519PublicKey(rawBase64).export({ format: 'pem', type: 'spki' }).toString()).toBe(pem);
    const spkiBase64 = (keys.publicKey.export({ format: 'der', type: 'spki' }) as Buffer).toString('base64');
    expect(parseEd25519PublicKey(spkiBase64).export({ format: 'pem', type: 'spki' }).toString()).toBe(pem);
  });

  it('disableExport', () => {
    const state = load({ disableExport: true });
    expect(state.exportAllowed).toBe(false);
    expect(thrownCode(() => state.assertExportAllowed())).toBe('DISABLED_BY_POLICY');
    expect(thrownCode(() => load({ disableExport: false }).assertExportAllowed())).toBeNull();
  });

  it('disableRejectedExport refuses rejected runs only; disableExport refuses them too', () => {
    const state = load({ disableRejectedExport: true });
    expect(thrownCode(() => state.assertExportAllowed())).toBeNull();
    expect(thrownCode(() => state.assertRejectedExportAllowed())).toBe('DISABLED_BY_POLICY');
    expect(state.status().disableRejectedExport).toBe(true);
    expect(thrownCode(() => load({}).assertRejectedExportAllowed())).toBeNull();
    expect(thrownCode(() => load({ disableExport: true }).assertRejectedExportAllowed())).toBe('DISABLED_BY_POLICY');
  });

  it('disabledTasks: those tasks refused, others allowed, unknown names reported', () => {
    const state = load({ disabledTasks: ['ct2mri', 'mri2ct', 'ct2mr1'] });
    expect(state.locked).toBe(false);
    expect(state.isTaskAllowed('ct2mri')).toBe(false);
    expect(state.isTaskAllowed('ask')).toBe(true);
    expect(thrownCode(() => state.assertTaskAllowed('mri2ct'))).toBe('DISABLED_BY_POLICY');
    expect(thrownCode(() => state.assertTaskAllowed('sr'))).toBeNull();
    expect(state.messages).toHaveLength(1);
    expect(state.messages[0]).toMatch(/"ct2mr1" is not a task this version knows/);
  });

  it('auditLogPath: resolved, and a missing folder is reported', () => {
    const ok = load({ auditLogPath: path.join(dir, 'audit.jsonl') });
    expect(ok.auditLogPath).toBe(path.join(dir, 'audit.jsonl'));
    expect(ok.messages).toEqual([]);
    const missing = load({ auditLogPath: path.join(dir, 'nope', 'audit.jsonl') });
    expect(missing.locked).toBe(false);
    expect(missing.messages[0]).toMatch(/does not exist yet/);
    expect(load({ auditLogPath: 'audit.jsonl' }).locked).toBe(true);
  });

  it('auditLogPath: the mirror appends one JSON line per record and reports (never throws) when it cannot', async () => {
    const { createAuditMirror } = await import('../../../src-main/policy/audit-mirror');
    const file = path.join(dir, 'mirror.jsonl');
    const mirror = createAuditMirror(file, 'ws-01');
    expect(mirror.append({ at: 1, actor: 'rad1', action: 'case.export', entity: 'case', entityId: 'c1', detail: { n: 2 } })).toEqual({ ok: true });
    expect(mirror.append({ at: 2, actor: 'rad1', action: 'store.open', entity: 'store' })).toEqual({ ok: true });
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual([
      { at: 1, actor: 'rad1', action: 'case.export', entity: 'case', entityId: 'c1', detail: { n: 2 }, host: 'ws-01' },
      { at: 2, actor: 'rad1', action: 'store.open', entity: 'store', host: 'ws-01' },
    ]);
    const missing = createAuditMirror(path.join(dir, 'no-such-folder', 'a.jsonl'), 'ws-01').append({ at: 3, actor: 'x', action: 'a', entity: 'e' });
    expect(missing).toMatchObject({ ok: false, problem: expect.stringMatching(/ENOENT/) });
  });

  it('updateUrl: off by default, only https, and only while the policy is valid', () => {
    expect(load({}).updateUrl).toBeNull();
    expect(load({ updateUrl: 'https://updates.hospital.example/healthgpt/' }).updateUrl).toBe('https://updates.hospital.example/healthgpt/');
    const http = load({ updateUrl: 'http://updates.hospital.example/' });
    expect(http.locked).toBe(true);
    expect(http.updateUrl).toBeNull();
    expect(http.messages[0]).toMatch(/updateUrl must be an https:\/\/ address/);
  });
});

describe('an invalid policy locks the workstation down, with a clear message', () => {
  const cases: Array<[string, () => string, RegExp]> = [
    ['not JSON', () => writePolicy('{ "disableExport": true, ', true), /is not valid JSON/],
    ['an unknown (misspelt) key', () => writePolicy({ disableExports: true }), /does not match the policy schema: .*disableExports/],
    ['a wrong type', () => writePolicy({ disableExport: 'yes' }), /disableExport: .*boolean/],
    ['not an object', () => writePolicy([1, 2]), /does not match the policy schema/],
    ['a folder instead of a file', () => {
      const d = path.join(dir, `folder-${(counter += 1)}`);
      mkdirSync(d);
      return d;
    }, /is not a regular file/],
    ['too large', () => writePolicy(`{"$comment": "${'x'.repeat(MAX_POLICY_BYTES)}"}`, true), /at most/],
  ];
  for (const [name, make, message] of cases) {
    it(name, () => {
      const file = make();
      const state = loadMachinePolicy({ path: file, user });
      expect(state.locked).toBe(true);
      expect(state.source).toBe(file);
      expect(state.messages[0]).toContain(file);
      expect(state.messages[0]).toMatch(message);
      expect(state.exportAllowed).toBe(false);
      expect(state.updateUrl).toBeNull();
      expect(state.requirePackSignature).toBe(true);
      for (const task of KNOWN_TASKS) expect(state.isTaskAllowed(task)).toBe(false);
      expect(state.checkPack({ id: 'healthgpt-nano', version: '1' }).allowed).toBe(false);
      expect(thrownCode(() => state.assertTaskAllowed('ask'))).toBe('POLICY_LOCKED');
      expect(thrownCode(() => state.assertExportAllowed())).toBe('POLICY_LOCKED');
      expect(state.status().disabledTasks).toEqual([...KNOWN_TASKS]);
    });
  }

  it('a policy file writable by every user (POSIX)', () => {
    const file = writePolicy({ disableExport: true });
    chmodSync(file, 0o666);
    const state = loadMachinePolicy({ path: file, user });
    expect(state.locked).toBe(true);
    expect(state.messages[0]).toMatch(/writable by every user/);
  });

  it('a policy file writable by its group (POSIX)', () => {
    const file = writePolicy({ disableExport: true });
    chmodSync(file, 0o664);
    const state = loadMachinePolicy({ path: file, user });
    expect(state.locked).toBe(true);
    expect(state.messages[0]).toMatch(/writable by its group/);
    expect(state.exportAllowed).toBe(false);
  });

  it('a policy file in a folder other users can write (POSIX)', () => {
    const folder = mkdtempSync(path.join(dir, 'open-folder-'));
    chmodSync(folder, 0o777);
    const file = path.join(folder, 'policy.json');
    writeFileSync(file, JSON.stringify({ disableExport: true }));
    chmodSync(file, 0o644);
    const state = loadMachinePolicy({ path: file, user });
    expect(state.locked).toBe(true);
    expect(state.messages[0]).toContain(folder);
    expect(state.messages[0]).toMatch(/folder .* can be written by other users/);
    chmodSync(folder, 0o775);
    expect(loadMachinePolicy({ path: file, user }).locked).toBe(true);
    chmodSync(folder, 0o755);
    expect(loadMachinePolicy({ path: file, user }).locked).toBe(false);
  });

  it('a policy file owned by someone other than an administrator (POSIX)', () => {
    const file = writePolicy({ disableExport: true });
    const me = process.getuid!();
    // The file and its folder belong to this test's user; trust only another uid, as if this user were not an administrator.
    const state = loadMachinePolicy({ path: file, user, trustedOwnerUids: [me + 1] });
    expect(state.locked).toBe(true);
    expect(state.messages[0]).toMatch(new RegExp(`is owned by uid ${me}, not by an administrator`));
    expect(loadMachinePolicy({ path: file, user, trustedOwnerUids: [me] }).locked).toBe(false);
  });

  it('a symbolic link to a policy file owned by a user is refused; a link between administrator files is followed (POSIX)', () => {
    const target = writePolicy({ disableExport: true });
    const link = path.join(dir, `link-${(counter += 1)}.json`);
    symlinkSync(target, link);
    const me = process.getuid!();
    const refused = loadMachinePolicy({ path: link, user, trustedOwnerUids: [me + 1] });
    expect(refused.locked).toBe(true);
    expect(refused.messages[0]).toContain(link);
    expect(refused.messages[0]).toContain(`symbolic link to ${target}`);
    expect(refused.messages[0]).toMatch(/not by an administrator/);
    const followed = loadMachinePolicy({ path: link, user, trustedOwnerUids: [me] });
    expect(followed.locked).toBe(false);
    expect(followed.exportAllowed).toBe(false);
  });

  it('a dangling symbolic link locks down instead of meaning "no policy"', () => {
    const link = path.join(dir, `dangling-${(counter += 1)}.json`);
    symlinkSync(path.join(dir, 'no-such-policy.json'), link);
    const state = loadMachinePolicy({ path: link, user });
    expect(state.locked).toBe(true);
    expect(state.source).toBe(link);
    expect(state.messages[0]).toMatch(/symbolic link to .*no-such-policy\.json, which does not exist/);
  });

  it('skips the POSIX mode and owner checks on Windows, where access is decided by ACLs', () => {
    const file = writePolicy({ disableExport: true });
    chmodSync(file, 0o666);
    const state = loadMachinePolicy({ path: file, user, platform: 'win32', trustedOwnerUids: [process.getuid!() + 1] });
    expect(state.locked).toBe(false);
    expect(state.exportAllowed).toBe(false);
  });

  it('accepts the byte-order mark Windows editors write', () => {
    const state = loadMachinePolicy({ path: writePolicy('\uFEFF{"disableExport": true}', true), user });
    expect(state.locked).toBe(false);
    expect(state.exportAllowed).toBe(false);
  });
});

describe('the IT guide', () => {
  it("its policy example is a valid policy (on Windows, where its paths are)", () => {
    const guide = readFileSync(path.join(__dirname, '../../../docs/it-deployment.md'), 'utf8');
    const example = /## Machine policy[\s\S]*?```json\n([\s\S]*?)```/.exec(guide)?.[1];
    expect(example).toBeDefined();
    const state = loadMachinePolicy({ path: writePolicy(example ?? '', true), platform: 'win32', user });
    expect(state.messages).toEqual([]);
    expect(state.locked).toBe(false);
    expect(state.dataDir).toBe('D:\\HealthGPT\\rad1');
    expect(state.auditLogPath).toBe('\\\\fileserver\\audit\\healthgpt\\rad1.jsonl');
    expect(state.isTaskAllowed('ct2mri')).toBe(false);
    expect(state.trustedKeys.map((k) => k.id)).toEqual(['hospital-2026']);
  });
});

describe('wired into the services', () => {
  it('app:get-info and policy:get report the policy; the data folder comes from it', async () => {
    const dataDir = path.join(dir, 'policy-data');
    const policy = loadMachinePolicy({ path: writePolicy({ dataDir, disableExport: true, disabledTasks: ['recon'] }), user });
    const services = await createServices({ mode: 'test', policy });
    try {
      expect(services.dataDir).toBe(dataDir);
      expect(services.policy).toBe(policy);
      const ctx = { sink: { id: 't', send: () => {}, isAlive: () => true }, sender: { transport: 'direct' as const, origin: null, isMainFrame: true, authenticated: true } };
      const status = await services.registry.dispatch('policy:get', {}, ctx);
      expect(status).toMatchObject({ ok: true, value: { locked: false, disableExport: true, disabledTasks: ['recon'], dataDir } });
      const info = await services.registry.dispatch('app:get-info', {}, ctx);
      expect(info).toMatchObject({ ok: true, value: { dataDir, policy: { locked: false, messages: [] } } });
    } finally {
      await services.close();
    }
  });

  it('an invalid policy reaches the window as locked with its message', async () => {
    const file = writePolicy({ disableExport: 'no' });
    const previous = process.env.HEALTHGPT_POLICY_FILE;
    process.env.HEALTHGPT_POLICY_FILE = file;
    const services = await createServices({ mode: 'test', dataDir: path.join(dir, 'locked-data') });
    try {
      const ctx = { sink: { id: 't', send: () => {}, isAlive: () => true }, sender: { transport: 'direct' as const, origin: null, isMainFrame: true, authenticated: true } };
      const info = await services.registry.dispatch('app:get-info', {}, ctx);
      expect(info.ok).toBe(true);
      const policy = info.ok ? (info.value as { policy: { locked: boolean; messages: string[] } }).policy : null;
      expect(policy?.locked).toBe(true);
      expect(policy?.messages[0]).toContain(file);
      expect(services.policy.exportAllowed).toBe(false);
    } finally {
      if (previous === undefined) delete process.env.HEALTHGPT_POLICY_FILE;
      else process.env.HEALTHGPT_POLICY_FILE = previous;
      await services.close();
    }
  });
});
