/**
 * The current view as PNG bytes: the canvases of both viewer panes side by side (as drawn, with their
 * window/level), the generated half labelled "AI-generated". Returns null when nothing is on screen.
 */
export async function currentViewPng(root: ParentNode = document): Promise<Uint8Array<ArrayBuffer> | null> {
  const parts: Array<{ canvas: HTMLCanvasElement; generated: boolean }> = [];
  for (const id of ['original', 'generated'] as const) {
    const pane = root.querySelector(`[data-testid="pane-${id}"]`);
    const canvas = root.querySelector(`[data-testid="viewport-${id}"] canvas`);
    if (!(canvas instanceof HTMLCanvasElement) || !pane || pane.getAttribute('data-state') !== 'rendered') continue;
    if (canvas.width > 0 && canvas.height > 0) parts.push({ canvas, generated: id === 'generated' });
  }
  if (parts.length === 0) return null;
  const gap = parts.length > 1 ? 4 : 0;
  const width = parts.reduce((w, p) => w + p.canvas.width, 0) + gap * (parts.length - 1);
  const height = Math.max(...parts.map((p) => p.canvas.height));
  const out = document.createElement('canvas');
  out.width = width;
  out.height = height;
  const ctx = out.getContext('2d');
  if (!ctx) return null;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, width, height);
  let x = 0;
  for (const p of parts) {
    ctx.drawImage(p.canvas, x, 0);
    if (p.generated) {
      ctx.font = 'bold 14px sans-serif';
      const label = 'AI-generated';
      const w = ctx.measureText(label).width + 16;
      ctx.fillStyle = '#f0b429';
      ctx.fillRect(x + p.canvas.width - w, 0, w, 22);
      ctx.fillStyle = '#000';
      ctx.fillText(label, x + p.canvas.width - w + 8, 16);
    }
    x += p.canvas.width + gap;
  }
  const blob = await new Promise<Blob | null>((resolve) => out.toBlob(resolve, 'image/png'));
  return blob ? new Uint8Array(await blob.arrayBuffer()) : null;
}
