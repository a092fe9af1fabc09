/** Cornerstone tools on a pane: which tool the left button drives, and the measurements drawn. */
import { cornerstoneTools } from './cornerstone-setup';
import type { FrameService } from './image-loader';
import type { ViewerTool } from './keymap';
import type { Measurement, PaneState } from './pane-state';
import { physicalLength } from './physical-sync';

const TOOL_NAMES: Record<ViewerTool, string> = { wwwc: 'Wwwc', pan: 'Pan', zoom: 'Zoom', length: 'Length', angle: 'Angle', roi: 'EllipticalRoi' };
const MEASURE_TOOLS = ['Length', 'Angle', 'EllipticalRoi'] as const;

/** Adds every tool to a newly enabled element: `tool` on the left button, pan on the middle, zoom on the right. */
export function addPaneTools(element: HTMLElement, tool: ViewerTool): void {
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
  t.setToolActiveForElement(element, TOOL_NAMES[tool], { mouseButtonMask: 1 });
}

/** Puts `tool` on the left button of an element; measurements already drawn stay (passive). */
export function activateTool(element: HTMLElement, tool: ViewerTool): void {
  const t = cornerstoneTools;
  for (const name of MEASURE_TOOLS) t.setToolPassiveForElement(element, name);
  if (tool !== 'wwwc') t.setToolPassiveForElement(element, 'Wwwc');
  t.setToolActiveForElement(element, TOOL_NAMES[tool], { mouseButtonMask: 1 });
  if (tool !== 'pan') t.setToolActiveForElement(element, 'Pan', { mouseButtonMask: 4 });
  if (tool !== 'zoom') t.setToolActiveForElement(element, 'Zoom', { mouseButtonMask: 2 });
}

/** The measurements drawn on a pane, as text in mm (px without pixel spacing) and HU for CT. */
export function paneMeasurements(frames: FrameService, pane: PaneState): Measurement[] {
  if (!pane.element || !pane.image) return [];
  const out: Measurement[] = [];
  const hasSpacing = Boolean(frames.info(pane.image.imageId)?.pixelSpacing ?? pane.detail?.images[pane.index]?.pixelSpacing);
  for (const tool of MEASURE_TOOLS) {
    const state = cornerstoneTools.getToolState(pane.element, tool);
    for (const d of state?.data ?? []) {
      if (tool === 'Length' && typeof d.length === 'number') {
        const shown = hasSpacing ? physicalLength(d.length) : { value: d.length, unit: 'px', text: `${d.length.toFixed(1)} px` };
        out.push({ tool, value: shown.value, unit: shown.unit, text: `Length ${shown.text}` });
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

/** Cornerstone tool events after which the measurements shown change. */
export function measurementEvents(): string[] {
  const t = cornerstoneTools;
  return [t.EVENTS.MEASUREMENT_COMPLETED, t.EVENTS.MEASUREMENT_MODIFIED, t.EVENTS.MEASUREMENT_REMOVED];
}
