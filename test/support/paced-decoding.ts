import type { ModelRuntime } from '../../src-main/model/runtime';
import type { DecodeOutcome, OrtEngine } from '../../src-main/model/ort-engine';
import type { StepConfidence } from '../../src-main/model/confidence';

export interface Pacing {
  /** Delay before each token reaches the runtime. */
  msPerToken: number;
  /** After this many tokens, hold the rest until the caller cancels. */
  holdAfter?: number;
}

/**
 * Makes a loaded runtime's text decoding reach the app at a set pace, as on a slower machine.
 *
 * Why: on a fast CPU the tiny test pack decodes thousands of tokens a second, so a whole answer can arrive
 * within one progress interval, or finish before a cancel click lands. The engine still decodes for real
 * in its worker; only the delivery of its tokens to the runtime is spaced out (and, with holdAfter,
 * paused until the signal aborts). Everything after the engine (runtime, job progress, bridge, renderer)
 * runs unchanged. Returns a function that restores the engine.
 */
export function paceDecoding(runtime: ModelRuntime, pacing: Pacing): () => void {
  const engine = (runtime as unknown as { engine: OrtEngine }).engine;
  const original = engine.decode.bind(engine);
  engine.decode = (job, onToken, signal) =>
    new Promise<DecodeOutcome>((resolve, reject) => {
      const queue: { token: number; logits?: Float32Array; confidence?: StepConfidence }[] = [];
      let delivered = 0;
      let outcome: DecodeOutcome | null = null;
      let timer: ReturnType<typeof setTimeout> | null = null;
      const held = () => pacing.holdAfter !== undefined && delivered >= pacing.holdAfter;
      const finish = (): void => {
        if (timer) clearTimeout(timer);
        timer = null;
        if (!outcome) return; // the worker is still running: it resolves once it stops
        const cut = signal?.aborted === true && (queue.length > 0 || held());
        resolve(cut ? { ...outcome, tokens: outcome.tokens.slice(0, delivered), stopReason: 'cancelled' } : outcome);
      };
      const pump = (): void => {
        timer = null;
        if (signal?.aborted) return finish();
        if (queue.length === 0 || held()) {
          if (outcome && queue.length === 0) finish();
          return;
        }
        const next = queue.shift()!;
        delivered += 1;
        onToken(next.token, next.logits, next.confidence); // everything the engine gave, confidence included (#21)
        timer = setTimeout(pump, pacing.msPerToken);
      };
      signal?.addEventListener('abort', () => finish(), { once: true });
      original(
        job,
        (token, logits, confidence) => {
          queue.push({ token, logits, confidence });
          if (!timer && !held()) timer = setTimeout(pump, pacing.msPerToken);
        },
        signal,
      ).then((out) => {
        outcome = out;
        if (signal?.aborted || (queue.length === 0 && !timer && !held())) finish();
      }, reject);
    });
  return () => {
    engine.decode = original;
  };
}
