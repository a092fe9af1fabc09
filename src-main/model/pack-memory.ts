import { freemem } from 'node:os';
import { packErrorCodes, type PackManifest } from '../../src-shared/contracts/model-pack';

/** What loading a pack costs in memory, from the manifest alone (nothing is read). */
export interface PackMemoryNeed {
  /** The listed files: held once, verified, while the sessions are created. */
  filesBytes: number;
  /** The sessions' weights: fp16-stored weights are cast to float32 when ONNX Runtime folds the graph. */
  sessionBytes: number;
  /** The KV cache at the pack's longest context (float32 keys and values of every layer). */
  kvCacheBytes: number;
  /** While loading: files + sessions + cache. */
  peakBytes: number;
}

const GRAPH_ROLES = new Set(['vision', 'projector', 'embed', 'head', 'lm', 'vq-decoder', 'weights']);

export function packMemoryNeed(m: PackManifest): PackMemoryNeed {
  const a = m.architecture;
  const filesBytes = m.files.reduce((s, f) => s + f.size, 0);
  const graphBytes = m.files.filter((f) => GRAPH_ROLES.has(f.role)).reduce((s, f) => s + f.size, 0);
  const sessionBytes = a.dtype === 'float16' ? 2 * graphBytes : graphBytes;
  const kvCacheBytes = 2 * a.numLayers * a.numKvHeads * a.headDim * a.maxPosition * 4;
  return { filesBytes, sessionBytes, kvCacheBytes, peakBytes: filesBytes + sessionBytes + kvCacheBytes };
}

const gib = (b: number): string => `${(b / 2 ** 30).toFixed(1)} GiB`;

/**
 * A refusal when loading the pack would need more memory than is free (default: the OS's available memory), so
 * a workstation without room gets a plain message instead of swapping or an out-of-memory kill mid-load.
 * Checked against host memory: the verified bytes and CPU sessions live there (a GPU provider's own memory is
 * not checked here).
 */
export function packMemoryRefusal(m: PackManifest, freeBytes = freemem()): { code: typeof packErrorCodes.tooLarge; message: string } | null {
  const need = packMemoryNeed(m);
  if (need.peakBytes <= freeBytes) return null;
  const smaller = m.architecture.quantization?.bits === 4 ? '' : ' or an int4 pack of the same model';
  return {
    code: packErrorCodes.tooLarge,
    message:
      `${m.name} ${m.version} needs about ${gib(need.peakBytes)} of memory to load (${gib(need.filesBytes)} of files, ` +
      `${gib(need.sessionBytes)} of weights in use, ${gib(need.kvCacheBytes)} of KV cache) but this machine has ${gib(freeBytes)} free. ` +
      `Close other programs, or use a machine with more memory${smaller}. Nothing was loaded.`,
  };
}
