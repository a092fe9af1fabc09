import { parseArgs } from 'node:util';
import { printResult, type CliCommand } from '../cli-types';
import { directCall } from '../direct-call';

export const historyCheckCommand: CliCommand = {
  name: 'history check',
  summary: 'Check the history: database integrity, foreign keys, the sha256 of every artifact, the audit log hash chain, protective triggers, interrupted runs and leftover generated folders',
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
        report.auditChain.ok
          ? `  audit log: ${report.auditChain.entries} entries, hash chain intact`
          : `  audit log: BROKEN at entry ${report.auditChain.firstBrokenSeq}: ${report.auditChain.problem}`,
        report.protectiveTriggers.missing.length
          ? `  protective triggers missing or altered: ${report.protectiveTriggers.missing.join(', ')}`
          : '  protective triggers: all present',
        ...(report.protectiveTriggers.restoredAtOpen.length
          ? [`  protective triggers restored when the store was opened: ${report.protectiveTriggers.restoredAtOpen.join(', ')}`]
          : []),
        `  interrupted runs: ${report.interruptedRuns.length}`,
        ...report.interruptedRuns.map((r) => `    ${r.runId} (marked ${new Date(r.at).toISOString()}, ${r.removedFiles} partial files removed)`),
        `  generated folders no series refers to: ${report.unreferencedGeneratedFolders.length}`,
        ...report.unreferencedGeneratedFolders.map((f) => `    ${f}`),
      ].join('\n'),
    );
    return report.ok ? 0 : 1;
  },
};
