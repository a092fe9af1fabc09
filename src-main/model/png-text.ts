/**
 * Text chunks in a PNG: the "AI-generated" marking a generated image carries wherever the file goes
 * (PNG spec 11.3.4: iTXt, UTF-8, uncompressed). Written right after IHDR, so a reader meets them before
 * the image data; read back for tests and checks.
 */
import { crc32 } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** Keyword: 1–79 Latin-1 characters (the PNG rule); text: any UTF-8. */
function itxt(keyword: string, text: string): Buffer {
  if (!/^[\x20-\x7e]{1,79}$/.test(keyword)) throw new Error(`not a PNG text keyword: ${keyword}`);
  // keyword \0, compression flag 0, method 0, empty language tag \0, empty translated keyword \0, text
  return chunk('iTXt', Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0, 0, 0, 0, 0]), Buffer.from(text, 'utf8')]));
}

/** The PNG with one iTXt chunk per entry inserted after its IHDR chunk. */
export function withPngText(png: Uint8Array, entries: Record<string, string>): Buffer {
  const bytes = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  if (!bytes.subarray(0, 8).equals(SIGNATURE) || bytes.toString('latin1', 12, 16) !== 'IHDR') throw new Error('not a PNG');
  const afterHeader = 8 + 12 + bytes.readUInt32BE(8);
  return Buffer.concat([bytes.subarray(0, afterHeader), ...Object.entries(entries).map(([k, v]) => itxt(k, v)), bytes.subarray(afterHeader)]);
}

/** Every tEXt and uncompressed iTXt entry of a PNG, by keyword. */
export function readPngText(png: Uint8Array): Record<string, string> {
  const bytes = Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  const out: Record<string, string> = {};
  let at = 8;
  while (at + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    const data = bytes.subarray(at + 8, at + 8 + length);
    const nul = data.indexOf(0);
    if (type === 'tEXt' && nul > 0) out[data.toString('latin1', 0, nul)] = data.toString('latin1', nul + 1);
    if (type === 'iTXt' && nul > 0 && data[nul + 1] === 0) {
      const language = data.indexOf(0, nul + 3);
      const translated = data.indexOf(0, language + 1);
      out[data.toString('latin1', 0, nul)] = data.toString('utf8', translated + 1);
    }
    if (type === 'IEND') break;
    at += 12 + length;
  }
  return out;
}

/** The marking of an AI-generated image: what made it, from what, and that it is not for diagnosis. */
export function aiGeneratedPngText(m: { appName: string; appVersion: string; packName: string; packVersion: string; task: string; runId: string; demonstration: boolean }): Record<string, string> {
  return {
    Software: `${m.appName} ${m.appVersion}`,
    Source: `model pack ${m.packName} ${m.packVersion}`,
    Description: `AI-generated image: task ${m.task}, run ${m.runId}, by ${m.packName} ${m.packVersion}${m.demonstration ? ' (demonstration model, not for clinical use)' : ''}.`,
    Warning: 'AI-generated — not for diagnosis',
  };
}
