/**
 * The renderer's frame side under a long scroll (issue #23): the FrameService over the real DicomService
 * (through the typed client, contract-checked) on a 2,000-slice 64x64 series written from Colin27.
 * After scrolling end to end twice its per-frame attributes stay bounded, geometry of a dropped slice
 * still comes from the series detail, and a slice loaded again (as after a cache eviction) has the
 * source's pixels. The scroll prefetch order follows the scroll direction.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dicomContract } from '../../src-shared/contracts/dicom';
import { createWorkstationClient, type Transport } from '../../src-shared/ipc/client-api';
import { createDicomHandlers } from '../../src-main/dicom/dicom-handlers';
import { createDicomService, type DicomService } from '../../src-main/dicom/dicom-service';
import type { CallContext } from '../../src-main/ipc/registry';
import { JobManager } from '../../src-main/jobs/job-manager';
import { FrameService, imageIdFor } from '../../src-renderer/viewer/image-loader';
import { prefetchOrder } from '../../src-renderer/viewer/prefetch';
import { makeBigStudy, type BigStudy } from '../support/big-study-fixtures';

const SLICES = 2000;
const ctx: CallContext = {
  sink: { id: 'frame-cache', send: () => {}, isAlive: () => true },
  sender: { transport: 'direct', origin: null, isMainFrame: true, authenticated: true },
};

let study: BigStudy;
let jobs: JobManager;
let service: DicomService;

/** The dicom contract over direct calls into the service, with the same {ok, value} envelope. */
function directTransport(dicom: DicomService): Transport {
  const handlers = createDicomHandlers(dicom) as unknown as Record<string, (req: unknown, c: CallContext) => unknown>;
  const byChannel = new Map(Object.entries(dicomContract).map(([name, spec]) => [spec.channel, name]));
  return {
    name: 'direct',
    async call(channel, payload) {
      const name = byChannel.get(channel);
      if (!name) return { ok: false, error: { code: 'NO_CHANNEL', message: channel } };
      try {
        return { ok: true, value: await handlers[name]!(payload, ctx) };
      } catch (e) {
        return { ok: false, error: { code: 'FAILED', message: e instanceof Error ? e.message : String(e) } };
      }
    },
    onEvent: () => () => {},
  };
}

beforeAll(async () => {
  study = makeBigStudy(64, SLICES, 0);
  jobs = new JobManager();
  service = createDicomService({ jobs, dataDir: null });
  const started = service.import([study.seriesDir], ctx.sink);
  expect((await jobs.wait(started.jobId)).status).toBe('done');
}, 300_000);

afterAll(async () => {
  await service?.close();
  await jobs?.shutdown();
  if (study) rmSync(study.dir, { recursive: true, force: true });
});

describe('frames while scrolling a 2,000-slice series', () => {
  it('stays bounded end to end twice, and a slice loaded again has the source pixels', async () => {
    const frames = new FrameService(createWorkstationClient(directTransport(service)), 300);
    const uid = study.series.seriesUid;
    const detail = await frames.series(uid);
    const ids = detail.images.map((im, k) => imageIdFor(uid, k, im.sopInstanceUid, im.frame));
    const sum = (a: ArrayLike<number>) => {
      let s = 0;
      for (let i = 0; i < a.length; i += 1) s += a[i]!;
      return s;
    };
    for (let pass = 0; pass < 2; pass += 1) {
      for (let k = 0; k < SLICES; k += 1) await frames.loader(ids[k]!).promise;
    }
    expect(frames.info(ids[0]!)).toBeUndefined(); // dropped: only the last 300 are kept
    expect(frames.info(ids[SLICES - 1]!)).toBeDefined();
    const plane = frames.metadata('imagePlaneModule', ids[0]!) as { imagePositionPatient: number[] };
    expect(plane.imagePositionPatient).toEqual([study.series.x0, study.series.y0, study.series.positionsZ[0]]);
    for (const k of [0, 999, 1999]) {
      const image = await frames.loader(ids[k]!).promise;
      expect(sum(image.getPixelData()), `slice ${k}`).toBe(study.series.sliceSums[k]);
      expect((frames.metadata('imagePlaneModule', ids[k]!) as { imagePositionPatient: number[] }).imagePositionPatient[2]).toBeCloseTo(study.series.positionsZ[k]!, 6);
    }
  }, 300_000);
});

describe('prefetch order', () => {
  it('reaches further ahead in the scroll direction, nearest first, within the series', () => {
    expect(prefetchOrder(10, 9, 100, 4, 1)).toEqual([11, 9, 12, 13, 14]);
    expect(prefetchOrder(10, 11, 100, 4, 1)).toEqual([9, 11, 8, 7, 6]);
    expect(prefetchOrder(10, undefined, 100, 4, 2)).toEqual([11, 9, 12, 8, 13, 7]);
    expect(prefetchOrder(98, 97, 100, 4, 1)).toEqual([99, 97]);
    expect(prefetchOrder(0, 50, 100, 4, 2)).toEqual([1, 2, 3]); // a jump: no direction
  });
});
