import { z } from 'zod';
import { operation } from '../ipc/define';

export const executionProviderSchema = z.enum(['cpu', 'cuda', 'dml', 'coreml', 'webgpu']);
export type ExecutionProvider = z.infer<typeof executionProviderSchema>;

export const packSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  version: z.string(),
  path: z.string(),
  demonstration: z.boolean(),
  intendedUse: z.string(),
  problem: z.string().optional(),
});
export type PackSummary = z.infer<typeof packSummarySchema>;

export const appInfoSchema = z.object({
  name: z.string(),
  version: z.string(),
  mode: z.enum(['electron', 'browser', 'cli', 'test']),
  dataDir: z.string(),
  /** Where exports are written (the desktop app offers it first in a save dialog). */
  exportDir: z.string(),
  packs: z.array(packSummarySchema),
  providers: z.object({
    available: z.array(executionProviderSchema),
    preferred: executionProviderSchema,
    inUse: executionProviderSchema.nullable(),
  }),
  platform: z.string(),
  policy: z.object({ locked: z.boolean(), messages: z.array(z.string()) }),
});
export type AppInfo = z.infer<typeof appInfoSchema>;

const noArgs = z.object({}).strict();

export const appContract = {
  getInfo: operation('app:get-info', noArgs, appInfoSchema),
  ping: operation('app:ping', z.object({ sentAt: z.number().finite() }).strict(), z.object({ sentAt: z.number(), receivedAt: z.number() })),
  /** Echoes a frame of pixels back: the IPC round-trip benchmark and the binary-transfer test use it. */
  echoFrame: operation(
    'app:echo-frame',
    z.object({ rows: z.number().int().min(1).max(8192), columns: z.number().int().min(1).max(8192), pixels: z.instanceof(Int16Array) }).strict(),
    z.object({ rows: z.number(), columns: z.number(), pixels: z.instanceof(Int16Array), checksum: z.number() }),
  ),
} as const;
