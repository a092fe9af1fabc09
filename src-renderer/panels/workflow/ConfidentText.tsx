import type { ReactElement } from 'react';
import type { AnswerConfidenceFigures } from '../../../src-shared/contracts/workflow';
import { LOW_CONFIDENCE } from '../../../src-shared/contracts/workflow';

const pct = (p: number) => `${Math.round(p * 100)}%`;

/**
 * An answer with its low-confidence words marked: each word the model gave under LOW_CONFIDENCE carries a
 * tooltip with its probability and the alternatives it weighed at that point. Offsets come from main.
 */
export function ConfidentText({ text, confidence }: { text: string; confidence: AnswerConfidenceFigures }) {
  const parts: Array<string | ReactElement> = [];
  let at = 0;
  for (const [i, w] of confidence.words.entries()) {
    if (w.probability >= LOW_CONFIDENCE || w.start < at || w.end > text.length || text.slice(w.start, w.end) !== w.text) continue;
    if (w.start > at) parts.push(text.slice(at, w.start));
    const alternatives = w.alternatives.map((a) => `${a.text || '∅'} ${pct(a.probability)}`).join(', ');
    parts.push(
      <mark key={i} className="wf-low-confidence" data-testid="low-confidence-word" data-probability={w.probability.toFixed(3)} title={`model probability ${pct(w.probability)}; it also weighed: ${alternatives}`}>
        {w.text}
      </mark>,
    );
    at = w.end;
  }
  parts.push(text.slice(at));
  return <>{parts}</>;
}

/** One line under the answer: the overall figure, said for what it is. */
export function AnswerConfidenceLine({ confidence }: { confidence: AnswerConfidenceFigures }) {
  const low = confidence.words.filter((w) => w.probability < LOW_CONFIDENCE).length;
  return (
    <span data-testid="answer-confidence" data-overall={confidence.overall.toFixed(4)} title="Geometric mean of the model's probabilities for the tokens it chose: the model's own figure, not a chance of being right. On held-out questions the nano model was overconfident (about 96% confidence, 61% correct; model card).">
      Model confidence {pct(confidence.overall)} per token{low ? ` · ${low} word${low === 1 ? '' : 's'} marked low` : ''}.{' '}
    </span>
  );
}
