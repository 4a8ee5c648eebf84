// The Rust keeper (solvent-keeper, RpcChain through solana-rpc-client) against a real local
// network: a Surfnet (solvent-localnet) with the built .so. The market, its reserves and the
// positions are created with real transactions over JSON-RPC; the price move is the Surfnet
// rewriting the PriceUpdateV2 account (surfnet_setAccount); the keeper finds the unhealthy
// obligation with getProgramAccounts and liquidates it; in WebSocket mode (`--ws`) it wakes on
// the price account's change (accountSubscribe) rather than at its interval.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keypair } from '@solana/web3.js';
import { createKeyPairSignerFromBytes, generateKeyPairSigner, type Address } from '@solana/kit';
import { getBorrowInstruction, getObligationDecoder, refreshThenAct } from '../src/index.ts';
import { SOL_FEED, USDC_FEED } from '../src/scenario.ts';
import { cargoBinary, mustSendOn, runBinary, solHolder, solUsdcMarketOn, startLocalnet, surfnetChain } from './helpers.ts';

const KEEPER = cargoBinary('solvent-keeper');
const LOCALNET = cargoBinary('solvent-localnet');
const missing = [KEEPER, LOCALNET].filter((binary) => !existsSync(binary));

/** A Surfnet with the market, a borrower owing 1,000 USDC against 10 SOL at $150, and the
 *  liquidator's keypair file and token accounts (2,000 USDC, no SOL). */
async function liquidatableSetup(payer: Awaited<ReturnType<typeof generateKeyPairSigner>>, network: { rpc: string }) {
  const secret = Keypair.generate().secretKey;
  const liquidator = await createKeyPairSignerFromBytes(secret);
  const { chain } = await surfnetChain(network.rpc, payer);
  await chain.fund(liquidator.address);
  const setup = await solUsdcMarketOn(chain);
  const { market, sol, usdc, oracleOf } = setup;
  const holder = await solHolder(chain, setup, 10_000_000_000n, true);
  const borrower = { signer: holder.owner, obligation: holder.obligation };
  const borrowerUsdc = holder.usdcAccount;
  const obligation = getObligationDecoder().decode(await chain.data(borrower.obligation));
  const borrow = getBorrowInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: borrower.obligation, owner: borrower.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, destinationLiquidity: borrowerUsdc, marketAuthority: market.authority, amount: 1_000_000_000n });
  await mustSendOn(chain, await refreshThenAct(market.address, borrower.obligation, obligation, oracleOf, [usdc.reserve], borrow), [borrower.signer]);
  const dir = mkdtempSync(join(tmpdir(), 'solvent-keeper-surfnet-'));
  writeFileSync(join(dir, 'liquidator.json'), JSON.stringify([...secret]));
  const liquidatorUsdc = await chain.createTokenAccount(usdc.mint, liquidator.address, 2_000_000_000n);
  const liquidatorSol = await chain.createTokenAccount(sol.mint, liquidator.address, 0n);
  const keeperArgs = [
    '--market', market.address, '--keypair', join(dir, 'liquidator.json'),
    '--token-account', `${usdc.mint}=${liquidatorUsdc}`, '--token-account', `${sol.mint}=${liquidatorSol}`,
  ];
  // SOL falls to $120: $960 of threshold-weighted collateral against $1,000 of debt.
  const priceFalls = async () => {
    await chain.publishOnSurfnet(sol.oracle, SOL_FEED, 12_000_000_000n, -8);
    await chain.publishOnSurfnet(usdc.oracle, USDC_FEED, 1_000_000n, -6);
  };
  // Half the debt (the close factor, rounded up over the interest accrued since the borrow)
  // for that value × 1.05 of SOL at $120.
  const checkLiquidated = async (output: string) => {
    const repaid = 2_000_000_000n - (await chain.tokenBalance(liquidatorUsdc));
    assert.ok(repaid >= 500_000_000n && repaid <= 500_000_100n, `repaid ${repaid}\n${output}`);
    assert.equal(await chain.tokenBalance(liquidatorSol), (repaid * 1_050n) / 120n, output);
  };
  return { oracles: [sol.oracle, usdc.oracle], keeperArgs, priceFalls, checkLiquidated };
}

const skip = missing.length ? `${missing.join(', ')} not built (scripts/test.sh builds them)` : false;

test('the keeper binary liquidates on a Surfnet', { skip, timeout: 300_000 }, async () => {
  const payer = await generateKeyPairSigner();
  const network = await startLocalnet([payer.address]);
  try {
    const { keeperArgs, priceFalls, checkLiquidated } = await liquidatableSetup(payer, network);
    await priceFalls();
    const { code, output } = await runBinary(KEEPER, ['--url', network.rpc, ...keeperArgs, '--passes', '1']);
    assert.equal(code, 0, output);
    assert.match(output, /1 liquidatable; liquidated 1 in 1 calls \(0 orders executed, 0 soft deleverages, 0 clocks started or stopped; 0 failed, 0 paid in shares\)/, output);
    assert.match(output, /0 still liquidatable/, output);
    await checkLiquidated(output);
  } finally {
    network.stop();
  }
});

test('in WebSocket mode the keeper wakes on the price change and liquidates at once', { skip, timeout: 300_000 }, async () => {
  const payer = await generateKeyPairSigner();
  const network = await startLocalnet([payer.address]);
  try {
    const { oracles, keeperArgs, priceFalls, checkLiquidated } = await liquidatableSetup(payer, network);
    // An hour between rescans: only a notification can bring the second pass within the test.
    const child = spawn(KEEPER, ['--url', network.rpc, ...keeperArgs, '--ws', network.ws, '--interval-secs', '3600', '--passes', '2']);
    let output = '';
    const waiting: (() => void)[] = [];
    child.stdout.on('data', (chunk) => ((output += chunk), waiting.forEach((check) => check())));
    child.stderr.on('data', (chunk) => (output += chunk));
    const seen = (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const check = () => (pattern.test(output) ? resolve() : undefined);
        waiting.push(check);
        child.on('close', () => (pattern.test(output) ? resolve() : reject(new Error(`the keeper exited before ${pattern}:\n${output}`))));
        check();
      });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const deadline = setTimeout(() => child.kill(), 120_000);
    try {
      await seen(/watching over ws:\/\/\S+: the market's accounts and 2 oracle\(s\)/);
      await seen(/pass 1: .*0 liquidatable/);
      await priceFalls();
      assert.equal(await exited, 0, output);
    } finally {
      clearTimeout(deadline);
      child.kill();
    }
    // Woken by the price accounts rewritten (either may be reported first).
    assert.match(output, new RegExp(`woken by \\d+ change\\(s\\), first oracle (${oracles.join('|')})`), output);
    assert.match(output, /pass 2: .*1 liquidatable; liquidated 1 in 1 calls/, output);
    await checkLiquidated(output);
  } finally {
    network.stop();
  }
});
