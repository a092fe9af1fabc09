import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AppInfo } from '../src-shared/contracts/app';
import { createAppHandlers } from './app/app-handlers';
import { createDicomService, type DicomService } from './dicom/dicom-service';
import { defaultDataDir, PROJECT_ROOT } from './app/app-info';
import { IpcRegistry, workstationSenderPolicy, type AllHandlers } from './ipc/registry';
import { createJobHandlers } from './jobs/job-handlers';
import { JobManager } from './jobs/job-manager';
import { loadMachinePolicy, type MachinePolicyState } from './policy/machine-policy';
import { createPolicyHandlers } from './policy/policy-handlers';
import { createHistoryHandlers } from './store/history-handlers';
import { HistoryService } from './store/history-service';

export const APP_ORIGIN = 'app://healthgpt';

export interface ServiceOptions {
  mode: AppInfo['mode'];
  dataDir?: string;
  resourcesDir?: string;
  /** The machine policy in force; loaded from the OS location (or HEALTHGPT_POLICY_FILE) when absent. */
  policy?: MachinePolicyState;
}

/**
 * The composition root of the main process: every domain service built once and served through one
 * registry, whichever transport (Electron IPC, loopback bridge, CLI) calls it.
 */
export interface Services {
  readonly registry: IpcRegistry;
  readonly jobs: JobManager;
  /** Every domain asks this before a task, a pack load, an export or an update (src-main/policy). */
  readonly policy: MachinePolicyState;
  /** Case history (src-main/store): the model workflow records runs, outputs and audit entries here. */
  readonly history: HistoryService;
  /** DICOM import and frames (src-main/dicom); the Electron app calls `dicom.warm()` once its window shows. */
  readonly dicom: DicomService;
  readonly dataDir: string;
  readonly resourcesDir: string;
  close(): Promise<void>;
}

export async function createServices(options: ServiceOptions): Promise<Services> {
  const policy = options.policy ?? loadMachinePolicy();
  // An explicit folder (tests, --data-dir) wins, then the machine policy's, then the per-user default.
  const dataDir = path.resolve(options.dataDir ?? policy.dataDir ?? defaultDataDir());
  const resourcesDir = path.resolve(options.resourcesDir ?? path.join(PROJECT_ROOT, 'resources'));
  mkdirSync(dataDir, { recursive: true });
  const jobs = new JobManager();
  const dicom = createDicomService({ jobs, dataDir });
  // Opens in the background (the start-up quick_check takes seconds on a large store); never throws for a
  // damaged or newer database: the service is then 'refused' and offers open/restore.
  const history = HistoryService.launch({ dataDir, auditMirror: policy.auditLogPath ? { path: policy.auditLogPath, host: os.hostname() } : null });
  const handlers: AllHandlers = {
    app: createAppHandlers({
      mode: options.mode,
      dataDir,
      resourcesDir,
      providerInUse: () => null,
      policy: () => policy.summary(),
    }),
    jobs: createJobHandlers(jobs),
    policy: createPolicyHandlers(policy),
    history: createHistoryHandlers(history, jobs, { assertExportAllowed: () => policy.assertExportAllowed() }),
    dicom: dicom.handlers,
  };
  const registry = new IpcRegistry(handlers, workstationSenderPolicy(APP_ORIGIN));
  return {
    registry,
    jobs,
    policy,
    history,
    dicom,
    dataDir,
    resourcesDir,
    async close() {
      await jobs.shutdown();
      await dicom.close();
      await history.close();
    },
  };
}
