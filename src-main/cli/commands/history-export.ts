import { parseArgs } from 'node:util';
import { exportResultSchema } from '../../../src-shared/contracts/history';
import { DomainError } from '../../../src-shared/ipc/envelope';
import { printResult, UsageError, type CliCommand } from '../cli-types';
import { cliSink, directCall } from '../direct-call';

export const historyExportCommand: CliCommand = {
  name: 'history export',
  summary: 'Export a case as a zip: case.json, its artifacts, a manifest of sha256 hashes',
  usage: 'healthgpt history export <caseId> <file.zip> [--json]',
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
    const [caseId, destination] = positionals;
    if (!caseId || !destination || positionals.length !== 2) throw new UsageError('usage: healthgpt history export <caseId> <file.zip>');
    const services = await io.services();
    const started = await directCall(
      services,
      'history',
      'exportCase',
      { caseId, destination },
      cliSink((channel, payload) => {
        if (!values.json && channel === 'jobs:progress') {
          const p = payload as { done: number; total: number };
          io.err(`\rexporting ${p.done}/${p.total}`);
        }
      }),
    );
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
