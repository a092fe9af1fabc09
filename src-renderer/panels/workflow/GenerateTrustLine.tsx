import type { GenerateOutcome } from '../../../src-shared/contracts/workflow';
import { CycleDifferenceView } from './CycleDifferenceView';

/** The run's confidence and cycle figures under a generation, said for what they are (model card). */
export function GenerateTrustLine({ outcome }: { outcome: GenerateOutcome }) {
  const c = outcome.confidence;
  const y = outcome.cycle;
  if (!c && !y) return null;
  return (
    <div className="muted" data-testid="generate-trust" data-mean-probability={c?.meanProbability ?? ''} data-cycle={y?.meanAbsDifference ?? ''}>
      {c && (
        <span title="The model's own probability of the image tokens it chose; not a measured error (model card).">
          Token confidence {c.meanProbability.toFixed(2)} mean, {Math.round(c.lowFraction * 100)}% of tokens under 0.5 (overlay: Confidence on the right pane).{' '}
        </span>
      )}
      {y && (
        <span data-testid="generate-cycle-figure">
          Cycle {y.reverseTask}: mean |difference| {y.meanAbsDifference.toFixed(y.unit === 'HU' ? 1 : 3)} {y.unit} inside the body (not shown to track the real error).
        </span>
      )}
      {y && outcome.generatedSeriesUid && <CycleDifferenceView generatedSeriesUid={outcome.generatedSeriesUid} slices={outcome.slicesWritten} />}
    </div>
  );
}
