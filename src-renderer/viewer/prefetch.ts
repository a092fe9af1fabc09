/**
 * Which slices to load next after slice `index` is shown: mostly ahead in the direction the user is
 * scrolling (so a steady scroll finds each slice already loaded), a few behind (a change of direction).
 * Nearest first, in range, never the shown slice.
 */
export const PREFETCH_AHEAD = 8;
export const PREFETCH_BEHIND = 2;

export function prefetchOrder(index: number, previous: number | undefined, count: number, ahead = PREFETCH_AHEAD, behind = PREFETCH_BEHIND): number[] {
  // No direction yet (a series just opened, or a jump): both ways alike.
  const step = previous === undefined || previous === index || Math.abs(index - previous) > ahead ? 0 : Math.sign(index - previous);
  const forward = step === 0 ? Math.ceil((ahead + behind) / 2) : ahead;
  const backward = step === 0 ? forward : behind;
  const dir = step === 0 ? 1 : step;
  const out: number[] = [];
  for (let d = 1; d <= Math.max(forward, backward); d += 1) {
    if (d <= forward) out.push(index + dir * d);
    if (d <= backward) out.push(index - dir * d);
  }
  return out.filter((j) => j >= 0 && j < count);
}
