import { appendFileSync } from 'node:fs';

export interface MirroredAuditRecord {
  at: number;
  actor: string;
  action: string;
  entity: string;
  entityId?: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditMirror {
  /** Appends one record as a JSON line; returns a problem instead of throwing (the database stays the record). */
  append(record: MirroredAuditRecord): { ok: true } | { ok: false; problem: string };
  readonly path: string;
}

/**
 * The copy of the audit trail the machine policy asks for (auditLogPath), e.g. on a monitored share.
 * Append-only JSON lines, one write per record (O_APPEND, so concurrent workstations writing per-user files
 * or one process writing in order never interleave a line). The folder is not created: IT provides it.
 */
export function createAuditMirror(file: string, host: string): AuditMirror {
  return {
    path: file,
    append(record) {
      try {
        appendFileSync(file, `${JSON.stringify({ ...record, host })}\n`, { flag: 'a', mode: 0o600 }); // created readable by this user only
        return { ok: true };
      } catch (e) {
        return { ok: false, problem: `audit copy to ${file} failed: ${(e as NodeJS.ErrnoException).code ?? (e instanceof Error ? e.message : String(e))}` };
      }
    },
  };
}
