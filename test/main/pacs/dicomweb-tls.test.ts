/**
 * DICOMweb over https with a hospital's own CA: a CA and a server certificate made here with openssl, a
 * local https server answering QIDO-RS. The node's caFile is trusted for that node; without it, or with
 * another CA, the connection is refused with a clear message; a missing CA file is a settings error.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pacsNodeConfigSchema } from '../../../src-shared/contracts/pacs';
import { makeHarness, type PacsHarness } from './pacs-fixtures';

const STUDY = '1.2.826.0.1.3680043.8.498.4242';
let dir: string;
let server: Server;
let harness: PacsHarness;
const seenAuth: string[] = [];

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A self-signed CA (name.pem, name.key). */
function makeCa(name: string): void {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`]);
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-tls-'));
  makeCa('hospital-ca');
  makeCa('other-ca');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=pacs.local']);
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'hospital-ca.pem', '-CAkey', 'hospital-ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext']);
  server = createServer({ key: readFileSync(path.join(dir, 'server.key')), cert: readFileSync(path.join(dir, 'server.pem')) }, (req, res) => {
    seenAuth.push(req.headers.authorization ?? '');
    if (req.url?.startsWith('/dicom-web/studies?')) {
      res.writeHead(200, { 'content-type': 'application/dicom+json' });
      res.end(JSON.stringify([{ '0020000D': { vr: 'UI', Value: [STUDY] }, '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Tls^Patient' }] }, '00100020': { vr: 'LO', Value: ['TLS-1'] } }]));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/dicom-web`;
  harness = makeHarness([
    { name: 'hospital', url, caFile: path.join(dir, 'hospital-ca.pem'), auth: { type: 'basic', username: 'ws', password: 'tls-secret' } },
    { name: 'no-ca', url },
    { name: 'other-ca', url, caFile: path.join(dir, 'other-ca.pem') },
    { name: 'missing-ca', url, caFile: path.join(dir, 'nowhere.pem') },
  ]);
});

afterAll(async () => {
  await harness?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  for (const d of [dir, harness?.dataDir]) if (d) rmSync(d, { recursive: true, force: true });
});

const search = (node: string) => harness.pacs.find(harness.pacs.nodes.get(node), { node, level: 'study', limit: 10 });

describe('DICOMweb over https with a custom CA', () => {
  it('the node\'s CA verifies the server: the search answers, with the credentials sent over TLS', async () => {
    expect(await search('hospital')).toEqual([expect.objectContaining({ studyUid: STUDY, patientName: 'Tls^Patient', patientId: 'TLS-1' })]);
    expect(await harness.pacs.echo(harness.pacs.nodes.get('hospital'))).toMatchObject({ ok: true });
    expect(seenAuth.at(-1)).toBe(`Basic ${Buffer.from('ws:tls-secret').toString('base64')}`);
  });

  it('without the CA, or with another CA, the certificate is not trusted: PACS_UNREACHABLE saying so, no request reaches the server', async () => {
    const before = seenAuth.length;
    await expect(search('no-ca')).rejects.toMatchObject({ code: 'PACS_UNREACHABLE', message: expect.stringContaining('certificate is not trusted') });
    await expect(search('other-ca')).rejects.toMatchObject({ code: 'PACS_UNREACHABLE', message: expect.stringContaining('certificate is not trusted') });
    expect(seenAuth.length).toBe(before);
  });

  it('a CA file that is missing is a settings error; a caFile on an http:// node is refused by the schema', async () => {
    await expect(search('missing-ca')).rejects.toMatchObject({ code: 'PACS_BAD_SETTINGS', message: expect.stringContaining('nowhere.pem') });
    const http = pacsNodeConfigSchema.safeParse({ name: 'plain', url: 'http://pacs.example/dicom-web', caFile: '/etc/ca.pem' });
    expect(http.success).toBe(false);
  });
});
