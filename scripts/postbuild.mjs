// After tsc: the bin entry gets its executable bit, and the roster schema is compiled once,
// here, into a standalone validator (dist/roster/roster-validator.cjs), so no command pays
// for compiling it with ajv at run time (60-100 ms per process).
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);

// The quick path's spec of every verb (src/cli/verb-spec.ts), from the built program itself.
const { verbSpec } = await import('../dist/cli/program.js');
writeFileSync(new URL('../dist/cli/verbs.json', import.meta.url), JSON.stringify(verbSpec()));

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020.js');
const standaloneCode = require('ajv/dist/standalone/index.js').default;
const schema = JSON.parse(readFileSync(new URL('../framework/fleet/roster.schema.json', import.meta.url), 'utf8'));
// Same options as the run-time fallback in src/roster/load.ts.
const ajv = new Ajv2020({ allErrors: true, strict: false, code: { source: true } });
writeFileSync(new URL('../dist/roster/roster-validator.cjs', import.meta.url), standaloneCode(ajv, ajv.compile(schema)));
