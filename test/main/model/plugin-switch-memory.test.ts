import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRandomPack, writeTestPng, type BuiltPack } from './pack-fixture';

interface Probe {
  stages: { name: string; rssMiB: number }[];
  lmFileMiB: number;
}

// One LM graph carries the base once and every plugin stacked; switching is an input value. If a switch
// reloaded or duplicated the base, RSS would grow by about the LM's weight size (~65 MiB here) per switch.
describe('plugin switching does not duplicate the base weights', () => {
  let pack: BuiltPack;
  beforeAll(() => {
    pack = buildRandomPack('medium', 2);
    writeTestPng(path.join(pack.root, 'in.png'), 48, 40, 9);
  });
  afterAll(() => pack?.cleanup());

  it('RSS after several com ↔ gen switches stays within a fraction of the LM weights', () => {
    const root = path.resolve(__dirname, '../../..');
    const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'bench/model-rss-probe.ts'), pack.dir, path.join(pack.root, 'in.png'), '3'], {
      cwd: root,
      encoding: 'utf8',
    });
    const probe = JSON.parse(out.trim().split('\n').at(-1)!) as Probe;
    const rss = Object.fromEntries(probe.stages.map((s) => [s.name, s.rssMiB]));
    expect(probe.lmFileMiB).toBeGreaterThan(50);
    // the weights really are resident after loading
    expect(rss.loaded! - rss.start!).toBeGreaterThan(probe.lmFileMiB * 0.8);
    // after the first round (arenas warmed), two more rounds of switching add far less than one base copy
    const growth = rss['generate-2']! - rss['generate-0']!;
    expect(growth).toBeLessThan(probe.lmFileMiB * 0.3);
  });
});
