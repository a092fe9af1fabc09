import { z } from 'zod';
import { operation } from '../ipc/define';
import { executionProviderSchema } from './app';
import { packErrorCodes } from './model-pack';

/**
 * The model domain: list, verify, load and unload packs. Asking and generating on an image go through the
 * workflow domain, which records every run. Main side: src-main/model/model-handlers.ts.
 */
export const modelErrorCodes = {
  ...packErrorCodes,
  noPackLoaded: 'MODEL_NO_PACK_LOADED',
  badInput: 'MODEL_BAD_INPUT',
  unknownTask: 'MODEL_UNKNOWN_TASK',
  noGeneration: 'MODEL_NO_GENERATION',
} as const;

export const packListingSchema = z.object({
  path: z.string(),
  name: z.string(),
  version: z.string(),
  demonstration: z.boolean(),
  intendedUse: z.string(),
  problem: z.string().optional(),
});
export type PackListing = z.infer<typeof packListingSchema>;

export const verifyPackResultSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    path: z.string(),
    name: z.string(),
    version: z.string(),
    manifestSha256: z.string(),
    signature: z.object({ present: z.boolean(), valid: z.boolean(), keyId: z.string().optional() }),
  }),
  z.object({ ok: z.literal(false), path: z.string(), code: z.string(), message: z.string() }),
]);
export type VerifyPackResult = z.infer<typeof verifyPackResultSchema>;

export const loadedPackSchema = z.object({
  path: z.string(),
  name: z.string(),
  version: z.string(),
  licence: z.string(),
  demonstration: z.boolean(),
  intendedUse: z.string(),
  manifestSha256: z.string(),
  provider: executionProviderSchema,
  tasks: z.array(z.string()),
  /** Tasks that do not beat their equal baseline on held-out data, with the baseline named (manifest heldOut). */
  belowBaseline: z.record(z.string(), z.string()).optional(),
  /** Question types the pack's VQA was trained on, with their trained phrasings. */
  questionTypes: z.array(z.object({ type: z.string(), questions: z.array(z.string()) })).optional(),
});
export type LoadedPack = z.infer<typeof loadedPackSchema>;

/** The execution provider a caller may ask for: 'auto' picks a GPU provider where present, else CPU. */
export const providerChoiceSchema = z.enum(['auto', 'cpu', 'cuda', 'dml', 'coreml']);
export type ProviderChoice = z.infer<typeof providerChoiceSchema>;

export const modelContract = {
  listPacks: operation('model:list-packs', z.object({}).strict(), z.array(packListingSchema)),
  verifyPack: operation('model:verify-pack', z.object({ path: z.string().min(1).max(4096) }).strict(), verifyPackResultSchema),
  loadPack: operation(
    'model:load-pack',
    z.object({ path: z.string().min(1).max(4096), provider: providerChoiceSchema.default('auto') }).strict(),
    loadedPackSchema,
  ),
  unloadPack: operation('model:unload-pack', z.object({}).strict(), z.object({ unloaded: z.boolean() })),
  status: operation('model:status', z.object({}).strict(), z.object({ loaded: loadedPackSchema.nullable() })),
} as const;
