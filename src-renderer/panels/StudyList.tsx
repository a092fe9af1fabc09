import { useCallback, useEffect, useRef, useState, type DragEvent, type KeyboardEvent, type MouseEvent } from 'react';
import { importReportSchema, type ImportReport, type SeriesSummary, type StudySummary } from '../../src-shared/contracts/dicom';
import { useWorkstation } from '../app/workstation-context';
import { useViewer } from '../viewer/viewer-context';
import type { PaneId } from '../viewer/viewer-service';
import { autoWindow } from '../viewer/windowing';
import { PacsPanel } from './PacsPanel';

const THUMB = 64;

/** A series thumbnail: the middle image, auto-windowed, drawn small. Fetched once per series. */
function Thumbnail({ series, defer }: { series: SeriesSummary; defer: boolean }) {
  const { client } = useWorkstation();
  const ref = useRef<HTMLCanvasElement>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    // While importing, the decoder serves the viewer first; thumbnails follow when the import ends.
    if (series.imageCount === 0 || defer) return;
    void client.dicom.getFrame({ seriesUid: series.seriesUid, index: Math.floor(series.imageCount / 2) }).then((r) => {
      const canvas = ref.current;
      if (!live || !canvas) return;
      if (!r.ok) return setFailed(true);
      const f = r.value;
      const ctx = canvas.getContext('2d');
      if (!ctx) return;
      const out = ctx.createImageData(THUMB, THUMB);
      const scale = Math.max(f.columns, f.rows) / THUMB;
      const ox = (THUMB - f.columns / scale) / 2;
      const oy = (THUMB - f.rows / scale) / 2;
      const w = f.color ? null : autoWindow(f.pixels, f.rescaleSlope, f.rescaleIntercept);
      for (let y = 0; y < THUMB; y += 1) {
        for (let x = 0; x < THUMB; x += 1) {
          const sx = Math.floor((x - ox) * scale);
          const sy = Math.floor((y - oy) * scale);
          const k = (y * THUMB + x) * 4;
          out.data[k + 3] = 255;
          if (sx < 0 || sy < 0 || sx >= f.columns || sy >= f.rows) continue;
          const i = sy * f.columns + sx;
          if (f.color) {
            out.data[k] = f.pixels[i * 3] ?? 0;
            out.data[k + 1] = f.pixels[i * 3 + 1] ?? 0;
            out.data[k + 2] = f.pixels[i * 3 + 2] ?? 0;
          } else if (w) {
            const v = (f.pixels[i] ?? 0) * f.rescaleSlope + f.rescaleIntercept;
            let g = ((v - (w.center - w.width / 2)) / w.width) * 255;
            if (f.invert) g = 255 - g;
            out.data[k] = out.data[k + 1] = out.data[k + 2] = Math.max(0, Math.min(255, g));
          }
        }
      }
      ctx.putImageData(out, 0, 0);
    });
    return () => {
      live = false;
    };
  }, [client, series.seriesUid, series.imageCount, defer]);
  return failed ? <div className="thumb thumb-failed">no image</div> : <canvas ref={ref} className="thumb" width={THUMB} height={THUMB} aria-hidden="true" />;
}

function describeReport(r: ImportReport): string {
  const parts = [`Imported ${r.imported} of ${r.files} file${r.files === 1 ? '' : 's'}`];
  if (r.failed) parts.push(`${r.failed} failed`);
  if (r.skipped) parts.push(`${r.skipped} skipped`);
  return `${parts.join(', ')} in ${(r.elapsedMs / 1000).toFixed(1)} s.`;
}

/** Electron exposes paths of dropped files through the preload (webUtils.getPathForFile); browsers do not. */
interface DropPathApi {
  pathForFile?: (file: File) => string;
}

export function StudyList() {
  const { client, jobs } = useWorkstation();
  const viewer = useViewer();
  const [studies, setStudies] = useState<StudySummary[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [paths, setPaths] = useState('');
  const [report, setReport] = useState<ImportReport | null>(null);
  const [importing, setImporting] = useState(false);
  const [dragging, setDragging] = useState(false);
  const [openSeries, setOpenSeries] = useState<Record<PaneId, string | null>>({ original: null, generated: null });
  const [source, setSource] = useState<'files' | 'pacs'>('files');

  const refresh = useCallback(async (): Promise<StudySummary[]> => {
    const r = await client.dicom.listStudies({});
    if (r.ok) {
      setStudies(r.value);
      return r.value;
    }
    setProblem(r.error.message);
    return [];
  }, [client]);

  // While an import runs, the list refreshes every half second so series appear as their files are read,
  // and the first new series opens in the original pane if it is empty (the first image does not wait for
  // the whole import). Open panes re-read their series so slice counts grow.
  const knownSeries = useRef(new Set<string>());
  const autoOpen = useRef(false);
  const refreshTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const refreshDuringImport = useCallback(async () => {
    const list = await refresh();
    if (autoOpen.current && !viewer.seriesIn('original')) {
      const fresh = list.flatMap((st) => st.series).find((se) => !knownSeries.current.has(se.seriesUid) && se.imageCount > 0);
      if (fresh) {
        autoOpen.current = false;
        setOpenSeries((s) => ({ ...s, original: fresh.seriesUid }));
        void viewer.open('original', fresh.seriesUid);
      }
    }
    void viewer.refreshSeries();
  }, [refresh, viewer]);
  const refreshing = useRef(false);
  const scheduleRefresh = useCallback(() => {
    // Until the first series is open, look on every progress event (≤ 10/s); then every half second.
    if (autoOpen.current && !refreshing.current) {
      refreshing.current = true;
      void refreshDuringImport().finally(() => {
        refreshing.current = false;
      });
      return;
    }
    if (refreshTimer.current) return;
    refreshTimer.current = setTimeout(() => {
      refreshTimer.current = null;
      void refreshDuringImport();
    }, 500);
  }, [refreshDuringImport]);
  useEffect(() => () => {
    if (refreshTimer.current) clearTimeout(refreshTimer.current);
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  // Generated series are imported by the workflow in main; list them once a generation job ends.
  useEffect(
    () =>
      client.subscribe('jobFinal', (f) => {
        if (f.kind === 'workflow-generate') void refresh();
      }),
    [client, refresh],
  );

  const startImport = async (list: string[]) => {
    const clean = list.map((p) => p.trim()).filter(Boolean);
    if (clean.length === 0) return;
    setProblem(null);
    setReport(null);
    setImporting(true);
    knownSeries.current = new Set(studies.flatMap((st) => st.series.map((se) => se.seriesUid)));
    autoOpen.current = !viewer.seriesIn('original');
    const started = await client.dicom.import({ paths: clean });
    if (!started.ok) {
      setImporting(false);
      setProblem(started.error.message);
      return;
    }
    const final = await jobs.track(started.value.jobId, started.value.kind, 'DICOM import', scheduleRefresh);
    setImporting(false);
    if (final.status === 'failed') setProblem(`Import failed: ${final.error.message}`);
    const parsed = importReportSchema.safeParse(final.status === 'failed' ? undefined : final.result);
    if (parsed.success) setReport(parsed.data);
    else if (final.status === 'cancelled') setProblem('Import cancelled; files read so far stay imported.');
    await refreshDuringImport();
    autoOpen.current = false;
  };

  const open = (series: SeriesSummary, pane: PaneId) => {
    setOpenSeries((s) => ({ ...s, [pane]: series.seriesUid }));
    void viewer.open(pane, series.seriesUid);
  };

  const onSeriesClick = (e: MouseEvent, series: SeriesSummary) => open(series, e.shiftKey ? 'generated' : 'original');
  const onSeriesKey = (e: KeyboardEvent, series: SeriesSummary) => {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      open(series, e.shiftKey ? 'generated' : 'original');
    }
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const api = window.healthgpt as unknown as DropPathApi | undefined;
    const files = Array.from(e.dataTransfer.files);
    const dropped = files.map((f) => api?.pathForFile?.(f) ?? '').filter(Boolean);
    if (dropped.length > 0) return void startImport(dropped);
    if (files.length > 0) {
      setProblem(
        `${files.length} file${files.length === 1 ? '' : 's'} dropped, but this window cannot see file paths (browser mode has no access to them). Type or paste the folder path above instead.`,
      );
    }
  };

  return (
    <div
      className={`panel study-list${dragging ? ' drop-target' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
      data-testid="study-list"
    >
      <div className="tabs" role="tablist">
        <button type="button" role="tab" aria-selected={source === 'files'} onClick={() => setSource('files')} data-testid="source-files">
          Import
        </button>
        <button type="button" role="tab" aria-selected={source === 'pacs'} onClick={() => setSource('pacs')} data-testid="source-pacs">
          PACS
        </button>
      </div>
      {source === 'pacs' && (
        <PacsPanel
          onStarted={() => {
            // Like an import: the first retrieved series opens in an empty pane while the rest still arrives.
            knownSeries.current = new Set(studies.flatMap((st) => st.series.map((se) => se.seriesUid)));
            autoOpen.current = !viewer.seriesIn('original');
          }}
          onArrived={scheduleRefresh}
          onFinished={() => {
            autoOpen.current = false;
            void refreshDuringImport();
          }}
        />
      )}
      <h2 hidden={source !== 'files'}>Import</h2>
      <form
        hidden={source !== 'files'}
        className="import-form"
        onSubmit={(e) => {
          e.preventDefault();
          void startImport(paths.split(/\n|;/));
        }}
      >
        <textarea
          rows={2}
          value={paths}
          onChange={(e) => setPaths(e.target.value)}
          placeholder="File or folder paths, one per line (or drop files here)"
          aria-label="Paths to import"
          data-testid="import-paths"
        />
        <button type="submit" disabled={importing || !paths.trim()} data-testid="import-button">
          {importing ? 'Importing…' : 'Import'}
        </button>
      </form>
      {problem && (
        <p className="error-text" role="alert" data-testid="import-problem">
          {problem}
        </p>
      )}
      {report && (
        <div className="import-report" data-testid="import-report" data-imported={report.imported} data-failed={report.failed}>
          <p>{describeReport(report)}</p>
          {report.entries.some((e) => e.status !== 'ok') && (
            <details open={report.failed > 0 && report.failed <= 20}>
              <summary>Files not imported</summary>
              <ul>
                {report.entries
                  .filter((e) => e.status !== 'ok')
                  .slice(0, 500)
                  .map((e) => (
                    <li key={e.path} data-testid="import-error" className={e.status === 'error' ? 'error-text' : 'muted'} title={e.path}>
                      <span className="import-path">{e.path.split(/[\\/]/).pop()}</span>: {e.message ?? e.problem}
                    </li>
                  ))}
              </ul>
            </details>
          )}
        </div>
      )}
      <h2>Studies</h2>
      {studies.length === 0 && (
        <p className="muted" data-testid="studies-empty">
          No studies imported yet.
        </p>
      )}
      <ul className="studies" aria-label="Studies">
        {studies.map((st) => (
          <li key={st.studyUid} className="study" data-testid="study">
            <div className="study-head">
              <strong>{st.patientName || 'Anonymous'}</strong> <span className="muted">{st.patientId}</span>
              <div className="muted">
                {st.studyDate} {st.studyDescription} · {st.modalities.join('/')}
              </div>
            </div>
            <ul className="series-list" aria-label={`Series of ${st.studyDescription || st.studyUid}`}>
              {st.series.map((se) => (
                <li
                  key={se.seriesUid}
                  className={`series${openSeries.original === se.seriesUid ? ' open-original' : ''}${openSeries.generated === se.seriesUid ? ' open-generated' : ''}`}
                  tabIndex={0}
                  role="button"
                  aria-label={`Series ${se.seriesNumber ?? ''} ${se.seriesDescription}, ${se.modality}, ${se.imageCount} images. Enter opens, Shift+Enter opens in the generated pane.`}
                  data-testid="series"
                  data-series-uid={se.seriesUid}
                  data-description={se.seriesDescription}
                  onClick={(e) => onSeriesClick(e, se)}
                  onKeyDown={(e) => onSeriesKey(e, se)}
                >
                  <Thumbnail series={se} defer={importing} />
                  <div className="series-text">
                    <div>
                      {se.seriesNumber ?? '—'} {se.seriesDescription || '(no description)'}
                    </div>
                    <div className="muted">
                      {se.modality} · {se.imageCount} im · {se.columns}×{se.rows}
                    </div>
                    <button
                      type="button"
                      className="open-generated-button"
                      data-testid="open-in-generated"
                      title="Open in the generated pane (Shift+click)"
                      onClick={(e) => {
                        e.stopPropagation();
                        open(se, 'generated');
                      }}
                    >
                      → generated pane
                    </button>
                  </div>
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
    </div>
  );
}
