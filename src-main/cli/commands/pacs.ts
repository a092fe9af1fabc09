/**
 * `healthgpt pacs echo|find|retrieve|send`: the PACS service from a shell. A node is named (`--node`, from
 * <data>/pacs-nodes.json or the policy) or given ad hoc (`--url` of a DICOMweb base); credentials for an
 * ad hoc node come from the environment, never from the command line (where `ps` and shell history see them).
 */
import { cpSync, mkdirSync, opendirSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { JobFinal } from '../../../src-shared/contracts/jobs';
import { pacsFindRequestSchema, pacsNodeConfigSchema, type PacsNodeConfig, type RetrieveReport } from '../../../src-shared/contracts/pacs';
import { DomainError } from '../../../src-shared/ipc/envelope';
import type { Services } from '../../services';
import { printResult, UsageError, type CliCommand } from '../cli-types';
import { cliSink } from '../direct-call';
import { MARKER_FILE } from '../../pacs/local-store';

const NODE_OPTIONS = {
  json: { type: 'boolean', default: false },
  node: { type: 'string' },
  url: { type: 'string' },
  user: { type: 'string' },
  protocol: { type: 'string' },
  aet: { type: 'string' },
  'called-aet': { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  'retrieve-by': { type: 'string' },
  'store-port': { type: 'string' },
  ca: { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
} as const;

const NODE_USAGE = [
  'Node: --node NAME (from <data>/pacs-nodes.json or the machine policy), or --url <DICOMweb base URL>',
  '      with --user NAME and the password in HEALTHGPT_PACS_PASSWORD, or a bearer token in HEALTHGPT_PACS_TOKEN.',
  '      --ca FILE trusts that PEM CA for an https --url (a hospital\'s own CA).',
  '      or a DIMSE peer: --protocol dimse --host HOST --port N --called-aet PEER_AE [--aet OUR_AE (HEALTHGPT)]',
  '      [--retrieve-by move|get (move)] [--store-port N (11113: our Storage SCP for C-MOVE)]',
  '      [--tls-ca PEM (DICOM TLS: the CA that signed the peer) [--tls-cert PEM --tls-key PEM (our client certificate)]].',
].join('\n');

interface NodeArgs {
  node?: string | undefined;
  url?: string | undefined;
  user?: string | undefined;
  protocol?: string | undefined;
  aet?: string | undefined;
  'called-aet'?: string | undefined;
  host?: string | undefined;
  port?: string | undefined;
  'retrieve-by'?: string | undefined;
  'store-port'?: string | undefined;
  ca?: string | undefined;
  'tls-ca'?: string | undefined;
  'tls-cert'?: string | undefined;
  'tls-key'?: string | undefined;
}

const DIMSE_FLAGS = ['aet', 'called-aet', 'host', 'port', 'retrieve-by', 'store-port', 'tls-ca', 'tls-cert', 'tls-key'] as const;

/** The DIMSE node's tls from --tls-ca/--tls-cert/--tls-key (paths made absolute; the files are read when a request is made). */
function tlsFlags(values: NodeArgs): { tls?: { caFile: string; certFile?: string; keyFile?: string } } {
  const ca = values['tls-ca'];
  const cert = values['tls-cert'];
  const key = values['tls-key'];
  if (!ca) {
    if (cert || key) throw new UsageError('--tls-cert and --tls-key need --tls-ca (the CA that signed the peer)');
    return {};
  }
  if (Boolean(cert) !== Boolean(key)) throw new UsageError('--tls-cert and --tls-key go together');
  return { tls: { caFile: path.resolve(ca), ...(cert && key ? { certFile: path.resolve(cert), keyFile: path.resolve(key) } : {}) } };
}

function adHocNode(input: unknown, services: Services): PacsNodeConfig {
  const parsed = pacsNodeConfigSchema.safeParse(input);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `${i.path.join('.') || 'node'}: ${i.message}`).join('; '));
  services.pacs.nodes.assertAllowed(parsed.data);
  return parsed.data;
}

function resolveNode(values: NodeArgs, services: Services): PacsNodeConfig {
  const dimseFlags = DIMSE_FLAGS.filter((f) => values[f] !== undefined);
  if (values.protocol !== undefined && values.protocol !== 'dimse' && values.protocol !== 'dicomweb') throw new UsageError('--protocol is dimse or dicomweb');
  const sources = [values.node && '--node', values.url && '--url', values.protocol === 'dimse' && '--protocol dimse'].filter(Boolean);
  if (sources.length > 1) throw new UsageError(`give one of --node, --url or --protocol dimse, not ${sources.join(' and ')}`);
  if (values.node) return services.pacs.nodes.get(values.node);
  if (values.protocol === 'dimse') {
    const number = (flag: string, v: string | undefined) => (v === undefined ? undefined : /^\d{1,5}$/.test(v) ? Number(v) : NaN);
    if (!values.host || !values.port || !values['called-aet']) throw new UsageError(`a DIMSE peer needs --host, --port and --called-aet.\n${NODE_USAGE}`);
    return adHocNode(
      {
        name: 'cli',
        protocol: 'dimse',
        host: values.host,
        port: number('--port', values.port),
        calledAet: values['called-aet'],
        ...(values.aet ? { callingAet: values.aet } : {}),
        ...(values['retrieve-by'] ? { retrieve: values['retrieve-by'] } : {}),
        ...(values['store-port'] ? { storePort: number('--store-port', values['store-port']) } : {}),
        ...tlsFlags(values),
      },
      services,
    );
  }
  if (dimseFlags.length) throw new UsageError(`--${dimseFlags[0]} is for a DIMSE peer: add --protocol dimse`);
  if (!values.url) throw new UsageError(`a PACS node is needed.\n${NODE_USAGE}`);
  const password = process.env['HEALTHGPT_PACS_PASSWORD'];
  const token = process.env['HEALTHGPT_PACS_TOKEN'];
  const auth = values.user ? { type: 'basic' as const, username: values.user, password: password ?? '' } : token ? { type: 'bearer' as const, token } : { type: 'none' as const };
  return adHocNode({ name: 'cli', protocol: 'dicomweb', url: values.url, auth, ...(values.ca ? { caFile: path.resolve(values.ca) } : {}) }, services);
}

/** YYYY-MM-DD or YYYYMMDD → YYYYMMDD. */
function dicomDate(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const d = value.replace(/-/g, '');
  if (!/^\d{8}$/.test(d)) throw new UsageError(`${flag} takes a date as YYYY-MM-DD`);
  return d;
}

function finalResult<T>(final: JobFinal): T {
  if (final.status === 'failed') throw new DomainError(final.error.code, final.error.message);
  return (final as { result: T }).result;
}

/** Every regular file under the given paths (folders walked, links not followed). */
function expandFiles(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) throw new UsageError(`no such file or folder: ${p}`);
    if (st.isFile()) out.push(path.resolve(p));
    else if (st.isDirectory()) {
      const stack = [path.resolve(p)];
      while (stack.length) {
        const dir = stack.pop()!;
        const found: string[] = [];
        const handle = opendirSync(dir);
        for (let d = handle.readSync(); d; d = handle.readSync()) {
          if (d.isDirectory()) stack.push(path.join(dir, d.name));
          else if (d.isFile()) found.push(path.join(dir, d.name));
        }
        handle.closeSync();
        out.push(...found.sort());
      }
    }
  }
  return out;
}

const echoCommand: CliCommand = {
  name: 'pacs echo',
  summary: 'Check that a PACS node answers (DICOMweb: an authenticated one-result study search; DIMSE: C-ECHO)',
  usage: ['healthgpt pacs echo (--node NAME | --url URL [--user NAME] | --protocol dimse --host H --port N --called-aet AE) [--json]', '', NODE_USAGE].join('\n'),
  async run(args, io) {
    const { values } = parseArgs({ args, options: NODE_OPTIONS, strict: true });
    const services = await io.services();
    const result = await services.pacs.echo(resolveNode(values, services));
    printResult(io, values.json, result, () => `${result.node}: ok (${result.elapsedMs} ms)`);
    return 0;
  },
};

const findCommand: CliCommand = {
  name: 'pacs find',
  summary: 'Search a PACS: studies by patient, ID, date range, modality, accession; or the series of a study',
  usage: [
    'healthgpt pacs find (--node NAME | --url URL [--user NAME]) [--patient NAME] [--patient-id ID]',
    '                    [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--modality CT] [--accession NO]',
    '                    [--study UID  (lists the series of that study)] [--limit N] [--json]',
    '',
    'A patient name matches as a prefix (Smith finds Smith^John) unless it has * or ?.',
    '',
    NODE_USAGE,
  ].join('\n'),
  async run(args, io) {
    const { values } = parseArgs({
      args,
      options: { ...NODE_OPTIONS, patient: { type: 'string' }, 'patient-id': { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, modality: { type: 'string' }, accession: { type: 'string' }, study: { type: 'string' }, limit: { type: 'string', default: '100' } },
      strict: true,
    });
    const query = pacsFindRequestSchema.safeParse({
      node: 'cli',
      level: values.study ? 'series' : 'study',
      studyUid: values.study,
      patientName: values.patient,
      patientId: values['patient-id'],
      dateFrom: dicomDate('--from', values.from),
      dateTo: dicomDate('--to', values.to),
      modality: values.modality?.toUpperCase(),
      accessionNumber: values.accession,
      limit: Number(values.limit),
    });
    if (!query.success) throw new UsageError(query.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const services = await io.services();
    const results = await services.pacs.find(resolveNode(values, services), query.data);
    printResult(io, values.json, results, () =>
      [
        `${results.length} ${values.study ? 'series' : 'stud' + (results.length === 1 ? 'y' : 'ies')}`,
        ...results.map((r) =>
          values.study
            ? `  ${r.seriesUid}  ${r.modalities.join('/')}  #${r.seriesNumber ?? '-'}  ${r.seriesDescription}  (${r.instanceCount ?? '?'} instances)`
            : `  ${r.studyUid}  ${r.patientName} [${r.patientId}]  ${r.studyDate}  ${r.modalities.join('/')}  ${r.accessionNumber}  ${r.studyDescription}  (${r.instanceCount ?? '?'} instances)`,
        ),
      ].join('\n'),
    );
    return 0;
  },
};

const retrieveCommand: CliCommand = {
  name: 'pacs retrieve',
  summary: 'Retrieve a study or series into the local store (resumes a partial one); --out also copies it to a folder',
  usage: [
    'healthgpt pacs retrieve (--node NAME | --url URL [--user NAME]) --study UID [--series UID] [--out FOLDER] [--json]',
    '',
    'Exit code 0 when every series is complete, 1 when any is partial (run the same command again to resume).',
    '',
    NODE_USAGE,
  ].join('\n'),
  async run(args, io) {
    const { values } = parseArgs({ args, options: { ...NODE_OPTIONS, study: { type: 'string' }, series: { type: 'string' }, out: { type: 'string' } }, strict: true });
    if (!values.study) throw new UsageError('pacs retrieve needs --study UID');
    const services = await io.services();
    const node = resolveNode(values, services);
    const sink = cliSink((channel, payload) => {
      if (values.json || channel !== 'jobs:progress') return;
      const p = payload as { done: number; total: number };
      io.err(`\rretrieved ${p.done}/${p.total}   `);
    });
    const started = services.pacs.startRetrieve(node, { studyUid: values.study, ...(values.series ? { seriesUid: values.series } : {}) }, sink);
    const report = finalResult<RetrieveReport>(await services.jobs.wait(started.jobId));
    if (!values.json) io.err('\n');
    const copies: string[] = [];
    if (values.out) {
      // --out is the shell user's own folder: a copy of each retrieved series (never replacing a file there).
      for (const s of report.series) {
        const target = path.join(path.resolve(values.out), s.seriesUid);
        mkdirSync(target, { recursive: true });
        cpSync(s.folder, target, { recursive: true, errorOnExist: true, force: false, filter: (src) => path.basename(src) !== MARKER_FILE });
        copies.push(target);
      }
    }
    printResult(io, values.json, { ...report, ...(values.out ? { copiedTo: copies } : {}) }, () =>
      report.series.map((s) => `${s.seriesUid}: ${s.state} ${s.stored}/${s.expected} (fetched ${s.fetched}${s.rejected ? `, rejected ${s.rejected}` : ''})${s.message ? ` — ${s.message}` : ''}`).join('\n'),
    );
    return report.series.every((s) => s.state === 'complete') ? 0 : 1;
  },
};

const sendCommand: CliCommand = {
  name: 'pacs send',
  summary: 'Send DICOM files, folders or an imported (e.g. generated) series to a PACS (STOW-RS or C-STORE)',
  usage: ['healthgpt pacs send (--node NAME | --url URL [--user NAME]) (<file|folder>... | --series UID) [--json]', '', NODE_USAGE].join('\n'),
  async run(args, io) {
    const { values, positionals } = parseArgs({ args, options: { ...NODE_OPTIONS, series: { type: 'string' } }, allowPositionals: true, strict: true });
    if (!values.series && positionals.length === 0) throw new UsageError('pacs send needs files or folders, or --series UID');
    if (values.series && positionals.length) throw new UsageError('give files or --series, not both');
    const services = await io.services();
    const node = resolveNode(values, services);
    const report = values.series ? await services.pacs.sendSeries(node, values.series) : await services.pacs.sendFiles(node, expandFiles(positionals));
    printResult(io, values.json, report, () => `${report.node}: stored ${report.stored.length} of ${report.sent}${report.failed.length ? `, refused ${report.failed.length}` : ''}`);
    return report.failed.length ? 1 : 0;
  },
};

export const pacsCommands: CliCommand[] = [echoCommand, findCommand, retrieveCommand, sendCommand];
