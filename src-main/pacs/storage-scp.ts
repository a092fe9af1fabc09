/**
 * Our own DICOM Storage SCP, the destination of a C-MOVE: it accepts associations only from the peers'
 * AE titles and only addressed to our AE title, takes each C-STORE's data set as raw bytes (streamed, never
 * re-encoded), wraps it as a Part 10 file and hands it on. An object that is not a readable DICOM data set
 * of the announced SOP instance is answered with a failure status and dropped; the SCP stays up.
 */
import { Writable } from 'node:stream';
import dimse from 'dcmjs-dimse';
import { pacsErrorCodes } from '../../src-shared/contracts/pacs';
import { DomainError } from '../../src-shared/ipc/envelope';
import { checkInstance } from './local-store';
import { toPart10 } from './part10';
import { MAX_INSTANCE_BYTES } from './dicomweb';

const { Scp, Server, Dataset } = dimse;
const { CEchoResponse, CStoreResponse } = dimse.responses;
const { Status, PresentationContextResult, RejectResult, RejectSource, RejectReason, TransferSyntax } = dimse.constants;
type Association = InstanceType<typeof dimse.association.Association>;
type PresentationContext = InstanceType<typeof dimse.association.PresentationContext>;
type CStoreRequest = InstanceType<typeof dimse.requests.CStoreRequest>;

// The library logs every PDU at info level to the console; our own messages say what went wrong.
dimse.log.setLevel('silent');

/** Transfer syntaxes we prefer, in order; any other one the peer proposes (compressed) is accepted as is. */
const PREFERRED_SYNTAXES = [TransferSyntax.ExplicitVRLittleEndian, TransferSyntax.ImplicitVRLittleEndian];
/** Deflate and big endian are retired or rare and our decoder reads neither. */
const REFUSED_SYNTAXES = new Set([TransferSyntax.DeflatedExplicitVRLittleEndian, TransferSyntax.ExplicitVRBigEndian]);
/** Status "Cannot understand" (PS3.4 B.2.3): the data set did not parse or did not match its command. */
const CANNOT_UNDERSTAND = 0xc000;
/** Status "Out of resources": an object over our size limit. */
const OUT_OF_RESOURCES = 0xa700;

export interface ReceivedInstance {
  /** The Part 10 file. */
  bytes: Buffer;
  sopInstanceUid: string;
  callingAet: string;
}

export interface StorageScpOptions {
  port: number;
  /** Our AE title: associations addressed to another are refused. */
  aeTitle: string;
  /** Calling AE titles accepted (the configured peers). */
  peers: string[];
  /** Takes a received instance; false: nobody expects it (answered as refused, not kept). */
  onInstance(instance: ReceivedInstance): boolean | void;
  /** An object refused (not DICOM, not the announced instance, too large): counted by the caller. */
  onRefused?(reason: string): void;
  /** An association refused (unknown AE title). */
  onRejected?(callingAet: string, calledAet: string): void;
  /**
   * DICOM TLS: our certificate and key, and the CA the peer's client certificate must be signed by (a
   * peer without one is refused in the handshake). Absent: plain DIMSE.
   */
  tls?: { ca: Buffer; cert: Buffer; key: Buffer };
}

interface Incoming {
  chunks: Buffer[];
  size: number;
  transferSyntaxUid: string;
  tooLarge: boolean;
}

/** The per-connection SCP; the options arrive through the library's customOptions. */
class StorageScpConnection extends Scp {
  private association: Association | undefined;
  private readonly options: StorageScpOptions;
  private readonly incoming = new WeakMap<object, Incoming>();

  constructor(socket: ConstructorParameters<typeof Scp>[0], opts: ConstructorParameters<typeof Scp>[1]) {
    super(socket, opts);
    this.options = (opts?.customOptions as { storage: StorageScpOptions }).storage;
  }

  override associationRequested(association: Association): void {
    this.association = association;
    const calling = association.getCallingAeTitle().trim();
    const called = association.getCalledAeTitle().trim();
    if (!this.options.peers.some((p) => p.trim() === calling)) {
      this.options.onRejected?.(calling, called);
      this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeNotRecognized);
      return;
    }
    if (called !== this.options.aeTitle.trim()) {
      this.options.onRejected?.(calling, called);
      this.sendAssociationReject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeNotRecognized);
      return;
    }
    for (const { id } of association.getPresentationContexts()) {
      const context = association.getPresentationContext(id);
      const proposed = context.getTransferSyntaxUids();
      const chosen = PREFERRED_SYNTAXES.find((ts) => proposed.includes(ts)) ?? proposed.find((ts) => !REFUSED_SYNTAXES.has(ts));
      if (!chosen) context.setResult(PresentationContextResult.RejectTransferSyntaxesNotSupported);
      else context.setResult(PresentationContextResult.Accept, chosen);
    }
    this.sendAssociationAccept();
  }

  override associationReleaseRequested(): void {
    this.sendAssociationReleaseResponse();
  }

  /** A peer's A-ABORT ends its connection at once (the library's default only logs it, leaving the peer waiting). */
  override abort(): void {
    (this as unknown as { socket?: { destroy(): void } }).socket?.destroy();
  }

  override cEchoRequest(request: InstanceType<typeof dimse.requests.CEchoRequest>, callback: (r: InstanceType<typeof CEchoResponse>) => void): void {
    const response = CEchoResponse.fromRequest(request);
    response.setStatus(Status.Success);
    callback(response);
  }

  /** The data set's bytes go to memory as they arrive (bounded), not through the library's parser. */
  override createStoreWritableStream(context: PresentationContext, request: CStoreRequest): Writable {
    const entry: Incoming = { chunks: [], size: 0, transferSyntaxUid: context.getAcceptedTransferSyntaxUid() ?? '', tooLarge: false };
    this.incoming.set(request, entry);
    return new Writable({
      write(chunk: Buffer, _encoding, done) {
        entry.size += chunk.length;
        if (entry.size > MAX_INSTANCE_BYTES) {
          entry.tooLarge = true;
          entry.chunks = [];
        } else if (!entry.tooLarge) entry.chunks.push(chunk);
        done();
      },
    });
  }

  override createDatasetFromStoreWritableStream(writable: Writable, _context: PresentationContext, callback: (dataset: InstanceType<typeof Dataset>) => void): void {
    // The request keeps an empty data set: the bytes stay in `incoming` and are checked in cStoreRequest.
    const finish = () => callback(new Dataset({}));
    if (writable.writableFinished) finish();
    else writable.once('finish', finish);
  }

  override cStoreRequest(request: CStoreRequest, callback: (r: InstanceType<typeof CStoreResponse>) => void): void {
    const response = CStoreResponse.fromRequest(request);
    const entry = this.incoming.get(request);
    this.incoming.delete(request);
    const refuse = (status: number, reason: string) => {
      this.options.onRefused?.(reason);
      response.setStatus(status);
      response.setErrorComment(reason.slice(0, 64));
      callback(response);
    };
    if (!entry) return refuse(CANNOT_UNDERSTAND, 'no data set');
    if (entry.tooLarge) return refuse(OUT_OF_RESOURCES, 'object too large');
    const sopInstanceUid = request.getAffectedSopInstanceUid();
    const bytes = toPart10(Buffer.concat(entry.chunks), {
      sopClassUid: request.getAffectedSopClassUid(),
      sopInstanceUid,
      transferSyntaxUid: entry.transferSyntaxUid,
      sourceAet: this.association?.getCallingAeTitle() ?? '',
    });
    const checked = checkInstance(bytes);
    if ('refused' in checked) return refuse(CANNOT_UNDERSTAND, checked.refused);
    if (checked.sopInstanceUid !== sopInstanceUid) return refuse(CANNOT_UNDERSTAND, 'data set is not the announced SOP instance');
    if (this.options.onInstance({ bytes, sopInstanceUid, callingAet: this.association?.getCallingAeTitle().trim() ?? '' }) === false) return refuse(CANNOT_UNDERSTAND, 'no retrieve expects this instance');
    response.setStatus(Status.Success);
    callback(response);
  }
}

export class StorageScp {
  private constructor(private readonly server: InstanceType<typeof Server>) {}

  /** Listens on the port (every interface: the PACS connects from its own host); fails clearly when the port is taken. */
  static async start(options: StorageScpOptions): Promise<StorageScp> {
    const server = new Server(StorageScpConnection as unknown as typeof Scp);
    // A connection that breaks (a peer's abort, garbage on the wire) ends that connection only.
    server.on('networkError', () => {});
    await new Promise<void>((resolve, reject) => {
      const securityOptions = options.tls ? { ...options.tls, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' } : undefined;
      server.listen(options.port, { customOptions: { storage: options }, connectTimeout: 30_000, associationTimeout: 30_000, pduTimeout: 60_000, ...(securityOptions ? { securityOptions } : {}) });
      const net = (server as unknown as { server: import('node:net').Server }).server;
      net.once('listening', () => resolve());
      net.once('error', (e: NodeJS.ErrnoException) =>
        reject(new DomainError(pacsErrorCodes.badSettings, `Our Storage SCP cannot listen on port ${options.port} (${e.code ?? e.message}); another program (or another retrieve) uses it.`)),
      );
    });
    return new StorageScp(server);
  }

  close(): void {
    this.server.close();
  }
}

interface SharedScp {
  scp: Promise<StorageScp>;
  aeTitle: string;
  /** 'plain', or the TLS files it listens with: a retrieve needing another mode needs another port. */
  mode: string;
  /** The calling AE titles accepted: the peers of every retrieve using this SCP (the SCP reads this list live). */
  peers: string[];
  /** Series UID → the retrieves waiting for its instances. */
  routes: Map<string, Set<(bytes: Buffer) => void>>;
  users: number;
}

const shared = new Map<number, SharedScp>();

/**
 * A share of the Storage SCP on a port for one retrieve: several retrieves at once (two studies selected)
 * use one listener, each receiving the instances of its own series. The last release closes it.
 */
export async function leaseStorageScp(
  port: number,
  aeTitle: string,
  peer: string,
  seriesUid: string,
  onInstance: (bytes: Buffer) => void,
  tls?: { mode: string; ca: Buffer; cert: Buffer; key: Buffer },
): Promise<{ release(): void }> {
  let entry = shared.get(port);
  if (entry && entry.aeTitle.trim() !== aeTitle.trim()) {
    throw new DomainError(pacsErrorCodes.badSettings, `Port ${port} already serves our Storage SCP as "${entry.aeTitle}"; a node calling as "${aeTitle}" needs another storePort.`);
  }
  const mode = tls?.mode ?? 'plain';
  if (entry && entry.mode !== mode) {
    throw new DomainError(pacsErrorCodes.badSettings, `Port ${port} already serves our Storage SCP ${entry.mode === 'plain' ? 'in plain DIMSE' : 'over DICOM TLS with other certificates'}; this node needs another storePort.`);
  }
  if (!entry) {
    const created: SharedScp = { aeTitle, mode, peers: [], routes: new Map(), users: 0, scp: Promise.resolve(null as unknown as StorageScp) };
    created.scp = StorageScp.start({
      port,
      aeTitle,
      peers: created.peers,
      ...(tls ? { tls: { ca: tls.ca, cert: tls.cert, key: tls.key } } : {}),
      onInstance: (i) => {
        const checked = checkInstance(i.bytes);
        const takers = 'refused' in checked ? undefined : created.routes.get(checked.seriesUid);
        if (!takers?.size) return false;
        for (const take of takers) take(i.bytes);
        return true;
      },
    });
    entry = created;
    shared.set(port, entry);
  }
  const current = entry;
  current.users += 1;
  current.peers.push(peer);
  const takers = current.routes.get(seriesUid) ?? new Set();
  current.routes.set(seriesUid, takers);
  takers.add(onInstance);
  const release = () => {
    takers.delete(onInstance);
    if (takers.size === 0) current.routes.delete(seriesUid);
    current.peers.splice(current.peers.indexOf(peer), 1);
    current.users -= 1;
    if (current.users === 0) {
      shared.delete(port);
      void current.scp.then((scp) => scp.close(), () => {});
    }
  };
  try {
    await current.scp;
  } catch (e) {
    release();
    throw e;
  }
  return { release };
}
