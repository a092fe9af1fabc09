/**
 * A real Orthanc (Debian's `orthanc` + `orthanc-dicomweb`) for the PACS tests: its own temporary storage
 * and configuration, HTTP and DICOM on free loopback ports, remote access off. Missing packages fail
 * loudly (scripts/setup.sh installs them); nothing is skipped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ORTHANC_BIN = '/usr/sbin/Orthanc';
export const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface OrthancOptions {
  /** Basic-auth users (AuthenticationEnabled on when given). */
  users?: Record<string, string>;
  /** Peers Orthanc may C-MOVE to: name → [AE title, host, port], or Orthanc's object form (e.g. with UseDicomTls). */
  modalities?: Record<string, [string, string, number] | { AET: string; Host: string; Port: number; UseDicomTls?: boolean }>;
  /**
   * Serve DIMSE on dicomPort (any calling AE may C-GET/C-FIND): off unless a test or the bench needs it,
   * because Orthanc has no bind address for DICOM and would listen on every interface.
   */
  dicom?: boolean;
  /** DICOM TLS on dicomPort (then every association there is TLS): PEM file paths. */
  dicomTls?: {
    certificate: string;
    privateKey: string;
    /** The CAs of the clients it trusts (Orthanc requires this file even when no client certificate is required). */
    trustedCertificates: string;
    /** Whether a client must present a certificate signed by trustedCertificates. */
    remoteCertificateRequired: boolean;
  };
}

export class OrthancServer {
  private child: ChildProcess | null = null;
  private log = '';

  private constructor(
    readonly dir: string,
    readonly httpPort: number,
    readonly dicomPort: number,
    private readonly options: OrthancOptions,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  get dicomWebUrl(): string {
    return `${this.url}/dicom-web`;
  }

  static async start(options: OrthancOptions = {}): Promise<OrthancServer> {
    for (const f of [ORTHANC_BIN, DICOMWEB_PLUGIN]) {
      if (!existsSync(f)) throw new Error(`${f} is missing: install Debian's orthanc and orthanc-dicomweb (./scripts/setup.sh)`);
    }
    const server = new OrthancServer(mkdtempSync(path.join(os.tmpdir(), 'healthgpt-orthanc-')), await freePort(), await freePort(), options);
    await server.restart();
    return server;
  }

  /** Starts (again) on the same ports and storage: what was stored before is still there. */
  async restart(): Promise<void> {
    const config = {
      Name: 'HEALTHGPT-TEST',
      StorageDirectory: path.join(this.dir, 'storage'),
      IndexDirectory: path.join(this.dir, 'index'),
      HttpPort: this.httpPort,
      DicomPort: this.dicomPort,
      DicomAet: 'ORTHANC',
      DicomServerEnabled: this.options.dicom === true,
      DicomAlwaysAllowGet: true,
      DicomAlwaysAllowFind: true,
      RemoteAccessAllowed: false,
      AuthenticationEnabled: Boolean(this.options.users),
      RegisteredUsers: this.options.users ?? {},
      DicomModalities: this.options.modalities ?? {},
      Plugins: [DICOMWEB_PLUGIN],
      DicomWeb: { Enable: true, Root: '/dicom-web/' },
      StorageCompression: false,
      SaveJobs: false,
      ...(this.options.dicomTls
        ? {
            DicomTlsEnabled: true,
            DicomTlsCertificate: this.options.dicomTls.certificate,
            DicomTlsPrivateKey: this.options.dicomTls.privateKey,
            DicomTlsTrustedCertificates: this.options.dicomTls.trustedCertificates,
            DicomTlsRemoteCertificateRequired: this.options.dicomTls.remoteCertificateRequired,
          }
        : {}),
    };
    const configFile = path.join(this.dir, 'orthanc.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const child = spawn(ORTHANC_BIN, [configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (d: Buffer) => (this.log = (this.log + d.toString()).slice(-20_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    // Ready when GET /system answers; a bounded number of tries, each waiting for an answer or a refusal.
    for (let attempt = 0; attempt < 300; attempt += 1) {
      if (child.exitCode !== null) throw new Error(`Orthanc exited with ${child.exitCode}:\n${this.log}`);
      try {
        const res = await fetch(`${this.url}/system`, { headers: this.authHeader() });
        if (res.ok) return;
        await res.body?.cancel();
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`Orthanc did not answer /system:\n${this.log}`);
  }

  authHeader(): Record<string, string> {
    const first = Object.entries(this.options.users ?? {})[0];
    return first ? { authorization: `Basic ${Buffer.from(`${first[0]}:${first[1]}`).toString('base64')}` } : {};
  }

  /** Orthanc's REST API (not DICOMweb): JSON answers. */
  async rest(relative: string, init: { method?: string; body?: Buffer | string } = {}): Promise<unknown> {
    const res = await fetch(`${this.url}${relative}`, { method: init.method ?? 'GET', headers: this.authHeader(), ...(init.body ? { body: typeof init.body === 'string' ? init.body : new Uint8Array(init.body) } : {}) });
    if (!res.ok) throw new Error(`Orthanc ${init.method ?? 'GET'} ${relative}: HTTP ${res.status}`);
    const type = res.headers.get('content-type') ?? '';
    return type.includes('json') ? res.json() : Buffer.from(await res.arrayBuffer());
  }

  async upload(files: string[]): Promise<void> {
    for (const f of files) await this.rest('/instances', { method: 'POST', body: readFileSync(f) });
  }

  /** Orthanc's ids of the instances of a series, found by its Series Instance UID. */
  async instancesOfSeries(seriesUid: string): Promise<string[]> {
    const found = (await this.rest('/tools/lookup', { method: 'POST', body: seriesUid })) as Array<{ ID: string; Type: string }>;
    const series = found.find((f) => f.Type === 'Series');
    if (!series) return [];
    return ((await this.rest(`/series/${series.ID}`)) as { Instances: string[] }).Instances;
  }

  /** Kills the server at once (a PACS going away mid-transfer) and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }

  get output(): string {
    return this.log;
  }
}
