import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const PACK = path.resolve('resources/packs/healthgpt-nano');

function healthgpt(args: string[]) {
  return spawnSync('npm', ['run', '-s', 'healthgpt', '--', ...args], {
    encoding: 'utf8',
    env: { ...process.env, HEALTHGPT_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'hgpt-eval-')) },
    timeout: 300_000,
  });
}

describe('healthgpt eval (the app runtime on the held-out split, with baselines)', () => {
  it('finds the shipped pack', () => expect(existsSync(path.join(PACK, 'manifest.json'))).toBe(true));
  it('prints PSNR/SSIM for the model and bicubic on SR as JSON', () => {
    const r = healthgpt(['eval', '--pack', 'healthgpt-nano', '--task', 'sr', '--limit', '3', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.stringify(JSON.parse(r.stdout));
    expect(out).toMatch(/bicubic/i);
    expect(out).toMatch(/psnr/i);
    expect(out).toMatch(/ssim/i);
  });

  it('prints VQA accuracy per question type next to the majority answer', () => {
    const r = healthgpt(['eval', '--pack', 'healthgpt-nano', '--task', 'vqa', '--limit', '10', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(r.stdout))).toMatch(/majority/i);
  });

  it('refuses an unknown task or pack with a clear message and exit 2', () => {
    const task = healthgpt(['eval', '--pack', 'healthgpt-nano', '--task', 'segmentation']);
    expect(task.status).toBe(2);
    expect(task.stderr).toMatch(/--task must be one of/);
    const pack = healthgpt(['eval', '--pack', 'no-such-pack', '--task', 'sr']);
    expect(pack.status).toBe(2);
    expect(pack.stderr).toMatch(/no model pack "no-such-pack"/);
  });
});
