import { randomUUID } from 'node:crypto';
import { events } from '../../src-shared/contracts';
import { jobErrorCodes, type JobFinal, type JobProgress, type JobStarted, type JobSummary } from '../../src-shared/contracts/jobs';
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
  /** 'queued' until a place is free for its kind; the body has not been called yet. */
  state: 'queued' | 'running';
  /** Starts the body; called once, when the job leaves the queue. */
  begin: () => void;
  /** Ends a job that never ran (cancelled while queued). */
  endQueued: () => void;
  last: { done: number; total: number };
  pending: ProgressUpdate | null;
  lastSentAt: number;
  timer: ReturnType<typeof setTimeout> | null;
  final: Promise<JobFinal>;
  finished: boolean;
}

/** At most ~10 progress events per second per job; text deltas are concatenated, never dropped. */
export const PROGRESS_INTERVAL_MS = 100;

export interface JobLimits {
  /** Jobs of one kind running at once; the rest wait in the queue. */
  maxRunningPerKind?: number;
  /** Jobs waiting (all kinds together); beyond it start is refused with JOB_QUEUE_FULL. */
  maxQueued?: number;
}

/**
 * Long operations: an id, an AbortSignal, throttled progress to the window that asked, and exactly one
 * final event however a job ends. At most `maxRunningPerKind` jobs of a kind run at once, the rest wait
 * in a bounded queue (a 1,000-ask burst must not load 1,000 inferences into memory). The limit is per
 * kind, not overall, because a job may wait for a job of another kind (a generation re-reads its output
 * through an import job): an overall limit filled by generations would leave their imports queued forever.
 */
export class JobManager {
  static readonly DEFAULT_MAX_RUNNING_PER_KIND = 2;
  static readonly DEFAULT_MAX_QUEUED = 100;

  private readonly jobs = new Map<string, JobRecord>();
  /** Waiting jobs in the order they were started. */
  private readonly queue: JobRecord[] = [];
  private readonly maxRunningPerKind: number;
  private readonly maxQueued: number;

  constructor(
    private readonly now: () => number = () => Date.now(),
    limits: JobLimits = {},
  ) {
    this.maxRunningPerKind = Math.max(1, limits.maxRunningPerKind ?? JobManager.DEFAULT_MAX_RUNNING_PER_KIND);
    this.maxQueued = Math.max(0, limits.maxQueued ?? JobManager.DEFAULT_MAX_QUEUED);
  }

  start<R>(options: StartJobOptions<R>): JobStarted {
    const mustQueue = this.runningOfKind(options.kind) >= this.maxRunningPerKind;
    if (mustQueue && this.queue.length >= this.maxQueued) {
      throw new DomainError(
        jobErrorCodes.queueFull,
        `Too many jobs: ${this.queue.length} jobs are already waiting to run (the limit is ${this.maxQueued}). ` +
          'This one was not started; wait for some to finish or cancel them, then try again.',
      );
    }
    const jobId = `job-${randomUUID()}`;
    const controller = new AbortController();
    let resolveFinal!: (f: JobFinal) => void;
    const record: JobRecord = {
      jobId,
      kind: options.kind,
      sink: options.sink,
      controller,
      startedAt: this.now(),
      state: mustQueue ? 'queued' : 'running',
      begin: () => {},
      endQueued: () => {},
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
    const body = async () => {
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
      this.startQueued();
    };
    record.begin = () => {
      record.state = 'running';
      // Run on a later turn so the caller receives the job id before any event for it.
      setImmediate(() => void body());
    };
    record.endQueued = () => {
      const final: JobFinal = { jobId, kind: options.kind, status: 'cancelled', result: options.onCancelled?.() };
      this.finish(record, final);
      resolveFinal(final);
    };
    if (mustQueue) {
      this.queue.push(record);
      // Told on a later turn, like every event, so the caller has the job id first.
      const position = this.queue.length;
      setImmediate(() => {
        if (record.state === 'queued' && !record.finished) {
          this.send(record, events.jobProgress.channel, { jobId, kind: options.kind, done: 0, total: 0, state: 'queued', queuePosition: position, message: 'Waiting for other jobs to finish' } satisfies JobProgress);
        }
      });
    } else {
      record.begin();
    }
    return { jobId, kind: options.kind };
  }

  private runningOfKind(kind: string): number {
    let n = 0;
    for (const r of this.jobs.values()) if (r.kind === kind && r.state === 'running' && !r.finished) n += 1;
    return n;
  }

  /** Starts waiting jobs, in order, wherever their kind has a free place. */
  private startQueued(): void {
    for (let i = 0; i < this.queue.length; ) {
      const record = this.queue[i]!;
      if (this.runningOfKind(record.kind) < this.maxRunningPerKind) {
        this.queue.splice(i, 1);
        record.begin();
        this.send(record, events.jobProgress.channel, { jobId: record.jobId, kind: record.kind, done: 0, total: 0, state: 'running', message: 'Running' } satisfies JobProgress);
      } else {
        i += 1;
      }
    }
  }

  /** Aborts a job: a running one through its signal, a queued one is taken out of the queue and ends now. */
  private abort(record: JobRecord): void {
    const index = this.queue.indexOf(record);
    if (index >= 0) {
      this.queue.splice(index, 1);
      record.controller.abort();
      record.endQueued();
    } else {
      record.controller.abort();
    }
  }

  cancel(jobId: string, sink?: EventSink): boolean {
    const record = this.jobs.get(jobId);
    if (!record || record.finished) return false;
    if (sink && sink.id !== record.sink.id) return false; // only the window that started a job may cancel it
    this.abort(record);
    return true;
  }

  /** A window closed or a connection dropped: its jobs are cancelled so none is orphaned. */
  cancelAllFor(sinkId: string): number {
    let n = 0;
    for (const r of this.jobs.values()) {
      if (r.sink.id === sinkId && !r.finished) {
        this.abort(r);
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
      state: r.finished ? 'done' : r.state,
      startedAt: r.startedAt,
      done: r.last.done,
      total: r.last.total,
    }));
  }

  running(): number {
    return [...this.jobs.values()].filter((r) => !r.finished).length;
  }

  async shutdown(): Promise<void> {
    const finals = [...this.jobs.values()].filter((r) => !r.finished).map((r) => (this.abort(r), r.final));
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
