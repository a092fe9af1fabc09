import { useEffect, useRef, useState } from 'react';
import type { ConfidenceMapView } from '../../src-shared/contracts/workflow';
import { useWorkstation } from '../app/workstation-context';
import './confidence-overlay.css';
import { colouriseConfidence, confidenceLegendGradient } from './confidence-map';
import { useViewer } from './viewer-context';
import type { PaneView } from './viewer-service';

/** What the colours are, and what they are not (model card: the held-out evaluation of this figure). */
export const CONFIDENCE_CAVEAT =
  "The model's own probability per image token, not a measured error. On held-out slices it marked background vs anatomy but did not track the real error inside the body (model card): do not read a clear area as correct.";

/**
 * A toggle on the generated pane that lays the slice's recorded confidence map over it (every comparison
 * mode: it sits in the generated pane), with a legend. The map is read from the run in the history.
 */
export function ConfidenceOverlay({ view }: { view: PaneView }) {
  const viewer = useViewer();
  const { client } = useWorkstation();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [on, setOn] = useState(false);
  const [map, setMap] = useState<{ key: string; value: ConfidenceMapView | null; problem: string | null } | null>(null);
  const uid = view.seriesUid;
  // the map is recorded by write order, which is the generated series' instance number
  const instance = view.detail?.images[view.index]?.instanceNumber;
  const sliceIndex = instance != null && instance > 0 ? instance - 1 : view.index;
  const key = `${uid}:${sliceIndex}`;

  useEffect(() => {
    if (!on || !uid || map?.key === key) return;
    let live = true;
    client.workflow.confidenceMap({ generatedSeriesUid: uid, sliceIndex }).then(
      (r) => live && setMap(r.ok ? { key, value: r.value, problem: null } : { key, value: null, problem: r.error.message }),
      (e: unknown) => live && setMap({ key, value: null, problem: e instanceof Error ? e.message : String(e) }),
    );
    return () => {
      live = false;
    };
  }, [on, uid, key, sliceIndex, map?.key, client]);

  const current = map?.key === key ? map.value : null;
  useEffect(() => {
    const canvas = canvasRef.current;
    const shown = viewer.shown('generated');
    if (!on || !canvas || !current || !shown) return;
    const step = 2;
    const img = colouriseConfidence(current, shown.plane, shown.placement, shown.canvas, step);
    canvas.width = img.width;
    canvas.height = img.height;
    canvas.getContext('2d')?.putImageData(new ImageData(img.rgba as Uint8ClampedArray<ArrayBuffer>, img.width, img.height), 0, 0);
  }, [viewer, on, current, view.renders, view.index, view.scale, view.canvas.width, view.canvas.height]);

  if (!uid) return null;
  return (
    <>
      <button type="button" className="confidence-toggle" data-testid="confidence-toggle" aria-pressed={on} onClick={() => setOn(!on)}>
        Confidence
      </button>
      {on && (
        <div className="confidence-overlay" data-testid="confidence-overlay" data-mean={current?.summary.meanProbability ?? ''}>
          <canvas ref={canvasRef} className="confidence-canvas" />
          <div className="confidence-legend" data-testid="confidence-legend" title={CONFIDENCE_CAVEAT}>
            <span>p 1.0 (clear)</span>
            <div className="confidence-legend-ramp" style={{ background: confidenceLegendGradient() }} />
            <span>p 0.0</span>
            <span className="confidence-legend-caption">chosen-token probability{current ? ` · mean ${current.summary.meanProbability.toFixed(2)}` : ''}</span>
            <span className="confidence-legend-caveat">{CONFIDENCE_CAVEAT}</span>
          </div>
          {map?.key === key && map.problem && <div className="pane-empty" data-testid="confidence-problem">{map.problem}</div>}
        </div>
      )}
    </>
  );
}
