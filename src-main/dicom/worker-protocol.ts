/** Numbered, typed messages between the main process and the DICOM worker (dicom-worker.ts). */
import type { FileProblem, PixelArray, ProbeEntry } from '../../src-shared/contracts/dicom';
import type { InstanceMeta } from './parse';

export interface ScanOk {
  path: string;
  status: 'ok';
  meta: InstanceMeta;
  /** A plain image (PNG, JPEG, TIFF): the secondary-capture file written for it, which the index reads. */
  storedPath?: string;
  /** A plain image: what it was and how it was stored, for the import report. */
  note?: string;
}
export interface ScanSkipped {
  path: string;
  status: 'skipped';
  problem: FileProblem;
  message: string;
  /** Files a DICOMDIR refers to (absolute paths), to import next. */
  referencedFiles?: string[];
  /** DICOMDIR entries refused (links, paths leaving its folder), each with its message. */
  refusedReferences?: Array<{ path: string; message: string }>;
}
export interface ScanFailed {
  path: string;
  status: 'error';
  problem: FileProblem;
  message: string;
}
export type ScanResult = ScanOk | ScanSkipped | ScanFailed;

export interface DecodedFrameMessage {
  meta: InstanceMeta;
  pixels: PixelArray;
  color: boolean;
  modalityApplied: boolean;
  min: number;
  max: number;
}

export type WorkerRequest =
  /** noFollow: a file found in a folder or a DICOMDIR; a link there is refused, not followed. */
  | { id: number; type: 'scan'; path: string; noFollow?: boolean; plainImageDir?: string }
  | { id: number; type: 'decode'; path: string; frame: number }
  | { id: number; type: 'probe'; path: string }
  /** Probe bytes already in memory (the mutation fuzz test). */
  | { id: number; type: 'probe-bytes'; name: string; bytes: Uint8Array };

export type WorkerResponse =
  | { id: number; type: 'scan'; result: ScanResult }
  | { id: number; type: 'decode'; frame: DecodedFrameMessage }
  | { id: number; type: 'probe'; entry: ProbeEntry }
  | { id: number; type: 'error'; problem: FileProblem; message: string };
