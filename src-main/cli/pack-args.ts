import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { packRoots } from '../shell/app-info';
import { providerChoiceSchema, type ProviderChoice } from '../../src-shared/contracts/model';
import type { Services } from '../services';
import { UsageError } from './cli-types';

/** A pack given as a folder path, or by name among the app's pack folders. */
export function resolvePack(arg: string, services: Services): string {
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
