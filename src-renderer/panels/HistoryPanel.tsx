import { useCallback, useEffect, useState } from 'react';
import { reviewCountsText, type CaseDetail, type CaseQuery, type CaseSummary, type RunRecord, type StoreStatus } from '../../src-shared/contracts/history';
import { runQuestionText, taskDisplayLabel } from '../../src-shared/task-facts';
import { useWorkstation } from '../app/workstation-context';

const STATUSES = ['', 'running', 'succeeded', 'failed', 'cancelled'] as const;
const REVIEWS = ['', 'unreviewed', 'accepted', 'rejected', 'edited'] as const;

function when(ms: number | null): string {
  return ms ? new Date(ms).toLocaleString() : '—';
}

/** The case history: search, open a case, see its runs with outputs, review them. */
export function HistoryPanel() {
  const { client, workspace } = useWorkstation();
  const [query, setQuery] = useState<CaseQuery>({});
  const [cases, setCases] = useState<CaseSummary[]>([]);
  const [total, setTotal] = useState(0);
  const [problem, setProblem] = useState<string | null>(null);
  const [store, setStore] = useState<StoreStatus | null>(null);
  const [open, setOpen] = useState<CaseDetail | null>(null);

  const search = useCallback(async () => {
    const clean: CaseQuery = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== '' && v !== undefined));
    const r = await client.history.listCases(clean);
    if (!r.ok) return setProblem(r.error.message);
    setProblem(null);
    setCases(r.value.cases);
    setTotal(r.value.total);
  }, [client, query]);

  const openCase = useCallback(
    async (caseId: string) => {
      const r = await client.history.getCase({ caseId, verifyArtifacts: true });
      if (!r.ok) return setProblem(r.error.message);
      setOpen(r.value);
    },
    [client],
  );

  useEffect(() => {
    void client.history.status({}).then((r) => r.ok && setStore(r.value));
    void search();
    // Search once on open; later searches are explicit (Enter or the button).
  }, []);

  if (store && store.state === 'refused') {
    return (
      <div className="panel" role="alert" data-testid="history-refused">
        <h2>History</h2>
        <p className="error-text">{store.message}</p>
        <p>The database file was left untouched. Open another file or restore a backup:</p>
        <ul>
          {store.backups.map((b) => (
            <li key={b.path}>
              <button type="button" onClick={() => void client.history.restoreFromBackup({ backupPath: b.path }).then((r) => r.ok && setStore(r.value))}>
                Restore {b.path.split(/[\\/]/).pop()} ({new Date(b.modifiedAt).toLocaleString()})
              </button>
            </li>
          ))}
        </ul>
      </div>
    );
  }

  const field = (key: keyof CaseQuery, label: string, type = 'text') => (
    <label className="field">
      <span>{label}</span>
      <input
        type={type}
        value={String(query[key] ?? '')}
        data-testid={`history-${key}`}
        onChange={(e) => setQuery({ ...query, [key]: e.target.value || undefined })}
        onKeyDown={(e) => e.key === 'Enter' && void search()}
      />
    </label>
  );

  return (
    <div className="panel history-panel" data-testid="history-panel">
      <h2>History</h2>
      <form
        className="history-search"
        onSubmit={(e) => {
          e.preventDefault();
          void search();
        }}
      >
        {field('patient', 'Patient')}
        {field('study', 'Study')}
        {field('dateFrom', 'From', 'date')}
        {field('dateTo', 'To', 'date')}
        {field('task', 'Task')}
        <label className="field">
          <span>Status</span>
          <select value={query.status ?? ''} data-testid="history-status" onChange={(e) => setQuery({ ...query, status: (e.target.value || undefined) as CaseQuery['status'] })}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </label>
        <label className="field" title="The latest decision over the case's runs">
          <span>Review</span>
          <select value={query.review ?? ''} data-testid="history-review-filter" onChange={(e) => setQuery({ ...query, review: (e.target.value || undefined) as CaseQuery['review'] })}>
            {REVIEWS.map((s) => (
              <option key={s} value={s}>
                {s || 'any'}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" data-testid="history-search">
          Search
        </button>
      </form>
      {problem && <p className="error-text" role="alert">{problem}</p>}
      <p className="muted">{total} case(s)</p>
      <ul className="case-list">
        {cases.map((c) => (
          <li key={c.caseId}>
            <button type="button" className="case-entry" data-testid="history-case" onClick={() => void openCase(c.caseId)}>
              <strong>{c.patientName || c.patientId || 'Unknown patient'}</strong> · {c.studyDescription ?? c.title ?? ''}
              <br />
              <span className="muted">
                {c.tasks.map(taskDisplayLabel).join(', ') || 'no runs'} · {c.lastRunStatus ?? '—'} · <span data-testid="history-case-reviews">{reviewCountsText(c.reviewCounts)}</span> · {when(c.lastRunAt ?? c.createdAt)}
              </span>
            </button>
          </li>
        ))}
      </ul>
      {open && <CaseView detail={open} onChanged={() => void openCase(open.summary.caseId)} openSeries={(uid, pane) => workspace.emit('open-series', { seriesUid: uid, pane })} />}
    </div>
  );
}

function CaseView({ detail, onChanged, openSeries }: { detail: CaseDetail; onChanged: () => void; openSeries: (seriesUid: string, pane: 'original' | 'generated') => void }) {
  return (
    <section className="case-view" data-testid="history-case-view" aria-label="Case">
      <h2>Case {detail.summary.patientName ?? detail.summary.patientId ?? ''}</h2>
      {detail.problems.length > 0 && (
        <div className="error-text" role="alert" data-testid="history-artifact-problems">
          {detail.problems.map((p) => (
            <div key={p.hash}>
              Artifact {p.hash.slice(0, 12)}… is {p.status}: {p.message}
            </div>
          ))}
        </div>
      )}
      {detail.runs.map((run) => (
        <RunView key={run.runId} run={run} detail={detail} onChanged={onChanged} openSeries={openSeries} />
      ))}
    </section>
  );
}

function RunView({ run, detail, onChanged, openSeries }: { run: RunRecord; detail: CaseDetail; onChanged: () => void; openSeries: (seriesUid: string, pane: 'original' | 'generated') => void }) {
  const { client } = useWorkstation();
  const [comment, setComment] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const series = detail.studies.flatMap((s) => s.series);
  const uidOf = (seriesId: string | null) => series.find((s) => s.seriesId === seriesId)?.seriesUid;
  const review = async (decision: 'accepted' | 'rejected') => {
    const r = await client.history.recordReview({ runId: run.runId, decision, ...(comment ? { comment } : {}) });
    if (!r.ok) return setProblem(r.error.message);
    setComment('');
    onChanged();
  };
  const inputUid = uidOf(run.inputSeriesIds[0] ?? null);
  const outputUid = uidOf(run.outputs.find((o) => o.kind === 'series')?.seriesId ?? null);
  const question = runQuestionText(run);
  const override = run.params.modalityOverride as { seriesModality?: string; taskReads?: string } | undefined;
  return (
    <article className="run" data-testid="history-run">
      <header>
        <strong>{taskDisplayLabel(run.task)}</strong> <span className="muted">{run.status} · {run.packId} · {run.executionProvider.toUpperCase()} · {when(run.startedAt)}</span>
      </header>
      {question.text && (
        <p className="muted" data-testid="history-run-question">
          {question.label}: {question.text}
        </p>
      )}
      {override && (
        <p className="error-text" data-testid="history-run-override">
          Run on a {override.seriesModality} series although the task reads {override.taskReads} (explicit override).
        </p>
      )}
      {run.outputs
        .filter((o) => o.kind === 'text')
        .map((o) => (
          <p key={o.outputId} className="run-text">
            {o.text}
          </p>
        ))}
      {(inputUid || outputUid) && (
        <button type="button" data-testid="history-open-panes" onClick={() => (inputUid && openSeries(inputUid, 'original'), outputUid && openSeries(outputUid, 'generated'))}>
          Open in panes
        </button>
      )}
      <ul className="reviews">
        {run.reviews.map((r) => (
          <li key={r.reviewId} data-testid="history-review">
            {r.decision} by {r.reviewer} · {when(r.at)}
            {r.comment ? ` — ${r.comment}` : ''}
          </li>
        ))}
      </ul>
      <div className="review-actions">
        <input placeholder="Comment" value={comment} onChange={(e) => setComment(e.target.value)} aria-label="Review comment" data-testid="review-comment" />
        <button type="button" onClick={() => void review('accepted')} data-testid="review-accept">
          Accept
        </button>
        <button type="button" onClick={() => void review('rejected')} data-testid="review-reject">
          Reject
        </button>
      </div>
      {problem && <p className="error-text">{problem}</p>}
    </article>
  );
}
