/**
 * Progress as a reader reads it: whole counts ("3/107", never "2.4609375/107": a job reports fractions
 * of a slice as image tokens stream) and one status line for a generation, not the same count twice.
 */

/** "done/total" in whole units; done never exceeds total. */
export function wholeCount(done: number, total: number): string {
  const t = Math.max(0, Math.round(total));
  const d = Math.max(0, Math.min(t || Infinity, Math.floor(done + 1e-9)));
  return `${Number.isFinite(d) ? d : 0}/${t}`;
}

/** The one status line of a running generation. */
export function generationStatus(p: { slicesWritten: number; total: number; done: number }): string {
  const total = Math.max(0, Math.round(p.total));
  const written = Math.max(0, Math.min(total, Math.floor(p.slicesWritten)));
  const unit = `slice${total === 1 ? '' : 's'}`;
  if (total === 0) return 'Starting…';
  if (written >= total) return `${written} of ${total} ${unit} written`;
  const working = Math.min(total, written + 1);
  return `${written} of ${total} ${unit} written · generating slice ${working}`;
}
