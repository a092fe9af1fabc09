import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupResultSchema, exportResultSchema, type CaseDetail } from '../../../src-shared/contracts/history';
import { DomainError } from '../../../src-shared/ipc/envelope';
import { directCall } from '../../../src-main/cli/direct-call';
import { createServices, type Services } from '../../../src-main/services';
import { closeDatabase, openHistoryDatabase } from '../../../src-main/store/database';
import { HistoryService } from '../../../src-main/store/history-service';
import { LATEST_SCHEMA_VERSION } from '../../../src-main/store/migrations';
import { tempDir } from './helpers/store-helpers';
import { runHealthgptInProcess } from '../../support/cli-runner';

const osUser = os.userInfo().username;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function seedCase(h: HistoryService, n: number, opts: { patient: string; date: string; task: string; status: 'succeeded' | 'failed'; startedAt: number }) {
  const caseId = `case-${n}`;
  await h.recordCase({
    caseId,
    patientId: `PID${n}`,
    patientName: opts.patient,
    studies: [
      {
        studyId: `study-${n}`,
        studyUid: `1.2.840.${n}`,
        studyDate: opts.date,
        description: `CT head ${n}`,
        accession: `ACC${n}`,
        series: [{ seriesId: `series-${n}`, seriesUid: `1.2.840.${n}.1`, modality: 'CT', instanceCount: 3, location: `/data/${n}` }],
      },
    ],
  });
  const image = randomBytes(5000);
  const slices = [randomBytes(3000), randomBytes(3000)];
  await h.recordCompletedRun({
    run: {
      runId: `run-${n}`,
      caseId,
      task: opts.task,
      prompt: `What is shown? (${n})`,
      packId: 'healthgpt-m3',
      packHash: 'a'.repeat(64),
      plugin: 'comprehension',
      executionProvider: 'cpu',
      params: { temperature: 0, maxTokens: 64 },
      seed: 42,
      startedAt: opts.startedAt,
      inputSeriesIds: [`series-${n}`],
    },
    outputs: [
      { outputId: `out-${n}-text`, runId: `run-${n}`, kind: 'text', text: `Finding ${n}`, artifacts: [] },
      { outputId: `out-${n}-img`, runId: `run-${n}`, kind: 'image', label: 'heatmap', artifacts: [{ bytes: image, mediaType: 'image/png', name: 'heatmap.png' }] },
      {
        outputId: `out-${n}-series`,
        runId: `run-${n}`,
        kind: 'series',
        generatedSeries: { studyId: `study-${n}`, seriesId: `gen-${n}`, seriesUid: `2.25.${n}`, modality: 'CT', description: 'AI super-resolution' },
        artifacts: slices.map((b, i) => ({ bytes: b, mediaType: 'application/dicom', name: `slice-${i}.dcm` })),
      },
    ],
    end: { runId: `run-${n}`, status: opts.status, endedAt: opts.startedAt + 1500, error: opts.status === 'failed' ? 'out of memory' : null, timing: { encode: 100, generate: 1200 } },
  });
  return { caseId, image, slices };
}

describe('history service (real worker, real files)', () => {
  const tmp = tempDir('svc');
  let h: HistoryService;
  let seeded: Awaited<ReturnType<typeof seedCase>>;

  beforeAll(async () => {
    h = await HistoryService.start({ dataDir: tmp.dir });
    seeded = await seedCase(h, 1, { patient: 'Doe^Jane', date: '2025-03-04', task: 'vqa', status: 'succeeded', startedAt: Date.parse('2025-03-04T10:00:00Z') });
    await seedCase(h, 2, { patient: 'Roe^Richard', date: '2025-06-10', task: 'super-resolution', status: 'failed', startedAt: Date.parse('2025-06-10T10:00:00Z') });
    await seedCase(h, 3, { patient: 'Doe^John', date: '2024-12-31', task: 'super-resolution', status: 'succeeded', startedAt: Date.parse('2025-01-02T10:00:00Z') });
  });
  afterAll(async () => {
    await h.close();
    tmp.cleanup();
  });

  it('opens with WAL, foreign keys, synchronous=FULL and the latest schema', async () => {
    const status = await h.status();
    expect(status).toMatchObject({ state: 'open', schemaVersion: LATEST_SCHEMA_VERSION, appSchemaVersion: LATEST_SCHEMA_VERSION, reason: null });
    const db = new Database(path.join(tmp.dir, 'history.db'), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    // The connection settings themselves, on the function the worker uses.
    const opened = openHistoryDatabase(path.join(tmp.dir, 'settings.db'));
    try {
      expect(opened.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
      expect(opened.db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(opened.db.pragma('busy_timeout', { simple: true })).toBeGreaterThanOrEqual(5000);
      expect(opened.db.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      closeDatabase(opened.db);
    }
    // Foreign keys are enforced through the service: a run for an unknown case is refused.
    await expect(h.recordRun({ runId: 'orphan', caseId: 'no-such-case', task: 'vqa', prompt: 'p', packId: 'p', packHash: 'h', executionProvider: 'cpu' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringMatching(/FOREIGN KEY/),
    });
  });

  it('returns a case with its studies, runs, outputs and verified artifacts', async () => {
    const c = await h.getCase(seeded.caseId);
    expect(c.summary).toMatchObject({ caseId: 'case-1', patientName: 'Doe^Jane', runCount: 1, lastRunStatus: 'succeeded', reviewState: 'unreviewed', tasks: ['vqa'] });
    expect(c.studies[0]?.series.map((s) => [s.seriesUid, s.generated])).toEqual([
      ['1.2.840.1.1', false],
      ['2.25.1', true],
    ]);
    const run = c.runs[0]!;
    expect(run).toMatchObject({ task: 'vqa', packId: 'healthgpt-m3', packHash: 'a'.repeat(64), plugin: 'comprehension', executionProvider: 'cpu', seed: 42, status: 'succeeded' });
    expect(run.params).toEqual({ temperature: 0, maxTokens: 64 });
    expect(run.timing).toEqual({ encode: 100, generate: 1200 });
    expect(run.inputSeriesIds).toEqual(['series-1']);
    expect(run.outputs.map((o) => o.kind)).toEqual(['text', 'image', 'series']);
    expect(run.outputs[1]?.artifacts).toEqual([{ hash: sha(seeded.image), name: 'heatmap.png', mediaType: 'image/png', size: 5000, status: 'ok' }]);
    expect(run.outputs[2]?.artifacts.map((a) => a.hash)).toEqual(seeded.slices.map(sha));
    expect(c.problems).toEqual([]);
    const read = await h.readArtifact(sha(seeded.image));
    expect(Buffer.from(read.bytes).equals(seeded.image)).toBe(true);
    expect(read.mediaType).toBe('image/png');
  });

  it('searches by patient, study, date, task, status and review', async () => {
    const ids = async (q: Parameters<HistoryService['listCases']>[0]) => (await h.listCases(q)).cases.map((c) => c.caseId);
    const base = { limit: 50, offset: 0 };
    expect(await ids(base)).toEqual(['case-2', 'case-1', 'case-3']); // newest run first
    expect(await ids({ ...base, patient: 'doe' })).toEqual(['case-1', 'case-3']);
    expect(await ids({ ...base, patient: 'PID2' })).toEqual(['case-2']);
    expect(await ids({ ...base, patient: '%' })).toEqual([]); // LIKE wildcards are data, not patterns
    expect(await ids({ ...base, study: '1.2.840.3' })).toEqual(['case-3']);
    expect(await ids({ ...base, study: 'acc2' })).toEqual(['case-2']);
    expect(await ids({ ...base, dateFrom: '2025-01-01', dateTo: '2025-05-01' })).toEqual(['case-1']);
    expect(await ids({ ...base, task: 'super-resolution' })).toEqual(['case-2', 'case-3']);
    expect(await ids({ ...base, status: 'failed' })).toEqual(['case-2']);
    expect(await ids({ ...base, task: 'super-resolution', status: 'succeeded' })).toEqual(['case-3']);
    const page = await h.listCases({ ...base, limit: 1, offset: 1 });
    expect(page.total).toBe(3);
    expect(page.cases.map((c) => c.caseId)).toEqual(['case-1']);
  });

  it('records reviews as the OS user, append-only, and updates the review state', async () => {
    const first = await h.recordReview({ runId: 'run-3', decision: 'rejected', comment: 'artefact at the skull base' });
    const second = await h.recordReview({ runId: 'run-3', decision: 'edited', editedText: 'No acute finding.' });
    expect(first.reviewer).toBe(osUser);
    expect((await h.listCases({ limit: 50, offset: 0, review: 'edited' })).cases.map((c) => c.caseId)).toEqual(['case-3']);
    const c = await h.getCase('case-3');
    expect(c.runs[0]?.reviews.map((r) => [r.decision, r.comment, r.editedText, r.reviewer])).toEqual([
      ['rejected', 'artefact at the skull base', null, osUser],
      ['edited', null, 'No acute finding.', osUser],
    ]);
    expect(second.at).toBeGreaterThanOrEqual(first.at);
    await expect(h.recordReview({ runId: 'run-nope', decision: 'accepted' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses to change a finished run', async () => {
    await expect(h.finishRun({ runId: 'run-1', status: 'failed' })).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('writes an audit entry for every change, and the log refuses UPDATE and DELETE', () => {
    const db = new Database(path.join(tmp.dir, 'history.db'));
    try {
      const actions = (db.prepare('SELECT action FROM audit_log ORDER BY seq').all() as Array<{ action: string }>).map((r) => r.action);
      expect(actions.filter((a) => a === 'case.create')).toHaveLength(3);
      expect(actions).toEqual(expect.arrayContaining(['run.start', 'output.create', 'run.succeeded', 'run.failed', 'review.rejected', 'review.edited']));
      expect(() => db.prepare(`UPDATE audit_log SET actor = 'someone-else'`).run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM audit_log').run()).toThrow(/append-only/);
    } finally {
      db.close();
    }
  });

  it('exports a case as a zip whose manifest hashes match every entry', async () => {
    const dest = path.join(tmp.dir, 'exports', 'case-1.zip');
    const result = await h.exportCase('case-1', dest);
    const zipBytes = readFileSync(dest);
    expect(result).toMatchObject({ path: dest, bytes: zipBytes.length, artifacts: 3, sha256: sha(zipBytes), problems: [] });
    const files = unzipSync(zipBytes);
    const manifest = JSON.parse(Buffer.from(files['manifest.json']!).toString('utf8')) as { caseId: string; entries: Array<{ path: string; sha256: string; size: number }>; exportedBy: string };
    expect(manifest.caseId).toBe('case-1');
    expect(manifest.exportedBy).toBe(osUser);
    expect(manifest.entries.map((e) => e.path).sort()).toEqual([...Object.keys(files).filter((f) => f !== 'manifest.json')].sort());
    for (const e of manifest.entries) {
      expect(sha(files[e.path]!), e.path).toBe(e.sha256);
      expect(files[e.path]!.byteLength).toBe(e.size);
    }
    expect(files[`artifacts/${sha(seeded.image)}.png`]).toBeDefined();
    const caseJson = JSON.parse(Buffer.from(files['case.json']!).toString('utf8')) as CaseDetail;
    expect(caseJson.runs[0]?.outputs[0]?.text).toBe('Finding 1');
    expect(existsSync(`${dest}.partial`)).toBe(false);
    // An independent reader checks every entry's CRC: Python's zipfile.
    const py = spawnSync('/usr/bin/python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(z.testzip(), len(z.namelist()))', dest], { encoding: 'utf8' });
    if (py.status === 0 || !py.error) expect(py.stdout.trim()).toBe(`None ${Object.keys(files).length}`);
  });

  it('reports a corrupted or missing artifact, never returns it as valid, and leaves it out of exports', async () => {
    const c2 = await h.getCase('case-2');
    const [imgHash] = c2.runs[0]!.outputs[1]!.artifacts.map((a) => a.hash);
    const [slice0] = c2.runs[0]!.outputs[2]!.artifacts.map((a) => a.hash);
    const imgFile = h.artifacts.pathFor(imgHash!);
    const bytes = readFileSync(imgFile);
    bytes[100] = (bytes[100]! + 1) % 256;
    writeFileSync(imgFile, bytes);
    rmSync(h.artifacts.pathFor(slice0!));

    const after = await h.getCase('case-2');
    expect(after.runs[0]!.outputs[1]!.artifacts[0]!.status).toBe('corrupt');
    expect(after.runs[0]!.outputs[2]!.artifacts[0]!.status).toBe('missing');
    expect(after.runs[0]!.outputs[2]!.artifacts[1]!.status).toBe('ok');
    expect(after.problems.map((p) => p.status).sort()).toEqual(['corrupt', 'missing']);
    await expect(h.readArtifact(imgHash!)).rejects.toMatchObject({ code: 'ARTIFACT_CORRUPT' });
    await expect(h.readArtifact(slice0!)).rejects.toMatchObject({ code: 'ARTIFACT_MISSING' });

    const report = await h.check(true);
    expect(report.ok).toBe(false);
    expect(report.quickCheck).toEqual(['ok']);
    expect(report.artifacts.corrupt).toEqual([imgHash]);
    expect(report.artifacts.missing).toEqual([slice0]);

    const exported = await h.exportCase('case-2', path.join(tmp.dir, 'exports', 'case-2.zip'));
    expect(exported.artifacts).toBe(1);
    expect(exported.problems.map((p) => p.hash).sort()).toEqual([imgHash, slice0].sort());
    const files = unzipSync(readFileSync(exported.path));
    expect(Object.keys(files).some((f) => f.includes(imgHash!))).toBe(false);
    expect(JSON.parse(Buffer.from(files['manifest.json']!).toString('utf8')).problems).toHaveLength(2);
  });

  it('backs up online to a file that opens, passes quick_check and holds the same rows', async () => {
    const dest = path.join(tmp.dir, 'backups', 'manual.db');
    const progress: number[] = [];
    const r = await h.backup(dest, { progress: (done) => progress.push(done) });
    expect(r.path).toBe(dest);
    const b = new Database(dest, { readonly: true });
    try {
      expect(b.pragma('quick_check', { simple: true })).toBe('ok');
      expect((b.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n).toBe(3);
      expect(b.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
    } finally {
      b.close();
    }
    expect((await h.status()).backups.map((x) => x.path)).toContain(dest);
    await expect(h.backup(h.file)).rejects.toBeInstanceOf(DomainError);
  });

  it('cancels a backup and leaves no partial file', async () => {
    const controller = new AbortController();
    controller.abort();
    const dest = path.join(tmp.dir, 'backups', 'cancelled.db');
    await expect(h.backup(dest, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(existsSync(dest)).toBe(false);
  });
});

describe('history through the registry, the job manager and the CLI', () => {
  const tmp = tempDir('ipc');
  let services: Services;

  beforeAll(async () => {
    services = await createServices({ mode: 'test', dataDir: tmp.dir });
    // The store opens in the background; calls made meanwhile wait for it.
    expect((await directCall(services, 'history', 'status', {})).state).toBe('opening');
    expect((await directCall(services, 'history', 'listCases', {})).total).toBe(0);
    expect((await directCall(services, 'history', 'status', {})).state).toBe('open');
    await seedCase(services.history, 7, { patient: 'Poe^Edgar', date: '2025-02-02', task: 'vqa', status: 'succeeded', startedAt: Date.now() });
  });
  afterAll(async () => {
    await services.close();
    tmp.cleanup();
  });

  it('serves list, get, review (reviewer from the OS, not the window), and refuses recording from the window', async () => {
    const list = await directCall(services, 'history', 'listCases', { patient: 'poe' });
    expect(list.cases.map((c) => c.caseId)).toEqual(['case-7']);
    // A later import into the case, then the window opens it: the view is audited.
    await services.history.recordStudy('case-7', { studyId: 'study-7b', studyUid: '1.2.840.7.2', studyDate: '2025-02-03', series: [] });
    await services.history.recordSeries('study-7b', { seriesId: 'series-7b', seriesUid: '1.2.840.7.2.1', modality: 'MR' });
    const detail = await directCall(services, 'history', 'getCase', { caseId: 'case-7' });
    expect(detail.studies.map((s) => [s.studyUid, s.series.map((x) => x.modality)])).toEqual([
      ['1.2.840.7', ['CT', 'CT']],
      ['1.2.840.7.2', ['MR']],
    ]);
    const audit = new Database(path.join(tmp.dir, 'history.db'), { readonly: true });
    try {
      expect(audit.prepare(`SELECT action, actor FROM audit_log WHERE entity_id IN ('case-7', 'study-7b') ORDER BY seq`).all()).toEqual([
        { action: 'case.create', actor: osUser },
        { action: 'study.import', actor: osUser },
        { action: 'series.import', actor: osUser },
        { action: 'case.view', actor: osUser },
      ]);
    } finally {
      audit.close();
    }
    const review = await directCall(services, 'history', 'recordReview', { runId: 'run-7', decision: 'accepted', comment: 'agree' });
    expect(review.reviewer).toBe(osUser);
    await expect(directCall(services, 'history', 'recordReview', { runId: 'run-7', decision: 'accepted', reviewer: 'mallory' } as never)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const channels = services.registry.channels().filter((c) => c.startsWith('history:'));
    expect(channels.some((c) => /record-(run|output|case)/.test(c))).toBe(false);
  });

  it('runs export and backup as jobs with a final event', async () => {
    const events: string[] = [];
    const sink = { id: 'test', send: (ch: string) => events.push(ch), isAlive: () => true };
    const exp = await directCall(services, 'history', 'exportCase', { caseId: 'case-7' }, sink);
    const final = await services.jobs.wait(exp.jobId);
    expect(final.status).toBe('done');
    const exported = exportResultSchema.parse(final.status === 'done' ? final.result : null);
    expect(exported.artifacts).toBe(3);
    // Main named the file, in the export folder; a window cannot name one.
    expect(path.dirname(exported.path)).toBe(services.exports.folder);
    expect(path.basename(exported.path)).toMatch(/^case-case-7-\d{8}-\d{6}\.zip$/);
    const bk = await directCall(services, 'history', 'backup', {}, sink);
    const bkFinal = await services.jobs.wait(bk.jobId);
    expect(bkFinal.status).toBe('done');
    const backup = backupResultSchema.parse(bkFinal.status === 'done' ? bkFinal.result : null);
    expect(path.dirname(backup.path)).toBe(path.join(tmp.dir, 'backups'));
    expect(events.filter((e) => e === 'jobs:final')).toHaveLength(2);
    await expect(directCall(services, 'history', 'exportCase', { caseId: 'case-7', destination: path.join(tmp.dir, 'e.zip') } as never, sink)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(directCall(services, 'history', 'backup', { destination: path.join(tmp.dir, 'b.db') } as never, sink)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const failed = await directCall(services, 'history', 'exportCase', { caseId: 'no-such-case' }, sink);
    const failedFinal = await services.jobs.wait(failed.jobId);
    expect(failedFinal).toMatchObject({ status: 'failed', error: { code: 'NOT_FOUND' } });
  });

  it('answers `healthgpt history list|check|export` from the command line', async () => {
    const cli = (args: string[]) => runHealthgptInProcess(args, tmp.dir);
    const list = await cli(['history', 'list', '--json', '--task', 'vqa']);
    expect(list.code, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { cases: Array<{ caseId: string }> }).cases.map((c) => c.caseId)).toEqual(['case-7']);
    const check = await cli(['history', 'check', '--json']);
    expect(check.code, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, quickCheck: ['ok'], artifacts: { checked: 3, ok: 3, missing: [], corrupt: [] } });
    const zip = path.join(tmp.dir, 'cli.zip');
    const exp = await cli(['history', 'export', 'case-7', zip, '--json']);
    expect(exp.code, exp.stderr).toBe(0);
    expect(JSON.parse(exp.stdout)).toMatchObject({ path: zip, artifacts: 3, sha256: sha(readFileSync(zip)) });
    const bad = await cli(['history', 'export', 'case-7']);
    expect(bad.code).toBe(2);
  }, 120_000);
});

describe('audit copy for the machine policy (auditLogPath)', () => {
  const tmp = tempDir('mirror');
  afterAll(() => tmp.cleanup());

  it('appends each committed audit record as a JSON line, nothing for a rolled-back write', async () => {
    const file = path.join(tmp.dir, 'audit.jsonl');
    const h = await HistoryService.start({ dataDir: path.join(tmp.dir, 'data'), auditMirror: { path: file, host: 'ws-17' } });
    try {
      await h.recordCase({ caseId: 'm1', patientName: 'Mirror^One', studies: [] });
      await h.recordRun({ runId: 'mr1', caseId: 'm1', task: 'vqa', prompt: 'p', packId: 'p', packHash: 'h', executionProvider: 'cpu' });
      await expect(h.recordRun({ runId: 'mr2', caseId: 'no-such-case', task: 'vqa', prompt: 'p', packId: 'p', packHash: 'h', executionProvider: 'cpu' })).rejects.toMatchObject({
        code: 'CONFLICT',
      });
      await h.recordReview({ runId: 'mr1', decision: 'accepted', comment: 'fine' });
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { action: string; actor: string; host: string; entityId: string });
      expect(lines.map((l) => [l.action, l.entityId])).toEqual([
        ['case.create', 'm1'],
        ['run.start', 'mr1'],
        ['review.accepted', 'mr1'],
      ]);
      expect(lines.every((l) => l.actor === osUser && l.host === 'ws-17')).toBe(true);
      expect((await h.status()).auditCopy).toEqual({ path: file, problem: null });
    } finally {
      await h.close();
    }
  });

  it('keeps recording when the copy cannot be written, and says why in status', async () => {
    const file = path.join(tmp.dir, 'missing-folder', 'audit.jsonl');
    const h = await HistoryService.start({ dataDir: path.join(tmp.dir, 'data2'), auditMirror: { path: file, host: 'ws-17' } });
    try {
      await h.recordCase({ caseId: 'm2', studies: [] });
      expect((await h.listCases({ limit: 5, offset: 0 })).total).toBe(1);
      expect((await h.status()).auditCopy).toEqual({ path: file, problem: expect.stringMatching(/audit copy to .* failed: ENOENT/) });
    } finally {
      await h.close();
    }
  });
});
