import { useEffect, useRef, type CSSProperties } from 'react';
import { orientationMarkers, scaleBar } from './physical-sync';
import { acquisitionText, ageSexText } from './reading-rules';
import { useViewer } from './viewer-context';
import { ConfidenceOverlay } from './ConfidenceOverlay';
import type { PaneId, PaneView, ViewerSnapshot } from './viewer-service';

const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '—');

function formatDate(d: string): string {
  return /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : d;
}

function forMismatch(snap: ViewerSnapshot): boolean {
  const a = snap.panes.original.detail?.frameOfReferenceUid;
  const b = snap.panes.generated.detail?.frameOfReferenceUid;
  return Boolean(a && b && a !== b);
}

function layerStyle(id: PaneId, snap: ViewerSnapshot): CSSProperties | undefined {
  if (id !== 'generated') return undefined;
  switch (snap.mode) {
    case 'fade':
      return { opacity: snap.fade / 100 };
    case 'swipe':
      return { clipPath: `inset(0 0 0 ${snap.swipe}%)` };
    case 'flicker':
      return { animationDuration: `${2 / snap.flickerHz}s` };
    case 'difference':
      return { visibility: 'hidden' };
    default:
      return undefined;
  }
}

function Corners({ view }: { view: PaneView }) {
  const info = view.info;
  const detail = view.detail;
  if (!detail) return null;
  const o = info?.overlay;
  const spacing = view.plane?.pixelSpacing;
  const img = detail.images[view.index];
  const location = img?.sliceLocation;
  return (
    <>
      <div className="corner corner-tl" data-testid={`overlay-tl-${view.id}`}>
        <div>{o?.patientName || detail.patientName || 'Anonymous'}</div>
        <div>
          ID {o?.patientId || detail.patientId || '—'}
          {ageSexText(o) ? ` · ${ageSexText(o)}` : ''}
        </div>
        <div>
          {formatDate(o?.studyDate || detail.studyDate)}
          {o?.accessionNumber ? ` · Acc ${o.accessionNumber}` : ''}
        </div>
        <div>{o?.studyDescription || detail.studyDescription}</div>
      </div>
      <div className="corner corner-tr" data-testid={`overlay-tr-${view.id}`}>
        <div>
          Se {detail.seriesNumber ?? '—'} {detail.seriesDescription}
        </div>
        <div>
          {detail.modality} {view.count > 0 && img ? `${img.columns}×${img.rows}` : ''}
        </div>
        {acquisitionText(o) && <div data-testid={`acquisition-${view.id}`}>{acquisitionText(o)}</div>}
        {o?.institutionName && <div>{o.institutionName}</div>}
      </div>
      <div className="corner corner-bl" data-testid={`overlay-bl-${view.id}`}>
        <div data-testid={`slice-${view.id}`}>
          Im {view.index + 1}/{view.count}
        </div>
        {location !== null && location !== undefined && <div>Loc {fmt(location)} mm</div>}
        {img?.sliceThickness ? <div>Thk {fmt(img.sliceThickness, 2)} mm</div> : null}
        {view.sliceOffsetMm !== null && view.sliceOffsetMm > 0.01 && <div className="muted">Δ {fmt(view.sliceOffsetMm, 2)} mm from linked slice</div>}
      </div>
      <div className="corner corner-br" data-testid={`overlay-br-${view.id}`}>
        {view.windowWidth !== null && view.windowCenter !== null && (
          <div data-testid={`wl-${view.id}`}>
            W {Math.round(view.windowWidth)} L {Math.round(view.windowCenter)}
            {view.presetLabel ? ` (${view.presetLabel})` : ''}
            {view.invert ? ' inv' : ''}
          </div>
        )}
        {view.scale !== null && <div data-testid={`zoom-${view.id}`}>Zoom {Math.round(view.scale * 100)}%</div>}
        {spacing && (
          <div data-testid={`spacing-${view.id}`}>
            {fmt(spacing[1] ?? 1, 3)}×{fmt(spacing[0] ?? 1, 3)} mm{info?.pixelSpacing ? '' : ' (assumed)'}
          </div>
        )}
      </div>
    </>
  );
}

function Markers({ view }: { view: PaneView }) {
  const iop = view.info?.imageOrientationPatient ?? view.detail?.images[view.index]?.imageOrientationPatient;
  if (!iop) return null;
  const m = orientationMarkers(iop);
  return (
    <>
      <div className="orient orient-top" data-testid={`orient-top-${view.id}`}>{m.top}</div>
      <div className="orient orient-bottom">{m.bottom}</div>
      <div className="orient orient-left" data-testid={`orient-left-${view.id}`}>{m.left}</div>
      <div className="orient orient-right">{m.right}</div>
    </>
  );
}

function ScaleBar({ view }: { view: PaneView }) {
  if (!view.mmPerPixel || view.canvas.width === 0) return null;
  const bar = scaleBar(view.mmPerPixel, view.canvas.width / 4);
  if (!bar) return null;
  return (
    <div className="scale-bar" data-testid={`scale-bar-${view.id}`} data-mm={bar.mm}>
      <div className="scale-bar-line" style={{ width: `${bar.pixels}px` }} />
      <span>{bar.label}</span>
    </div>
  );
}

export function ViewerPane({ id, snap }: { id: PaneId; snap: ViewerSnapshot }) {
  const viewer = useViewer();
  const ref = useRef<HTMLDivElement>(null);
  const view = snap.panes[id];
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    return viewer.attach(id, el);
  }, [viewer, id]);

  const overlayMode = snap.mode !== 'side';
  const showText = !overlayMode || id === 'generated';
  const cursor = view.cursor;
  const title = id === 'original' ? 'Original' : 'Generated';
  return (
    <section
      className={`pane pane-${id}${snap.active === id ? ' pane-active' : ''}`}
      aria-label={title}
      data-testid={`pane-${id}`}
      data-state={view.error ? 'error' : view.renders > 0 ? 'rendered' : view.loading ? 'loading' : 'empty'}
      data-series={view.seriesUid ?? ''}
      data-index={view.index}
      data-count={view.count}
      data-location={view.detail?.images[view.index]?.sliceLocation ?? ''}
      data-renders={view.renders}
      data-rendered-index={view.renderedIndex}
      data-ww={view.windowWidth ?? ''}
      data-wc={view.windowCenter ?? ''}
      data-unit={view.unit}
      data-no-slice={view.noSliceWithinMm ?? ''}
      data-scale={view.scale ?? ''}
      data-mm-per-px={view.mmPerPixel ?? ''}
      data-cursor={cursor ? cursor.patient.map((v) => v.toFixed(3)).join(',') : ''}
    >
      {view.noSliceWithinMm !== null && (
        <div className="no-slice" role="note" data-testid={`no-slice-${id}`} data-distance={view.noSliceWithinMm}>
          No {id === 'generated' ? 'generated ' : ''}slice at the linked location (nearest {fmt(view.noSliceWithinMm)} mm away)
          {id === 'generated' ? '. If it is being generated, it appears here when written.' : '.'}
        </div>
      )}
      <div
        className="cs-element"
        ref={ref}
        style={layerStyle(id, snap)}
        tabIndex={0}
        role="img"
        aria-label={`${title} image${view.detail ? `: ${view.detail.seriesDescription}, slice ${view.index + 1} of ${view.count}` : ''}`}
        data-testid={`viewport-${id}`}
        onContextMenu={(e) => e.preventDefault()}
        onFocus={() => viewer.setActive(id)}
      />
      {showText && (
        <div className="pane-overlay" aria-hidden={!view.detail}>
          <div className="pane-name">
            {title}
            {snap.active === id && view.detail ? ' •' : ''}
          </div>
          <Corners view={view} />
          <Markers view={view} />
          <ScaleBar view={view} />
          {cursor && (
            <div className="cursor-readout" data-testid={`cursor-${id}`}>
              ({cursor.patient.map((v) => fmt(v)).join(', ')}) mm{cursor.value !== null ? ` · ${fmt(cursor.value)} ${view.unit}` : ''}
            </div>
          )}
          {view.measurements.length > 0 && (
            <ul className="measurements" data-testid={`measurements-${id}`}>
              {view.measurements.map((m, i) => (
                <li key={i} data-testid="measurement" data-tool={m.tool} data-value={m.value} data-unit={m.unit} data-label-box={m.labelBox ? [m.labelBox.left, m.labelBox.top, m.labelBox.width, m.labelBox.height].map((v) => v.toFixed(1)).join(',') : ''}>
                  {m.text}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {view.marker && !overlayMode && <div className="crosshair" data-testid={`crosshair-${id}`} style={{ left: view.marker.x, top: view.marker.y }} />}
      {id === 'generated' && snap.locked && forMismatch(snap) && (
        <div className="sync-warning" role="note" data-testid="sync-warning">
          Different frame of reference from the original: linked by patient coordinates, which may not correspond.
        </div>
      )}
      {id === 'generated' && <ConfidenceOverlay view={view} />}
      {id === 'generated' && (
        <div className="ai-banner" data-testid="ai-banner">
          AI-generated
        </div>
      )}
      {!view.seriesUid && <div className="pane-empty">{id === 'original' ? 'Open a series from the study list.' : 'Generated images appear here (Shift+click a series to compare).'}</div>}
      {view.loading && view.renders === 0 && <div className="pane-empty">Loading…</div>}
      {view.error && (
        <div className="pane-error" role="alert" data-testid={`pane-error-${id}`}>
          {view.error}
        </div>
      )}
    </section>
  );
}
