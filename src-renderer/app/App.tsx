import { useEffect, useMemo, useState } from 'react';
import type { AppInfo } from '../../src-shared/contracts/app';
import type { WorkstationClient } from '../../src-shared/ipc/client-api';
import { connectWorkstation } from '../api/connect';
import { JobBar } from '../panels/JobBar';
import { ModelPanel } from '../panels/ModelPanel';
import { StatusLine } from '../panels/StatusLine';
import { StudyList } from '../panels/StudyList';
import { ViewerArea } from '../viewer/ViewerArea';
import { FrameService } from '../viewer/image-loader';
import { ViewerContext } from '../viewer/viewer-context';
import { ViewerService } from '../viewer/viewer-service';
import { JobsStore } from './jobs-store';
import { WorkspaceBus } from './workspace-commands';
import { HistoryPanel } from '../panels/HistoryPanel';
import { WorkstationContext } from './workstation-context';

export function App() {
  const [client, setClient] = useState<WorkstationClient | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [info, setInfo] = useState<AppInfo | null>(null);

  useEffect(() => {
    connectWorkstation().then(setClient, (e: unknown) => setProblem(e instanceof Error ? e.message : String(e)));
  }, []);

  useEffect(() => {
    if (!client) return;
    void client.app.getInfo({}).then((r) => (r.ok ? setInfo(r.value) : setProblem(r.error.message)));
  }, [client]);

  const jobs = useMemo(() => (client ? new JobsStore(client) : null), [client]);
  const viewer = useMemo(() => (client ? new ViewerService(new FrameService(client)) : null), [client]);
  useEffect(() => () => viewer?.dispose(), [viewer]);
  const workspace = useMemo(() => new WorkspaceBus(), []);
  const [leftTab, setLeftTab] = useState<'studies' | 'history'>('studies');

  if (problem && !client) {
    return (
      <div className="fatal" role="alert" data-testid="connection-error">
        <h1>HealthGPT Workstation</h1>
        <p>{problem}</p>
      </div>
    );
  }
  if (!client || !jobs || !viewer) return <div className="loading" aria-busy="true">Connecting to the workstation service…</div>;

  return (

      <WorkstationContext.Provider value={{ client, jobs, workspace, info, refreshInfo: () => void client.app.getInfo({}).then((r) => r.ok && setInfo(r.value)) }}>
        <ViewerContext.Provider value={viewer}>
        <div className="shell" data-testid="shell">
          <header className="shell-header">
            <h1>HealthGPT Workstation</h1>
            {info?.policy.locked && (
              <div className="policy-lock" role="alert" data-testid="policy-lock">
                Locked down by policy: {info.policy.messages.join(' ')}
              </div>
            )}
          </header>
          <nav className="region region-studies" aria-label="Studies" data-testid="region-studies">
            <div className="tabs" role="tablist">
              <button type="button" role="tab" aria-selected={leftTab === 'studies'} data-testid="tab-studies" onClick={() => setLeftTab('studies')}>
                Studies
              </button>
              <button type="button" role="tab" aria-selected={leftTab === 'history'} data-testid="tab-history" onClick={() => setLeftTab('history')}>
                History
              </button>
            </div>
            {leftTab === 'studies' ? <StudyList /> : <HistoryPanel />}
          </nav>
          <main className="region region-viewer" aria-label="Viewer" data-testid="region-viewer">
            <ViewerArea />
          </main>
          <aside className="region region-model" aria-label="Model and tasks" data-testid="region-model">
            <ModelPanel />
          </aside>
          <section className="region region-jobs" aria-label="Jobs" data-testid="region-jobs">
            <JobBar />
          </section>
          <footer className="region region-status" aria-label="Status" data-testid="region-status">
            <StatusLine />
          </footer>
        </div>
        </ViewerContext.Provider>
      </WorkstationContext.Provider>

  );
}
