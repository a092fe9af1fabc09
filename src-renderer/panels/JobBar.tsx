import { useState } from 'react';
import { useJobs } from '../app/jobs-store';
import { useWorkstation } from '../app/workstation-context';
import { wholeCount } from './workflow/progress-text';

function percent(done: number, total: number): number {
  return total > 0 ? Math.min(100, Math.round((done / total) * 100)) : 0;
}

export function JobBar() {
  const { client, jobs } = useWorkstation();
  const list = useJobs(jobs);
  const [problem, setProblem] = useState<string | null>(null);

  const runDiagnostics = async () => {
    setProblem(null);
    const started = await client.jobs.startSelfTest({ steps: 20, stepMs: 100 });
    if (!started.ok) return setProblem(started.error.message);
    void jobs.track(started.value.jobId, started.value.kind, 'Diagnostics');
  };

  return (
    <div className="job-bar">
      {list.length === 0 && <span className="muted">No jobs running.</span>}
      {list.map((j) => (
        <div key={j.jobId} className="job" data-testid="job" data-state={j.final?.status ?? 'running'}>
          <span className="job-label">{j.label}</span>
          <progress max={100} value={percent(j.done, j.total)} aria-label={`${j.label} progress`} />
          <span className="job-count" data-testid="job-count">
            {wholeCount(j.done, j.total)}
          </span>
          {j.etaSeconds !== undefined && !j.final && <span className="muted">~{Math.ceil(j.etaSeconds)} s left</span>}
          {j.final ? (
            <span className={`job-final job-${j.final.status}`} data-testid="job-final">
              {j.final.status === 'failed' ? `failed: ${j.final.error.message}` : j.final.status}
            </span>
          ) : (
            <button type="button" onClick={() => void client.jobs.cancel({ jobId: j.jobId })} data-testid="job-cancel">
              Cancel
            </button>
          )}
        </div>
      ))}
      {problem && <span className="error-text">{problem}</span>}
      <button type="button" className="diagnostics" onClick={() => void runDiagnostics()} data-testid="run-diagnostics">
        Run diagnostics
      </button>
    </div>
  );
}
