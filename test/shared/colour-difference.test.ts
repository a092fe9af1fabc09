/**
 * CIEDE2000 against skimage: Sharma's 34 published pairs (skimage's own test data) and the per-pixel map
 * of ihc.png against a quality-20 JPEG of itself, rgb2lab and deltaE_ciede2000 computed by skimage on
 * the same pixels (deltae_reference.py). Also the per-channel histograms on the same image.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelHistograms, ciede2000, deltaE2000Map, deltaEColour, rgbToLab, summarizeDeltaE } from '../../src-shared/colour/colour-difference';

const REPO = path.resolve(import.meta.dirname, '../..');
let dir = '';
let meta: { shape: number[]; sharma: { lab1: number[][]; lab2: number[][]; skimage: number[]; published: number[] } };
const f64 = (name: string) => {
  const b = readFileSync(path.join(dir, name));
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const u8 = (name: string) => new Uint8Array(readFileSync(path.join(dir, name)));

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'deltae-'));
  execFileSync('/usr/bin/python3', [path.join(REPO, 'test/fixtures/plain-images/deltae_reference.py'), dir], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as typeof meta;
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CIEDE2000', () => {
  it("matches skimage and the published values on Sharma's 34 pairs", () => {
    const { lab1, lab2, skimage, published } = meta.sharma;
    expect(lab1.length).toBe(34);
    lab1.forEach((l, i) => {
      const m = lab2[i]!;
      const ours = ciede2000(l[0]!, l[1]!, l[2]!, m[0]!, m[1]!, m[2]!);
      expect(Math.abs(ours - skimage[i]!), `pair ${i + 1}`).toBeLessThan(1e-9);
      expect(Math.abs(ours - published[i]!), `pair ${i + 1}`).toBeLessThan(1e-4);
    });
  });

  it('converts sRGB to Lab as skimage.color.rgb2lab does', () => {
    const a = u8('a.rgb');
    const lab = f64('a.lab');
    let worst = 0;
    const out = [0, 0, 0];
    for (let p = 0; p < a.length / 3; p += 1) {
      rgbToLab(a[p * 3]!, a[p * 3 + 1]!, a[p * 3 + 2]!, 255, out);
      for (let k = 0; k < 3; k += 1) worst = Math.max(worst, Math.abs(out[k]! - lab[p * 3 + k]!));
    }
    expect(worst).toBeLessThan(1e-9);
  });

  it('gives the ΔE map of a real pair as skimage.color.deltaE_ciede2000 does', () => {
    const a = u8('a.rgb');
    const b = u8('b.rgb');
    const reference = f64('de.f64');
    const pixels = meta.shape[0]! * meta.shape[1]!;
    expect(reference.length).toBe(pixels);
    const ours = deltaE2000Map(a, b, pixels, 255, new Float64Array(pixels));
    let worst = 0;
    for (let i = 0; i < pixels; i += 1) worst = Math.max(worst, Math.abs(ours[i]! - reference[i]!));
    expect(worst).toBeLessThan(1e-8);
    const s = summarizeDeltaE(ours);
    // A quality-20 JPEG is visibly different: the map is not trivially zero.
    expect(s.mean).toBeGreaterThan(1);
    expect(s.max).toBeGreaterThan(s.p95);
    // Identical images give zero everywhere.
    expect(summarizeDeltaE(deltaE2000Map(a, a, pixels)).max).toBe(0);
  });

  it('counts every sample once per channel in the histograms', () => {
    const a = u8('a.rgb');
    const h = channelHistograms(a, 3, 255, 64);
    expect(h.channels.length).toBe(3);
    for (let c = 0; c < 3; c += 1) {
      const counts = h.channels[c]!;
      expect(counts.reduce((s, v) => s + v, 0)).toBe(a.length / 3);
      let direct = 0;
      for (let p = 0; p < a.length / 3; p += 1) if (a[p * 3 + c]! >> 2 === 10) direct += 1;
      expect(counts[10]).toBe(direct);
    }
  });

  it('colours the bar from black to bright, monotonic in brightness', () => {
    expect(deltaEColour(0, 10)).toEqual([0, 0, 0]);
    let last = -1;
    for (let d = 0; d <= 10; d += 0.5) {
      const [r, g, b] = deltaEColour(d, 10);
      const luma = 0.2126 * r + 0.7152 * g + 0.0722 * b;
      expect(luma).toBeGreaterThanOrEqual(last);
      last = luma;
    }
  });
});
