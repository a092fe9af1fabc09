import { useWorkstation } from '../app/workstation-context';

export function ModelPanel() {
  const { info } = useWorkstation();
  return (
    <div className="panel">
      <h2>Model</h2>
      {!info && <p>Loading…</p>}
      {info && info.packs.length === 0 && <p data-testid="no-pack">No model pack found. Generation and questions are unavailable.</p>}
      <ul className="pack-list">
        {info?.packs.map((p) => (
          <li key={p.path} data-testid="pack-entry">
            <div className="pack-name">
              {p.name} <span className="muted">{p.version}</span>
            </div>
            {p.demonstration && <div className="demo-tag">Demonstration model, not for clinical use</div>}
            {p.problem && <div className="error-text">{p.problem}</div>}
          </li>
        ))}
      </ul>
      <h2>Tasks</h2>
      <p className="muted">Open a series to ask questions or generate images.</p>
    </div>
  );
}
