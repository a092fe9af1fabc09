import { readdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowserSession, type BrowserSession } from '../support/browser-session';
import { screenshot } from '../support/chromium';
import { makeWorkflowSeries, packFolders, randomPack } from '../support/workflow-fixtures';

/**
 * Trust aids in the window (Chromium, browser mode, real services): a random-weight pack, whose choices are
 * near-uniform guesses, so its answer words are marked low confidence (with their alternatives) and its
 * generated slice has a confidence map; the overlay toggles on the generated pane with a legend that says
 * what the colours are not.
 */
describe('trust aids in the window: marked words, confidence overlay', () => {
  let session: BrowserSession;
  let page: Page;
  const attr = async (testId: string, name: string) => (await page.getByTestId(testId).first().getAttribute(name)) ?? '';

  let series = '';
  beforeAll(async () => {
    series = makeWorkflowSeries();
    const { dataDir, resourcesDir } = packFolders(randomPack());
    session = await openBrowserSession({ dataDir, resourcesDir });
    page = session.page;
  }, 600_000);
  afterAll(async () => {
    await session?.close();
  });

  it('imports the MRI series and opens it', async () => {
    await page.getByTestId('pack-loaded').waitFor({ timeout: 60_000 });
    await page.getByTestId('import-paths').fill(`${series}/mr_axial`);
    await page.getByTestId('import-button').click();
    await expect.poll(async () => page.getByTestId('import-report').getAttribute('data-imported'), { timeout: 60_000 }).toBe('40');
    const mr = page.locator('[data-testid="series"][data-description^="T1 axial 1 mm"]');
    await mr.focus();
    await page.keyboard.press('Enter');
    await expect.poll(async () => attr('pane-original', 'data-state'), { timeout: 30_000 }).toBe('rendered');
  }, 120_000);

  it('an answer marks its low-confidence words with the alternatives in a tooltip, and gives the overall figure', async () => {
    await page.getByTestId('ask-question').fill('Is there an abnormality?');
    await page.getByTestId('ask-button').click();
    await page.getByTestId('ask-final').waitFor({ timeout: 120_000 });
    const marked = page.getByTestId('low-confidence-word');
    expect(await marked.count()).toBeGreaterThan(0);
    const first = marked.first();
    expect(Number(await first.getAttribute('data-probability'))).toBeLessThan(0.5);
    expect(await first.getAttribute('title')).toMatch(/model probability \d+%; it also weighed: .+ \d+%/);
    const answer = (await page.getByTestId('ask-answer').textContent()) ?? '';
    expect(answer).toContain((await first.textContent()) ?? '');
    const overall = Number(await attr('answer-confidence', 'data-overall'));
    expect(overall > 0 && overall < 0.5).toBe(true);
    expect(await page.getByTestId('answer-confidence').textContent()).toMatch(/Model confidence \d+% per token/);
    await screenshot(page, 'trust-01-answer');
  }, 180_000);

  it('the generated pane toggles a confidence overlay with a legend', async () => {
    await page.getByTestId('generate-task').selectOption('sr');
    await page.getByTestId('scope-slice').check();
    await page.getByTestId('generate-button').click();
    const outcome = page.getByTestId('generate-outcome');
    await expect.poll(async () => outcome.getAttribute('data-complete'), { timeout: 240_000 }).toBe('true');
    await expect.poll(async () => attr('pane-generated', 'data-state'), { timeout: 30_000 }).toBe('rendered');
    const toggle = page.getByTestId('confidence-toggle');
    expect(await toggle.getAttribute('aria-pressed')).toBe('false');
    expect(await page.getByTestId('confidence-overlay').count()).toBe(0);
    await toggle.click();
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    const overlay = page.getByTestId('confidence-overlay');
    await expect.poll(async () => overlay.getAttribute('data-mean'), { timeout: 30_000 }).not.toBe('');
    const mean = Number(await overlay.getAttribute('data-mean'));
    expect(mean > 0 && mean <= 1).toBe(true);
    const legend = (await page.getByTestId('confidence-legend').textContent()) ?? '';
    expect(legend).toMatch(/chosen-token probability · mean \d\.\d\d/);
    expect(legend).toMatch(/not a measured error/);
    // the overlay is drawn: a random pack is unsure everywhere, so the image area is coloured
    const painted = await page.evaluate(() => {
      const c = document.querySelector('.confidence-canvas') as HTMLCanvasElement | null;
      const d = c?.getContext('2d')?.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      if (d) for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
      return n;
    });
    expect(painted).toBeGreaterThan(0);
    await screenshot(page, 'trust-02-overlay');
    await toggle.click();
    expect(await page.getByTestId('confidence-overlay').count()).toBe(0);
  }, 300_000);

  it('a run\'s confidence maps export from the window as a DICOM series beside the generated one', async () => {
    await page.getByTestId('export-confidence').click();
    const done = page.getByTestId('export-done').filter({ hasText: 'Confidence maps' });
    await done.waitFor({ timeout: 60_000 });
    const m = /(\d+) files? in (.+)$/.exec((await done.textContent()) ?? '');
    expect(m).not.toBeNull();
    const files = readdirSync(m![2]!).filter((n) => n.endsWith('.dcm'));
    expect(files.length).toBe(Number(m![1]));
    expect(files.length).toBeGreaterThan(0);
  }, 120_000);

  it('an MRI→CT run with the cycle check shows its difference map on request', async () => {
    await page.getByTestId('generate-task').selectOption('mri2ct');
    await page.getByTestId('scope-slice').check();
    await page.getByTestId('generate-cycle').check();
    await page.getByTestId('generate-button').click();
    await expect.poll(async () => attr('generate-trust', 'data-cycle'), { timeout: 240_000 }).not.toBe('');
    await page.getByTestId('cycle-map-show').click();
    const image = page.getByTestId('cycle-map-image');
    await image.waitFor({ timeout: 30_000 });
    await expect.poll(async () => image.evaluate((el) => (el as HTMLImageElement).naturalWidth), { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await page.getByTestId('cycle-map').textContent()).toMatch(/slice 1: [\d.]+ .*inside the body/);
    await screenshot(page, 'trust-03-cycle-map');
  }, 300_000);
});
