import { memo, useRef, useState } from 'react';
import { askOutcomeSchema, type AskOutcome } from '../../../src-shared/contracts/workflow';
import { useWorkstation } from '../../app/workstation-context';
import { AnswerConfidenceLine, ConfidentText } from './ConfidentText';
import type { PaneView } from '../../viewer/viewer-service';
import { describeError, jobFailure } from './messages';
import type { FinishedRun } from './RunFollowUp';
import { untrainedQuestionNote, type QuestionType } from '../../../src-shared/question-types';

type AskTask = 'vqa' | 'report';

/** A question about the slice shown in the left pane, or a draft report; the answer streams in. */
export const AskSection = memo(function AskSection({
  left,
  offered,
  questionTypes,
  onRun,
  onSettled,
}: {
  left: PaneView;
  offered: string[] | null;
  questionTypes?: QuestionType[];
  onRun: (run: FinishedRun) => void;
  onSettled: () => void;
}) {
  const { client, jobs } = useWorkstation();
  const [question, setQuestion] = useState('');
  const [maxTokens, setMaxTokens] = useState(256);
  const [text, setText] = useState('');
  const [jobId, setJobId] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const [outcome, setOutcome] = useState<AskOutcome | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [asked, setAsked] = useState<{ task: AskTask; slice: number } | null>(null);
  const cancelled = useRef(false);

  const can = (t: AskTask) => offered === null || offered.includes(t);

  const ask = async (task: AskTask) => {
    setProblem(null);
    if (!left.seriesUid) return setProblem('Open a series in the left pane first: the question is about its current slice.');
    if (left.count === 0) return setProblem('The series in the left pane has no images to ask about.');
    if (task === 'vqa' && !question.trim()) return setProblem('Type a question first (or use "Draft report").');
    setText('');
    setOutcome(null);
    setStarting(true);
    cancelled.current = false;
    const started = await client.workflow.ask({ seriesUid: left.seriesUid, sliceIndex: left.index, task, question: question.trim(), maxTokens });
    setStarting(false);
    if (!started.ok) return setProblem(describeError(task === 'report' ? 'Draft report failed' : 'Question failed', started.error));
    setAsked({ task, slice: left.index });
    setJobId(started.value.jobId);
    const final = await jobs.track(started.value.jobId, started.value.kind, task === 'report' ? 'Draft report' : 'Answer', (p) => {
      const add = p.appendText;
      if (add) setText((t) => t + add);
    });
    setJobId(null);
    const failed = jobFailure(task === 'report' ? 'Draft report failed' : 'Question failed', final);
    if (failed) {
      setProblem(failed);
    } else {
      const parsed = askOutcomeSchema.safeParse(final.status === 'failed' ? undefined : final.result);
      if (parsed.success) {
        setOutcome(parsed.data);
        setText(parsed.data.text);
        onRun({ kind: 'ask', runId: parsed.data.runId, label: task === 'report' ? 'Draft report' : 'Answer', cancelled: parsed.data.stopReason === 'cancelled' });
      } else if (final.status === 'cancelled') {
        setProblem('Cancelled before any answer was recorded.');
      }
    }
    onSettled();
  };

  const cancel = () => {
    if (!jobId) return;
    cancelled.current = true;
    void client.jobs.cancel({ jobId }).then((r) => {
      if (!r.ok) setProblem(describeError('Could not cancel', r.error));
    });
  };

  const running = jobId !== null || starting;
  // shown while typing, before anything is asked: the demonstration model answers only what it was trained on
  const untrained = question.trim() ? untrainedQuestionNote(question, questionTypes) : null;
  const state = running ? 'streaming' : outcome ? (outcome.stopReason === 'cancelled' ? 'cancelled' : 'done') : problem ? 'error' : 'idle';
  return (
    <section className="wf-section" aria-label="Ask about the current slice" data-testid="ask-section">
      <h2>Ask</h2>
      <p className="muted" data-testid="ask-target">
        {left.seriesUid && left.detail ? `About slice ${left.index + 1} of ${left.count} · ${left.detail.modality} ${left.detail.seriesDescription}` : 'Open a series in the left pane.'}
      </p>
      <form
        className="wf-ask-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (!running) void ask('vqa');
        }}
      >
        {questionTypes && questionTypes.length > 0 && (
          <select
            aria-label="Questions the model was trained on"
            data-testid="ask-trained-questions"
            value=""
            onChange={(e) => {
              if (e.target.value) setQuestion(e.target.value);
            }}
          >
            <option value="">Questions the model was trained on…</option>
            {questionTypes.map((t) => (
              <optgroup key={t.type} label={t.type}>
                {t.questions.map((q) => (
                  <option key={q} value={q}>
                    {q}
                  </option>
                ))}
              </optgroup>
            ))}
          </select>
        )}
        <textarea
          rows={2}
          value={question}
          placeholder="Question about this slice"
          aria-label="Question about the current slice"
          data-testid="ask-question"
          onChange={(e) => setQuestion(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              if (!running) void ask('vqa');
            }
          }}
        />
        {untrained && (
          <p className="wf-warn" role="note" data-testid="ask-untrained-note">
            {untrained}
          </p>
        )}
        <div className="wf-row">
          <button type="submit" disabled={running || !can('vqa')} data-testid="ask-button">
            Ask
          </button>
          <button type="button" disabled={running || !can('report')} data-testid="draft-report" onClick={() => void ask('report')}>
            Draft report
          </button>
          <label className="inline-field" title="Longest answer, in tokens">
            max
            <input type="number" min={1} max={2048} value={maxTokens} aria-label="Longest answer in tokens" data-testid="ask-max-tokens" onChange={(e) => setMaxTokens(Math.max(1, Math.min(2048, Math.round(Number(e.target.value) || 1))))} />
          </label>
          {jobId && (
            <button type="button" className="wf-cancel" data-testid="ask-cancel" onClick={cancel}>
              Cancel
            </button>
          )}
        </div>
      </form>
      {(text || running || outcome) && (
        <div className="wf-answer-box">
          <div className="muted">{asked?.task === 'report' ? 'Draft report' : 'Answer'} · AI-generated{asked ? ` · slice ${asked.slice + 1}` : ''}</div>
          <output className="wf-answer" aria-live="polite" aria-busy={running} data-testid="ask-answer" data-state={state} data-length={text.length}>
            {outcome?.confidence && !running ? <ConfidentText text={text} confidence={outcome.confidence} /> : text}
            {running && <span className="wf-caret" aria-hidden="true" />}
          </output>
          {outcome && (
            <div className="muted" data-testid="ask-final" data-run-id={outcome.runId} data-stop={outcome.stopReason}>
              {outcome.stopReason === 'cancelled' ? 'Cancelled: the partial answer is kept with the case. ' : outcome.stopReason === 'maxTokens' ? 'Stopped at the length limit. ' : ''}
              {outcome.note && (
                <span className="wf-warn" role="note" data-testid="ask-outcome-note">
                  {outcome.note}{' '}
                </span>
              )}
              {outcome.confidence && <AnswerConfidenceLine confidence={outcome.confidence} />}
              Run <code>{outcome.runId}</code> · {outcome.packName} · {outcome.provider.toUpperCase()}
            </div>
          )}
        </div>
      )}
      {problem && (
        <p className="error-text" role="alert" data-testid="ask-problem">
          {problem}
        </p>
      )}
    </section>
  );
});
