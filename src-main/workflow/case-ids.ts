import { createHash } from 'node:crypto';

/** A history id derived from a DICOM UID (or a file hash), so the same study always lands in one case. */
export function stableId(prefix: string, text: string): string {
  return `${prefix}-${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
}

/** DICOM DA (YYYYMMDD) → YYYY-MM-DD, as the history's date search expects. */
export function isoDate(da: string | undefined): string | null {
  return da && /^\d{8}$/.test(da) ? `${da.slice(0, 4)}-${da.slice(4, 6)}-${da.slice(6, 8)}` : null;
}
