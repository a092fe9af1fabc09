/**
 * The viewer as a small service: two panes (original | generated), each a Cornerstone enabled element
 * showing one series, synchronised in physical units when locked (pane-sync.ts), compared side by side or
 * overlaid (comparison.ts), with cine (cine.ts) and view commands (pane-commands.ts). React reads immutable
 * snapshots (useSyncExternalStore); everything else goes through typed methods. Listeners, timers and
 * Cornerstone elements are torn down explicitly; stale image loads are dropped by token. The *driver* of
 * sync is the pane the user last acted on (pointer down, wheel, key command).
 */
import type { Image, ImageRenderedDetail, Viewport } from 'cornerstone-core';
import type { SeriesDetail } from '../../src-shared/contracts/dicom';
import type { ImagePlane } from '../../src-shared/dicom/geometry';
import { CinePlayer } from './cine';
import { ComparisonSettings } from './comparison';
import { cornerstone, setupCornerstone } from './cornerstone-setup';
import { imageIdFor, parseImageId, StaleImageError, type FrameService } from './image-loader';
import { commandForKey, nextMode, type ComparisonMode, type KeyLike, type ViewerCommand, type ViewerTool } from './keymap';
import { applyPaneCommand, viewportFor } from './pane-commands';
import { emptyPane, labelWindow, otherPane, PANE_IDS, placementOf, planeFor, type PaneId, type PaneState, type ViewerSnapshot } from './pane-state';
import { canFollow, sliceFacing, syncFrom, trackCursor } from './pane-sync';
import { activateTool, addPaneTools, cancelPending, deleteMeasurement, dropClickedMeasurement, measurementCompletedEvent, measurementEvents, onMeasurementCompleted, separateTextBoxes } from './pane-tools';
import type { ViewPlacement } from './physical-sync';
import { prefetchOrder } from './prefetch';
import { defaultWindowLink } from './reading-rules';
import { paneView } from './pane-view';
import { measureRender, showMark } from './render-timing';
import { followWindowChange, passWindow, windowOf } from './window-link';

export { sameFrameOfReference, type Measurement, type PaneId, type PaneView, type ViewerSnapshot } from './pane-state';

export class ViewerService {
  private panes: Record<PaneId, PaneState> = { original: emptyPane('original'), generated: emptyPane('generated') };
  private active: PaneId = 'original';
  private driver: PaneId = 'original';
  private locked = true;
  /** Window/level link as the reader set it; null: the default for the two series shown. */
  private windowLink: boolean | null = null;
  private readonly comparison = new ComparisonSettings();
  private tool: ViewerTool = 'wwwc';
  private readonly cine = new CinePlayer(() => {
    const pane = this.panes[this.active];
    const n = pane.detail?.images.length ?? 0;
    if (n < 2 || pane.loading) return;
    this.driver = pane.id;
    void this.show(pane.id, (pane.index + 1) % n);
  });
  private listeners = new Set<() => void>();
  private snapshot: ViewerSnapshot;
  private emitScheduled = false;
  private pendingScroll = new Map<PaneId, number>();

  constructor(readonly frames: FrameService) {
    setupCornerstone(frames);
    this.snapshot = this.build();
  }

  // ---- React binding -------------------------------------------------------------------------------
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): ViewerSnapshot => this.snapshot;

  /** The series a pane shows (or is opening), read synchronously. */
  seriesIn(id: PaneId): string | null {
    return this.panes[id].seriesUid;
  }

  private emit(): void {
    if (this.emitScheduled) return;
    this.emitScheduled = true;
    queueMicrotask(() => {
      this.emitScheduled = false;
      this.snapshot = this.build();
      for (const l of this.listeners) l();
    });
  }

  // ---- Elements ------------------------------------------------------------------------------------
  /** Enables Cornerstone on a pane's element; returns the teardown. */
  attach(id: PaneId, element: HTMLElement): () => void {
    const pane = this.panes[id];
    if (pane.element) this.detachPane(pane);
    pane.element = element;
    cornerstone.enable(element);
    addPaneTools(element, this.tool);

    const on = <K extends string>(type: K, fn: (e: Event) => void, options?: AddEventListenerOptions) => {
      element.addEventListener(type, fn, options);
      pane.teardown.push(() => element.removeEventListener(type, fn, options));
    };
    on(cornerstone.EVENTS.IMAGE_RENDERED, (e) => this.onRendered(pane, (e as CustomEvent<ImageRenderedDetail>).detail));
    on('wheel', (e) => {
      const w = e as WheelEvent;
      if (!pane.image) return;
      w.preventDefault();
      this.takeControl(id);
      this.scrollBy(id, w.deltaY > 0 ? 1 : w.deltaY < 0 ? -1 : 0);
    }, { passive: false });
    on('pointerdown', () => this.takeControl(id));
    // After Cornerstone has handled the release: a click that placed a measurement without extent ends it.
    on('pointerup', () => setTimeout(() => pane.element === element && dropClickedMeasurement(element) && this.emit(), 0));
    on('pointermove', (e) => this.onPointerMove(pane, e as PointerEvent));
    on('pointerleave', () => this.clearCursor());
    on(measurementCompletedEvent(), (e) => onMeasurementCompleted(element, (e as CustomEvent<{ toolName?: string; measurementData?: Record<string, unknown> }>).detail ?? {}));
    for (const ev of measurementEvents()) on(ev, () => this.emit());
    const ro = new ResizeObserver(() => {
      if (!pane.element) return;
      cornerstone.resize(pane.element, false);
      pane.syncedPlacement = null;
      this.emit();
    });
    ro.observe(element);
    pane.teardown.push(() => ro.disconnect());
    if (pane.seriesUid && pane.detail) void this.show(id, pane.index, true);
    return () => this.detachPane(pane);
  }

  private detachPane(pane: PaneState): void {
    for (const f of pane.teardown.splice(0)) f();
    if (pane.element) {
      try {
        cornerstone.disable(pane.element);
      } catch {
        // already disabled
      }
    }
    pane.element = null;
    pane.image = null;
    pane.token += 1;
  }

  dispose(): void {
    this.stopCine();
    for (const id of PANE_IDS) this.detachPane(this.panes[id]);
  }

  // ---- Opening and showing -------------------------------------------------------------------------
  /** Opens a series in a pane; `activate: false` leaves the keyboard and sync with the pane the reader uses. */
  async open(id: PaneId, seriesUid: string, sliceIndex?: number, options: { activate?: boolean } = {}): Promise<void> {
    const pane = this.panes[id];
    pane.token += 1;
    const token = pane.token;
    pane.loading = true;
    pane.error = null;
    pane.seriesUid = seriesUid;
    labelWindow(pane, null, null);
    pane.sliceOffsetMm = null;
    this.emit();
    let detail: SeriesDetail;
    try {
      detail = await this.frames.series(seriesUid);
    } catch (e) {
      if (token === pane.token) {
        pane.loading = false;
        pane.error = e instanceof Error ? e.message : String(e);
        this.emit();
      }
      return;
    }
    if (token !== pane.token) return;
    pane.detail = detail;
    pane.image = null;
    pane.renders = 0;
    pane.renderedIndex = -1;
    pane.syncedIndex = -1;
    pane.syncedPlacement = null;
    const other = this.panes[otherPane(id)];
    let index = sliceIndex ?? Math.floor(detail.images.length / 2);
    if (sliceIndex === undefined && this.locked && canFollow(detail, other)) {
      const hit = sliceFacing(this.frames, detail, other);
      if (hit) {
        index = hit.index;
        pane.sliceOffsetMm = hit.distanceMm;
      }
      this.driver = other.id;
    } else if (options.activate !== false) {
      this.driver = id;
    }
    if (options.activate !== false) this.active = id;
    await this.show(id, index, true);
  }

  close(id: PaneId): void {
    const pane = this.panes[id];
    pane.token += 1;
    pane.seriesUid = null;
    pane.detail = null;
    pane.image = null;
    pane.error = null;
    pane.loading = false;
    pane.renders = 0;
    pane.renderedIndex = -1;
    this.emit();
  }

  private idAt(pane: PaneState, i: number): string | null {
    const img = pane.detail?.images[i];
    return pane.seriesUid && img ? imageIdFor(pane.seriesUid, i, img.sopInstanceUid, img.frame) : null;
  }

  /**
   * Re-reads the details of the series shown in the panes (an import added slices): counts grow, and
   * the slice on screen keeps its instance even when the display order shifted around it.
   */
  async refreshSeries(seriesUids?: readonly string[]): Promise<void> {
    for (const id of PANE_IDS) {
      const pane = this.panes[id];
      const uid = pane.seriesUid;
      if (!uid || (seriesUids && !seriesUids.includes(uid))) continue;
      this.frames.invalidate(uid);
      let detail: SeriesDetail;
      try {
        detail = await this.frames.series(uid);
      } catch {
        continue;
      }
      if (pane.seriesUid !== uid) continue;
      const shown = pane.image ? parseImageId(pane.image.imageId) : null;
      pane.detail = detail;
      if (shown) {
        const at = detail.images.findIndex((i) => i.sopInstanceUid === shown.sopInstanceUid && i.frame === shown.frame);
        if (at >= 0 && !pane.loading) {
          pane.index = at;
          pane.renderedIndex = at;
          pane.syncedIndex = at;
        }
      } else if (!pane.loading && pane.element) {
        void this.show(id, Math.floor(detail.images.length / 2), true);
      }
      // A following pane whose series grew may now have a slice at the linked location.
      const leader = this.panes[otherPane(id)];
      if (this.locked && this.driver === leader.id && leader.image) {
        leader.syncedIndex = -1;
        this.syncFrom(leader);
      }
    }
    this.emit();
  }

  private async show(id: PaneId, index: number, fresh = false, retried = false): Promise<void> {
    const pane = this.panes[id];
    const detail = pane.detail;
    const element = pane.element;
    if (!detail || !element || detail.images.length === 0 || !pane.seriesUid) return;
    const i = Math.max(0, Math.min(detail.images.length - 1, index));
    pane.token += 1;
    const token = pane.token;
    pane.index = i;
    pane.loading = true;
    this.emit();
    const imageId = this.idAt(pane, i);
    if (!imageId) return;
    const mark = showMark(id, token);
    let image: Image;
    try {
      image = await cornerstone.loadAndCacheImage(imageId);
    } catch (e) {
      if (token !== pane.token) return;
      if (e instanceof StaleImageError && !retried) {
        // The import re-sorted the series under us: re-read it and show the same instance where it is now.
        const want = detail.images[i];
        this.frames.invalidate(pane.seriesUid);
        try {
          pane.detail = await this.frames.series(pane.seriesUid);
        } catch {
          // keep the old detail; the error below says what happened
        }
        const at = want ? (pane.detail?.images.findIndex((x) => x.sopInstanceUid === want.sopInstanceUid && x.frame === want.frame) ?? -1) : -1;
        if (token === pane.token) return this.show(id, at >= 0 ? at : i, fresh, true);
        return;
      }
      pane.loading = false;
      pane.error = `Slice ${i + 1}: ${e instanceof Error ? e.message : String(e)}`;
      this.emit();
      return;
    }
    if (token !== pane.token || pane.element !== element) return;
    const viewport = this.viewportFor(pane, image, fresh || !pane.image);
    const previous = pane.image;
    pane.image = image;
    pane.loading = false;
    pane.error = null;
    this.showToken.set(element, { mark, index: i });
    // A measurement being placed belongs to the image going away; Cornerstone would forget it while
    // keeping every tool locked.
    if (previous && image.imageId !== previous.imageId) cancelPending(element);
    cornerstone.displayImage(element, image, viewport);
    this.prefetch(pane, i);
  }

  private showToken = new WeakMap<HTMLElement, { mark: string; index: number }>();

  /** The slice each pane showed last, for the scroll direction prefetch follows. */
  private lastShown = new Map<PaneId, number>();

  private prefetch(pane: PaneState, i: number): void {
    const previous = this.lastShown.get(pane.id);
    this.lastShown.set(pane.id, i);
    for (const j of prefetchOrder(i, previous, pane.detail?.images.length ?? 0)) {
      const id = this.idAt(pane, j);
      if (id) void cornerstone.loadAndCacheImage(id).catch(() => undefined);
    }
  }

  private viewportFor(pane: PaneState, image: Image, fresh: boolean): Partial<Viewport> {
    const other = this.panes[otherPane(pane.id)];
    const leader = this.locked && other.image && other.element && this.driver === other.id ? other : null;
    const vp = viewportFor(this.frames, pane, image, fresh, leader);
    const otherWindow = windowOf(other);
    // A series opening beside a linked one takes the window the reader already has on screen.
    if (fresh && otherWindow && this.windowLinked()) {
      vp.voi = { ...otherWindow };
      pane.presetLabel = other.presetLabel;
      pane.presetVoi = other.presetVoi;
    }
    // Windows set here are not reader changes to pass on.
    if (vp.voi) pane.lastVoi = { windowWidth: vp.voi.windowWidth, windowCenter: vp.voi.windowCenter };
    return vp;
  }

  /** Whether window/level is linked: the reader's choice, else on when both series share a unit. */
  windowLinked(): boolean {
    return this.windowLink ?? defaultWindowLink(this.panes.original.detail, this.panes.generated.detail);
  }

  setWindowLink(linked: boolean): void {
    this.windowLink = linked;
    const src = this.panes[this.active];
    if (linked) passWindow(src, this.panes[otherPane(src.id)]);
    this.emit();
  }

  // ---- Rendering and sync --------------------------------------------------------------------------
  private onRendered(pane: PaneState, detail: ImageRenderedDetail): void {
    const shown = pane.element ? this.showToken.get(pane.element) : undefined;
    if (shown) {
      this.showToken.delete(pane.element as HTMLElement);
      pane.renderedIndex = shown.index;
      measureRender(shown.mark, pane.renders === 0, detail.renderTimeInMs);
    }
    pane.renders += 1;
    if (this.locked && this.driver === pane.id) this.syncFrom(pane);
    followWindowChange(pane, this.panes[otherPane(pane.id)], this.windowLinked());
    if (pane.element && separateTextBoxes(pane.element)) cornerstone.updateImage(pane.element);
    // The value under a still cursor belongs to the slice now drawn (keyboard scrolling, cine).
    if (pane.cursor && pane.element && pane.image) trackCursor(this.frames, pane, this.panes[otherPane(pane.id)], pane.cursor.canvas);
    this.emit();
  }

  private syncFrom(src: PaneState): void {
    syncFrom(this.frames, src, this.panes[otherPane(src.id)], (id, index) => void this.show(id, index));
  }

  /** The pane the user acts on becomes the driver of sync and the target of keys. */
  takeControl(id: PaneId): void {
    if (this.active !== id || this.driver !== id) {
      this.active = id;
      this.driver = id;
      const pane = this.panes[id];
      pane.syncedIndex = pane.index;
      pane.syncedPlacement = pane.image ? placementOf(pane) : null;
      this.emit();
    }
  }

  private onPointerMove(pane: PaneState, e: PointerEvent): void {
    if (!pane.element || !pane.image) return;
    const rect = pane.element.getBoundingClientRect();
    trackCursor(this.frames, pane, this.panes[otherPane(pane.id)], { x: e.clientX - rect.left, y: e.clientY - rect.top });
    this.emit();
  }

  private clearCursor(): void {
    for (const id of PANE_IDS) {
      this.panes[id].cursor = null;
      this.panes[id].marker = null;
    }
    this.emit();
  }

  // ---- Commands ------------------------------------------------------------------------------------
  handleKey(event: KeyLike): boolean {
    const cmd = commandForKey(event);
    if (!cmd) return false;
    this.run(cmd);
    return true;
  }

  run(cmd: ViewerCommand, paneId: PaneId = this.active): void {
    const pane = this.panes[paneId];
    const el = pane.element;
    switch (cmd.kind) {
      case 'toggle-lock':
        return this.setLocked(!this.locked);
      case 'next-mode':
        return this.setMode(nextMode(this.comparison.mode));
      case 'tool':
        return this.setTool(cmd.tool);
      case 'cine':
        return this.cine.playing ? this.stopCine() : this.startCine();
      case 'cine-fps':
        return this.setCineFps(this.cine.fps + cmd.delta);
      case 'other-pane':
        return this.takeControl(otherPane(paneId));
      case 'toggle-window-link':
        return this.setWindowLink(!this.windowLinked());
      case 'delete-measurement':
        if (el && deleteMeasurement(el)) this.emit();
        return;
      default:
        break;
    }
    if (!el || !pane.image) return;
    this.takeControl(paneId);
    const vp = cornerstone.getViewport(el);
    if (!vp) return;
    applyPaneCommand(cmd, pane, pane.image, el, vp, this.frames, { scrollBy: (id, delta) => this.scrollBy(id, delta), show: (id, index) => void this.show(id, index) });
  }

  scrollBy(id: PaneId, delta: number): void {
    const pane = this.panes[id];
    if (!pane.detail || delta === 0) return;
    // While a slice is loading, further wheel notches accumulate instead of queuing loads.
    const base = this.pendingScroll.get(id) ?? pane.index;
    const target = Math.max(0, Math.min(pane.detail.images.length - 1, base + delta));
    if (target === pane.index && !pane.loading) return;
    this.pendingScroll.set(id, target);
    void this.show(id, target).finally(() => {
      if (this.pendingScroll.get(id) === target) this.pendingScroll.delete(id);
    });
  }

  setLocked(locked: boolean): void {
    this.locked = locked;
    if (locked) {
      const src = this.panes[this.active];
      src.syncedIndex = -1;
      src.syncedPlacement = null;
      this.driver = this.active;
      this.syncFrom(src);
    }
    this.emit();
  }

  setMode(mode: ComparisonMode): void {
    this.comparison.mode = mode;
    this.emit();
  }

  setFade(v: number): void {
    this.comparison.setFade(v);
    this.emit();
  }

  setSwipe(v: number): void {
    this.comparison.setSwipe(v);
    this.emit();
  }

  setFlickerHz(v: number): void {
    this.comparison.setFlickerHz(v);
    this.emit();
  }

  setTool(tool: ViewerTool): void {
    this.tool = tool;
    for (const id of PANE_IDS) {
      const el = this.panes[id].element;
      if (el) activateTool(el, tool);
    }
    this.emit();
  }

  setActive(id: PaneId): void {
    this.takeControl(id);
  }

  startCine(): void {
    this.cine.start();
    this.emit();
  }

  stopCine(): void {
    this.cine.stop();
    this.emit();
  }

  setCineFps(fps: number): void {
    this.cine.setFps(fps);
    this.emit();
  }

  /** Pixel data and geometry of what a pane shows (the difference map reads it). */
  shown(id: PaneId): { image: Image; plane: ImagePlane; placement: ViewPlacement; canvas: { width: number; height: number } } | null {
    const pane = this.panes[id];
    if (!pane.image || !pane.element) return null;
    const canvas = cornerstone.getEnabledElement(pane.element).canvas;
    return { image: pane.image, plane: planeFor(this.frames, pane), placement: placementOf(pane), canvas: { width: canvas.width, height: canvas.height } };
  }

  // ---- Snapshot ------------------------------------------------------------------------------------
  private build(): ViewerSnapshot {
    return {
      panes: { original: paneView(this.frames, this.panes.original, this.panes.generated, this.locked && this.driver !== 'original'), generated: paneView(this.frames, this.panes.generated, this.panes.original, this.locked && this.driver !== 'generated') },
      active: this.active,
      locked: this.locked,
      mode: this.comparison.mode,
      fade: this.comparison.fade,
      swipe: this.comparison.swipe,
      flickerHz: this.comparison.flickerHz,
      tool: this.tool,
      cine: { playing: this.cine.playing, fps: this.cine.fps },
      windowLinked: this.windowLinked(),
      windowLinkChosen: this.windowLink !== null,
    };
  }
}

