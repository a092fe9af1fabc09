import { allEventChannels, contracts } from '../../src-shared/contracts';
import type { DomainContract } from '../../src-shared/ipc/define';

/** Channel names only: what the preload needs from the contracts (no schemas, so no zod in the preload). */
export interface ChannelTable {
  operations: Record<string, Record<string, string>>;
  events: string[];
}

/** The table derived from the contracts; the build inlines it into the preload bundle. */
export function channelTable(): ChannelTable {
  const operations: ChannelTable['operations'] = {};
  for (const [domain, contract] of Object.entries(contracts) as Array<[string, DomainContract]>) {
    operations[domain] = Object.fromEntries(Object.entries(contract).map(([name, spec]) => [name, spec.channel]));
  }
  return { operations, events: allEventChannels() };
}
