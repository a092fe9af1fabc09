import { useEffect } from 'react';
import { useWorkstation } from '../app/workstation-context';
import { ColourControls } from './ColourControls';
import { ColourDifferenceOverlay } from './ColourDifferenceOverlay';
import { DifferenceOverlay } from './DifferenceOverlay';
import { COMPARISON_MODES, DEFAULT_KEYMAP, type ComparisonMode, type ViewerTool } from './keymap';
import { useViewer, useViewerSnapshot } from './viewer-context';
import { ViewerPane } from './ViewerPane';
import type { PaneView, ViewerSnapshot } from './viewer-service';
import './viewer.css';

const MODE_LABELS: Record<ComparisonMode, string> = { side: 'Side by side', fade: 'Fade', swipe: 'Swipe', flicker: 'Flicker', difference: 'Difference' };
const TOOLS: Array<[ViewerTool, string, string]> = [
  ['wwwc', 'W/L', 'w'],
  ['pan', 'Pan', 'p'],
  ['zoom', 'Zoom', 'z'],
  ['length', 'Length', 'l'],
  ['angle', 'Angle', 'a'],
  ['roi', 'ROI', 'e'],
];

function isTextEntry(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !['button', 'checkbox', 'radio', 'range'].includes(target.type);
}

function wlText(name: string, view: PaneView): string {
  if (view.windowWidth === null || view.windowCenter === null) return `${name} —`;
  return `${name} W ${Math.round(view.windowWidth)} L ${Math.round(view.windowCenter)}${view.unit === 'HU' ? ' HU' : ''}`;
}

function Toolbar({ snap }: { snap: ViewerSnapshot }) {
  const viewer = useViewer();
  return (
    <div className="viewer-toolbar" role="toolbar" aria-label="Viewer tools">
      <div className="tool-group" role="group" aria-label="Mouse tool (left button)">
        {TOOLS.map(([tool, label, key]) => (
          <button key={tool} type="button" aria-pressed={snap.tool === tool} title={`${label} (${key})`} data-testid={`tool-${tool}`} onClick={() => viewer.setTool(tool)}>
            {label}
          </button>
        ))}
      </div>
      <div className="tool-group" role="group" aria-label="Window presets">
        {([1, 2, 3, 4] as const).map((slot) => (
          <button key={slot} type="button" title={DEFAULT_KEYMAP.find((b) => b.key === String(slot))?.label} data-testid={`preset-${slot}`} onClick={() => viewer.run({ kind: 'preset', slot })}>
            {slot}
          </button>
        ))}
        <button type="button" title="Invert (i)" onClick={() => viewer.run({ kind: 'invert' })} data-testid="invert">
          Invert
        </button>
        <button type="button" title="Reset (r)" onClick={() => viewer.run({ kind: 'reset' })} data-testid="reset">
          Reset
        </button>
      </div>
      <div className="tool-group" role="group" aria-label="Cine">
        <button type="button" aria-pressed={snap.cine.playing} data-testid="cine" title="Cine (c)" onClick={() => viewer.run({ kind: 'cine' })}>
          {snap.cine.playing ? 'Stop' : 'Cine'}
        </button>
        <label className="inline-field">
          <input type="number" min={1} max={60} value={snap.cine.fps} aria-label="Cine frames per second" data-testid="cine-fps" onChange={(e) => viewer.setCineFps(Number(e.target.value))} />
          fps
        </label>
      </div>
      <div className="tool-group" role="group" aria-label="Pane synchronisation">
        <button
          type="button"
          className={snap.locked ? 'lock lock-on' : 'lock'}
          aria-pressed={snap.locked}
          data-testid="sync-lock"
          title="Link scroll, pan and zoom of the two panes in millimetres (k)"
          onClick={() => viewer.setLocked(!snap.locked)}
        >
          {snap.locked ? 'Linked (mm)' : 'Unlinked'}
        </button>
        <button
          type="button"
          className={snap.windowLinked ? 'lock lock-on' : 'lock'}
          aria-pressed={snap.windowLinked}
          data-testid="wl-link"
          data-chosen={snap.windowLinkChosen}
          title="Link window/level of the two panes (j). On by default when both series have the same modality and units."
          onClick={() => viewer.setWindowLink(!snap.windowLinked)}
        >
          {snap.windowLinked ? 'W/L linked' : 'W/L per pane'}
        </button>
        <span className="wl-readout" data-testid="wl-both">
          {wlText('Orig', snap.panes.original)} · {wlText('Gen', snap.panes.generated)}
        </span>
      </div>
      <div className="tool-group" role="radiogroup" aria-label="Comparison mode">
        {COMPARISON_MODES.map((m) => (
          <button key={m} type="button" role="radio" aria-checked={snap.mode === m} data-testid={`mode-${m}`} onClick={() => viewer.setMode(m)}>
            {MODE_LABELS[m]}
          </button>
        ))}
        {snap.mode === 'fade' && (
          <input type="range" min={0} max={100} value={snap.fade} aria-label="Fade: generated image opacity" data-testid="fade-slider" onChange={(e) => viewer.setFade(Number(e.target.value))} />
        )}
        {snap.mode === 'swipe' && (
          <input type="range" min={0} max={100} value={snap.swipe} aria-label="Swipe: split position" data-testid="swipe-slider" onChange={(e) => viewer.setSwipe(Number(e.target.value))} />
        )}
        {snap.mode === 'flicker' && (
          <label className="inline-field">
            <input type="number" min={0.5} max={10} step={0.5} value={snap.flickerHz} aria-label="Flicker rate" data-testid="flicker-hz" onChange={(e) => viewer.setFlickerHz(Number(e.target.value))} />
            Hz
          </label>
        )}
      </div>
      <ColourControls snap={snap} />
      <details className="keymap">
        <summary>Keys</summary>
        <table>
          <tbody>
            {DEFAULT_KEYMAP.map((b, i) => (
              <tr key={i}>
                <td>
                  <kbd>{b.key}</kbd>
                </td>
                <td>{b.label}</td>
              </tr>
            ))}
            <tr>
              <td>wheel</td>
              <td>Scroll slices · middle drag pans · right drag zooms</td>
            </tr>
          </tbody>
        </table>
      </details>
    </div>
  );
}

function SwipeLine({ snap }: { snap: ViewerSnapshot }) {
  const viewer = useViewer();
  return (
    <div
      className="swipe-line"
      data-testid="swipe-line"
      style={{ left: `${snap.swipe}%` }}
      role="separator"
      aria-orientation="vertical"
      aria-valuenow={snap.swipe}
      aria-label="Swipe split: original left, generated right"
      onPointerDown={(e) => {
        const area = e.currentTarget.parentElement;
        if (!area) return;
        e.currentTarget.setPointerCapture(e.pointerId);
        const move = (ev: PointerEvent) => {
          const r = area.getBoundingClientRect();
          viewer.setSwipe(((ev.clientX - r.left) / r.width) * 100);
        };
        const up = () => {
          window.removeEventListener('pointermove', move);
          window.removeEventListener('pointerup', up);
        };
        window.addEventListener('pointermove', move);
        window.addEventListener('pointerup', up);
      }}
    >
      <span className="swipe-label swipe-label-left">Original</span>
      <span className="swipe-label swipe-label-right">Generated</span>
    </div>
  );
}

export function ViewerArea() {
  const viewer = useViewer();
  const snap = useViewerSnapshot(viewer);
  const { workspace } = useWorkstation();

  useEffect(() => workspace.on('open-series', ({ seriesUid, pane, sliceIndex }) => void viewer.open(pane, seriesUid, sliceIndex)), [workspace, viewer]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || isTextEntry(e.target)) return;
      if (viewer.handleKey(e)) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [viewer]);

  // Two RGB panes compare by CIEDE2000 ΔE; anything else by the signed grey difference.
  const colourPair = snap.mode === 'difference' && !!viewer.shown('original')?.image.color && !!viewer.shown('generated')?.image.color;
  return (
    <div className="viewer">
      <Toolbar snap={snap} />
      <div className={`viewer-area mode-${snap.mode}`} data-testid="viewer-area" data-mode={snap.mode} data-locked={snap.locked}>
        <ViewerPane id="original" snap={snap} />
        <ViewerPane id="generated" snap={snap} />
        {snap.mode === 'difference' && (colourPair ? <ColourDifferenceOverlay snap={snap} /> : <DifferenceOverlay snap={snap} />)}
        {snap.mode === 'swipe' && <SwipeLine snap={snap} />}
      </div>
    </div>
  );
}
