// The deploy script's entry as a user runs it: `npm run deploy -- ...` (tsx on
// migrations/deploy.ts, which sits outside app/'s ES-module package) in a child process. It must
// start (no esbuild refusal of top-level await in CommonJS output), print its usage on --help,
// name an RPC endpoint where nothing listens, and deploy on a real local network (a Surfnet with
// the built .so: solvent-localnet), a second run sending nothing new.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Keypair } from '@solana/web3.js';
import { createKeyPairSignerFromBytes, generateKeyPairSigner, type Address } from '@solana/kit';
import { getLendingMarketDecoder, getReserveDecoder, reserveAddress } from '../src/index.ts';
import type { DeployConfig } from '../src/deploy.ts';
import { cargoBinary, startLocalnet, surfnetChain } from './helpers.ts';

const LOCALNET = cargoBinary('solvent-localnet');

const APP = fileURLToPath(new URL('../..', import.meta.url));

/** `cd app && npm run --silent deploy -- ...args`, to its end. */
function runDeploy(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'deploy', '--', ...args], { cwd: APP, env: { ...process.env, SOLANA_WALLET: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const NOT_STARTED = /Top-level await|Transform failed|ERR_REQUIRE_ASYNC_MODULE/;

/** A localhost port where nothing listens (one just released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A config directory: the committed localnet config with its market keypair written and the
 *  placeholders filled, and a wallet file (`wallet`: its key). */
function configDir(mints: Address[], oracles: Address[], wallet = Keypair.generate()) {
  const dir = mkdtempSync(join(tmpdir(), 'solvent-deploy-entry-'));
  writeFileSync(join(dir, 'market.json'), JSON.stringify([...Keypair.generate().secretKey]));
  const config = JSON.parse(readFileSync(new URL('../../../migrations/localnet.json', import.meta.url), 'utf8')) as DeployConfig;
  config.marketKeypair = 'market.json';
  config.reserves.forEach((spec, i) => {
    spec.mint = mints[i];
    spec.oracle = oracles[i];
  });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeFileSync(join(dir, 'wallet.json'), JSON.stringify([...wallet.secretKey]));
  return { dir, config, configPath: join(dir, 'config.json'), walletPath: join(dir, 'wallet.json') };
}

test('the deploy entry starts: --help prints the usage, an RPC where nothing listens is named', async () => {
  const [help, unreachable] = await Promise.all([
    runDeploy(['../migrations/localnet.json', '--help']),
    (async () => {
      const { configPath, walletPath } = configDir([Keypair.generate().publicKey.toBase58() as Address, Keypair.generate().publicKey.toBase58() as Address], [
        (await generateKeyPairSigner()).address,
        (await generateKeyPairSigner()).address,
      ]);
      const url = `http://127.0.0.1:${await closedPort()}`;
      return { url, ...(await runDeploy([configPath, '--rpc', url, '--wallet', walletPath])) };
    })(),
  ]);
  assert.doesNotMatch(help.stdout + help.stderr, NOT_STARTED);
  assert.equal(help.code, 0, help.stdout + help.stderr);
  assert.match(help.stdout, /^usage: deploy\.ts <config\.json> \[--rpc URL\] \[--wallet PATH\] \[--upgrade\]/);
  assert.match(help.stdout, /--rpc URL/);

  assert.doesNotMatch(unreachable.stdout + unreachable.stderr, NOT_STARTED);
  assert.equal(unreachable.code, 1, unreachable.stdout + unreachable.stderr);
  assert.equal(unreachable.stderr.trim().split('\n').length, 1, `one line, no stack trace:\n${unreachable.stderr}`);
  assert.match(unreachable.stderr, new RegExp(`^deploy: cannot reach the RPC at ${unreachable.url.replace(/\./g, '\\.')} \\(.*ECONNREFUSED.*\\); is the validator running\\?`));

  // No config: the usage on stderr, exit 2.
  const usage = await runDeploy([]);
  assert.equal(usage.code, 2, usage.stdout + usage.stderr);
  assert.match(usage.stderr, /^usage: deploy\.ts/);
});

test('the deploy entry deploys over JSON-RPC on a Surfnet, and a second run only finds the queued configs', { skip: existsSync(LOCALNET) ? false : `${LOCALNET} not built (scripts/test.sh builds it)`, timeout: 300_000 }, async () => {
  const wallet = Keypair.generate();
  const payer = await createKeyPairSignerFromBytes(wallet.secretKey);
  const network = await startLocalnet([payer.address]);
  const url = network.rpc;
  try {
    const { chain, solOracle, usdcOracle } = await surfnetChain(url, payer);
    const oracles = [solOracle, usdcOracle];
    const mints = [await chain.createMint(9), await chain.createMint(6)];
    const { dir, configPath, walletPath } = configDir(mints, oracles, wallet);

    // The flags before the config file, as a user may write them.
    const first = await runDeploy(['--rpc', url, '--wallet', walletPath, configPath]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const lines = first.stdout.trim().split('\n');
    assert.equal(lines.length, 4, first.stdout);
    assert.match(lines[0], /^- created market \w+/);
    assert.equal(lines[1], '- set the liquidation limits');
    assert.match(lines[2], /^- listed SOL .* at LTV 0 .*queued as config change #0 for SOL/);
    assert.match(lines[3], /^- listed USDC .* at LTV 0 .*queued as config change #1 for USDC/);
    const market = Keypair.fromSecretKey(Uint8Array.from(JSON.parse(readFileSync(join(dir, 'market.json'), 'utf8')))).publicKey.toBase58() as Address;
    assert.equal(lines[0].split(' ').pop(), market);
    assert.equal(getLendingMarketDecoder().decode(await chain.data(market)).policyBytes.length > 0, true);
    for (const mint of mints) assert.equal(getReserveDecoder().decode(await chain.data(await reserveAddress(market, mint))).lendingMarket, market);

    const second = await runDeploy([configPath, '--rpc', url, '--wallet', walletPath]);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.deepEqual(
      second.stdout.trim().split('\n').map((line) => line.replace(/after .*/, 'after …')),
      ['- config change #0 for SOL is already queued: executable by anyone after …', '- config change #1 for USDC is already queued: executable by anyone after …'],
    );
  } finally {
    network.stop();
  }
});
