import path from 'node:path';
import { parseArgs } from 'node:util';
import { DomainError } from '../../../src-shared/ipc/envelope';
import { workflowErrorCodes } from '../../../src-shared/contracts/workflow';
import type { Services } from '../../services';
import { printResult, UsageError, type CliCommand } from '../cli-types';
import { directCall } from '../direct-call';

const DECISIONS: Record<string, 'accepted' | 'rejected'> = { accept: 'accepted', accepted: 'accepted', reject: 'rejected', rejected: 'rejected' };

export const historyReviewCommand: CliCommand = {
  name: 'history review',
  summary: 'Record a review of a run: accept or reject (the reviewer is you, the OS user)',
  usage: 'healthgpt history review <runId> accept|reject [--comment TEXT] [--json]',
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false }, comment: { type: 'string' } }, allowPositionals: true, strict: true });
    const [runId, word] = positionals;
    const decision = word ? DECISIONS[word] : undefined;
    if (!runId || !decision || positionals.length !== 2) throw new UsageError('usage: healthgpt history review <runId> accept|reject [--comment TEXT]');
    const services = await io.services();
    const review = await directCall(services, 'history', 'recordReview', { runId, decision, ...(values.comment ? { comment: values.comment } : {}) });
    printResult(io, values.json, review, () => `run ${runId}: ${review.decision} by ${review.reviewer}${review.comment ? ` — ${review.comment}` : ''}`);
    return 0;
  },
};

/** A generated series named by its Series Instance UID or by the run that generated it. */
async function generatedSeriesUid(services: Services, ref: string): Promise<string> {
  if (!ref.startsWith('run-')) return ref;
  const found = await services.history.findRun(ref);
  const seriesId = found?.run.outputs.find((o) => o.kind === 'series')?.seriesId;
  if (!found || !seriesId) throw new DomainError(workflowErrorCodes.noRun, `No generated series is recorded for ${ref}.`);
  const detail = await services.history.getCase(found.run.caseId, false);
  const uid = detail.studies.flatMap((s) => s.series).find((s) => s.seriesId === seriesId)?.seriesUid;
  if (!uid) throw new DomainError(workflowErrorCodes.noRun, `No generated series is recorded for ${ref}.`);
  return uid;
}

export const seriesExportCommand: CliCommand = {
  name: 'series export',
  summary: 'Export a generated series as DICOM, stamped with its review state (asks for --confirm-unreviewed first)',
  usage: [
    'healthgpt series export <runId|generatedSeriesUid> <folder> [--confirm-unreviewed] [--json]',
    '',
    'An accepted run exports as it is. An unreviewed or rejected run is refused unless --confirm-unreviewed;',
    'a machine policy may refuse rejected runs outright. Every file says the review state (Series Description,',
    'Derivation Description, Image Comments); no file in <folder> is ever replaced.',
  ].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean', default: false }, 'confirm-unreviewed': { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
    const [ref, folder] = positionals;
    if (!ref || !folder || positionals.length !== 2) throw new UsageError('usage: healthgpt series export <runId|generatedSeriesUid> <folder> [--confirm-unreviewed]');
    const services = await io.services();
    const uid = await generatedSeriesUid(services, ref);
    // The person at the shell names the folder (the window cannot); the service never replaces a file.
    const result = await services.workflow.exportSeries(uid, path.resolve(folder), { confirmReview: values['confirm-unreviewed'] });
    printResult(io, values.json, { ok: true, ...result, generatedSeriesUid: uid }, () => `wrote ${result.files} DICOM file(s) to ${result.folder} (review: ${result.reviewState})`);
    return 0;
  },
};
