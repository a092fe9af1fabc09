import os from 'node:os';

/**
 * Which process is writing a run: host and pid, stored with the run (migration 4). At open a run still
 * 'running' is marked interrupted only when its process is gone: another process on this machine (the
 * CLI beside the app) may be writing it right now.
 */
export const RUN_OWNER = `${os.hostname()}:${process.pid}`;

/**
 * Whether the process that wrote a run may still be writing it. No owner (runs from before migration 4):
 * no process can be asked, so it is taken as gone. Another host: not knowable from here, so left alone.
 * A reused pid can make a dead writer look alive; the run then stays 'running' until a later open.
 */
export function runOwnerAlive(owner: string | null): boolean {
  if (!owner) return false;
  const colon = owner.lastIndexOf(':');
  const host = owner.slice(0, colon);
  const pid = Number(owner.slice(colon + 1));
  if (host !== os.hostname() || !Number.isInteger(pid) || pid <= 0) return host !== os.hostname();
  if (pid === process.pid) return true; // this process: a store reopened while one of its own runs is under way
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // it exists, under another user
  }
}
