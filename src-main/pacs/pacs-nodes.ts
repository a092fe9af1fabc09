/**
 * Configured PACS nodes: `<data>/pacs-nodes.json` (per user) plus the machine policy's nodes, which are
 * pinned (the settings file cannot replace them) and its forbidden names/hosts. Credentials stay here,
 * in main: the summaries a window gets say only which kind of auth a node uses.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { pacsErrorCodes, pacsNodeConfigSchema, type PacsNodeSummary, type PacsPolicy } from '../../src-shared/contracts/pacs';
import { DomainError } from '../../src-shared/ipc/envelope';

export type { PacsNodeConfig, PacsNodeInput } from '../../src-shared/contracts/pacs';
import type { PacsNodeConfig } from '../../src-shared/contracts/pacs';

const settingsSchema = z.object({ nodes: z.array(pacsNodeConfigSchema).max(256) }).strict();


/** The host a node is reached at (what the policy's forbidden list may name). */
export function nodeHost(config: PacsNodeConfig): string {
  return config.protocol === 'dimse' ? config.host : new URL(config.url).hostname;
}

/** Where a node is, in words without credentials: the DICOMweb base URL, or CALLED@host:port for DIMSE. */
export function nodeAddress(config: PacsNodeConfig): string {
  return config.protocol === 'dimse' ? `${config.calledAet}@${config.host}:${config.port}` : config.url;
}

export const PACS_SETTINGS_FILE = 'pacs-nodes.json';

export class PacsNodes {
  private readonly nodes = new Map<string, { config: PacsNodeConfig; source: PacsNodeSummary['source'] }>();
  private readonly forbidden: Set<string>;
  /** Problems found in the settings file, reported when a node is asked for (never the file's secrets). */
  readonly problems: string[] = [];

  constructor(settingsFile: string | null, policy: PacsPolicy = {}) {
    this.forbidden = new Set((policy.forbidden ?? []).map((f) => f.toLowerCase()));
    for (const n of policy.nodes ?? []) this.nodes.set(n.name, { config: pacsNodeConfigSchema.parse(n), source: 'policy' });
    if (settingsFile && existsSync(settingsFile)) {
      let parsed: z.ZodSafeParseResult<z.output<typeof settingsSchema>>;
      try {
        parsed = settingsSchema.safeParse(JSON.parse(readFileSync(settingsFile, 'utf8')));
      } catch (e) {
        this.problems.push(`${path.basename(settingsFile)} is not valid JSON (${e instanceof SyntaxError ? 'syntax error' : 'unreadable'})`);
        return;
      }
      if (!parsed.success) {
        // Paths and messages only: an issue's received value could be a password.
        this.problems.push(...parsed.error.issues.slice(0, 5).map((i) => `${path.basename(settingsFile)}: ${i.path.join('.')}: ${i.message}`));
        return;
      }
      for (const n of parsed.data.nodes) if (!this.nodes.has(n.name)) this.nodes.set(n.name, { config: n, source: 'settings' });
    }
  }

  static inDataDir(dataDir: string, policy?: PacsPolicy): PacsNodes {
    return new PacsNodes(path.join(dataDir, PACS_SETTINGS_FILE), policy);
  }

  isForbidden(config: PacsNodeConfig): boolean {
    if (this.forbidden.has('*')) return true;
    return this.forbidden.has(config.name.toLowerCase()) || this.forbidden.has(nodeHost(config).toLowerCase());
  }

  /** A node by name, or a clear refusal (unknown, forbidden by policy). */
  get(name: string): PacsNodeConfig {
    const found = this.nodes.get(name);
    if (!found) {
      const why = this.problems.length ? ` The settings file has problems: ${this.problems.join('; ')}.` : '';
      throw new DomainError(pacsErrorCodes.unknownNode, `No PACS node named "${name}".${why}`);
    }
    this.assertAllowed(found.config);
    return found.config;
  }

  /** Ad hoc nodes (the CLI's --url) pass the same policy check. */
  assertAllowed(config: PacsNodeConfig): void {
    if (this.isForbidden(config)) throw new DomainError(pacsErrorCodes.forbiddenNode, `The PACS node "${config.name}" (${nodeAddress(config)}) is forbidden by this workstation's policy.`);
  }

  summaries(): PacsNodeSummary[] {
    return [...this.nodes.values()]
      .filter((n) => !this.isForbidden(n.config))
      .map((n) => ({ name: n.config.name, kind: n.config.protocol, url: nodeAddress(n.config), auth: n.config.protocol === 'dicomweb' ? n.config.auth.type : 'none', source: n.source }));
  }
}
