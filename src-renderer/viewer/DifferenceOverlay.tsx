import { useEffect, useRef, useState } from 'react';
import { colouriseDifference, differenceField, divergingColour } from './difference-map';
import { differenceKind } from './reading-rules';
import { useViewer } from './viewer-context';
import type { ViewerSnapshot } from './viewer-service';

const BAR_STEPS = 64;

/**
 * generated − original over the original pane's view, with its colour bar: in the shared unit when both
 * series have the same modality; across modalities refused, or on request a normalised structural
 * difference (each image z-scored), labelled as such and never in HU. It lies under the pane's labels and
 * orientation markers, and its colour bar keeps clear of them.
 */
export function DifferenceOverlay({ snap }: { snap: ViewerSnapshot }) {
  const viewer = useViewer();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [normalised, setNormalised] = useState(false);
  const [state, setState] = useState<{ range: number; finite: number; problem: string | null }>({ range: 0, finite: 0, problem: null });
  const o = snap.panes.original;
  const g = snap.panes.generated;
  const kind = differenceKind(o.detail?.modality, g.detail?.modality, normalised);
  const unit = kind.kind === 'units' ? kind.unit : kind.kind === 'normalised' ? 'SD' : '';

  useEffect(() => {
    const a = viewer.shown('original');
    const b = viewer.shown('generated');
    const canvas = canvasRef.current;
    if (!canvas) return;
    const ctx = canvas.getContext('2d');
    const clear = () => ctx?.clearRect(0, 0, canvas.width, canvas.height);
    if (!a || !b) {
      clear();
      setState({ range: 0, finite: 0, problem: 'Open a series in both panes to see their difference.' });
      return;
    }
    if (a.image.color || b.image.color) {
      clear();
      setState({ range: 0, finite: 0, problem: 'Difference maps are for greyscale images.' });
      return;
    }
    if (kind.kind === 'refused') {
      clear();
      setState({ range: 0, finite: 0, problem: null });
      return;
    }
    const field = differenceField(
      { plane: a.plane, pixels: a.image.getPixelData(), slope: a.image.slope, intercept: a.image.intercept },
      a.placement,
      { plane: b.plane, pixels: b.image.getPixelData(), slope: b.image.slope, intercept: b.image.intercept },
      a.canvas,
      2,
      kind.kind === 'normalised',
    );
    canvas.width = field.width;
    canvas.height = field.height;
    if (!ctx) return;
    const rgba = colouriseDifference(field);
    ctx.putImageData(new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, field.width, field.height), 0, 0);
    let finite = 0;
    for (const v of field.values) if (!Number.isNaN(v)) finite += 1;
    setState({ range: field.range, finite, problem: finite === 0 ? 'The two images do not overlap in patient space.' : null });
  }, [viewer, kind.kind, o.renders, g.renders, o.index, g.index, o.scale, o.canvas.width, o.canvas.height, o.detail, g.detail]);

  const stops = Array.from({ length: BAR_STEPS + 1 }, (_, i) => {
    const [r, gg, b] = divergingColour(1 - (2 * i) / BAR_STEPS);
    return `rgb(${r},${gg},${b}) ${((i / BAR_STEPS) * 100).toFixed(1)}%`;
  });
  const digits = kind.kind === 'normalised' ? 1 : 0;
  const caption = kind.kind === 'normalised' ? 'normalised structural difference (each image z-scored; not HU)' : 'generated − original';
  return (
    <div className="difference" data-testid="difference-map" data-kind={kind.kind} data-unit={unit} data-range={state.range} data-finite={state.finite}>
      <canvas ref={canvasRef} className="difference-canvas" />
      {kind.kind === 'refused' ? (
        <div className="difference-refused" role="note" data-testid="difference-refused">
          <p>{kind.reason}</p>
          <button type="button" data-testid="difference-normalised" onClick={() => setNormalised(true)}>
            Show normalised structural difference
          </button>
        </div>
      ) : (
        <div className="colour-bar" data-testid="colour-bar" aria-label={`Difference colour bar, ±${state.range.toFixed(digits)} ${unit}`}>
          <span className="colour-bar-label">
            +{state.range.toFixed(digits)} {unit}
          </span>
          <div className="colour-bar-ramp" style={{ background: `linear-gradient(to bottom, ${stops.join(', ')})` }} />
          <span className="colour-bar-label">0 at centre</span>
          <span className="colour-bar-label">
            −{state.range.toFixed(digits)} {unit}
          </span>
          <span className="colour-bar-caption" data-testid="difference-caption">
            {caption}
          </span>
          {kind.kind === 'normalised' && (
            <button type="button" className="difference-back" data-testid="difference-units" onClick={() => setNormalised(false)}>
              Back
            </button>
          )}
        </div>
      )}
      {state.problem && <div className="pane-empty">{state.problem}</div>}
    </div>
  );
}
