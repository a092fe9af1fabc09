/**
 * The state of one viewer pane and the read-only views of it React gets (snapshots), plus the geometry
 * of what a pane shows: the plane in patient space and the placement (zoom/pan) on screen.
 */
import type { Image } from 'cornerstone-core';
import type { SeriesDetail } from '../../src-shared/contracts/dicom';
import type { ImagePlane, Vec3 } from '../../src-shared/dicom/geometry';
import { cornerstone } from './cornerstone-setup';
import type { FrameInfo, FrameService } from './image-loader';
import type { ComparisonMode, ViewerTool } from './keymap';
import { flatImagePair, planeOf, type Point2, type ViewPlacement } from './physical-sync';
import type { Voi } from './reading-rules';

export type PaneId = 'original' | 'generated';
export const PANE_IDS: readonly PaneId[] = ['original', 'generated'];

export interface Measurement {
  tool: 'Length' | 'Angle' | 'EllipticalRoi';
  text: string;
  value: number;
  unit: string;
  /** Where Cornerstone drew the measurement's own label on the canvas (canvas pixels), once drawn. */
  labelBox: { left: number; top: number; width: number; height: number } | null;
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
  /**
   * Set when the pane follows the other one but has no slice near its location (a series still being
   * generated, or a range that ends before it): how far the nearest slice is, in mm. The pane then hides
   * its image instead of showing a slice from elsewhere as if it matched.
   */
  noSliceWithinMm: number | null;
  /** The unit of the pane's values (HU only for CT). */
  unit: string;
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
  /** Window/level linked across the panes (its default follows the modalities, see reading-rules). */
  windowLinked: boolean;
  /** Whether the reader set the link (else it is the default for the two series shown). */
  windowLinkChosen: boolean;
}

export interface PaneState {
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
  /** The window the preset label was given for: a different window on screen drops the label. */
  presetVoi: Voi | null;
  /** The window last seen on this pane (a render with another one is a change to pass on when linked). */
  lastVoi: Voi | null;
  syncedIndex: number;
  syncedPlacement: ViewPlacement | null;
  sliceOffsetMm: number | null;
  cursor: PaneView['cursor'];
  marker: Point2 | null;
  teardown: Array<() => void>;
}

export function emptyPane(id: PaneId): PaneState {
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
    presetVoi: null,
    lastVoi: null,
    syncedIndex: -1,
    syncedPlacement: null,
    sliceOffsetMm: null,
    cursor: null,
    marker: null,
    teardown: [],
  };
}

export function otherPane(id: PaneId): PaneId {
  return id === 'original' ? 'generated' : 'original';
}

/** Two series can be synced in millimetres only when their patient coordinates share a frame of reference. */
export function sameFrameOfReference(a: Pick<SeriesDetail, 'frameOfReferenceUid'> & Partial<Pick<SeriesDetail, 'images'>>, b: Pick<SeriesDetail, 'frameOfReferenceUid'> & Partial<Pick<SeriesDetail, 'images'>>): boolean {
  if (a.frameOfReferenceUid !== null) return a.frameOfReferenceUid === b.frameOfReferenceUid;
  return flatImagePair(a, b);
}


/** Rows, columns and patient geometry of the image a pane shows (the frame's own, else the series'). */
export function geometryOf(frames: FrameService, pane: PaneState, image: Image) {
  const info = frames.info(image.imageId);
  const img = pane.detail?.images[pane.index];
  return {
    rows: image.rows,
    columns: image.columns,
    imagePositionPatient: info?.imagePositionPatient ?? img?.imagePositionPatient ?? null,
    imageOrientationPatient: info?.imageOrientationPatient ?? img?.imageOrientationPatient ?? null,
    pixelSpacing: info?.pixelSpacing ?? img?.pixelSpacing ?? null,
  };
}

export function planeFor(frames: FrameService, pane: PaneState): ImagePlane {
  if (pane.image) return planeOf(geometryOf(frames, pane, pane.image));
  const img = pane.detail?.images[pane.index];
  return planeOf({
    rows: img?.rows ?? 1,
    columns: img?.columns ?? 1,
    imagePositionPatient: img?.imagePositionPatient ?? null,
    imageOrientationPatient: img?.imageOrientationPatient ?? null,
    pixelSpacing: img?.pixelSpacing ?? null,
  });
}

export function placementOf(pane: PaneState): ViewPlacement {
  const vp = pane.element ? cornerstone.getViewport(pane.element) : undefined;
  return vp ? { scale: vp.scale, translation: { x: vp.translation.x, y: vp.translation.y } } : { scale: 1, translation: { x: 0, y: 0 } };
}

/** Gives a pane's window a label (a preset, the image's own, auto) that lasts while that window stays. */
export function labelWindow(pane: PaneState, label: string | null, voi: Voi | null): void {
  pane.presetLabel = label;
  pane.presetVoi = label ? voi : null;
}
