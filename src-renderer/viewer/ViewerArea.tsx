export function ViewerArea() {
  return (
    <div className="viewer-area">
      <section className="pane" aria-label="Original" data-testid="pane-original">
        <div className="pane-title">Original</div>
        <div className="pane-empty">Open a series from the study list.</div>
      </section>
      <section className="pane pane-generated" aria-label="Generated" data-testid="pane-generated">
        <div className="pane-title">Generated</div>
        <div className="ai-banner" data-testid="ai-banner">AI-generated</div>
        <div className="pane-empty">Generated images appear here.</div>
      </section>
    </div>
  );
}
