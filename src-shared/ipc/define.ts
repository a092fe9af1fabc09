import type { z } from 'zod';

/** A request/response operation: one channel, a schema for what goes in and what comes out. */
export interface OperationSpec<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> {
  readonly kind: 'operation';
  readonly channel: string;
  readonly request: Req;
  readonly response: Res;
}

/** A one-way event from main to the window that asked for it. */
export interface EventSpec<Payload extends z.ZodType = z.ZodType> {
  readonly kind: 'event';
  readonly channel: string;
  readonly payload: Payload;
}

export function operation<Req extends z.ZodType, Res extends z.ZodType>(
  channel: string,
  request: Req,
  response: Res,
): OperationSpec<Req, Res> {
  return { kind: 'operation', channel, request, response };
}

export function event<Payload extends z.ZodType>(channel: string, payload: Payload): EventSpec<Payload> {
  return { kind: 'event', channel, payload };
}

export type DomainContract = Record<string, OperationSpec>;

export type RequestOf<Op> = Op extends OperationSpec<infer Req, z.ZodType> ? z.input<Req> : never;
export type ParsedRequestOf<Op> = Op extends OperationSpec<infer Req, z.ZodType> ? z.output<Req> : never;
export type ResponseOf<Op> = Op extends OperationSpec<z.ZodType, infer Res> ? z.output<Res> : never;
export type PayloadOf<Ev> = Ev extends EventSpec<infer P> ? z.output<P> : never;
