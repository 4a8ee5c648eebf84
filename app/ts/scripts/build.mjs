// Builds the publishable package (`npm run build`, also run by `prepack`): tsc -p
// tsconfig.build.json compiles the two entries (ts/src/index.ts: `@solvent/client`,
// ts/src/anchor.ts: `@solvent/client/anchor`) and what they import to dist/, JavaScript with
// declarations. As in typecheck.mjs, type errors inside the Codama-generated code (ts/generated/)
// are reported but do not fail. The generated code imports without file extensions
// (`./accounts`), which Node's ES-module loader does not resolve, so every relative specifier
// left in dist/ is then completed to the file it names (`./accounts/index.js`).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const app = fileURLToPath(new URL('../..', import.meta.url));
const dist = join(app, 'dist');
rmSync(dist, { recursive: true, force: true });
const tsc = join(app, 'node_modules', 'typescript', 'bin', 'tsc');
const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: app, encoding: 'utf8' });
const errors = (result.stdout + result.stderr).split('\n').filter((line) => line.includes('error TS'));
const ours = errors.filter((line) => !line.startsWith('ts/generated/'));
for (const line of errors) console.log(ours.includes(line) ? line : `(generated, not failing) ${line}`);
if (ours.length > 0 || (result.status !== 0 && errors.length === 0)) {
  if (errors.length === 0) console.error(result.stdout + result.stderr);
  console.error(`build: ${ours.length} type errors`);
  process.exit(1);
}

const files = (dir) => readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? files(join(dir, name)) : [join(dir, name)]));
const complete = (file, specifier) => {
  if (!/^\.\.?(\/|$)/.test(specifier)) return specifier;
  const target = resolve(dirname(file), specifier);
  if (/\.(js|json)$/.test(specifier) && existsSync(target)) return specifier;
  const stem = specifier.replace(/\.ts$/, '').replace(/\/$/, '');
  if (existsSync(resolve(dirname(file), `${stem}.js`))) return `${stem}.js`;
  if (existsSync(resolve(dirname(file), stem, 'index.js'))) return `${stem}/index.js`;
  throw new Error(`build: ${file} imports ${specifier}, which is not in dist/`);
};
let rewritten = 0;
for (const file of files(dist).filter((f) => /\.(js|d\.ts)$/.test(f))) {
  const text = readFileSync(file, 'utf8');
  const fixed = text.replace(
    /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([^"']+)\2/g,
    (_, lead, quote, specifier) => `${lead}${quote}${complete(file, specifier)}${quote}`,
  );
  if (fixed !== text) {
    writeFileSync(file, fixed);
    rewritten++;
  }
}
const count = files(dist).length;
console.log(`build: dist/ written (${count} files, ${rewritten} with import paths completed)`);
