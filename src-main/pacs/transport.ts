/**
 * What the PacsService needs from a node, whatever protocol it speaks: DICOMweb (QIDO/WADO/STOW-RS) or
 * DIMSE (C-ECHO/C-FIND/C-MOVE or C-GET/C-STORE). Retrieved instances arrive as Part 10 bytes either way.
 */
import type { PacsFindQuery, PacsFindResult } from '../../src-shared/contracts/pacs';
import { DicomWebClient } from './dicomweb';
import { DimseClient } from './dimse';
import type { PacsNodeConfig } from './pacs-nodes';

export interface PacsTransport {
  readonly node: PacsNodeConfig;
  /** What a successful echo proved, in words. */
  readonly echoMessage: string;
  echo(signal?: AbortSignal): Promise<void>;
  find(query: PacsFindQuery, signal?: AbortSignal): Promise<PacsFindResult[]>;
  seriesUids(studyUid: string, signal?: AbortSignal): Promise<string[]>;
  instanceUids(studyUid: string, seriesUid: string, signal?: AbortSignal): Promise<string[]>;
  /** The series' instances as they arrive (only the listed ones when `only` is given: a resume). */
  instances(studyUid: string, seriesUid: string, only: string[] | null, signal: AbortSignal): AsyncIterable<Uint8Array>;
}

async function* dicomWebInstances(client: DicomWebClient, studyUid: string, seriesUid: string, only: string[] | null, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const base = `studies/${studyUid}/series/${seriesUid}`;
  // The whole series in one response, or (resuming) one request per missing instance.
  for (const relative of only ? only.map((sop) => `${base}/instances/${sop}`) : [base]) {
    for await (const part of client.retrieve(relative, signal)) yield part.body;
    if (signal.aborted) return;
  }
}

export function transportFor(node: PacsNodeConfig): PacsTransport {
  if (node.protocol === 'dimse') {
    const client = new DimseClient(node);
    return {
      node,
      echoMessage: 'C-ECHO answered',
      echo: (signal) => client.echo(signal),
      find: (q, signal) => client.find(q, signal),
      seriesUids: (study, signal) => client.seriesUids(study, signal),
      instanceUids: (study, series, signal) => client.instanceUids(study, series, signal),
      instances: (study, series, only, signal) => client.retrieve(study, series, only, signal),
    };
  }
  const client = new DicomWebClient(node);
  return {
    node,
    echoMessage: 'DICOMweb search answered',
    echo: (signal) => client.echo(signal),
    find: (q, signal) => client.find(q, signal),
    seriesUids: (study, signal) => client.seriesUids(study, signal),
    instanceUids: (study, series, signal) => client.instanceUids(study, series, signal),
    instances: (study, series, only, signal) => dicomWebInstances(client, study, series, only, signal),
  };
}
