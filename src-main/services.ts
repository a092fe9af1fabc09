import os from 'node:os';
import path from 'node:path';
import type { AppInfo } from '../src-shared/contracts/app';
import { createAppHandlers } from './shell/app-handlers';
import { createDicomHandlers } from './dicom/dicom-handlers';
import { createDicomService, type DicomService } from './dicom/dicom-service';
import { defaultDataDir, packRoots, PROJECT_ROOT } from './shell/app-info';
import { discoverPacks } from './model/pack-discovery';
import { IpcRegistry, workstationSenderPolicy, type AllHandlers } from './ipc/registry';
import { createJobHandlers } from './jobs/job-handlers';
import { lockDownDataDir } from './fs/private-files';
import { JobManager } from './jobs/job-manager';
import { loadMachinePolicy, type MachinePolicyState } from './policy/machine-policy';
import { createPolicyHandlers } from './policy/policy-handlers';
import { createHistoryHandlers } from './store/history-handlers';
import { HistoryService } from './store/history-service';
import { createModelHandlers, ModelService } from './model/model-handlers';
import type { ModelRuntime } from './model/runtime';
import type { VerifyOptions } from './model/pack-verify';
import { createWorkflowHandlers, WorkflowService } from './workflow/workflow-service';
import type { ExecutionProvider } from '../src-shared/contracts/app';
import { DomainError } from '../src-shared/ipc/envelope';
import { ExportDestinations, type SaveDialog } from './fs/export-destination';
import { workflowErrorCodes } from '../src-shared/contracts/workflow';
import { PacsNodes } from './pacs/pacs-nodes';
import { PacsService } from './pacs/pacs-service';

export const APP_ORIGIN = 'app://healthgpt';

export interface ServiceOptions {
  mode: AppInfo['mode'];
  dataDir?: string;
  resourcesDir?: string;
  /** The machine policy in force; loaded from the OS location (or HEALTHGPT_POLICY_FILE) when absent. */
  policy?: MachinePolicyState;
  /** Where exports the window asks for are written; default <dataDir>/exports. */
  exportDir?: string;
  /** The desktop app's save dialog, offered the export folder's path first; absent: exports go there directly. */
  saveDialog?: SaveDialog;
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
  /** The loaded model pack (at most one) and its ONNX Runtime sessions (src-main/model). */
  readonly model: ModelService;
  /** Ask, generate, export on imported series, recorded in the history (src-main/workflow). */
  readonly workflow: WorkflowService;
  /** PACS find, retrieve into the local store, send (src-main/pacs); nodes from <data>/pacs-nodes.json and the policy. */
  readonly pacs: PacsService;
  /** How packs are verified before loading (policy first, then resources/trusted-keys.json). */
  packVerifyOptions(): VerifyOptions;
  /** Where window-requested exports go (main names them; a window never passes a path). */
  readonly exports: ExportDestinations;
  readonly dataDir: string;
  readonly resourcesDir: string;
  close(): Promise<void>;
}

export async function createServices(options: ServiceOptions): Promise<Services> {
  const policy = options.policy ?? loadMachinePolicy();
  // An explicit folder (tests, --data-dir) wins, then the machine policy's, then the per-user default.
  const dataDir = path.resolve(options.dataDir ?? policy.dataDir ?? defaultDataDir());
  const resourcesDir = path.resolve(options.resourcesDir ?? path.join(PROJECT_ROOT, 'resources'));
  lockDownDataDir(dataDir); // patient data: this user only (fs/private-files.ts)
  const exports = new ExportDestinations(path.resolve(options.exportDir ?? path.join(dataDir, 'exports')), options.saveDialog ?? null);
  const jobs = new JobManager();
  const dicom = createDicomService({ jobs, dataDir });
  // Opens in the background (the start-up quick_check takes seconds on a large store); never throws for a
  // damaged or newer database: the service is then 'refused' and offers open/restore.
  const history = HistoryService.launch({ dataDir, auditMirror: policy.auditLogPath ? { path: policy.auditLogPath, host: os.hostname() } : null });
  /** The policy's signature rule and trusted keys, else the app's own trusted-keys file: one rule for every caller. */
  const packVerifyOptions = (): VerifyOptions => {
    const fromPolicy = policy.packVerifyOptions();
    return {
      requireSignature: fromPolicy.requireSignature,
      // a file unchanged since it was hashed is not hashed again (pack-hash-cache.ts; trust argument in docs/model-pack.md)
      hashCachePath: path.join(dataDir, 'pack-hashes.json'),
      ...(fromPolicy.trustedKeys ? { trustedKeys: fromPolicy.trustedKeys } : { trustedKeysPath: path.join(resourcesDir, 'trusted-keys.json') }),
    };
  };
  let providerInUse: ExecutionProvider | null = null;
  const modelDeps = {
    jobs,
    packRoots: () => packRoots(resourcesDir, dataDir),
    verifyOptions: () => packVerifyOptions(),
    assertPackAllowed: (pack: { id: string; version: string }) => policy.assertPackAllowed(pack),
    assertTaskAllowed: (task: string) => policy.assertTaskAllowed(task),
    onProviderChange: (p: ExecutionProvider | null) => {
      providerInUse = p;
    },
  };
  const model = new ModelService(modelDeps);
  /** The loaded pack, or the first pack found that verifies (shipped demo pack first); null if none. */
  const currentModel = async (): Promise<ModelRuntime | null> => {
    if (model.loaded) return model.current;
    const refusals: string[] = [];
    for (const pack of discoverPacks(packRoots(resourcesDir, dataDir))) {
      try {
        await model.load(pack.path, 'auto');
        return model.current;
      } catch (e) {
        refusals.push(`${pack.name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (refusals.length) throw new DomainError(workflowErrorCodes.noPack, `No model pack could be loaded. ${refusals.join(' ')}`);
    return null;
  };
  const workflow = new WorkflowService({
    jobs,
    dicom,
    model: currentModel,
    history,
    dataDir,
    assertTaskAllowed: (task) => policy.assertTaskAllowed(task),
    assertExportAllowed: () => policy.assertExportAllowed(),
    assertRejectedExportAllowed: () => policy.assertRejectedExportAllowed(),
    exports,
  });
  // A locked (invalid) policy forbids every node, as it forbids every task.
  const pacsNodes = PacsNodes.inDataDir(dataDir, policy.locked ? { forbidden: ['*'] } : (policy.policy?.pacs ?? {}));
  const pacs = new PacsService({ jobs, dicom, dataDir, nodes: pacsNodes, history });
  const handlers: AllHandlers = {
    app: createAppHandlers({
      mode: options.mode,
      dataDir,
      exportDir: exports.folder,
      resourcesDir,
      providerInUse: () => providerInUse,
      policy: () => policy.summary(),
    }),
    jobs: createJobHandlers(jobs),
    policy: createPolicyHandlers(policy),
    history: createHistoryHandlers(history, jobs, { assertExportAllowed: () => policy.assertExportAllowed(), exports, dataDir, onReviewRecorded: (runId) => workflow.restampGeneratedSeries(runId) }),
    dicom: createDicomHandlers(dicom),
    model: createModelHandlers(model, modelDeps),
    workflow: createWorkflowHandlers(workflow),
    pacs: pacs.handlers,
  };
  const registry = new IpcRegistry(handlers, workstationSenderPolicy(APP_ORIGIN));
  return {
    registry,
    jobs,
    policy,
    history,
    dicom,
    model,
    workflow,
    pacs,
    packVerifyOptions,
    exports,
    dataDir,
    resourcesDir,
    async close() {
      await jobs.shutdown();
      await model.unload();
      await dicom.close();
      await history.close();
    },
  };
}
