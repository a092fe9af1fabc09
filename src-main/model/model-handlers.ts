import { modelErrorCodes, type modelContract, type LoadedPack } from '../../src-shared/contracts/model';
import { DomainError } from '../../src-shared/ipc/envelope';
import { discoverPacks } from './pack-discovery';
import type { DomainHandlers } from '../ipc/registry';
import type { JobManager } from '../jobs/job-manager';
import { verifyPack, type VerifyOptions } from './pack-verify';
import { loadPack, type ModelRuntime } from './runtime';

export interface ModelHandlerDeps {
  jobs: JobManager;
  /** Folders searched for packs (resources/packs, <data>/packs). */
  packRoots: () => string[];
  /** From the machine policy: signature requirement and trusted keys. */
  verifyOptions: () => VerifyOptions;
  assertPackAllowed?: (pack: { id: string; version: string }) => void;
  assertTaskAllowed?: (task: string) => void;
  /** Told whenever the provider in use changes (status line). */
  onProviderChange?: (provider: LoadedPack['provider'] | null) => void;
}

/** Holds at most one loaded pack; the app keeps running with none when a pack is refused. */
export class ModelService {
  private runtime: ModelRuntime | null = null;
  private info: LoadedPack | null = null;

  constructor(private readonly deps: ModelHandlerDeps) {}

  get loaded(): LoadedPack | null {
    return this.info;
  }

  get current(): ModelRuntime {
    if (!this.runtime) throw new DomainError(modelErrorCodes.noPackLoaded, 'no model pack is loaded');
    return this.runtime;
  }

  async load(path: string, provider: 'auto' | LoadedPack['provider']): Promise<LoadedPack> {
    const verified = await verifyPack(path, { ...this.deps.verifyOptions(), keepContents: true });
    if (!verified.ok) throw new DomainError(verified.code, verified.message);
    const m = verified.manifest;
    this.deps.assertPackAllowed?.({ id: m.name, version: m.version });
    const rt = await loadPack(path, { verified, provider });
    await this.unload();
    this.runtime = rt;
    this.info = {
      path: verified.dir,
      name: m.name,
      version: m.version,
      licence: m.licence,
      demonstration: m.intendedUse.demonstration,
      intendedUse: m.intendedUse.text,
      manifestSha256: verified.manifestSha256,
      provider: rt.provider,
      tasks: Object.keys(m.tasks),
      belowBaseline: Object.fromEntries(
        Object.entries(m.tasks).flatMap(([t, spec]) => (spec?.heldOut && !spec.heldOut.beatsBaseline ? [[t, spec.heldOut.baseline]] : [])),
      ),
      questionTypes: m.tasks.vqa?.questionTypes ?? [],
    };
    this.deps.onProviderChange?.(rt.provider);
    return this.info;
  }

  async unload(): Promise<boolean> {
    const rt = this.runtime;
    this.runtime = null;
    this.info = null;
    if (!rt) return false;
    await rt.close();
    this.deps.onProviderChange?.(null);
    return true;
  }
}

export function createModelHandlers(service: ModelService, deps: ModelHandlerDeps): DomainHandlers<typeof modelContract> {
  return {
    listPacks: () =>
      discoverPacks(deps.packRoots()).map((p) => ({
        path: p.path,
        name: p.name,
        version: p.version,
        demonstration: p.demonstration,
        intendedUse: p.intendedUse,
        ...(p.problem ? { problem: p.problem } : {}),
      })),
    verifyPack: async ({ path }) => {
      const r = await verifyPack(path, deps.verifyOptions());
      return r.ok
        ? { ok: true as const, path: r.dir, name: r.manifest.name, version: r.manifest.version, manifestSha256: r.manifestSha256, signature: r.signature }
        : { ok: false as const, path, code: r.code, message: r.message };
    },
    loadPack: ({ path, provider }) => service.load(path, provider),
    unloadPack: async () => ({ unloaded: await service.unload() }),
    status: () => ({ loaded: service.loaded }),
  };
}
