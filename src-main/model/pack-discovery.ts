import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { PackSummary } from '../../src-shared/contracts/app';

/**
 * Lists model packs found in the given folders (each pack is a folder holding manifest.json). This is a
 * cheap listing for the status line; full verification (hashes, signature) happens before a pack loads.
 */
export function discoverPacks(roots: string[]): PackSummary[] {
  const found: PackSummary[] = [];
  for (const root of roots) {
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort()) {
      const dir = path.join(root, name);
      const manifestPath = path.join(dir, 'manifest.json');
      try {
        if (!statSync(dir).isDirectory() || !existsSync(manifestPath)) continue;
      } catch {
        continue;
      }
      try {
        const raw = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
        const intended = raw.intendedUse as Record<string, unknown> | string | undefined;
        const intendedText = typeof intended === 'string' ? intended : String(intended?.text ?? intended?.summary ?? '');
        const demonstration =
          (typeof intended === 'object' && intended?.demonstration === true) || /not for clinical use/i.test(intendedText);
        found.push({
          id: String(raw.id ?? raw.name ?? name),
          name: String(raw.name ?? name),
          version: String(raw.version ?? '0'),
          path: dir,
          demonstration,
          intendedUse: intendedText,
        });
      } catch (e) {
        found.push({
          id: name,
          name,
          version: '?',
          path: dir,
          demonstration: false,
          intendedUse: '',
          problem: `manifest.json unreadable: ${e instanceof Error ? e.message : String(e)}`,
        });
      }
    }
  }
  return found;
}
