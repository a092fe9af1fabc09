import path from 'node:path';

export const POLICY_ENV_VAR = 'HEALTHGPT_POLICY_FILE';

/** The machine-wide policy file for an OS: only administrators can write these folders. */
export function machinePolicyPath(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env): string {
  switch (platform) {
    case 'win32': {
      const programData = env.ProgramData ?? env.PROGRAMDATA ?? 'C:\\ProgramData';
      return path.win32.join(programData, 'HealthGPT', 'policy.json');
    }
    case 'darwin':
      return '/Library/Application Support/HealthGPT/policy.json';
    default:
      return '/etc/healthgpt/policy.json';
  }
}

export interface PolicyLocation {
  path: string;
  /** Why this file: the OS location, or the environment override (development and tests only). */
  origin: 'machine' | 'env';
  /** Set when an override was present but refused (the packaged app never lets a user swap the policy). */
  ignoredOverride?: string;
}

/**
 * Where to read the policy. HEALTHGPT_POLICY_FILE redirects it for tests and development; the packaged
 * Electron app passes allowEnvOverride=false so a user cannot point it at a policy of their own.
 */
export function resolvePolicyLocation(options: { platform?: NodeJS.Platform; env?: NodeJS.ProcessEnv; allowEnvOverride: boolean }): PolicyLocation {
  const env = options.env ?? process.env;
  const machine = machinePolicyPath(options.platform, env);
  const override = env[POLICY_ENV_VAR];
  if (override && override.length > 0) {
    if (options.allowEnvOverride) return { path: path.resolve(override), origin: 'env' };
    return { path: machine, origin: 'machine', ignoredOverride: override };
  }
  return { path: machine, origin: 'machine' };
}
