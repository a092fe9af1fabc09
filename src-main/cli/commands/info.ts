import { parseArgs } from 'node:util';
import { printResult, type CliCommand } from '../cli-types';
import { directCall } from '../direct-call';

export const infoCommand: CliCommand = {
  name: 'info',
  summary: 'Version, model packs found, execution providers, data folder',
  usage: 'healthgpt info [--json]',
  async run(args, io) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
    const services = await io.services();
    const info = await directCall(services, 'app', 'getInfo', {});
    printResult(io, values.json, info, () =>
      [
        `${info.name} ${info.version} (${info.platform})`,
        `Data folder: ${info.dataDir}`,
        `Execution providers: ${info.providers.available.join(', ')} (preferred: ${info.providers.preferred})`,
        `Model packs: ${info.packs.length === 0 ? 'none found' : ''}`,
        ...info.packs.map((p) => `  ${p.name} ${p.version}${p.demonstration ? ' — demonstration model, not for clinical use' : ''}${p.problem ? ` (problem: ${p.problem})` : ''}\n    ${p.path}`),
      ].join('\n'),
    );
    return 0;
  },
};
