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

/**
 * How sure the model was of an answer, from the probabilities it decoded with: `overall` is the geometric
 * mean of the tokens' probabilities; each word carries its probability (product of its tokens') and the
 * most probable alternatives at its first token. Offsets are in the outcome's `text`. A probability is
 * the model's own, not a measured chance of being right: see the model card's calibration figures.
 */
export const answerConfidenceSchema = z.object({
  overall: z.number(),
  meanEntropy: z.number(),
  tokens: z.number().int(),
  words: z.array(
    z.object({
      text: z.string(),
      start: z.number().int(),
      end: z.number().int(),
      probability: z.number(),
      alternatives: z.array(z.object({ text: z.string(), probability: z.number() })),
    }),
  ),
});
export type AnswerConfidenceFigures = z.infer<typeof answerConfidenceSchema>;

/** Below this probability a word or image token is shown as low confidence. */
export const LOW_CONFIDENCE = 0.5;

/** A generated image's confidence figures, per image token (entropy in nats; fraction: of a uniform guess's). */
export const imageConfidenceSchema = z.object({
  meanProbability: z.number(),
  meanEntropy: z.number(),
  meanEntropyFraction: z.number(),
  lowFraction: z.number(),
});
export type ImageConfidenceFigures = z.infer<typeof imageConfidenceSchema>;

/** One slice's confidence map for the overlay: 8-bit probability and entropy fraction, rows × cols. */
export const confidenceMapSchema = z.object({
  rows: z.number().int(),
  cols: z.number().int(),
  /** Chosen-token probability × 255. */
  probability: z.instanceof(Uint8Array),
  /** Entropy ÷ ln(image tokens) × 255. */
  entropy: z.instanceof(Uint8Array),
  summary: imageConfidenceSchema,
});
export type ConfidenceMapView = z.infer<typeof confidenceMapSchema>;

export const askOutcomeSchema = z.object({
  runId: z.string(),
  caseId: z.string(),
  text: z.string(),
  stopReason: z.enum(['eos', 'maxTokens', 'cancelled']),
  provider: z.string(),
  packName: z.string(),
  /** Shown next to the answer: e.g. the question is not of a type the pack was trained on. */
  note: z.string().optional(),
  confidence: answerConfidenceSchema.optional(),
});
export type AskOutcome = z.infer<typeof askOutcomeSchema>;

export const generateProgressDataSchema = z.object({
  generatedSeriesUid: z.string(),
  slicesWritten: z.number().int(),
  lastSliceIndex: z.number().int(),
});
export type GenerateProgressData = z.infer<typeof generateProgressDataSchema>;

export const cycleFiguresSchema = z.object({
  reverseTask: generationTaskSchema,
  unit: z.enum(['HU', 'fraction of input window']),
  meanAbsDifference: z.number(),
  slices: z.number().int(),
});
export type CycleFigures = z.infer<typeof cycleFiguresSchema>;

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
  /** Over every image token of the slices written. */
  confidence: imageConfidenceSchema.optional(),
  /** With `cycle`: the round trip's mean absolute difference inside the body mask, mean over the slices. */
  cycle: cycleFiguresSchema.optional(),
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
        /** CT→MRI / MRI→CT: also run the reverse task on each output and compare with the input (cycle check). */
        cycle: z.boolean().optional(),
      })
      .strict()
      .refine((r) => r.from === undefined || r.to === undefined || r.from <= r.to, 'from must not be after to'),
    jobStartedSchema,
  ),
  /** The confidence map recorded with a generated slice (0-based index in the generated series). */
  confidenceMap: operation(
    'workflow:confidence-map',
    z.object({ generatedSeriesUid: seriesUid, sliceIndex: z.number().int().nonnegative() }).strict(),
    confidenceMapSchema,
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
  /**
   * The cycle check's difference map of one generated slice (0-based), as the PNG recorded with the run
   * (|input − round trip| inside the body, brighter = larger), with that slice's figure.
   */
  cycleDifferenceMap: operation(
    'workflow:cycle-difference-map',
    z.object({ generatedSeriesUid: seriesUid, sliceIndex: z.number().int().nonnegative() }).strict(),
    z.object({ png: z.instanceof(Uint8Array), figure: z.string() }),
  ),
  /**
   * Writes a generated series' confidence maps as a DICOM Secondary Capture series (same study, geometry
   * and provenance as the generated series) to a new folder main chooses.
   */
  exportConfidenceSeries: operation(
    'workflow:export-confidence-series',
    z.object({ generatedSeriesUid: seriesUid }).strict(),
    z.object({ folder: z.string(), files: z.number().int(), seriesInstanceUid: z.string() }),
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
