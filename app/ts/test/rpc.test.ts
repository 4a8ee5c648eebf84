// The RPC code paths for real, over HTTP, on a real local network: the client's scenario
// (RpcScenarioChain) and the deploy script (RpcDeployChain) against a Surfnet with the built .so
// (solvent-localnet). The scenario's price move is the Surfnet rewriting the price account, the
// timelock's hour a move of the Surfnet's clock (surfnet_timeTravel).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keypair } from '@solana/web3.js';
import { generateKeyPairSigner, type Address } from '@solana/kit';
import { runScenario } from '../src/scenario.ts';
import { RpcDeployChain, deploy, type DeployConfig } from '../src/deploy.ts';
import { cargoBinary, startLocalnet, surfnetChain } from './helpers.ts';

const LOCALNET = cargoBinary('solvent-localnet');

test('the scenario and the deploy script over JSON-RPC on a Surfnet', { skip: existsSync(LOCALNET) ? false : `${LOCALNET} not built (scripts/test.sh builds it)`, timeout: 300_000 }, async () => {
  const payer = await generateKeyPairSigner();
  const network = await startLocalnet([payer.address]);
  try {
    const { chain, solOracle: solPrice, usdcOracle: usdcPrice } = await surfnetChain(network.rpc, payer);
    const steps: string[] = [];
    await runScenario(Object.assign(chain, { publishPrice: chain.publishOnSurfnet.bind(chain) }), (line) => steps.push(line), 86_400);
    assert.ok(steps.some((line) => line.startsWith('borrowing 1,200 USDC refused as BorrowTooLarge')), steps.join('\n'));
    assert.ok(steps.some((line) => line.startsWith('SOL $150 -> $120; liquidated: 500 USDC repaid for 4.375 SOL')), steps.join('\n'));
    assert.ok(steps.some((line) => line.includes('vault balances equal the books')));

    // The deploy script over RPC: the program is there, so it creates the market and reserves
    // once; under the localnet's 1-hour timelock the reserves are listed at LTV 0 with their
    // configs queued, which a run an hour later executes.
    const dir = mkdtempSync(join(tmpdir(), 'solvent-rpc-deploy-'));
    writeFileSync(join(dir, 'market.json'), JSON.stringify([...Keypair.generate().secretKey]));
    const config = JSON.parse(readFileSync(new URL('../../../migrations/localnet.json', import.meta.url), 'utf8')) as DeployConfig;
    config.marketKeypair = 'market.json';
    config.reserves[0].mint = await chain.createMint(9);
    config.reserves[0].oracle = solPrice;
    config.reserves[1].mint = await chain.createMint(6);
    config.reserves[1].oracle = usdcPrice;
    const rpcDeploy = new RpcDeployChain(network.rpc, payer, '(the test payer)');
    const first = await deploy(rpcDeploy, config, { configDir: dir });
    assert.equal(first.length, 4, first.join('\n'));
    assert.match(first[2], /^listed SOL .* at LTV 0 .*queued as config change #0 for SOL/);
    assert.match(first[3], /^listed USDC .* at LTV 0 .*queued as config change #1 for USDC/);
    assert.deepEqual(
      (await deploy(rpcDeploy, config, { configDir: dir })).map((line) => line.replace(/after .*/, 'after …')),
      ['config change #0 for SOL is already queued: executable by anyone after …', 'config change #1 for USDC is already queued: executable by anyone after …'],
    );
    const before = await chain.clock();
    await chain.timeTravel(BigInt(config.policy!.timelockSecs) + 5n);
    assert.ok((await chain.clock()) >= before + BigInt(config.policy!.timelockSecs), 'the clock moved an hour');
    assert.deepEqual(await deploy(rpcDeploy, config, { configDir: dir }), ['executed queued config change #0 for SOL', 'executed queued config change #1 for USDC']);
    assert.deepEqual(await deploy(rpcDeploy, config, { configDir: dir }), []);
    assert.ok(((await rpcDeploy.account(first[0].split(' ').pop() as Address)) ?? new Uint8Array()).length > 0);
  } finally {
    network.stop();
  }
});
