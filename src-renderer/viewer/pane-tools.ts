/** Cornerstone tools on a pane: which tool the left button drives, and the measurements drawn. */
import { cornerstone, cornerstoneTools } from './cornerstone-setup';
import type { FrameService } from './image-loader';
import type { ViewerTool } from './keymap';
import type { Measurement, PaneState } from './pane-state';
import { physicalLength } from './physical-sync';
import { measurementComplete, valueUnit, type ToolData } from './reading-rules';

const TOOL_NAMES: Record<ViewerTool, string> = { wwwc: 'Wwwc', pan: 'Pan', zoom: 'Zoom', length: 'Length', angle: 'Angle', roi: 'EllipticalRoi' };
const MEASURE_TOOLS = ['Length', 'Angle', 'EllipticalRoi'] as const;
type MeasureTool = (typeof MEASURE_TOOLS)[number];

/** Order in which measurements were completed (Delete removes the last one when none is selected). */
const completedAt = new WeakMap<object, number>();
let completions = 0;

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
  cancelPending(element);
  for (const name of MEASURE_TOOLS) t.setToolPassiveForElement(element, name);
  if (tool !== 'wwwc') t.setToolPassiveForElement(element, 'Wwwc');
  t.setToolActiveForElement(element, TOOL_NAMES[tool], { mouseButtonMask: 1 });
  if (tool !== 'pan') t.setToolActiveForElement(element, 'Pan', { mouseButtonMask: 4 });
  if (tool !== 'zoom') t.setToolActiveForElement(element, 'Zoom', { mouseButtonMask: 2 });
}

function toolData(element: HTMLElement, tool: MeasureTool): Array<Record<string, unknown>> {
  return cornerstoneTools.getToolState(element, tool)?.data ?? [];
}

/**
 * The complete measurements drawn on the image a pane shows, as text in the pane's own units: mm from
 * this image's pixel spacing (px without one), and ROI values in the unit of this series' modality (HU
 * only for CT). Incomplete ones (a single click, an angle still waiting for its third point) are left out.
 */
export function paneMeasurements(frames: FrameService, pane: PaneState): Measurement[] {
  if (!pane.element || !pane.image) return [];
  const out: Measurement[] = [];
  const hasSpacing = Boolean(frames.info(pane.image.imageId)?.pixelSpacing ?? pane.detail?.images[pane.index]?.pixelSpacing);
  const unit = valueUnit(pane.detail?.modality);
  for (const tool of MEASURE_TOOLS) {
    for (const d of toolData(pane.element, tool)) {
      if (!measurementComplete(tool, d as ToolData)) continue;
      const labelBox = (d.handles as { textBox?: { boundingBox?: Box } } | undefined)?.textBox?.boundingBox ?? null;
      if (tool === 'Length' && typeof d.length === 'number') {
        const shown = hasSpacing ? physicalLength(d.length) : { value: d.length, unit: 'px', text: `${d.length.toFixed(1)} px` };
        out.push({ tool, value: shown.value, unit: shown.unit, text: `Length ${shown.text}`, labelBox });
      } else if (tool === 'Angle' && typeof d.rAngle === 'number') {
        out.push({ tool, value: d.rAngle, unit: '°', text: `Angle ${d.rAngle.toFixed(1)}°`, labelBox });
      } else if (tool === 'EllipticalRoi') {
        const s = d.cachedStats as { mean: number; stdDev?: number; area?: number };
        const area = typeof s.area === 'number' ? ` · area ${s.area.toFixed(1)} ${hasSpacing ? 'mm²' : 'px²'}` : '';
        out.push({ tool, value: s.mean, unit, text: `ROI mean ${s.mean.toFixed(1)} ± ${(s.stdDev ?? 0).toFixed(1)} ${unit}${area}`, labelBox });
      }
    }
  }
  return out;
}

/** A measurement just completed: a degenerate one (single click) is removed instead of kept as NaN or 0. */
export function onMeasurementCompleted(element: HTMLElement, detail: { toolName?: string; measurementData?: Record<string, unknown> }): void {
  const tool = detail.toolName as MeasureTool | undefined;
  const data = detail.measurementData;
  if (!tool || !data || !(MEASURE_TOOLS as readonly string[]).includes(tool)) return;
  if (!measurementComplete(tool, data as ToolData)) {
    cornerstoneTools.removeToolState(element, tool, data);
    cornerstone.updateImage(element);
    return;
  }
  completions += 1;
  completedAt.set(data, completions);
}

/**
 * Removes the selected measurement (the one under the mouse, which Cornerstone marks active) or else the
 * last one made on this image, incomplete ones included. Returns whether one was removed.
 */
export function deleteMeasurement(element: HTMLElement): boolean {
  if (pendingData(element).length > 0) {
    cancelPending(element);
    cornerstone.updateImage(element);
    return true;
  }
  type Candidate = { tool: MeasureTool; data: Record<string, unknown>; order: number };
  let chosen: Candidate | null = null;
  let selected: Candidate | null = null;
  let seen = 0;
  for (const tool of MEASURE_TOOLS) {
    for (const data of toolData(element, tool)) {
      seen += 1;
      // Never completed (still being drawn): newest of all.
      const order = completedAt.get(data) ?? Number.MAX_SAFE_INTEGER - 1000 + seen;
      if (data.active === true && !selected) selected = { tool, data, order };
      if (!chosen || order > chosen.order) chosen = { tool, data, order };
    }
  }
  const target = selected ?? chosen;
  if (!target) return false;
  cornerstoneTools.removeToolState(element, target.tool, target.data);
  cornerstone.updateImage(element);
  return true;
}

/**
 * Ends a measurement still being placed on an element (Cornerstone removes it). While one is pending,
 * Cornerstone locks every tool on every pane and the pending handle keeps following the mouse: a single
 * click with Length or Angle left a 0 mm / NaN° measurement whose handle was then dragged on the other
 * pane's next gesture.
 */
export function cancelPending(element: HTMLElement): void {
  try {
    cornerstoneTools.getModule('manipulatorState').setters.cancelActiveManipulatorsForElement(element);
  } catch {
    // not enabled (any more): nothing pending
  }
}

function pendingData(element: HTMLElement): Array<{ tool: MeasureTool; data: Record<string, unknown> }> {
  const out: Array<{ tool: MeasureTool; data: Record<string, unknown> }> = [];
  for (const tool of MEASURE_TOOLS) {
    for (const data of toolData(element, tool)) {
      const handles = Object.values((data.handles ?? {}) as Record<string, { moving?: boolean } | undefined>);
      if (handles.some((h) => h?.moving === true)) out.push({ tool, data });
    }
  }
  return out;
}

function samePoint(a: unknown, b: unknown): boolean {
  const p = a as Partial<{ x: number; y: number }> | undefined;
  const q = b as Partial<{ x: number; y: number }> | undefined;
  if (!p || !q || typeof p.x !== 'number' || typeof p.y !== 'number' || typeof q.x !== 'number' || typeof q.y !== 'number') return true;
  return Math.hypot(p.x - q.x, p.y - q.y) < 1;
}

/**
 * After a button is released on an element: a measurement that is still being placed and has no extent
 * yet (a click without a drag: Length or ROI with start = end, Angle with start = middle) is cancelled.
 * An angle whose first arm was dragged keeps waiting for its third point, as Cornerstone intends.
 */
export function dropClickedMeasurement(element: HTMLElement): boolean {
  const pending = pendingData(element);
  const degenerate = pending.some(({ tool, data }) => {
    const h = (data.handles ?? {}) as Record<string, unknown>;
    return tool === 'Angle' ? samePoint(h.start, h.middle) : samePoint(h.start, h.end);
  });
  if (degenerate) cancelPending(element);
  return degenerate;
}

interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

function overlaps(a: Box, b: Box): boolean {
  return a.left < b.left + b.width && b.left < a.left + a.width && a.top < b.top + b.height && b.top < a.top + a.height;
}

/**
 * Moves ROI text boxes that overlap another measurement's text (the length label) below it, in image
 * coordinates so they stay put on zoom and pan. Returns whether any moved (the caller redraws).
 */
export function separateTextBoxes(element: HTMLElement): boolean {
  const placed: Box[] = [];
  for (const tool of ['Length', 'Angle'] as const) {
    for (const d of toolData(element, tool)) {
      const b = (d.handles as { textBox?: { boundingBox?: Box } } | undefined)?.textBox?.boundingBox;
      if (b) placed.push(b);
    }
  }
  let moved = false;
  for (const d of toolData(element, 'EllipticalRoi')) {
    const textBox = (d.handles as { textBox?: { boundingBox?: Box; x?: number; y?: number; hasMoved?: boolean } } | undefined)?.textBox;
    const b = textBox?.boundingBox;
    if (!textBox || !b || typeof textBox.x !== 'number' || typeof textBox.y !== 'number') continue;
    const hit = placed.find((p) => overlaps(b, p));
    if (hit) {
      const at = cornerstone.pixelToCanvas(element, { x: textBox.x, y: textBox.y });
      const shift = hit.top + hit.height + 4 - b.top;
      const next = cornerstone.canvasToPixel(element, { x: at.x, y: at.y + shift });
      textBox.x = next.x;
      textBox.y = next.y;
      textBox.hasMoved = true;
      moved = true;
      placed.push({ ...b, top: b.top + shift });
    } else {
      placed.push(b);
    }
  }
  return moved;
}

/** Cornerstone tool events after which the measurements shown change. */
export function measurementEvents(): string[] {
  const t = cornerstoneTools;
  return [t.EVENTS.MEASUREMENT_COMPLETED, t.EVENTS.MEASUREMENT_MODIFIED, t.EVENTS.MEASUREMENT_REMOVED];
}

export function measurementCompletedEvent(): string {
  return cornerstoneTools.EVENTS.MEASUREMENT_COMPLETED;
}
