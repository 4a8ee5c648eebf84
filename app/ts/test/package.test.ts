// The publishable package: `npm run build` writes both entries to dist/ (JavaScript and
// declarations), the default entry bundles for the browser with no Node built-in, and the
// tarball `npm pack` makes installs into an empty directory (`packAndInstall`, ./install.ts)
// where plain `node` (no tsx) imports it, derives a PDA and builds an instruction; the README
// example runs from such an install in readme-example.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { builtinModules } from 'node:module';
import { build } from 'esbuild';
import { IDL, PROGRAM_ID, TOKEN_PROGRAM_ID, reserveAddress } from '../src/index.ts';
import { packAndInstall, run } from './install.ts';

const app = fileURLToPath(new URL('../..', import.meta.url));
const dist = join(app, 'dist');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';


test('the IDL module (ts/src/idl.ts, `npm run generate`) is idl/solvent.json', () => {
  assert.deepEqual(IDL, JSON.parse(readFileSync(join(app, 'idl', 'solvent.json'), 'utf8')));
});

test('npm run build writes JavaScript and declarations for both entries to dist/', () => {
  run(npm, ['run', '--silent', 'build'], app);
  const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  assert.notEqual(pkg.private, true);
  assert.equal(pkg.sideEffects, false);
  for (const entry of ['.', './anchor']) {
    const { types, default: js } = pkg.exports[entry];
    assert.ok(existsSync(join(app, js)), `${entry}: ${js}`);
    assert.ok(existsSync(join(app, types)), `${entry}: ${types}`);
  }
  assert.ok(existsSync(join(dist, 'src', 'index.js')) && existsSync(join(dist, 'src', 'index.d.ts')));
  assert.ok(existsSync(join(dist, 'src', 'anchor.js')) && existsSync(join(dist, 'src', 'anchor.d.ts')));
  // Node-only modules stay out of the package.
  for (const nodeOnly of ['deploy', 'scenario', 'rpc-chain', 'surfnet', 'localnet-accounts', 'localnet-scenario']) {
    assert.ok(!existsSync(join(dist, 'src', `${nodeOnly}.js`)), `${nodeOnly}.js is not built`);
  }
  const index = readFileSync(join(dist, 'src', 'index.js'), 'utf8');
  const imports = [...index.matchAll(/\bfrom\s*["']([^"']+)["']/g)].map((match) => match[1]);
  assert.deepEqual(
    imports.filter((specifier) => /^(@anchor-lang|@solana\/web3\.js|bn\.js|node:)/.test(specifier)),
    [],
    'the default entry does not import the Anchor / web3.js side',
  );
});

test('the default entry bundles for the browser with no Node built-in', async () => {
  const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
  // The check catches built-ins: esbuild on platform browser cannot resolve them.
  await assert.rejects(
    build({ stdin: { contents: "import 'node:fs'; import 'path';" }, bundle: true, platform: 'browser', write: false, logLevel: 'silent' }),
    (error: { errors: { text: string }[] }) => error.errors.length === 2 && error.errors.every((e) => /Could not resolve/.test(e.text)),
  );
  const result = await build({
    entryPoints: [join(dist, 'src', 'index.js')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  assert.deepEqual(result.errors, []);
  const imported = Object.values(result.metafile!.inputs).flatMap((input) => input.imports.map((i) => i.path));
  const nodeOnly = imported.filter((path) => builtins.has(path) || path.startsWith('node:'));
  assert.deepEqual(nodeOnly, [], 'no Node built-in is imported');
  for (const file of Object.keys(result.metafile!.inputs)) assert.doesNotMatch(file, /@anchor-lang|@solana\/web3\.js|bn\.js/, file);
  assert.ok(result.outputFiles![0].text.length > 0);
});

test('npm pack makes a tarball that installs and runs with plain node', async () => {
  const { project, listing, remove } = packAndInstall();
  try {
    assert.ok(listing.includes('package/dist/src/index.js') && listing.includes('package/dist/src/anchor.d.ts'));
    assert.ok(!listing.some((file) => file.startsWith('package/ts/')), 'no TypeScript sources or tests in the tarball');

    writeFileSync(
      join(project, 'check.mjs'),
      `import { PROGRAM_ID, TOKEN_PROGRAM_ID, IDL, reserveAddress, getRefreshReserveInstruction } from '@solvent/client';
import { anchorProgram, parseEvents } from '@solvent/client/anchor';
const reserve = await reserveAddress(PROGRAM_ID, TOKEN_PROGRAM_ID);
const ix = getRefreshReserveInstruction({ reserve, oracle: TOKEN_PROGRAM_ID });
let deepImport = 'allowed';
try { await import('@solvent/client/dist/src/idl.js'); } catch (error) { deepImport = error.code; }
console.log(JSON.stringify({
  programId: PROGRAM_ID,
  idlAddress: IDL.address,
  reserve,
  ixProgram: ix.programAddress,
  ixAccounts: ix.accounts.map((a) => a.address),
  ixDataLength: ix.data.length,
  anchorProgramId: anchorProgram().programId.toBase58(),
  events: parseEvents([]).length,
  deepImport,
}));
`,
    );
    const out = JSON.parse(run(process.execPath, ['check.mjs'], project));
    const reserve = await reserveAddress(PROGRAM_ID, TOKEN_PROGRAM_ID);
    assert.deepEqual(out, {
      programId: PROGRAM_ID,
      idlAddress: PROGRAM_ID,
      reserve,
      ixProgram: PROGRAM_ID,
      ixAccounts: [reserve, TOKEN_PROGRAM_ID],
      ixDataLength: 8,
      anchorProgramId: PROGRAM_ID,
      events: 0,
      deepImport: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
  } finally {
    remove();
  }
});
