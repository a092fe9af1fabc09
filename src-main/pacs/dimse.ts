/**
 * A DIMSE client (dcmjs-dimse) with the same operations as the DICOMweb client: C-ECHO, C-FIND (study,
 * series and image level), retrieve by C-MOVE to our own Storage SCP or by C-GET, and C-STORE. Each
 * operation is one association; every way it can end badly (refused connection, rejected association,
 * a failure status, an answer that is not usable, a silent peer) becomes a DomainError naming the node.
 */
import { Writable } from 'node:stream';
import dimse from 'dcmjs-dimse';
import { dicomUidSchema, pacsErrorCodes, type DimseNodeConfig, type PacsFindQuery, type PacsFindResult } from '../../src-shared/contracts/pacs';
import { DomainError } from '../../src-shared/ipc/envelope';
import { AsyncQueue } from './async-queue';
import { MAX_INSTANCE_BYTES } from './dicomweb';
import { describeNetworkError, dimseSecurityOptions, isTlsFailure } from './dimse-tls';
import { checkInstance } from './local-store';
import { toPart10 } from './part10';
import { leaseStorageScp } from './storage-scp';

const { Client, Dataset } = dimse;
const { CEchoRequest, CFindRequest, CMoveRequest, CGetRequest, CStoreRequest } = dimse.requests;
const { CStoreResponse } = dimse.responses;
const { Status } = dimse.constants;
type Request = InstanceType<typeof dimse.requests.Request>;
type Response = InstanceType<typeof dimse.responses.Response>;
type DatasetT = InstanceType<typeof Dataset>;

dimse.log.setLevel('silent');

const PENDING = new Set([Status.Pending, 0xff01]);
/** C-STORE warnings (coercion, elements discarded, SOP class mismatch): the object was stored. */
const STORE_WARNINGS = new Set([0xb000, 0xb006, 0xb007]);
/** Most rows one C-FIND may answer before we stop reading (a peer that never ends is cut off). */
const MAX_FIND_ROWS = 100_000;

const hex = (status: number) => `0x${status.toString(16).padStart(4, '0')}`;
const isUid = (u: string) => dicomUidSchema.safeParse(u).success;

/** The first value of a naturalized element as text (person names: the alphabetic group). */
function value(ds: DatasetT | undefined, name: string): string {
  let v = (ds?.getElements() as Record<string, unknown> | undefined)?.[name];
  if (Array.isArray(v)) v = v[0];
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return String((v as { Alphabetic?: unknown }).Alphabetic ?? '');
  return String(v).trim();
}

function values(ds: DatasetT | undefined, name: string): string[] {
  const v = (ds?.getElements() as Record<string, unknown> | undefined)?.[name];
  const list = Array.isArray(v) ? v : v === undefined || v === null || v === '' ? [] : [v];
  return list.map((x) => String(x).trim()).filter(Boolean);
}

function count(ds: DatasetT | undefined, name: string): number | null {
  const text = value(ds, name);
  const n = Number(text);
  return text !== '' && Number.isFinite(n) ? Math.trunc(n) : null;
}

interface Run {
  client: InstanceType<typeof Client>;
  done: Promise<void>;
}

export class DimseClient {
  constructor(readonly node: DimseNodeConfig) {}

  private get where(): string {
    return `PACS node "${this.node.name}" (${this.node.calledAet}@${this.node.host}:${this.node.port})`;
  }

  /**
   * Sends the requests on one association. `done` settles when the association is over: resolved after a
   * release, rejected with the first error seen (the caller's own errors via `fail`).
   */
  private open(requests: Request[], signal?: AbortSignal, prepare?: (client: InstanceType<typeof Client>) => void): Run & { fail(e: Error): void } {
    const client = new Client();
    for (const r of requests) client.addRequest(r);
    let failure: Error | null = null;
    let settle: { resolve(): void; reject(e: Error): void } = { resolve: () => {}, reject: () => {} };
    const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    const fail = (e: Error) => {
      failure ??= e;
      try {
        client.abort();
      } catch {
        // not connected yet or already closed: the close below settles
      }
    };
    const onAbort = () => fail(Object.assign(new Error('cancelled'), { name: 'AbortError' }));
    signal?.addEventListener('abort', onAbort, { once: true });
    client.on('associationRejected', (e: { result?: number; source?: number; reason?: number; description?: string }) => {
      failure ??= new DomainError(
        pacsErrorCodes.associationRejected,
        `${this.where} rejected the association${e?.description ? ` (${e.description})` : ` (reason ${e?.reason ?? '?'})`}: check that it knows our AE title "${this.node.callingAet}" and that its AE title is "${this.node.calledAet}".`,
      );
    });
    let associated = false;
    client.on('associationAccepted', () => (associated = true));
    client.on('networkError', (e: Error & { code?: string }) => {
      const why = describeNetworkError(e);
      if (this.node.tls && !associated && isTlsFailure(why)) {
        failure ??= new DomainError(
          pacsErrorCodes.tlsFailed,
          `${this.where}: DICOM TLS failed (${why}). Its certificate must verify against the node's tls.caFile (and name its host or IP); a peer that requires a client certificate needs tls.certFile and tls.keyFile it trusts. Nothing was sent in plain text.`,
        );
      } else if (!this.node.tls && !associated && /ECONNRESET/.test(why)) {
        failure ??= new DomainError(pacsErrorCodes.unreachable, `${this.where} reset the connection before answering the association request (${why}); if it requires DICOM TLS, set the node's tls (caFile).`);
      } else failure ??= new DomainError(pacsErrorCodes.unreachable, `${this.where} cannot be reached or stopped answering (${why}).`);
    });
    client.on('closed', () => {
      signal?.removeEventListener('abort', onAbort);
      // A peer that closes before answering the association request: often a TLS port spoken to in plain text.
      failure ??= associated ? null : new DomainError(pacsErrorCodes.unreachable, `${this.where} closed the connection without answering the association request${this.node.tls ? '' : '; if it requires DICOM TLS, set the node\'s tls (caFile)'}.`);
      if (failure) settle.reject(failure);
      else settle.resolve();
    });
    if (signal?.aborted) onAbort();
    const t = this.node.timeoutMs;
    // Read before connecting: a missing or bad PEM file is a settings error, and TLS never falls back to plain.
    const securityOptions = this.node.tls ? dimseSecurityOptions(this.node.tls, this.node.name) : undefined;
    client.send(this.node.host, this.node.port, this.node.callingAet, this.node.calledAet, { connectTimeout: t, associationTimeout: t, pduTimeout: t, ...(securityOptions ? { securityOptions } : {}) });
    // The client does not pass on a peer's A-ABORT (it would wait for its PDU timeout): its network does.
    const network = (client as unknown as { network?: { on(event: 'abort', f: (e: { source?: number; reason?: number }) => void): void; socket?: { destroy(): void } } }).network;
    network?.on('abort', (e) => {
      failure ??= new DomainError(
        pacsErrorCodes.peerError,
        `${this.where} aborted the association (source ${e?.source ?? '?'}, reason ${e?.reason ?? '?'}); a PACS often does this for a calling AE title it does not know: is "${this.node.callingAet}" configured there?`,
      );
      network.socket?.destroy();
    });
    prepare?.(client);
    return { client, done, fail };
  }

  /** Status of a final response: failures become DomainErrors. */
  private checkFinal(what: string, response: Response): void {
    const status = response.getStatus();
    if (status === Status.Success) return;
    const comment = response.getErrorComment?.() ? `: ${response.getErrorComment()}` : '';
    if (status === Status.MoveDestinationUnknown) {
      throw new DomainError(pacsErrorCodes.peerError, `${this.where} does not know our AE title "${this.node.callingAet}" as a C-MOVE destination: add it there with this computer's address and port ${this.node.storePort}.`);
    }
    if (status === Status.Cancel) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
    throw new DomainError(pacsErrorCodes.peerError, `${this.where} answered ${what} with status ${hex(status)}${comment}.`);
  }

  async echo(signal?: AbortSignal): Promise<void> {
    const request = new CEchoRequest();
    let final: Response | null = null;
    request.on('response', (r: Response) => (final = r));
    await this.open([request], signal).done;
    if (!final) throw new DomainError(pacsErrorCodes.badResponse, `${this.where} ended the association without answering C-ECHO.`);
    this.checkFinal('C-ECHO', final);
  }

  /** One C-FIND; the pending responses' data sets, at most `limit`. */
  private async cFind(request: InstanceType<typeof CFindRequest>, limit: number, signal?: AbortSignal): Promise<DatasetT[]> {
    const rows: DatasetT[] = [];
    let final: Response | null = null;
    let run: (Run & { fail(e: Error): void }) | null = null;
    let cancelled = false;
    request.on('response', (r: Response) => {
      const status = r.getStatus();
      if (PENDING.has(status)) {
        if (!r.hasDataset()) return run?.fail(new DomainError(pacsErrorCodes.badResponse, `${this.where} sent a C-FIND match without a data set.`));
        if (rows.length < Math.min(limit, MAX_FIND_ROWS)) rows.push(r.getDataset()!);
        else if (!cancelled) {
          cancelled = true; // enough: ask the peer to stop (PS3.4 C.4.1.2.3)
          try {
            run?.client.cancel(request);
          } catch {
            // the association already ended
          }
        }
      } else final = r;
    });
    run = this.open([request], signal);
    await run.done;
    if (!final) throw new DomainError(pacsErrorCodes.badResponse, `${this.where} ended the association without a final C-FIND answer.`);
    if (!(cancelled && (final as Response).getStatus() === Status.Cancel)) this.checkFinal('C-FIND', final);
    return rows;
  }

  /** Study or series search with the contract's filters (names match as a prefix unless they hold * or ?). */
  async find(q: PacsFindQuery, signal?: AbortSignal): Promise<PacsFindResult[]> {
    const common: Record<string, unknown> = {
      PatientName: q.patientName ? (/[*?]/.test(q.patientName) ? q.patientName : `${q.patientName}*`) : '',
      PatientID: q.patientId ?? '',
      StudyDate: q.dateFrom || q.dateTo ? `${q.dateFrom ?? ''}-${q.dateTo ?? ''}` : '',
      StudyDescription: '',
      AccessionNumber: q.accessionNumber ?? '',
      StudyInstanceUID: '',
    };
    if (q.level === 'series') {
      if (!q.studyUid) throw new DomainError(pacsErrorCodes.peerError, 'A series search needs the study UID.');
      const request = CFindRequest.createSeriesFindRequest({ ...common, StudyInstanceUID: q.studyUid, SeriesInstanceUID: '', Modality: q.modality ?? '', SeriesDescription: '', SeriesNumber: '', NumberOfSeriesRelatedInstances: '' });
      const rows = await this.cFind(request, q.limit, signal);
      return rows.map((r) => {
        const seriesUid = value(r, 'SeriesInstanceUID');
        if (!isUid(seriesUid)) throw new DomainError(pacsErrorCodes.badResponse, `${this.where} sent a C-FIND series match without a valid Series Instance UID.`);
        return {
          studyUid: value(r, 'StudyInstanceUID') || q.studyUid!,
          seriesUid,
          patientName: value(r, 'PatientName'),
          patientId: value(r, 'PatientID'),
          studyDate: value(r, 'StudyDate'),
          studyDescription: value(r, 'StudyDescription'),
          accessionNumber: value(r, 'AccessionNumber'),
          modalities: values(r, 'Modality').slice(0, 1),
          seriesDescription: value(r, 'SeriesDescription'),
          seriesNumber: count(r, 'SeriesNumber'),
          instanceCount: count(r, 'NumberOfSeriesRelatedInstances'),
        };
      });
    }
    const request = CFindRequest.createStudyFindRequest({ ...common, ModalitiesInStudy: q.modality ?? '', NumberOfStudyRelatedInstances: '' });
    const rows = await this.cFind(request, q.limit, signal);
    return rows.map((r) => {
      const studyUid = value(r, 'StudyInstanceUID');
      if (!isUid(studyUid)) throw new DomainError(pacsErrorCodes.badResponse, `${this.where} sent a C-FIND study match without a valid Study Instance UID.`);
      return {
        studyUid,
        seriesUid: null,
        patientName: value(r, 'PatientName'),
        patientId: value(r, 'PatientID'),
        studyDate: value(r, 'StudyDate'),
        studyDescription: value(r, 'StudyDescription'),
        accessionNumber: value(r, 'AccessionNumber'),
        modalities: values(r, 'ModalitiesInStudy'),
        seriesDescription: '',
        seriesNumber: null,
        instanceCount: count(r, 'NumberOfStudyRelatedInstances'),
      };
    });
  }

  async seriesUids(studyUid: string, signal?: AbortSignal): Promise<string[]> {
    const rows = await this.cFind(CFindRequest.createSeriesFindRequest({ StudyInstanceUID: studyUid, SeriesInstanceUID: '' }), MAX_FIND_ROWS, signal);
    // UIDs become folder and file names: anything else from the peer is left out.
    return rows.map((r) => value(r, 'SeriesInstanceUID')).filter(isUid);
  }

  async instanceUids(studyUid: string, seriesUid: string, signal?: AbortSignal): Promise<string[]> {
    const rows = await this.cFind(CFindRequest.createImageFindRequest({ StudyInstanceUID: studyUid, SeriesInstanceUID: seriesUid, SOPInstanceUID: '' }), MAX_FIND_ROWS, signal);
    return rows.map((r) => value(r, 'SOPInstanceUID')).filter(isUid);
  }

  /**
   * The instances of a series as Part 10 files, as they arrive: the whole series, or only the listed
   * instances (a resume). C-MOVE sends them to our Storage SCP, C-GET on the same association.
   */
  retrieve(studyUid: string, seriesUid: string, only: string[] | null, signal: AbortSignal): AsyncGenerator<Buffer> {
    return this.node.retrieve === 'get' ? this.retrieveByGet(studyUid, seriesUid, only, signal) : this.retrieveByMove(studyUid, seriesUid, only, signal);
  }

  /** Checks each retrieve request's final response (C-MOVE or C-GET) as it comes. */
  private watchFinal(requests: Request[], what: string, fail: (e: Error) => void): void {
    for (const r of requests) {
      r.on('response', (response: Response) => {
        if (PENDING.has(response.getStatus())) return;
        // 0xB000: some sub-operations failed; what did arrive is kept and the series is marked partial.
        if (response.getStatus() === 0xb000) return;
        try {
          this.checkFinal(what, response);
        } catch (e) {
          fail(e as Error);
        }
      });
    }
  }

  /**
   * A DICOM TLS node's C-MOVE comes back over TLS too: our Storage SCP presents tls.certFile and accepts
   * only peers whose client certificate tls.caFile signed. Without our certificate that cannot be done.
   */
  private storeTls(): { mode: string; ca: Buffer; cert: Buffer; key: Buffer } | undefined {
    const tls = this.node.tls;
    if (!tls) return undefined;
    if (!tls.certFile || !tls.keyFile) {
      throw new DomainError(pacsErrorCodes.badSettings, `PACS node "${this.node.name}" uses DICOM TLS: a retrieve by C-MOVE needs tls.certFile and tls.keyFile (the certificate our Storage SCP presents), or retrieve "get".`);
    }
    const { ca, cert, key } = dimseSecurityOptions(tls, this.node.name);
    return { mode: `${tls.caFile}|${tls.certFile}|${tls.keyFile}`, ca, cert: cert!, key: key! };
  }

  private async *retrieveByMove(studyUid: string, seriesUid: string, only: string[] | null, signal: AbortSignal): AsyncGenerator<Buffer> {
    const queue = new AsyncQueue<Buffer>();
    const scp = await leaseStorageScp(this.node.storePort, this.node.callingAet, this.node.calledAet, seriesUid, (bytes) => queue.push(bytes), this.storeTls());
    try {
      const dest = this.node.callingAet;
      const requests = only ? only.map((sop) => CMoveRequest.createImageMoveRequest(dest, studyUid, seriesUid, sop)) : [CMoveRequest.createSeriesMoveRequest(dest, studyUid, seriesUid)];
      const run = this.open(requests, signal);
      this.watchFinal(requests, 'C-MOVE', run.fail);
      run.done.then(
        () => queue.end(),
        (e: Error) => queue.fail(e),
      );
      yield* queue;
    } finally {
      scp.release();
    }
  }

  private async *retrieveByGet(studyUid: string, seriesUid: string, only: string[] | null, signal: AbortSignal): AsyncGenerator<Buffer> {
    const queue = new AsyncQueue<Buffer>();
    const requests = only ? only.map((sop) => CGetRequest.createImageGetRequest(studyUid, seriesUid, sop)) : [CGetRequest.createSeriesGetRequest(studyUid, seriesUid)];
    const incoming = new WeakMap<object, { chunks: Buffer[]; size: number; syntax: string }>();
    const run = this.open(requests, signal, (client) => {
      // The library parses each received data set (slow, and re-encoding would change it): the network
      // object it just made for this association collects the raw bytes instead, as our SCP does.
      const network = (client as unknown as { network: { createStoreWritableStream: unknown; createDatasetFromStoreWritableStream: unknown } }).network;
      network.createStoreWritableStream = (context: { getAcceptedTransferSyntaxUid(): string | undefined }, request: object): Writable => {
        const entry = { chunks: [] as Buffer[], size: 0, syntax: context.getAcceptedTransferSyntaxUid() ?? '' };
        incoming.set(request, entry);
        return new Writable({
          write(chunk: Buffer, _e, done) {
            entry.size += chunk.length;
            if (entry.size <= MAX_INSTANCE_BYTES) entry.chunks.push(chunk);
            done();
          },
        });
      };
      network.createDatasetFromStoreWritableStream = (writable: Writable, _c: unknown, callback: (d: DatasetT) => void) => {
        if (writable.writableFinished) callback(new Dataset({}));
        else writable.once('finish', () => callback(new Dataset({})));
      };
      client.on('cStoreRequest', (request: InstanceType<typeof CStoreRequest>, callback: (r: InstanceType<typeof CStoreResponse>) => void) => {
        const response = CStoreResponse.fromRequest(request);
        const entry = incoming.get(request);
        const sop = request.getAffectedSopInstanceUid();
        const bytes = entry && entry.size <= MAX_INSTANCE_BYTES ? toPart10(Buffer.concat(entry.chunks), { sopClassUid: request.getAffectedSopClassUid(), sopInstanceUid: sop, transferSyntaxUid: entry.syntax, sourceAet: this.node.calledAet }) : null;
        const checked = bytes ? checkInstance(bytes) : null;
        if (bytes && checked && !('refused' in checked) && checked.sopInstanceUid === sop) {
          queue.push(bytes);
          response.setStatus(Status.Success);
        } else response.setStatus(0xc000);
        callback(response);
      });
    });
    this.watchFinal(requests, 'C-GET', run.fail);
    run.done.then(
      () => queue.end(),
      (e: Error) => queue.fail(e),
    );
    yield* queue;
  }

  /** C-STORE of Part 10 files (one association); the SOP instances stored and those refused with the status. */
  async store(files: string[], signal?: AbortSignal): Promise<{ stored: string[]; failed: Array<{ sopInstanceUid: string; reason: string }> }> {
    const stored: string[] = [];
    const failed: Array<{ sopInstanceUid: string; reason: string }> = [];
    const requests = files.map((file) => {
      const request = new CStoreRequest(file);
      const sop = request.getAffectedSopInstanceUid();
      request.on('response', (r: Response) => {
        const status = r.getStatus();
        if (status === Status.Success || STORE_WARNINGS.has(status)) stored.push(sop);
        else failed.push({ sopInstanceUid: sop, reason: hex(status) });
      });
      return request;
    });
    await this.open(requests, signal).done;
    return { stored, failed };
  }
}
