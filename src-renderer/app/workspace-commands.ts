/**
 * Commands one panel gives another (the history panel re-opens a case's series in the viewer panes; the
 * workflow opens a generated series on the right). A fixed, typed set, so panels stay decoupled.
 */
import type { PaneId } from '../viewer/pane-state';

export interface WorkspaceCommands {
  'open-series': { seriesUid: string; pane: PaneId; sliceIndex?: number };
}

type Handler<K extends keyof WorkspaceCommands> = (payload: WorkspaceCommands[K]) => void;

export class WorkspaceBus {
  private handlers = new Map<keyof WorkspaceCommands, Set<Handler<keyof WorkspaceCommands>>>();

  on<K extends keyof WorkspaceCommands>(command: K, handler: Handler<K>): () => void {
    const set = this.handlers.get(command) ?? new Set();
    set.add(handler as Handler<keyof WorkspaceCommands>);
    this.handlers.set(command, set);
    return () => set.delete(handler as Handler<keyof WorkspaceCommands>);
  }

  emit<K extends keyof WorkspaceCommands>(command: K, payload: WorkspaceCommands[K]): void {
    for (const h of this.handlers.get(command) ?? []) (h as Handler<K>)(payload);
  }
}
