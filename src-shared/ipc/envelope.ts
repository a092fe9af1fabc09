import { z } from 'zod';

/**
 * Error codes every domain may return. Domains add their own codes (strings); these are the ones the
 * IPC layer itself produces, so a client can tell a transport problem from a domain refusal.
 */
export const commonErrorCodes = {
  badRequest: 'BAD_REQUEST',
  unknownChannel: 'UNKNOWN_CHANNEL',
  forbiddenSender: 'FORBIDDEN_SENDER',
  payloadTooLarge: 'PAYLOAD_TOO_LARGE',
  notFound: 'NOT_FOUND',
  cancelled: 'CANCELLED',
  disabledByPolicy: 'DISABLED_BY_POLICY',
  transport: 'TRANSPORT',
  internal: 'INTERNAL',
} as const;

export const ipcErrorSchema = z.object({
  code: z.string().min(1).max(64),
  message: z.string().max(4000),
});
export type IpcError = z.infer<typeof ipcErrorSchema>;

export type Result<T> = { ok: true; value: T } | { ok: false; error: IpcError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function err<T = never>(code: string, message: string): Result<T> {
  return { ok: false, error: { code, message } };
}

/** An error a handler throws on purpose: its code and message reach the client unchanged. */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
