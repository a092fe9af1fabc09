import { randomUUID } from 'node:crypto';
import { events } from '../../src-shared/contracts';
import type { JobFinal, JobProgress, JobStarted, JobSummary } from '../../src-shared/contracts/jobs';
import { commonErrorCodes, DomainError } from '../../src-shared/ipc/envelope';
import type { EventSink } from '../ipc/registry';

export interface ProgressUpdate {
  done: number;
  total: number;
  message?: string;
  appendText?: string;
  etaSeconds?: number;
  data?: unknown;
}

export interface JobContext {
  readonly jobId: string;
  readonly signal: AbortSignal;
  progress(update: ProgressUpdate): void;
}

export interface StartJobOptions<R> {
  kind: string;
  sink: EventSink;
  run: (ctx: JobContext) => Promise<R>;
  /** Value to report when the job is cancelled (partial results: e.g. slices already generated). */
  onCancelled?: () => unknown;
}

interface JobRecord {
  jobId: string;
  kind: string;
  sink: EventSink;
  controller: AbortController;
  startedAt: number;
  last: { done: number; total: number };
  pending: ProgressUpdate | null;
  lastSentAt: number;
  timer: ReturnType<typeof setTimeout> | null;
  final: Promise<JobFinal>;
  finished: boolean;
}

/** At most ~10 progress events per second per job; text deltas are concatenated, never dropped. */
export const PROGRESS_INTERVAL_MS = 100;

export class JobManager {
  private readonly jobs = new Map<string, JobRecord>();

  constructor(private readonly now: () => number = () => Date.now()) {}

  start<R>(options: StartJobOptions<R>): JobStarted {
    const jobId = `job-${randomUUID()}`;
    const controller = new AbortController();
    let resolveFinal!: (f: JobFinal) => void;
    const record: JobRecord = {
      jobId,
      kind: options.kind,
      sink: options.sink,
      controller,
      startedAt: this.now(),
      last: { done: 0, total: 0 },
      pending: null,
      lastSentAt: 0,
      timer: null,
      final: new Promise<JobFinal>((r) => (resolveFinal = r)),
      finished: false,
    };
    this.jobs.set(jobId, record);
    const ctx: JobContext = {
      jobId,
      signal: controller.signal,
      progress: (update) => this.queueProgress(record, update),
    };
    // Run on a later turn so the caller receives the job id before any event for it.
    setImmediate(() => {
      void (async () => {
        let final: JobFinal;
        try {
          if (controller.signal.aborted) throw new DOMException('cancelled before start', 'AbortError');
          const result = await options.run(ctx);
          final = controller.signal.aborted
            ? { jobId, kind: options.kind, status: 'cancelled', result: options.onCancelled?.() ?? result }
            : { jobId, kind: options.kind, status: 'done', result };
        } catch (e) {
          if (controller.signal.aborted) {
            final = { jobId, kind: options.kind, status: 'cancelled', result: options.onCancelled?.() };
          } else {
            const error =
              e instanceof DomainError
                ? { code: e.code, message: e.message }
                : { code: commonErrorCodes.internal, message: e instanceof Error ? e.message : String(e) };
            final = { jobId, kind: options.kind, status: 'failed', error };
          }
        }
        this.finish(record, final);
        resolveFinal(final);
      })();
    });
    return { jobId, kind: options.kind };
  }

  cancel(jobId: string, sink?: EventSink): boolean {
    const record = this.jobs.get(jobId);
    if (!record || record.finished) return false;
    if (sink && sink.id !== record.sink.id) return false; // only the window that started a job may cancel it
    record.controller.abort();
    return true;
  }

  /** A window closed or a connection dropped: its jobs are cancelled so none is orphaned. */
  cancelAllFor(sinkId: string): number {
    let n = 0;
    for (const r of this.jobs.values()) {
      if (r.sink.id === sinkId && !r.finished) {
        r.controller.abort();
        n += 1;
      }
    }
    return n;
  }

  wait(jobId: string): Promise<JobFinal> {
    const record = this.jobs.get(jobId);
    if (!record) return Promise.reject(new DomainError(commonErrorCodes.notFound, `No job ${jobId}.`));
    return record.final;
  }

  list(): JobSummary[] {
    return [...this.jobs.values()].map((r) => ({
      jobId: r.jobId,
      kind: r.kind,
      state: r.finished ? 'done' : 'running',
      startedAt: r.startedAt,
      done: r.last.done,
      total: r.last.total,
    }));
  }

  running(): number {
    return [...this.jobs.values()].filter((r) => !r.finished).length;
  }

  async shutdown(): Promise<void> {
    const finals = [...this.jobs.values()].filter((r) => !r.finished).map((r) => (r.controller.abort(), r.final));
    await Promise.all(finals);
  }

  private queueProgress(record: JobRecord, update: ProgressUpdate): void {
    if (record.finished) return;
    const prev = record.pending;
    record.pending = {
      ...prev,
      ...update,
      appendText: (prev?.appendText ?? '') + (update.appendText ?? '') || undefined,
    };
    record.last = { done: update.done, total: update.total };
    const wait = record.lastSentAt + PROGRESS_INTERVAL_MS - this.now();
    if (wait <= 0) this.flushProgress(record);
    else if (!record.timer) record.timer = setTimeout(() => this.flushProgress(record), wait);
  }

  private flushProgress(record: JobRecord): void {
    if (record.timer) clearTimeout(record.timer);
    record.timer = null;
    const p = record.pending;
    if (!p) return;
    record.pending = null;
    record.lastSentAt = this.now();
    const payload: JobProgress = { jobId: record.jobId, kind: record.kind, ...p };
    if (payload.appendText === undefined) delete payload.appendText;
    this.send(record, events.jobProgress.channel, payload);
  }

  private finish(record: JobRecord, final: JobFinal): void {
    if (record.finished) return;
    this.flushProgress(record);
    record.finished = true;
    this.send(record, events.jobFinal.channel, final);
    // Keep finished jobs briefly for `list`, then forget them.
    setTimeout(() => this.jobs.delete(record.jobId), 60_000).unref?.();
  }

  private send(record: JobRecord, channel: string, payload: unknown): void {
    if (!record.sink.isAlive()) return;
    try {
      record.sink.send(channel, payload);
    } catch {
      // A window that vanished mid-send cannot receive; the job's state is still settled here.
    }
  }
}
