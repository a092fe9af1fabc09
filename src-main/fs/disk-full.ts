/** A write failed because the disk (or the user's quota, or SQLite's page quota) is full. */
export function isDiskFull(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL';
}
