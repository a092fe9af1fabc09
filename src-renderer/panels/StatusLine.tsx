import { useWorkstation } from '../app/workstation-context';

export function StatusLine() {
  const { info, client } = useWorkstation();
  if (!info) return <span>Reading workstation status…</span>;
  const pack = info.packs.find((p) => !p.problem);
  return (
    <div className="status-line">
      <span data-testid="status-pack">
        Model: {pack ? `${pack.name} ${pack.version}` : 'no model pack'}
        {pack?.demonstration && <strong className="demo-tag"> — demonstration model, not for clinical use</strong>}
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
