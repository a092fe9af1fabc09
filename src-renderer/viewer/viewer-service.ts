/**
 * The viewer as a small service: two panes (original | generated), each a Cornerstone enabled element
 * showing one series, synchronised in physical units when locked, plus the comparison mode. React reads
 * immutable snapshots (useSyncExternalStore); everything else goes through typed methods. Listeners,
 * timers and Cornerstone elements are torn down explicitly; stale image loads are dropped by token.
 *
 * Sync rules (see docs in physical-sync.ts): the *driver* is the pane the user last acted on (pointer
 * down, wheel, key command). When the driver's slice index changes, the other pane moves to its slice
 * nearest in mm along its own normal; when the driver's placement (zoom/pan) changes, the other pane
 * gets the placement that shows the same patient point at the same screen place with the same mm per
 * screen pixel. Window/level is never synchronised (a CT and an MR do not share a window).
 */
import type { Image, ImageRenderedDetail, Viewport } from 'cornerstone-core';
import type { SeriesDetail } from '../../src-shared/contracts/dicom';
import type { ImagePlane, Vec3 } from '../../src-shared/dicom/geometry';
import { cornerstone, cornerstoneTools, setupCornerstone } from './cornerstone-setup';
import { imageIdFor, parseImageId, StaleImageError, type FrameInfo, type FrameService } from './image-loader';
import { commandForKey, nextMode, type ComparisonMode, type KeyLike, type ViewerCommand, type ViewerTool } from './keymap';
import {
  cornerstonePixelToPatient,
  mmPerScreenPixel,
  patientToCornerstonePixel,
  placementsClose,
  planeOf,
  syncedPlacement,
  syncedSlice,
  type Point2,
  type ViewPlacement,
} from './physical-sync';
import { autoWindow, presetFor } from './windowing';

export type PaneId = 'original' | 'generated';
export const PANE_IDS: readonly PaneId[] = ['original', 'generated'];

export interface Measurement {
  tool: 'Length' | 'Angle' | 'EllipticalRoi';
  text: string;
  value: number;
  unit: string;
}

export interface PaneView {
  id: PaneId;
  seriesUid: string | null;
  detail: SeriesDetail | null;
  info: FrameInfo | null;
  index: number;
  count: number;
  loading: boolean;
  error: string | null;
  /** Set once an image has been drawn; counts renders (tests and benchmarks wait on it). */
  renders: number;
  /** Index of the slice last drawn (index is the slice asked for; they differ while it loads). */
  renderedIndex: number;
  windowWidth: number | null;
  windowCenter: number | null;
  invert: boolean;
  scale: number | null;
  mmPerPixel: number | null;
  canvas: { width: number; height: number };
  plane: ImagePlane | null;
  presetLabel: string | null;
  /** Patient point and value under the cursor when the cursor is in this pane. */
  cursor: { patient: Vec3; value: number | null; canvas: Point2 } | null;
  /** Where the other pane's cursor point falls in this pane (crosshair), canvas pixels. */
  marker: Point2 | null;
  /** Distance (mm) between this pane's slice and the synced point, when synced from the other pane. */
  sliceOffsetMm: number | null;
  measurements: Measurement[];
}

export interface ViewerSnapshot {
  panes: Record<PaneId, PaneView>;
  active: PaneId;
  locked: boolean;
  mode: ComparisonMode;
  fade: number;
  swipe: number;
  flickerHz: number;
  tool: ViewerTool;
  cine: { playing: boolean; fps: number };
}

interface PaneState {
  id: PaneId;
  element: HTMLElement | null;
  seriesUid: string | null;
  detail: SeriesDetail | null;
  index: number;
  image: Image | null;
  loading: boolean;
  error: string | null;
  token: number;
  renders: number;
  renderedIndex: number;
  presetLabel: string | null;
  syncedIndex: number;
  syncedPlacement: ViewPlacement | null;
  sliceOffsetMm: number | null;
  cursor: PaneView['cursor'];
  marker: Point2 | null;
  teardown: Array<() => void>;
}

const TOOL_NAMES: Record<ViewerTool, string> = { wwwc: 'Wwwc', pan: 'Pan', zoom: 'Zoom', length: 'Length', angle: 'Angle', roi: 'EllipticalRoi' };
const MEASURE_TOOLS = ['Length', 'Angle', 'EllipticalRoi'] as const;
const PREFETCH = 3;

function emptyPane(id: PaneId): PaneState {
  return {
    id,
    element: null,
    seriesUid: null,
    detail: null,
    index: 0,
    image: null,
    loading: false,
    error: null,
    token: 0,
    renders: 0,
    renderedIndex: -1,
    presetLabel: null,
    syncedIndex: -1,
    syncedPlacement: null,
    sliceOffsetMm: null,
    cursor: null,
    marker: null,
    teardown: [],
  };
}

export class ViewerService {
  private panes: Record<PaneId, PaneState> = { original: emptyPane('original'), generated: emptyPane('generated') };
  private active: PaneId = 'original';
  private driver: PaneId = 'original';
  private locked = true;
  private mode: ComparisonMode = 'side';
  private fade = 50;
  private swipe = 50;
  private flickerHz = 2;
  private tool: ViewerTool = 'wwwc';
  private cineFps = 15;
  private cineTimer: ReturnType<typeof setInterval> | null = null;
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
    const t = cornerstoneTools;
    t.addToolForElement(element, t.WwwcTool);
    t.addToolForElement(element, t.PanTool);
    t.addToolForElement(element, t.ZoomTool, { configuration: { minScale: 0.05, maxScale: 40, preventZoomOutsideImage: false } });
    t.addToolForElement(element, t.LengthTool);
    t.addToolForElement(element, t.AngleTool);
    t.addToolForElement(element, t.EllipticalRoiTool);
    for (const name of MEASURE_TOOLS) t.setToolPassiveForElement(element, name);
    t.setToolActiveForElement(element, 'Pan', { mouseButtonMask: 4 });
    t.setToolActiveForElement(element, 'Zoom', { mouseButtonMask: 2 });
    t.setToolActiveForElement(element, TOOL_NAMES[this.tool], { mouseButtonMask: 1 });

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
    on('pointermove', (e) => this.onPointerMove(pane, e as PointerEvent));
    on('pointerleave', () => this.clearCursor());
    for (const ev of [t.EVENTS.MEASUREMENT_COMPLETED, t.EVENTS.MEASUREMENT_MODIFIED, t.EVENTS.MEASUREMENT_REMOVED]) on(ev, () => this.emit());
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
  async open(id: PaneId, seriesUid: string, sliceIndex?: number): Promise<void> {
    const pane = this.panes[id];
    pane.token += 1;
    const token = pane.token;
    pane.loading = true;
    pane.error = null;
    pane.seriesUid = seriesUid;
    pane.presetLabel = null;
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
    const other = this.panes[this.other(id)];
    let index = sliceIndex ?? Math.floor(detail.images.length / 2);
    if (sliceIndex === undefined && this.locked && other.image && other.detail && sameFrameOfReference(detail, other.detail)) {
      const hit = syncedSlice(this.planeFor(other), this.placementOf(other), detail.images.map((i) => i.imagePositionPatient), detail.images[0]?.imageOrientationPatient ?? null);
      if (hit) index = hit.index;
      this.driver = other.id;
    } else {
      this.driver = id;
    }
    this.active = id;
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
    performance.mark(`hgpt-show-${id}-${token}`);
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
    pane.image = image;
    pane.loading = false;
    pane.error = null;
    this.showToken.set(element, { id, token, index: i });
    cornerstone.displayImage(element, image, viewport);
    this.prefetch(pane, i);
  }

  private showToken = new WeakMap<HTMLElement, { id: PaneId; token: number; index: number }>();

  private prefetch(pane: PaneState, i: number): void {
    for (let d = 1; d <= PREFETCH; d += 1) {
      for (const j of [i + d, i - d]) {
        const id = this.idAt(pane, j);
        if (id) void cornerstone.loadAndCacheImage(id).catch(() => undefined);
      }
    }
  }

  private viewportFor(pane: PaneState, image: Image, fresh: boolean): Partial<Viewport> {
    const element = pane.element as HTMLElement;
    const base: Viewport = fresh ? cornerstone.getDefaultViewportForImage(element, image) : { ...(cornerstone.getViewport(element) as Viewport) };
    if (fresh) {
      base.voi = { windowCenter: image.windowCenter, windowWidth: image.windowWidth };
      const modality = pane.detail?.modality ?? '';
      if (!image.color && modality.toUpperCase() !== 'CT' && !this.frames.info(image.imageId)?.windows.length) {
        const w = autoWindow(image.getPixelData(), image.slope, image.intercept);
        base.voi = { windowCenter: w.center, windowWidth: w.width };
        pane.presetLabel = 'Auto';
      }
    }
    const other = this.panes[this.other(pane.id)];
    if (this.locked && other.image && other.element && this.driver === other.id) {
      const placement = syncedPlacement(this.planeFor(other), this.placementOf(other), planeOf({ ...this.geometryOf(pane, image) }));
      base.scale = placement.scale;
      base.translation = placement.translation;
    }
    return base;
  }

  // ---- Geometry of what is shown -------------------------------------------------------------------
  private geometryOf(pane: PaneState, image: Image) {
    const info = this.frames.info(image.imageId);
    const img = pane.detail?.images[pane.index];
    return {
      rows: image.rows,
      columns: image.columns,
      imagePositionPatient: info?.imagePositionPatient ?? img?.imagePositionPatient ?? null,
      imageOrientationPatient: info?.imageOrientationPatient ?? img?.imageOrientationPatient ?? null,
      pixelSpacing: info?.pixelSpacing ?? img?.pixelSpacing ?? null,
    };
  }

  private planeFor(pane: PaneState): ImagePlane {
    if (pane.image) return planeOf(this.geometryOf(pane, pane.image));
    const img = pane.detail?.images[pane.index];
    return planeOf({
      rows: img?.rows ?? 1,
      columns: img?.columns ?? 1,
      imagePositionPatient: img?.imagePositionPatient ?? null,
      imageOrientationPatient: img?.imageOrientationPatient ?? null,
      pixelSpacing: img?.pixelSpacing ?? null,
    });
  }

  private placementOf(pane: PaneState): ViewPlacement {
    const vp = pane.element ? cornerstone.getViewport(pane.element) : undefined;
    return vp ? { scale: vp.scale, translation: { x: vp.translation.x, y: vp.translation.y } } : { scale: 1, translation: { x: 0, y: 0 } };
  }

  private other(id: PaneId): PaneId {
    return id === 'original' ? 'generated' : 'original';
  }

  // ---- Rendering and sync --------------------------------------------------------------------------
  private onRendered(pane: PaneState, detail: ImageRenderedDetail): void {
    const shown = pane.element ? this.showToken.get(pane.element) : undefined;
    if (shown) {
      this.showToken.delete(pane.element as HTMLElement);
      pane.renderedIndex = shown.index;
      const mark = `hgpt-show-${shown.id}-${shown.token}`;
      try {
        performance.measure(pane.renders === 0 ? 'hgpt-first-image' : 'hgpt-slice-render', mark);
      } catch {
        // mark cleared
      }
      performance.clearMarks(mark);
      // Cornerstone's own draw time (LUT + canvas), without the wait for the animation frame.
      const end = performance.now();
      try {
        performance.measure('hgpt-slice-draw', { start: end - detail.renderTimeInMs, end });
      } catch {
        // no User Timing
      }
    }
    pane.renders += 1;
    if (this.locked && this.driver === pane.id) this.syncFrom(pane);
    this.emit();
  }

  private syncFrom(src: PaneState): void {
    const dst = this.panes[this.other(src.id)];
    if (!src.image || !dst.detail || !dst.element) return;
    // Positions in two frames of reference are not comparable: such panes are not synced.
    if (!src.detail || !sameFrameOfReference(src.detail, dst.detail)) return;
    const srcPlane = this.planeFor(src);
    const placement = this.placementOf(src);
    if (src.index !== src.syncedIndex) {
      src.syncedIndex = src.index;
      const hit = syncedSlice(srcPlane, placement, dst.detail.images.map((i) => i.imagePositionPatient), dst.detail.images[0]?.imageOrientationPatient ?? null);
      if (hit) {
        dst.sliceOffsetMm = hit.distanceMm;
        if (hit.index !== dst.index || !dst.image) {
          src.syncedPlacement = placement;
          void this.show(dst.id, hit.index);
          return;
        }
      }
    }
    if (!dst.image) return;
    if (src.syncedPlacement && placementsClose(src.syncedPlacement, placement, 1e-6)) return;
    src.syncedPlacement = placement;
    const target = syncedPlacement(srcPlane, placement, this.planeFor(dst));
    const current = this.placementOf(dst);
    if (placementsClose(current, target)) return;
    const vp = cornerstone.getViewport(dst.element);
    if (vp) cornerstone.setViewport(dst.element, { ...vp, scale: target.scale, translation: target.translation });
  }

  /** The pane the user acts on becomes the driver of sync and the target of keys. */
  takeControl(id: PaneId): void {
    if (this.active !== id || this.driver !== id) {
      this.active = id;
      this.driver = id;
      const pane = this.panes[id];
      pane.syncedIndex = pane.index;
      pane.syncedPlacement = pane.image ? this.placementOf(pane) : null;
      this.emit();
    }
  }

  private onPointerMove(pane: PaneState, e: PointerEvent): void {
    if (!pane.element || !pane.image) return;
    const rect = pane.element.getBoundingClientRect();
    const c = { x: e.clientX - rect.left, y: e.clientY - rect.top };
    const px = cornerstone.canvasToPixel(pane.element, c);
    const plane = this.planeFor(pane);
    const patient = cornerstonePixelToPatient(plane, px);
    pane.cursor = { patient, value: this.valueAt(pane.image, px), canvas: c };
    pane.marker = null;
    const other = this.panes[this.other(pane.id)];
    other.cursor = null;
    other.marker = null;
    if (other.image && other.element) {
      const q = patientToCornerstonePixel(this.planeFor(other), patient);
      other.marker = cornerstone.pixelToCanvas(other.element, { x: q.x, y: q.y });
    }
    this.emit();
  }

  private clearCursor(): void {
    for (const id of PANE_IDS) {
      this.panes[id].cursor = null;
      this.panes[id].marker = null;
    }
    this.emit();
  }

  private valueAt(image: Image, p: Point2): number | null {
    if (image.color) return null;
    const x = Math.floor(p.x);
    const y = Math.floor(p.y);
    if (x < 0 || y < 0 || x >= image.columns || y >= image.rows) return null;
    const v = image.getPixelData()[y * image.columns + x];
    return v === undefined ? null : v * image.slope + image.intercept;
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
        return this.setMode(nextMode(this.mode));
      case 'tool':
        return this.setTool(cmd.tool);
      case 'cine':
        return this.cineTimer ? this.stopCine() : this.startCine();
      case 'cine-fps':
        return this.setCineFps(this.cineFps + cmd.delta);
      case 'other-pane':
        return this.takeControl(this.other(paneId));
      default:
        break;
    }
    if (!el || !pane.image) return;
    this.takeControl(paneId);
    const vp = cornerstone.getViewport(el);
    if (!vp) return;
    switch (cmd.kind) {
      case 'preset': {
        const w = presetFor(cmd.slot, pane.detail?.modality ?? '', pane.image.getPixelData(), pane.image.slope, pane.image.intercept);
        pane.presetLabel = w.label;
        cornerstone.setViewport(el, { ...vp, voi: { windowCenter: w.center, windowWidth: w.width } });
        break;
      }
      case 'image-window': {
        const info = this.frames.info(pane.image.imageId);
        const first = info?.windows[0];
        const w = first ? { center: first.center, width: first.width, label: 'Image' } : autoWindow(pane.image.getPixelData(), pane.image.slope, pane.image.intercept);
        pane.presetLabel = first ? 'Image' : 'Auto';
        cornerstone.setViewport(el, { ...vp, voi: { windowCenter: w.center, windowWidth: w.width } });
        break;
      }
      case 'scroll':
        this.scrollBy(paneId, cmd.delta);
        break;
      case 'first':
        void this.show(paneId, 0);
        break;
      case 'last':
        void this.show(paneId, (pane.detail?.images.length ?? 1) - 1);
        break;
      case 'invert':
        cornerstone.setViewport(el, { ...vp, invert: !vp.invert });
        break;
      case 'reset': {
        pane.presetLabel = null;
        const def = cornerstone.getDefaultViewportForImage(el, pane.image);
        cornerstone.setViewport(el, { ...def, voi: { windowCenter: pane.image.windowCenter, windowWidth: pane.image.windowWidth } });
        break;
      }
      case 'zoom':
        cornerstone.setViewport(el, { ...vp, scale: vp.scale * cmd.factor });
        break;
    }
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
    this.mode = mode;
    this.emit();
  }

  setFade(v: number): void {
    this.fade = Math.max(0, Math.min(100, v));
    this.emit();
  }

  setSwipe(v: number): void {
    this.swipe = Math.max(0, Math.min(100, v));
    this.emit();
  }

  setFlickerHz(v: number): void {
    this.flickerHz = Math.max(0.5, Math.min(10, v));
    this.emit();
  }

  setTool(tool: ViewerTool): void {
    this.tool = tool;
    for (const id of PANE_IDS) {
      const el = this.panes[id].element;
      if (!el) continue;
      for (const name of MEASURE_TOOLS) cornerstoneTools.setToolPassiveForElement(el, name);
      if (tool !== 'wwwc') cornerstoneTools.setToolPassiveForElement(el, 'Wwwc');
      cornerstoneTools.setToolActiveForElement(el, TOOL_NAMES[tool], { mouseButtonMask: 1 });
      if (tool !== 'pan') cornerstoneTools.setToolActiveForElement(el, 'Pan', { mouseButtonMask: 4 });
      if (tool !== 'zoom') cornerstoneTools.setToolActiveForElement(el, 'Zoom', { mouseButtonMask: 2 });
    }
    this.emit();
  }

  setActive(id: PaneId): void {
    this.takeControl(id);
  }

  startCine(): void {
    this.stopCine();
    this.cineTimer = setInterval(() => {
      const pane = this.panes[this.active];
      const n = pane.detail?.images.length ?? 0;
      if (n < 2 || pane.loading) return;
      this.driver = pane.id;
      void this.show(pane.id, (pane.index + 1) % n);
    }, 1000 / this.cineFps);
    this.emit();
  }

  stopCine(): void {
    if (this.cineTimer) clearInterval(this.cineTimer);
    this.cineTimer = null;
    this.emit();
  }

  setCineFps(fps: number): void {
    this.cineFps = Math.max(1, Math.min(60, Math.round(fps)));
    if (this.cineTimer) this.startCine();
    this.emit();
  }

  /** Pixel data and geometry of what a pane shows (the difference map reads it). */
  shown(id: PaneId): { image: Image; plane: ImagePlane; placement: ViewPlacement; canvas: { width: number; height: number } } | null {
    const pane = this.panes[id];
    if (!pane.image || !pane.element) return null;
    const canvas = cornerstone.getEnabledElement(pane.element).canvas;
    return { image: pane.image, plane: this.planeFor(pane), placement: this.placementOf(pane), canvas: { width: canvas.width, height: canvas.height } };
  }

  // ---- Snapshot ------------------------------------------------------------------------------------
  private measurementsOf(pane: PaneState): Measurement[] {
    if (!pane.element || !pane.image) return [];
    const out: Measurement[] = [];
    const hasSpacing = Boolean(this.frames.info(pane.image.imageId)?.pixelSpacing ?? pane.detail?.images[pane.index]?.pixelSpacing);
    for (const tool of MEASURE_TOOLS) {
      const state = cornerstoneTools.getToolState(pane.element, tool);
      for (const d of state?.data ?? []) {
        if (tool === 'Length' && typeof d.length === 'number') {
          const unit = hasSpacing ? 'mm' : 'px';
          out.push({ tool, value: d.length, unit, text: `Length ${d.length.toFixed(1)} ${unit}` });
        } else if (tool === 'Angle' && typeof d.rAngle === 'number') {
          out.push({ tool, value: d.rAngle, unit: '°', text: `Angle ${d.rAngle.toFixed(1)}°` });
        } else if (tool === 'EllipticalRoi') {
          const s = d.cachedStats as { mean?: number; stdDev?: number; area?: number } | undefined;
          if (s && typeof s.mean === 'number') {
            const unit = typeof d.unit === 'string' && d.unit ? d.unit : (pane.detail?.modality === 'CT' ? 'HU' : '');
            const area = typeof s.area === 'number' ? ` area ${s.area.toFixed(1)} ${hasSpacing ? 'mm²' : 'px²'}` : '';
            out.push({ tool, value: s.mean, unit, text: `ROI mean ${s.mean.toFixed(1)} ± ${(s.stdDev ?? 0).toFixed(1)} ${unit}${area}`.replace(/ +/g, ' ') });
          }
        }
      }
    }
    return out;
  }

  private paneView(pane: PaneState): PaneView {
    const vp = pane.element && pane.image ? cornerstone.getViewport(pane.element) : undefined;
    const plane = pane.image || pane.detail ? this.planeFor(pane) : null;
    const canvas = pane.element && pane.image ? cornerstone.getEnabledElement(pane.element).canvas : null;
    return {
      id: pane.id,
      seriesUid: pane.seriesUid,
      detail: pane.detail,
      info: pane.image ? (this.frames.info(pane.image.imageId) ?? null) : null,
      index: pane.index,
      count: pane.detail?.images.length ?? 0,
      loading: pane.loading,
      error: pane.error,
      renders: pane.renders,
      renderedIndex: pane.renderedIndex,
      windowWidth: vp?.voi.windowWidth ?? null,
      windowCenter: vp?.voi.windowCenter ?? null,
      invert: vp ? vp.invert !== Boolean(pane.image?.invert) : false,
      scale: vp?.scale ?? null,
      mmPerPixel: vp && plane ? mmPerScreenPixel(plane, vp.scale) : null,
      canvas: { width: canvas?.width ?? 0, height: canvas?.height ?? 0 },
      plane,
      presetLabel: pane.presetLabel,
      cursor: pane.cursor,
      marker: pane.marker,
      sliceOffsetMm: this.locked && this.driver !== pane.id ? pane.sliceOffsetMm : null,
      measurements: this.measurementsOf(pane),
    };
  }

  private build(): ViewerSnapshot {
    return {
      panes: { original: this.paneView(this.panes.original), generated: this.paneView(this.panes.generated) },
      active: this.active,
      locked: this.locked,
      mode: this.mode,
      fade: this.fade,
      swipe: this.swipe,
      flickerHz: this.flickerHz,
      tool: this.tool,
      cine: { playing: this.cineTimer !== null, fps: this.cineFps },
    };
  }
}

/** Two series can be synced in millimetres only when their patient coordinates share a frame of reference. */
export function sameFrameOfReference(a: Pick<SeriesDetail, 'frameOfReferenceUid'>, b: Pick<SeriesDetail, 'frameOfReferenceUid'>): boolean {
  return a.frameOfReferenceUid !== null && a.frameOfReferenceUid === b.frameOfReferenceUid;
}
