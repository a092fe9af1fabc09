// Loaded with `node --import` into a process under test: records every outbound network attempt the
// process makes (TCP/IPC connect, UDP send/connect, DNS lookup) as JSON lines in $HEALTHGPT_NET_LOG.
// It records and lets the call proceed; the test decides what is allowed.
import dgram from 'node:dgram';
import dns from 'node:dns';
import { appendFileSync } from 'node:fs';
import net from 'node:net';
import process from 'node:process';

const logFile = process.env.HEALTHGPT_NET_LOG;
if (!logFile) throw new Error('net-recorder: HEALTHGPT_NET_LOG is not set');

function record(kind, detail) {
  appendFileSync(logFile, `${JSON.stringify({ kind, pid: process.pid, ...detail })}\n`);
}

function connectTarget(args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (first && typeof first === 'object') return { host: first.host ?? (first.path ? undefined : 'localhost'), port: first.port, path: first.path };
  if (typeof first === 'string' && Number.isNaN(Number(first))) return { path: first };
  return { host: typeof args[1] === 'string' ? args[1] : 'localhost', port: first };
}

const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function connect(...args) {
  record('tcp-connect', connectTarget(args));
  return originalConnect.apply(this, args);
};

const originalSend = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function send(...args) {
  const port = args.find((a, i) => i > 0 && typeof a === 'number' && a > 0 && a < 65536 && (typeof args[i + 1] === 'string' || args[i + 1] === undefined || typeof args[i + 1] === 'function'));
  const host = args.find((a, i) => i > 1 && typeof a === 'string');
  record('udp-send', { host: host ?? 'localhost', port });
  return originalSend.apply(this, args);
};
const originalUdpConnect = dgram.Socket.prototype.connect;
dgram.Socket.prototype.connect = function connect(port, address, ...rest) {
  record('udp-connect', { host: typeof address === 'string' ? address : 'localhost', port });
  return originalUdpConnect.call(this, port, address, ...rest);
};

const originalLookup = dns.lookup;
dns.lookup = function lookup(hostname, ...rest) {
  record('dns-lookup', { host: hostname });
  return originalLookup.call(this, hostname, ...rest);
};
const originalPromiseLookup = dns.promises.lookup;
dns.promises.lookup = function lookup(hostname, ...rest) {
  record('dns-lookup', { host: hostname });
  return originalPromiseLookup.call(this, hostname, ...rest);
};
