import { contracts, events, type Contracts, type DomainName, type Events } from '../contracts';
import type { DomainContract, EventSpec, PayloadOf, RequestOf, ResponseOf } from './define';
import { commonErrorCodes, err, type Result } from './envelope';

/** One typed function per operation: `client.app.getInfo({})`. The same shape over every transport. */
export type DomainClient<C extends DomainContract> = {
  [K in keyof C]: (request: RequestOf<C[K]>) => Promise<Result<ResponseOf<C[K]>>>;
};
export type ContractClient = { [D in DomainName]: DomainClient<Contracts[D]> };

export type EventName = keyof Events;
export type EventListener<E extends EventName> = (payload: PayloadOf<Events[E]>) => void;

export interface WorkstationClient extends ContractClient {
  readonly transport: 'electron' | 'bridge' | 'direct';
  subscribe<E extends EventName>(event: E, listener: EventListener<E>): () => void;
}

/** What a transport must provide: send a call on a channel, and deliver events by channel. */
export interface Transport {
  readonly name: WorkstationClient['transport'];
  call(channel: string, payload: unknown): Promise<unknown>;
  onEvent(channel: string, listener: (payload: unknown) => void): () => void;
}

/**
 * Builds the typed client from the contracts over any transport. Responses are checked against the
 * contract here too, so a renderer never trusts a malformed value even from its own main process.
 */
export function createWorkstationClient(transport: Transport): WorkstationClient {
  const client: Record<string, unknown> = { transport: transport.name };
  for (const [domain, contract] of Object.entries(contracts) as Array<[string, DomainContract]>) {
    const ops: Record<string, (request: unknown) => Promise<Result<unknown>>> = {};
    for (const [name, spec] of Object.entries(contract)) {
      ops[name] = async (request) => {
        let raw: unknown;
        try {
          raw = await transport.call(spec.channel, request);
        } catch (e) {
          return err(commonErrorCodes.transport, `Could not reach the workstation service: ${e instanceof Error ? e.message : String(e)}`);
        }
        const envelope = raw as Result<unknown> | null;
        if (!envelope || typeof envelope !== 'object' || typeof envelope.ok !== 'boolean') {
          return err(commonErrorCodes.transport, `Malformed reply on ${spec.channel}.`);
        }
        if (!envelope.ok) return envelope;
        const parsed = spec.response.safeParse(envelope.value);
        return parsed.success ? { ok: true, value: parsed.data } : err(commonErrorCodes.transport, `Reply on ${spec.channel} does not match its contract.`);
      };
    }
    client[domain] = ops;
  }
  client.subscribe = (name: EventName, listener: (payload: unknown) => void) => {
    const spec = events[name] as EventSpec;
    return transport.onEvent(spec.channel, (payload) => {
      const parsed = spec.payload.safeParse(payload);
      if (parsed.success) listener(parsed.data);
    });
  };
  return client as unknown as WorkstationClient;
}
