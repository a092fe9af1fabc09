import { realpathSync } from 'node:fs';
import path from 'node:path';
import { historyErrorCodes, type historyContract } from '../../src-shared/contracts/history';
import { DomainError } from '../../src-shared/ipc/envelope';
import { fileStamp, type ExportDestinations } from '../fs/export-destination';
import type { DomainHandlers } from '../ipc/registry';
import type { JobManager } from '../jobs/job-manager';
import type { HistoryService } from './history-service';

/** The window's view of the history: read, review, export, back up, check, reopen. Recording is main-only. */
export interface HistoryHandlerDeps {
  /** The machine policy's word on exports (throws DISABLED_BY_POLICY when forbidden). */
  assertExportAllowed?: () => void;
  /** Where case exports the window asks for go; main names the file. */
  exports: ExportDestinations;
  /** The data folder: the only place a window may open a database file from. */
  dataDir: string;
  /** After a review is recorded: the generated series' own files take the new state (the study list shows it). */
  onReviewRecorded?: (runId: string) => Promise<void>;
}

/**
 * A path the window named, accepted only when it resolves (links followed) inside `folder`: a window may
 * point at the store's own files, never at any database on the disk (opening one migrates and writes it).
 */
function insideFolder(candidate: string, folder: string, what: string): string {
  let real: string;
  let root: string;
  try {
    real = realpathSync(path.resolve(candidate));
    root = realpathSync(folder);
  } catch {
    throw new DomainError(historyErrorCodes.notFound, `No ${what} at ${candidate}.`);
  }
  if (!real.startsWith(root + path.sep)) throw new DomainError('BAD_REQUEST', `The ${what} must be inside ${folder}; ${candidate} is not.`);
  return real;
}

export function createHistoryHandlers(history: HistoryService, jobs: JobManager, deps: HistoryHandlerDeps): DomainHandlers<typeof historyContract> {
  return {
    status: () => history.status(),
    listCases: (query) => history.listCases(query),
    // Opening a case from the window is an access to patient data: it is audited.
    getCase: async ({ caseId, verifyArtifacts }) => {
      const detail = await history.getCase(caseId, verifyArtifacts);
      await history.recordAudit({ action: 'case.view', entity: 'case', entityId: caseId, detail: { problems: detail.problems.length } });
      return detail;
    },
    readArtifact: ({ hash }) => history.readArtifact(hash),
    recordReview: async ({ runId, decision, comment, editedText }) => {
      const review = await history.recordReview({ runId, decision, comment: comment ?? null, editedText: editedText ?? null });
      await deps.onReviewRecorded?.(runId);
      return review;
    },
    exportCase: async ({ caseId }, ctx) => {
      deps.assertExportAllowed?.();
      const destination = await deps.exports.choose(`case-${caseId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60)}-${fileStamp()}.zip`, 'file', 'Export the case');
      return jobs.start({
        kind: 'history-export',
        sink: ctx.sink,
        run: ({ signal, progress }) => history.exportCase(caseId, destination, { signal, progress: (done, total, message) => progress({ done, total, message }) }),
      });
    },
    backup: (_request, ctx) =>
      jobs.start({
        kind: 'history-backup',
        sink: ctx.sink,
        run: ({ signal, progress }) => history.backup(undefined, { signal, progress: (done, total, message) => progress({ done, total, message }) }),
      }),
    check: ({ verifyArtifacts }) => history.check(verifyArtifacts),
    openStore: ({ path: file }) => history.openStore(insideFolder(file, deps.dataDir, 'database file')),
    restoreFromBackup: ({ backupPath }) => history.restoreFromBackup(insideFolder(backupPath, history.backupsDir(), 'backup')),
  };
}
