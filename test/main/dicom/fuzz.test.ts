/**
 * Mutation fuzzing: >= 10,000 mutated copies of real fixtures (bit flips, truncations, element length
 * lies, huge lengths, zeroed and garbage runs) go through the same worker the app uses, each with a time
 * limit. Zero crashes (worker death), zero hangs (time limit hit), and every file gets a result or a
 * classified error with a message.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dicomParser } from '../../../src-main/dicom/dicom-parser-lib';
import { DicomWorkerClient, WorkerRequestError } from '../../../src-main/dicom/worker-client';
import { PYDICOM_FILES } from './fixtures';
import { absurdFrameCountFile, deflateBombFile, dicomFile, imageElements, writeSparseBigFile } from './hostile-files';
import { mulberry32 } from '../../support/prng';

const SEEDS = [
  'MR_small.dcm',
  'MR_small_implicit.dcm',
  'MR_small_bigendian.dcm',
  'MR_small_RLE.dcm',
  'MR_small_jpeg_ls_lossless.dcm',
  'MR_small_jp2klossless.dcm',
  'CT_small.dcm',
  'image_dfl.dcm',
  'SC_rgb_jpeg_dcmtk.dcm',
  'SC_rgb_jpeg_gdcm.dcm',
  'SC_rgb_rle_2frame.dcm',
  'SC_ybr_full_422_uncompressed.dcm',
  'ExplVR_BigEnd.dcm',
  'rtdose.dcm',
  'JPEG2000.dcm',
];
/** The hostile files of issue #14, made at test time, as seeds too: their mutants must fail as cleanly. */
const HOSTILE_SEEDS: Array<{ name: string; bytes: () => Uint8Array }> = [
  { name: 'hostile:frames-999999999999', bytes: absurdFrameCountFile },
  { name: 'hostile:deflate-bomb-64MiB', bytes: () => deflateBombFile(64) },
  { name: 'hostile:rescale-slope-1e308', bytes: () => dicomFile(imageElements({ rescaleSlope: '1e308' })) },
];
const MUTANTS = 10_000;
const PER_FILE_MS = 5_000;


/** Offsets of the length fields of every top-level element (for length lies). */
function lengthFields(bytes: Uint8Array): Array<{ at: number; size: 2 | 4 }> {
  try {
    const ds = dicomParser.parseDicom(bytes);
    const out: Array<{ at: number; size: 2 | 4 }> = [];
    for (const el of Object.values(ds.elements)) {
      if (el.dataOffset < 8 || ds.byteArray !== bytes) continue;
      const shortVr = el.vr && !['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'UC', 'UR', 'OD', 'OL', 'OV'].includes(el.vr);
      out.push(shortVr ? { at: el.dataOffset - 2, size: 2 } : { at: el.dataOffset - 4, size: 4 });
    }
    return out;
  } catch {
    return [];
  }
}

function mutate(seed: Uint8Array, fields: Array<{ at: number; size: 2 | 4 }>, r: () => number): { bytes: Uint8Array; kind: string } {
  const kind = ['bitflip', 'truncate', 'length-lie', 'huge-length', 'zero-run', 'garbage-run', 'multi'][Math.floor(r() * 7)]!;
  const pick = (n: number) => Math.floor(r() * n);
  const apply = (b: Uint8Array, k: string): Uint8Array => {
    switch (k) {
      case 'bitflip': {
        if (b.length === 0) return b;
        const flips = 1 + pick(16);
        for (let i = 0; i < flips; i += 1) {
          const at = pick(b.length);
          b[at] = (b[at] ?? 0) ^ (1 << pick(8));
        }
        return b;
      }
      case 'truncate':
        return b.slice(0, pick(b.length));
      case 'length-lie':
      case 'huge-length': {
        const f = fields[pick(fields.length)];
        if (!f || f.at + f.size > b.length) return apply(b, 'bitflip');
        const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
        if (f.size === 2) view.setUint16(f.at, k === 'huge-length' ? 0xffff : pick(0x10000), true);
        else view.setUint32(f.at, k === 'huge-length' ? [0xffffffff, 0x7fffffff, 0xfffffff0, 0x80000000][pick(4)]! : pick(b.length * 2), true);
        return b;
      }
      case 'zero-run':
      case 'garbage-run': {
        const at = pick(b.length);
        const len = Math.min(b.length - at, 1 + pick(512));
        for (let i = 0; i < len; i += 1) b[at + i] = k === 'zero-run' ? 0 : pick(256);
        return b;
      }
      default: {
        let out = b;
        for (let i = 0; i < 3; i += 1) out = apply(out, ['bitflip', 'length-lie', 'garbage-run', 'truncate'][pick(4)]!);
        return out;
      }
    }
  };
  return { bytes: apply(new Uint8Array(seed), kind), kind };
}

const client = new DicomWorkerClient(PER_FILE_MS);
afterAll(() => client.close());

describe('mutation fuzzing of the DICOM reader', () => {
  it(`survives ${MUTANTS} mutated files without a crash or a hang`, async () => {
    const seeds = [
      ...SEEDS.map((name) => ({ name, bytes: new Uint8Array(readFileSync(path.join(PYDICOM_FILES, name))) })),
      ...HOSTILE_SEEDS.map((h) => ({ name: h.name, bytes: h.bytes() })),
    ].map((s) => ({ ...s, fields: lengthFields(s.bytes) }));
    const r = mulberry32(20261126);
    const outcomes = new Map<string, number>();
    const crashes: string[] = [];
    const hangs: string[] = [];
    const unclassified: string[] = [];
    for (let i = 0; i < MUTANTS; i += 1) {
      const seed = seeds[i % seeds.length]!;
      const { bytes, kind } = mutate(seed.bytes, seed.fields, r);
      const name = `${seed.name}#${i}:${kind}`;
      try {
        const res = await client.request({ type: 'probe-bytes', name, bytes });
        if (res.type !== 'probe') {
          unclassified.push(`${name}: ${res.type}`);
          continue;
        }
        const e = res.entry;
        const key = e.ok ? (e.min === null ? 'ok: no pixels' : 'ok: decoded') : `error: ${e.problem}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        if (!e.ok && !(e.problem && e.error && e.error.length > 10)) unclassified.push(`${name}: ${e.error}`);
      } catch (err) {
        if (err instanceof WorkerRequestError && err.problem === 'timeout') hangs.push(name);
        else crashes.push(`${name}: ${String(err)}`);
      }
    }
    console.log(`fuzz outcomes over ${MUTANTS} mutants:`, Object.fromEntries([...outcomes].sort()));
    expect(hangs, `hangs: ${hangs.slice(0, 10).join(', ')}`).toEqual([]);
    expect(crashes, `crashes: ${crashes.slice(0, 10).join('\n')}`).toEqual([]);
    expect(unclassified.slice(0, 10)).toEqual([]);
    expect([...outcomes.values()].reduce((a, b) => a + b, 0)).toBe(MUTANTS);
  }, 600_000);

  it('gives each hostile file of issue #14 a classified error, and the worker survives them', async () => {
    const cases: Array<{ name: string; bytes: Uint8Array; problem: string }> = [
      { name: 'frames-999999999999', bytes: absurdFrameCountFile(), problem: 'wrong-pixel-length' },
      { name: 'deflate-bomb-1000MiB', bytes: deflateBombFile(1000), problem: 'too-large' },
      { name: 'rescale-slope-1e308', bytes: dicomFile(imageElements({ rescaleSlope: '1e308' })), problem: 'decode-failed' },
    ];
    for (const c of cases) {
      const res = await client.request({ type: 'probe-bytes', name: c.name, bytes: c.bytes });
      expect(res.type, c.name).toBe('probe');
      if (res.type === 'probe') expect(res.entry, c.name).toMatchObject({ ok: false, problem: c.problem });
    }
    // A sparse 1.9 GB file is read from disk (it is never held in memory): refused by its size.
    const dir = mkdtempSync(path.join(tmpdir(), 'fuzz-sparse-'));
    try {
      const file = path.join(dir, 'sparse.dcm');
      writeSparseBigFile(file, 1.9e9);
      const res = await client.request({ type: 'probe', path: file });
      expect(res).toMatchObject({ type: 'error', problem: 'too-large' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The same worker still answers.
    const after = await client.request({ type: 'probe-bytes', name: 'good', bytes: dicomFile(imageElements()) });
    expect(after.type === 'probe' && after.entry.ok).toBe(true);
  }, 120_000);
});
