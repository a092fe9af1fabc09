import { useCallback, useMemo, useState } from 'react';
import { useViewer, useViewerSnapshot } from '../viewer/viewer-context';
import type { PaneView } from '../viewer/viewer-service';
import { AskSection } from './workflow/AskSection';
import { GenerateSection } from './workflow/GenerateSection';
import { PackSection } from './workflow/PackSection';
import { RunFollowUp, type FinishedRun } from './workflow/RunFollowUp';
import { usePack } from './workflow/use-pack';
import './workflow/workflow.css';

/**
 * The model side of the reading workflow: the loaded pack, questions and draft reports about the left
 * pane's current slice, generation on its series, then review and export of the last run.
 */
export function ModelPanel() {
  const pack = usePack();
  const viewer = useViewer();
  const snap = useViewerSnapshot(viewer);
  const pane = snap.panes.original;
  // The sections only need the left pane's series and slice: keep the object stable while those stay the
  // same, so cursor moves, renders and cine frames of the viewer do not re-render the panel's sections.
  const left = useMemo<PaneView>(() => pane, [pane.seriesUid, pane.index, pane.count, pane.detail]);
  const [lastRun, setLastRun] = useState<FinishedRun | null>(null);
  // The generation now running (its label): the previous run's Review box is withdrawn while it runs, so
  // Accept/Reject can only reach the run on screen.
  const [running, setRunningLabel] = useState<string | null>(null);
  const setRunning = useCallback((label: string) => {
    setLastRun(null);
    setRunningLabel(label);
  }, []);
  const finished = useCallback((run: FinishedRun) => {
    setRunningLabel(null);
    setLastRun(run);
  }, []);
  // Tasks the loaded pack offers; null while none is loaded (the service then loads the default pack).
  const offered = pack.loaded?.tasks ?? null;
  // The service may have loaded the default pack on first use: re-read the status after each run.
  const { refresh } = pack;
  const settled = useCallback(() => void refresh(), [refresh]);
  const generationSettled = useCallback(() => {
    setRunningLabel(null);
    void refresh();
  }, [refresh]);
  return (
    <div className="panel wf-panel" data-testid="model-panel">
      <PackSection pack={pack} />
      <AskSection left={left} offered={offered} questionTypes={pack.loaded?.questionTypes} onRun={setLastRun} onSettled={settled} />
      <GenerateSection left={left} offered={offered} belowBaseline={pack.loaded?.belowBaseline} onRun={finished} onStart={setRunning} onSettled={generationSettled} />
      {running && !lastRun && (
        <section className="wf-section" aria-label="Review" data-testid="run-pending">
          <h2>Review</h2>
          <p className="muted">{running} is running: review it here when it finishes.</p>
        </section>
      )}
      {lastRun && <RunFollowUp key={lastRun.runId} run={lastRun} />}
    </div>
  );
}
