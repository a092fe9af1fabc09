import { Tokenizer } from '@huggingface/tokenizers';
import type { ExecutionProvider } from '../../src-shared/contracts/app';
import {
  packErrorCodes,
  RELEASE_IMAGE_TOKEN_INDEX,
  type ComprehensionTask,
  type GenerationTask,
  type PackManifest,
  type PluginSpec,
  type TaskSpec,
} from '../../src-shared/contracts/model-pack';
import { DomainError } from '../../src-shared/ipc/envelope';
import { availableExecutionProviders, preferredExecutionProvider } from './execution-providers';
import { blockMeanConsistent, type Rgb8 } from './image-ops';
import { answerConfidence, gridToGeometry, summarize, tokenGrid, type AnswerConfidence, type ConfidenceMap, type ConfidenceSummary, type StepConfidence, type TokenGrid } from './confidence';
import { TileBlender, cropRgb } from './tiling';
import { ImageWorker } from './image-worker';
import { OrtEngine } from './ort-engine';
import { verifyPack, type VerifiedPack, type VerifyOptions } from './pack-verify';

export const modelErrorCodes = {
  badInput: 'MODEL_BAD_INPUT',
  unknownTask: 'MODEL_UNKNOWN_TASK',
  noGeneration: 'MODEL_NO_GENERATION',
  cancelled: 'CANCELLED',
} as const;

/** An input image for the model: 8-bit RGB (grey images replicated), plus its physical geometry. */
export interface ModelImage {
  rgb: Rgb8;
  /** Row and column spacing in mm (DICOM PixelSpacing), when known. */
  pixelSpacing?: [number, number] | null;
  /** How the pixels were made 8-bit (e.g. "W 400 / L 40"), recorded with the run. */
  window?: string | null;
}

export interface LoadOptions extends VerifyOptions {
  /** 'auto' (default): GPU provider where present, else CPU. */
  provider?: ExecutionProvider | 'auto';
  /** intra-op threads per session (default: ORT's choice, all cores). */
  threads?: number;
  /** Use an already verified pack (skips a second verification). */
  verified?: VerifiedPack;
}

export interface RunInfo {
  pack: { name: string; version: string; manifestSha256: string; demonstration: boolean };
  provider: ExecutionProvider;
  task: string;
  plugin: string;
  window: string | null;
}

export interface AskRequest {
  image: ModelImage;
  question: string;
  task?: ComprehensionTask;
  maxTokens?: number;
  signal?: AbortSignal;
  onToken?: (delta: string, tokenId: number) => void;
  /** Keep the logits of every step (parity tests). */
  collectLogits?: boolean;
}

export interface AskResult extends RunInfo {
  text: string;
  tokens: number[];
  promptIds: number[];
  stopReason: 'eos' | 'maxTokens' | 'cancelled';
  timings: { preprocessMs: number; visionMs: number; prefillMs: number; ttftMs: number; decodeMs: number; decodeTokensPerSecond: number };
  logits?: Float32Array[];
  /** Per-token probabilities (from the decoding's own logits), grouped into words of `text`. */
  confidence: AnswerConfidence;
}

/** Alternatives recorded per text token (for the answer's tooltips). */
const ANSWER_TOP_K = 3;

export interface GenerateRequest {
  task: GenerationTask;
  image: ModelImage;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  collectLogits?: boolean;
}

export interface GenerateResult extends RunInfo {
  /** Grey pixels in [0,1], rows × cols, row-major, at the input's geometry (× outputScale). */
  pixels: Float32Array;
  rows: number;
  cols: number;
  pixelSpacing: [number, number] | null;
  outputScale: number;
  /** The VQ decoder's output: planar RGB [3, S, S] in [0,1]. */
  vqPixels: Float32Array;
  vqSize: number;
  /** Generated token ids (image-token range). */
  tokens: number[];
  promptIds: number[];
  timings: { preprocessMs: number; visionMs: number; prefillMs: number; tokensMs: number; vqDecodeMs: number; postprocessMs: number; totalMs: number };
  logits?: Float32Array[];
  /** Per output pixel: the chosen image token's probability and its distribution's entropy, blended as the pixels were. */
  confidence: ConfidenceMap & { summary: ConfidenceSummary };
  /** Per tile, the raw token grids the map was made from (raster order of the VQ grid). */
  tokenGrids: TokenGrid[];
}

const now = (): number => performance.now();

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new DomainError(modelErrorCodes.cancelled, 'cancelled');
}

/**
 * The pack with the verified bytes of its files: the given verified pack when it kept them, else a fresh
 * verification (which must find the same manifest the caller verified).
 */
async function verifiedWithContents(dir: string, opts: LoadOptions): Promise<VerifiedPack & { contents: Map<string, Uint8Array> }> {
  const given = opts.verified;
  if (given?.contents) return given as VerifiedPack & { contents: Map<string, Uint8Array> };
  const fresh = await verifyPack(given?.dir ?? dir, { ...opts, skipHashes: false, keepContents: true });
  if (!fresh.ok) throw new DomainError(fresh.code, fresh.message);
  if (given && fresh.manifestSha256 !== given.manifestSha256) {
    throw new DomainError(packErrorCodes.hashMismatch, `manifest.json of ${fresh.dir} changed after the pack was verified; verify the pack again`);
  }
  if (!fresh.contents) throw new DomainError(packErrorCodes.loadFailed, 'pack verification kept no file contents');
  return fresh as VerifiedPack & { contents: Map<string, Uint8Array> };
}

/**
 * Verifies (unless given a verified pack that kept its contents) and loads a pack's sessions (in the engine
 * worker) and tokenizer from the verified bytes: nothing in the pack folder is read after it was hashed.
 */
export async function loadPack(dir: string, opts: LoadOptions = {}): Promise<ModelRuntime> {
  const withContents = await verifiedWithContents(dir, opts);
  const { contents, ...verified } = withContents;
  // The bytes go to the engine (transferred): a verified pack loads once; loading again verifies again.
  delete (withContents as VerifiedPack).contents;
  const wanted = !opts.provider || opts.provider === 'auto' ? preferredExecutionProvider(availableExecutionProviders()) : opts.provider;
  const m = verified.manifest;
  const bytes = (p: string): Uint8Array => {
    const b = contents.get(p);
    if (!b) throw new DomainError(packErrorCodes.missingFile, `file ${p} is not among the pack's verified files`);
    return b;
  };
  const text = (p: string): string => Buffer.from(bytes(p).buffer, bytes(p).byteOffset, bytes(p).byteLength).toString('utf8');
  const engine = new OrtEngine();
  try {
    // The tokenizer first: the graphs' buffers are unusable here once handed to the engine.
    const tokJson = JSON.parse(text('tokenizer.json')) as object;
    const cfgPath = m.files.find((f) => f.path === 'tokenizer_config.json');
    const tokCfg = cfgPath ? (JSON.parse(text(cfgPath.path)) as object) : {};
    const tokenizer = new Tokenizer(tokJson, tokCfg);
    const projector: Record<string, Uint8Array> = {};
    for (const [name, p] of Object.entries(m.graphs.projector)) projector[name] = bytes(p);
    const a = m.architecture;
    const provider = await engine.load(
      {
        lm: bytes(m.graphs.lm),
        vision: bytes(m.graphs.vision),
        projector,
        embedText: bytes(m.graphs.embed.text),
        headText: bytes(m.graphs.head.text),
        embedFusion: m.graphs.embed.fusion ? bytes(m.graphs.embed.fusion) : null,
        headFusion: m.graphs.head.fusion ? bytes(m.graphs.head.fusion) : null,
        vq: m.graphs.vqDecoder ? bytes(m.graphs.vqDecoder) : null,
      },
      { hiddenSize: a.hiddenSize, numLayers: a.numLayers, numKvHeads: a.numKvHeads, headDim: a.headDim },
      wanted,
      opts.threads ?? 0,
    );
    contents.clear();
    const rt = new ModelRuntime(verified, engine, tokenizer, provider);
    await rt.warmUp();
    return rt;
  } catch (e) {
    await engine.close();
    if (e instanceof DomainError) throw e;
    throw new DomainError(packErrorCodes.loadFailed, `pack ${m.name} ${m.version} failed to load: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export class ModelRuntime {
  readonly manifest: PackManifest;
  readonly dir: string;
  readonly manifestSha256: string;
  private readonly worker = new ImageWorker();
  private closed = false;

  constructor(
    readonly verified: VerifiedPack,
    private readonly engine: OrtEngine,
    readonly tokenizer: Tokenizer,
    readonly provider: ExecutionProvider,
  ) {
    this.manifest = verified.manifest;
    this.dir = verified.dir;
    this.manifestSha256 = verified.manifestSha256;
  }

  get arch(): PackManifest['architecture'] {
    return this.manifest.architecture;
  }

  /** Starts the image worker and runs each graph once, so the first request pays no start-up cost. */
  async warmUp(): Promise<void> {
    const img: ModelImage = { rgb: { width: 2, height: 1, data: new Uint8Array(6).fill(128) } };
    const com = this.arch.plugins.find((p) => !p.fusion) ?? this.arch.plugins[0]!;
    const gen = this.arch.plugins.find((p) => p.fusion);
    const { embeds, n } = await this.imageEmbeds(img, com);
    await this.engine.decode(
      { promptIds: [0, this.arch.specialTokens.imagePlaceholder], placeholderAt: 1, imageEmbeds: embeds, nImage: n, pluginIndex: com.index, fusion: false, maxSteps: 2, eos: [], range: [0, this.arch.vocabSize], collectLogits: false },
      () => undefined,
    );
    if (gen) {
      await this.engine.benchText(1, 0, gen.index, gen.fusion, 1);
      const vq = this.arch.vq;
      if (vq) await this.engine.vqDecode(new Array<number>(vq.grid ** 2).fill(0), vq.sourceGuided ? new Float32Array(3 * vq.imageSize ** 2) : undefined);
    }
  }

  private task(name: string, kind: TaskSpec['kind']): { spec: TaskSpec; plugin: PluginSpec } {
    const spec = this.manifest.tasks[name as keyof PackManifest['tasks']];
    if (!spec || spec.kind !== kind) throw new DomainError(modelErrorCodes.unknownTask, `this pack has no ${kind} task "${name}"`);
    const plugin = this.arch.plugins.find((p) => p.name === spec.plugin);
    if (!plugin) throw new DomainError(modelErrorCodes.unknownTask, `task ${name} names plugin ${spec.plugin}, missing from the pack`);
    return { spec, plugin };
  }

  /** Text of token ids (special tokens kept visible; the library refuses an empty list). */
  decodeIds(ids: number[]): string {
    return ids.length === 0 ? '' : this.tokenizer.decode(ids, { skip_special_tokens: false });
  }

  /** Token ids of a prompt (no special tokens added: the template carries them). */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  private async imageEmbeds(
    image: ModelImage,
    plugin: PluginSpec,
    keepPixels = false,
  ): Promise<{ embeds: Float32Array; n: number; preprocessMs: number; visionMs: number; pixelValues?: Float32Array }> {
    const v = this.arch.vision;
    const { width, height, data } = image.rgb;
    if (!(width > 0 && height > 0 && data.length === width * height * 3)) throw new DomainError(modelErrorCodes.badInput, 'image must be 8-bit RGB with width × height × 3 bytes');
    let t = now();
    const px = await this.worker.preprocess(image.rgb, v.imageSize, v.padColor, v.mean, v.std);
    const preprocessMs = now() - t;
    t = now();
    // the vision worker takes the buffer; a source-guided VQ decoder needs the same pixels afterwards
    const pixelValues = keepPixels ? px.slice() : undefined;
    const r = await this.engine.encodeImage(px, v.imageSize, `vision_hidden_${plugin.visionHiddenIndex}`, plugin.name);
    return { ...r, preprocessMs, visionMs: now() - t, ...(pixelValues ? { pixelValues } : {}) };
  }

  /**
   * The prompt's ids and where the image goes. 'split' packs follow the released code: the pieces around
   * "<image>" are encoded apart (no piece sees its neighbour, as each was its own tokenizer call), the BOS goes
   * once at the front, the image sits at RELEASE_IMAGE_TOKEN_INDEX. Otherwise one pass, "<image>" a token.
   */
  promptIds(prompt: string): { ids: number[]; at: number } {
    const tk = this.arch.tokenization;
    const bos = tk?.bos != null ? [tk.bos] : [];
    if (tk?.image === 'split') {
      const pieces = prompt.split('<image>');
      if (pieces.length !== 2) throw new DomainError(modelErrorCodes.badInput, 'the prompt must contain exactly one <image> placeholder');
      const head = [...bos, ...this.encode(pieces[0]!)];
      return { ids: [...head, RELEASE_IMAGE_TOKEN_INDEX, ...this.encode(pieces[1]!)], at: head.length };
    }
    const ids = [...bos, ...this.encode(prompt)];
    const ph = this.arch.specialTokens.imagePlaceholder;
    const at = ids.indexOf(ph);
    if (at < 0 || ids.indexOf(ph, at + 1) >= 0) throw new DomainError(modelErrorCodes.badInput, 'the prompt must contain exactly one <image> placeholder');
    return { ids, at };
  }

  private runInfo(task: string, plugin: PluginSpec, image: ModelImage): RunInfo {
    const m = this.manifest;
    return {
      pack: { name: m.name, version: m.version, manifestSha256: this.manifestSha256, demonstration: m.intendedUse.demonstration },
      provider: this.provider,
      task,
      plugin: plugin.name,
      window: image.window ?? null,
    };
  }

  /** Comprehension: greedy decoding with streamed text; stops on EOS, maxTokens or the signal. */
  async ask(req: AskRequest): Promise<AskResult> {
    this.ensureOpen();
    const taskName = req.task ?? 'vqa';
    const { spec, plugin } = this.task(taskName, 'comprehension');
    const question = req.question.trim() || spec.defaultQuestion || '';
    const { ids: promptIds, at } = this.promptIds(spec.promptTemplate.replaceAll('{question}', question));
    // prompt + image + answer stay within maxPosition (for M3 the base's sliding window, which full attention
    // matches only while everything fits in it)
    const room = this.arch.maxPosition - (promptIds.length - 1 + this.arch.vision.numPatches);
    if (room < 1) throw new DomainError(modelErrorCodes.badInput, `the question is too long for this model (${this.arch.maxPosition} positions)`);
    const maxTokens = Math.max(1, Math.min(req.maxTokens ?? 256, room));
    throwIfAborted(req.signal);
    const t0 = now();
    const img = await this.imageEmbeds(req.image, plugin);
    throwIfAborted(req.signal);
    const eos = new Set(this.arch.specialTokens.eos);
    const tokens: number[] = [];
    const logits: Float32Array[] = [];
    const steps: StepConfidence[] = [];
    let text = '';
    let ttftMs = 0;
    let stoppedByCaller = false;
    const tDecode = now();
    const out = await this.engine.decode(
      {
        promptIds,
        placeholderAt: at,
        imageEmbeds: img.embeds,
        nImage: img.n,
        pluginIndex: plugin.index,
        fusion: plugin.fusion,
        maxSteps: maxTokens,
        eos: [...eos],
        range: [0, this.arch.vocabSize],
        collectLogits: req.collectLogits === true,
        confidenceTopK: ANSWER_TOP_K,
      },
      (token, l, c) => {
        if (stoppedByCaller) return;
        if (tokens.length === 0) ttftMs = now() - t0;
        tokens.push(token);
        if (l) logits.push(l);
        if (c) steps.push(c);
        if (eos.has(token)) return;
        const full = this.decodeIds(tokens.filter((x) => !eos.has(x)));
        if (full.length > text.length && !full.endsWith('\uFFFD') && full.startsWith(text)) {
          req.onToken?.(full.slice(text.length), token);
          text = full;
        }
        if (req.signal?.aborted) stoppedByCaller = true;
      },
      req.signal,
    );
    const decodeMs = now() - tDecode - out.prefillMs;
    const stopReason: AskResult['stopReason'] = stoppedByCaller || out.stopReason === 'cancelled' ? 'cancelled' : out.stopReason;
    const finalText = this.decodeIds(tokens.filter((x) => !eos.has(x)));
    // flush what was held back (an incomplete UTF-8 sequence at the end stays as U+FFFD)
    if (finalText.length > text.length && finalText.startsWith(text)) req.onToken?.(finalText.slice(text.length), tokens.at(-1)!);
    const decoded = tokens.length - 1;
    const confidence = answerConfidence(this.tokenPieces(tokens, eos), steps, (id) => this.decodeIds([id]).trim());
    return {
      ...this.runInfo(taskName, plugin, req.image),
      text: finalText,
      tokens,
      promptIds,
      stopReason,
      timings: {
        preprocessMs: img.preprocessMs,
        visionMs: img.visionMs,
        prefillMs: out.prefillMs,
        ttftMs,
        decodeMs,
        decodeTokensPerSecond: decoded > 0 ? (decoded / decodeMs) * 1000 : 0,
      },
      ...(req.collectLogits ? { logits } : {}),
      confidence,
    };
  }

  /**
   * The text each token added to the answer (the answer is their concatenation): '' for the end token and
   * for a token that leaves an incomplete UTF-8 sequence (its characters come with the next piece).
   */
  private tokenPieces(tokens: number[], eos: Set<number>): string[] {
    const kept: number[] = [];
    let prev = '';
    return tokens.map((t) => {
      if (eos.has(t)) return '';
      kept.push(t);
      const full = this.decodeIds(kept);
      if (full.endsWith('\uFFFD') || !full.startsWith(prev)) return '';
      const piece = full.slice(prev.length);
      prev = full;
      return piece;
    });
  }

  /**
   * The post-processing the model's output gets after it is at the input's geometry, named: SR with
   * dataConsistency 'block-mean' is projected onto the images whose scale×scale block means equal the input.
   * The eval applies exactly these steps to its interpolation baseline too, so both sides get the same.
   */
  outputPostprocess(task: GenerationTask): { steps: string[]; apply: (pixels: Float32Array, input: Rgb8) => Float32Array } {
    const { spec } = this.task(task, 'generation');
    const scale = spec.outputScale ?? 1;
    if (scale > 1 && spec.dataConsistency === 'block-mean') return { steps: ['block-mean projection'], apply: (p, input) => blockMeanConsistent(p, input, scale) };
    return { steps: [], apply: (p) => p };
  }

  /**
   * Generation at the input's native resolution: an input larger than the task's declared tile (spec.tiling,
   * the input size the model was trained on) is generated in overlapping tiles and blended (tiling.ts);
   * then the task's post-processing (outputPostprocess) on the whole image.
   */
  async generate(req: GenerateRequest): Promise<GenerateResult> {
    this.ensureOpen();
    const { spec } = this.task(req.task, 'generation');
    if (!this.manifest.graphs.vqDecoder) throw new DomainError(modelErrorCodes.noGeneration, 'this pack has no VQ decoder');
    const scale = spec.outputScale ?? 1;
    // without a declared tiling, one tile as large as the input: the single-square path
    const tile = spec.tiling?.inputTile ?? Math.max(req.image.rgb.width, req.image.rgb.height);
    const overlap = spec.tiling?.overlap ?? 0;
    const t0 = now();
    const total = this.arch.vq.grid ** 2;
    let first: { vqPixels: Float32Array; vqSize: number; promptIds: number[] } | undefined;
    const tokens: number[] = [];
    const timings = { preprocessMs: 0, visionMs: 0, prefillMs: 0, tokensMs: 0, vqDecodeMs: 0, postprocessMs: 0, totalMs: 0 };
    const logits: Float32Array[] = [];
    const tokenGrids: TokenGrid[] = [];
    const maxEntropy = Math.log(this.arch.imageTokens.count);
    // the pixels and the confidence maps are blended with the same tile weights (tiling.ts)
    const rgb = req.image.rgb;
    const blend = { pixels: new TileBlender(rgb.height, rgb.width, tile, overlap, scale), probability: new TileBlender(rgb.height, rgb.width, tile, overlap, scale), entropy: new TileBlender(rgb.height, rgb.width, tile, overlap, scale) };
    const single: { pixels?: Float32Array; map?: ConfidenceMap } = {};
    for (let iy = 0; iy < blend.pixels.ys.length; iy++) {
      for (let ix = 0; ix < blend.pixels.xs.length; ix++) {
        const info = blend.pixels.tileInfo(iy, ix);
        // one tile: the whole input, exactly the path a small input always took
        const crop = info.count === 1 ? rgb : cropRgb(rgb, info.top, info.left, info.rows, info.cols);
        const g = await this.generateSquare(req, crop, (done) => req.onProgress?.(info.index * total + done, info.count * total));
        first ??= g;
        tokens.push(...g.tokens);
        if (g.logits) logits.push(...g.logits);
        for (const k of ['preprocessMs', 'visionMs', 'prefillMs', 'tokensMs', 'vqDecodeMs', 'postprocessMs'] as const) timings[k] += g.timings[k];
        const grid = tokenGrid(g.steps, this.arch.vq.grid);
        tokenGrids.push(grid);
        const map = gridToGeometry(grid, crop.height, crop.width, scale, maxEntropy);
        if (info.count === 1) Object.assign(single, { pixels: g.pixels, map });
        else {
          blend.pixels.add(iy, ix, g.pixels);
          blend.probability.add(iy, ix, map.probability);
          blend.entropy.add(iy, ix, map.entropy);
        }
      }
    }
    const tiled = single.pixels ?? blend.pixels.result();
    const map = single.map ?? { rows: rgb.height * scale, cols: rgb.width * scale, probability: blend.probability.result(), entropy: blend.entropy.result(), maxEntropy };
    // the figures are per token (what the model chose), not per resampled pixel
    const summary = summarize(
      tokenGrids.flatMap((g) => Array.from(g.probability)),
      tokenGrids.flatMap((g) => Array.from(g.entropy)),
      maxEntropy,
    );
    const t = now();
    const pixels = this.outputPostprocess(req.task).apply(tiled, req.image.rgb);
    timings.postprocessMs += now() - t;
    timings.totalMs = now() - t0;
    const rows = req.image.rgb.height;
    const cols = req.image.rgb.width;
    const sp = req.image.pixelSpacing;
    return {
      ...this.runInfo(req.task, this.task(req.task, 'generation').plugin, req.image),
      pixels,
      rows: rows * scale,
      cols: cols * scale,
      pixelSpacing: sp ? [sp[0] / scale, sp[1] / scale] : null,
      outputScale: scale,
      vqPixels: first!.vqPixels,
      vqSize: first!.vqSize,
      tokens,
      promptIds: first!.promptIds,
      timings,
      ...(req.collectLogits ? { logits } : {}),
      confidence: { ...map, summary },
      tokenGrids,
    };
  }

  /** One square of generation: exactly grid² image tokens (logits restricted to the image range), VQ decode, resample to the crop × scale. */
  private async generateSquare(req: GenerateRequest, crop: Rgb8, onProgress: (done: number) => void) {
    const { spec, plugin } = this.task(req.task, 'generation');
    const { ids: promptIds, at } = this.promptIds(spec.promptTemplate.replaceAll('{question}', ''));
    const { start, count } = this.arch.imageTokens;
    const total = this.arch.vq.grid ** 2;
    throwIfAborted(req.signal);
    const img = await this.imageEmbeds({ ...req.image, rgb: crop }, plugin, this.arch.vq.sourceGuided === true);
    throwIfAborted(req.signal);
    const logits: Float32Array[] = [];
    const steps: StepConfidence[] = [];
    let done = 0;
    let t = now();
    const out = await this.engine.decode(
      { promptIds, placeholderAt: at, imageEmbeds: img.embeds, nImage: img.n, pluginIndex: plugin.index, fusion: plugin.fusion, maxSteps: total, eos: [], range: [start, start + count], collectLogits: req.collectLogits === true, confidenceTopK: 0 },
      (_token, l, c) => {
        if (l) logits.push(l);
        if (c) steps.push(c);
        onProgress(++done);
      },
      req.signal,
    );
    if (out.stopReason === 'cancelled' || out.tokens.length !== total) throw new DomainError(modelErrorCodes.cancelled, 'cancelled');
    throwIfAborted(req.signal);
    const tokensMs = now() - t - out.prefillMs;
    t = now();
    const vq = await this.engine.vqDecode(out.tokens.map((x) => x - start), img.pixelValues);
    const vqDecodeMs = now() - t;
    t = now();
    const pixels = await this.worker.postprocess(vq.pixels.slice(), vq.size, crop.height, crop.width, spec.outputScale ?? 1);
    return {
      pixels,
      vqPixels: vq.pixels,
      vqSize: vq.size,
      tokens: out.tokens,
      steps,
      promptIds,
      logits: req.collectLogits ? logits : undefined,
      timings: { preprocessMs: img.preprocessMs, visionMs: img.visionMs, prefillMs: out.prefillMs, tokensMs, vqDecodeMs, postprocessMs: now() - t },
    };
  }

  /** Raw language-model timing for benchmarks: prefill `n` text tokens then decode `m` greedily. */
  benchText(n: number, m: number, pluginName = 'com'): Promise<{ prefillMs: number; decodeMs: number }> {
    const plugin = this.arch.plugins.find((p) => p.name === pluginName) ?? this.arch.plugins[0]!;
    return this.engine.benchText(n, m, plugin.index, plugin.fusion, Math.max(2, this.arch.imageTokens.start - 1));
  }

  private ensureOpen(): void {
    if (this.closed) throw new DomainError(packErrorCodes.loadFailed, 'the model was unloaded');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.close();
    await this.engine.close();
  }
}
