import { parseArgs } from 'node:util';
import { printResult, type CliCommand } from '../cli-types';
import { directCall } from '../direct-call';

export const historyCheckCommand: CliCommand = {
  name: 'history check',
  summary: 'Check the history: database integrity, foreign keys, and the sha256 of every artifact',
  usage: 'healthgpt history check [--json] [--no-artifacts]',
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: { json: { type: 'boolean', default: false }, 'no-artifacts': { type: 'boolean', default: false } },
      strict: true,
    });
    const services = await io.services();
    await services.history.ready(); // the start-up integrity check
    const status = await directCall(services, 'history', 'status', {});
    if (status.state !== 'open') {
      printResult(io, values.json, { ok: false, store: status }, () => `REFUSED: ${status.message ?? status.state}`);
      return 1;
    }
    const report = await directCall(services, 'history', 'check', { verifyArtifacts: !values['no-artifacts'] });
    printResult(io, values.json, { ...report, store: status.path }, () =>
      [
        `${report.ok ? 'OK' : 'PROBLEMS FOUND'}  ${status.path} (schema ${report.schemaVersion})`,
        `  integrity: ${report.quickCheck.join('; ')}`,
        `  foreign key violations: ${report.foreignKeyViolations}`,
        `  artifacts: ${report.artifacts.ok}/${report.artifacts.checked} ok, ${report.artifacts.missing.length} missing, ${report.artifacts.corrupt.length} corrupted`,
        ...report.artifacts.missing.map((h) => `    missing ${h}`),
        ...report.artifacts.corrupt.map((h) => `    corrupted ${h}`),
        `  unreferenced files: ${report.unreferencedFiles}`,
      ].join('\n'),
    );
    return report.ok ? 0 : 1;
  },
};
