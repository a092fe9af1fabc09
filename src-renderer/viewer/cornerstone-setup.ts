/**
 * One-time Cornerstone setup: externals for cornerstone-tools, our image loader and metadata provider,
 * and the image cache budget. Only the renderer imports this (Cornerstone needs the DOM and canvas).
 * Checked under the app's CSP (no eval, no remote origins): neither library evaluates strings.
 */
import cornerstone from 'cornerstone-core';
import cornerstoneMath from 'cornerstone-math';
import cornerstoneTools from 'cornerstone-tools';
import Hammer from 'hammerjs';
import { IMAGE_SCHEME, type FrameService } from './image-loader';

let initialised = false;
let currentFrames: FrameService | null = null;

/**
 * Image cache budget (Cornerstone evicts the least recently used images past it): a 300-slice 512² CT is
 * ~160 MB of 16-bit pixels, a 2,000-slice one ~1 GB; 640 MiB keeps the renderer under 1.5 GB with any
 * series open (evicted slices are fetched again when shown).
 */
export const IMAGE_CACHE_BYTES = 640 * 1024 * 1024;

export function setupCornerstone(frames: FrameService): void {
  currentFrames = frames;
  if (initialised) return;
  initialised = true;
  cornerstoneTools.external.cornerstone = cornerstone;
  cornerstoneTools.external.cornerstoneMath = cornerstoneMath;
  cornerstoneTools.external.Hammer = Hammer;
  cornerstoneTools.init({ showSVGCursors: false, globalToolSyncEnabled: false, mouseEnabled: true, touchEnabled: true });
  cornerstone.registerImageLoader(IMAGE_SCHEME, (imageId) => {
    if (!currentFrames) return { promise: Promise.reject(new Error('viewer not connected')) };
    return currentFrames.loader(imageId);
  });
  cornerstone.metaData.addProvider((type, imageId) => currentFrames?.metadata(type, imageId), 100);
  cornerstone.imageCache.setMaximumSizeBytes(IMAGE_CACHE_BYTES);
}

export { cornerstone, cornerstoneTools };
