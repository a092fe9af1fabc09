export function StudyList() {
  return (
    <div className="panel">
      <h2>Studies</h2>
      <p className="muted" data-testid="studies-empty">No studies imported yet.</p>
    </div>
  );
}
