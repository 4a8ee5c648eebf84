// The RPC code paths for real, over HTTP: the client's scenario (RpcScenarioChain) and the
// deploy script (RpcDeployChain) against a JSON-RPC bridge in front of LiteSVM with the built
// .so (ts/test/rpc-bridge.ts). scripts/localnet.sh runs the same code against a real validator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keypair } from '@solana/web3.js';
import { generateKeyPairSigner, type Address } from '@solana/kit';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpcScenarioChain } from '../src/rpc-chain.ts';
import { runScenario, SOL_FEED, USDC_FEED } from '../src/scenario.ts';
import { RpcDeployChain, deploy, type DeployConfig } from '../src/deploy.ts';
import { Chain } from './helpers.ts';
import { RpcBridge } from './rpc-bridge.ts';

test('the scenario and the deploy script over JSON-RPC', async () => {
  const chain = await Chain.start();
  const bridge = new RpcBridge(chain.svm);
  const url = await bridge.start();
  try {
    // Prices are preloaded, as scripts/localnet.sh preloads them into solana-test-validator.
    const solPrice = (await generateKeyPairSigner()).address;
    const usdcPrice = (await generateKeyPairSigner()).address;
    chain.setPriceUpdate(solPrice, SOL_FEED, 15_000_000_000n, 15_000_000_000n, -8);
    chain.setPriceUpdate(usdcPrice, USDC_FEED, 1_000_000n, 1_000_000n, -6);
    const steps: string[] = [];
    await runScenario(new RpcScenarioChain(url, chain.payer, new Map([[0xef, solPrice], [0xea, usdcPrice]])), (line) => steps.push(line), 86_400);
    assert.ok(steps.some((line) => line.startsWith('borrowing 1,200 USDC refused as BorrowTooLarge')), steps.join('\n'));
    assert.ok(steps.some((line) => line.includes('vault balances equal the books')));

    // The deploy script over RPC: the program is there, so it creates the market and reserves
    // once; under the localnet's 1-hour timelock the reserves are listed at LTV 0 with their
    // configs queued, which a run an hour later executes.
    const dir = mkdtempSync(join(tmpdir(), 'solvent-rpc-deploy-'));
    writeFileSync(join(dir, 'market.json'), JSON.stringify([...Keypair.generate().secretKey]));
    const config = JSON.parse(readFileSync(new URL('../../../migrations/localnet.json', import.meta.url), 'utf8')) as DeployConfig;
    config.marketKeypair = 'market.json';
    config.reserves[0].mint = await chain.createMint(9, chain.payer.address);
    config.reserves[0].oracle = solPrice;
    config.reserves[1].mint = await chain.createMint(6, chain.payer.address);
    config.reserves[1].oracle = usdcPrice;
    const rpcDeploy = new RpcDeployChain(url, chain.payer, '(the test payer)');
    const first = await deploy(rpcDeploy, config, { configDir: dir });
    assert.equal(first.length, 4, first.join('\n'));
    assert.match(first[2], /^listed SOL .* at LTV 0 .*queued as config change #0 for SOL/);
    assert.match(first[3], /^listed USDC .* at LTV 0 .*queued as config change #1 for USDC/);
    assert.deepEqual(
      (await deploy(rpcDeploy, config, { configDir: dir })).map((line) => line.replace(/after .*/, 'after …')),
      ['config change #0 for SOL is already queued: executable by anyone after …', 'config change #1 for USDC is already queued: executable by anyone after …'],
    );
    chain.advance(BigInt(config.policy!.timelockSecs));
    assert.deepEqual(await deploy(rpcDeploy, config, { configDir: dir }), ['executed queued config change #0 for SOL', 'executed queued config change #1 for USDC']);
    assert.deepEqual(await deploy(rpcDeploy, config, { configDir: dir }), []);
    assert.ok(((await rpcDeploy.account(first[0].split(' ').pop() as Address)) ?? new Uint8Array()).length > 0);
  } finally {
    bridge.stop();
  }
});
