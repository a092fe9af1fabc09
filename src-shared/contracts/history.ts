import { z } from 'zod';
import { operation } from '../ipc/define';
import { jobStartedSchema } from './jobs';

/**
 * Case history: what was asked of the model, on which images, with which model pack, what came out and
 * what a person decided about it. The store lives in main (SQLite in a worker thread); recording runs and
 * outputs is main-internal (the model workflow calls the history service directly), so the window can
 * only read, review, export, back up and check.
 */

export const historyErrorCodes = {
  /** The database was refused at start (corrupt, unreadable, or from a newer version of the app). */
  storeRefused: 'STORE_REFUSED',
  /** No store is open (closed, or a restore is under way). */
  storeClosed: 'STORE_CLOSED',
  diskFull: 'DISK_FULL',
  artifactMissing: 'ARTIFACT_MISSING',
  artifactCorrupt: 'ARTIFACT_CORRUPT',
  backupInvalid: 'BACKUP_INVALID',
  notFound: 'NOT_FOUND',
  conflict: 'CONFLICT',
} as const;

export const runStatusSchema = z.enum(['running', 'succeeded', 'failed', 'cancelled']);
export type RunStatus = z.infer<typeof runStatusSchema>;

export const reviewDecisionSchema = z.enum(['accepted', 'rejected', 'edited']);
export type ReviewDecision = z.infer<typeof reviewDecisionSchema>;

/** A case's review state: the latest decision over its runs, or none yet. */
export const reviewStateSchema = z.enum(['unreviewed', 'accepted', 'rejected', 'edited']);
export type ReviewState = z.infer<typeof reviewStateSchema>;

export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'not a sha256 hex digest');

export const artifactStatusSchema = z.enum(['ok', 'missing', 'corrupt', 'unchecked']);
export type ArtifactStatus = z.infer<typeof artifactStatusSchema>;

export const artifactProblemSchema = z.object({ hash: z.string(), status: artifactStatusSchema, message: z.string() });
export type ArtifactProblem = z.infer<typeof artifactProblemSchema>;

export const artifactRefSchema = z.object({
  hash: sha256Schema,
  name: z.string(),
  mediaType: z.string(),
  size: z.number().int().nonnegative(),
  /** 'ok' only after the bytes on disk were hashed and matched; never assumed. */
  status: artifactStatusSchema,
});
export type ArtifactRef = z.infer<typeof artifactRefSchema>;

export const seriesRecordSchema = z.object({
  seriesId: z.string(),
  seriesUid: z.string(),
  modality: z.string().nullable(),
  description: z.string().nullable(),
  instanceCount: z.number().int().nonnegative(),
  /** Where the images were read from (folders or files), as imported. */
  location: z.string().nullable(),
  /** sha256 over the imported files, when the importer computed one. */
  contentHash: z.string().nullable(),
  /** An AI-generated series, written by a run of the model. */
  generated: z.boolean(),
});
export type SeriesRecord = z.infer<typeof seriesRecordSchema>;

export const studyRecordSchema = z.object({
  studyId: z.string(),
  studyUid: z.string(),
  studyDate: z.string().nullable(),
  description: z.string().nullable(),
  accession: z.string().nullable(),
  series: z.array(seriesRecordSchema),
});
export type StudyRecord = z.infer<typeof studyRecordSchema>;

export const outputRecordSchema = z.object({
  outputId: z.string(),
  kind: z.enum(['text', 'image', 'series', 'file']),
  label: z.string().nullable(),
  text: z.string().nullable(),
  /** For a generated series: its series row (UIDs), whose slices are the artifacts. */
  seriesId: z.string().nullable(),
  artifacts: z.array(artifactRefSchema),
  createdAt: z.number(),
});
export type OutputRecord = z.infer<typeof outputRecordSchema>;

export const reviewRecordSchema = z.object({
  reviewId: z.string(),
  runId: z.string(),
  decision: reviewDecisionSchema,
  reviewer: z.string(),
  at: z.number(),
  comment: z.string().nullable(),
  editedText: z.string().nullable(),
});
export type ReviewRecord = z.infer<typeof reviewRecordSchema>;

export const runRecordSchema = z.object({
  runId: z.string(),
  caseId: z.string(),
  task: z.string(),
  prompt: z.string(),
  packId: z.string(),
  packHash: z.string(),
  plugin: z.string().nullable(),
  executionProvider: z.string(),
  params: z.record(z.string(), z.unknown()),
  seed: z.number().int().nullable(),
  startedAt: z.number(),
  endedAt: z.number().nullable(),
  status: runStatusSchema,
  error: z.string().nullable(),
  /** Stage timings in milliseconds (load, encode, generate, decode, ...). */
  timing: z.record(z.string(), z.number()),
  /** Series given to the model as input. */
  inputSeriesIds: z.array(z.string()),
  outputs: z.array(outputRecordSchema),
  reviews: z.array(reviewRecordSchema),
});
export type RunRecord = z.infer<typeof runRecordSchema>;

export const caseSummarySchema = z.object({
  caseId: z.string(),
  title: z.string().nullable(),
  patientId: z.string().nullable(),
  patientName: z.string().nullable(),
  createdAt: z.number(),
  studyUids: z.array(z.string()),
  studyDate: z.string().nullable(),
  studyDescription: z.string().nullable(),
  runCount: z.number().int(),
  lastRunAt: z.number().nullable(),
  tasks: z.array(z.string()),
  lastRunStatus: runStatusSchema.nullable(),
  /** The latest decision over the case's runs (what the `review` filter matches). */
  reviewState: reviewStateSchema,
  /** Runs that produced something (succeeded or cancelled), by their own latest decision: what a reader is told. */
  reviewCounts: z.object({ unreviewed: z.number().int(), accepted: z.number().int(), rejected: z.number().int(), edited: z.number().int() }),
});
export type CaseSummary = z.infer<typeof caseSummarySchema>;

/** "1 rejected, 15 unreviewed": the review counts as a reader reads them (never one state for the case). */
export function reviewCountsText(counts: CaseSummary['reviewCounts']): string {
  const parts = (['rejected', 'accepted', 'edited', 'unreviewed'] as const).filter((k) => counts[k] > 0).map((k) => `${counts[k]} ${k}`);
  return parts.length ? parts.join(', ') : 'nothing to review';
}

export const caseDetailSchema = z.object({
  summary: caseSummarySchema,
  studies: z.array(studyRecordSchema),
  runs: z.array(runRecordSchema),
  /** Artifacts referenced by the case that are missing or fail their hash check. */
  problems: z.array(artifactProblemSchema),
});
export type CaseDetail = z.infer<typeof caseDetailSchema>;

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'use YYYY-MM-DD');

export const caseQuerySchema = z
  .object({
    /** Matches patient id or name (substring, case-insensitive). */
    patient: z.string().max(200).optional(),
    /** Matches study UID (exact or prefix), description or accession (substring). */
    study: z.string().max(200).optional(),
    /** Study date, or when no study date is known the case creation date, within [from, to]. */
    dateFrom: isoDate.optional(),
    dateTo: isoDate.optional(),
    task: z.string().max(100).regex(/^[A-Za-z0-9._-]+$/, 'a task id').optional(),
    status: runStatusSchema.optional(),
    review: reviewStateSchema.optional(),
    limit: z.number().int().min(1).max(500).default(50),
    offset: z.number().int().min(0).default(0),
  })
  .strict();
export type CaseQuery = z.input<typeof caseQuerySchema>;

export const caseListSchema = z.object({ cases: z.array(caseSummarySchema), total: z.number().int() });
export type CaseList = z.infer<typeof caseListSchema>;

export const storeStatusSchema = z.object({
  /** 'opening': the start-up check (quick_check) is running; calls wait for it. */
  state: z.enum(['opening', 'open', 'refused', 'closed']),
  path: z.string(),
  schemaVersion: z.number().int().nullable(),
  appSchemaVersion: z.number().int(),
  reason: z.enum(['corrupt', 'newer-schema', 'unreadable']).nullable(),
  message: z.string().nullable(),
  /** Backups found in the data folder's backups/ (newest first): what a refused store offers to restore. */
  backups: z.array(z.object({ path: z.string(), size: z.number(), modifiedAt: z.number() })),
  /** The copy of the audit trail the machine policy asks for (auditLogPath), and its last failure. */
  auditCopy: z.object({ path: z.string(), problem: z.string().nullable() }).nullable(),
});
export type StoreStatus = z.infer<typeof storeStatusSchema>;

export const checkReportSchema = z.object({
  ok: z.boolean(),
  quickCheck: z.array(z.string()),
  foreignKeyViolations: z.number().int(),
  artifacts: z.object({
    checked: z.number().int(),
    ok: z.number().int(),
    missing: z.array(z.string()),
    corrupt: z.array(z.string()),
  }),
  /** Files in the artifact folder that no row references (left by an interrupted write; harmless). */
  unreferencedFiles: z.number().int(),
  /** The audit log's hash chain recomputed from its first entry; the first entry that breaks it. */
  auditChain: z.object({
    entries: z.number().int(),
    ok: z.boolean(),
    firstBrokenSeq: z.number().int().nullable(),
    problem: z.string().nullable(),
  }),
  /** Triggers that keep evidence immutable: missing (or altered) now, and those put back when the store was opened. */
  protectiveTriggers: z.object({ missing: z.array(z.string()), restoredAtOpen: z.array(z.string()) }),
  /** Runs whose program ended before they finished, marked failed at an open; their partial files were removed. */
  interruptedRuns: z.array(z.object({ runId: z.string(), at: z.number(), removedFiles: z.number().int() })),
  /** Folders under <data>/generated/ that no recorded series refers to (partial outputs, with patient data). */
  unreferencedGeneratedFolders: z.array(z.string()),
  schemaVersion: z.number().int(),
  durationMs: z.number(),
});
export type CheckReport = z.infer<typeof checkReportSchema>;

export const exportResultSchema = z.object({
  path: z.string(),
  bytes: z.number(),
  artifacts: z.number(),
  /** sha256 of the zip file itself. */
  sha256: sha256Schema,
  /** Artifacts left out because they are missing or corrupted (also listed in the zip's manifest). */
  problems: z.array(artifactProblemSchema),
});
export type ExportResult = z.infer<typeof exportResultSchema>;
export const backupResultSchema = z.object({ path: z.string(), bytes: z.number(), pages: z.number(), durationMs: z.number() });
export type BackupResult = z.infer<typeof backupResultSchema>;

const caseIdSchema = z.string().min(1).max(100);

export const historyContract = {
  status: operation('history:status', z.object({}).strict(), storeStatusSchema),
  listCases: operation('history:list-cases', caseQuerySchema, caseListSchema),
  getCase: operation('history:get-case', z.object({ caseId: caseIdSchema, verifyArtifacts: z.boolean().default(true) }).strict(), caseDetailSchema),
  /** The bytes of one artifact, hash-verified; a missing or corrupted one is an error, never partial bytes. */
  readArtifact: operation(
    'history:read-artifact',
    z.object({ hash: sha256Schema }).strict(),
    z.object({ hash: sha256Schema, mediaType: z.string(), bytes: z.instanceof(Uint8Array) }),
  ),
  /** The reviewer is the OS user of the main process; the window cannot claim another name. */
  recordReview: operation(
    'history:record-review',
    z
      .object({
        runId: z.string().min(1).max(100),
        decision: reviewDecisionSchema,
        comment: z.string().max(10_000).optional(),
        editedText: z.string().max(100_000).optional(),
      })
      .strict(),
    reviewRecordSchema,
  ),
  /**
   * Job: zip of case.json + artifacts + manifest.json (sha256 of every entry). Result: ExportResult. Main
   * picks the file (export folder, or a save dialog in the desktop app): a window never names a path.
   */
  exportCase: operation('history:export-case', z.object({ caseId: caseIdSchema }).strict(), jobStartedSchema),
  /** Job: online backup (the app keeps working) into <data>/backups/. Result: BackupResult. */
  backup: operation('history:backup', z.object({}).strict(), jobStartedSchema),
  check: operation('history:check', z.object({ verifyArtifacts: z.boolean().default(true) }).strict(), checkReportSchema),
  /** Open another database file inside the data folder (after a refusal, or to look at a kept-aside file). */
  openStore: operation('history:open-store', z.object({ path: z.string().min(1).max(4096) }).strict(), storeStatusSchema),
  /** Replace the refused or current database with a verified backup from <data>/backups/; the old file is kept aside, untouched. */
  restoreFromBackup: operation('history:restore-from-backup', z.object({ backupPath: z.string().min(1).max(4096) }).strict(), storeStatusSchema),
} as const;
