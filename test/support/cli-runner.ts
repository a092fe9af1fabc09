/**
 * Runs the healthgpt CLI in this process (runCli, the same code the `healthgpt` binary runs) with its
 * output captured: no npm and tsx start per call. test/main/cli/cli.test.ts keeps one spawn of the real
 * command as the smoke test of the binary itself.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../src-main/cli/main';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  dataDir: string;
}

/** `dataDir` becomes HEALTHGPT_DATA_DIR for the call (a fresh temp folder when absent), as a script sets it. */
export async function runHealthgptInProcess(args: string[], dataDir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-cli-'))): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const before = process.env.HEALTHGPT_DATA_DIR;
  process.env.HEALTHGPT_DATA_DIR = dataDir;
  try {
    const code = await runCli(args, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
    return { code, stdout, stderr, dataDir };
  } finally {
    if (before === undefined) delete process.env.HEALTHGPT_DATA_DIR;
    else process.env.HEALTHGPT_DATA_DIR = before;
  }
}
