import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowserSession, type BrowserSession } from '../support/browser-session';
import { screenshot } from '../support/chromium';
import { readDicom } from '../support/dicom-read';
import { makeWorkflowSeries, packFolders, workflowPack } from '../support/workflow-fixtures';

/**
 * Issue 19 in the window, on the real CT series (CT_small): MRI → CT on a CT series is refused in words
 * and runs only on an explicit override (recorded, shown in History); exporting the unreviewed and then
 * the rejected run asks first, and the exported files say the review state; History counts the reviews.
 */
let session: BrowserSession;
let page: Page;
let exportDir: string;

beforeAll(async () => {
  const series = makeWorkflowSeries();
  const folders = packFolders(workflowPack());
  session = await openBrowserSession(folders);
  page = session.page;
  exportDir = session.mode.services.exports.folder;
  await page.getByTestId('pack-loaded').waitFor({ timeout: 60_000 });
  await page.getByTestId('import-paths').fill(`${series}/ct_series`);
  await page.getByTestId('import-button').click();
  await page.locator('[data-testid="import-report"][data-imported="10"]').waitFor({ timeout: 60_000 });
  const item = page.locator('[data-testid="series"][data-description^="CT from CT_small"]');
  await item.focus();
  await page.keyboard.press('Enter');
  await page.locator('[data-testid="pane-original"][data-state="rendered"]').waitFor({ timeout: 30_000 });
}, 300_000);

afterAll(async () => {
  await session?.close();
});

describe('modality guard and review that travels, in the window', () => {
  it('MRI → CT on a CT series is refused in words; "Run anyway" runs it and History shows the override', async () => {
    await page.getByTestId('generate-task').selectOption('mri2ct');
    await page.getByTestId('scope-slice').check();
    await page.getByTestId('generate-button').click();
    const problem = page.getByTestId('generate-problem');
    await problem.waitFor({ timeout: 60_000 });
    expect(await problem.textContent()).toMatch(/Generation failed: MRI → CT synthesis reads MR images, but this series is CT/);
    expect(await page.getByTestId('generate-outcome').count()).toBe(0);
    await screenshot(page, 'reading-modality-refused');

    await page.getByTestId('generate-override').click();
    const outcome = page.getByTestId('generate-outcome');
    await expect.poll(async () => outcome.getAttribute('data-complete'), { timeout: 300_000 }).toBe('true');
    expect(await page.getByTestId('generate-problem').count()).toBe(0);
  }, 400_000);

  it('exporting the unreviewed run asks first; after a rejection it asks again and the files say "rejected"', async () => {
    await page.getByTestId('export-series').click();
    const box = page.getByTestId('export-confirm-box');
    await box.waitFor({ timeout: 30_000 });
    expect(await box.textContent()).toMatch(/has not been reviewed/);
    await box.scrollIntoViewIfNeeded();
    expect(existsSync(exportDir) ? readdirSync(exportDir).filter((n) => n.startsWith('AI-mri2ct-')) : []).toEqual([]);
    await screenshot(page, 'reading-export-confirm');
    await page.getByTestId('export-confirm-cancel').click();
    expect(await box.count()).toBe(0);

    await page.getByTestId('run-review-comment').fill('e2e: wrong modality');
    await page.getByTestId('run-reject').click();
    await expect.poll(async () => page.getByTestId('run-review').count()).toBe(1);
    await page.getByTestId('export-series').click();
    await box.waitFor({ timeout: 30_000 });
    expect(await box.textContent()).toMatch(/was rejected by/);
    await page.getByTestId('export-confirm').click();
    await expect.poll(async () => page.getByTestId('export-done').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.getByTestId('export-done').textContent()).toMatch(/\(review: rejected\)/);
    const folder = readdirSync(exportDir).find((n) => n.startsWith('AI-mri2ct-'))!;
    const ds = readDicom(path.join(exportDir, folder, '0001.dcm'));
    expect(ds.SeriesDescription).toMatch(/^AI MRI to CT [0-9a-f]{8} REJECTED/);
    expect(String(ds.ImageComments)).toMatch(/review: rejected by/);
    await screenshot(page, 'reading-export-rejected');
  });

  it('History: review counts for the case, the task instead of the prompt template, the override', async () => {
    await page.getByTestId('tab-history').click();
    const entry = page.getByTestId('history-case').first();
    await entry.waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('history-case-reviews').first().textContent()).toBe('1 rejected');
    await entry.click();
    await page.getByTestId('history-case-view').waitFor();
    const question = page.getByTestId('history-run-question').first();
    expect(await question.textContent()).toBe('Task: MRI → CT synthesis');
    expect(await page.locator('[data-testid="history-run"]').first().textContent()).not.toMatch(/<\|system\|>|<image>/);
    expect(await page.getByTestId('history-run-override').first().textContent()).toMatch(/Run on a CT series although the task reads MR/);
    expect(session.pageErrors).toEqual([]);
    await screenshot(page, 'reading-history');
  });
});
