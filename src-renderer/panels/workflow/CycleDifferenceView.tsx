import { useEffect, useState } from 'react';
import { useWorkstation } from '../../app/workstation-context';
import { describeError } from './messages';

/**
 * The cycle check's difference map of one generated slice, shown on request under the run's figures:
 * |input − round trip| inside the body, brighter = larger. Read back from the case history, so it is
 * the map recorded with the run.
 */
export function CycleDifferenceView({ generatedSeriesUid, slices }: { generatedSeriesUid: string; slices: number }) {
  const { client } = useWorkstation();
  const [slice, setSlice] = useState<number | null>(null);
  const [view, setView] = useState<{ url: string; figure: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    if (slice === null) return undefined;
    let url: string | null = null;
    let live = true;
    void client.workflow.cycleDifferenceMap({ generatedSeriesUid, sliceIndex: slice }).then((r) => {
      if (!live) return;
      if (!r.ok) {
        setProblem(describeError('Cycle difference map', r.error));
        setView(null);
        return;
      }
      url = URL.createObjectURL(new Blob([r.value.png], { type: 'image/png' }));
      setProblem(null);
      setView({ url, figure: r.value.figure });
    });
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [client, generatedSeriesUid, slice]);

  if (slice === null) {
    return (
      <button type="button" data-testid="cycle-map-show" onClick={() => setSlice(0)}>
        Show cycle difference map
      </button>
    );
  }
  return (
    <figure className="cycle-map" data-testid="cycle-map" data-slice={slice}>
      <label>
        Slice{' '}
        <input type="number" min={1} max={slices} value={slice + 1} aria-label="Cycle map slice" onChange={(e) => setSlice(Math.min(slices, Math.max(1, Number(e.target.value) || 1)) - 1)} />
        {` of ${slices}`}
      </label>
      {view && <img src={view.url} alt={`Cycle difference map, slice ${slice + 1}`} data-testid="cycle-map-image" />}
      <figcaption className="muted">
        {view?.figure ? `${view.figure}. ` : ''}|input − round trip| inside the body; brighter = larger. Not shown to track the real error (model card).
      </figcaption>
      {problem && <p className="error-text">{problem}</p>}
      <button type="button" onClick={() => setSlice(null)}>
        Hide
      </button>
    </figure>
  );
}
