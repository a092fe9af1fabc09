/**
 * vitest globalSetup: builds one random-weight tiny pack per run (a cold Python start and an export,
 * seconds each time), which tests copy with `cachedTinyPack()` instead of building their own.
 */
import type { TestProject } from 'vitest/node';
import { buildRandomPack } from '../main/model/pack-fixture';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Folder holding `pack/` and `reference.pt` of the run's tiny random pack. */
    tinyPackRoot: string;
  }
}

export default function setup(project: TestProject): () => void {
  const pack = buildRandomPack('tiny', 3);
  project.provide('tinyPackRoot', pack.root);
  return () => pack.cleanup();
}
