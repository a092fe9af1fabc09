// node --import this file: makes `import ... from 'electron'` load fake-electron.mjs (see there).
import { register } from 'node:module';
import { URL } from 'node:url';

register(
  `data:text/javascript,${encodeURIComponent(`
    const fake = ${JSON.stringify(new URL('./fake-electron.mjs', import.meta.url).href)};
    export async function resolve(specifier, context, next) {
      if (specifier === 'electron') return { url: fake, shortCircuit: true };
      return next(specifier, context);
    }
  `)}`,
);
