import { parseArgs } from 'node:util';
import { reviewCountsText } from '../../../src-shared/contracts/history';
import { printResult, UsageError, type CliCommand } from '../cli-types';
import { directCall } from '../direct-call';

export const historyListCommand: CliCommand = {
  name: 'history list',
  summary: 'Cases in the history, newest first (filters: patient, study, date, task, status, review)',
  usage: [
    'healthgpt history list [--json] [--patient TEXT] [--study TEXT] [--from YYYY-MM-DD] [--to YYYY-MM-DD]',
    '                       [--task TASK] [--status running|succeeded|failed|cancelled]',
    '                       [--review unreviewed|accepted|rejected|edited] [--limit N] [--offset N]',
  ].join('\n'),
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: {
        json: { type: 'boolean', default: false },
        patient: { type: 'string' },
        study: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        task: { type: 'string' },
        status: { type: 'string' },
        review: { type: 'string' },
        limit: { type: 'string', default: '50' },
        offset: { type: 'string', default: '0' },
      },
      strict: true,
    });
    const limit = Number(values.limit);
    const offset = Number(values.offset);
    if (!Number.isInteger(limit) || !Number.isInteger(offset)) throw new UsageError('--limit and --offset take whole numbers');
    const services = await io.services();
    await services.history.ready(); // the start-up integrity check
    const status = await directCall(services, 'history', 'status', {});
    if (status.state !== 'open') {
      printResult(io, values.json, { ok: false, store: status }, () => `The history database is ${status.state}: ${status.message ?? ''}`);
      return 1;
    }
    const list = await directCall(services, 'history', 'listCases', {
      patient: values.patient,
      study: values.study,
      dateFrom: values.from,
      dateTo: values.to,
      task: values.task,
      status: values.status as never,
      review: values.review as never,
      limit,
      offset,
    });
    printResult(io, values.json, list, () =>
      [
        `${list.total} case(s)${list.total > list.cases.length ? `, showing ${list.cases.length} from ${offset + 1}` : ''}`,
        ...list.cases.map(
          (c) =>
            `  ${c.caseId}  ${c.patientName ?? c.patientId ?? '(no patient)'}  ${c.studyDate ?? ''}  ${c.studyDescription ?? ''}  runs: ${c.runCount} [${c.tasks.join(', ')}]  last: ${c.lastRunStatus ?? '-'}  review: ${reviewCountsText(c.reviewCounts)}`,
        ),
      ].join('\n'),
    );
    return 0;
  },
};
