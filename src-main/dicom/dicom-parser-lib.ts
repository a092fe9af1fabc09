/**
 * dicom-parser ships a UMD bundle whose named exports Node's ESM loader cannot see; load it through
 * require and give it the package's own types.
 */
import { createRequire } from 'node:module';

type DicomParserModule = typeof import('dicom-parser');

const require = createRequire(import.meta.url);
export const dicomParser = require('dicom-parser') as DicomParserModule;
