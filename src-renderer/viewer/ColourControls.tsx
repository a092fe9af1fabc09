import { useState } from 'react';
import { NEUTRAL_COLOUR, type ColourAdjust } from './colour-view';
import { useViewer } from './viewer-context';
import type { ViewerSnapshot } from './viewer-service';

/**
 * Colour images: brightness, contrast and gamma (in place of window/level) for the active pane, zoom 1:1
 * and nearest-neighbour pixels. Shown while the active pane holds an RGB image.
 */
export function ColourControls({ snap }: { snap: ViewerSnapshot }) {
  const viewer = useViewer();
  const [adjust, setAdjust] = useState<ColourAdjust>(NEUTRAL_COLOUR);
  const shown = viewer.shown(snap.active);
  if (!shown?.image.color) return null;
  const change = (next: ColourAdjust) => {
    setAdjust(next);
    viewer.run({ kind: 'colour-adjust', ...next });
  };
  const slider = (key: keyof ColourAdjust, label: string, min: number, max: number, step: number) => (
    <label className="inline-field" title={label}>
      {label}
      <input type="range" min={min} max={max} step={step} value={adjust[key]} data-testid={`colour-${key}`} aria-label={label} onChange={(e) => change({ ...adjust, [key]: Number(e.target.value) })} />
    </label>
  );
  return (
    <div className="tool-group" role="group" aria-label="Colour display" data-testid="colour-controls">
      {slider('brightness', 'Brightness', -1, 1, 0.02)}
      {slider('contrast', 'Contrast', 0.1, 5, 0.05)}
      {slider('gamma', 'Gamma', 0.2, 5, 0.05)}
      <button type="button" data-testid="colour-neutral" title="Neutral brightness, contrast and gamma" onClick={() => change(NEUTRAL_COLOUR)}>
        Neutral
      </button>
      <button type="button" data-testid="zoom-1to1" title="Zoom 1:1 (o)" onClick={() => viewer.run({ kind: 'zoom-1to1' })}>
        1:1
      </button>
      <button type="button" data-testid="nearest" title="Nearest-neighbour pixels (n)" onClick={() => viewer.run({ kind: 'nearest' })}>
        Nearest
      </button>
    </div>
  );
}
