/**
 * DIMSE failure cases with peers that misbehave: our Storage SCP against DCMTK's echoscu/storescu (an
 * unknown AE title refused, an object that is not the instance it claims rejected while the SCP stays up),
 * and a Query/Retrieve peer written here with dcmjs-dimse that rejects the association or answers a
 * C-FIND with matches that have no usable UID.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dimse from 'dcmjs-dimse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageScp, type ReceivedInstance } from '../../../src-main/pacs/storage-scp';
import { checkInstance } from '../../../src-main/pacs/local-store';
import { dicomParser } from '../../../src-main/dicom/dicom-parser-lib';
import { SYSTEM_PYTHON } from '../../support/viewer-fixtures';
import { freePort } from '../../support/orthanc';
import { makeHarness, PYDICOM_FILES, type PacsHarness } from './pacs-fixtures';

const { Scp, Server, Dataset } = dimse;
const { CEchoResponse, CFindResponse } = dimse.responses;
const { Status, PresentationContextResult, RejectResult, RejectSource, RejectReason, TransferSyntax } = dimse.constants;

const CT = path.join(PYDICOM_FILES, 'CT_small.dcm');

describe('our Storage SCP (C-MOVE destination) against DCMTK', () => {
  let scp: StorageScp;
  let port: number;
  const received: ReceivedInstance[] = [];
  const refused: string[] = [];
  const rejected: string[] = [];
  let dir: string;

  beforeAll(async () => {
    port = await freePort();
    dir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-scp-'));
    scp = await StorageScp.start({ port, aeTitle: 'HEALTHGPT', peers: ['ORTHANC'], onInstance: (i) => void received.push(i), onRefused: (r) => refused.push(r), onRejected: (calling) => rejected.push(calling) });
  });
  afterAll(() => {
    scp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const storescu = (aet: string, file: string) => run('storescu', ['-aet', aet, '-aec', 'HEALTHGPT', '127.0.0.1', String(port), file]);

  it('an unknown calling AE title, or a call to another AE title, is rejected at association', async () => {
    const stranger = await run('echoscu', ['-aet', 'STRANGER', '-aec', 'HEALTHGPT', '127.0.0.1', String(port)]);
    expect(stranger.status).not.toBe(0);
    expect(stranger.stderr).toMatch(/Association Rejected/i);
    const wrongCalled = await run('echoscu', ['-aet', 'ORTHANC', '-aec', 'SOMEONE', '127.0.0.1', String(port)]);
    expect(wrongCalled.status).not.toBe(0);
    expect(rejected).toEqual(['STRANGER', 'ORTHANC']);
    const known = await run('echoscu', ['-aet', 'ORTHANC', '-aec', 'HEALTHGPT', '127.0.0.1', String(port)]);
    expect(known.status, known.stderr).toBe(0);
    expect(received).toEqual([]);
  });

  it('a stored object arrives as a Part 10 file of the same instance and pixel data; one whose SOP Instance UID is not a UID is refused and the SCP stays up', async () => {
    const bad = path.join(dir, 'bad.dcm');
    execPython(`import pydicom; ds = pydicom.dcmread(${JSON.stringify(CT)}); ds.SOPInstanceUID = 'not-a-uid'; ds.file_meta.MediaStorageSOPInstanceUID = 'not-a-uid'; ds.save_as(${JSON.stringify(bad)})`);
    const badRun = await storescu('ORTHANC', bad);
    expect(badRun.stderr).toMatch(/Status:? (\w+ )?(Error|Failed|C000|0xc000)|cannot understand|Store SCU Failed|status/i);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/not a UID/);
    const good = await storescu('ORTHANC', CT);
    expect(good.status, good.stderr).toBe(0);
    expect(received).toHaveLength(1);
    const got = received[0]!;
    expect(got.callingAet).toBe('ORTHANC');
    const checked = checkInstance(got.bytes);
    expect(checked).toMatchObject({ sopInstanceUid: got.sopInstanceUid });
    expect(checked).toMatchObject(checkInstance(readFileSync(CT)));
    // storescu re-encodes (drops the trailing padding element); the pixel data arrives unchanged.
    expect(pixelData(got.bytes).length).toBe(128 * 128 * 2);
    expect(pixelData(got.bytes).equals(pixelData(readFileSync(CT)))).toBe(true);
  });
});

/** A DCMTK tool, run without blocking: the SCP under test answers in this same process. */
function run(command: string, args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}

function pixelData(bytes: Uint8Array): Buffer {
  const element = dicomParser.parseDicom(bytes).elements['x7fe00010']!;
  return Buffer.from(bytes.subarray(element.dataOffset, element.dataOffset + element.length));
}

function execPython(code: string): void {
  const r = spawnSync(SYSTEM_PYTHON, ['-c', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
}

type Association = InstanceType<typeof dimse.association.Association>;

/** A Query/Retrieve peer whose behaviour a test picks through the called AE title. */
class OddPeer extends Scp {
  override associationRequested(association: Association): void {
    if (association.getCalledAeTitle().trim() === 'REJECTS') {
      this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized);
      return;
    }
    for (const { id } of association.getPresentationContexts()) {
      const context = association.getPresentationContext(id);
      context.setResult(PresentationContextResult.Accept, TransferSyntax.ImplicitVRLittleEndian);
    }
    this.sendAssociationAccept();
  }
  override associationReleaseRequested(): void {
    this.sendAssociationReleaseResponse();
  }
  override cEchoRequest(request: InstanceType<typeof dimse.requests.CEchoRequest>, callback: (r: InstanceType<typeof CEchoResponse>) => void): void {
    const r = CEchoResponse.fromRequest(request);
    r.setStatus(Status.Success);
    callback(r);
  }
  override cFindRequest(request: InstanceType<typeof dimse.requests.CFindRequest>, callback: (r: Array<InstanceType<typeof CFindResponse>>) => void): void {
    // A match whose Study Instance UID is a path, not a UID, then success.
    const match = CFindResponse.fromRequest(request);
    match.setDataset(new Dataset({ PatientName: 'Odd^Peer', PatientID: 'X', StudyInstanceUID: '../../etc', QueryRetrieveLevel: 'STUDY' }));
    match.setStatus(Status.Pending);
    const done = CFindResponse.fromRequest(request);
    done.setStatus(Status.Success);
    callback([match, done]);
  }
}

describe('a misbehaving DIMSE peer', () => {
  let server: InstanceType<typeof Server>;
  let harness: PacsHarness;

  beforeAll(async () => {
    const port = await freePort();
    server = new Server(OddPeer as unknown as typeof Scp);
    server.on('networkError', () => {});
    server.listen(port);
    const node = (name: string, calledAet: string) => ({ name, protocol: 'dimse' as const, host: '127.0.0.1', port, calledAet, timeoutMs: 5000 });
    harness = makeHarness([node('odd', 'ODD'), node('rejects', 'REJECTS')]);
  });
  afterAll(async () => {
    await harness?.close();
    server?.close();
    if (harness) rmSync(harness.dataDir, { recursive: true, force: true });
  });

  it('an association rejected: PACS_ASSOCIATION_REJECTED naming both AE titles', async () => {
    const e = await harness.pacs.echo(harness.pacs.nodes.get('rejects')).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'PACS_ASSOCIATION_REJECTED', message: expect.stringMatching(/"HEALTHGPT".*"REJECTS"/) });
  });

  it('a C-FIND match without a valid Study Instance UID: PACS_BAD_RESPONSE, and the same peer still answers C-ECHO', async () => {
    const e = await harness.pacs.find(harness.pacs.nodes.get('odd'), { node: 'odd', level: 'study', limit: 10 }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'PACS_BAD_RESPONSE', message: expect.stringContaining('Study Instance UID') });
    expect(await harness.pacs.echo(harness.pacs.nodes.get('odd'))).toMatchObject({ ok: true });
  });
});
