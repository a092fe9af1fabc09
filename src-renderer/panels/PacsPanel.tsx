import { useCallback, useEffect, useState } from 'react';
import { retrieveReportSchema, type PacsFindResult, type PacsNodeSummary } from '../../src-shared/contracts/pacs';
import { useWorkstation } from '../app/workstation-context';

interface Transfer {
  jobId: string;
  studyUid: string;
  label: string;
  state: 'running' | 'complete' | 'partial' | 'failed' | 'cancelled';
  done: number;
  total: number;
  message: string;
}

/** YYYY-MM-DD (an <input type=date>) → YYYYMMDD, or undefined when empty. */
const dicomDate = (v: string) => (v ? v.replace(/-/g, '') : undefined);
const orUndefined = (v: string) => (v.trim() ? v.trim() : undefined);

/**
 * The study browser's PACS tab: search a configured node, pick studies, retrieve them into the local
 * store. Each retrieve is a job; `onArrived` runs on its progress so the study list (and the viewer, for
 * the first series) picks the images up while the retrieve is still running.
 */
export function PacsPanel({ onStarted, onArrived, onFinished }: { onStarted: () => void; onArrived: () => void; onFinished: () => void }) {
  const { client, jobs } = useWorkstation();
  const [nodes, setNodes] = useState<PacsNodeSummary[]>([]);
  const [node, setNode] = useState('');
  /** Which protocol's nodes the selector offers (a site may configure the same PACS over DICOMweb and DIMSE). */
  const [protocol, setProtocol] = useState<'any' | PacsNodeSummary['kind']>('any');
  const offered = nodes.filter((n) => protocol === 'any' || n.kind === protocol);
  const [form, setForm] = useState({ patientName: '', patientId: '', from: '', to: '', modality: '', accession: '' });
  const [results, setResults] = useState<PacsFindResult[]>([]);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [problem, setProblem] = useState<string | null>(null);
  const [searching, setSearching] = useState(false);
  const [transfers, setTransfers] = useState<Transfer[]>([]);

  useEffect(() => {
    void client.pacs.listNodes({}).then((r) => {
      if (!r.ok) return setProblem(r.error.message);
      setNodes(r.value);
      if (r.value[0]) setNode((n) => n || r.value[0]!.name);
    });
  }, [client]);

  const search = async () => {
    setSearching(true);
    setProblem(null);
    const r = await client.pacs.find({
      node,
      patientName: orUndefined(form.patientName),
      patientId: orUndefined(form.patientId),
      dateFrom: dicomDate(form.from),
      dateTo: dicomDate(form.to),
      modality: orUndefined(form.modality.toUpperCase()),
      accessionNumber: orUndefined(form.accession),
    });
    setSearching(false);
    if (!r.ok) return setProblem(r.error.message);
    setResults(r.value);
    setSelected(new Set());
  };

  const patch = useCallback((jobId: string, change: Partial<Transfer>) => setTransfers((ts) => ts.map((t) => (t.jobId === jobId ? { ...t, ...change } : t))), []);

  const retrieve = async (study: PacsFindResult) => {
    const started = await client.pacs.retrieve({ node, studyUid: study.studyUid });
    if (!started.ok) return setProblem(started.error.message);
    const { jobId, kind } = started.value;
    onStarted();
    const label = `${study.patientName || study.patientId} ${study.studyDate} ${study.studyDescription}`.trim();
    setTransfers((ts) => [{ jobId, studyUid: study.studyUid, label, state: 'running', done: 0, total: study.instanceCount ?? 0, message: '' }, ...ts]);
    const final = await jobs.track(jobId, kind, `PACS retrieve ${label}`, (p) => {
      patch(jobId, { done: p.done, total: p.total });
      onArrived();
    });
    if (final.status === 'failed') patch(jobId, { state: 'failed', message: final.error.message });
    else {
      const report = retrieveReportSchema.safeParse(final.result);
      const partial = report.success ? report.data.series.filter((s) => s.state === 'partial') : [];
      const stored = report.success ? report.data.series.reduce((n, s) => n + s.stored, 0) : 0;
      const expected = report.success ? report.data.series.reduce((n, s) => n + s.expected, 0) : 0;
      patch(jobId, {
        state: final.status === 'cancelled' ? 'cancelled' : partial.length ? 'partial' : 'complete',
        done: stored,
        total: expected,
        message: partial.length ? `${partial.length} series incomplete; retrieve again to resume (${partial[0]!.message ?? ''})` : '',
      });
    }
    onFinished();
  };

  const field = (key: keyof typeof form, label: string, type = 'text') => (
    <label>
      {label}
      <input type={type} value={form[key]} onChange={(e) => setForm({ ...form, [key]: e.target.value })} data-testid={`pacs-${key}`} />
    </label>
  );

  if (nodes.length === 0) {
    return (
      <p className="muted" data-testid="pacs-no-nodes">
        {problem ?? 'No PACS node is configured (pacs-nodes.json in the data folder, or the machine policy).'}
      </p>
    );
  }
  return (
    <div className="pacs-panel" data-testid="pacs-panel">
      <form
        className="pacs-form"
        onSubmit={(e) => {
          e.preventDefault();
          void search();
        }}
      >
        <label>
          Protocol
          <select
            value={protocol}
            onChange={(e) => {
              const kind = e.target.value as typeof protocol;
              setProtocol(kind);
              const first = nodes.find((n) => kind === 'any' || n.kind === kind);
              if (!nodes.some((n) => n.name === node && (kind === 'any' || n.kind === kind))) setNode(first?.name ?? '');
            }}
            data-testid="pacs-protocol"
          >
            <option value="any">Any</option>
            <option value="dicomweb">DICOMweb</option>
            <option value="dimse">DIMSE</option>
          </select>
        </label>
        <label>
          Node
          <select value={node} onChange={(e) => setNode(e.target.value)} data-testid="pacs-node">
            {offered.map((n) => (
              <option key={n.name} value={n.name} title={n.url}>
                {n.name} ({n.kind === 'dimse' ? `DIMSE ${n.url}` : 'DICOMweb'})
              </option>
            ))}
          </select>
        </label>
        {field('patientName', 'Patient name')}
        {field('patientId', 'Patient ID')}
        {field('from', 'From', 'date')}
        {field('to', 'To', 'date')}
        {field('modality', 'Modality')}
        {field('accession', 'Accession')}
        <button type="submit" disabled={searching || !node} data-testid="pacs-search">
          Search
        </button>
      </form>
      {problem && (
        <p className="error-text" role="alert" data-testid="pacs-problem">
          {problem}
        </p>
      )}
      <table className="pacs-results" data-testid="pacs-results">
        <thead>
          <tr>
            <th />
            <th>Patient</th>
            <th>ID</th>
            <th>Date</th>
            <th>Modality</th>
            <th>Accession</th>
            <th>Description</th>
            <th>Images</th>
          </tr>
        </thead>
        <tbody>
          {results.map((r) => (
            <tr key={r.studyUid} data-testid="pacs-result">
              <td>
                <input
                  type="checkbox"
                  aria-label={`select ${r.patientName}`}
                  checked={selected.has(r.studyUid)}
                  onChange={(e) => setSelected((s) => (e.target.checked ? new Set(s).add(r.studyUid) : new Set([...s].filter((u) => u !== r.studyUid))))}
                  data-testid="pacs-select"
                />
              </td>
              <td>{r.patientName}</td>
              <td>{r.patientId}</td>
              <td>{r.studyDate}</td>
              <td>{r.modalities.join('/')}</td>
              <td>{r.accessionNumber}</td>
              <td>{r.studyDescription}</td>
              <td>{r.instanceCount ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" disabled={selected.size === 0} onClick={() => results.filter((r) => selected.has(r.studyUid)).forEach((r) => void retrieve(r))} data-testid="pacs-retrieve">
        Retrieve selected
      </button>
      <ul className="pacs-transfers" data-testid="pacs-transfers">
        {transfers.map((t) => (
          <li key={t.jobId} data-testid="pacs-transfer" data-state={t.state} className={t.state === 'failed' || t.state === 'partial' ? 'error-text' : ''}>
            {t.label}: {t.state} {t.done}/{t.total}
            {t.message ? ` — ${t.message}` : ''}
            {t.state === 'running' && (
              <button type="button" onClick={() => void client.jobs.cancel({ jobId: t.jobId })}>
                Cancel
              </button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
