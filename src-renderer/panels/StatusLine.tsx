import { useEffect, useState } from 'react';
import type { LoadedPack } from '../../src-shared/contracts/model';
import { useWorkstation } from '../app/workstation-context';

/** The bottom line: the pack actually loaded (not merely found on disk), the provider in use, the connection. */
export function StatusLine() {
  const { info, client } = useWorkstation();
  const [loaded, setLoaded] = useState<LoadedPack | null>(null);
  useEffect(() => {
    void client.model.status({}).then((r) => r.ok && setLoaded(r.value.loaded));
  }, [client, info]);
  if (!info) return <span>Reading workstation status…</span>;
  const usable = info.packs.filter((p) => !p.problem).length;
  return (
    <div className="status-line">
      <span data-testid="status-pack">
        Model: {loaded ? `${loaded.name} ${loaded.version}` : `none loaded (${usable} pack${usable === 1 ? '' : 's'} found)`}
        {loaded?.demonstration && <strong className="demo-tag"> — demonstration model, not for clinical use</strong>}
      </span>
      <span data-testid="status-provider">
        Execution: {(info.providers.inUse ?? info.providers.preferred).toUpperCase()}
        {info.providers.inUse ? '' : ' (no session loaded)'}
      </span>
      <span data-testid="status-transport">Connection: {client.transport === 'bridge' ? 'browser mode (loopback)' : 'desktop'}</span>
      <span title={info.dataDir}>Data: {info.dataDir}</span>
      <span>v{info.version}</span>
    </div>
  );
}
