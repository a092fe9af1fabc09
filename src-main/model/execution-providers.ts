import { createRequire } from 'node:module';
import type { ExecutionProvider } from '../../src-shared/contracts/app';

const require = createRequire(import.meta.url);

interface Backend {
  name: string;
  bundled: boolean;
}

/**
 * Which ONNX Runtime execution providers this machine and this onnxruntime-node build can use. The npm
 * build bundles CPU everywhere, DirectML on Windows and CoreML on macOS; CUDA only after the documented
 * opt-in install on a GPU machine (see README, "GPU machines").
 */
export function availableExecutionProviders(): ExecutionProvider[] {
  let backends: Backend[] = [];
  try {
    const ort = require('onnxruntime-node') as { listSupportedBackends?: () => Backend[] };
    backends = ort.listSupportedBackends?.() ?? [];
  } catch {
    return ['cpu'];
  }
  const usable = new Set<ExecutionProvider>(['cpu']);
  for (const b of backends) {
    if (!b.bundled && !process.env.HEALTHGPT_ORT_GPU) continue;
    if (b.name === 'cuda' && (process.platform === 'linux' || process.platform === 'win32')) usable.add('cuda');
    if (b.name === 'dml' && process.platform === 'win32') usable.add('dml');
    if (b.name === 'coreml' && process.platform === 'darwin') usable.add('coreml');
  }
  return [...usable];
}

/** GPU first where present, else CPU; CPU always works and is always the fallback. */
export function preferredExecutionProvider(available: ExecutionProvider[]): ExecutionProvider {
  for (const p of ['cuda', 'dml', 'coreml'] as const) if (available.includes(p)) return p;
  return 'cpu';
}
