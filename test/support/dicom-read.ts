import { readFileSync } from 'node:fs';
import dcmjs from 'dcmjs';

/** A DICOM file's attributes by keyword (dcmjs), pixel data included: what a test reads back from a written file. */
export function readDicom(file: string): Record<string, unknown> {
  const buf = readFileSync(file);
  const dict = dcmjs.data.DicomMessage.readFile(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer);
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict) as Record<string, unknown>;
}
