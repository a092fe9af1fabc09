import { readFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import type { ModelImage } from './runtime';

/** Decodes a PNG (grey, grey+alpha, RGB, RGBA; 8 or 16 bit) to the model's 8-bit RGB input (alpha dropped). */
export function imageFromPng(bytes: Uint8Array): ModelImage {
  const png = PNG.sync.read(Buffer.from(bytes));
  const n = png.width * png.height;
  const data = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    data[i * 3] = png.data[i * 4]!;
    data[i * 3 + 1] = png.data[i * 4 + 1]!;
    data[i * 3 + 2] = png.data[i * 4 + 2]!;
  }
  return { rgb: { width: png.width, height: png.height, data }, pixelSpacing: null, window: null };
}

export function readPngImage(file: string): ModelImage {
  return imageFromPng(readFileSync(file));
}

/** 8-bit grey pixels (already windowed) -> model input. */
export function imageFromGray8(gray: Uint8Array, rows: number, cols: number, pixelSpacing?: [number, number] | null, window?: string | null): ModelImage {
  const data = new Uint8Array(rows * cols * 3);
  for (let i = 0; i < rows * cols; i++) data[i * 3] = data[i * 3 + 1] = data[i * 3 + 2] = gray[i]!;
  return { rgb: { width: cols, height: rows, data }, pixelSpacing: pixelSpacing ?? null, window: window ?? null };
}

/** Grey [0,1] float pixels -> 8-bit grey PNG bytes. */
export function grayToPng(pixels: Float32Array, rows: number, cols: number): Buffer {
  const png = new PNG({ width: cols, height: rows, colorType: 0, inputColorType: 0, bitDepth: 8, inputHasAlpha: false });
  const buf = Buffer.alloc(rows * cols);
  for (let i = 0; i < rows * cols; i++) buf[i] = Math.max(0, Math.min(255, Math.round(pixels[i]! * 255)));
  png.data = buf;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
}

