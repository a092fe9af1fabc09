import type { jobsContract } from '../../src-shared/contracts/jobs';
import { DomainError } from '../../src-shared/ipc/envelope';
import type { DomainHandlers } from '../ipc/registry';
import type { JobManager } from './job-manager';

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new DOMException('cancelled', 'AbortError'));
    const onAbort = () => {
      clearTimeout(t);
      reject(new DOMException('cancelled', 'AbortError'));
    };
    // The listener goes away with the timer, so a long job does not pile up listeners on its signal.
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export function createJobHandlers(jobs: JobManager): DomainHandlers<typeof jobsContract> {
  return {
    cancel({ jobId }, ctx) {
      return { cancelled: jobs.cancel(jobId, ctx.sink) };
    },
    list() {
      return jobs.list();
    },
    startSelfTest({ steps, stepMs, failAt }, ctx) {
      return jobs.start({
        kind: 'self-test',
        sink: ctx.sink,
        run: async ({ signal, progress }) => {
          for (let i = 1; i <= steps; i += 1) {
            await sleep(stepMs, signal);
            if (failAt === i) throw new DomainError('SELF_TEST_FAILED', `self-test failed at step ${i} as asked`);
            progress({ done: i, total: steps, appendText: `${i} ` });
          }
          return { steps };
        },
      });
    },
  };
}
