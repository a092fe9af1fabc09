/**
 * Domain `pacs`: query and retrieve studies from a hospital PACS and send generated series back.
 *
 * Nodes are configured in main only (the data folder's `pacs-nodes.json`, and the machine policy that may
 * pin or forbid nodes); a window names a node by its `name` and never sees its credentials: `listNodes`
 * answers whether a node has credentials, not what they are.
 *
 * A node speaks DICOMweb (QIDO-RS / WADO-RS / STOW-RS over http(s)) or DIMSE (C-ECHO, C-FIND, C-MOVE to our
 * own Storage SCP or C-GET, C-STORE); the operations below are the same for both.
 *
 * - `find` searches studies, or the series of one study, with the filters below.
 * - `retrieve` starts a job (progress: instances stored / expected; cancel with `jobs:cancel`) that writes
 *   each instance into the local store (`<data>/pacs/<study>/<series>/<sop>.dcm`, written whole then
 *   renamed) and imports it, so the viewer can open the series while it is still arriving. A retrieve that
 *   ends early (peer gone, cancelled) leaves a series marked `partial`; retrieving it again fetches only
 *   the instances not yet stored. The final result is a `RetrieveReport`.
 * - `send` (STOW-RS or C-STORE) sends the files of an imported series (e.g. a generated one) to the node.
 */
import { z } from 'zod';
import { operation } from '../ipc/define';
import { jobStartedSchema } from './jobs';

export const pacsErrorCodes = {
  unknownNode: 'PACS_UNKNOWN_NODE',
  forbiddenNode: 'PACS_NODE_FORBIDDEN',
  unreachable: 'PACS_UNREACHABLE',
  authFailed: 'PACS_AUTH_FAILED',
  peerError: 'PACS_PEER_ERROR',
  badResponse: 'PACS_BAD_RESPONSE',
  badSettings: 'PACS_BAD_SETTINGS',
  nothingToSend: 'PACS_NOTHING_TO_SEND',
  sendRejected: 'PACS_SEND_REJECTED',
  associationRejected: 'PACS_ASSOCIATION_REJECTED',
  /** DICOM TLS could not be set up with the peer (its certificate does not verify, or it does not speak TLS): never a plaintext fallback. */
  tlsFailed: 'PACS_TLS_FAILED',
} as const;

/** A DICOM UID: digits and dots, at most 64 characters (also safe as a file name). */
export const dicomUidSchema = z.string().regex(/^[0-9]+(\.[0-9]+)*$/, 'not a DICOM UID').max(64);

const authSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z.object({ type: z.literal('basic'), username: z.string().min(1).max(256), password: z.string().max(1024) }).strict(),
  z.object({ type: z.literal('bearer'), token: z.string().min(1).max(8192) }).strict(),
]);

const nodeName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (at most 64)');
/** Per-request time limit (connect and each read). */
const timeoutMs = z.number().int().min(100).max(600_000).default(30_000);
/** A DICOM AE title: 1–16 characters of the default repertoire, no backslash, not only spaces. */
export const aeTitleSchema = z.string().regex(/^[\x20-\x5b\x5d-\x7e]{1,16}$/, 'an AE title: 1 to 16 printable characters, no backslash').refine((t) => t.trim().length > 0, 'an AE title cannot be blank');
/** A host name or IPv4/IPv6 address (no scheme, no port). */
const hostSchema = z.string().regex(/^[A-Za-z0-9.:-]{1,253}$/, 'a host name or IP address');
const portSchema = z.number().int().min(1).max(65535);

const dicomWebNodeSchema = z
  .object({
    name: nodeName,
    protocol: z.literal('dicomweb').default('dicomweb'),
    url: z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'an http:// or https:// address')
      .refine((u) => !/^https?:\/\/[^/?#]*@/.test(u), 'credentials go in "auth", not in the URL'),
    auth: authSchema.default({ type: 'none' }),
    /** A PEM file of the CA (or CAs) that signed the node's https certificate, trusted for this node only (a hospital's own CA). */
    caFile: z.string().min(1).max(4096).optional(),
    timeoutMs,
  })
  .strict()
  .refine((n) => !n.caFile || n.url.startsWith('https://'), { message: 'caFile is only for an https:// url', path: ['caFile'] });

const pemPath = z.string().min(1).max(4096);
/** DICOM TLS (PS3.15 B.1) for a DIMSE node: PEM file paths, read in main when a request is made. */
const dimseTlsSchema = z
  .object({
    /** The CA (or CAs) that signed the peer's certificate; the peer is verified against it (and its host name or IP). */
    caFile: pemPath,
    /** Our client certificate and its private key, when the peer requires one (both or neither). */
    certFile: pemPath.optional(),
    keyFile: pemPath.optional(),
  })
  .strict()
  .refine((t) => Boolean(t.certFile) === Boolean(t.keyFile), { message: 'certFile and keyFile go together', path: ['keyFile'] });

const dimseNodeSchema = z
  .object({
    name: nodeName,
    protocol: z.literal('dimse'),
    /** The peer (its Query/Retrieve SCP). */
    host: hostSchema,
    port: portSchema,
    calledAet: aeTitleSchema,
    /** Our AE title: the calling AE of our requests and the C-MOVE destination the peer must know. */
    callingAet: aeTitleSchema.default('HEALTHGPT'),
    /**
     * How a retrieve gets the instances: C-MOVE to our own Storage SCP (started for the retrieve on
     * storePort, accepting only the peer's AE title), or C-GET on the query association.
     */
    retrieve: z.enum(['move', 'get']).default('move'),
    /** The port our Storage SCP listens on for C-MOVE (the peer's configuration names it with callingAet). */
    storePort: portSchema.default(11113),
    /** DICOM TLS to the peer (only where it offers it): without it, plain DIMSE. */
    tls: dimseTlsSchema.optional(),
    timeoutMs,
  })
  .strict();

/** A node as configured (main only: it holds credentials and never crosses to a window). Without `protocol`, a DICOMweb node. */
export const pacsNodeConfigSchema = z.union([dimseNodeSchema, dicomWebNodeSchema]);
export type PacsNodeConfig = z.output<typeof pacsNodeConfigSchema>;
export type PacsNodeInput = z.input<typeof pacsNodeConfigSchema>;
export type DicomWebNodeConfig = z.output<typeof dicomWebNodeSchema>;
export type DimseNodeConfig = z.output<typeof dimseNodeSchema>;

/** The machine policy's PACS section: nodes IT pins (a settings node of the same name is ignored) and names or hosts forbidden to everyone. */
export const pacsPolicySchema = z
  .object({
    nodes: z.array(pacsNodeConfigSchema).max(256).optional(),
    forbidden: z.array(z.string().min(1).max(253)).max(256).optional(),
  })
  .strict();
export type PacsPolicy = z.input<typeof pacsPolicySchema>;

/** What a window may know about a configured node: never its credentials. */
export const pacsNodeSummarySchema = z.object({
  name: z.string(),
  kind: z.enum(['dicomweb', 'dimse']),
  /** DICOMweb: the base URL without credentials (userinfo is refused in the settings); DIMSE: CALLED@host:port. */
  url: z.string(),
  auth: z.enum(['none', 'basic', 'bearer']),
  /** Where the node comes from; policy nodes cannot be changed in the settings file. */
  source: z.enum(['settings', 'policy']),
});
export type PacsNodeSummary = z.infer<typeof pacsNodeSummarySchema>;

const dicomDate = z.string().regex(/^\d{8}$/, 'a date as YYYYMMDD');
const filterText = z.string().min(1).max(64);

export const pacsFindRequestSchema = z
  .object({
    node: z.string().min(1).max(64),
    level: z.enum(['study', 'series']).default('study'),
    /** Required for series level: the study whose series are listed. */
    studyUid: dicomUidSchema.optional(),
    patientName: filterText.optional(),
    patientId: filterText.optional(),
    dateFrom: dicomDate.optional(),
    dateTo: dicomDate.optional(),
    modality: z.string().regex(/^[A-Z]{1,16}$/).optional(),
    accessionNumber: filterText.optional(),
    limit: z.number().int().min(1).max(1000).default(100),
  })
  .strict();
export type PacsFindRequest = z.input<typeof pacsFindRequestSchema>;
export type PacsFindQuery = z.output<typeof pacsFindRequestSchema>;

export const pacsFindResultSchema = z.object({
  studyUid: z.string(),
  /** Series level only. */
  seriesUid: z.string().nullable(),
  patientName: z.string(),
  patientId: z.string(),
  studyDate: z.string(),
  studyDescription: z.string(),
  accessionNumber: z.string(),
  /** Study: modalities in study; series: the series' modality. */
  modalities: z.array(z.string()),
  seriesDescription: z.string(),
  seriesNumber: z.number().nullable(),
  /** Number of instances the peer reports (null when it does not say). */
  instanceCount: z.number().int().nullable(),
});
export type PacsFindResult = z.infer<typeof pacsFindResultSchema>;

export const pacsRetrieveRequestSchema = z
  .object({
    node: z.string().min(1).max(64),
    studyUid: dicomUidSchema,
    /** Absent: every series of the study. */
    seriesUid: dicomUidSchema.optional(),
  })
  .strict();
export type PacsRetrieveRequest = z.infer<typeof pacsRetrieveRequestSchema>;

export const retrievedSeriesSchema = z.object({
  studyUid: z.string(),
  seriesUid: z.string(),
  /** complete: every instance the peer listed is stored; partial: some are missing (retrieve again). */
  state: z.enum(['complete', 'partial']),
  expected: z.number().int().nonnegative(),
  stored: z.number().int().nonnegative(),
  /** Instances fetched by this retrieve; the rest were already stored. */
  fetched: z.number().int().nonnegative(),
  /** Received objects refused (not DICOM, another series, bad UID): never written. */
  rejected: z.number().int().nonnegative(),
  folder: z.string(),
  /** Why it is partial, in words. */
  message: z.string().optional(),
});
export type RetrievedSeries = z.infer<typeof retrievedSeriesSchema>;

export const retrieveReportSchema = z.object({
  node: z.string(),
  studyUid: z.string(),
  series: z.array(retrievedSeriesSchema),
  bytes: z.number().nonnegative(),
  elapsedMs: z.number().nonnegative(),
});
export type RetrieveReport = z.infer<typeof retrieveReportSchema>;

export const pacsSendRequestSchema = z
  .object({
    node: z.string().min(1).max(64),
    /** An imported series (e.g. a generated one): all its files are sent. */
    seriesUid: dicomUidSchema,
  })
  .strict();

export const sendReportSchema = z.object({
  node: z.string(),
  sent: z.number().int().nonnegative(),
  /** SOP Instance UIDs the peer stored. */
  stored: z.array(z.string()),
  /** SOP Instance UIDs the peer refused, with its reason code when given. */
  failed: z.array(z.object({ sopInstanceUid: z.string(), reason: z.string() })),
  bytes: z.number().nonnegative(),
  elapsedMs: z.number().nonnegative(),
});
export type SendReport = z.infer<typeof sendReportSchema>;

export const echoResultSchema = z.object({ node: z.string(), ok: z.boolean(), elapsedMs: z.number().nonnegative(), message: z.string() });
export type EchoResult = z.infer<typeof echoResultSchema>;

/** One PACS transfer as the case history keeps it (see the store's pacs_transfers table). */
export const pacsTransferSchema = z.object({
  transferId: z.string(),
  direction: z.enum(['retrieve', 'send']),
  node: z.string(),
  protocol: z.enum(['dicomweb', 'dimse']),
  studyUid: z.string().nullable(),
  seriesUids: z.array(z.string()),
  /** Instances moved by this transfer (retrieve: fetched; send: stored by the peer). */
  instances: z.number().int().nonnegative(),
  bytes: z.number().nonnegative(),
  outcome: z.enum(['complete', 'partial', 'failed', 'cancelled']),
  message: z.string().nullable(),
  startedAt: z.number(),
  finishedAt: z.number(),
  actor: z.string(),
});
export type PacsTransfer = z.infer<typeof pacsTransferSchema>;
export type NewPacsTransfer = Omit<PacsTransfer, 'actor'>;

const nodeOnly = z.object({ node: z.string().min(1).max(64) }).strict();

export const pacsContract = {
  listNodes: operation('pacs:list-nodes', z.object({}).strict(), z.array(pacsNodeSummarySchema)),
  echo: operation('pacs:echo', nodeOnly, echoResultSchema),
  find: operation('pacs:find', pacsFindRequestSchema, z.array(pacsFindResultSchema)),
  /** Starts a retrieve job; its final result is a RetrieveReport. */
  retrieve: operation('pacs:retrieve', pacsRetrieveRequestSchema, jobStartedSchema),
  send: operation('pacs:send', pacsSendRequestSchema, sendReportSchema),
} as const;
