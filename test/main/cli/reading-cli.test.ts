/**
 * The CLI as a new user meets it (issue 19): the one installed pack is the default, a folder or a missing
 * file is said in words, `dicom probe` reads as prose, a conversion on the wrong modality is refused
 * unless overridden, a generated PNG says it is AI-generated, and a series exports with its review state.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../src-main/cli/main';
import { readPngText } from '../../../src-main/model/png-text';
import { resolvePack } from '../../../src-main/cli/pack-args';
import { createServices, type Services } from '../../../src-main/services';
import { ensureGeneratedSeries, GENERATED } from '../dicom/fixtures';
import { cachedTinyPack, writeTestPng, type BuiltPack } from '../model/pack-fixture';
import { readDicom } from '../../support/dicom-read';

describe('CLI for a new user (one pack installed, real CT and MR slices)', () => {
  let pack: BuiltPack;
  let services: Services;
  let work: string;
  let png: string;
  const CT_FILE = () => path.join(GENERATED, 'ct_series', 'IM0000.dcm');

  /** The CLI over one set of services whose data folder holds exactly one pack (and no shipped pack beside it). */
  async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t), services: async () => services });
    return { code, out, err };
  }

  beforeAll(async () => {
    ensureGeneratedSeries();
    pack = cachedTinyPack();
    work = mkdtempSync(path.join(os.tmpdir(), 'hgpt-reading-cli-'));
    const dataDir = path.join(work, 'data');
    mkdirSync(path.join(dataDir, 'packs'), { recursive: true });
    cpSync(pack.dir, path.join(dataDir, 'packs', 'random-tiny'), { recursive: true });
    services = await createServices({ mode: 'cli', dataDir, resourcesDir: mkdtempSync(path.join(os.tmpdir(), 'hgpt-reading-cli-res-')) });
    png = path.join(work, 'in.png');
    writeTestPng(png, 50, 36, 2);
  }, 300_000);

  afterAll(async () => {
    await services?.close();
    pack?.cleanup();
  });

  it('ask without --pack uses the one installed pack; a report asks the same question the window asks', async () => {
    const r = await cli(['ask', '--image', CT_FILE(), '--task', 'report', '--max-tokens', '3', '--json']);
    expect(r.code, r.err).toBe(0);
    const v = JSON.parse(r.out) as { runId: string; caseId: string; pack: { name: string } };
    expect(v.pack.name).toBe('random-tiny');
    const run = (await services.history.getCase(v.caseId, false)).runs.find((x) => x.runId === v.runId)!;
    const manifest = JSON.parse(readFileSync(path.join(pack.dir, 'manifest.json'), 'utf8')) as { tasks: { report?: { defaultQuestion?: string } } };
    // workflow-service.ts ask: the pack's default question, else this sentence (never an empty question).
    expect(run.prompt).toBe(manifest.tasks.report?.defaultQuestion ?? 'Write a short report of this image.');
  });

  it('--pack is required only when several packs (or none) are installed, and the message says which', () => {
    const roots = mkdtempSync(path.join(os.tmpdir(), 'hgpt-reading-cli-two-'));
    for (const name of ['alpha', 'beta']) {
      mkdirSync(path.join(roots, 'data', 'packs', name), { recursive: true });
      cpSync(path.join(pack.dir, 'manifest.json'), path.join(roots, 'data', 'packs', name, 'manifest.json'));
    }
    const two = { resourcesDir: path.join(roots, 'res'), dataDir: path.join(roots, 'data') } as Services;
    expect(() => resolvePack(undefined, two)).toThrow(/2 model packs are installed \(random-tiny, random-tiny\): choose one with --pack <name>/);
    const none = { resourcesDir: path.join(roots, 'res'), dataDir: path.join(roots, 'none') } as Services;
    expect(() => resolvePack(undefined, none)).toThrow(/no model pack is installed \(looked in .*\): give --pack <pack folder>/);
    expect(resolvePack(undefined, services)).toBe(path.join(services.dataDir, 'packs', 'random-tiny'));
  });

  it('ask --image <folder> and a missing file are said in words (no EISDIR, no ENOENT)', async () => {
    const folder = await cli(['ask', '--image', path.join(GENERATED, 'ct_series'), '--question', 'Is there a lesion?']);
    expect(folder.code).toBe(2);
    expect(folder.err).toMatch(/--image: .*ct_series is a folder; ask reads one image: give one DICOM or PNG file/);
    expect(folder.err).not.toMatch(/EISDIR/);
    const missing = path.join(work, 'nope.dcm');
    const gone = await cli(['ask', '--image', missing, '--question', 'Is there a lesion?', '--json']);
    expect(gone.code).toBe(2);
    expect(JSON.parse(gone.out)).toMatchObject({ ok: false, error: { message: `--image: No such file: ${missing}` } });
    expect(gone.err).not.toMatch(/ENOENT/);
    const generateMissing = await cli(['generate', '--task', 'sr', '--in', missing, '--out', path.join(work, 'x.png')]);
    expect(generateMissing.err).toMatch(/--in: No such file: .*nope\.dcm/);
  });

  it('the import report (what the window shows) says "No such file" for a missing path', async () => {
    const missing = path.join(work, 'gone-folder');
    const { jobId } = services.dicom.import([missing], { id: 'import-test', send: () => {}, isAlive: () => true });
    const final = await services.jobs.wait(jobId);
    const report = (final as { result: { entries: Array<{ path: string; message?: string }> } }).result;
    expect(report.entries.find((e) => e.path === missing)?.message).toBe(`No such file: ${missing}`);
  });

  it('dicom probe without --json prints what each file is in words, and a count', async () => {
    const missing = path.join(work, 'absent.dcm');
    const r = await cli(['dicom', 'probe', CT_FILE(), missing]);
    expect(r.code).toBe(1);
    expect(r.out).toContain(`${CT_FILE()}\n  CT image, Explicit VR Little Endian\n  128 × 128 pixels, 1 frame, pixels 0.661 × 0.661 mm, MONOCHROME2\n  values (HU): min -896, max 1167`);
    expect(r.out).toContain(`${missing}\n  could not be read: No such file: ${missing}`);
    expect(r.out).toMatch(/2 files: 1 read, 1 could not be read\n$/);
    expect(r.out).not.toMatch(/[{}]/);
  });

  it('generate mri2ct on a CT slice is refused in words; --allow-modality-mismatch runs it and records the override', async () => {
    const out = path.join(work, 'ct-as-mr.png');
    const refused = await cli(['generate', '--task', 'mri2ct', '--in', CT_FILE(), '--out', out, '--json']);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.out)).toMatchObject({ ok: false, error: { code: 'WORKFLOW_MODALITY_MISMATCH', message: expect.stringMatching(/reads MR images, but this series is CT.*--allow-modality-mismatch/) } });
    const forced = await cli(['generate', '--task', 'mri2ct', '--in', CT_FILE(), '--out', out, '--allow-modality-mismatch', '--json']);
    expect(forced.code, forced.err).toBe(0);
    const v = JSON.parse(forced.out) as { runId: string; caseId: string };
    const run = (await services.history.getCase(v.caseId, false)).runs.find((x) => x.runId === v.runId)!;
    expect(run.params.modalityOverride).toEqual({ seriesModality: 'CT', taskReads: 'MR', by: services.history.actor });
  });

  it('a generated PNG carries the AI-generated marking in its text chunks (app, pack, task, run)', async () => {
    const out = path.join(work, 'sr.png');
    const r = await cli(['generate', '--task', 'sr', '--in', png, '--out', out, '--json']);
    expect(r.code, r.err).toBe(0);
    const { runId } = JSON.parse(r.out) as { runId: string };
    const text = readPngText(readFileSync(out));
    expect(text.Warning).toBe('AI-generated — not for diagnosis');
    expect(text.Description).toBe(`AI-generated image: task sr, run ${runId}, by random-tiny 0.0.0 (demonstration model, not for clinical use).`);
    expect(text.Source).toBe('model pack random-tiny 0.0.0');
    expect(text.Software).toMatch(/^HealthGPT Workstation \d+\.\d+\.\d+/);
    // The image itself is untouched by the chunks: pngjs still reads it (CRCs checked).
    const { PNG } = await import('pngjs');
    expect(PNG.sync.read(readFileSync(out), { checkCRC: true }).width).toBeGreaterThan(0);
  });

  it('a generated series exports with its review state: unreviewed asks for --confirm-unreviewed, a rejection travels in the files', async () => {
    const series = path.join(work, 'ct-in');
    mkdirSync(series);
    for (const f of readdirSync(path.join(GENERATED, 'ct_series')).slice(0, 2)) cpSync(path.join(GENERATED, 'ct_series', f), path.join(series, f));
    const gen = await cli(['generate', '--task', 'ct2mri', '--in', series, '--out', path.join(work, 'batch-out'), '--json']);
    expect(gen.code, gen.err).toBe(0);
    const { runId, reviewState } = JSON.parse(gen.out) as { runId: string; reviewState: string };
    expect(reviewState).toBe('unreviewed');
    expect(readDicom(path.join(work, 'batch-out', '0001.dcm')).SeriesDescription).toMatch(new RegExp(`^AI CT to MRI ${runId.slice(4, 12)} UNREVIEWED`));

    const asked = await cli(['series', 'export', runId, path.join(work, 'again')]);
    expect(asked.code).toBe(1);
    expect(asked.err).toMatch(/has not been reviewed\. Export it anyway only if you mean to.*--confirm-unreviewed/);
    const rejected = await cli(['history', 'review', runId, 'reject', '--comment', 'wrong contrast']);
    expect(rejected.code, rejected.err).toBe(0);
    expect(rejected.out).toMatch(/: rejected by .* — wrong contrast/);
    const confirmed = await cli(['series', 'export', runId, path.join(work, 'again'), '--confirm-unreviewed', '--json']);
    expect(confirmed.code, confirmed.err).toBe(0);
    expect(JSON.parse(confirmed.out)).toMatchObject({ files: 2, reviewState: 'rejected' });
    const ds = readDicom(path.join(work, 'again', '0002.dcm'));
    expect(ds.SeriesDescription).toMatch(/ REJECTED /);
    expect(String(ds.ImageComments)).toMatch(/review: rejected by /);
    const listed = await cli(['history', 'list']);
    expect(listed.out).toMatch(/review: 1 rejected/);
  });
});
