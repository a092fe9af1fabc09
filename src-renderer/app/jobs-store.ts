import { useSyncExternalStore } from 'react';
import type { JobFinal, JobProgress } from '../../src-shared/contracts/jobs';
import type { WorkstationClient } from '../../src-shared/ipc/client-api';

export interface TrackedJob {
  jobId: string;
  kind: string;
  label: string;
  done: number;
  total: number;
  message?: string;
  etaSeconds?: number;
  text: string;
  final: JobFinal | null;
}

type Listener = () => void;

/**
 * The renderer's view of jobs it started: progress and streamed text per job id, and the one final event.
 * Panels wait on `finished(jobId)`; the job bar renders `snapshot()`.
 */
export class JobsStore {
  private jobs = new Map<string, TrackedJob>();
  private waiters = new Map<string, Array<(f: JobFinal) => void>>();
  private progressListeners = new Map<string, Set<(p: JobProgress) => void>>();
  private listeners = new Set<Listener>();
  private cached: TrackedJob[] = [];

  constructor(client: WorkstationClient) {
    client.subscribe('jobProgress', (p) => {
      const job = this.jobs.get(p.jobId);
      if (!job) return;
      this.update({ ...job, done: p.done, total: p.total, message: p.message ?? job.message, etaSeconds: p.etaSeconds, text: job.text + (p.appendText ?? '') });
      for (const l of this.progressListeners.get(p.jobId) ?? []) l(p);
    });
    client.subscribe('jobFinal', (f) => {
      const job = this.jobs.get(f.jobId);
      if (job) this.update({ ...job, final: f });
      for (const w of this.waiters.get(f.jobId) ?? []) w(f);
      this.waiters.delete(f.jobId);
      this.progressListeners.delete(f.jobId);
      // Finished jobs leave the bar after a moment; their results live in the panels that asked.
      setTimeout(() => {
        this.jobs.delete(f.jobId);
        this.emit();
      }, 4000);
    });
  }

  track(jobId: string, kind: string, label: string, onProgress?: (p: JobProgress) => void): Promise<JobFinal> {
    this.update({ jobId, kind, label, done: 0, total: 0, text: '', final: null });
    if (onProgress) this.progressListeners.set(jobId, new Set([onProgress]));
    return new Promise((resolve) => {
      const list = this.waiters.get(jobId) ?? [];
      list.push(resolve);
      this.waiters.set(jobId, list);
    });
  }

  snapshot = (): TrackedJob[] => this.cached;

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private update(job: TrackedJob): void {
    this.jobs.set(job.jobId, job);
    this.emit();
  }

  private emit(): void {
    this.cached = [...this.jobs.values()];
    for (const l of this.listeners) l();
  }
}

export function useJobs(store: JobsStore): TrackedJob[] {
  return useSyncExternalStore(store.subscribe, store.snapshot);
}

