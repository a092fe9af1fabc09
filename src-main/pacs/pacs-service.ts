/**
 * The `pacs` domain: find, retrieve into the local store (resumable, as a job) and send, over DICOMweb
 * (QIDO-RS / WADO-RS / STOW-RS) or DIMSE (C-FIND / C-MOVE or C-GET / C-STORE), see transport.ts. Retrieved instances go through the same DICOM import as files a user opens, batch by
 * batch while the retrieve runs, so the first image can be shown before the series is complete.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  pacsErrorCodes,
  type EchoResult,
  type PacsFindQuery,
  type PacsFindResult,
  type NewPacsTransfer,
  type pacsContract,
  type RetrieveReport,
  type RetrievedSeries,
  type SendReport,
} from '../../src-shared/contracts/pacs';
import type { JobStarted } from '../../src-shared/contracts/jobs';
import { DomainError } from '../../src-shared/ipc/envelope';
import type { DicomService } from '../dicom/dicom-service';
import type { DomainHandlers, EventSink } from '../ipc/registry';
import type { JobContext, JobManager } from '../jobs/job-manager';
import type { HistoryService } from '../store/history-service';
import { DicomWebClient, text } from './dicomweb';
import { DimseClient } from './dimse';
import { transportFor, type PacsTransport } from './transport';
import { checkInstance, readMarker, seriesFolder, storedInstances, storeInstance, writeMarker } from './local-store';
import type { PacsNodeConfig, PacsNodes } from './pacs-nodes';

export interface PacsServiceOptions {
  jobs: JobManager;
  dicom: DicomService;
  dataDir: string;
  nodes: PacsNodes;
  /** The case history: each retrieve and send is recorded there as it ends (absent in some tests). */
  history?: Pick<HistoryService, 'recordPacsTransfer'>;
}

/** Test and bench hooks: called after each instance is stored (awaited). */
export interface RetrieveHooks {
  afterStored?(count: number, file: string): Promise<void> | void;
}

const quietSink: EventSink = { id: 'pacs-internal', send: () => {}, isAlive: () => true };

/** Most instances listed for one series; a peer listing more is refused rather than looped over. */
const MAX_INSTANCES_PER_SERIES = 100_000;
/** Instances being flushed to disk at once during a retrieve. */
const WRITES_IN_FLIGHT = 4;

/**
 * Imports files as they arrive: one import job at a time, each taking every file that arrived while the
 * previous one ran (the first file alone, so the first image is indexed at once).
 */
class ImportFeeder {
  private pending: string[] = [];
  private running: Promise<void> | null = null;
  imported = 0;
  failed = 0;

  constructor(private readonly jobs: JobManager, private readonly dicom: DicomService) {}

  add(file: string): void {
    this.pending.push(file);
    this.running ??= this.loop().finally(() => (this.running = null));
  }

  private async loop(): Promise<void> {
    while (this.pending.length) {
      const batch = this.pending;
      this.pending = [];
      const started = this.dicom.import(batch, quietSink);
      const final = await this.jobs.wait(started.jobId);
      const report = final.status === 'done' ? (final.result as { imported: number; failed: number }) : null;
      this.imported += report?.imported ?? 0;
      this.failed += report ? report.failed : batch.length;
    }
  }

  async drain(): Promise<void> {
    while (this.running) await this.running;
  }
}

export class PacsService {
  readonly handlers: DomainHandlers<typeof pacsContract>;
  /** Set by tests and the bench only. */
  hooks: RetrieveHooks = {};
  /** The configured nodes (the CLI resolves --node here and checks ad hoc --url nodes against the policy). */
  readonly nodes: PacsNodes;

  constructor(private readonly options: PacsServiceOptions) {
    this.nodes = options.nodes;
    const node = (name: string) => options.nodes.get(name);
    this.handlers = {
      listNodes: () => options.nodes.summaries(),
      echo: ({ node: name }) => this.echo(node(name)),
      find: (q) => this.find(node(q.node), q),
      retrieve: (req, ctx) => this.startRetrieve(node(req.node), req, ctx.sink),
      send: ({ node: name, seriesUid }) => this.sendSeries(node(name), seriesUid),
    };
  }

  async echo(node: PacsNodeConfig): Promise<EchoResult> {
    this.options.nodes.assertAllowed(node);
    const started = Date.now();
    const transport = transportFor(node);
    await transport.echo();
    return { node: node.name, ok: true, elapsedMs: Date.now() - started, message: transport.echoMessage };
  }

  async find(node: PacsNodeConfig, query: PacsFindQuery): Promise<PacsFindResult[]> {
    this.options.nodes.assertAllowed(node);
    return transportFor(node).find(query);
  }

  startRetrieve(node: PacsNodeConfig, req: { studyUid: string; seriesUid?: string | undefined }, sink: EventSink): JobStarted {
    this.options.nodes.assertAllowed(node);
    const report: RetrieveReport = { node: node.name, studyUid: req.studyUid, series: [], bytes: 0, elapsedMs: 0 };
    return this.options.jobs.start({
      kind: 'pacs-retrieve',
      sink,
      run: async (job) => {
        const startedAt = Date.now();
        const record = (outcome: NewPacsTransfer['outcome'], message: string | null) =>
          this.record({ direction: 'retrieve', node, studyUid: req.studyUid, seriesUids: report.series.map((s) => s.seriesUid), instances: report.series.reduce((n, s) => n + s.fetched, 0), bytes: report.bytes, outcome, message, startedAt });
        try {
          const done = await this.retrieve(node, req, job, report);
          const partial = done.series.filter((s) => s.state === 'partial');
          await record(partial.length ? 'partial' : 'complete', partial[0]?.message ?? null);
          return done;
        } catch (e) {
          await record(job.signal.aborted ? 'cancelled' : 'failed', e instanceof Error ? e.message : String(e));
          throw e;
        }
      },
      onCancelled: () => report,
    });
  }

  /**
   * Adds a transfer to the case history. A history that cannot be written does not undo the transfer: the
   * files are in the local store (retrieve) or at the peer (send) either way.
   */
  private async record(t: Omit<NewPacsTransfer, 'transferId' | 'protocol' | 'node' | 'finishedAt'> & { node: PacsNodeConfig }): Promise<void> {
    try {
      await this.options.history?.recordPacsTransfer({ ...t, transferId: `pacs-${randomUUID()}`, node: t.node.name, protocol: t.node.protocol, finishedAt: Math.max(Date.now(), t.startedAt) });
    } catch {
      // the history store is closed or failing: it reports that itself on its next use
    }
  }

  /** Retrieves a series (or every series of a study) into the local store; see the contract. */
  async retrieve(node: PacsNodeConfig, req: { studyUid: string; seriesUid?: string | undefined }, job: Pick<JobContext, 'signal' | 'progress'>, report: RetrieveReport): Promise<RetrieveReport> {
    this.options.nodes.assertAllowed(node);
    const started = Date.now();
    const client = transportFor(node);
    const feeder = new ImportFeeder(this.options.jobs, this.options.dicom);
    const seriesUids = req.seriesUid ? [req.seriesUid] : await client.seriesUids(req.studyUid, job.signal);
    // Every series' instance list first, so progress counts against the whole retrieve.
    const plans: Array<{ seriesUid: string; expected: string[] }> = [];
    for (const seriesUid of seriesUids) {
      const expected = await client.instanceUids(req.studyUid, seriesUid, job.signal);
      if (expected.length > MAX_INSTANCES_PER_SERIES) throw new DomainError(pacsErrorCodes.badResponse, `PACS node "${node.name}" lists more than ${MAX_INSTANCES_PER_SERIES} instances in one series.`);
      plans.push({ seriesUid, expected });
    }
    const total = plans.reduce((n, p) => n + p.expected.length, 0);
    let done = 0;
    try {
      for (const plan of plans) {
        const entry = await this.retrieveSeries(client, req.studyUid, plan.seriesUid, plan.expected, job, feeder, report, () => {
          done += 1;
          job.progress({ done, total, message: plan.seriesUid });
        });
        done += entry.stored - entry.fetched;
        report.series.push(entry);
        if (job.signal.aborted) break;
      }
    } finally {
      await feeder.drain();
      report.elapsedMs = Date.now() - started;
    }
    if (job.signal.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
    return report;
  }

  private async retrieveSeries(
    client: PacsTransport,
    studyUid: string,
    seriesUid: string,
    expectedList: string[],
    job: Pick<JobContext, 'signal'>,
    feeder: ImportFeeder,
    report: RetrieveReport,
    onStored: () => void,
  ): Promise<RetrievedSeries> {
    const folder = seriesFolder(this.options.dataDir, studyUid, seriesUid);
    const expected = new Set(expectedList);
    const have = new Set([...storedInstances(folder)].filter((u) => expected.has(u)));
    // Instances stored earlier but never imported (a retrieve cut off before its import) are imported now.
    if (have.size && readMarker(folder)?.state !== 'complete') for (const sop of have) feeder.add(path.join(folder, `${sop}.dcm`));
    const entry: RetrievedSeries = { studyUid, seriesUid, state: 'partial', expected: expected.size, stored: have.size, fetched: 0, rejected: 0, folder };
    const mark = (message?: string) => {
      entry.state = entry.stored === entry.expected ? 'complete' : 'partial';
      if (entry.state === 'partial') entry.message = message ?? `${entry.expected - entry.stored} of ${entry.expected} instances not retrieved yet`;
      else delete entry.message;
      writeMarker(folder, { state: entry.state, node: client.node.name, expected: entry.expected, stored: entry.stored, updatedAt: new Date().toISOString(), ...(entry.message ? { message: entry.message } : {}) });
    };
    const missing = expectedList.filter((u) => !have.has(u));
    if (missing.length === 0) {
      mark();
      return entry;
    }
    mark(`retrieve in progress: ${entry.stored} of ${entry.expected} instances stored`);
    // Nothing stored yet: the whole series at once. Resuming: only the missing instances.
    const only = have.size === 0 ? null : missing;
    // Up to WRITES_IN_FLIGHT instances flush to disk while the next ones are parsed.
    const writes = new Set<Promise<void>>();
    let writeError: unknown = null;
    const write = (sop: string, body: Uint8Array): Promise<void> => {
      const p: Promise<void> = storeInstance(folder, sop, body)
        .then((file) => {
          entry.stored += 1;
          entry.fetched += 1;
          report.bytes += body.length;
          feeder.add(file);
          onStored();
        })
        .catch((e: unknown) => {
          have.delete(sop);
          writeError ??= e;
        })
        .finally(() => writes.delete(p));
      writes.add(p);
      return p;
    };
    try {
      {
        for await (const body of client.instances(studyUid, seriesUid, only, job.signal)) {
          if (writeError) throw writeError;
          const checked = checkInstance(body);
          if ('refused' in checked || checked.seriesUid !== seriesUid || !expected.has(checked.sopInstanceUid)) {
            entry.rejected += 1;
            continue;
          }
          if (have.has(checked.sopInstanceUid)) continue;
          have.add(checked.sopInstanceUid);
          const written = write(checked.sopInstanceUid, body);
          if (this.hooks.afterStored) {
            // Tests and the bench act between instances (stop the peer, cancel): one write at a time.
            await written;
            await this.hooks.afterStored(entry.fetched, path.join(folder, `${checked.sopInstanceUid}.dcm`));
          } else if (writes.size >= WRITES_IN_FLIGHT) await Promise.race(writes);
        }
      }
      await Promise.all(writes);
      if (writeError) throw writeError;
      mark(job.signal.aborted ? 'the retrieve was cancelled' : undefined);
    } catch (e) {
      await Promise.all(writes);
      const why = job.signal.aborted ? 'the retrieve was cancelled' : e instanceof Error ? e.message : String(e);
      mark(`stopped after ${entry.stored} of ${entry.expected} instances: ${why}`);
    }
    return entry;
  }

  /** STOW-RS of every file of an imported series. */
  async sendSeries(node: PacsNodeConfig, seriesUid: string): Promise<SendReport> {
    const detail = this.options.dicom.findSeries(seriesUid);
    if (!detail) throw new DomainError(pacsErrorCodes.nothingToSend, `No imported series ${seriesUid}.`);
    const files = new Set<string>();
    for (let i = 0; i < detail.imageCount; i += 1) {
      const file = this.options.dicom.imageFile(seriesUid, i);
      if (file) files.add(file);
    }
    return this.sendFiles(node, [...files]);
  }

  /** STOW-RS of DICOM files (each checked first: a file that is not DICOM is refused before sending). */
  async sendFiles(node: PacsNodeConfig, files: string[]): Promise<SendReport> {
    this.options.nodes.assertAllowed(node);
    if (files.length === 0) throw new DomainError(pacsErrorCodes.nothingToSend, 'No files to send.');
    const started = Date.now();
    const bodies = files.map((f) => {
      const bytes = readFileSync(f);
      if ('refused' in checkInstance(bytes)) throw new DomainError(pacsErrorCodes.nothingToSend, `${path.basename(f)} is not a DICOM file that can be sent.`);
      return bytes;
    });
    const first = checkInstance(bodies[0]!);
    const studyUid = 'refused' in first ? null : first.studyUid;
    const seriesUids = [...new Set(bodies.map((b) => checkInstance(b)).flatMap((c) => ('refused' in c ? [] : [c.seriesUid])))];
    const record = (outcome: NewPacsTransfer['outcome'], instances: number, message: string | null) =>
      this.record({ direction: 'send', node, studyUid, seriesUids, instances, bytes: bodies.reduce((n, b) => n + b.length, 0), outcome, message, startedAt: started });
    try {
      let stored: string[];
      let failed: SendReport['failed'];
      if (node.protocol === 'dimse') ({ stored, failed } = await new DimseClient(node).store(files));
      else {
        const answer = await new DicomWebClient(node).store(bodies);
        const items = (key: string) => (answer[key]?.Value ?? []) as Array<Record<string, { Value?: unknown[] }>>;
        stored = items('00081199').map((i) => text(i, '00081155'));
        failed = items('00081198').map((i) => ({ sopInstanceUid: text(i, '00081155'), reason: text(i, '00081197') || 'refused' }));
      }
      const report = this.sendReport(node, files.length, stored, failed, bodies, started);
      await record(failed.length ? 'partial' : 'complete', stored.length, failed.length ? `${failed.length} refused (${failed[0]!.reason})` : null);
      return report;
    } catch (e) {
      await record('failed', 0, e instanceof Error ? e.message : String(e));
      throw e;
    }
  }

  private sendReport(node: PacsNodeConfig, sent: number, stored: string[], failed: SendReport['failed'], bodies: Buffer[], started: number): SendReport {
    const report: SendReport = { node: node.name, sent, stored, failed, bytes: bodies.reduce((n, b) => n + b.length, 0), elapsedMs: Date.now() - started };
    if (stored.length === 0 && sent > 0) {
      throw new DomainError(pacsErrorCodes.sendRejected, `PACS node "${node.name}" stored none of the ${sent} file(s)${failed.length ? ` (reason ${failed[0]!.reason})` : ''}.`);
    }
    return report;
  }
}
