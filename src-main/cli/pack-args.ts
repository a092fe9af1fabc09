import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { packRoots } from '../app/app-info';
import type { VerifyOptions } from '../model/pack-verify';
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

/** Pack verification as the machine policy asks (required signature, trusted keys). */
export function verifyOptions(services: Services): VerifyOptions {
  return services.packVerifyOptions();
}
