import { useEffect, useRef, useState } from 'react';
import { colouriseDifference, differenceField, divergingColour } from './difference-map';
import { useViewer } from './viewer-context';
import type { ViewerSnapshot } from './viewer-service';

const BAR_STEPS = 64;

/** generated − original in modality units over the original pane's view, with its colour bar. */
export function DifferenceOverlay({ snap }: { snap: ViewerSnapshot }) {
  const viewer = useViewer();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [state, setState] = useState<{ range: number; finite: number; problem: string | null }>({ range: 0, finite: 0, problem: null });
  const o = snap.panes.original;
  const g = snap.panes.generated;
  const unit = o.detail?.modality === 'CT' && g.detail?.modality === 'CT' ? 'HU' : '';

  useEffect(() => {
    const a = viewer.shown('original');
    const b = viewer.shown('generated');
    const canvas = canvasRef.current;
    if (!canvas) return;
    if (!a || !b) {
      setState({ range: 0, finite: 0, problem: 'Open a series in both panes to see their difference.' });
      return;
    }
    if (a.image.color || b.image.color) {
      setState({ range: 0, finite: 0, problem: 'Difference maps are for greyscale images.' });
      return;
    }
    const field = differenceField(
      { plane: a.plane, pixels: a.image.getPixelData(), slope: a.image.slope, intercept: a.image.intercept },
      a.placement,
      { plane: b.plane, pixels: b.image.getPixelData(), slope: b.image.slope, intercept: b.image.intercept },
      a.canvas,
      2,
    );
    canvas.width = field.width;
    canvas.height = field.height;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    const rgba = colouriseDifference(field);
    ctx.putImageData(new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, field.width, field.height), 0, 0);
    let finite = 0;
    for (const v of field.values) if (!Number.isNaN(v)) finite += 1;
    setState({ range: field.range, finite, problem: finite === 0 ? 'The two images do not overlap in patient space.' : null });
  }, [viewer, o.renders, g.renders, o.index, g.index, o.scale, o.canvas.width, o.canvas.height, o.detail, g.detail]);

  const stops = Array.from({ length: BAR_STEPS + 1 }, (_, i) => {
    const [r, gg, b] = divergingColour(1 - (2 * i) / BAR_STEPS);
    return `rgb(${r},${gg},${b}) ${((i / BAR_STEPS) * 100).toFixed(1)}%`;
  });
  return (
    <div className="difference" data-testid="difference-map" data-range={state.range} data-finite={state.finite}>
      <canvas ref={canvasRef} className="difference-canvas" />
      <div className="colour-bar" data-testid="colour-bar" aria-label={`Difference colour bar, ±${state.range.toFixed(0)} ${unit}`}>
        <span className="colour-bar-label">+{state.range.toFixed(0)} {unit}</span>
        <div className="colour-bar-ramp" style={{ background: `linear-gradient(to bottom, ${stops.join(', ')})` }} />
        <span className="colour-bar-label">0 at centre</span>
        <span className="colour-bar-label">−{state.range.toFixed(0)} {unit}</span>
        <span className="colour-bar-caption">generated − original</span>
      </div>
      {state.problem && <div className="pane-empty">{state.problem}</div>}
    </div>
  );
}
