import { createContext, useContext } from 'react';
import type { AppInfo } from '../../src-shared/contracts/app';
import type { WorkstationClient } from '../../src-shared/ipc/client-api';
import type { JobsStore } from './jobs-store';
import type { WorkspaceBus } from './workspace-commands';

export interface Workstation {
  client: WorkstationClient;
  jobs: JobsStore;
  workspace: WorkspaceBus;
  info: AppInfo | null;
  refreshInfo(): void;
}

export const WorkstationContext = createContext<Workstation | null>(null);

export function useWorkstation(): Workstation {
  const ws = useContext(WorkstationContext);
  if (!ws) throw new Error('useWorkstation outside the workstation shell');
  return ws;
}
