import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobFinal, JobProgress } from '../../../src-shared/contracts/jobs';
import { modelContract } from '../../../src-shared/contracts/model';
import type { CallContext } from '../../../src-main/ipc/registry';
import { JobManager } from '../../../src-main/jobs/job-manager';
import { readPngImage } from '../../../src-main/model/model-image';
import { createModelHandlers, ModelService, type ModelHandlerDeps } from '../../../src-main/model/model-handlers';
import { buildRandomPack, writeTestPng, type BuiltPack } from './pack-fixture';

describe('model domain handlers (contract-typed service)', () => {
  let pack: BuiltPack;
  let png: string;
  const jobs = new JobManager();
  const events: { channel: string; payload: unknown }[] = [];
  const ctx: CallContext = {
    sink: { id: 'test', send: (channel, payload) => events.push({ channel, payload }), isAlive: () => true },
    sender: { transport: 'direct', origin: null, isMainFrame: true, authenticated: true },
  };
  let deps: ModelHandlerDeps;
  let service: ModelService;

  beforeAll(() => {
    pack = buildRandomPack('tiny', 11);
    png = path.join(pack.root, 'in.png');
    writeTestPng(png, 40, 40, 1);
    deps = { jobs, packRoots: () => [pack.root], verifyOptions: () => ({}) };
    service = new ModelService(deps);
  });
  afterAll(async () => {
    await service.unload();
    await jobs.shutdown();
    pack?.cleanup();
  });

  it('lists, loads, asks as a streamed job and generates as a job with progress and a final image', async () => {
    const h = createModelHandlers(service, deps);
    const listed = await h.listPacks({}, ctx);
    expect(listed.map((p) => p.name)).toContain('random-tiny');
    await expect(h.startAsk(modelContract.startAsk.request.parse({ question: 'x', image: { kind: 'file', path: png } }), ctx)).rejects.toMatchObject({
      code: 'MODEL_NO_PACK_LOADED',
    });
    const loaded = await h.loadPack({ path: pack.dir, provider: 'cpu' }, ctx);
    expect(loaded).toMatchObject({ name: 'random-tiny', provider: 'cpu', demonstration: true });
    expect((await h.status({}, ctx)).loaded?.manifestSha256).toBe(loaded.manifestSha256);

    const started = await h.startAsk(modelContract.startAsk.request.parse({ question: 'What?', image: { kind: 'file', path: png }, maxTokens: 6 }), ctx);
    const final = await jobs.wait(started.jobId);
    expect(final.status).toBe('done');
    const result = (final as Extract<JobFinal, { status: 'done' }>).result as { text: string; tokens: number[] };
    const streamed = events
      .filter((e) => e.channel === 'jobs:progress' && (e.payload as JobProgress).jobId === started.jobId)
      .map((e) => (e.payload as JobProgress).appendText ?? '')
      .join('');
    expect(streamed).toBe(result.text);
    // same answer as calling the runtime directly
    const direct = await service.current.ask({ image: readPngImage(png), question: 'What?', maxTokens: 6 });
    expect(result.tokens).toEqual(direct.tokens);

    const pixels = new Uint8Array(30 * 20).map((_, i) => (i * 7) % 256);
    const g = await h.startGenerate(
      modelContract.startGenerate.request.parse({ task: 'sr', image: { kind: 'gray8', rows: 20, cols: 30, pixels, pixelSpacing: [1, 1], window: 'W 400 / L 40' } }),
      ctx,
    );
    const gf = await jobs.wait(g.jobId);
    expect(gf.status).toBe('done');
    const gr = (gf as Extract<JobFinal, { status: 'done' }>).result as { rows: number; cols: number; pixels: Float32Array; pixelSpacing: number[]; window: string };
    expect([gr.rows, gr.cols, gr.pixels.length]).toEqual([80, 120, 9600]);
    expect(gr.pixelSpacing).toEqual([0.25, 0.25]);
    expect(gr.window).toBe('W 400 / L 40');
    expect(modelContract.startGenerate.response.safeParse(g).success).toBe(true);
    expect(await h.unloadPack({}, ctx)).toEqual({ unloaded: true });
  });
});
