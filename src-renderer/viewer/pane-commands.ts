/**
 * The viewer's commands that act on one pane's view (OHIF's CommandsManager keeps them apart from the
 * panes the same way): presets, the image's own window, scrolling, invert, reset and zoom; and the
 * viewport a newly shown image starts with.
 */
import type { Image, Viewport } from 'cornerstone-core';
import { colourLut, type ColourAdjust } from './colour-view';
import { cornerstone } from './cornerstone-setup';
import type { FrameService } from './image-loader';
import type { ViewerCommand } from './keymap';
import { labelWindow, type PaneId, type PaneState } from './pane-state';
import { placementFollowing } from './pane-sync';
import { autoWindow, presetFor } from './windowing';

export interface PaneNavigation {
  scrollBy(id: PaneId, delta: number): void;
  show(id: PaneId, index: number): void;
}

/** Applies a view command to a pane showing `image`; commands about the viewer as a whole are not here. */
export function applyPaneCommand(cmd: ViewerCommand, pane: PaneState, image: Image, el: HTMLElement, vp: Viewport, frames: FrameService, nav: PaneNavigation): void {
  switch (cmd.kind) {
    case 'preset': {
      const w = presetFor(cmd.slot, pane.detail?.modality ?? '', image.getPixelData(), image.slope, image.intercept);
      labelWindow(pane, w.label, { windowWidth: w.width, windowCenter: w.center });
      cornerstone.setViewport(el, { ...vp, voi: { windowCenter: w.center, windowWidth: w.width } });
      break;
    }
    case 'image-window': {
      const info = frames.info(image.imageId);
      const first = info?.windows[0];
      const w = first ? { center: first.center, width: first.width, label: 'Image' } : autoWindow(image.getPixelData(), image.slope, image.intercept);
      labelWindow(pane, first ? 'Image' : 'Auto', { windowWidth: w.width, windowCenter: w.center });
      cornerstone.setViewport(el, { ...vp, voi: { windowCenter: w.center, windowWidth: w.width } });
      break;
    }
    case 'scroll':
      nav.scrollBy(pane.id, cmd.delta);
      break;
    case 'first':
      nav.show(pane.id, 0);
      break;
    case 'last':
      nav.show(pane.id, (pane.detail?.images.length ?? 1) - 1);
      break;
    case 'invert':
      cornerstone.setViewport(el, { ...vp, invert: !vp.invert });
      break;
    case 'reset': {
      labelWindow(pane, null, null);
      const def = cornerstone.getDefaultViewportForImage(el, image);
      cornerstone.setViewport(el, { ...def, voi: { windowCenter: image.windowCenter, windowWidth: image.windowWidth } });
      break;
    }
    case 'zoom':
      cornerstone.setViewport(el, { ...vp, scale: vp.scale * cmd.factor });
      break;
    case 'zoom-1to1':
      cornerstone.setViewport(el, { ...vp, scale: 1 });
      break;
    case 'nearest':
      cornerstone.setViewport(el, { ...vp, pixelReplication: !vp.pixelReplication });
      break;
    case 'colour-adjust':
      applyColourAdjust(el, image, { brightness: cmd.brightness, contrast: cmd.contrast, gamma: cmd.gamma });
      break;
  }
}

/**
 * The viewport to show `image` with: a fresh image gets its own window (auto for MR without one), a later
 * slice keeps the current view; a pane that follows `leader` takes the leader's placement in mm.
 */
export function viewportFor(frames: FrameService, pane: PaneState, image: Image, fresh: boolean, leader: PaneState | null): Partial<Viewport> {
  const element = pane.element as HTMLElement;
  const base: Viewport = fresh ? cornerstone.getDefaultViewportForImage(element, image) : { ...(cornerstone.getViewport(element) as Viewport) };
  if (fresh) {
    base.voi = { windowCenter: image.windowCenter, windowWidth: image.windowWidth };
    const modality = pane.detail?.modality ?? '';
    if (!image.color && modality.toUpperCase() !== 'CT' && !frames.info(image.imageId)?.windows.length) {
      const w = autoWindow(image.getPixelData(), image.slope, image.intercept);
      base.voi = { windowCenter: w.center, windowWidth: w.width };
      labelWindow(pane, 'Auto', { windowWidth: w.width, windowCenter: w.center });
    }
  }
  if (leader) {
    const placement = placementFollowing(frames, pane, image, leader);
    base.scale = placement.scale;
    base.translation = placement.translation;
  }
  return base;
}

/**
 * Shows a colour image through a brightness/contrast/gamma table. Cornerstone 2 draws a colour image
 * through `image.cachedLut`, regenerated from the window only when the viewport's window or invert
 * differ from the key stored with it: the table is stored under the current key and the image redrawn.
 */
function applyColourAdjust(el: HTMLElement, image: Image, adjust: ColourAdjust): void {
  if (!image.color) return;
  const vp = cornerstone.getViewport(el);
  if (!vp) return;
  image.cachedLut = { windowWidth: vp.voi.windowWidth, windowCenter: vp.voi.windowCenter, invert: vp.invert, lutArray: colourLut(adjust) };
  cornerstone.updateImage(el, true);
}
