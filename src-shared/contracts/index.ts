import type { DomainContract, EventSpec } from '../ipc/define';
import { appContract } from './app';
import { dicomContract } from './dicom';
import { historyContract } from './history';
import { jobEvents, jobsContract } from './jobs';
import { modelContract } from './model';
import { workflowContract } from './workflow';
import { policyContract } from './policy';
import { pacsContract } from './pacs';

/**
 * Every domain the main process serves. The main-side registry, the preload, the loopback bridge and the
 * renderer client are all derived from this one object, so a channel exists everywhere or nowhere.
 */
export const contracts = {
  app: appContract,
  jobs: jobsContract,
  policy: policyContract,
  history: historyContract,
  dicom: dicomContract,
  model: modelContract,
  workflow: workflowContract,
  pacs: pacsContract,
} as const satisfies Record<string, DomainContract>;

export type Contracts = typeof contracts;
export type DomainName = keyof Contracts;

export const events = {
  jobProgress: jobEvents.progress,
  jobFinal: jobEvents.final,
} as const satisfies Record<string, EventSpec>;

export type Events = typeof events;

/** Every operation channel, for allowlists (preload, bridge) and the table test. */
export function allOperationChannels(): string[] {
  const channels: string[] = [];
  for (const domain of Object.values(contracts) as DomainContract[]) {
    for (const op of Object.values(domain)) channels.push(op.channel);
  }
  return channels;
}

export function allEventChannels(): string[] {
  return Object.values(events).map((e) => e.channel);
}
