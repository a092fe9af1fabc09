/**
 * A DICOMweb client over Node's fetch: QIDO-RS (JSON), WADO-RS (multipart/related, streamed) and
 * STOW-RS. Credentials are added to each request's headers here and appear in no message: errors name
 * the node and the HTTP status, never the Authorization header or a response body that could echo it.
 */
import { dicomUidSchema, pacsErrorCodes, type DicomWebNodeConfig, type PacsFindQuery, type PacsFindResult } from '../../src-shared/contracts/pacs';
import { DomainError } from '../../src-shared/ipc/envelope';
import { fetchWithCa, readCa } from './https-ca';
import { boundaryOf, readMultipart, writeMultipart, type MultipartPart } from './multipart';

/** A DICOM JSON data set (PS3.18 F.2): tag → { vr, Value }. */
export type DicomJson = Record<string, { vr?: string; Value?: unknown[] } | undefined>;

/** Largest object accepted in a WADO-RS response (one instance). */
export const MAX_INSTANCE_BYTES = 1024 * 1024 * 1024;
/** Largest QIDO-RS answer read (JSON). */
const MAX_QIDO_BYTES = 64 * 1024 * 1024;

const isUid = (u: string) => dicomUidSchema.safeParse(u).success;

/**
 * The body's chunks, failing when none arrives within idleMs: a peer that stops sending mid-series
 * ends the retrieve (partial, resumable) instead of holding it forever.
 */
async function* withIdleLimit(body: AsyncIterable<Uint8Array>, idleMs: number, what: string, onIdle: () => void): AsyncGenerator<Uint8Array> {
  const iterator = body[Symbol.asyncIterator]();
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new DomainError(pacsErrorCodes.unreachable, `${what} sent nothing for ${idleMs} ms.`));
        onIdle(); // then abort the request, so the pending read ends and the connection closes
      }, idleMs);
    });
    try {
      const next = await Promise.race([iterator.next(), idle]);
      if (next.done) return;
      yield next.value;
    } finally {
      clearTimeout(timer);
    }
  }
}

export class DicomWebClient {
  constructor(readonly node: DicomWebNodeConfig) {}

  private url(relative: string): string {
    return `${this.node.url.replace(/\/+$/, '')}/${relative}`;
  }

  private authHeaders(): Record<string, string> {
    const a = this.node.auth;
    if (a.type === 'basic') return { authorization: `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}` };
    if (a.type === 'bearer') return { authorization: `Bearer ${a.token}` };
    return {};
  }

  /**
   * One request; non-2xx answers become DomainErrors. The time limit covers the wait for the response
   * headers (a big series may take longer than that to stream; a peer that dies mid-body ends the stream).
   */
  async request(relative: string, init: { method?: string; accept: string; body?: Buffer; contentType?: string; signal?: AbortSignal }): Promise<Response> {
    const headerTimeout = new AbortController();
    const timer = setTimeout(() => headerTimeout.abort(), this.node.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, headerTimeout.signal]) : headerTimeout.signal;
    let res: Response;
    const headers = { accept: init.accept, ...(init.contentType ? { 'content-type': init.contentType } : {}), ...this.authHeaders() };
    const ca = this.node.caFile ? readCa(this.node.caFile, this.node.name) : null;
    try {
      res = ca
        ? await fetchWithCa(this.url(relative), { method: init.method ?? 'GET', headers, ...(init.body ? { body: init.body } : {}), signal }, ca)
        : await fetch(this.url(relative), {
            method: init.method ?? 'GET',
            headers,
            ...(init.body ? { body: init.body } : {}),
            // Credentials must not follow a redirect to another place.
            redirect: 'error',
            signal,
          });
    } catch (e) {
      if (init.signal?.aborted) throw e;
      const code = (e as { code?: string }).code ?? (e as { cause?: { code?: string } }).cause?.code;
      const why = headerTimeout.signal.aborted ? `no answer within ${this.node.timeoutMs} ms` : (code ?? (e instanceof Error ? e.message : String(e)));
      const tls = code && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code) ? ': its certificate is not trusted; give the CA that signed it as the node\'s caFile' : '';
      throw new DomainError(pacsErrorCodes.unreachable, `PACS node "${this.node.name}" cannot be reached (${why})${tls}.`);
    } finally {
      clearTimeout(timer);
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new DomainError(pacsErrorCodes.authFailed, `PACS node "${this.node.name}" refused the credentials (HTTP ${res.status}).`);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new DomainError(pacsErrorCodes.peerError, `PACS node "${this.node.name}" answered HTTP ${res.status} to ${init.method ?? 'GET'} ${relative.split('?')[0]}.`);
    }
    return res;
  }

  private async readJson(res: Response): Promise<unknown> {
    const text = await res.text();
    if (text.length > MAX_QIDO_BYTES) throw new DomainError(pacsErrorCodes.badResponse, `PACS node "${this.node.name}" sent an answer too large to read.`);
    if (text.trim() === '') return [];
    try {
      return JSON.parse(text);
    } catch {
      throw new DomainError(pacsErrorCodes.badResponse, `PACS node "${this.node.name}" sent an answer that is not JSON.`);
    }
  }

  async qido(relative: string, params: Record<string, string>, signal?: AbortSignal): Promise<DicomJson[]> {
    const qs = new URLSearchParams(params).toString();
    const res = await this.request(qs ? `${relative}?${qs}` : relative, { accept: 'application/dicom+json', ...(signal ? { signal } : {}) });
    const body = await this.readJson(res);
    if (!Array.isArray(body)) throw new DomainError(pacsErrorCodes.badResponse, `PACS node "${this.node.name}" answered a search with something other than a list.`);
    return body as DicomJson[];
  }

  /** QIDO-RS with the contract's filters (PS3.18 10.6: attribute matching, date ranges, fuzzy off). */
  async find(q: PacsFindQuery, signal?: AbortSignal): Promise<PacsFindResult[]> {
    const params: Record<string, string> = { limit: String(q.limit) };
    // Wildcard matching on names (what users type: a family name prefix); IDs match as typed.
    if (q.patientName) params['PatientName'] = /[*?]/.test(q.patientName) ? q.patientName : `${q.patientName}*`;
    if (q.patientId) params['PatientID'] = q.patientId;
    if (q.dateFrom || q.dateTo) params['StudyDate'] = `${q.dateFrom ?? ''}-${q.dateTo ?? ''}`;
    if (q.accessionNumber) params['AccessionNumber'] = q.accessionNumber;
    const fields = ['PatientName', 'PatientID', 'StudyDate', 'StudyDescription', 'AccessionNumber', 'ModalitiesInStudy', 'NumberOfStudyRelatedInstances'];
    let rows: DicomJson[];
    if (q.level === 'series') {
      if (!q.studyUid) throw new DomainError(pacsErrorCodes.peerError, 'A series search needs the study UID.');
      if (q.modality) params['Modality'] = q.modality;
      rows = await this.qido(`studies/${q.studyUid}/series`, { ...params, includefield: [...fields, 'SeriesDescription', 'SeriesNumber', 'NumberOfSeriesRelatedInstances'].join(',') }, signal);
    } else {
      if (q.modality) params['ModalitiesInStudy'] = q.modality;
      rows = await this.qido('studies', { ...params, includefield: fields.join(',') }, signal);
    }
    return rows.map((r) => findResult(r, q.level === 'series' ? (q.studyUid ?? '') : null));
  }

  /** The SOP Instance UIDs of a series, as the peer lists them. */
  async instanceUids(studyUid: string, seriesUid: string, signal?: AbortSignal): Promise<string[]> {
    const rows = await this.qido(`studies/${studyUid}/series/${seriesUid}/instances`, {}, signal);
    // UIDs go into request paths and file names: anything else from the peer is left out.
    return rows.map((r) => text(r, '00080018')).filter(isUid);
  }

  async seriesUids(studyUid: string, signal?: AbortSignal): Promise<string[]> {
    const rows = await this.qido(`studies/${studyUid}/series`, {}, signal);
    return rows.map((r) => text(r, '0020000E')).filter(isUid);
  }

  /** WADO-RS: the parts of a multipart/related answer as they arrive. */
  async *retrieve(relative: string, signal: AbortSignal): AsyncGenerator<MultipartPart> {
    const local = new AbortController();
    const res = await this.request(relative, { accept: 'multipart/related; type="application/dicom"; transfer-syntax=*', signal: AbortSignal.any([signal, local.signal]) });
    try {
      const boundary = boundaryOf(res.headers.get('content-type'));
      if (!boundary || !res.body) throw new DomainError(pacsErrorCodes.badResponse, `PACS node "${this.node.name}" did not answer a retrieve with multipart/related.`);
      const body = withIdleLimit(res.body as AsyncIterable<Uint8Array>, this.node.timeoutMs, `PACS node "${this.node.name}"`, () => local.abort());
      yield* readMultipart(body, boundary, MAX_INSTANCE_BYTES);
    } finally {
      // However the reading ends (done, refused, stalled, stopped by the caller), the connection is released.
      local.abort();
    }
  }

  /** STOW-RS of DICOM files; returns the peer's response data set. */
  async store(files: Uint8Array[], studyUid?: string, signal?: AbortSignal): Promise<DicomJson> {
    const { body, contentType } = writeMultipart(files);
    const res = await this.request(studyUid ? `studies/${studyUid}` : 'studies', { method: 'POST', accept: 'application/dicom+json', body, contentType, ...(signal ? { signal } : {}) });
    const json = await this.readJson(res);
    return (Array.isArray(json) ? (json[0] ?? {}) : (json ?? {})) as DicomJson;
  }

  /** A cheap authenticated request: a study search limited to one result. */
  async echo(signal?: AbortSignal): Promise<void> {
    await this.qido('studies', { limit: '1' }, signal);
  }
}

/** The first value of a tag as text (person names: the alphabetic group). */
export function text(ds: DicomJson, tag: string): string {
  const v = ds[tag]?.Value?.[0];
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return String((v as { Alphabetic?: string }).Alphabetic ?? '');
  return String(v);
}

function numberOrNull(ds: DicomJson, tag: string): number | null {
  const v = Number(text(ds, tag));
  return text(ds, tag) !== '' && Number.isFinite(v) ? v : null;
}

function findResult(r: DicomJson, seriesStudy: string | null): PacsFindResult {
  const series = seriesStudy !== null;
  const count = numberOrNull(r, series ? '00201209' : '00201208');
  return {
    studyUid: series ? text(r, '0020000D') || seriesStudy : text(r, '0020000D'),
    seriesUid: series ? text(r, '0020000E') : null,
    patientName: text(r, '00100010'),
    patientId: text(r, '00100020'),
    studyDate: text(r, '00080020'),
    studyDescription: text(r, '00081030'),
    accessionNumber: text(r, '00080050'),
    modalities: series ? [text(r, '00080060')].filter(Boolean) : (r['00080061']?.Value ?? []).map(String),
    seriesDescription: series ? text(r, '0008103E') : '',
    seriesNumber: series ? numberOrNull(r, '00200011') : null,
    instanceCount: count === null ? null : Math.trunc(count),
  };
}
