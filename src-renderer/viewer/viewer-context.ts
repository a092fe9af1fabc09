import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ViewerService, ViewerSnapshot } from './viewer-service';

/** The one viewer service of the window: the study list opens series into it, the viewer area shows it. */
export const ViewerContext = createContext<ViewerService | null>(null);

export function useViewer(): ViewerService {
  const v = useContext(ViewerContext);
  if (!v) throw new Error('useViewer outside the viewer provider');
  return v;
}

export function useViewerSnapshot(viewer: ViewerService): ViewerSnapshot {
  return useSyncExternalStore(viewer.subscribe, viewer.getSnapshot);
}
