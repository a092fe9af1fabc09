import type { PackState } from './use-pack';

const TASK_LABELS: Record<string, string> = {
  vqa: 'Questions (VQA)',
  report: 'Draft report',
  sr: '4× super-resolution',
  ct2mri: 'CT → MRI',
  mri2ct: 'MRI → CT',
  recon: 'Reconstruction',
};

export function taskLabel(task: string): string {
  return TASK_LABELS[task] ?? task;
}

/** The loaded pack (name, version, intended use, provider, tasks) and the picker of packs found. */
export function PackSection({ pack }: { pack: PackState }) {
  const { loaded } = pack;
  return (
    <section className="wf-section" aria-label="Model pack" data-testid="pack-section">
      <h2>Model</h2>
      {!pack.ready && <p className="muted">Reading the model status…</p>}
      {pack.busy && (
        <p className="muted" aria-live="polite" data-testid="pack-busy">
          Verifying and loading {pack.busy.split(/[\\/]/).pop()}…
        </p>
      )}
      {loaded ? (
        <div className="wf-pack" data-testid="pack-loaded" data-name={loaded.name} data-version={loaded.version} data-provider={loaded.provider} data-tasks={loaded.tasks.join(',')}>
          <div className="pack-name">
            <strong data-testid="pack-name">{loaded.name}</strong> <span className="muted" data-testid="pack-version">{loaded.version}</span>{' '}
            <span className="muted">· {loaded.licence}</span>
          </div>
          {loaded.demonstration && (
            <div className="wf-demo" role="note" data-testid="pack-demo">
              Demonstration model, not for clinical use
            </div>
          )}
          <p className="wf-intended" data-testid="pack-intended-use">
            {loaded.intendedUse}
          </p>
          <div data-testid="pack-provider">
            Execution provider: <strong>{loaded.provider.toUpperCase()}</strong>
          </div>
          <div data-testid="pack-tasks">
            Tasks:{' '}
            {loaded.tasks.map((t) => (
              <span key={t} className="wf-chip" data-testid="pack-task" data-task={t}>
                {taskLabel(t)}
                {loaded.belowBaseline?.[t] !== undefined && (
                  <span className="wf-below" role="note" data-testid="pack-task-below-baseline">
                    {' '}
                    — does not beat {loaded.belowBaseline[t]} on held-out data
                  </span>
                )}
              </span>
            ))}
          </div>
        </div>
      ) : (
        pack.ready && (
          <p className="wf-warn" data-testid="no-pack">
            {pack.packs.length === 0 ? 'No model pack found. Generation and questions are unavailable.' : 'No model pack loaded. Choose a pack below.'}
          </p>
        )
      )}
      {pack.problem && (
        <p className="error-text" role="alert" data-testid="pack-problem">
          {pack.problem}
        </p>
      )}
      {pack.packs.length > 0 && (
        <details className="wf-packs" open={!loaded}>
          <summary>Packs found ({pack.packs.length})</summary>
          <ul className="pack-list">
            {pack.packs.map((p) => {
              const isLoaded = loaded?.path === p.path;
              const refusal = pack.refusals[p.path];
              return (
                <li key={p.path} data-testid="pack-entry" data-path={p.path} data-loaded={isLoaded}>
                  <div className="pack-name">
                    {p.name} <span className="muted">{p.version}</span>
                  </div>
                  {p.demonstration && <div className="demo-tag">Demonstration model, not for clinical use</div>}
                  {p.problem && <div className="error-text">{p.problem}</div>}
                  {refusal && (
                    <div className="error-text" role="alert" data-testid="pack-refusal">
                      {refusal}
                    </div>
                  )}
                  {isLoaded ? (
                    <button type="button" data-testid="pack-unload" onClick={() => void pack.unload()}>
                      Unload
                    </button>
                  ) : (
                    <button type="button" data-testid="pack-load" disabled={Boolean(pack.busy) || Boolean(p.problem)} onClick={() => void pack.load(p.path)}>
                      Load
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
        </details>
      )}
    </section>
  );
}
