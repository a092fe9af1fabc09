/** How the two panes are compared: side by side, fade, swipe, flicker or difference, with each mode's setting. */
import type { ComparisonMode } from './keymap';

export class ComparisonSettings {
  mode: ComparisonMode = 'side';
  /** Percent of the generated image shown over the original (fade). */
  fade = 50;
  /** Percent of the width where the curtain sits (swipe). */
  swipe = 50;
  flickerHz = 2;

  setFade(v: number): void {
    this.fade = Math.max(0, Math.min(100, v));
  }

  setSwipe(v: number): void {
    this.swipe = Math.max(0, Math.min(100, v));
  }

  setFlickerHz(v: number): void {
    this.flickerHz = Math.max(0.5, Math.min(10, v));
  }
}
