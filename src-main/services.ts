import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { AppInfo } from '../src-shared/contracts/app';
import { createAppHandlers } from './app/app-handlers';
import { defaultDataDir, PROJECT_ROOT } from './app/app-info';
import { IpcRegistry, workstationSenderPolicy, type AllHandlers } from './ipc/registry';
import { createJobHandlers } from './jobs/job-handlers';
import { JobManager } from './jobs/job-manager';

export const APP_ORIGIN = 'app://healthgpt';

export interface ServiceOptions {
  mode: AppInfo['mode'];
  dataDir?: string;
  resourcesDir?: string;
}

/**
 * The composition root of the main process: every domain service built once and served through one
 * registry, whichever transport (Electron IPC, loopback bridge, CLI) calls it.
 */
export interface Services {
  readonly registry: IpcRegistry;
  readonly jobs: JobManager;
  readonly dataDir: string;
  readonly resourcesDir: string;
  close(): Promise<void>;
}

export async function createServices(options: ServiceOptions): Promise<Services> {
  const dataDir = path.resolve(options.dataDir ?? defaultDataDir());
  const resourcesDir = path.resolve(options.resourcesDir ?? path.join(PROJECT_ROOT, 'resources'));
  mkdirSync(dataDir, { recursive: true });
  const jobs = new JobManager();
  const handlers: AllHandlers = {
    app: createAppHandlers({
      mode: options.mode,
      dataDir,
      resourcesDir,
      providerInUse: () => null,
      policy: () => ({ locked: false, messages: [] }),
    }),
    jobs: createJobHandlers(jobs),
  };
  const registry = new IpcRegistry(handlers, workstationSenderPolicy(APP_ORIGIN));
  return {
    registry,
    jobs,
    dataDir,
    resourcesDir,
    async close() {
      await jobs.shutdown();
    },
  };
}
