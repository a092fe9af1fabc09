import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { openBrowserSession, type BrowserSession } from '../support/browser-session';
import { screenshot } from '../support/chromium';
import { OrthancServer } from '../support/orthanc';
import { makePhantomStudy, PYDICOM_FILES } from '../main/pacs/pacs-fixtures';

/**
 * The study browser's PACS tab against a real Orthanc (+ DICOMweb, basic auth) on 127.0.0.1: search by
 * patient, retrieve the selected study, watch its transfer end complete, and see the series open in the
 * viewer with real pixels. The node's password never reaches the page.
 */
const PASSWORD = 'e2e-pacs-secret';

describe('PACS tab', () => {
  let session: BrowserSession;
  let page: Page;
  let orthanc: OrthancServer;
  let fixture: ReturnType<typeof makePhantomStudy>;
  let dataDir: string;

  beforeAll(async () => {
    fixture = makePhantomStudy();
    orthanc = await OrthancServer.start({ users: { radiologist: PASSWORD }, dicom: true });
    await orthanc.upload([...fixture.original, path.join(PYDICOM_FILES, 'CT_small.dcm'), path.join(PYDICOM_FILES, 'MR_small.dcm')]);
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'healthgpt-e2e-pacs-'));
    writeFileSync(path.join(dataDir, 'pacs-nodes.json'), JSON.stringify({
        nodes: [
          { name: 'orthanc', url: orthanc.dicomWebUrl, auth: { type: 'basic', username: 'radiologist', password: PASSWORD } },
          { name: 'orthanc-dimse', protocol: 'dimse', host: '127.0.0.1', port: orthanc.dicomPort, calledAet: 'ORTHANC', retrieve: 'get' },
        ],
      }));
    session = await openBrowserSession({ dataDir });
    page = session.page;
  });
  afterAll(async () => {
    await session?.close();
    await orthanc?.stop();
    for (const d of [orthanc?.dir, fixture?.dir, dataDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('search, retrieve selected, transfer complete, the retrieved series opens in the viewer', async () => {
    await page.getByTestId('source-pacs').click();
    await page.getByTestId('pacs-panel').waitFor();
    await page.getByTestId('pacs-patientName').fill('Phantom');
    await page.getByTestId('pacs-search').click();
    await expect.poll(() => page.getByTestId('pacs-result').count(), { timeout: 30_000 }).toBe(1);
    expect(await page.getByTestId('pacs-result').first().innerText()).toContain('VIEWER-001');
    await page.getByTestId('pacs-select').first().check();
    await page.getByTestId('pacs-retrieve').click();
    await expect.poll(() => page.getByTestId('pacs-transfer').first().getAttribute('data-state'), { timeout: 120_000 }).toBe('complete');
    expect(await page.getByTestId('pacs-transfer').first().innerText()).toContain('40/40');
    await expect.poll(() => page.getByTestId('series').count(), { timeout: 30_000 }).toBe(1);
    // The first retrieved series opened in the empty original pane by itself; it shows real pixels.
    await expect
      .poll(
        () =>
          page.evaluate(() => {
            const c = document.querySelector('[data-testid="viewport-original"] canvas') as HTMLCanvasElement | null;
            if (!c) return 0;
            const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
            const seen = new Set<number>();
            for (let k = 0; k < d.length; k += 64) seen.add(d[k]!);
            return seen.size;
          }),
        { timeout: 60_000 },
      )
      .toBeGreaterThan(4);
    expect(await page.content()).not.toContain(PASSWORD);
    await screenshot(page, 'pacs-tab-retrieved');
    expect(session.pageErrors).toEqual([]);
  });

  it('choosing DIMSE offers the DIMSE node only, and its C-FIND search fills the results', async () => {
    await page.getByTestId('pacs-protocol').selectOption('dimse');
    const options = await page.getByTestId('pacs-node').locator('option').allInnerTexts();
    expect(options).toEqual([`orthanc-dimse (DIMSE ORTHANC@127.0.0.1:${orthanc.dicomPort})`]);
    await page.getByTestId('pacs-patientName').fill('CompressedSamples');
    await page.getByTestId('pacs-search').click();
    await expect.poll(() => page.getByTestId('pacs-result').count(), { timeout: 30_000 }).toBe(2);
    const rows = (await page.getByTestId('pacs-result').allInnerTexts()).join('\n');
    expect(rows).toContain('1CT1');
    expect(rows).toContain('4MR1');
    expect(session.pageErrors).toEqual([]);
  });
});
