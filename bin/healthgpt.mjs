#!/usr/bin/env node
// Installed entry point of the headless CLI: runs the TypeScript sources through tsx in a checkout.
// Packaged builds ship the bundled dist/main/cli.js instead (see electron-builder.yml).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundled = join(root, 'dist', 'main', 'cli.js');
const args = existsSync(bundled)
  ? [bundled, ...process.argv.slice(2)]
  : ['--import', 'tsx', join(root, 'src-main', 'cli', 'main.ts'), ...process.argv.slice(2)];
const result = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(result.status ?? 1);
