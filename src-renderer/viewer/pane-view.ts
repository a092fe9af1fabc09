/** The read-only view React gets of one pane (part of the viewer's snapshot). */
import { cornerstone } from './cornerstone-setup';
import type { FrameService } from './image-loader';
import { planeFor, type PaneState, type PaneView } from './pane-state';
import { followTolerance } from './pane-sync';
import { paneMeasurements } from './pane-tools';
import { mmPerScreenPixel } from './physical-sync';
import { presetStillShown, valueUnit } from './reading-rules';

/** `followsOther`: the panes are linked and the other pane drives (this one follows its location). */
export function paneView(frames: FrameService, pane: PaneState, other: PaneState, followsOther: boolean): PaneView {
  const vp = pane.element && pane.image ? cornerstone.getViewport(pane.element) : undefined;
  const plane = pane.image || pane.detail ? planeFor(frames, pane) : null;
  const canvas = pane.element && pane.image ? cornerstone.getEnabledElement(pane.element).canvas : null;
  const following = followsOther && Boolean(other.image);
  return {
    id: pane.id,
    seriesUid: pane.seriesUid,
    detail: pane.detail,
    info: pane.image ? (frames.info(pane.image.imageId) ?? null) : null,
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
    presetLabel: pane.presetLabel && (!pane.presetVoi || presetStillShown(pane.presetVoi, vp ? vp.voi : null)) ? pane.presetLabel : null,
    cursor: pane.cursor,
    marker: pane.marker,
    sliceOffsetMm: following ? pane.sliceOffsetMm : null,
    noSliceWithinMm: following && pane.sliceOffsetMm !== null && pane.sliceOffsetMm > followTolerance(pane.detail, other.detail) ? pane.sliceOffsetMm : null,
    unit: valueUnit(pane.detail?.modality),
    measurements: paneMeasurements(frames, pane),
  };
}
