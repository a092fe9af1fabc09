/**
 * DICOM TLS options for a DIMSE node (dcmjs-dimse passes them to node:tls): the node's CA is the only
 * one trusted, the peer must verify (certificate chain and host name or IP), TLS 1.2 or later, and our
 * client certificate when the node gives one. PEM contents stay in main: never logged, never in an error.
 */
import { readFileSync } from 'node:fs';
import { pacsErrorCodes, type DimseNodeConfig } from '../../src-shared/contracts/pacs';
import { DomainError } from '../../src-shared/ipc/envelope';
import { readCa } from './https-ca';

export interface DimseSecurityOptions {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: true;
  minVersion: 'TLSv1.2';
}

function readPem(file: string, what: string, marker: RegExp, nodeName: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (e) {
    throw new DomainError(pacsErrorCodes.badSettings, `The TLS ${what} file of PACS node "${nodeName}" cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}): ${file}`);
  }
  if (!marker.test(pem.toString('latin1'))) throw new DomainError(pacsErrorCodes.badSettings, `The TLS ${what} file of PACS node "${nodeName}" holds no PEM ${what}: ${file}`);
  return pem;
}

export function dimseSecurityOptions(tls: NonNullable<DimseNodeConfig['tls']>, nodeName: string): DimseSecurityOptions {
  const options: DimseSecurityOptions = { ca: readCa(tls.caFile, nodeName), rejectUnauthorized: true, minVersion: 'TLSv1.2' };
  if (tls.certFile && tls.keyFile) {
    options.cert = readPem(tls.certFile, 'certificate', /-----BEGIN CERTIFICATE-----/, nodeName);
    options.key = readPem(tls.keyFile, 'key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/, nodeName);
  }
  return options;
}

/**
 * A network error as a short reason: dcmjs-dimse wraps node's error as "<AE> -> Connection error: <message>"
 * (the code is lost); an OpenSSL message is cut to its reason ("tlsv13 alert certificate required").
 */
export function describeNetworkError(e: (Error & { code?: string }) | undefined): string {
  const text = e?.code ?? e?.message ?? 'network error';
  const detail = text.replace(/^.*? -> Connection error: /, '');
  const ssl = /SSL routines:[^:]*:([^:]+):/.exec(detail);
  return ssl ? ssl[1]! : detail;
}

/** Whether the reason is a certificate that does not verify or a failed TLS handshake (not a refused or silent port). */
export function isTlsFailure(why: string): boolean {
  return /certificate|self[- ]signed|unable to verify|CERT_|ERR_TLS|ERR_SSL|alert|handshake|secure TLS|ECONNRESET|wrong version|EPROTO/i.test(why);
}
