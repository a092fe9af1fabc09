import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallContext } from '../../../src-main/ipc/registry';
import { JobManager } from '../../../src-main/jobs/job-manager';
import { imageFromGray8, readPngImage } from '../../../src-main/model/model-image';
import { createModelHandlers, ModelService, type ModelHandlerDeps } from '../../../src-main/model/model-handlers';
import { cachedTinyPack, writeTestPng, type BuiltPack } from './pack-fixture';

describe('model domain handlers (contract-typed service)', () => {
  let pack: BuiltPack;
  let png: string;
  const jobs = new JobManager();
  const ctx: CallContext = {
    sink: { id: 'test', send: () => {}, isAlive: () => true },
    sender: { transport: 'direct', origin: null, isMainFrame: true, authenticated: true },
  };
  let deps: ModelHandlerDeps;
  let service: ModelService;

  beforeAll(() => {
    pack = cachedTinyPack();
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

  it('lists, loads and unloads a pack; the loaded runtime answers and generates', async () => {
    const h = createModelHandlers(service, deps);
    const listed = await h.listPacks({}, ctx);
    expect(listed.map((p) => p.name)).toContain('random-tiny');
    expect(() => service.current).toThrow(expect.objectContaining({ code: 'MODEL_NO_PACK_LOADED' }));
    const loaded = await h.loadPack({ path: pack.dir, provider: 'cpu' }, ctx);
    expect(loaded).toMatchObject({ name: 'random-tiny', provider: 'cpu', demonstration: true });
    expect((await h.status({}, ctx)).loaded?.manifestSha256).toBe(loaded.manifestSha256);

    const streamed: string[] = [];
    const answer = await service.current.ask({ image: readPngImage(png), question: 'What?', maxTokens: 6, onToken: (d) => streamed.push(d) });
    expect(streamed.join('')).toBe(answer.text);

    const pixels = new Uint8Array(30 * 20).map((_, i) => (i * 7) % 256);
    const g = await service.current.generate({ task: 'sr', image: imageFromGray8(pixels, 20, 30, [1, 1], 'W 400 / L 40') });
    expect([g.rows, g.cols, g.pixels.length]).toEqual([80, 120, 9600]);
    expect(g.pixelSpacing).toEqual([0.25, 0.25]);
    expect(g.window).toBe('W 400 / L 40');
    expect(await h.unloadPack({}, ctx)).toEqual({ unloaded: true });
    expect((await h.status({}, ctx)).loaded).toBeNull();
  });
});
