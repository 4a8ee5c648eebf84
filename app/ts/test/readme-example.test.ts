// The README's "Use it from TypeScript" example is app/examples/readme-example.ts, byte for
// byte, and it works: it type-checks against the package's entry, and run as a user would run
// it (the packed tarball installed into an empty project, the example compiled to JavaScript and
// run by plain node there) against a real local network (a Surfnet with the built .so: solvent-localnet) with a market set up, it
// deposits SOL and borrows USDC in one transaction and prints the position the program holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import { Keypair } from '@solana/web3.js';
import { createKeyPairSignerFromBytes, generateKeyPairSigner } from '@solana/kit';
import { findAssociatedTokenPda } from '@solana-program/token';
import { TOKEN_PROGRAM_ID, getInitObligationInstruction, getObligationDecoder, getReserveDecoder, obligationAddress, readPosition } from '../src/index.ts';
import { tokenAccountData } from '../src/accounts.ts';
import { cargoBinary, solUsdcMarketOn, startLocalnet, surfnetChain } from './helpers.ts';
import { packAndInstall } from './install.ts';

const LOCALNET = cargoBinary('solvent-localnet');

const app = fileURLToPath(new URL('../..', import.meta.url));
const example = join(app, 'examples', 'readme-example.ts');
const entry = join(app, 'ts', 'src', 'index.ts');
const SOL = 1_000_000_000n;
const USDC = 1_000_000n;

/** The code block of the README section `heading`. */
function readmeBlock(heading: string): string {
  const readme = readFileSync(join(app, '..', 'README.md'), 'utf8');
  const start = readme.indexOf(`\n## ${heading}\n`);
  assert.notEqual(start, -1, `the README has a section "${heading}"`);
  const section = readme.slice(start + 1, readme.indexOf('\n## ', start + 1) === -1 ? undefined : readme.indexOf('\n## ', start + 1));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  assert.ok(block, `the section "${heading}" has a ts code block`);
  return block[1];
}

test('the README example is app/examples/readme-example.ts, byte for byte', () => {
  assert.equal(readmeBlock('Use it from TypeScript'), readFileSync(example, 'utf8'));
});

test('the README example type-checks against the package entry', () => {
  // As a user's project sees it: `@solvent/client` is the package's entry (its sources here).
  const dir = mkdtempSync(join(tmpdir(), 'solvent-readme-tsc-'));
  try {
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(app, 'tsconfig.json'),
        compilerOptions: { noEmit: true, paths: { '@solvent/client': [entry] }, typeRoots: [join(app, 'node_modules', '@types')] },
        files: [example],
        include: [],
      }),
    );
    const result = spawnSync(process.execPath, [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: app, encoding: 'utf8' });
    const errors = (result.stdout + result.stderr).split('\n').filter((line) => line.includes('error TS'));
    // As `npm run typecheck`: errors inside the generated client do not count.
    assert.deepEqual(errors.filter((line) => !line.replace(/\\/g, '/').includes('ts/generated/')), []);
    assert.ok(result.status === 0 || errors.length > 0, result.stdout + result.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the README example deposits SOL and borrows USDC in one transaction on a Surfnet', { skip: existsSync(LOCALNET) ? false : `${LOCALNET} not built (scripts/test.sh builds it)`, timeout: 300_000 }, async () => {
  const keypair = Keypair.generate();
  const owner = await createKeyPairSignerFromBytes(keypair.secretKey);
  const payer = await generateKeyPairSigner();
  const network = await startLocalnet([payer.address, owner.address]);
  const url = network.rpc;
  const dir = mkdtempSync(join(tmpdir(), 'solvent-readme-'));
  try {
    // The SOL/USDC market of the other tests (SOL $150, threshold 80%; USDC LTV 85%), built with
    // real transactions, and a lender's 100,000 USDC.
    const { chain } = await surfnetChain(url, payer);
    const { market, sol, usdc } = await solUsdcMarketOn(chain);

    // The owner: a keypair file as solana-keygen writes it, SOL in its associated token
    // account, an empty USDC one, and a fresh obligation.
    writeFileSync(join(dir, 'owner.json'), JSON.stringify([...keypair.secretKey]));
    const ata = async (mint: typeof sol.mint) => (await findAssociatedTokenPda({ owner: owner.address, mint, tokenProgram: TOKEN_PROGRAM_ID }))[0];
    const [solAta, usdcAta] = [await ata(sol.mint), await ata(usdc.mint)];
    await chain.writeOnSurfnet(solAta, TOKEN_PROGRAM_ID, tokenAccountData(sol.mint, owner.address, 10n * SOL));
    await chain.writeOnSurfnet(usdcAta, TOKEN_PROGRAM_ID, tokenAccountData(usdc.mint, owner.address, 0n));
    const obligation = await obligationAddress(market.address, owner.address, 0);
    const opened = await chain.send([getInitObligationInstruction({ lendingMarket: market.address, owner, obligation, obligationId: 0 })], [owner]);
    assert.ok(opened.ok, opened.ok ? undefined : opened.error);

    // Run as a user runs it: from a project where the packed tarball is installed, the example
    // compiled to JavaScript (esbuild, types stripped) and run by plain `node`, `@solvent/client`
    // resolving to the installed package.
    const installed = packAndInstall();
    const script = join(installed.project, 'readme-example.mjs');
    writeFileSync(script, transformSync(readFileSync(example, 'utf8'), { loader: 'ts', format: 'esm', target: 'node20' }).code);
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [script, url, market.address, sol.mint, usdc.mint, join(dir, 'owner.json')], { cwd: installed.project });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk) => (stdout += chunk));
      child.stderr.on('data', (chunk) => (stderr += chunk));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    installed.remove();
    assert.equal(run.code, 0, run.stderr);

    // What the program holds now: the SOL collateral, the USDC debt, the tokens moved.
    const after = getObligationDecoder().decode(await chain.data(obligation));
    assert.equal(after.deposits[0].depositReserve, sol.reserve);
    assert.equal(after.borrows[0].borrowReserve, usdc.reserve);
    assert.equal(await chain.tokenBalance(solAta), 0n);
    assert.equal(await chain.tokenBalance(usdcAta), 500n * USDC);
    // The line it prints is the position as the program values it.
    const reserves = new Map(await Promise.all([sol, usdc].map(async (r) => [r.reserve, getReserveDecoder().decode(await chain.data(r.reserve))] as const)));
    const position = readPosition(after, reserves);
    // $1,500 of SOL at an 80% threshold against $500: 2.4 (less the dead shares of the reserve's first deposit).
    assert.ok(Math.abs(position.healthFactor! - 2.4) < 1e-6);
    assert.match(run.stdout, new RegExp(`^deposited and borrowed in \\w+: health factor ${position.healthFactor!.toFixed(3)}, liquidated if SOL falls below \\$${position.liquidationPrice!.toFixed(2)}\\n$`));
    assert.match(run.stdout, /health factor 2\.400, liquidated if SOL falls below \$62\.50/);
  } finally {
    network.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
