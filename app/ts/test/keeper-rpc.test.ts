// The Rust keeper's RPC chain (app/src/keeper.rs, RpcChain through solana-rpc-client), run as
// the solvent-keeper binary against the JSON-RPC bridge in front of LiteSVM: it finds the
// unhealthy obligation over getProgramAccounts and liquidates it with real transactions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Keypair } from '@solana/web3.js';
import { createKeyPairSignerFromBytes, type Address } from '@solana/kit';
import { getBorrowInstruction, getDepositInstruction, getObligationDecoder, refreshThenAct } from '../src/index.ts';
import { newObligation, SOL_FEED, USDC_FEED } from '../src/scenario.ts';
import { Chain, cargoBinary, runBinary, solUsdcMarket } from './helpers.ts';
import { RpcBridge } from './rpc-bridge.ts';

const KEEPER = cargoBinary('solvent-keeper');

test('the keeper binary liquidates over JSON-RPC', { skip: existsSync(KEEPER) ? false : `${KEEPER} not built (scripts/test.sh builds it)` }, async () => {
  const chain = await Chain.start();
  const { svm, market, sol, usdc, oracleOf } = await solUsdcMarket(chain);
  const borrower = await newObligation(svm, market);
  const borrowerSol = await chain.createTokenAccount(sol.mint, borrower.signer.address, 10_000_000_000n);
  const borrowerUsdc = await chain.createTokenAccount(usdc.mint, borrower.signer.address, 0n);
  await chain.mustSend([getDepositInstruction({ lendingMarket: market.address, reserve: sol.reserve, obligation: borrower.obligation, owner: borrower.signer, liquidityMint: sol.mint, liquidityVault: sol.vault, sourceLiquidity: borrowerSol, amount: 10_000_000_000n })]);
  const borrow = getBorrowInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: borrower.obligation, owner: borrower.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, destinationLiquidity: borrowerUsdc, marketAuthority: market.authority, amount: 1_000_000_000n });
  const obligation = () => getObligationDecoder().decode(chain.data(borrower.obligation));
  await chain.mustSend(await refreshThenAct(market.address, borrower.obligation, obligation(), oracleOf, [usdc.reserve], borrow));

  // SOL falls to $120: $960 of threshold-weighted collateral against $1,000 of debt.
  chain.advance(10n);
  chain.setPriceUpdate(sol.oracle, SOL_FEED, 12_000_000_000n, 12_000_000_000n, -8);
  chain.setPriceUpdate(usdc.oracle, USDC_FEED, 1_000_000n, 1_000_000n, -6);

  // The liquidator: a keypair file, lamports, USDC inventory and an account for the SOL it takes.
  const secret = Keypair.generate().secretKey;
  const dir = mkdtempSync(join(tmpdir(), 'solvent-keeper-'));
  writeFileSync(join(dir, 'liquidator.json'), JSON.stringify([...secret]));
  const liquidator = await createKeyPairSignerFromBytes(secret);
  chain.svm.airdrop(liquidator.address, 10_000_000_000n as never);
  const liquidatorUsdc = await chain.createTokenAccount(usdc.mint, liquidator.address, 2_000_000_000n);
  const liquidatorSol = await chain.createTokenAccount(sol.mint, liquidator.address, 0n);

  const bridge = new RpcBridge(chain.svm);
  const url = await bridge.start();
  try {
    const { code, output } = await runBinary(KEEPER, [
      '--url', url, '--market', market.address, '--keypair', join(dir, 'liquidator.json'),
      '--token-account', `${usdc.mint}=${liquidatorUsdc}`, '--token-account', `${sol.mint}=${liquidatorSol}`, '--passes', '1',
    ]);
    assert.equal(code, 0, output);
    assert.match(output, /1 liquidatable; liquidated 1 in 1 calls \(0 orders executed, 0 soft deleverages, 0 clocks started or stopped; 0 failed, 0 paid in shares\)/, output);
    assert.match(output, /0 still liquidatable/, output);
  } finally {
    bridge.stop();
  }
  // Half the debt (the close factor; 10 s of interest put the debt a base unit over $1,000, and
  // the close factor rounds up) for that value × 1.05 of SOL at $120.
  const repaid = 2_000_000_000n - chain.tokenBalance(liquidatorUsdc);
  assert.ok(repaid >= 500_000_000n && repaid <= 500_000_010n, `repaid ${repaid}`);
  const received = chain.tokenBalance(liquidatorSol);
  assert.equal(received, (repaid * 1_050n) / 120n, `received ${received} for ${repaid}`);
});
