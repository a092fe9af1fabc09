/**
 * DIMSE over DICOM TLS against a real Orthanc on 127.0.0.1 with DicomTlsEnabled and client certificates
 * required (a hospital's usual setting): a CA, the server's certificate and our client certificate made
 * here with openssl. With the node's tls settings C-ECHO and C-FIND answer; with another CA, without our
 * client certificate, or in plain text to the TLS port, the call fails with a clear error naming the node
 * and nothing falls back to plain DIMSE; a missing PEM file is a settings error. A retrieve by C-MOVE comes
 * back over TLS to our Storage SCP (Orthanc's modality entry has UseDicomTls); the CLI flags reach the same.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pacsFindRequestSchema, pacsNodeConfigSchema, type DimseNodeConfig, type PacsNodeInput, type RetrieveReport } from '../../../src-shared/contracts/pacs';
import { DimseClient } from '../../../src-main/pacs/dimse';
import { checkInstance } from '../../../src-main/pacs/local-store';
import type { CallContext } from '../../../src-main/ipc/registry';
import { freePort, OrthancServer } from '../../support/orthanc';
import { makeHarness, PYDICOM_FILES, type PacsHarness } from './pacs-fixtures';

const ctx: CallContext = { sink: { id: 'test', send: () => {}, isAlive: () => true }, sender: { transport: 'direct', origin: null, isMainFrame: true, authenticated: true } };

let dir: string;
let orthanc: OrthancServer;
let harness: PacsHarness;
let storePort: number;

function runHealthgpt(args: string[]) {
  const r = spawnSync('npm', ['run', '-s', 'healthgpt', '--', ...args], { encoding: 'utf8', env: { ...process.env, HEALTHGPT_DATA_DIR: harness.dataDir }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A self-signed CA (name.pem, name.key). */
function makeCa(name: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`]);
}

/** A certificate (name.pem, name.key) signed by the CA, for 127.0.0.1. */
function makeCert(name: string, ca: string): void {
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', 'san.ext']);
}

const file = (name: string) => path.join(dir, name);

function node(name: string, tls: Extract<PacsNodeInput, { protocol: 'dimse' }>['tls']): PacsNodeInput {
  return { name, protocol: 'dimse', host: '127.0.0.1', port: orthanc.dicomPort, calledAet: 'ORTHANC', callingAet: 'HEALTHGPT', storePort, timeoutMs: 10_000, ...(tls ? { tls } : {}) };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-dimse-tls-'));
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  makeCa('hospital-ca');
  makeCa('other-ca');
  makeCert('orthanc', 'hospital-ca');
  makeCert('workstation', 'hospital-ca');
  storePort = await freePort();
  orthanc = await OrthancServer.start({
    dicom: true,
    // C-MOVE comes back to our Storage SCP over TLS too (Orthanc presents its own certificate as the client's).
    modalities: { healthgpt: { AET: 'HEALTHGPT', Host: '127.0.0.1', Port: storePort, UseDicomTls: true } },
    dicomTls: { certificate: file('orthanc.pem'), privateKey: file('orthanc.key'), trustedCertificates: file('hospital-ca.pem'), remoteCertificateRequired: true },
  });
  await orthanc.upload([path.join(PYDICOM_FILES, 'CT_small.dcm')]);
  const clientCert = { certFile: file('workstation.pem'), keyFile: file('workstation.key') };
  harness = makeHarness([
    node('tls', { caFile: file('hospital-ca.pem'), ...clientCert }),
    node('tls-other-ca', { caFile: file('other-ca.pem'), ...clientCert }),
    node('tls-no-client-cert', { caFile: file('hospital-ca.pem') }),
    node('plain', undefined),
    node('tls-missing-key', { caFile: file('hospital-ca.pem'), certFile: file('workstation.pem'), keyFile: file('nowhere.key') }),
  ]);
});

afterAll(async () => {
  await harness?.close();
  await orthanc?.stop();
  for (const d of [dir, orthanc?.dir, harness?.dataDir]) if (d) rmSync(d, { recursive: true, force: true });
});

const find = (nodeName: string) => harness.pacs.handlers.find(pacsFindRequestSchema.parse({ node: nodeName, patientId: '1CT1' }), ctx);

describe('DIMSE over DICOM TLS (real Orthanc, client certificates required)', () => {
  it('with the node\'s CA and our client certificate, C-ECHO and C-FIND answer over TLS', async () => {
    expect(await harness.pacs.handlers.echo({ node: 'tls' }, ctx)).toMatchObject({ ok: true, message: 'C-ECHO answered' });
    expect(await find('tls')).toEqual([expect.objectContaining({ patientId: '1CT1', patientName: 'CompressedSamples^CT1', modalities: ['CT'] })]);
  });

  it('another CA: the peer\'s certificate does not verify, PACS_TLS_FAILED naming the node', async () => {
    await expect(find('tls-other-ca')).rejects.toMatchObject({ code: 'PACS_TLS_FAILED', message: expect.stringMatching(/PACS node "tls-other-ca".*DICOM TLS failed \(self-signed certificate in certificate chain\).*Nothing was sent in plain text/) });
    await expect(harness.pacs.handlers.echo({ node: 'tls-other-ca' }, ctx)).rejects.toMatchObject({ code: 'PACS_TLS_FAILED', message: expect.stringContaining('PACS node "tls-other-ca"') });
  });

  it('without our client certificate the peer ends the handshake: PACS_TLS_FAILED naming the node', async () => {
    await expect(find('tls-no-client-cert')).rejects.toMatchObject({ code: 'PACS_TLS_FAILED', message: expect.stringMatching(/PACS node "tls-no-client-cert".*DICOM TLS failed \(.*certificate required\)/) });
  });

  it('plain DIMSE to the TLS port fails clearly (no answer to the association), suggesting tls', async () => {
    await expect(find('plain')).rejects.toMatchObject({ code: 'PACS_UNREACHABLE', message: expect.stringMatching(/PACS node "plain".*before answering the association request.*if it requires DICOM TLS, set the node's tls/) });
  });

  it('a missing key file is a settings error naming the file; certFile without keyFile is refused by the schema', async () => {
    await expect(find('tls-missing-key')).rejects.toMatchObject({ code: 'PACS_BAD_SETTINGS', message: expect.stringContaining('nowhere.key') });
    const half = pacsNodeConfigSchema.safeParse({ name: 'half', protocol: 'dimse', host: 'pacs', port: 104, calledAet: 'PACS', tls: { caFile: '/ca.pem', certFile: '/me.pem' } });
    expect(half.success).toBe(false);
  });

  it('the CLI: --tls-ca with --tls-cert/--tls-key echoes over TLS; --tls-cert without --tls-key is a usage error (exit 2)', () => {
    const peer = ['--protocol', 'dimse', '--host', '127.0.0.1', '--port', String(orthanc.dicomPort), '--called-aet', 'ORTHANC', '--json'];
    const echo = runHealthgpt(['pacs', 'echo', ...peer, '--tls-ca', file('hospital-ca.pem'), '--tls-cert', file('workstation.pem'), '--tls-key', file('workstation.key')]);
    expect(echo.code, echo.stderr).toBe(0);
    expect(JSON.parse(echo.stdout)).toMatchObject({ ok: true });
    const half = runHealthgpt(['pacs', 'echo', ...peer, '--tls-ca', file('hospital-ca.pem'), '--tls-cert', file('workstation.pem')]);
    expect(half.code).toBe(2);
    expect(JSON.parse(half.stdout)).toMatchObject({ error: { code: 'USAGE', message: expect.stringContaining('--tls-cert and --tls-key go together') } });
  }, 300_000); // each CLI run starts the app's services in a new process (tens of seconds on a loaded 2-core VM)

  it('retrieve by C-MOVE over TLS: Orthanc connects back to our Storage SCP over TLS, the series is stored whole', async () => {
    const ct = checkInstance(readFileSync(path.join(PYDICOM_FILES, 'CT_small.dcm')));
    if ('refused' in ct) throw new Error(ct.refused);
    const started = await harness.pacs.handlers.retrieve({ node: 'tls', studyUid: ct.studyUid, seriesUid: ct.seriesUid }, ctx);
    const final = await harness.jobs.wait(started.jobId);
    if (final.status !== 'done') throw new Error(`retrieve ended ${final.status}: ${JSON.stringify(final)}`);
    expect((final.result as RetrieveReport).series).toEqual([expect.objectContaining({ seriesUid: ct.seriesUid, state: 'complete', stored: 1 })]);
    // Without our certificate the Storage SCP cannot serve TLS: a settings error, not a plain listener.
    const noCert = new DimseClient(pacsNodeConfigSchema.parse(node('no-cert', { caFile: file('hospital-ca.pem') })) as DimseNodeConfig);
    await expect(noCert.retrieve(ct.studyUid, ct.seriesUid, null, new AbortController().signal).next()).rejects.toMatchObject({
      code: 'PACS_BAD_SETTINGS',
      message: expect.stringContaining('needs tls.certFile and tls.keyFile'),
    });
  });
});
