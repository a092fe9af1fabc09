/**
 * Synchronising the two panes in physical units (cornerstone3D's synchronizers do the same job, one
 * concern each): the slice nearest in mm along the other pane's normal, the placement that shows the same
 * patient point at the same screen place with the same mm per screen pixel, and the crosshair of the
 * cursor's patient point. Window/level is linked separately (window-link.ts), only when the units match.
 */
import type { Image } from 'cornerstone-core';
import type { SeriesDetail } from '../../src-shared/contracts/dicom';
import { cornerstone } from './cornerstone-setup';
import type { FrameService } from './image-loader';
import { cornerstonePixelToPatient, patientToCornerstonePixel, placementsClose, planeOf, syncedPlacement, syncedSlice, type Point2, type ViewPlacement } from './physical-sync';
import { geometryOf, placementOf, planeFor, sameFrameOfReference, type PaneId, type PaneState } from './pane-state';
import { sliceMatchTolerance, sliceSpacing } from './reading-rules';

/** Whether a series opening in one pane can follow what the other pane shows. */
export function canFollow(detail: SeriesDetail, other: PaneState): boolean {
  return Boolean(other.image && other.detail && sameFrameOfReference(detail, other.detail));
}

/** The slice of `detail` nearest to the other pane's slice and its distance in mm along its own normal. */
export function sliceFacing(frames: FrameService, detail: SeriesDetail, other: PaneState): { index: number; distanceMm: number } | null {
  return syncedSlice(planeFor(frames, other), placementOf(other), detail.images.map((i) => i.imagePositionPatient), detail.images[0]?.imageOrientationPatient ?? null);
}

function spacingOf(detail: SeriesDetail | null): number | null {
  if (!detail) return null;
  const normal = detail.sliceNormal ?? null;
  const spacing = normal ? sliceSpacing(detail.images.map((i) => i.imagePositionPatient), normal) : null;
  return spacing ?? detail.images[0]?.sliceThickness ?? null;
}

/** How far a following pane's slice may be from the linked location and still be shown as that place. */
export function followTolerance(a: SeriesDetail | null, b: SeriesDetail | null): number {
  return sliceMatchTolerance([spacingOf(a), spacingOf(b)]);
}

/** The placement `image` needs in `pane` to match the other pane's view of the same patient point. */
export function placementFollowing(frames: FrameService, pane: PaneState, image: Image, other: PaneState): ViewPlacement {
  return syncedPlacement(planeFor(frames, other), placementOf(other), planeOf({ ...geometryOf(frames, pane, image) }));
}

/**
 * Brings `dst` to what `src` (the driver) shows: a new slice index moves `dst` to its nearest slice
 * (through `show`, which renders and calls back here); a new placement is copied in physical units.
 */
export function syncFrom(frames: FrameService, src: PaneState, dst: PaneState, show: (id: PaneId, index: number) => void): void {
  if (!src.image || !dst.detail || !dst.element) return;
  // Positions in two frames of reference are not comparable: such panes are not synced.
  if (!src.detail || !sameFrameOfReference(src.detail, dst.detail)) return;
  const srcPlane = planeFor(frames, src);
  const placement = placementOf(src);
  if (src.index !== src.syncedIndex) {
    src.syncedIndex = src.index;
    const hit = syncedSlice(srcPlane, placement, dst.detail.images.map((i) => i.imagePositionPatient), dst.detail.images[0]?.imageOrientationPatient ?? null);
    if (hit) {
      dst.sliceOffsetMm = hit.distanceMm;
      // No slice near the location (not generated yet): keep what is there, hidden, rather than jump to
      // a slice elsewhere and show it as if it matched.
      const near = hit.distanceMm <= followTolerance(src.detail, dst.detail);
      if ((hit.index !== dst.index && near) || !dst.image) {
        src.syncedPlacement = placement;
        show(dst.id, hit.index);
        return;
      }
    }
  }
  if (!dst.image) return;
  if (src.syncedPlacement && placementsClose(src.syncedPlacement, placement, 1e-6)) return;
  src.syncedPlacement = placement;
  const target = syncedPlacement(srcPlane, placement, planeFor(frames, dst));
  const current = placementOf(dst);
  if (placementsClose(current, target)) return;
  const vp = cornerstone.getViewport(dst.element);
  if (vp) cornerstone.setViewport(dst.element, { ...vp, scale: target.scale, translation: target.translation });
}

/** The cursor in `pane` at a canvas point: its patient point and value there, and the crosshair in `other`. */
export function trackCursor(frames: FrameService, pane: PaneState, other: PaneState, c: Point2): void {
  if (!pane.element || !pane.image) return;
  const px = cornerstone.canvasToPixel(pane.element, c);
  const patient = cornerstonePixelToPatient(planeFor(frames, pane), px);
  pane.cursor = { patient, value: valueAt(pane.image, px), canvas: c };
  pane.marker = null;
  other.cursor = null;
  other.marker = null;
  if (other.image && other.element) {
    const q = patientToCornerstonePixel(planeFor(frames, other), patient);
    other.marker = cornerstone.pixelToCanvas(other.element, { x: q.x, y: q.y });
  }
}

/** The modality value (rescaled) of the image pixel under a point, null outside the image or for colour. */
function valueAt(image: Image, p: Point2): number | null {
  if (image.color) return null;
  const x = Math.floor(p.x);
  const y = Math.floor(p.y);
  if (x < 0 || y < 0 || x >= image.columns || y >= image.rows) return null;
  const v = image.getPixelData()[y * image.columns + x];
  return v === undefined ? null : v * image.slope + image.intercept;
}
