import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function appVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export const APP_NAME = 'HealthGPT Workstation';

/** The per-user data folder when nothing (policy, env, flag) names another. */
export function defaultDataDir(): string {
  if (process.env.HEALTHGPT_DATA_DIR) return path.resolve(process.env.HEALTHGPT_DATA_DIR);
  const home = os.homedir();
  switch (process.platform) {
    case 'win32':
      return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'HealthGPT Workstation');
    case 'darwin':
      return path.join(home, 'Library', 'Application Support', 'HealthGPT Workstation');
    default:
      return path.join(process.env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'healthgpt-workstation');
  }
}

/** Folders searched for model packs: the shipped resources, then the user's data folder. */
export function packRoots(resourcesDir: string, dataDir: string): string[] {
  return [path.join(resourcesDir, 'packs'), path.join(dataDir, 'packs')];
}
