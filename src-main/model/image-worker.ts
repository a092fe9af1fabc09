import { Worker } from 'node:worker_threads';
import {
  clipNormalize,
  clipPreprocess,
  expandToSquare,
  pilResizeBicubicRgb8,
  blockMeanConsistent,
  planarToGray,
  squareToGeometry,
  type Rgb8,
} from './image-ops';

/**
 * Runs the heavy pixel work of the model runtime (CLIP preprocessing, output resampling) in a worker
 * thread, so the main event loop stays responsive. The worker is built from the source text of the pure
 * functions in image-ops.ts (they take no imports), which works the same under tsx, vitest and a bundle.
 */
type Op = 'preprocess' | 'postprocess';

interface Request {
  id: number;
  op: Op;
  args: unknown[];
}

const FUNCTIONS = [expandToSquare, pilResizeBicubicRgb8, clipNormalize, clipPreprocess, planarToGray, squareToGeometry, blockMeanConsistent];

function workerSource(): string {
  const fns = FUNCTIONS.map((f) => f.toString()).join('\n');
  return `
const { parentPort } = require('node:worker_threads');
var __name = (f) => f;
${fns}
const ops = {
  preprocess: (img, size, pad, mean, std) => clipPreprocess(img, size, pad, mean, std),
  postprocess: (pixels, size, rows, cols, scale, consistentWith) => {
    const out = squareToGeometry(planarToGray(pixels, size), size, rows, cols, scale);
    return consistentWith ? blockMeanConsistent(out, consistentWith, scale) : out;
  },
};
parentPort.on('message', (m) => {
  try {
    const value = ops[m.op](...m.args);
    parentPort.postMessage({ id: m.id, ok: true, value }, value && value.buffer ? [value.buffer] : []);
  } catch (e) {
    parentPort.postMessage({ id: m.id, ok: false, error: String(e && e.stack || e) });
  }
});
`;
}

export class ImageWorker {
  private worker: Worker | null = null;
  private seq = 0;
  private pending = new Map<number, { resolve: (v: Float32Array) => void; reject: (e: Error) => void }>();

  private ensure(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(workerSource(), { eval: true });
    w.unref();
    w.on('message', (m: { id: number; ok: boolean; value?: Float32Array; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok && m.value) p.resolve(m.value);
      else p.reject(new Error(m.error ?? 'image worker failed'));
    });
    w.on('error', (e) => {
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      this.worker = null;
    });
    this.worker = w;
    return w;
  }

  private call(op: Op, args: unknown[], transfer: ArrayBuffer[] = []): Promise<Float32Array> {
    const w = this.ensure();
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const req: Request = { id, op, args };
      w.postMessage(req, transfer);
    });
  }

  preprocess(img: Rgb8, size: number, pad: readonly [number, number, number], mean: readonly number[], std: readonly number[]): Promise<Float32Array> {
    return this.call('preprocess', [img, size, pad, mean, std]);
  }

  /** `consistentWith`: the input image, for block-mean data consistency (super-resolution). */
  postprocess(pixels: Float32Array, size: number, rows: number, cols: number, scale: number, consistentWith?: Rgb8): Promise<Float32Array> {
    return this.call('postprocess', [pixels, size, rows, cols, scale, consistentWith ?? null]);
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
