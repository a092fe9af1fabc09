import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import type { EventSink } from '../ipc/registry';
import type { Services } from '../services';
import { electronSenderInfo } from './sender-info';

/** The part of Electron's ipcMain this module uses (so a test can pass a recorder instead). */
export type IpcMainLike = Pick<IpcMain, 'handle' | 'removeHandler'>;
/** The part of a WebContents this module uses. */
export type WebContentsLike = Pick<WebContents, 'id' | 'send' | 'isDestroyed' | 'once' | 'mainFrame'>;
export type InvokeEventLike = Pick<IpcMainInvokeEvent, 'senderFrame'> & { sender: WebContentsLike };

/**
 * Serves every channel of the registry over Electron IPC. Each call carries who sent it (frame origin,
 * main frame or not) to the registry, which refuses anything but our own window's main frame. Events for
 * a window go only to that window; when it is destroyed its jobs are cancelled.
 */
export function wireIpc(ipcMain: IpcMainLike, services: Pick<Services, 'registry' | 'jobs'>): () => void {
  const sinks = new Map<number, EventSink>();

  const sinkFor = (contents: WebContentsLike): EventSink => {
    const existing = sinks.get(contents.id);
    if (existing) return existing;
    const sink: EventSink = {
      id: `window-${contents.id}`,
      send: (channel, payload) => {
        if (!contents.isDestroyed()) contents.send(channel, payload);
      },
      isAlive: () => !contents.isDestroyed(),
    };
    sinks.set(contents.id, sink);
    contents.once('destroyed', () => {
      sinks.delete(contents.id);
      services.jobs.cancelAllFor(sink.id);
    });
    return sink;
  };

  const channels = services.registry.channels();
  for (const channel of channels) {
    ipcMain.handle(channel, (event: InvokeEventLike, payload: unknown) => {
      const sender = electronSenderInfo(event.senderFrame, event.sender.mainFrame);
      return services.registry.dispatch(channel, payload, { sink: sinkFor(event.sender), sender });
    });
  }
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel);
  };
}
