import { z } from 'zod';
import { operation } from '../ipc/define';
import { jobStartedSchema } from './jobs';
import { comprehensionTaskSchema, generationTaskSchema } from './model-pack';

/**
 * The reading workflow: questions and generation on the series open in the viewer, recorded in the case
 * history, with results written as DICOM series (AI provenance) that open in the generated pane.
 *
 * - `ask` (job kind 'workflow-ask'): progress carries the answer as `appendText`, token by token;
 *   final result AskOutcome (saved to the case even when cancelled part-way).
 * - `generate` (job kind 'workflow-generate'): one job for a slice, a range or the whole series; progress
 *   done/total in slices (fractional within a slice), `etaSeconds`, and `data` = GenerateProgressData once a
 *   slice is written; final result GenerateOutcome (a cancelled job keeps its slices, marked incomplete).
 * - exports: main names the file and puts it in the export folder (the desktop app lets the person move
 *   it in a save dialog); a window never passes a path, and an existing file is never replaced. DICOM
 *   exports are the derived series' own files.
 */

export const workflowErrorCodes = {
  noPack: 'WORKFLOW_NO_PACK',
  notImage: 'WORKFLOW_NOT_AN_IMAGE',
  taskUnavailable: 'WORKFLOW_TASK_UNAVAILABLE',
  noRun: 'WORKFLOW_NO_RUN',
  exportFailed: 'WORKFLOW_EXPORT_FAILED',
  /** The task reads another modality than the series (MRI → CT on a CT series): refused unless overridden. */
  modalityMismatch: 'WORKFLOW_MODALITY_MISMATCH',
  /** The run is unreviewed or rejected: its export needs the person's explicit confirmation. */
  reviewNotAccepted: 'WORKFLOW_REVIEW_NOT_ACCEPTED',
} as const;

const seriesUid = z.string().min(1).max(128);

export const askOutcomeSchema = z.object({
  runId: z.string(),
  caseId: z.string(),
  text: z.string(),
  stopReason: z.enum(['eos', 'maxTokens', 'cancelled']),
  provider: z.string(),
  packName: z.string(),
  /** Shown next to the answer: e.g. the question is not of a type the pack was trained on. */
  note: z.string().optional(),
});
export type AskOutcome = z.infer<typeof askOutcomeSchema>;

export const generateProgressDataSchema = z.object({
  generatedSeriesUid: z.string(),
  slicesWritten: z.number().int(),
  lastSliceIndex: z.number().int(),
});
export type GenerateProgressData = z.infer<typeof generateProgressDataSchema>;

export const generateOutcomeSchema = z.object({
  runId: z.string(),
  caseId: z.string(),
  generatedSeriesUid: z.string().nullable(),
  slicesWritten: z.number().int(),
  slicesRequested: z.number().int(),
  complete: z.boolean(),
  outputFolder: z.string().nullable(),
  provider: z.string(),
  packName: z.string(),
});
export type GenerateOutcome = z.infer<typeof generateOutcomeSchema>;

export const workflowContract = {
  ask: operation(
    'workflow:ask',
    z
      .object({
        seriesUid,
        sliceIndex: z.number().int().nonnegative(),
        task: comprehensionTaskSchema.default('vqa'),
        question: z.string().max(4000).default(''),
        maxTokens: z.number().int().min(1).max(2048).default(128),
      })
      .strict(),
    jobStartedSchema,
  ),
  generate: operation(
    'workflow:generate',
    z
      .object({
        seriesUid,
        task: generationTaskSchema,
        /** Inclusive 0-based slice range; omitted: the whole series. */
        from: z.number().int().nonnegative().optional(),
        to: z.number().int().nonnegative().optional(),
        /** Run a conversion on a series of another modality anyway (recorded in the run's params). */
        allowModalityMismatch: z.boolean().optional(),
      })
      .strict()
      .refine((r) => r.from === undefined || r.to === undefined || r.from <= r.to, 'from must not be after to'),
    jobStartedSchema,
  ),
  /**
   * Writes a generated series' DICOM files to a new folder, stamped with the run's review state (Series
   * Description, Derivation Description, Image Comments). An unreviewed or rejected run is refused with
   * reviewNotAccepted unless `confirmReview` is true (the window asks the person first); a policy may
   * refuse rejected runs outright.
   */
  exportSeries: operation(
    'workflow:export-series',
    z.object({ generatedSeriesUid: seriesUid, confirmReview: z.boolean().optional() }).strict(),
    z.object({ folder: z.string(), files: z.number().int(), reviewState: z.enum(['unreviewed', 'accepted', 'rejected', 'edited']) }),
  ),
  /** Writes a run's text (answer or report) as Markdown or plain text. */
  exportReport: operation(
    'workflow:export-report',
    z.object({ runId: z.string().min(1).max(100), format: z.enum(['md', 'txt']).default('md') }).strict(),
    z.object({ path: z.string(), bytes: z.number().int() }),
  ),
  /** Saves a PNG of a view rendered by the window (checked whole and re-encoded by main). */
  exportPng: operation(
    'workflow:export-png',
    z.object({ png: z.instanceof(Uint8Array).refine((b) => b.byteLength <= 64 * 1024 * 1024, 'PNG larger than 64 MB') }).strict(),
    z.object({ path: z.string(), bytes: z.number().int() }),
  ),
} as const;
