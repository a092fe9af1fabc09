/**
 * A run on one file outside the viewer (the CLI's `ask --image` and `generate --in <file>`), recorded
 * in the case history like the window's runs: a DICOM file files under its study's case, a PNG under a
 * case named by the file's content hash.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { InstanceMeta } from '../dicom/parse';
import type { ModelRuntime } from '../model/runtime';
import type { HistoryService, OutputInput } from '../store/history-service';
import { isoDate, stableId } from './case-ids';

export interface FileRun {
  /** Chosen by the caller when its output must name the run (a generated PNG's text chunk); made here otherwise. */
  runId?: string;
  file: string;
  /** The file's DICOM header, or null for a PNG. */
  dicom: InstanceMeta | null;
  task: string;
  prompt: string;
  params: Record<string, unknown>;
  startedAt: number;
  status: 'succeeded' | 'cancelled' | 'failed';
  error?: string;
  timing?: Record<string, number>;
  /** Outputs without their ids (made here). */
  outputs: Array<Omit<OutputInput, 'outputId' | 'runId'>>;
}

export async function recordFileRun(history: HistoryService, rt: ModelRuntime, run: FileRun): Promise<{ runId: string; caseId: string }> {
  const file = path.resolve(run.file);
  const m = run.dicom;
  let caseId: string;
  let inputSeriesIds: string[] = [];
  if (m && m.studyUid) {
    caseId = stableId('case', m.studyUid);
    const seriesId = stableId('series', m.seriesUid);
    inputSeriesIds = [seriesId];
    await history.ensureCase({
      caseId,
      title: m.seriesDescription || null,
      patientId: m.patientId || null,
      patientName: m.patientName || null,
      studies: [
        {
          studyId: stableId('study', m.studyUid),
          studyUid: m.studyUid,
          studyDate: isoDate(m.studyDate),
          description: m.studyDescription || null,
          accession: m.accessionNumber || null,
          series: [{ seriesId, seriesUid: m.seriesUid, modality: m.modality, description: m.seriesDescription, instanceCount: 1, location: path.dirname(file) }],
        },
      ],
    });
  } else {
    caseId = stableId('case-file', createHash('sha256').update(readFileSync(file)).digest('hex'));
    await history.ensureCase({ caseId, title: path.basename(file), studies: [] });
  }
  const runId = run.runId ?? `run-${randomUUID()}`;
  const spec = rt.manifest.tasks[run.task as keyof typeof rt.manifest.tasks];
  await history.recordCompletedRun({
    run: {
      runId, caseId, task: run.task, prompt: run.prompt, packId: `${rt.manifest.name}@${rt.manifest.version}`, packHash: rt.manifestSha256,
      plugin: spec?.plugin ?? null, executionProvider: rt.provider, params: { input: file, ...run.params }, seed: null, startedAt: run.startedAt, inputSeriesIds,
    },
    outputs: run.outputs.map((o) => ({ ...o, outputId: `out-${randomUUID()}`, runId })),
    end: { runId, status: run.status, ...(run.error ? { error: run.error } : {}), ...(run.timing ? { timing: run.timing } : {}) },
  });
  return { runId, caseId };
}
