// The Rust keeper (solvent-keeper, RpcChain through solana-rpc-client) against a real local
// network: a Surfnet (solvent-localnet) with the built .so. The market, its reserves and the
// positions are created with real transactions over JSON-RPC; the price move is the Surfnet
// rewriting the PriceUpdateV2 account (surfnet_setAccount); the keeper finds the unhealthy
// obligation with getProgramAccounts and liquidates it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keypair } from '@solana/web3.js';
import { createKeyPairSignerFromBytes, generateKeyPairSigner, type Address } from '@solana/kit';
import { getBorrowInstruction, getDepositInstruction, getObligationDecoder, refreshThenAct } from '../src/index.ts';
import { newObligation, SOL_FEED, USDC_FEED } from '../src/scenario.ts';
import { cargoBinary, runBinary, solUsdcMarketOn, startLocalnet, surfnetChain } from './helpers.ts';

const KEEPER = cargoBinary('solvent-keeper');
const LOCALNET = cargoBinary('solvent-localnet');
const missing = [KEEPER, LOCALNET].filter((binary) => !existsSync(binary));

test('the keeper binary liquidates on a Surfnet', { skip: missing.length ? `${missing.join(', ')} not built (scripts/test.sh builds them)` : false, timeout: 300_000 }, async () => {
  const payer = await generateKeyPairSigner();
  const secret = Keypair.generate().secretKey;
  const liquidator = await createKeyPairSignerFromBytes(secret);
  const network = await startLocalnet([payer.address, liquidator.address]);
  try {
    const { chain } = await surfnetChain(network.rpc, payer);
    const { market, sol, usdc, oracleOf } = await solUsdcMarketOn(chain);
    const must = async (sent: Promise<{ ok: boolean; error?: string; logs: string[] }>) => {
      const result = await sent;
      assert.ok(result.ok, `${result.error}\n${result.logs.join('\n')}`);
    };

    const borrower = await newObligation(chain, market);
    const borrowerSol = await chain.createTokenAccount(sol.mint, borrower.signer.address, 10_000_000_000n);
    const borrowerUsdc = await chain.createTokenAccount(usdc.mint, borrower.signer.address, 0n);
    await must(chain.send([getDepositInstruction({ lendingMarket: market.address, reserve: sol.reserve, obligation: borrower.obligation, owner: borrower.signer, liquidityMint: sol.mint, liquidityVault: sol.vault, sourceLiquidity: borrowerSol, amount: 10_000_000_000n })], [borrower.signer]));
    const obligation = getObligationDecoder().decode(await chain.data(borrower.obligation));
    const borrow = getBorrowInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: borrower.obligation, owner: borrower.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, destinationLiquidity: borrowerUsdc, marketAuthority: market.authority, amount: 1_000_000_000n });
    await must(chain.send(await refreshThenAct(market.address, borrower.obligation, obligation, oracleOf, [usdc.reserve], borrow), [borrower.signer]));

    // SOL falls to $120: $960 of threshold-weighted collateral against $1,000 of debt.
    await chain.publishOnSurfnet(sol.oracle, SOL_FEED, 12_000_000_000n, -8);
    await chain.publishOnSurfnet(usdc.oracle, USDC_FEED, 1_000_000n, -6);

    const dir = mkdtempSync(join(tmpdir(), 'solvent-keeper-surfnet-'));
    writeFileSync(join(dir, 'liquidator.json'), JSON.stringify([...secret]));
    const liquidatorUsdc = await chain.createTokenAccount(usdc.mint, liquidator.address, 2_000_000_000n);
    const liquidatorSol = await chain.createTokenAccount(sol.mint, liquidator.address, 0n);
    const { code, output } = await runBinary(KEEPER, [
      '--url', network.rpc, '--market', market.address, '--keypair', join(dir, 'liquidator.json'),
      '--token-account', `${usdc.mint}=${liquidatorUsdc}`, '--token-account', `${sol.mint}=${liquidatorSol}`, '--passes', '1',
    ]);
    assert.equal(code, 0, output);
    assert.match(output, /1 liquidatable; liquidated 1 in 1 calls \(0 orders executed, 0 soft deleverages, 0 clocks started or stopped; 0 failed, 0 paid in shares\)/, output);
    assert.match(output, /0 still liquidatable/, output);
    // Half the debt (the close factor, rounded up over the interest accrued since the borrow)
    // for that value × 1.05 of SOL at $120.
    const repaid = 2_000_000_000n - (await chain.tokenBalance(liquidatorUsdc));
    assert.ok(repaid >= 500_000_000n && repaid <= 500_000_100n, `repaid ${repaid}`);
    assert.equal(await chain.tokenBalance(liquidatorSol), (repaid * 1_050n) / 120n, output);
  } finally {
    network.stop();
  }
});
