/**
 * Window/level linked across the two panes: a window change on one pane (drag, preset, reset) is passed
 * to the other when the link is on. The link defaults to on only when both series share a unit
 * (reading-rules.defaultWindowLink); the reader can turn it either way.
 */
import { cornerstone } from './cornerstone-setup';
import type { PaneState } from './pane-state';
import type { Voi } from './reading-rules';

export function windowOf(pane: PaneState): Voi | null {
  if (!pane.element || !pane.image) return null;
  const vp = cornerstone.getViewport(pane.element);
  return vp ? { windowWidth: vp.voi.windowWidth, windowCenter: vp.voi.windowCenter } : null;
}

function same(a: Voi | null, b: Voi | null): boolean {
  return Boolean(a && b && Math.abs(a.windowWidth - b.windowWidth) < 1e-6 && Math.abs(a.windowCenter - b.windowCenter) < 1e-6);
}

/** Gives `dst` the window (and its label) of `src`. */
export function passWindow(src: PaneState, dst: PaneState): void {
  const voi = windowOf(src);
  if (!voi || !dst.element || !dst.image) return;
  dst.lastVoi = voi;
  dst.presetLabel = src.presetLabel;
  dst.presetVoi = src.presetVoi;
  if (same(windowOf(dst), voi)) return;
  const vp = cornerstone.getViewport(dst.element);
  if (vp) cornerstone.setViewport(dst.element, { ...vp, voi: { ...voi } });
}

/**
 * After `pane` rendered: when its window differs from the one last seen there, the reader changed it;
 * with the link on, the other pane takes it. Returns whether it was passed on.
 */
export function followWindowChange(pane: PaneState, other: PaneState, linked: boolean): boolean {
  const voi = windowOf(pane);
  if (!voi) return false;
  const changed = pane.lastVoi !== null && !same(pane.lastVoi, voi);
  pane.lastVoi = voi;
  if (!changed || !linked) return false;
  passWindow(pane, other);
  return true;
}
