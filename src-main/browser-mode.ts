import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PROJECT_ROOT } from './shell/app-info';
import { contentSecurityPolicy } from './shell/content-security-policy';
import { startLoopbackBridge, type LoopbackBridge } from './ipc/loopback-bridge';
import { createServices, type ServiceOptions, type Services } from './services';
import { rendererFileFor } from './shell/renderer-files';


export interface BrowserModeOptions extends Omit<ServiceOptions, 'mode'> {
  port?: number;
  rendererDir?: string;
}

export interface BrowserMode {
  services: Services;
  bridge: LoopbackBridge;
  server: Server;
  /** The page to open: the bridge address and token travel in the fragment, never to the server. */
  url: string;
  close(): Promise<void>;
}

/**
 * Browser mode: the real main-process services under Node, served to a normal browser through the
 * loopback bridge, with the built renderer served as static files from 127.0.0.1.
 */
export async function startBrowserMode(options: BrowserModeOptions = {}): Promise<BrowserMode> {
  const rendererDir = path.resolve(options.rendererDir ?? path.join(PROJECT_ROOT, 'dist', 'renderer'));
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    throw new Error(`The renderer is not built (${rendererDir}/index.html missing): run \`npm run build:renderer\` first.`);
  }
  const services = await createServices({ ...options, mode: 'browser' });
  // As the desktop app does when its window shows: start the DICOM workers before the first import.
  void services.dicom.warm();
  let origin = '';
  const server = createServer((req, res) => {
    const headers = {
      'Content-Security-Policy': contentSecurityPolicy({ bridgeOrigin: origin.replace(/^http/, 'ws') }),
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
      'Cross-Origin-Opener-Policy': 'same-origin',
    };
    const refuse = (status: number, reason: string) => res.writeHead(status, { ...headers, 'Content-Type': 'text/plain' }).end(reason);
    try {
      if (req.method !== 'GET') return refuse(405, 'method not allowed');
      let pathname: string;
      try {
        pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
      } catch {
        return refuse(400, 'malformed URL');
      }
      const target = rendererFileFor(pathname, rendererDir);
      if (target.status !== 200) return refuse(target.status, target.reason);
      if (!existsSync(target.file) || !statSync(target.file).isFile()) return refuse(404, 'not found');
      res.writeHead(200, { ...headers, 'Content-Type': target.contentType });
      createReadStream(target.file)
        .on('error', () => res.destroy())
        .pipe(res);
    } catch {
      // Whatever one request does, the server (and the services behind it) stay up.
      if (!res.headersSent) refuse(500, 'internal error');
      else res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  origin = `http://127.0.0.1:${port}`;
  const bridge = await startLoopbackBridge({ registry: services.registry, jobs: services.jobs, server, allowedOrigins: () => [origin] });
  const url = `${origin}/#bridge=${encodeURIComponent(`ws://127.0.0.1:${port}/bridge`)}&token=${encodeURIComponent(bridge.token)}`;
  return {
    services,
    bridge,
    server,
    url,
    async close() {
      await bridge.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await services.close();
    },
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const portArg = args.indexOf('--port');
  const dataArg = args.indexOf('--data-dir');
  const exportArg = args.indexOf('--export-dir');
  const mode = await startBrowserMode({
    port: portArg >= 0 ? Number(args[portArg + 1]) : 0,
    dataDir: dataArg >= 0 ? args[dataArg + 1] : undefined,
    exportDir: exportArg >= 0 ? args[exportArg + 1] : undefined,
  });
  process.stdout.write(`HealthGPT Workstation (browser mode)\nOpen: ${mode.url}\nData folder: ${mode.services.dataDir}\nExports: ${mode.services.exports.folder}\nCtrl+C to stop.\n`);
  const stop = () => void mode.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: unknown) => {
    process.stderr.write(`browser mode failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
