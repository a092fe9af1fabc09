import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, describe, expect, it } from 'vitest';
import { PYTHON, REPO_ROOT } from './pack-fixture';

const samples = [
  '<|system|>\nYou are a helpful AI assistant.<|end|>\n<|user|>\n<image>\nWhat is shown?<|end|>\n<|assistant|>\n',
  'The CT scan shows a 12 mm nodule in the right upper lobe.',
  'Ünïcödé façade — 3×4 mm, naïve   spaces\tand\ttabs\n\nnew lines',
  'Convert this CT image into the corresponding MRI image.<start_index><idx_0><idx_63><end_index>',
  '',
];

describe('hand-written tokenizer.json', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'hgpt-tok-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads in @huggingface/tokenizers and gives the same ids as the Python tokenizer; round-trips', () => {
    const file = path.join(dir, 'tokenizer.json');
    const script = [
      'import json, sys',
      'from model.healthgpt.tokenizer import build_tokenizer, Tokenizer',
      'tj = build_tokenizer(num_image_tokens=64)',
      `json.dump(tj, open(${JSON.stringify(file)}, "w"))`,
      't = Tokenizer(tj)',
      'print(json.dumps([t.encode(s) for s in json.loads(sys.stdin.read())]))',
    ].join('\n');
    const py = JSON.parse(execFileSync(PYTHON, ['-c', script], { cwd: REPO_ROOT, input: JSON.stringify(samples) }).toString()) as number[][];
    const tok = new Tokenizer(JSON.parse(readFileSync(file, 'utf8')) as object, { add_bos_token: false, add_eos_token: false });
    samples.forEach((s, i) => {
      const ids = tok.encode(s, { add_special_tokens: false }).ids;
      expect(ids).toEqual(py[i]);
      if (s) expect(tok.decode(ids, { skip_special_tokens: false })).toBe(s);
      else expect(ids).toEqual([]);
    });
    // special and image tokens are single ids
    expect(tok.encode('<image>', { add_special_tokens: false }).ids).toHaveLength(1);
    expect(tok.encode('<idx_17>', { add_special_tokens: false }).ids).toHaveLength(1);
    // merges were learned: ordinary words take fewer ids than bytes
    const words = 'The image shows a normal brain MRI';
    expect(tok.encode(words, { add_special_tokens: false }).ids.length).toBeLessThan(words.length / 2);
  });
});

describe('H-LoRA unit tests (Python)', () => {
  it('router weights sum to 1 per token, the plugin switch changes outputs, the base is untouched', () => {
    // Only the H-LoRA module (the whole Python suite is its own step of `npm test`), from the repo root as
    // scripts/test-all.mjs runs it: the tests import the package as model.healthgpt.
    const r = spawnSync(PYTHON, ['-m', 'unittest', '-v', 'model.tests.test_hlora'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    for (const name of ['test_router_weights_sum_to_one_per_token', 'test_plugin_switch_changes_outputs', 'test_base_untouched_by_switching_and_training']) {
      expect(r.stderr).toMatch(new RegExp(`${name} \\(.*\\) \\.\\.\\. ok`));
    }
    expect(r.stderr).toMatch(/^OK$/m);
  });
});
