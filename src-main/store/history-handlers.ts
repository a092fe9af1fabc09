import type { historyContract } from '../../src-shared/contracts/history';
import type { DomainHandlers } from '../ipc/registry';
import type { JobManager } from '../jobs/job-manager';
import type { HistoryService } from './history-service';

/** The window's view of the history: read, review, export, back up, check, reopen. Recording is main-only. */
export interface HistoryHandlerDeps {
  /** The machine policy's word on exports (throws DISABLED_BY_POLICY when forbidden). */
  assertExportAllowed?: () => void;
}

export function createHistoryHandlers(history: HistoryService, jobs: JobManager, deps: HistoryHandlerDeps = {}): DomainHandlers<typeof historyContract> {
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
    recordReview: ({ runId, decision, comment, editedText }) => history.recordReview({ runId, decision, comment: comment ?? null, editedText: editedText ?? null }),
    exportCase: ({ caseId, destination }, ctx) => {
      deps.assertExportAllowed?.();
      return jobs.start({
        kind: 'history-export',
        sink: ctx.sink,
        run: ({ signal, progress }) => history.exportCase(caseId, destination, { signal, progress: (done, total, message) => progress({ done, total, message }) }),
      });
    },
    backup: ({ destination }, ctx) =>
      jobs.start({
        kind: 'history-backup',
        sink: ctx.sink,
        run: ({ signal, progress }) => history.backup(destination, { signal, progress: (done, total, message) => progress({ done, total, message }) }),
      }),
    check: ({ verifyArtifacts }) => history.check(verifyArtifacts),
    openStore: ({ path }) => history.openStore(path),
    restoreFromBackup: ({ backupPath }) => history.restoreFromBackup(backupPath),
  };
}
