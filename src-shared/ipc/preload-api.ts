import type { Contracts, DomainName } from '../contracts';
import type { RequestOf } from './define';

/**
 * What the Electron preload exposes on `window.healthgpt`: one named function per operation (never
 * ipcRenderer), returning the raw {ok} envelope, plus a subscription limited to the allowlisted event
 * channels. Derived from the contracts, so it cannot drift from them.
 */
export type PreloadApi = {
  [D in DomainName]: { [O in keyof Contracts[D]]: (request: RequestOf<Contracts[D][O]>) => Promise<unknown> };
} & {
  subscribe(eventChannel: string, listener: (payload: unknown) => void): () => void;
  /** Electron only: the file-system path of a dropped file (webUtils.getPathForFile). */
  pathForFile?: (file: never) => string;
};

export const PRELOAD_GLOBAL = 'healthgpt';
