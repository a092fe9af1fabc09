/** Cine: steps the active pane one slice at a time at a set rate until stopped. */
export class CinePlayer {
  private timer: ReturnType<typeof setInterval> | null = null;
  private rate = 15;

  /** `step` runs on every tick; it skips a tick itself while a slice is still loading. */
  constructor(private readonly step: () => void) {}

  get playing(): boolean {
    return this.timer !== null;
  }

  get fps(): number {
    return this.rate;
  }

  start(): void {
    this.stop();
    this.timer = setInterval(this.step, 1000 / this.rate);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** 1–60 frames a second; a running cine picks up the new rate at once. */
  setFps(fps: number): void {
    this.rate = Math.max(1, Math.min(60, Math.round(fps)));
    if (this.timer) this.start();
  }
}
