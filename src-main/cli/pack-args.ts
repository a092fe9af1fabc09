import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { packRoots } from '../shell/app-info';
import { discoverPacks } from '../model/pack-discovery';
import { providerChoiceSchema, type ProviderChoice } from '../../src-shared/contracts/model';
import type { Services } from '../services';
import { UsageError } from './cli-types';

/**
 * A pack given as a folder path, or by name among the app's pack folders; no `--pack` at all: the one
 * pack installed (several or none: say which to choose, or that there is none).
 */
export function resolvePack(arg: string | undefined, services: Services): string {
  if (arg === undefined || arg === '') {
    const roots = packRoots(services.resourcesDir, services.dataDir);
    const installed = discoverPacks(roots);
    if (installed.length === 1) return installed[0]!.path;
    if (installed.length === 0) throw new UsageError(`no model pack is installed (looked in ${roots.join(' and ')}): give --pack <pack folder>`);
    throw new UsageError(`${installed.length} model packs are installed (${installed.map((p) => p.name).join(', ')}): choose one with --pack <name>`);
  }
  if (existsSync(arg) && statSync(arg).isDirectory()) return path.resolve(arg);
  for (const root of packRoots(services.resourcesDir, services.dataDir)) {
    const dir = path.join(root, arg);
    if (existsSync(path.join(dir, 'manifest.json'))) return dir;
  }
  throw new UsageError(`no model pack "${arg}" (give a pack folder, or the name of a pack in ${packRoots(services.resourcesDir, services.dataDir).join(' or ')})`);
}

/** `--provider`: absent means 'auto'. */
export function parseProvider(arg: string | undefined): ProviderChoice {
  const p = providerChoiceSchema.safeParse(arg ?? 'auto');
  if (!p.success) {
    const names = providerChoiceSchema.options;
    throw new UsageError(`--provider must be ${names.slice(0, -1).join(', ')} or ${names.at(-1)!}`);
  }
  return p.data;
}
