import type { Contracts, DomainName } from '../../src-shared/contracts';
import type { RequestOf, ResponseOf } from '../../src-shared/ipc/define';
import { DomainError } from '../../src-shared/ipc/envelope';
import type { EventSink } from '../ipc/registry';
import type { Services } from '../services';

/** Events for CLI-started jobs: handed to a listener (progress on stderr) instead of a window. */
export function cliSink(onEvent: (channel: string, payload: unknown) => void = () => {}): EventSink {
  return { id: 'cli', send: onEvent, isAlive: () => true };
}

/**
 * Calls an operation through the same registry the window uses (schema checks included) and unwraps the
 * envelope: an error envelope becomes a DomainError the CLI prints as a clear message.
 */
export async function directCall<D extends DomainName, O extends keyof Contracts[D] & string>(
  services: Services,
  domain: D,
  operation: O,
  request: RequestOf<Contracts[D][O]>,
  sink: EventSink = cliSink(),
): Promise<ResponseOf<Contracts[D][O]>> {
  const { contracts } = await import('../../src-shared/contracts');
  const spec = (contracts[domain] as Record<string, { channel: string }>)[operation];
  if (!spec) throw new Error(`no operation ${domain}.${operation}`);
  const result = await services.registry.dispatch(spec.channel, request, {
    sink,
    sender: { transport: 'direct', origin: null, isMainFrame: true, authenticated: true },
  });
  if (!result.ok) throw new DomainError(result.error.code, result.error.message);
  return result.value as ResponseOf<Contracts[D][O]>;
}
