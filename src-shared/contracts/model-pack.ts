import { z } from 'zod';

/**
 * The HealthGPT model-pack manifest (manifest.json at the root of a pack folder). Documented in
 * docs/model-pack.md; written by model/healthgpt/export.py. Parsed strictly where a wrong value would make
 * the runtime compute garbage (architecture, token ids, files); unknown extra keys are allowed elsewhere
 * so a newer exporter can add information without breaking older apps.
 */
export const PACK_FORMAT_VERSION = 1;

export const DEMONSTRATION_TEXT = 'demonstration model, not for clinical use';

const int = z.number().int();
const posInt = int.positive();
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lower-case hex digits');

/** A path inside the pack: relative, forward slashes, no "..", no absolute path. */
export const packRelativePathSchema = z
  .string()
  .min(1)
  .max(255)
  .refine((p) => !p.startsWith('/') && !p.includes('\\') && !p.split('/').some((s) => s === '..' || s === '' || s === '.'), {
    message: 'file path must be relative inside the pack (no "..", no leading "/")',
  });

export const packFileRoleSchema = z.enum([
  'tokenizer',
  'tokenizer-config',
  'vision',
  'projector',
  'embed',
  'head',
  'lm',
  'vq-decoder',
  'weights',
  'other',
]);
export type PackFileRole = z.infer<typeof packFileRoleSchema>;

export const packFileSchema = z.object({
  path: packRelativePathSchema,
  sha256: sha256Hex,
  size: int.nonnegative(),
  role: packFileRoleSchema,
});
export type PackFile = z.infer<typeof packFileSchema>;

export const pluginSpecSchema = z.object({
  name: z.string().min(1).max(32),
  /** Value fed to lm.onnx's `plugin` input. */
  index: int.nonnegative(),
  rank: posInt,
  alpha: z.number().positive(),
  experts: posInt,
  /** CLIP hidden-state index as configured (negative counts from the end). */
  visionLayer: int,
  /** The same, resolved to a non-negative index; vision.onnx outputs `vision_hidden_<visionHiddenIndex>`. */
  visionHiddenIndex: int.nonnegative(),
  /** Uses the fusion embedding and head (generation plugin). */
  fusion: z.boolean(),
});
export type PluginSpec = z.infer<typeof pluginSpecSchema>;

/** The id the released code splices the image at (LLaVA's IMAGE_TOKEN_INDEX): never a vocabulary id. */
export const RELEASE_IMAGE_TOKEN_INDEX = -200;

/**
 * How a prompt becomes ids. 'token' (the default when absent): "<image>" is a token of the pack's vocabulary and
 * the prompt is encoded in one pass. 'split': as the released HealthGPT does it (tokenizer_image_token): the
 * prompt is split at "<image>", each piece encoded on its own, the image spliced between them at
 * RELEASE_IMAGE_TOKEN_INDEX. `bos`: the base tokenizer's BOS, put once at the front (null: none).
 */
export const tokenizationSchema = z.object({
  image: z.enum(['token', 'split']),
  bos: int.nonnegative().nullable(),
});
export type PackTokenization = z.infer<typeof tokenizationSchema>;

export const architectureSchema = z.object({
  /** The decoder's base: Phi-3 (M3, nano) or Phi-4 (L14); both are Phi3ForCausalLM-style decoders. */
  family: z.enum(['phi3', 'phi4']),
  dtype: z.enum(['float32', 'float16']),
  hiddenSize: posInt,
  numLayers: posInt,
  numHeads: posInt,
  numKvHeads: posInt,
  headDim: posInt,
  intermediateSize: posInt,
  vocabSize: posInt,
  ropeTheta: z.number().positive(),
  rmsNormEps: z.number().positive(),
  maxPosition: posInt,
  imageTokens: z.object({ start: int.nonnegative(), count: posInt }),
  specialTokens: z.object({
    /** The `<image>` token's id, or RELEASE_IMAGE_TOKEN_INDEX with tokenization.image 'split'. */
    imagePlaceholder: int.nonnegative().or(z.literal(RELEASE_IMAGE_TOKEN_INDEX)),
    startIndex: int.nonnegative(),
    endIndex: int.nonnegative(),
    pixelNewline: int.nonnegative(),
    eos: z.array(int.nonnegative()).min(1),
  }),
  vision: z.object({
    imageSize: posInt,
    patchSize: posInt,
    numPatches: posInt,
    hiddenSize: posInt,
    layers: posInt,
    mean: z.tuple([z.number(), z.number(), z.number()]),
    std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
    padColor: z.tuple([int.min(0).max(255), int.min(0).max(255), int.min(0).max(255)]),
    resample: z.literal('bicubic-pil'),
  }),
  tokenization: tokenizationSchema.optional(),
  plugins: z.array(pluginSpecSchema).min(1),
  maxRank: posInt,
  /**
   * Block-quantised base weights (absent: every weight float as `dtype` says). The listed graphs' large
   * linears (base decoder, output heads) are ONNX Runtime MatMulNBits nodes (com.microsoft): `bits` per weight,
   * one float32 scale per `blockSize` weights along K; H-LoRA, routers, norms and embeddings stay float.
   * Inputs, outputs and arithmetic stay float32.
   */
  quantization: z
    .object({
      method: z.literal('matmul-nbits'),
      bits: z.union([z.literal(4), z.literal(8)]),
      blockSize: posInt.refine((b) => b >= 16 && (b & (b - 1)) === 0, { message: 'blockSize must be a power of two, at least 16' }),
      graphs: z.array(packRelativePathSchema).min(1),
    })
    .optional(),
  vq: z.object({
    codebookSize: posInt,
    grid: posInt,
    imageSize: posInt,
    channels: posInt,
    /**
     * The decoder also takes `source[1,3,S,S]`: the CLIP-normalised pixel values the vision tower saw (a skip
     * path from the task's source image; HealthGPT's own VQGAN has none, so real exports leave this out).
     */
    sourceGuided: z.boolean().optional(),
  }),
});
export type PackArchitecture = z.infer<typeof architectureSchema>;

export const comprehensionTaskNames = ['vqa', 'report'] as const;
export const generationTaskNames = ['sr', 'ct2mri', 'mri2ct', 'recon'] as const;
export const taskNameSchema = z.enum([...comprehensionTaskNames, ...generationTaskNames]);
export type TaskName = z.infer<typeof taskNameSchema>;
export const comprehensionTaskSchema = z.enum(comprehensionTaskNames);
export type ComprehensionTask = z.infer<typeof comprehensionTaskSchema>;
export const generationTaskSchema = z.enum(generationTaskNames);
export type GenerationTask = z.infer<typeof generationTaskSchema>;

export const taskSpecSchema = z.object({
  plugin: z.string().min(1),
  kind: z.enum(['comprehension', 'generation']),
  /** Contains "<image>" where the image tokens go; "{question}" is replaced by the user's question. */
  promptTemplate: z.string().min(1).max(8192),
  defaultQuestion: z.string().optional(),
  /** Generation: output matrix = input matrix × outputScale (4 for super-resolution). */
  outputScale: posInt.optional(),
  /**
   * How stored DICOM values (after the modality LUT) become the model's 8-bit input: a window in modality
   * units, or 'auto' (0.5th–99.5th percentile of the slice). Training data must use the same mapping.
   */
  inputWindow: z.union([z.literal('auto'), z.object({ center: z.number(), width: z.number().positive() })]).optional(),
  /**
   * Generation with outputScale > 1: 'block-mean' makes the output consistent with the acquired image (each
   * outputScale² block's mean equals the input pixel, by the least-squares correction), so the model adds
   * detail but cannot change what was measured.
   */
  dataConsistency: z.literal('block-mean').optional(),
  /** Generation: the modality of the output and the modality-unit range that output 0..1 maps to. */
  output: z.object({ modality: z.enum(['CT', 'MR', 'same']), range: z.tuple([z.number(), z.number()]) }).optional(),
  /**
   * The task against its equal baseline on held-out subjects (from `healthgpt eval`): beatsBaseline false
   * makes the app say next to the task that it does not beat that baseline; baseline names it.
   */
  heldOut: z.object({ beatsBaseline: z.boolean(), baseline: z.string().min(1).max(200) }).optional(),
  /**
   * Generation at native resolution: an input larger than `inputTile` pixels on a side is generated in
   * overlapping inputTile² tiles (the input size the model was trained on), blended across `overlap` pixels.
   * Absent: one square, the input resized to the vision size (packs that do not say what they were trained on).
   */
  tiling: z.object({ inputTile: posInt, overlap: z.number().int().nonnegative() }).refine((t) => t.overlap * 2 <= t.inputTile, 'overlap must be at most half the tile').optional(),
  /**
   * Comprehension: the question types the model was trained on, with the phrasings it was trained on; the app
   * offers them and notes visibly that any other question is outside what the model was trained for.
   */
  questionTypes: z.array(z.object({ type: z.string().min(1).max(64), questions: z.array(z.string().min(1).max(300)).min(1).max(32) })).max(32).optional(),
});
export type TaskSpec = z.infer<typeof taskSpecSchema>;

export const graphsSchema = z.object({
  vision: packRelativePathSchema,
  projector: z.record(z.string(), packRelativePathSchema),
  embed: z.object({ text: packRelativePathSchema, fusion: packRelativePathSchema.optional() }),
  head: z.object({ text: packRelativePathSchema, fusion: packRelativePathSchema.optional() }),
  lm: packRelativePathSchema,
  vqDecoder: packRelativePathSchema.optional(),
});

export const packManifestSchema = z
  .object({
    formatVersion: z.literal(PACK_FORMAT_VERSION),
    name: z.string().min(1).max(128),
    version: z.string().min(1).max(64),
    licence: z.string().min(1).max(256),
    intendedUse: z.object({ demonstration: z.boolean(), text: z.string().min(1).max(2000) }),
    createdAt: z.string().optional(),
    architecture: architectureSchema,
    tasks: z.partialRecord(taskNameSchema, taskSpecSchema),
    graphs: graphsSchema,
    files: z.array(packFileSchema).min(1),
  })
  .superRefine((m, ctx) => {
    const a = m.architecture;
    if (a.headDim * a.numHeads !== a.hiddenSize) ctx.addIssue({ code: 'custom', message: 'headDim × numHeads must equal hiddenSize', path: ['architecture'] });
    if (a.numHeads % a.numKvHeads !== 0) ctx.addIssue({ code: 'custom', message: 'numHeads must be a multiple of numKvHeads', path: ['architecture'] });
    if (a.imageTokens.start + a.imageTokens.count > a.vocabSize) ctx.addIssue({ code: 'custom', message: 'image-token range exceeds the vocabulary', path: ['architecture', 'imageTokens'] });
    if (a.imageTokens.count !== a.vq.codebookSize) ctx.addIssue({ code: 'custom', message: 'image-token count must equal the VQ codebook size', path: ['architecture', 'vq'] });
    const split = a.tokenization?.image === 'split';
    if (split !== (a.specialTokens.imagePlaceholder === RELEASE_IMAGE_TOKEN_INDEX))
      ctx.addIssue({ code: 'custom', message: `imagePlaceholder is ${RELEASE_IMAGE_TOKEN_INDEX} exactly when tokenization.image is 'split'`, path: ['architecture', 'specialTokens'] });
    const ids = [a.specialTokens.startIndex, a.specialTokens.endIndex, a.specialTokens.pixelNewline, ...a.specialTokens.eos];
    if (a.tokenization?.bos != null) ids.push(a.tokenization.bos);
    if (!split) ids.push(a.specialTokens.imagePlaceholder);
    if (ids.some((id) => id >= a.vocabSize)) ctx.addIssue({ code: 'custom', message: 'a special token id is outside the vocabulary', path: ['architecture', 'specialTokens'] });
    if (a.vq.sourceGuided && a.vq.imageSize !== a.vision.imageSize)
      ctx.addIssue({ code: 'custom', message: 'a source-guided VQ decoder needs the vision image size', path: ['architecture', 'vq'] });
    if (m.intendedUse.demonstration && !m.intendedUse.text.toLowerCase().includes(DEMONSTRATION_TEXT))
      ctx.addIssue({ code: 'custom', message: `a demonstration pack must say "${DEMONSTRATION_TEXT}"`, path: ['intendedUse', 'text'] });
    const pluginNames = new Set(a.plugins.map((p) => p.name));
    for (const [task, spec] of Object.entries(m.tasks)) {
      if (spec && !pluginNames.has(spec.plugin)) ctx.addIssue({ code: 'custom', message: `task ${task} names unknown plugin ${spec.plugin}`, path: ['tasks', task] });
      if (spec && !spec.promptTemplate.includes('<image>')) ctx.addIssue({ code: 'custom', message: `task ${task} prompt has no <image> placeholder`, path: ['tasks', task] });
    }
    const listed = new Set(m.files.map((f) => f.path));
    if (listed.size !== m.files.length) ctx.addIssue({ code: 'custom', message: 'a file is listed twice', path: ['files'] });
    const graphPaths = [m.graphs.vision, m.graphs.lm, m.graphs.embed.text, m.graphs.head.text, ...Object.values(m.graphs.projector)];
    if (m.graphs.embed.fusion) graphPaths.push(m.graphs.embed.fusion);
    if (m.graphs.head.fusion) graphPaths.push(m.graphs.head.fusion);
    if (m.graphs.vqDecoder) graphPaths.push(m.graphs.vqDecoder);
    for (const g of graphPaths) if (!listed.has(g)) ctx.addIssue({ code: 'custom', message: `graph ${g} is not in files[]`, path: ['graphs'] });
    if (!listed.has('tokenizer.json')) ctx.addIssue({ code: 'custom', message: 'tokenizer.json is not in files[]', path: ['files'] });
    for (const p of a.plugins) if (!m.graphs.projector[p.name]) ctx.addIssue({ code: 'custom', message: `no projector graph for plugin ${p.name}`, path: ['graphs', 'projector'] });
  });
export type PackManifest = z.infer<typeof packManifestSchema>;

/** Detached signature next to the manifest: manifest.sig (JSON). Signs the exact bytes of manifest.json. */
export const manifestSignatureSchema = z.object({
  algorithm: z.literal('ed25519'),
  keyId: z.string().min(1).max(128),
  /** base64 of the 64-byte Ed25519 signature. */
  signature: z.string().min(1).max(200),
});
export type ManifestSignature = z.infer<typeof manifestSignatureSchema>;

/** The app's trusted-keys file: Ed25519 public keys allowed to sign packs. */
export const trustedKeysSchema = z.object({
  keys: z.array(
    z.object({
      keyId: z.string().min(1).max(128),
      /** SPKI PEM, or base64 of the raw 32-byte public key. */
      publicKey: z.string().min(1).max(4000),
      comment: z.string().optional(),
    }),
  ),
});
export type TrustedKeys = z.infer<typeof trustedKeysSchema>;

/** Why a pack was refused (verifyPack error codes). */
export const packErrorCodes = {
  notFound: 'PACK_NOT_FOUND',
  manifestUnreadable: 'PACK_MANIFEST_UNREADABLE',
  schema: 'PACK_SCHEMA',
  missingFile: 'PACK_MISSING_FILE',
  sizeMismatch: 'PACK_SIZE_MISMATCH',
  hashMismatch: 'PACK_HASH_MISMATCH',
  signatureMissing: 'PACK_SIGNATURE_MISSING',
  signatureInvalid: 'PACK_SIGNATURE_INVALID',
  untrustedKey: 'PACK_UNTRUSTED_KEY',
  loadFailed: 'PACK_LOAD_FAILED',
  symlink: 'PACK_SYMLINK',
  /** The pack needs more memory than this machine has free (checked before anything is read). */
  tooLarge: 'PACK_TOO_LARGE',
} as const;
export type PackErrorCode = (typeof packErrorCodes)[keyof typeof packErrorCodes];
