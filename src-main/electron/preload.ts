// The sandboxed preload, bundled to one CommonJS file (dist/main/preload.cjs) by scripts/build-electron.mjs,
// which inlines the channel table derived from src-shared/contracts as __HEALTHGPT_CHANNELS__.
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { PRELOAD_GLOBAL } from '../../src-shared/ipc/preload-api';
import { buildPreloadApi, type ChannelTable } from './preload-api-builder';

declare const __HEALTHGPT_CHANNELS__: ChannelTable;

contextBridge.exposeInMainWorld(PRELOAD_GLOBAL, {
  ...buildPreloadApi(
    {
      invoke: (channel, payload) => ipcRenderer.invoke(channel, payload),
      on: (channel, listener) => {
        ipcRenderer.on(channel, listener);
      },
      removeListener: (channel, listener) => {
        ipcRenderer.removeListener(channel, listener);
      },
    },
    __HEALTHGPT_CHANNELS__,
  ),
  /** The path of a file dropped on the window (drag-and-drop import); a File carries no path in the sandbox. */
  pathForFile: (file: File) => webUtils.getPathForFile(file),
});
