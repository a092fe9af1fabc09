import { z } from 'zod';
import { contracts, type Contracts, type DomainName } from '../../src-shared/contracts';
import type { DomainContract, OperationSpec, ParsedRequestOf, ResponseOf } from '../../src-shared/ipc/define';
import { commonErrorCodes, DomainError, err, ok, type Result } from '../../src-shared/ipc/envelope';

/** Where events for a caller go: one window, one bridge connection, or the CLI. */
export interface EventSink {
  readonly id: string;
  send(channel: string, payload: unknown): void;
  isAlive(): boolean;
}

/** What the transport knows about who is calling; the registry decides whether to serve them. */
export interface SenderInfo {
  transport: 'electron' | 'bridge' | 'direct';
  /** Origin of the calling frame (electron) or of the authenticated bridge page. */
  origin: string | null;
  isMainFrame: boolean;
  authenticated: boolean;
}

export interface CallContext {
  sink: EventSink;
  sender: SenderInfo;
}

export type DomainHandlers<C extends DomainContract> = {
  [K in keyof C]: (request: ParsedRequestOf<C[K]>, ctx: CallContext) => Promise<ResponseOf<C[K]>> | ResponseOf<C[K]>;
};
export type AllHandlers = { [D in DomainName]: DomainHandlers<Contracts[D]> };

export type SenderPolicy = (sender: SenderInfo) => boolean;

interface Entry {
  domain: string;
  operation: string;
  spec: OperationSpec;
  handler: (request: unknown, ctx: CallContext) => unknown;
}

export interface RegistryLog {
  warn(message: string, detail?: unknown): void;
  error(message: string, detail?: unknown): void;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(payload)'}: ${i.message}`)
    .join('; ');
}

function isAbort(e: unknown): boolean {
  return e instanceof Error && (e.name === 'AbortError' || (e as { code?: string }).code === 'ABORT_ERR');
}

/**
 * The one registration point for every handler. Each call is checked for its sender, parsed with the
 * contract's schema, run, its response checked, and wrapped in the {ok} envelope; nothing is thrown back.
 */
export class IpcRegistry {
  private readonly table = new Map<string, Entry>();

  constructor(
    handlers: AllHandlers,
    private readonly senderPolicy: SenderPolicy,
    private readonly log: RegistryLog = { warn: () => {}, error: (m, d) => console.error(m, d) },
  ) {
    for (const [domain, contract] of Object.entries(contracts) as Array<[DomainName, DomainContract]>) {
      const domainHandlers = handlers[domain] as unknown as Record<string, Entry['handler']> | undefined;
      if (!domainHandlers) throw new Error(`no handlers for the ${domain} domain`);
      for (const [operation, spec] of Object.entries(contract)) {
        const handler = domainHandlers[operation];
        if (typeof handler !== 'function') throw new Error(`no handler for ${domain}.${operation}`);
        if (this.table.has(spec.channel)) throw new Error(`channel ${spec.channel} registered twice`);
        this.table.set(spec.channel, { domain, operation, spec, handler: handler.bind(domainHandlers) });
      }
    }
  }

  channels(): string[] {
    return [...this.table.keys()];
  }

  describe(channel: string): { domain: string; operation: string; spec: OperationSpec } | undefined {
    const e = this.table.get(channel);
    return e ? { domain: e.domain, operation: e.operation, spec: e.spec } : undefined;
  }

  async dispatch(channel: unknown, payload: unknown, ctx: CallContext): Promise<Result<unknown>> {
    try {
      if (!this.senderPolicy(ctx.sender)) {
        this.log.warn('refused a call from an untrusted sender', ctx.sender);
        return err(commonErrorCodes.forbiddenSender, 'This caller is not the workstation window; the call was refused.');
      }
      if (typeof channel !== 'string' || channel.length > 128) {
        return err(commonErrorCodes.unknownChannel, 'The channel name is missing or malformed.');
      }
      const entry = this.table.get(channel);
      if (!entry) return err(commonErrorCodes.unknownChannel, `Unknown channel "${channel.slice(0, 64)}".`);
      const parsed = entry.spec.request.safeParse(payload);
      if (!parsed.success) {
        return err(commonErrorCodes.badRequest, `Invalid request for ${channel}: ${describeIssues(parsed.error)}`);
      }
      const value = await entry.handler(parsed.data, ctx);
      const checked = entry.spec.response.safeParse(value);
      if (!checked.success) {
        this.log.error(`handler for ${channel} returned a value outside its contract`, describeIssues(checked.error));
        return err(commonErrorCodes.internal, `The ${entry.domain} service returned an invalid response.`);
      }
      return ok(checked.data);
    } catch (e) {
      if (e instanceof DomainError) return err(e.code, e.message);
      if (isAbort(e)) return err(commonErrorCodes.cancelled, 'The operation was cancelled.');
      this.log.error(`handler for ${String(channel)} failed`, e);
      const message = e instanceof Error ? e.message : String(e);
      return err(commonErrorCodes.internal, `Internal error: ${message.slice(0, 500)}`);
    }
  }
}

/** The policy for the shipped app: the main frame of our own origin, or an authenticated bridge page. */
export function workstationSenderPolicy(appOrigin: string): SenderPolicy {
  return (sender) => {
    switch (sender.transport) {
      case 'direct':
        return true;
      case 'bridge':
        return sender.authenticated;
      case 'electron':
        return sender.isMainFrame && sender.origin === appOrigin;
    }
  };
}
