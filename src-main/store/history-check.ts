import * as fsp from 'node:fs/promises';
import path from 'node:path';
import type { CheckReport } from '../../src-shared/contracts/history';
import type { ArtifactStore } from './artifact-store';
import type { StoreCheckRows } from './check-queries';

export interface CheckHooks {
  signal?: AbortSignal;
  progress?: (done: number, total: number, message?: string) => void;
}

export interface CheckDeps {
  integrity(): Promise<{ integrity: string[]; foreignKeyViolations: number; schemaVersion: number }>;
  referencedArtifacts(): Promise<Array<{ hash: string; size: number }>>;
  checkRows(): Promise<StoreCheckRows>;
  artifactStore: ArtifactStore;
  /** <data>/generated: one folder per generating run. */
  generatedDir: string;
  /** Protective triggers the last open had to put back. */
  restoredAtOpen: readonly string[];
}

function abortError(): Error {
  return new DOMException('The operation was cancelled.', 'AbortError');
}

/** Folders under generated/ that no recorded series points at, other than those of runs under way. */
async function unreferencedGeneratedFolders(generatedDir: string, rows: StoreCheckRows): Promise<string[]> {
  let entries: string[];
  try {
    entries = await fsp.readdir(generatedDir);
  } catch {
    return [];
  }
  const referenced = new Set(rows.generatedLocations.map((l) => path.resolve(l)));
  const running = new Set(rows.runningRunIds);
  return entries
    .filter((name) => !running.has(name) && !referenced.has(path.resolve(generatedDir, name)))
    .map((name) => path.join(generatedDir, name))
    .sort();
}

/**
 * The whole store checked: SQLite integrity and foreign keys, every referenced artifact hashed again,
 * the audit chain recomputed, the protective triggers compared with the app's, interrupted runs and
 * generated folders nothing refers to. `ok` is false for damage and tampering; interrupted runs and
 * leftover folders are reported without failing it (they are accounted for, not corruption).
 */
export async function checkStore(deps: CheckDeps, verifyArtifacts: boolean, hooks: CheckHooks = {}): Promise<CheckReport> {
  const started = Date.now();
  const integrity = await deps.integrity();
  const refs = await deps.referencedArtifacts();
  const missing: string[] = [];
  const corrupt: string[] = [];
  let ok = 0;
  if (verifyArtifacts) {
    let i = 0;
    for (const r of refs) {
      if (hooks.signal?.aborted) throw abortError();
      const status = await deps.artifactStore.check(r.hash);
      if (status === 'ok') ok += 1;
      else (status === 'missing' ? missing : corrupt).push(r.hash);
      hooks.progress?.((i += 1), refs.length);
    }
  }
  const referenced = new Set(refs.map((r) => r.hash));
  const onDisk = await deps.artifactStore.listHashes();
  const rows = await deps.checkRows();
  const databaseOk = integrity.integrity.length === 1 && integrity.integrity[0] === 'ok' && integrity.foreignKeyViolations === 0;
  return {
    ok: databaseOk && missing.length === 0 && corrupt.length === 0 && rows.auditChain.ok && rows.triggersMissing.length === 0,
    quickCheck: integrity.integrity,
    foreignKeyViolations: integrity.foreignKeyViolations,
    artifacts: { checked: verifyArtifacts ? refs.length : 0, ok, missing, corrupt },
    unreferencedFiles: onDisk.filter((h) => !referenced.has(h)).length,
    auditChain: rows.auditChain,
    protectiveTriggers: { missing: rows.triggersMissing, restoredAtOpen: [...deps.restoredAtOpen] },
    interruptedRuns: rows.interruptedRuns,
    unreferencedGeneratedFolders: await unreferencedGeneratedFolders(deps.generatedDir, rows),
    schemaVersion: integrity.schemaVersion,
    durationMs: Date.now() - started,
  };
}
