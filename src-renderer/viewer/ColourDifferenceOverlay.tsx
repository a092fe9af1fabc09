import { useEffect, useRef, useState } from 'react';
import { deltaEColour, type ChannelHistograms } from '../../src-shared/colour/colour-difference';
import { colouriseDeltaE, deltaEField, rgbaHistograms } from './colour-difference-field';
import { useViewer } from './viewer-context';
import type { ViewerSnapshot } from './viewer-service';

const BAR_STEPS = 32;
const CHANNEL_COLOURS = ['#e0443e', '#3fbf4f', '#4a7fe0'];

/** One pane's R, G, B histograms as three polylines (each scaled to its own tallest bin). */
function Histogram({ h, label, testId }: { h: ChannelHistograms | null; label: string; testId: string }) {
  if (!h) return null;
  const w = 88;
  const height = 48;
  return (
    <figure className="colour-histogram" data-testid={testId}>
      <svg width={w} height={height} viewBox={`0 0 ${w} ${height}`} role="img" aria-label={`${label} R, G, B histograms`}>
        {h.channels.map((counts, c) => {
          const top = Math.max(1, ...counts);
          const pts = Array.from(counts, (v, i) => `${((i + 0.5) * w) / counts.length},${height - (v / top) * (height - 2)}`).join(' ');
          return <polyline key={c} points={pts} fill="none" stroke={CHANNEL_COLOURS[c]} strokeWidth={1} />;
        })}
      </svg>
      <figcaption>{label}</figcaption>
    </figure>
  );
}

/** CIEDE2000 ΔE between two RGB panes over the original pane's view, with its colour bar and both panes' histograms. */
export function ColourDifferenceOverlay({ snap }: { snap: ViewerSnapshot }) {
  const viewer = useViewer();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [state, setState] = useState<{ range: number; mean: number; max: number; problem: string | null }>({ range: 0, mean: 0, max: 0, problem: null });
  const [hists, setHists] = useState<{ a: ChannelHistograms; b: ChannelHistograms } | null>(null);
  const o = snap.panes.original;
  const g = snap.panes.generated;

  useEffect(() => {
    const a = viewer.shown('original');
    const b = viewer.shown('generated');
    const canvas = canvasRef.current;
    if (!canvas || !a || !b) return;
    const pa = a.image.getPixelData();
    const pb = b.image.getPixelData();
    const field = deltaEField({ plane: a.plane, pixels: pa }, a.placement, { plane: b.plane, pixels: pb }, a.canvas, 2);
    canvas.width = field.width;
    canvas.height = field.height;
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.putImageData(new ImageData(colouriseDeltaE(field) as Uint8ClampedArray<ArrayBuffer>, field.width, field.height), 0, 0);
    const overlap = field.values.some((v) => !Number.isNaN(v));
    setState({ range: field.range, mean: field.mean, max: field.max, problem: overlap ? null : 'The two images do not overlap.' });
    setHists({ a: rgbaHistograms(pa), b: rgbaHistograms(pb) });
  }, [viewer, o.renders, g.renders, o.index, g.index, o.scale, o.canvas.width, o.canvas.height, o.detail, g.detail]);

  const stops = Array.from({ length: BAR_STEPS + 1 }, (_, i) => {
    const [r, gg, b] = deltaEColour(state.range * (1 - i / BAR_STEPS), state.range);
    return `rgb(${r},${gg},${b}) ${((i / BAR_STEPS) * 100).toFixed(1)}%`;
  });
  return (
    <div className="difference" data-testid="difference-map" data-kind="ciede2000" data-range={state.range} data-mean={state.mean}>
      <canvas ref={canvasRef} className="difference-canvas" />
      <div className="colour-bar" data-testid="colour-bar" aria-label={`ΔE2000 colour bar, 0 to ${state.range.toFixed(1)}`}>
        <span className="colour-bar-label">ΔE {state.range.toFixed(1)}+</span>
        <div className="colour-bar-ramp" style={{ background: `linear-gradient(to bottom, ${stops.join(', ')})` }} />
        <span className="colour-bar-label">0</span>
        <span className="colour-bar-caption">CIEDE2000, mean {state.mean.toFixed(2)}, max {state.max.toFixed(1)}</span>
        <Histogram h={hists?.a ?? null} label="original" testId="histogram-original" />
        <Histogram h={hists?.b ?? null} label="generated" testId="histogram-generated" />
      </div>
      {state.problem && <div className="pane-empty">{state.problem}</div>}
    </div>
  );
}
