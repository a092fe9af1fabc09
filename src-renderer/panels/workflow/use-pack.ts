import { useCallback, useEffect, useRef, useState } from 'react';
import type { LoadedPack, PackListing } from '../../../src-shared/contracts/model';
import { useWorkstation } from '../../app/workstation-context';
import { describeError } from './messages';

export interface PackState {
  loaded: LoadedPack | null;
  packs: PackListing[];
  /** Why a pack was refused when it was last loaded, by path. */
  refusals: Record<string, string>;
  busy: string | null;
  problem: string | null;
  /** True once the first status and listing came back. */
  ready: boolean;
  load(path: string): Promise<void>;
  unload(): Promise<void>;
  refresh(): Promise<void>;
}

/**
 * The model pack of the window: what is loaded, what can be loaded, why a pack was refused. On first
 * show, when none is loaded, the first listed pack without a manifest problem is loaded (the shipped
 * demonstration pack first), as the workflow service would on first use.
 */
export function usePack(): PackState {
  const { client, refreshInfo } = useWorkstation();
  const [loaded, setLoaded] = useState<LoadedPack | null>(null);
  const [packs, setPacks] = useState<PackListing[]>([]);
  const [refusals, setRefusals] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [ready, setReady] = useState(false);
  const autoTried = useRef(false);

  const refresh = useCallback(async () => {
    const [status, list] = await Promise.all([client.model.status({}), client.model.listPacks({})]);
    if (!status.ok) setProblem(describeError('Model status unavailable', status.error));
    else setLoaded(status.value.loaded);
    if (list.ok) setPacks(list.value);
    else if (status.ok) setProblem(describeError('Could not list model packs', list.error));
    setReady(true);
    return void 0;
  }, [client]);

  const load = useCallback(
    async (path: string) => {
      setBusy(path);
      setProblem(null);
      const r = await client.model.loadPack({ path, provider: 'auto' });
      setBusy(null);
      if (r.ok) {
        setLoaded(r.value);
        setRefusals((x) => {
          const { [path]: _gone, ...rest } = x;
          return rest;
        });
      } else {
        setRefusals((x) => ({ ...x, [path]: describeError('Refused', r.error) }));
        await refresh();
      }
      refreshInfo();
    },
    [client, refresh, refreshInfo],
  );

  const unload = useCallback(async () => {
    const r = await client.model.unloadPack({});
    if (!r.ok) setProblem(describeError('Could not unload the pack', r.error));
    setLoaded(null);
    refreshInfo();
  }, [client, refreshInfo]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  useEffect(() => {
    if (!ready || loaded || autoTried.current) return;
    autoTried.current = true;
    const first = packs.find((p) => !p.problem);
    if (first) void load(first.path);
  }, [ready, loaded, packs, load]);

  return { loaded, packs, refusals, busy, problem, ready, load, unload, refresh };
}
