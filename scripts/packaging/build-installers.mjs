#!/usr/bin/env node
// Builds the installers with electron-builder.yml plus the signing settings the environment asks for.
// Usage (after the renderer and main bundles are built; `npm run package` does all three):
//   node scripts/packaging/build-installers.mjs --win | --mac | --linux   [more electron-builder flags]
// Credentials are never arguments or files in the repository: electron-builder and the signing tools read
// them from the environment (docs/it-deployment.md). This script only adds what cannot be written in YAML:
//   AZURE_TRUSTED_SIGNING_ENDPOINT, _ACCOUNT, _PROFILE, _PUBLISHER  -> win.azureSignOptions
//   HEALTHGPT_RELEASE=1                                            -> forceCodeSigning (unsigned = failure)
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Extra configuration derived from the environment (an object merged over electron-builder.yml). */
export function signingOverrides(env = process.env) {
  const config = {};
  if (env.AZURE_TRUSTED_SIGNING_ENDPOINT) {
    const missing = ['AZURE_TRUSTED_SIGNING_ACCOUNT', 'AZURE_TRUSTED_SIGNING_PROFILE', 'AZURE_TRUSTED_SIGNING_PUBLISHER'].filter((k) => !env[k]);
    if (missing.length) throw new Error(`Azure Trusted Signing needs ${missing.join(', ')} as well as AZURE_TRUSTED_SIGNING_ENDPOINT.`);
    config.win = {
      azureSignOptions: {
        endpoint: env.AZURE_TRUSTED_SIGNING_ENDPOINT,
        codeSigningAccountName: env.AZURE_TRUSTED_SIGNING_ACCOUNT,
        certificateProfileName: env.AZURE_TRUSTED_SIGNING_PROFILE,
        publisherName: env.AZURE_TRUSTED_SIGNING_PUBLISHER,
      },
    };
  }
  if (env.HEALTHGPT_RELEASE === '1') config.forceCodeSigning = true;
  return config;
}

/** Flattens {a: {b: 1}} into electron-builder's `-c.a.b=1` arguments. */
export function toCliArgs(config, prefix = '-c') {
  const args = [];
  for (const [key, value] of Object.entries(config)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) args.push(...toCliArgs(value, `${prefix}.${key}`));
    else args.push(`${prefix}.${key}=${String(value)}`);
  }
  return args;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  let overrides;
  try {
    overrides = signingOverrides();
  } catch (e) {
    console.error(`build-installers: ${e.message}`);
    process.exit(2);
  }
  const cli = path.join(root, 'node_modules', 'electron-builder', 'cli.js');
  const args = [cli, '--config', 'electron-builder.yml', ...toCliArgs(overrides), ...process.argv.slice(2)];
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
