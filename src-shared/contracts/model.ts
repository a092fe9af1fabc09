import { z } from 'zod';
import { operation } from '../ipc/define';
import { executionProviderSchema } from './app';
import { jobStartedSchema } from './jobs';
import { comprehensionTaskSchema, generationTaskSchema, packErrorCodes } from './model-pack';

/**
 * The model domain: list / verify / load packs, ask (a job whose progress streams text) and generate
 * (a job with progress = image tokens done / total and a final image). Main side: src-main/model/model-handlers.ts.
 */
export const modelErrorCodes = {
  ...packErrorCodes,
  noPackLoaded: 'MODEL_NO_PACK_LOADED',
  badInput: 'MODEL_BAD_INPUT',
  unknownTask: 'MODEL_UNKNOWN_TASK',
  noGeneration: 'MODEL_NO_GENERATION',
} as const;

const spacing = z.tuple([z.number().positive(), z.number().positive()]);
export const windowSchema = z.object({ center: z.number().finite(), width: z.number().positive() });

/** What the model looks at: a file main can read (DICOM or PNG), or 8-bit grey pixels already windowed. */
export const modelImageInputSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('file'),
    path: z.string().min(1).max(4096),
    /** 0-based frame of a multi-frame DICOM (default: the middle one). */
    frame: z.number().int().nonnegative().optional(),
    /** Window for grey DICOM (default: the file's first preset, else min..max). */
    window: windowSchema.optional(),
  }).strict(),
  z.object({
    kind: z.literal('gray8'),
    rows: z.number().int().min(1).max(8192),
    cols: z.number().int().min(1).max(8192),
    pixels: z.instanceof(Uint8Array),
    pixelSpacing: spacing.nullable().optional(),
    /** How the pixels were windowed, recorded with the run (e.g. "W 400 / L 40"). */
    window: z.string().max(200).optional(),
  }).strict(),
]);
export type ModelImageInput = z.infer<typeof modelImageInputSchema>;

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

export const runInfoSchema = z.object({
  pack: z.object({ name: z.string(), version: z.string(), manifestSha256: z.string(), demonstration: z.boolean() }),
  provider: executionProviderSchema,
  task: z.string(),
  plugin: z.string(),
  window: z.string().nullable(),
});

export const askRequestSchema = z
  .object({
    task: comprehensionTaskSchema.default('vqa'),
    question: z.string().max(4000),
    image: modelImageInputSchema,
    maxTokens: z.number().int().min(1).max(4096).default(256),
  })
  .strict();

/** Final value of an ask job (progress events carry appendText with the streamed answer). */
export const askResultSchema = runInfoSchema.extend({
  text: z.string(),
  tokens: z.array(z.number().int()),
  stopReason: z.enum(['eos', 'maxTokens', 'cancelled']),
  timings: z.record(z.string(), z.number()),
});
export type AskJobResult = z.infer<typeof askResultSchema>;

export const generateRequestSchema = z.object({ task: generationTaskSchema, image: modelImageInputSchema }).strict();

/** Final value of a generate job: grey pixels in [0,1] at the input geometry (× outputScale). */
export const generateResultSchema = runInfoSchema.extend({
  pixels: z.instanceof(Float32Array),
  rows: z.number().int(),
  cols: z.number().int(),
  pixelSpacing: spacing.nullable(),
  outputScale: z.number().int(),
  imageTokens: z.number().int(),
  timings: z.record(z.string(), z.number()),
  aiGenerated: z.literal(true),
});
export type GenerateJobResult = z.infer<typeof generateResultSchema>;

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
  /** Job kind 'model-ask': progress {done: tokens, total: maxTokens, appendText}; final result askResultSchema. */
  startAsk: operation('model:start-ask', askRequestSchema, jobStartedSchema),
  /** Job kind 'model-generate': progress {done, total: grid²}; final result generateResultSchema. */
  startGenerate: operation('model:start-generate', generateRequestSchema, jobStartedSchema),
} as const;
