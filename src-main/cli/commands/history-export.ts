import path from 'node:path';
import { parseArgs } from 'node:util';
import { exportResultSchema } from '../../../src-shared/contracts/history';
import { DomainError } from '../../../src-shared/ipc/envelope';
import { printResult, UsageError, type CliCommand } from '../cli-types';
import { cliSink } from '../direct-call';

export const historyExportCommand: CliCommand = {
  name: 'history export',
  summary: 'Export a case as a zip: case.json, its artifacts, a manifest of sha256 hashes',
  usage: 'healthgpt history export <caseId> <file.zip> [--json]',
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
    const [caseId, destination] = positionals;
    if (!caseId || !destination || positionals.length !== 2) throw new UsageError('usage: healthgpt history export <caseId> <file.zip>');
    if (!/\.zip$/i.test(destination)) throw new UsageError(`the destination must be a .zip file, not ${destination}`);
    const services = await io.services();
    // The person at the shell names the file (the window cannot: its requests carry no path); never replaced.
    const sink = cliSink((channel, payload) => {
      if (!values.json && channel === 'jobs:progress') {
        const p = payload as { done: number; total: number };
        io.err(`\rexporting ${p.done}/${p.total}`);
      }
    });
    services.policy.assertExportAllowed();
    const started = services.jobs.start({
      kind: 'history-export',
      sink,
      run: ({ signal, progress }) => services.history.exportCase(caseId, path.resolve(destination), { signal, progress: (done, total, message) => progress({ done, total, message }) }),
    });
    const final = await services.jobs.wait(started.jobId);
    if (!values.json) io.err('\n');
    if (final.status === 'failed') throw new DomainError(final.error.code, final.error.message);
    if (final.status === 'cancelled') throw new DomainError('CANCELLED', 'The export was cancelled.');
    const result = exportResultSchema.parse(final.result);
    printResult(io, values.json, result, () =>
      [
        `Exported case ${caseId} to ${result.path} (${result.bytes} bytes, ${result.artifacts} artifact(s))`,
        `sha256 ${result.sha256}`,
        ...result.problems.map((p) => `WARNING: ${p.status} artifact left out: ${p.message}`),
      ].join('\n'),
    );
    return result.problems.length ? 3 : 0;
  },
};
