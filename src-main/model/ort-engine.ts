import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type * as OrtModule from 'onnxruntime-node';
import type { ExecutionProvider } from '../../src-shared/contracts/app';
import { stepConfidence, type StepConfidence } from './confidence';

/**
 * onnxruntime-node runs inference synchronously on the calling thread, so every ONNX session lives in
 * this worker thread: the main event loop only exchanges messages (prompt ids, image embeddings, one
 * token per step). The greedy loop with its KV cache runs inside the worker; tokens stream back as
 * messages; a cancel message is honoured before the next step.
 *
 * The worker is built from the source text of `engineWorkerMain` (no imports, no outer closures), so it
 * runs the same under tsx, vitest and a bundled app; onnxruntime-node is required by absolute path.
 */

/** The graphs' bytes as verified (never paths: a file read again could have been swapped since). */
export interface EngineFiles {
  lm: Uint8Array;
  vision: Uint8Array;
  projector: Record<string, Uint8Array>;
  embedText: Uint8Array;
  headText: Uint8Array;
  embedFusion: Uint8Array | null;
  headFusion: Uint8Array | null;
  vq: Uint8Array | null;
}

export interface EngineArch {
  hiddenSize: number;
  numLayers: number;
  numKvHeads: number;
  headDim: number;
}

export interface DecodeJob {
  promptIds: number[];
  /** Index of the image placeholder in promptIds (-1: no image). */
  placeholderAt: number;
  imageEmbeds: Float32Array | null;
  nImage: number;
  pluginIndex: number;
  fusion: boolean;
  maxSteps: number;
  eos: number[];
  /** Argmax restricted to [start, end) (image tokens for generation; whole vocab for text). */
  range: [number, number];
  collectLogits: boolean;
  /** Record each step's confidence (confidence.ts) with this many alternatives; absent: none recorded. */
  confidenceTopK?: number;
}

export interface DecodeOutcome {
  tokens: number[];
  stopReason: 'eos' | 'maxTokens' | 'cancelled';
  prefillMs: number;
  decodeMs: number;
}

type Msg = { type: string; id: number; [k: string]: unknown };

/** Runs inside the worker. Everything it uses is defined inside it. */
export function engineWorkerMain(
  ort: typeof OrtModule,
  port: { on(ev: 'message', f: (m: Msg) => void): void; postMessage(m: unknown, transfer?: ArrayBuffer[]): void },
  confidenceOf: typeof stepConfidence,
): void {
  type Session = OrtModule.InferenceSession;
  const sessions: { [k: string]: Session } = {};
  const projectors: { [k: string]: Session } = {};
  let arch = { hiddenSize: 0, numLayers: 0, numKvHeads: 0, headDim: 0 };
  let provider = 'cpu';
  const cancelled = new Set<number>();
  const now = (): number => performance.now();

  const create = async (file: Uint8Array, wanted: string, threads: number): Promise<{ s: Session; p: string }> => {
    // No spin-waiting in ORT's thread pools: spinning threads take the cores the main thread and the
    // image worker need (event-loop stalls of 10-35 ms were measured on 2 cores with spinning on).
    const base: OrtModule.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
    };
    if (threads > 0) {
      base.intraOpNumThreads = threads;
      base.interOpNumThreads = 1;
    }
    if (wanted !== 'cpu') {
      try {
        return { s: await ort.InferenceSession.create(file, { ...base, executionProviders: [wanted, 'cpu'] }), p: wanted };
      } catch {
        // listed by the build but not usable here: CPU
      }
    }
    return { s: await ort.InferenceSession.create(file, { ...base, executionProviders: ['cpu'] }), p: 'cpu' };
  };
  const i64 = (ids: number[]): OrtModule.Tensor => new ort.Tensor('int64', BigInt64Array.from(ids.map((x) => BigInt(x))), [1, ids.length]);
  const embed = async (ids: number[], fusion: boolean): Promise<Float32Array> => {
    const s = fusion ? sessions.embedFusion : sessions.embedText;
    if (!s) throw new Error('pack has no fusion embedding');
    return (await s.run({ input_ids: i64(ids) })).inputs_embeds!.data as Float32Array;
  };
  const head = async (last: Float32Array, fusion: boolean): Promise<Float32Array> => {
    const s = fusion ? sessions.headFusion : sessions.headText;
    if (!s) throw new Error('pack has no fusion head');
    return (await s.run({ hidden: new ort.Tensor('float32', last, [1, 1, arch.hiddenSize]) })).logits!.data as Float32Array;
  };
  const emptyCache = (): OrtModule.Tensor[] => {
    const t: OrtModule.Tensor[] = [];
    for (let i = 0; i < 2 * arch.numLayers; i++) t.push(new ort.Tensor('float32', new Float32Array(0), [1, arch.numKvHeads, 0, arch.headDim]));
    return t;
  };
  const lmStep = async (embeds: Float32Array, t: number, plugin: number, cache: OrtModule.Tensor[]): Promise<{ last: Float32Array; cache: OrtModule.Tensor[] }> => {
    const feeds: { [k: string]: OrtModule.Tensor } = {
      inputs_embeds: new ort.Tensor('float32', embeds, [1, t, arch.hiddenSize]),
      plugin: new ort.Tensor('int64', BigInt64Array.from([BigInt(plugin)]), [1]),
    };
    for (let l = 0; l < arch.numLayers; l++) {
      feeds[`past_key_${l}`] = cache[2 * l]!;
      feeds[`past_value_${l}`] = cache[2 * l + 1]!;
    }
    const out = await sessions.lm!.run(feeds);
    const next: OrtModule.Tensor[] = [];
    for (let l = 0; l < arch.numLayers; l++) next.push(out[`present_key_${l}`]!, out[`present_value_${l}`]!);
    const h = out.hidden!.data as Float32Array;
    return { last: h.slice((t - 1) * arch.hiddenSize, t * arch.hiddenSize), cache: next };
  };
  const argmaxRange = (x: Float32Array, start: number, end: number): number => {
    let best = start;
    let bv = x[start]!;
    for (let i = start + 1; i < end; i++) {
      if (x[i]! > bv) {
        bv = x[i]!;
        best = i;
      }
    }
    return best;
  };

  const handlers: { [k: string]: (m: Msg) => Promise<unknown> } = {
    load: async (m) => {
      const files = m.files as EngineFiles;
      const threads = (m.threads as number) ?? 0;
      arch = m.arch as EngineArch;
      const lm = await create(files.lm, m.provider as string, threads);
      provider = lm.p;
      sessions.lm = lm.s;
      const mk = async (f: Uint8Array): Promise<Session> => (await create(f, provider, threads)).s;
      sessions.vision = await mk(files.vision);
      sessions.embedText = await mk(files.embedText);
      sessions.headText = await mk(files.headText);
      if (files.embedFusion) sessions.embedFusion = await mk(files.embedFusion);
      if (files.headFusion) sessions.headFusion = await mk(files.headFusion);
      if (files.vq) sessions.vq = await mk(files.vq);
      for (const [name, f] of Object.entries(files.projector)) projectors[name] = await mk(f);
      return { provider };
    },
    vision: async (m) => {
      const size = m.size as number;
      const out = await sessions.vision!.run({ pixel_values: new ort.Tensor('float32', m.pixelValues as Float32Array, [1, 3, size, size]) });
      const feats = out[m.output as string];
      if (!feats) throw new Error(`vision.onnx has no output ${String(m.output)}`);
      const proj = projectors[m.projector as string];
      if (!proj) throw new Error(`no projector ${String(m.projector)}`);
      const e = (await proj.run({ image_features: feats })).image_embeds!;
      return { embeds: e.data as Float32Array, n: e.dims[1] };
    },
    decode: async (m) => {
      const job = m.job as DecodeJob;
      const h = arch.hiddenSize;
      const ids = job.promptIds.map((x, i) => (i === job.placeholderAt ? 0 : x));
      const text = await embed(ids, job.fusion);
      let all = text;
      let total = ids.length;
      if (job.placeholderAt >= 0 && job.imageEmbeds) {
        const at = job.placeholderAt;
        total = ids.length - 1 + job.nImage;
        all = new Float32Array(total * h);
        all.set(text.subarray(0, at * h), 0);
        all.set(job.imageEmbeds, at * h);
        all.set(text.subarray((at + 1) * h), (at + job.nImage) * h);
      }
      let t = now();
      let step = await lmStep(all, total, job.pluginIndex, emptyCache());
      let logits = await head(step.last, job.fusion);
      const prefillMs = now() - t;
      const tokens: number[] = [];
      let stopReason: DecodeOutcome['stopReason'] = 'maxTokens';
      const eos = new Set(job.eos);
      t = now();
      for (;;) {
        if (cancelled.has(m.id)) {
          stopReason = 'cancelled';
          break;
        }
        const next = argmaxRange(logits, job.range[0], job.range[1]);
        tokens.push(next);
        // from the logits already computed for the choice: no extra model cost
        const confidence = job.confidenceTopK === undefined ? undefined : confidenceOf(logits, job.range[0], job.range[1], next, job.confidenceTopK);
        port.postMessage({ type: 'token', id: m.id, token: next, step: tokens.length, logits: job.collectLogits ? logits : undefined, confidence });
        if (eos.has(next)) {
          stopReason = 'eos';
          break;
        }
        if (tokens.length >= job.maxSteps) break;
        step = await lmStep(await embed([next], job.fusion), 1, job.pluginIndex, step.cache);
        logits = await head(step.last, job.fusion);
      }
      cancelled.delete(m.id);
      return { tokens, stopReason, prefillMs, decodeMs: now() - t };
    },
    vq: async (m) => {
      const codes = m.codes as number[];
      const feeds: Record<string, OrtModule.Tensor> = { image_tokens: i64(codes) };
      const source = m.source as Float32Array | undefined;
      if (source) {
        const s = Math.round(Math.sqrt(source.length / 3));
        feeds.source = new ort.Tensor('float32', source, [1, 3, s, s]);
      }
      const out = (await sessions.vq!.run(feeds)).pixels!;
      return { pixels: out.data as Float32Array, size: out.dims[3] };
    },
    benchText: async (m) => {
      const n = m.n as number;
      const steps = m.m as number;
      const plugin = m.pluginIndex as number;
      const fusion = m.fusion as boolean;
      const vocabEnd = m.vocabEnd as number;
      const ids: number[] = [];
      for (let i = 0; i < n; i++) ids.push((i * 7919) % vocabEnd);
      let t = now();
      let step = await lmStep(await embed(ids, fusion), n, plugin, emptyCache());
      let logits = await head(step.last, fusion);
      const prefillMs = now() - t;
      t = now();
      for (let i = 0; i < steps; i++) {
        const next = argmaxRange(logits, 0, vocabEnd);
        step = await lmStep(await embed([next], fusion), 1, plugin, step.cache);
        logits = await head(step.last, fusion);
      }
      return { prefillMs, decodeMs: now() - t };
    },
    close: async () => {
      for (const s of [...Object.values(sessions), ...Object.values(projectors)]) await s.release();
      return true;
    },
  };

  port.on('message', (m: Msg) => {
    if (m.type === 'cancel') {
      cancelled.add(m.id);
      return;
    }
    const f = handlers[m.type];
    if (!f) {
      port.postMessage({ type: 'error', id: m.id, error: `unknown message ${m.type}` });
      return;
    }
    f(m).then(
      (value) => port.postMessage({ type: 'result', id: m.id, value }),
      (e: unknown) => port.postMessage({ type: 'error', id: m.id, error: e instanceof Error ? e.message : String(e) }),
    );
  });
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  onToken?: (token: number, logits?: Float32Array, confidence?: StepConfidence) => void;
}

export class OrtEngine {
  private readonly worker: Worker;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private dead: Error | null = null;

  constructor() {
    const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
    const src = `
const { parentPort, workerData } = require('node:worker_threads');
var __name = (f) => f;
const ort = require(workerData.ortPath);
(${engineWorkerMain.toString()})(ort, parentPort, ${stepConfidence.toString()});
`;
    this.worker = new Worker(src, { eval: true, workerData: { ortPath } });
    this.worker.on('message', (m: { type: string; id: number; value?: unknown; error?: string; token?: number; logits?: Float32Array; confidence?: StepConfidence }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'token') p.onToken?.(m.token!, m.logits, m.confidence);
      else {
        this.pending.delete(m.id);
        if (m.type === 'result') p.resolve(m.value);
        else p.reject(new Error(m.error ?? 'model worker failed'));
      }
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`model worker exited (${code})`)));
  }

  private fail(e: Error): void {
    this.dead = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  private call<T>(type: string, body: Record<string, unknown>, extra: Partial<Pending> = {}, transfer: ArrayBuffer[] = []): { id: number; promise: Promise<T> } {
    if (this.dead) return { id: -1, promise: Promise.reject(this.dead) };
    const id = ++this.seq;
    const promise = new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...extra });
    });
    this.worker.postMessage({ type, id, ...body }, transfer);
    return { id, promise };
  }

  /** Creates the sessions from the graphs' bytes; their buffers are transferred (unusable here afterwards). */
  async load(files: EngineFiles, arch: EngineArch, provider: ExecutionProvider, threads = 0): Promise<ExecutionProvider> {
    const graphs = [files.lm, files.vision, files.embedText, files.headText, files.embedFusion, files.headFusion, files.vq, ...Object.values(files.projector)];
    const transfer = new Set<ArrayBuffer>();
    for (const g of graphs) if (g && g.buffer instanceof ArrayBuffer && g.byteOffset === 0 && g.byteLength === g.buffer.byteLength) transfer.add(g.buffer);
    const r = await this.call<{ provider: ExecutionProvider }>('load', { files, arch, provider, threads }, {}, [...transfer]).promise;
    return r.provider;
  }

  encodeImage(pixelValues: Float32Array, size: number, output: string, projector: string): Promise<{ embeds: Float32Array; n: number }> {
    return this.call<{ embeds: Float32Array; n: number }>('vision', { pixelValues, size, output, projector }, {}, [pixelValues.buffer as ArrayBuffer]).promise;
  }

  /** Prefill + greedy loop in the worker; onToken sees each token as it is chosen; abort stops it. */
  decode(job: DecodeJob, onToken: (token: number, logits?: Float32Array, confidence?: StepConfidence) => void, signal?: AbortSignal): Promise<DecodeOutcome> {
    const { id, promise } = this.call<DecodeOutcome>('decode', { job }, { onToken });
    if (signal) {
      const abort = (): void => this.worker.postMessage({ type: 'cancel', id });
      if (signal.aborted) abort();
      else {
        signal.addEventListener('abort', abort, { once: true });
        void promise.finally(() => signal.removeEventListener('abort', abort)).catch(() => undefined);
      }
    }
    return promise;
  }

  /** `source`: the pixel values the vision tower saw, for a source-guided decoder (transferred). */
  vqDecode(codes: number[], source?: Float32Array): Promise<{ pixels: Float32Array; size: number }> {
    const transfer = source ? [source.buffer as ArrayBuffer] : [];
    return this.call<{ pixels: Float32Array; size: number }>('vq', source ? { codes, source } : { codes }, {}, transfer).promise;
  }

  benchText(n: number, m: number, pluginIndex: number, fusion: boolean, vocabEnd: number): Promise<{ prefillMs: number; decodeMs: number }> {
    return this.call<{ prefillMs: number; decodeMs: number }>('benchText', { n, m, pluginIndex, fusion, vocabEnd }).promise;
  }

  async close(): Promise<void> {
    if (!this.dead) {
      try {
        await this.call('close', {}).promise;
      } catch {
        // closing anyway
      }
    }
    this.dead ??= new Error('model engine closed');
    await this.worker.terminate();
  }
}
