import { describe, expect, it } from 'vitest';
import { JobManager } from '../../../src-main/jobs/job-manager';
import type { EventSink } from '../../../src-main/ipc/registry';
import { DomainError } from '../../../src-shared/ipc/envelope';

function recordingSink(id: string) {
  const events: Array<{ channel: string; payload: Record<string, unknown>; at: number }> = [];
  const sink: EventSink = { id, send: (channel, payload) => events.push({ channel, payload: payload as Record<string, unknown>, at: Date.now() }), isAlive: () => true };
  return { sink, events, finals: () => events.filter((e) => e.channel === 'jobs:final'), progress: () => events.filter((e) => e.channel === 'jobs:progress') };
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('job manager', () => {
  it('ends a successful job with exactly one done event carrying the result', async () => {
    const jobs = new JobManager();
    const a = recordingSink('w1');
    const { jobId } = jobs.start({ kind: 'k', sink: a.sink, run: async ({ progress }) => (progress({ done: 1, total: 1 }), 42) });
    const final = await jobs.wait(jobId);
    await tick(20);
    expect(final).toMatchObject({ status: 'done', result: 42, jobId });
    expect(a.finals()).toHaveLength(1);
  });

  it('reports failure as a failed final event with the domain code', async () => {
    const jobs = new JobManager();
    const a = recordingSink('w1');
    const { jobId } = jobs.start({ kind: 'k', sink: a.sink, run: async () => { throw new DomainError('BAD_IMAGE', 'not an image'); } });
    expect(await jobs.wait(jobId)).toMatchObject({ status: 'failed', error: { code: 'BAD_IMAGE', message: 'not an image' } });
    expect(a.finals()).toHaveLength(1);
  });

  it('cancels through the AbortSignal, keeps partial results, and ends once as cancelled', async () => {
    const jobs = new JobManager();
    const a = recordingSink('w1');
    const done: number[] = [];
    const { jobId } = jobs.start({
      kind: 'series',
      sink: a.sink,
      run: async ({ signal }) => {
        for (let i = 0; i < 1000 && !signal.aborted; i += 1) {
          done.push(i);
          await tick(5);
        }
        return { slices: [...done], complete: !signal.aborted };
      },
    });
    await tick(40);
    expect(jobs.cancel(jobId, a.sink)).toBe(true);
    const final = await jobs.wait(jobId);
    expect(final.status).toBe('cancelled');
    expect((final as { result: { complete: boolean; slices: number[] } }).result.complete).toBe(false);
    expect(jobs.cancel(jobId, a.sink)).toBe(false);
    await tick(20);
    expect(a.finals()).toHaveLength(1);
  });

  it('throttles progress to about 10 events per second and never drops streamed text', async () => {
    const jobs = new JobManager();
    const a = recordingSink('w1');
    const words: string[] = [];
    const { jobId } = jobs.start({
      kind: 'ask',
      sink: a.sink,
      run: async ({ progress }) => {
        for (let i = 0; i < 300; i += 1) {
          words.push(`w${i} `);
          progress({ done: i + 1, total: 300, appendText: `w${i} ` });
          if (i % 10 === 0) await tick(10);
        }
      },
    });
    await jobs.wait(jobId);
    const progress = a.progress();
    const started = progress[0]!.at;
    const span = Math.max(1, progress.at(-1)!.at - started);
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(span / 100) + 2);
    expect(progress.map((p) => p.payload.appendText ?? '').join('')).toBe(words.join(''));
    expect(progress.at(-1)!.payload.done).toBe(300);
  });

  it('sends events only to the window that started the job; another window cannot cancel it', async () => {
    const jobs = new JobManager();
    const a = recordingSink('w1');
    const b = recordingSink('w2');
    const { jobId } = jobs.start({ kind: 'k', sink: a.sink, run: async ({ signal, progress }) => { progress({ done: 1, total: 2 }); await tick(50); return signal.aborted; } });
    expect(jobs.cancel(jobId, b.sink)).toBe(false);
    expect((await jobs.wait(jobId)).status).toBe('done');
    await tick(10);
    expect(b.events).toHaveLength(0);
    expect(a.events.length).toBeGreaterThan(0);
  });

  it('cancels every job of a closed window so none is orphaned', async () => {
    const jobs = new JobManager();
    const a = recordingSink('w1');
    const ids = [1, 2, 3].map(() => jobs.start({ kind: 'k', sink: a.sink, run: ({ signal }) => new Promise((_r, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))) }).jobId);
    await tick(10);
    expect(jobs.cancelAllFor('w1')).toBe(3);
    const finals = await Promise.all(ids.map((id) => jobs.wait(id)));
    expect(finals.map((f) => f.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(jobs.running()).toBe(0);
  });
});
