import os from 'node:os';
import type { appContract, AppInfo } from '../../src-shared/contracts/app';
import type { DomainHandlers } from '../ipc/registry';
import { discoverPacks } from '../model/pack-discovery';
import { availableExecutionProviders, preferredExecutionProvider } from '../model/execution-providers';
import { APP_NAME, appVersion, packRoots } from './app-info';

export interface AppHandlerDeps {
  mode: AppInfo['mode'];
  dataDir: string;
  exportDir: string;
  resourcesDir: string;
  /** The provider of the loaded model session, once one is loaded. */
  providerInUse: () => AppInfo['providers']['inUse'];
  policy: () => AppInfo['policy'];
}

export function createAppHandlers(deps: AppHandlerDeps): DomainHandlers<typeof appContract> {
  return {
    getInfo() {
      const available = availableExecutionProviders();
      return {
        name: APP_NAME,
        version: appVersion(),
        mode: deps.mode,
        dataDir: deps.dataDir,
        exportDir: deps.exportDir,
        packs: discoverPacks(packRoots(deps.resourcesDir, deps.dataDir)),
        providers: { available, preferred: preferredExecutionProvider(available), inUse: deps.providerInUse() },
        platform: `${process.platform}-${process.arch} (${os.release()})`,
        policy: deps.policy(),
      };
    },
    ping({ sentAt }) {
      return { sentAt, receivedAt: Date.now() };
    },
    echoFrame({ rows, columns, pixels }) {
      let checksum = 0;
      for (let i = 0; i < pixels.length; i += 1) checksum = (checksum + (pixels[i] ?? 0) * ((i % 251) + 1)) | 0;
      return { rows, columns, pixels, checksum };
    },
  };
}
