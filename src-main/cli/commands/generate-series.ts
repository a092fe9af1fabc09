import path from 'node:path';
import type { ImportReport } from '../../../src-shared/contracts/dicom';
import type { JobFinal } from '../../../src-shared/contracts/jobs';
import type { ProviderChoice } from '../../../src-shared/contracts/model';
import type { GenerationTask } from '../../../src-shared/contracts/model-pack';
import type { GenerateOutcome } from '../../../src-shared/contracts/workflow';
import { DomainError } from '../../../src-shared/ipc/envelope';
import type { Services } from '../../services';
import { printResult, type CliIo } from '../cli-types';
import { cliSink } from '../direct-call';

export interface SeriesGenerateOptions {
  packDir: string;
  task: GenerationTask;
  input: string;
  out: string;
  provider: ProviderChoice;
  json: boolean;
  /** Run a conversion on a series of the other modality anyway (recorded with the run). */
  allowModalityMismatch?: boolean;
  cycle?: boolean;
  /** Also write the confidence maps as a DICOM Secondary Capture series into this new folder. */
  confidenceDicom?: string;
}

function finalValue<T>(final: JobFinal, what: string): T {
  if (final.status === 'failed') throw new DomainError(final.error.code, `${what}: ${final.error.message}`);
  return (final as { result: T }).result;
}

/**
 * Batch use: a folder holding one series in, a derived DICOM series out, through the same workflow the
 * window uses (same provenance, same case history), with per-slice progress on stderr.
 */
export async function generateSeriesFromFolder(services: Services, options: SeriesGenerateOptions, io: CliIo): Promise<number> {
  await services.model.load(options.packDir, options.provider);
  let lastSlice = -1;
  const sink = cliSink((channel, payload) => {
    if (options.json || channel !== 'jobs:progress') return;
    const p = payload as { done: number; total: number; etaSeconds?: number };
    const slice = Math.floor(p.done);
    if (slice !== lastSlice) {
      lastSlice = slice;
      io.err(`\rslice ${slice}/${p.total}${p.etaSeconds !== undefined ? `, ~${Math.ceil(p.etaSeconds)} s left` : ''}   `);
    }
  });
  const importJob = services.dicom.import([path.resolve(options.input)], cliSink(() => {}));
  const report = finalValue<ImportReport>(await services.jobs.wait(importJob.jobId), 'import');
  if (report.failed > 0 && !options.json) io.err(`${report.failed} file(s) could not be read; see --json for the report\n`);
  const candidates = report.seriesUids.map((uid) => services.dicom.getSeries(uid));
  const series = candidates.filter((s) => s.imageCount > 0).sort((a, b) => b.imageCount - a.imageCount)[0];
  if (!series) throw new DomainError('WORKFLOW_NOT_AN_IMAGE', `no image series found in ${options.input}`);
  const started = services.workflow.generate({ seriesUid: series.seriesUid, task: options.task, ...(options.allowModalityMismatch ? { allowModalityMismatch: true } : {}), ...(options.cycle ? { cycle: true } : {}) }, sink);
  const final = await services.jobs.wait(started.jobId);
  const outcome = finalValue<GenerateOutcome | null>(final, 'generation');
  if (!outcome?.generatedSeriesUid) throw new DomainError('WORKFLOW_EXPORT_FAILED', 'no slice was generated');
  // --out is the shell user's own choice of folder (window requests carry no path); no file there is replaced.
  // Asking for --out in the same command is the confirmation: the run cannot have been reviewed yet, and
  // every file written says "unreviewed" (Series Description, Derivation Description, Image Comments).
  const exported = await services.workflow.exportSeries(outcome.generatedSeriesUid, path.resolve(options.out), { confirmReview: true });
  const confidenceSeries = options.confidenceDicom ? await services.workflow.exportConfidenceSeries(outcome.generatedSeriesUid, path.resolve(options.confidenceDicom)) : null;
  const summary = {
    ok: outcome.complete,
    input: { seriesUid: series.seriesUid, modality: series.modality, images: series.imageCount, failedFiles: report.failed },
    out: exported.folder,
    files: exported.files,
    generatedSeriesUid: outcome.generatedSeriesUid,
    complete: outcome.complete,
    runId: outcome.runId,
    caseId: outcome.caseId,
    provider: outcome.provider,
    pack: outcome.packName,
    ...(outcome.confidence ? { confidence: outcome.confidence } : {}),
    ...(outcome.cycle ? { cycle: outcome.cycle } : {}),
    ...(confidenceSeries ? { confidenceSeries } : {}),
    aiGenerated: true,
    reviewState: exported.reviewState,
  };
  printResult(io, options.json, summary, () => `\nwrote ${exported.files} DICOM file(s) to ${exported.folder} — AI-generated ${options.task} by ${outcome.packName} (${outcome.provider}); run ${outcome.runId}; unreviewed: review it in the window or with \`healthgpt history review\` before use`);
  return outcome.complete ? 0 : 1;
}
