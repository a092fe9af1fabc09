/**
 * `healthgpt pacs ...` run the way scripts run it, against a real Orthanc (+ DICOMweb, basic auth) on
 * 127.0.0.1: a node from the data folder's pacs-nodes.json, and an ad hoc --url node.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { OrthancServer } from '../../support/orthanc';
import { digests, makePhantomStudy, PHANTOM_STUDY, PYDICOM_FILES, sha256 } from './pacs-fixtures';

const PASSWORD = 'cli-secret-42';
let orthanc: OrthancServer;
let fixture: ReturnType<typeof makePhantomStudy>;
let dataDir: string;
const env = () => ({ HEALTHGPT_DATA_DIR: dataDir });

/** The CLI the way scripts run it: `npm run -s healthgpt -- ...`. */
function runHealthgpt(args: string[], extraEnv: Record<string, string>) {
  const r = spawnSync('npm', ['run', '-s', 'healthgpt', '--', ...args], { encoding: 'utf8', env: { ...process.env, ...extraEnv }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  fixture = makePhantomStudy();
  orthanc = await OrthancServer.start({ users: { radiologist: PASSWORD } });
  await orthanc.upload([...fixture.original, path.join(PYDICOM_FILES, 'CT_small.dcm'), path.join(PYDICOM_FILES, 'MR_small.dcm')]);
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-pacs-cli-'));
  writeFileSync(
    path.join(dataDir, 'pacs-nodes.json'),
    JSON.stringify({ nodes: [{ name: 'orthanc', url: orthanc.dicomWebUrl, auth: { type: 'basic', username: 'radiologist', password: PASSWORD } }] }),
  );
});

afterAll(async () => {
  await orthanc?.stop();
  for (const d of [orthanc?.dir, fixture?.dir, dataDir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('healthgpt pacs (real Orthanc on loopback)', () => {
  it('echo --node (from pacs-nodes.json) answers ok; find --url with the password from the environment filters by patient and modality', () => {
    const echo = runHealthgpt(['pacs', 'echo', '--node', 'orthanc', '--json'], env());
    expect(echo.code, echo.stderr).toBe(0);
    expect(JSON.parse(echo.stdout)).toMatchObject({ node: 'orthanc', ok: true });
    const found = runHealthgpt(['pacs', 'find', '--url', orthanc.dicomWebUrl, '--user', 'radiologist', '--patient', 'Compressed', '--modality', 'mr', '--json'], { ...env(), HEALTHGPT_PACS_PASSWORD: PASSWORD });
    expect(found.code, found.stderr).toBe(0);
    expect((JSON.parse(found.stdout) as Array<{ patientId: string }>).map((s) => s.patientId)).toEqual(['4MR1']);
    const byDate = runHealthgpt(['pacs', 'find', '--node', 'orthanc', '--from', '2004-01-01', '--to', '2004-06-30'], env());
    expect(byDate.code, byDate.stderr).toBe(0);
    expect(byDate.stdout).toMatch(/^1 study\n.*CompressedSamples\^CT1 \[1CT1\]/);
  });

  it('retrieve --study --out stores the series in the local store and copies it, byte-identical; send posts a folder and Orthanc holds it', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-pacs-out-'));
    onTestFinished(() => rmSync(out, { recursive: true, force: true }));
    const r = runHealthgpt(['pacs', 'retrieve', '--node', 'orthanc', '--study', PHANTOM_STUDY, '--out', out, '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { series: Array<{ seriesUid: string; state: string; stored: number; folder: string }>; copiedTo: string[] };
    expect(report.series).toEqual([expect.objectContaining({ state: 'complete', stored: 40 })]);
    expect(report.series[0]!.folder.startsWith(path.join(dataDir, 'pacs'))).toBe(true);
    const copied = readdirSync(report.copiedTo[0]!).map((f) => path.join(report.copiedTo[0]!, f));
    expect(copied.map(sha256).sort()).toEqual(digests(fixture.original));

    const sent = runHealthgpt(['pacs', 'send', '--node', 'orthanc', path.dirname(fixture.generated[0]!), '--json'], env());
    expect(sent.code, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ sent: 48, failed: [] });
    const series = runHealthgpt(['pacs', 'find', '--node', 'orthanc', '--study', PHANTOM_STUDY, '--json'], env());
    const listed = JSON.parse(series.stdout) as Array<{ seriesUid: string; instanceCount: number }>;
    expect(listed.map((s) => s.instanceCount).sort((a, b) => a - b)).toEqual([40, 48]);
  });

  it('wrong password: exit 1 with PACS_AUTH_FAILED and the password printed nowhere; usage mistakes exit 2', () => {
    const bad = runHealthgpt(['pacs', 'find', '--url', orthanc.dicomWebUrl, '--user', 'radiologist', '--json'], { ...env(), HEALTHGPT_PACS_PASSWORD: 'wrong-pw-xyz' });
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ ok: false, error: { code: 'PACS_AUTH_FAILED' } });
    expect(bad.stdout + bad.stderr).not.toContain('wrong-pw-xyz');
    const noStudy = runHealthgpt(['pacs', 'retrieve', '--node', 'orthanc', '--json'], env());
    expect(noStudy.code).toBe(2);
    expect(JSON.parse(noStudy.stdout)).toMatchObject({ error: { code: 'USAGE', message: expect.stringContaining('--study') } });
    const unknown = runHealthgpt(['pacs', 'echo', '--node', 'nowhere', '--json'], env());
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout)).toMatchObject({ error: { code: 'PACS_UNKNOWN_NODE' } });
  });
});
