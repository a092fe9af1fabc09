import { memo, useRef, useState } from 'react';
import { GenerateTrustLine } from './GenerateTrustLine';
import { generationTaskNames, type GenerationTask } from '../../../src-shared/contracts/model-pack';
import { generateOutcomeSchema, generateProgressDataSchema, type GenerateOutcome } from '../../../src-shared/contracts/workflow';
import { useWorkstation } from '../../app/workstation-context';
import { useViewer } from '../../viewer/viewer-context';
import type { PaneView } from '../../viewer/viewer-service';
import { describeError, jobFailure } from './messages';
import { generationStatus } from './progress-text';
import { taskLabel } from './PackSection';
import type { FinishedRun } from './RunFollowUp';

type Scope = 'slice' | 'range' | 'series';

interface Progress {
  done: number;
  total: number;
  etaSeconds: number | null;
  message: string;
  slicesWritten: number;
}

function formatEta(s: number): string {
  if (s < 1) return 'under a second left';
  if (s < 90) return `about ${Math.ceil(s)} s left`;
  return `about ${Math.round(s / 60)} min left`;
}

/**
 * Generation on the left pane's series: one job for the current slice, a slice range or the whole
 * series, with per-slice progress, time left and cancel. The generated series opens in the right pane
 * when its first slice is written and grows there, linked to the left pane.
 */
export const GenerateSection = memo(function GenerateSection({
  left,
  offered,
  belowBaseline,
  onRun,
  onStart,
  onSettled,
}: {
  left: PaneView;
  offered: string[] | null;
  belowBaseline?: Record<string, string>;
  onRun: (run: FinishedRun) => void;
  /** A new run starts: the Review box must not keep offering the previous run. */
  onStart?: (label: string) => void;
  onSettled: () => void;
}) {
  const { client, jobs } = useWorkstation();
  const viewer = useViewer();
  const tasks = generationTaskNames.filter((t) => offered === null || offered.includes(t));
  const [task, setTask] = useState<GenerationTask | ''>('');
  const [scope, setScope] = useState<Scope>('slice');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [jobId, setJobId] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [outcome, setOutcome] = useState<GenerateOutcome | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [mismatch, setMismatch] = useState(false);
  const [cycle, setCycle] = useState(false);
  const chain = useRef<Promise<void>>(Promise.resolve());
  const shown = useRef<{ uid: string; slices: number } | null>(null);

  const chosen: GenerationTask | undefined = task && tasks.includes(task) ? task : tasks[0];
  const count = left.count;

  /**
   * Serialised: open the generated series on its first slice, then re-read it as slices arrive. The pane
   * the reader works in stays active; when linked, the right pane shows the slice at the left pane's
   * location once it is written (until then it says so instead of showing another slice).
   */
  const follow = (uid: string, slices: number) => {
    chain.current = chain.current.then(async () => {
      if (!shown.current || shown.current.uid !== uid) {
        shown.current = { uid, slices };
        await viewer.open('generated', uid, undefined, { activate: false });
      } else if (slices > shown.current.slices) {
        shown.current = { uid, slices };
        await viewer.refreshSeries([uid]);
      }
    }).catch(() => undefined);
  };

  const range = (): { from?: number; to?: number } | string => {
    if (scope === 'series') return {};
    if (scope === 'slice') return { from: left.index, to: left.index };
    const a = Number(from || left.index + 1);
    const b = Number(to || a);
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 1 || b < 1) return 'Type slice numbers (1 and up) for the range.';
    if (a > b) return `The range starts after it ends (${a} > ${b}).`;
    if (b > count) return `The series has ${count} slices; the range ends at ${b}.`;
    return { from: a - 1, to: b - 1 };
  };

  /** `allowModalityMismatch`: the person chose to run a conversion on the other modality (main records it). */
  const generate = async (allowModalityMismatch = false) => {
    setProblem(null);
    setMismatch(false);
    if (!left.seriesUid) return setProblem('Open a series in the left pane first: generation runs on it.');
    if (count === 0) return setProblem('The series in the left pane has no images: generation needs a CT or MR image series.');
    if (!chosen) return setProblem('The loaded pack offers no image generation task.');
    const r = range();
    if (typeof r === 'string') return setProblem(r);
    const total = r.from !== undefined && r.to !== undefined ? r.to - r.from + 1 : count;
    setOutcome(null);
    shown.current = null;
    setProgress({ done: 0, total, etaSeconds: null, message: 'starting', slicesWritten: 0 });
    setStarting(true);
    onStart?.(taskLabel(chosen));
    const source = left.seriesUid;
    const started = await client.workflow.generate({ seriesUid: source, task: chosen, ...r, ...(allowModalityMismatch ? { allowModalityMismatch: true } : {}), ...(cycle && (chosen === 'ct2mri' || chosen === 'mri2ct') ? { cycle: true } : {}) });
    setStarting(false);
    if (!started.ok) {
      setProgress(null);
      return setProblem(describeError('Generation failed', started.error));
    }
    setJobId(started.value.jobId);
    const final = await jobs.track(started.value.jobId, started.value.kind, `Generate ${taskLabel(chosen)}`, (p) => {
      const data = generateProgressDataSchema.safeParse(p.data);
      setProgress((old) => ({
        done: p.done,
        total: p.total || old?.total || total,
        etaSeconds: p.etaSeconds ?? null,
        message: p.message ?? old?.message ?? '',
        slicesWritten: data.success ? data.data.slicesWritten : (old?.slicesWritten ?? 0),
      }));
      if (data.success) follow(data.data.generatedSeriesUid, data.data.slicesWritten);
    });
    setJobId(null);
    const failed = jobFailure('Generation failed', final);
    const parsed = generateOutcomeSchema.safeParse(final.status === 'failed' ? undefined : final.result);
    if (failed) setProblem(failed);
    if (final.status === 'failed' && final.error.code === 'WORKFLOW_MODALITY_MISMATCH') setMismatch(true);
    if (parsed.success) {
      const o = parsed.data;
      setOutcome(o);
      if (o.generatedSeriesUid) {
        // The last slices (and, for a cancelled job, the INCOMPLETE label) are re-read once more.
        const uid = o.generatedSeriesUid;
        chain.current = chain.current.then(async () => {
          if (shown.current?.uid === uid) await viewer.refreshSeries([uid]);
          else await viewer.open('generated', uid, undefined, { activate: false });
          shown.current = { uid, slices: o.slicesWritten };
        }).catch(() => undefined);
      }
      onRun({ kind: 'generate', runId: o.runId, label: taskLabel(chosen), generatedSeriesUid: o.generatedSeriesUid, task: chosen, complete: o.complete, cancelled: !o.complete });
    } else if (final.status === 'cancelled') {
      setProblem('Generation cancelled before any slice was written.');
    }
    setProgress(null);
    onSettled();
  };

  const cancel = () => {
    if (!jobId) return;
    void client.jobs.cancel({ jobId }).then((r) => {
      if (!r.ok) setProblem(describeError('Could not cancel', r.error));
    });
  };

  const running = jobId !== null || starting;
  const pct = progress && progress.total > 0 ? Math.min(100, (progress.done / progress.total) * 100) : 0;
  return (
    <section className="wf-section" aria-label="Generate images" data-testid="generate-section">
      <h2>Generate</h2>
      <div className="wf-row">
        <label className="field">
          <span>Task</span>
          <select value={chosen ?? ''} disabled={running || tasks.length === 0} data-testid="generate-task" aria-label="Generation task" onChange={(e) => setTask(e.target.value as GenerationTask)}>
            {tasks.length === 0 && <option value="">none offered</option>}
            {tasks.map((t) => (
              <option key={t} value={t}>
                {taskLabel(t)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {chosen && belowBaseline?.[chosen] !== undefined && (
        <p className="wf-warn" role="note" data-testid="generate-below-baseline">
          {taskLabel(chosen)} does not beat {belowBaseline[chosen]} on held-out data (model card).
        </p>
      )}
      <fieldset className="wf-scope" disabled={running}>
        <legend>Scope</legend>
        {(
          [
            ['slice', `Current slice${left.seriesUid ? ` (${left.index + 1})` : ''}`],
            ['range', 'Slice range'],
            ['series', `Whole series${count ? ` (${count})` : ''}`],
          ] as const
        ).map(([value, label]) => (
          <label key={value} className="wf-radio">
            <input type="radio" name="generate-scope" value={value} checked={scope === value} data-testid={`scope-${value}`} onChange={() => setScope(value)} />
            {label}
          </label>
        ))}
        {scope === 'range' && (
          <div className="wf-row">
            <label className="inline-field">
              from
              <input type="number" min={1} max={count || undefined} value={from} placeholder={String(left.index + 1)} aria-label="First slice of the range" data-testid="range-from" onChange={(e) => setFrom(e.target.value)} />
            </label>
            <label className="inline-field">
              to
              <input type="number" min={1} max={count || undefined} value={to} placeholder={String(left.index + 1)} aria-label="Last slice of the range" data-testid="range-to" onChange={(e) => setTo(e.target.value)} />
            </label>
          </div>
        )}
      </fieldset>
      {(chosen === 'ct2mri' || chosen === 'mri2ct') && (
        <label className="wf-radio" title="Converts each output back and reports how far the round trip lands from the input. On held-out slices it did not track the real error (model card): a small difference proves nothing.">
          <input type="checkbox" checked={cycle} disabled={running} data-testid="generate-cycle" onChange={(e) => setCycle(e.target.checked)} />
          Cycle check (converts back; twice the time)
        </label>
      )}
      <div className="wf-row">
        <button type="button" disabled={running} data-testid="generate-button" onClick={() => void generate()}>
          Generate
        </button>
        {jobId && (
          <button type="button" className="wf-cancel" data-testid="generate-cancel" onClick={cancel}>
            Cancel
          </button>
        )}
      </div>
      {progress && (
        <div className="wf-progress" data-testid="generate-progress" data-done={progress.done} data-total={progress.total} data-written={progress.slicesWritten} aria-live="polite">
          <progress max={100} value={pct} aria-label="Generation progress" />
          <div data-testid="generate-status">{generationStatus(progress)}</div>
          {progress.etaSeconds !== null && (
            <div className="muted" data-testid="generate-eta" data-seconds={progress.etaSeconds}>
              {formatEta(progress.etaSeconds)}
            </div>
          )}
        </div>
      )}
      {outcome && (
        <div className={outcome.complete ? 'wf-outcome' : 'wf-outcome wf-incomplete'} data-testid="generate-outcome" data-complete={outcome.complete} data-series={outcome.generatedSeriesUid ?? ''} data-written={outcome.slicesWritten} data-run-id={outcome.runId}>
          {outcome.complete ? (
            <>Generated {outcome.slicesWritten} slice{outcome.slicesWritten === 1 ? '' : 's'}; shown in the right pane, linked to the left.</>
          ) : (
            <strong data-testid="generate-incomplete">
              INCOMPLETE: cancelled after {outcome.slicesWritten} of {outcome.slicesRequested} slices. {outcome.slicesWritten > 0 ? 'The slices done are kept, marked incomplete.' : 'Nothing was written.'}
            </strong>
          )}
          <GenerateTrustLine outcome={outcome} />
          <div className="muted">
            Run <code>{outcome.runId}</code> · {outcome.packName} · {outcome.provider.toUpperCase()}
          </div>
        </div>
      )}
      {problem && (
        <p className="error-text" role="alert" data-testid="generate-problem">
          {problem}
        </p>
      )}
      {mismatch && !running && (
        <button type="button" data-testid="generate-override" onClick={() => void generate(true)}>
          Run anyway on this series (the override is recorded with the run)
        </button>
      )}
    </section>
  );
});
