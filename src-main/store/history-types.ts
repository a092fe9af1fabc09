import type { ReviewDecision, RunStatus } from '../../src-shared/contracts/history';

/** What the model workflow records. Ids are made by the caller (randomUUID) so a retry is idempotent. */

export interface NewSeries {
  seriesId: string;
  seriesUid: string;
  modality?: string | null;
  description?: string | null;
  instanceCount?: number;
  location?: string | null;
  contentHash?: string | null;
  generated?: boolean;
}

export interface NewStudy {
  studyId: string;
  studyUid: string;
  /** YYYY-MM-DD (DICOM StudyDate converted). */
  studyDate?: string | null;
  description?: string | null;
  accession?: string | null;
  series: NewSeries[];
}

export interface NewCase {
  caseId: string;
  title?: string | null;
  patientId?: string | null;
  patientName?: string | null;
  createdAt?: number;
  studies: NewStudy[];
}

export interface NewRun {
  runId: string;
  caseId: string;
  task: string;
  prompt: string;
  packId: string;
  packHash: string;
  plugin?: string | null;
  executionProvider: string;
  params?: Record<string, unknown>;
  seed?: number | null;
  startedAt?: number;
  inputSeriesIds?: string[];
}

export interface RunEnd {
  runId: string;
  status: Exclude<RunStatus, 'running'>;
  endedAt?: number;
  error?: string | null;
  timing?: Record<string, number>;
}

/** An artifact already written to the content-addressed store (its bytes fsynced and renamed). */
export interface StoredArtifact {
  hash: string;
  size: number;
  mediaType: string;
  name: string;
}

export interface NewOutput {
  outputId: string;
  runId: string;
  kind: 'text' | 'image' | 'series' | 'file';
  label?: string | null;
  text?: string | null;
  /** A generated series: recorded as a series row (generated=1) under `studyId`. */
  generatedSeries?: (NewSeries & { studyId: string }) | null;
  artifacts: StoredArtifact[];
}

export interface NewReview {
  reviewId: string;
  runId: string;
  decision: ReviewDecision;
  comment?: string | null;
  editedText?: string | null;
}

export interface AuditEntry {
  action: string;
  entity: string;
  entityId?: string | null;
  detail?: Record<string, unknown>;
}
