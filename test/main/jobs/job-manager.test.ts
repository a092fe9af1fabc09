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

/** A job body that runs until the test releases it (or the job is cancelled). */
function gate() {
  const started: string[] = [];
  const releases = new Map<string, () => void>();
  const body = (name: string) => ({ signal }: { signal: AbortSignal }) =>
    new Promise<string>((resolve, reject) => {
      started.push(name);
      releases.set(name, () => resolve(name));
      signal.addEventListener('abort', () => reject(new DOMException('cancelled', 'AbortError')));
    });
  return { started, body, release: (name: string) => releases.get(name)?.() };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('job manager: bounded concurrency and a bounded queue', () => {
  it('runs at most the limit per kind, queues the rest visibly, refuses beyond the queue cap, and cancels queued jobs', async () => {
    const jobs = new JobManager(undefined, { maxRunningPerKind: 2, maxQueued: 3 });
    const a = recordingSink('w1');
    const g = gate();
    const ids = ['j1', 'j2', 'j3', 'j4', 'j5'].map((name) => jobs.start({ kind: 'model-ask', sink: a.sink, run: g.body(name), onCancelled: () => `${name} partial` }).jobId);
    await turn();
    await turn();
    expect(g.started).toEqual(['j1', 'j2']);
    // The queued jobs are visible to the window: a progress event saying so, with the place in the queue.
    const queuedEvents = a.progress().filter((e) => e.payload.state === 'queued');
    expect(queuedEvents.map((e) => [e.payload.jobId, e.payload.queuePosition])).toEqual([
      [ids[2], 1],
      [ids[3], 2],
      [ids[4], 3],
    ]);
    expect(jobs.list().map((j) => j.state)).toEqual(['running', 'running', 'queued', 'queued', 'queued']);
    // Another kind is not held up by this one (a generation waits on an import job).
    const other = jobs.start({ kind: 'dicom-import', sink: a.sink, run: async () => 'imported' });
    expect(await jobs.wait(other.jobId)).toMatchObject({ status: 'done', result: 'imported' });
    // The queue is full: the next start is refused with a clear code and message, and nothing is sent for it.
    const before = a.events.length;
    let refusal: unknown;
    try {
      jobs.start({ kind: 'model-ask', sink: a.sink, run: g.body('j6') });
    } catch (e) {
      refusal = e;
    }
    expect(refusal).toBeInstanceOf(DomainError);
    expect((refusal as DomainError).code).toBe('JOB_QUEUE_FULL');
    expect((refusal as DomainError).message).toMatch(/3 jobs are already waiting/);
    expect(a.events.length).toBe(before);
    // A queued job can be cancelled: it never runs and ends once, as cancelled.
    expect(jobs.cancel(ids[3]!, a.sink)).toBe(true);
    expect(await jobs.wait(ids[3]!)).toMatchObject({ status: 'cancelled', result: 'j4 partial' });
    expect(jobs.cancel(ids[3]!, a.sink)).toBe(false);
    // Finishing running jobs starts the queued ones in order.
    g.release('j1');
    expect(await jobs.wait(ids[0]!)).toMatchObject({ status: 'done', result: 'j1' });
    await turn();
    await turn();
    expect(g.started).toEqual(['j1', 'j2', 'j3']);
    expect(a.progress().some((e) => e.payload.jobId === ids[2] && e.payload.state === 'running')).toBe(true);
    g.release('j2');
    await jobs.wait(ids[1]!);
    await turn();
    await turn();
    expect(g.started).toEqual(['j1', 'j2', 'j3', 'j5']);
    g.release('j3');
    g.release('j5');
    const finals = await Promise.all(ids.map((id) => jobs.wait(id)));
    expect(finals.map((f) => f.status)).toEqual(['done', 'done', 'done', 'cancelled', 'done']);
    await turn();
    for (const id of ids) expect(a.finals().filter((e) => e.payload.jobId === id)).toHaveLength(1);
    expect(g.started).not.toContain('j4');
  });

  it('accepts 1,000 asks at once without running more than the limit, refusing those beyond the queue', async () => {
    const jobs = new JobManager();
    const a = recordingSink('w1');
    let running = 0;
    let most = 0;
    const accepted: string[] = [];
    let refused = 0;
    for (let i = 0; i < 1000; i += 1) {
      try {
        accepted.push(
          jobs.start({
            kind: 'model-ask',
            sink: a.sink,
            run: async () => {
              running += 1;
              most = Math.max(most, running);
              await turn();
              running -= 1;
              return i;
            },
          }).jobId,
        );
      } catch (e) {
        expect((e as DomainError).code).toBe('JOB_QUEUE_FULL');
        refused += 1;
      }
    }
    expect(refused).toBeGreaterThan(0);
    expect(accepted.length + refused).toBe(1000);
    const finals = await Promise.all(accepted.map((id) => jobs.wait(id)));
    expect(finals.every((f) => f.status === 'done')).toBe(true);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(JobManager.DEFAULT_MAX_RUNNING_PER_KIND);
  });

  it('cancels queued jobs of a closed window and at shutdown, each with one final event', async () => {
    const jobs = new JobManager(undefined, { maxRunningPerKind: 1, maxQueued: 10 });
    const a = recordingSink('w1');
    const g = gate();
    const ids = ['q1', 'q2', 'q3'].map((name) => jobs.start({ kind: 'k', sink: a.sink, run: g.body(name) }).jobId);
    await turn();
    expect(jobs.cancelAllFor('w1')).toBe(3);
    const finals = await Promise.all(ids.map((id) => jobs.wait(id)));
    expect(finals.map((f) => f.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(g.started).toEqual(['q1']);
    const more = ['s1', 's2'].map((name) => jobs.start({ kind: 'k', sink: a.sink, run: g.body(name) }).jobId);
    await jobs.shutdown();
    expect((await Promise.all(more.map((id) => jobs.wait(id)))).map((f) => f.status)).toEqual(['cancelled', 'cancelled']);
    await turn();
    for (const id of [...ids, ...more]) expect(a.finals().filter((e) => e.payload.jobId === id)).toHaveLength(1);
    expect(jobs.running()).toBe(0);
  });
});
