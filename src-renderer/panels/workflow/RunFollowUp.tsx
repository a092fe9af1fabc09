import { useState } from 'react';
import { useWorkstation } from '../../app/workstation-context';
import { describeError } from './messages';
import { currentViewPng } from './view-png';

export interface FinishedRun {
  kind: 'ask' | 'generate';
  runId: string;
  label: string;
  cancelled: boolean;
  generatedSeriesUid?: string | null;
  task?: string;
  complete?: boolean;
}

interface Review {
  decision: 'accepted' | 'rejected';
  comment: string;
}

const short = (runId: string) => runId.replace(/^run-/, '').slice(0, 8);

/** Right after a run: accept / reject / comment (recorded in the case history), and exports. */
export function RunFollowUp({ run }: { run: FinishedRun }) {
  const { client, info } = useWorkstation();
  const [comment, setComment] = useState('');
  const [reviews, setReviews] = useState<Review[]>([]);
  const [busy, setBusy] = useState<string | null>(null);
  const [done, setDone] = useState<string[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  /** Main's question before exporting an unreviewed or rejected run; answered with the buttons below. */
  const [confirmExport, setConfirmExport] = useState<string | null>(null);

  const review = async (decision: 'accepted' | 'rejected') => {
    setProblem(null);
    const text = comment.trim();
    const r = await client.history.recordReview({ runId: run.runId, decision, ...(text ? { comment: text } : {}) });
    if (!r.ok) return setProblem(describeError('Review not recorded', r.error));
    setReviews((list) => [...list, { decision, comment: text }]);
    setComment('');
  };

  const exporting = async (what: string, work: () => Promise<string | null>) => {
    setProblem(null);
    setBusy(what);
    try {
      const message = await work();
      if (message) setDone((d) => [...d, message]);
    } catch (e) {
      setProblem(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(null);
    }
  };

  const exportSeries = (confirmReview = false) =>
    exporting('series', async () => {
      setConfirmExport(null);
      const uid = run.generatedSeriesUid;
      if (!uid) throw new Error('This run wrote no series to export.');
      const r = await client.workflow.exportSeries({ generatedSeriesUid: uid, ...(confirmReview ? { confirmReview: true } : {}) });
      if (!r.ok && r.error.code === 'WORKFLOW_REVIEW_NOT_ACCEPTED') {
        setConfirmExport(r.error.message);
        return null;
      }
      if (!r.ok) throw new Error(describeError('DICOM export failed', r.error));
      return `DICOM series: ${r.value.files} file${r.value.files === 1 ? '' : 's'} in ${r.value.folder} (review: ${r.value.reviewState})`;
    });

  const exportConfidence = () =>
    exporting('confidence maps', async () => {
      const uid = run.generatedSeriesUid;
      if (!uid) throw new Error('This run wrote no series, so it has no confidence maps.');
      const r = await client.workflow.exportConfidenceSeries({ generatedSeriesUid: uid });
      if (!r.ok) throw new Error(describeError('Confidence map export failed', r.error));
      return `Confidence maps (DICOM Secondary Capture): ${r.value.files} file${r.value.files === 1 ? '' : 's'} in ${r.value.folder}`;
    });

  const exportReport = () =>
    exporting('report', async () => {
      const r = await client.workflow.exportReport({ runId: run.runId, format: 'md' });
      if (!r.ok) throw new Error(describeError('Report export failed', r.error));
      return `Report: ${r.value.path} (${r.value.bytes} bytes)`;
    });

  const exportPng = () =>
    exporting('png', async () => {
      const png = await currentViewPng();
      if (!png) throw new Error('PNG export failed: nothing is drawn in the viewer.');
      const r = await client.workflow.exportPng({ png });
      if (!r.ok) throw new Error(describeError('PNG export failed', r.error));
      return `PNG: ${r.value.path} (${r.value.bytes} bytes)`;
    });

  return (
    <section className="wf-section" aria-label="Review and export" data-testid="run-follow-up" data-run-id={run.runId}>
      <h2>Review</h2>
      <p className="muted">
        {run.label}
        {run.cancelled ? ' (cancelled, partial)' : ''} · run <code>{short(run.runId)}</code>
      </p>
      <div className="review-actions">
        <input value={comment} placeholder="Comment" aria-label="Review comment" data-testid="run-review-comment" onChange={(e) => setComment(e.target.value)} />
        <button type="button" data-testid="run-accept" onClick={() => void review('accepted')}>
          Accept
        </button>
        <button type="button" data-testid="run-reject" onClick={() => void review('rejected')}>
          Reject
        </button>
      </div>
      {reviews.length > 0 && (
        <ul className="reviews" data-testid="run-reviews">
          {reviews.map((r, i) => (
            <li key={i} data-testid="run-review" data-decision={r.decision}>
              {r.decision}, recorded in the case history{r.comment ? ` — ${r.comment}` : ''}
            </li>
          ))}
        </ul>
      )}
      <h2>Export</h2>
      {info && (
        <p className="muted" data-testid="export-folder">
          {info.mode === 'electron' ? 'You choose where each export is saved.' : 'Exports are saved in'} <code>{info.exportDir}</code>
          {info.mode === 'electron' ? ' is offered first.' : '; an existing file is never replaced.'}
        </p>
      )}
      <div className="wf-row">
        {run.kind === 'generate' && (
          <button type="button" disabled={Boolean(busy) || !run.generatedSeriesUid} data-testid="export-series" onClick={() => void exportSeries()}>
            Series as DICOM
          </button>
        )}
        {run.kind === 'generate' && (
          <button type="button" disabled={Boolean(busy) || !run.generatedSeriesUid} data-testid="export-confidence" onClick={() => void exportConfidence()}>
            Confidence maps as DICOM
          </button>
        )}
        {run.kind === 'ask' && (
          <button type="button" disabled={Boolean(busy)} data-testid="export-report" onClick={() => void exportReport()}>
            Report (.md)
          </button>
        )}
        <button type="button" disabled={Boolean(busy)} data-testid="export-png" onClick={() => void exportPng()}>
          View as PNG
        </button>
      </div>
      {confirmExport && (
        <div className="wf-confirm" role="alertdialog" aria-label="Export an unaccepted run?" data-testid="export-confirm-box">
          <p className="error-text">{confirmExport}</p>
          <button type="button" data-testid="export-confirm" onClick={() => void exportSeries(true)}>
            Export anyway
          </button>
          <button type="button" data-testid="export-confirm-cancel" onClick={() => setConfirmExport(null)}>
            Cancel
          </button>
        </div>
      )}
      {busy && <p className="muted">Exporting {busy}…</p>}
      {done.length > 0 && (
        <ul className="wf-exports">
          {done.map((d, i) => (
            <li key={i} data-testid="export-done">
              {d}
            </li>
          ))}
        </ul>
      )}
      {problem && (
        <p className="error-text" role="alert" data-testid="export-problem">
          {problem}
        </p>
      )}
    </section>
  );
}
