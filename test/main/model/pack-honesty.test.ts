import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packManifestSchema } from '../../../src-shared/contracts/model-pack';
import { trainedQuestionType, untrainedQuestionNote } from '../../../src-shared/question-types';
import { JobManager } from '../../../src-main/jobs/job-manager';
import { ModelService } from '../../../src-main/model/model-handlers';

const PACK = path.resolve('resources/packs/healthgpt-nano');
const manifest = packManifestSchema.parse(JSON.parse(readFileSync(path.join(PACK, 'manifest.json'), 'utf8')));

describe('the shipped nano pack says what it does not do (issue #18)', () => {
  it('marks every generation task that does not beat its equal baseline on held-out data', () => {
    expect(manifest.tasks.sr?.heldOut).toEqual({ beatsBaseline: false, baseline: 'interpolation' });
    expect(manifest.tasks.ct2mri?.heldOut).toEqual({ beatsBaseline: false, baseline: 'identity' });
    expect(manifest.tasks.mri2ct?.heldOut).toEqual({ beatsBaseline: false, baseline: 'identity' });
  });

  it('declares native-resolution tiling at the input sizes it was trained on', () => {
    expect(manifest.tasks.sr?.tiling).toEqual({ inputTile: 32, overlap: 8 });
    expect(manifest.tasks.ct2mri?.tiling).toEqual({ inputTile: 128, overlap: 32 });
  });

  it('declares the question types it was trained on; the issue\'s questions get the note, trained ones do not', () => {
    const types = manifest.tasks.vqa?.questionTypes ?? [];
    expect(types.map((t) => t.type)).toEqual(['modality', 'plane', 'abnormality', 'side', 'contrast']);
    expect(trainedQuestionType('what imaging modality is this', types)).toBe('modality');
    expect(untrainedQuestionNote('What imaging modality is this?', types)).toBeNull();
    for (const q of ['Which modality is this?', 'What organ is shown?']) expect(untrainedQuestionNote(q, types)).toMatch(/not trained for this question/);
  });

  it('hands the window the below-baseline tasks and the question types when the pack loads', async () => {
    const jobs = new JobManager();
    const service = new ModelService({ jobs, packRoots: () => [path.dirname(PACK)], verifyOptions: () => ({}) });
    try {
      const info = await service.load(PACK, 'cpu');
      expect(info.belowBaseline).toEqual({ sr: 'interpolation', ct2mri: 'identity', mri2ct: 'identity' });
      expect(info.questionTypes?.length).toBe(5);
    } finally {
      await service.unload();
      await jobs.shutdown();
    }
  }, 120_000);
});
