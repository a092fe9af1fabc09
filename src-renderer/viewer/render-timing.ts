/**
 * User Timing marks for the slice the viewer shows (tests and benchmarks read them): from the show request
 * to the first or a later render, and Cornerstone's own draw time.
 */
export function showMark(id: string, token: number): string {
  const mark = `hgpt-show-${id}-${token}`;
  performance.mark(mark);
  return mark;
}

export function measureRender(mark: string, first: boolean, renderTimeInMs: number): void {
  try {
    performance.measure(first ? 'hgpt-first-image' : 'hgpt-slice-render', mark);
  } catch {
    // mark cleared
  }
  performance.clearMarks(mark);
  // Cornerstone's own draw time (LUT + canvas), without the wait for the animation frame.
  const end = performance.now();
  try {
    performance.measure('hgpt-slice-draw', { start: end - renderTimeInMs, end });
  } catch {
    // no User Timing
  }
}
