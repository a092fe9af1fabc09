import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowserSession, type BrowserSession } from '../support/browser-session';
import { screenshot } from '../support/chromium';

describe('workstation shell in browser mode (real services over the loopback bridge)', () => {
  let session: BrowserSession;

  beforeAll(async () => {
    session = await openBrowserSession();
  });
  afterAll(async () => {
    await session?.close();
  });

  it('shows every region of the workstation at 1920x1080 and 1366x768', async () => {
    const { page } = session;
    for (const size of [
      { width: 1920, height: 1080 },
      { width: 1366, height: 768 },
    ]) {
      await page.setViewportSize(size);
      for (const region of ['region-studies', 'region-viewer', 'region-model', 'region-jobs', 'region-status', 'pane-original', 'pane-generated']) {
        const box = await page.getByTestId(region).boundingBox();
        expect(box, region).not.toBeNull();
        expect(box!.width, `${region} width`).toBeGreaterThan(40);
        expect(box!.x + box!.width, `${region} inside the window`).toBeLessThanOrEqual(size.width + 1);
        expect(box!.y + box!.height, `${region} inside the window`).toBeLessThanOrEqual(size.height + 1);
      }
      // The two panes sit side by side, original on the left.
      const left = (await page.getByTestId('pane-original').boundingBox())!;
      const right = (await page.getByTestId('pane-generated').boundingBox())!;
      expect(left.x).toBeLessThan(right.x);
      expect(Math.abs(left.y - right.y)).toBeLessThan(2);
      await screenshot(page, `shell-${size.width}x${size.height}`);
    }
    await page.setViewportSize({ width: 1920, height: 1080 });
  });

  it('status line reads the execution provider from the real main process', async () => {
    const status = session.page.getByTestId('status-provider');
    await expect.poll(async () => status.textContent()).toMatch(/Execution: CPU/);
    await expect.poll(async () => session.page.getByTestId('status-transport').textContent()).toMatch(/browser mode/);
    expect(await session.page.getByTestId('ai-banner').textContent()).toBe('AI-generated');
  });

  it('a job started from the window streams progress to the job bar and ends once', async () => {
    const { page } = session;
    await page.getByTestId('run-diagnostics').click();
    const job = page.getByTestId('job').first();
    await expect.poll(async () => job.getByTestId('job-count').textContent(), { timeout: 10_000 }).toMatch(/^([1-9]|1\d)\/20$/);
    await expect.poll(async () => job.getAttribute('data-state'), { timeout: 15_000 }).toBe('done');
    await screenshot(page, 'shell-job-done');
  });

  it('cancel in the job bar ends the job as cancelled', async () => {
    const { page } = session;
    await page.getByTestId('run-diagnostics').click();
    const job = page.locator('[data-testid="job"][data-state="running"]').first();
    await job.getByTestId('job-cancel').click();
    await expect.poll(async () => page.locator('[data-testid="job"][data-state="cancelled"]').count(), { timeout: 10_000 }).toBeGreaterThan(0);
  });

  it('is keyboard reachable: Tab reaches the diagnostics button', async () => {
    const { page } = session;
    await page.locator('body').click();
    let reached = false;
    for (let i = 0; i < 30 && !reached; i += 1) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'run-diagnostics');
    }
    expect(reached).toBe(true);
    expect(session.pageErrors).toEqual([]);
  });
});
