/**
 * `healthgpt pacs ... --protocol dimse` as scripts run it, against a real Orthanc's DICOM port on 127.0.0.1
 * (our AE title registered there, so C-MOVE reaches the Storage SCP the CLI starts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, OrthancServer } from '../../support/orthanc';
import { makePhantomStudy, PHANTOM_STUDY, PYDICOM_FILES } from './pacs-fixtures';

let orthanc: OrthancServer;
let fixture: ReturnType<typeof makePhantomStudy>;
let dataDir: string;
let storePort: number;

function runHealthgpt(args: string[]) {
  const r = spawnSync('npm', ['run', '-s', 'healthgpt', '--', ...args], { encoding: 'utf8', env: { ...process.env, HEALTHGPT_DATA_DIR: dataDir }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const peer = () => ['--protocol', 'dimse', '--host', '127.0.0.1', '--port', String(orthanc.dicomPort), '--called-aet', 'ORTHANC', '--aet', 'WS-CLI', '--store-port', String(storePort), '--json'];

beforeAll(async () => {
  fixture = makePhantomStudy();
  storePort = await freePort();
  orthanc = await OrthancServer.start({ dicom: true, modalities: { ws: ['WS-CLI', '127.0.0.1', storePort] } });
  await orthanc.upload([...fixture.original, path.join(PYDICOM_FILES, 'MR_small.dcm')]);
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-pacs-cli-dimse-'));
});

afterAll(async () => {
  await orthanc?.stop();
  for (const d of [orthanc?.dir, fixture?.dir, dataDir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('healthgpt pacs over DIMSE (real Orthanc on loopback)', () => {
  it('find by modality, then retrieve --study by C-MOVE into the local store', () => {
    const found = runHealthgpt(['pacs', 'find', ...peer(), '--modality', 'CT']);
    expect(found.code, found.stderr).toBe(0);
    expect(JSON.parse(found.stdout)).toEqual([expect.objectContaining({ studyUid: PHANTOM_STUDY, patientId: 'VIEWER-001' })]);
    const r = runHealthgpt(['pacs', 'retrieve', ...peer(), '--study', PHANTOM_STUDY]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as { series: Array<{ state: string; stored: number; folder: string }> };
    expect(report.series).toEqual([expect.objectContaining({ state: 'complete', stored: 40 })]);
    expect(report.series[0]!.folder.startsWith(path.join(dataDir, 'pacs'))).toBe(true);
  }, 300_000); // each CLI run starts the app's services in a new process (tens of seconds on a loaded 2-core VM)

  it('DIMSE flags without --protocol dimse, or a DIMSE peer without --called-aet, are usage errors (exit 2)', () => {
    const noProtocol = runHealthgpt(['pacs', 'echo', '--host', '127.0.0.1', '--port', '104', '--json']);
    expect(noProtocol.code).toBe(2);
    expect(JSON.parse(noProtocol.stdout)).toMatchObject({ error: { code: 'USAGE', message: expect.stringContaining('--protocol dimse') } });
    const noCalled = runHealthgpt(['pacs', 'echo', '--protocol', 'dimse', '--host', '127.0.0.1', '--port', '104', '--json']);
    expect(noCalled.code).toBe(2);
    expect(JSON.parse(noCalled.stdout)).toMatchObject({ error: { code: 'USAGE', message: expect.stringContaining('--called-aet') } });
  }, 300_000);
});
