// The package as a user gets it: `npm pack` (its `prepack` builds dist/), then the tarball
// installed into an empty project. The install is `npm install <tarball> --offline`: so that it
// needs no registry (and stays fast), the project's node_modules starts as a hard-linked copy of
// app/node_modules (a plain copy where hard links are not possible), which holds every
// dependency of the package at the locked version; npm adds the package and prunes the rest.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const APP = fileURLToPath(new URL('../..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Runs `command` in `cwd`; fails the test with its output when it fails. */
export function run(command: string, args: string[], cwd: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } });
  assert.equal(result.status, 0, `${command} ${args.join(' ')} in ${cwd} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** Packs the package, installs the tarball into a new empty ESM project and returns the
 *  project's directory, the tarball's file listing and a `remove` for both. */
export function packAndInstall(): { project: string; listing: string[]; remove: () => void } {
  const packs = mkdtempSync(join(tmpdir(), 'solvent-pack-'));
  const project = mkdtempSync(join(tmpdir(), 'solvent-install-'));
  const remove = () => {
    rmSync(packs, { recursive: true, force: true });
    rmSync(project, { recursive: true, force: true });
  };
  try {
    run(npm, ['pack', '--silent', '--pack-destination', packs], APP);
    const tarballs = readdirSync(packs).filter((name) => name.endsWith('.tgz'));
    assert.equal(tarballs.length, 1);
    const listing = run('tar', ['tzf', join(packs, tarballs[0])], packs).split('\n');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'install-check', private: true, type: 'module' }));
    const linked = spawnSync('cp', ['-al', join(APP, 'node_modules'), join(project, 'node_modules')]);
    if (linked.status !== 0) {
      rmSync(join(project, 'node_modules'), { recursive: true, force: true });
      cpSync(join(APP, 'node_modules'), join(project, 'node_modules'), { recursive: true, verbatimSymlinks: true });
    }
    run(npm, ['install', '--offline', '--ignore-scripts', '--no-package-lock', join(packs, tarballs[0])], project);
    assert.ok(existsSync(join(project, 'node_modules', '@solvent', 'client', 'dist', 'src', 'index.js')));
    return { project, listing, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
