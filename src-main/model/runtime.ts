import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../../src-shared/contracts/app';
import {
  packErrorCodes,
  type ComprehensionTask,
  type GenerationTask,
  type PackManifest,
  type PluginSpec,
  type TaskSpec,
} from '../../src-shared/contracts/model-pack';
import { DomainError } from '../../src-shared/ipc/envelope';
import { availableExecutionProviders, preferredExecutionProvider } from '../app/execution-providers';
import type { Rgb8 } from './image-ops';
import { ImageWorker } from './image-worker';
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
}

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
}

type Session = ort.InferenceSession;

const now = (): number => performance.now();

function argmaxRange(x: Float32Array, start: number, end: number): number {
  let best = start;
  let bv = x[start]!;
  for (let i = start + 1; i < end; i++) {
    const v = x[i]!;
    if (v > bv) {
      bv = v;
      best = i;
    }
  }
  return best;
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new DomainError(modelErrorCodes.cancelled, 'cancelled');
}

async function createSession(file: string, provider: ExecutionProvider, threads?: number): Promise<{ session: Session; provider: ExecutionProvider }> {
  const base: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', ...(threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}) };
  if (provider !== 'cpu') {
    try {
      const session = await ort.InferenceSession.create(file, { ...base, executionProviders: [provider, 'cpu'] });
      return { session, provider };
    } catch {
      // fall through to CPU: the provider is listed by this build but does not start on this machine
    }
  }
  return { session: await ort.InferenceSession.create(file, { ...base, executionProviders: ['cpu'] }), provider: 'cpu' };
}

/** Verifies (unless given a verified pack) and loads a pack's sessions and tokenizer. */
export async function loadPack(dir: string, opts: LoadOptions = {}): Promise<ModelRuntime> {
  const verified = opts.verified ?? (await verifyPack(dir, opts));
  if (!verified.ok) throw new DomainError(verified.code, verified.message);
  const wanted = !opts.provider || opts.provider === 'auto' ? preferredExecutionProvider(availableExecutionProviders()) : opts.provider;
  const m = verified.manifest;
  const file = (p: string): string => path.join(verified.dir, p);
  try {
    const lm = await createSession(file(m.graphs.lm), wanted, opts.threads);
    const provider = lm.provider; // every other session uses what the language model got
    const mk = async (p: string): Promise<Session> => (await createSession(file(p), provider, opts.threads)).session;
    const projector: Record<string, Session> = {};
    for (const [name, p] of Object.entries(m.graphs.projector)) projector[name] = await mk(p);
    const sessions: Sessions = {
      lm: lm.session,
      vision: await mk(m.graphs.vision),
      projector,
      embedText: await mk(m.graphs.embed.text),
      headText: await mk(m.graphs.head.text),
      embedFusion: m.graphs.embed.fusion ? await mk(m.graphs.embed.fusion) : null,
      headFusion: m.graphs.head.fusion ? await mk(m.graphs.head.fusion) : null,
      vq: m.graphs.vqDecoder ? await mk(m.graphs.vqDecoder) : null,
    };
    const tokJson = JSON.parse(readFileSync(file('tokenizer.json'), 'utf8')) as object;
    const cfgPath = m.files.find((f) => f.path === 'tokenizer_config.json');
    const tokCfg = cfgPath ? (JSON.parse(readFileSync(file(cfgPath.path), 'utf8')) as object) : {};
    const tokenizer = new Tokenizer(tokJson, tokCfg);
    return new ModelRuntime(verified, sessions, tokenizer, provider);
  } catch (e) {
    if (e instanceof DomainError) throw e;
    throw new DomainError(packErrorCodes.loadFailed, `pack ${m.name} ${m.version} failed to load: ${e instanceof Error ? e.message : String(e)}`);
  }
}

interface Sessions {
  lm: Session;
  vision: Session;
  projector: Record<string, Session>;
  embedText: Session;
  headText: Session;
  embedFusion: Session | null;
  headFusion: Session | null;
  vq: Session | null;
}

interface KvCache {
  tensors: ort.Tensor[];
  length: number;
}

export class ModelRuntime {
  readonly manifest: PackManifest;
  readonly dir: string;
  readonly manifestSha256: string;
  private readonly worker = new ImageWorker();
  private closed = false;

  constructor(
    readonly verified: VerifiedPack,
    private readonly s: Sessions,
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

  private async imageEmbeds(image: ModelImage, plugin: PluginSpec): Promise<{ embeds: Float32Array; n: number; preprocessMs: number; visionMs: number }> {
    const v = this.arch.vision;
    const { width, height, data } = image.rgb;
    if (!(width > 0 && height > 0 && data.length === width * height * 3)) throw new DomainError(modelErrorCodes.badInput, 'image must be 8-bit RGB with width × height × 3 bytes');
    let t = now();
    const px = await this.worker.preprocess(image.rgb, v.imageSize, v.padColor, v.mean, v.std);
    const preprocessMs = now() - t;
    t = now();
    const out = await this.s.vision.run({ pixel_values: new ort.Tensor('float32', px, [1, 3, v.imageSize, v.imageSize]) });
    const feats = out[`vision_hidden_${plugin.visionHiddenIndex}`];
    if (!feats) throw new DomainError(packErrorCodes.loadFailed, `vision.onnx has no output vision_hidden_${plugin.visionHiddenIndex}`);
    const proj = this.s.projector[plugin.name];
    if (!proj) throw new DomainError(packErrorCodes.loadFailed, `no projector for plugin ${plugin.name}`);
    const po = await proj.run({ image_features: feats });
    const emb = po.image_embeds!;
    return { embeds: emb.data as Float32Array, n: emb.dims[1]!, preprocessMs, visionMs: now() - t };
  }

  private async embed(ids: number[], plugin: PluginSpec): Promise<Float32Array> {
    const sess = plugin.fusion ? this.s.embedFusion : this.s.embedText;
    if (!sess) throw new DomainError(packErrorCodes.loadFailed, 'pack has no fusion embedding');
    const out = await sess.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map((i) => BigInt(i))), [1, ids.length]) });
    return out.inputs_embeds!.data as Float32Array;
  }

  private async logits(hiddenLast: Float32Array, plugin: PluginSpec): Promise<Float32Array> {
    const sess = plugin.fusion ? this.s.headFusion : this.s.headText;
    if (!sess) throw new DomainError(packErrorCodes.loadFailed, 'pack has no fusion head');
    const out = await sess.run({ hidden: new ort.Tensor('float32', hiddenLast, [1, 1, this.arch.hiddenSize]) });
    return out.logits!.data as Float32Array;
  }

  private emptyCache(): KvCache {
    const a = this.arch;
    const tensors: ort.Tensor[] = [];
    for (let i = 0; i < 2 * a.numLayers; i++) tensors.push(new ort.Tensor('float32', new Float32Array(0), [1, a.numKvHeads, 0, a.headDim]));
    return { tensors, length: 0 };
  }

  /** One pass of the language model over `t` new embeddings; returns the last position's hidden state. */
  private async lmStep(embeds: Float32Array, t: number, plugin: PluginSpec, cache: KvCache): Promise<{ last: Float32Array; cache: KvCache }> {
    const a = this.arch;
    const feeds: Record<string, ort.Tensor> = {
      inputs_embeds: new ort.Tensor('float32', embeds, [1, t, a.hiddenSize]),
      plugin: new ort.Tensor('int64', BigInt64Array.from([BigInt(plugin.index)]), [1]),
    };
    for (let l = 0; l < a.numLayers; l++) {
      feeds[`past_key_${l}`] = cache.tensors[2 * l]!;
      feeds[`past_value_${l}`] = cache.tensors[2 * l + 1]!;
    }
    const out = await this.s.lm.run(feeds);
    const tensors: ort.Tensor[] = [];
    for (let l = 0; l < a.numLayers; l++) tensors.push(out[`present_key_${l}`]!, out[`present_value_${l}`]!);
    const hidden = out.hidden!.data as Float32Array;
    return { last: hidden.slice((t - 1) * a.hiddenSize, t * a.hiddenSize), cache: { tensors, length: cache.length + t } };
  }

  /** Prompt ids -> embeddings with the image tokens spliced at the placeholder. */
  private async prefillEmbeds(promptIds: number[], image: ModelImage, plugin: PluginSpec) {
    const ph = this.arch.specialTokens.imagePlaceholder;
    const at = promptIds.indexOf(ph);
    if (at < 0 || promptIds.indexOf(ph, at + 1) >= 0) throw new DomainError(modelErrorCodes.badInput, 'the prompt must contain exactly one <image> placeholder');
    const img = await this.imageEmbeds(image, plugin);
    const h = this.arch.hiddenSize;
    const text = await this.embed(promptIds.map((id) => (id === ph ? 0 : id)), plugin);
    const total = promptIds.length - 1 + img.n;
    const embeds = new Float32Array(total * h);
    embeds.set(text.subarray(0, at * h), 0);
    embeds.set(img.embeds, at * h);
    embeds.set(text.subarray((at + 1) * h), (at + img.n) * h);
    return { embeds, total, preprocessMs: img.preprocessMs, visionMs: img.visionMs };
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
    const promptIds = this.encode(spec.promptTemplate.replaceAll('{question}', question));
    const maxTokens = Math.max(1, Math.min(req.maxTokens ?? 256, this.arch.maxPosition));
    throwIfAborted(req.signal);
    const t0 = now();
    const pre = await this.prefillEmbeds(promptIds, req.image, plugin);
    throwIfAborted(req.signal);
    let t = now();
    let step = await this.lmStep(pre.embeds, pre.total, plugin, this.emptyCache());
    let logits = await this.logits(step.last, plugin);
    const prefillMs = now() - t;
    const ttftMs = now() - t0;
    const eos = new Set(this.arch.specialTokens.eos);
    const tokens: number[] = [];
    const all: Float32Array[] = [];
    let text = '';
    let stopReason: AskResult['stopReason'] = 'maxTokens';
    t = now();
    for (;;) {
      if (req.collectLogits) all.push(logits);
      const next = argmaxRange(logits, 0, logits.length);
      tokens.push(next);
      if (eos.has(next)) {
        stopReason = 'eos';
        break;
      }
      const full = this.decodeIds(tokens.filter((x) => !eos.has(x)));
      if (full.length > text.length && !full.endsWith('\uFFFD') && full.startsWith(text)) {
        req.onToken?.(full.slice(text.length), next);
        text = full;
      }
      if (tokens.length >= maxTokens) break;
      if (req.signal?.aborted) {
        stopReason = 'cancelled';
        break;
      }
      const e = await this.embed([next], plugin);
      step = await this.lmStep(e, 1, plugin, step.cache);
      logits = await this.logits(step.last, plugin);
    }
    const decodeMs = now() - t;
    const finalText = this.decodeIds(tokens.filter((x) => !eos.has(x)));
    // flush what was held back (an incomplete UTF-8 sequence at the end stays as U+FFFD)
    if (finalText.length > text.length && finalText.startsWith(text)) req.onToken?.(finalText.slice(text.length), tokens.at(-1)!);
    text = finalText;
    const decoded = tokens.length - 1;
    return {
      ...this.runInfo(taskName, plugin, req.image),
      text,
      tokens,
      promptIds,
      stopReason,
      timings: {
        preprocessMs: pre.preprocessMs,
        visionMs: pre.visionMs,
        prefillMs,
        ttftMs,
        decodeMs,
        decodeTokensPerSecond: decoded > 0 ? (decoded / decodeMs) * 1000 : 0,
      },
      ...(req.collectLogits ? { logits: all } : {}),
    };
  }

  /** Generation: exactly grid² image tokens (logits restricted to the image range), VQ decode, resample. */
  async generate(req: GenerateRequest): Promise<GenerateResult> {
    this.ensureOpen();
    const { spec, plugin } = this.task(req.task, 'generation');
    if (!this.s.vq || !this.arch.vq) throw new DomainError(modelErrorCodes.noGeneration, 'this pack has no VQ decoder');
    const promptIds = this.encode(spec.promptTemplate.replaceAll('{question}', ''));
    const { start, count } = this.arch.imageTokens;
    const grid = this.arch.vq.grid;
    const total = grid * grid;
    throwIfAborted(req.signal);
    const t0 = now();
    const pre = await this.prefillEmbeds(promptIds, req.image, plugin);
    let t = now();
    let step = await this.lmStep(pre.embeds, pre.total, plugin, this.emptyCache());
    let logits = await this.logits(step.last, plugin);
    const prefillMs = now() - t;
    const tokens: number[] = [];
    const all: Float32Array[] = [];
    t = now();
    for (let i = 0; i < total; i++) {
      throwIfAborted(req.signal);
      if (req.collectLogits) all.push(logits);
      const next = argmaxRange(logits, start, start + count);
      tokens.push(next);
      req.onProgress?.(i + 1, total);
      if (i === total - 1) break;
      const e = await this.embed([next], plugin);
      step = await this.lmStep(e, 1, plugin, step.cache);
      logits = await this.logits(step.last, plugin);
    }
    const tokensMs = now() - t;
    t = now();
    const codes = BigInt64Array.from(tokens.map((x) => BigInt(x - start)));
    const vo = await this.s.vq.run({ image_tokens: new ort.Tensor('int64', codes, [1, total]) });
    const vqTensor = vo.pixels!;
    const vqPixels = vqTensor.data as Float32Array;
    const vqSize = vqTensor.dims[3]!;
    const vqDecodeMs = now() - t;
    t = now();
    const scale = spec.outputScale ?? 1;
    const rows = req.image.rgb.height;
    const cols = req.image.rgb.width;
    const pixels = await this.worker.postprocess(vqPixels.slice(), vqSize, rows, cols, scale);
    const postprocessMs = now() - t;
    const sp = req.image.pixelSpacing;
    return {
      ...this.runInfo(req.task, plugin, req.image),
      pixels,
      rows: rows * scale,
      cols: cols * scale,
      pixelSpacing: sp ? [sp[0] / scale, sp[1] / scale] : null,
      outputScale: scale,
      vqPixels,
      vqSize,
      tokens,
      promptIds,
      timings: { preprocessMs: pre.preprocessMs, visionMs: pre.visionMs, prefillMs, tokensMs, vqDecodeMs, postprocessMs, totalMs: now() - t0 },
      ...(req.collectLogits ? { logits: all } : {}),
    };
  }

  /** Raw language-model access for benchmarks: prefill `n` text tokens then decode `m` greedily. */
  async benchText(n: number, m: number, pluginName = 'com'): Promise<{ prefillMs: number; decodeMs: number }> {
    const plugin = this.arch.plugins.find((p) => p.name === pluginName) ?? this.arch.plugins[0]!;
    const ids = Array.from({ length: n }, (_, i) => (i * 7919) % Math.max(2, this.arch.imageTokens.start - 1));
    let t = now();
    const e = await this.embed(ids, plugin);
    let step = await this.lmStep(e, n, plugin, this.emptyCache());
    let logits = await this.logits(step.last, plugin);
    const prefillMs = now() - t;
    t = now();
    for (let i = 0; i < m; i++) {
      const next = argmaxRange(logits, 0, logits.length);
      step = await this.lmStep(await this.embed([next], plugin), 1, plugin, step.cache);
      logits = await this.logits(step.last, plugin);
    }
    return { prefillMs, decodeMs: now() - t };
  }

  private ensureOpen(): void {
    if (this.closed) throw new DomainError(packErrorCodes.loadFailed, 'the model was unloaded');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.close();
    const all = [this.s.lm, this.s.vision, this.s.embedText, this.s.headText, this.s.embedFusion, this.s.headFusion, this.s.vq, ...Object.values(this.s.projector)];
    for (const s of all) if (s) await s.release();
  }
}
