// One-transaction leverage from TypeScript (`src/leverage.ts`) on a Surfnet with the built .so:
// open 3x on 10 SOL against USDC through a flash loan and a stand-in swap (a market maker at the
// oracle price less 0.3%, as the Rust tests do), then close it, each in one transaction (the
// close sent by sendSolventTransaction with a lookup table of the market's accounts); the
// program books what the plan predicted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createSolanaRpc, generateKeyPairSigner } from '@solana/kit';
import { getObligationDecoder, LeverageContext, LeverageError, OracleSwapStandIn, planClose, planLeverage, readWad, sendSolventTransaction, simulatePosition } from '../src/index.ts';
import { writeLookupTable } from '../src/surfnet.ts';
import { cargoBinary, mustSendOn, solHolder, solUsdcMarketOn, standInSwap, startLocalnet, surfnetChain } from './helpers.ts';

const LOCALNET = cargoBinary('solvent-localnet');
const SOL = 1_000_000_000n;

test('leverage opens 3x and closes in one transaction each, as planned', { skip: existsSync(LOCALNET) ? false : `${LOCALNET} not built (scripts/test.sh builds it)`, timeout: 300_000 }, async () => {
  const payer = await generateKeyPairSigner();
  const network = await startLocalnet([payer.address]);
  try {
    const rpc = createSolanaRpc(network.rpc);
    const { chain } = await surfnetChain(network.rpc, payer);
    const setup = await solUsdcMarketOn(chain);
    const { market, sol, usdc } = setup;
    const { owner, obligation, solAccount: traderSol, usdcAccount: traderUsdc } = await solHolder(chain, setup, 10n * SOL, false);
    const trader = { signer: owner, obligation };
    const swap = await standInSwap(chain, setup);
    const maker = swap.maker;
    const sides = { owner: trader.signer, collateral: { reserve: sol.reserve, userAccount: traderSol }, debt: { reserve: usdc.reserve, userAccount: traderUsdc } };

    let context = await LeverageContext.fromSimulation(await simulatePosition(rpc, { obligation: trader.obligation, reserves: [sol.reserve, usdc.reserve] }), sides);
    // 75% LTV: 4x in theory, 3.75x after the safety margin; above it the refusal names the maximum.
    assert.equal(context.maxLeverageBps(), 37_500n);
    await assert.rejects(planLeverage(context, 10n * SOL, 40_000n, swap), (error: unknown) => error instanceof LeverageError && error.reason === 'TargetTooHigh' && error.maximumBps === 37_500n);
    await assert.rejects(planLeverage(context, 10n * SOL, 9_000n, swap), (error: unknown) => error instanceof LeverageError && error.reason === 'TargetBelowOne');

    const open = await planLeverage(context, 10n * SOL, 30_000n, swap);
    assert.equal(open.kind, 'leverUp');
    assert.ok(open.after.leverageBps <= 30_000n && open.after.leverageBps > 29_900n, `leverage ${open.after.leverageBps}`);
    await mustSendOn(chain, open.instructions, [trader.signer, maker]);
    const opened = getObligationDecoder().decode(await chain.data(trader.obligation));
    assert.equal(opened.deposits[0].depositedShares, open.after.collateralShares);
    assert.equal(readWad(opened.borrows[0].borrowedAmountWad), open.after.debtWad);
    assert.equal(await chain.tokenBalance(traderSol), 10n * SOL + open.collateralBalanceChange);
    assert.equal(await chain.tokenBalance(traderUsdc), open.debtBalanceChange);
    assert.equal(readWad(opened.allowedBorrowValueWad), open.after.values.health.initial.assetsWad);

    // The close sent as a user sends it: with a lookup table of the market's accounts (given
    // to the swap provider), its compute limit sized by simulation.
    const c = context.collateral.keys;
    const d = context.debt.keys;
    const tableAddresses = [market.address, context.marketAuthority, c.reserve, c.mint, c.vault, c.oracle, d.reserve, d.mint, d.vault, d.oracle, traderSol, traderUsdc, ...swap.makerAccounts.values()];
    const table = await writeLookupTable(chain, payer.address, tableAddresses);
    const withTable = new OracleSwapStandIn(swap.maker, swap.makerAccounts, swap.feeBps, { [table]: tableAddresses });
    context = await LeverageContext.fromSimulation(await simulatePosition(rpc, { obligation: trader.obligation }), sides);
    const close = await planClose(context, withTable);
    assert.deepEqual(close.addressLookupTables, { [table]: tableAddresses });
    assert.equal(close.kind, 'close');
    const [solBefore, usdcBefore] = [await chain.tokenBalance(traderSol), await chain.tokenBalance(traderUsdc)];
    const sent = await sendSolventTransaction({ rpc, feePayer: payer, instructions: close.instructions, addressLookupTables: close.addressLookupTables });
    assert.equal(sent.limitSource, 'simulation');
    const landed = await rpc.getTransaction(sent.signature, { commitment: 'confirmed', encoding: 'json', maxSupportedTransactionVersion: 0 }).send();
    const message = landed?.transaction.message;
    assert.equal(message && 'addressTableLookups' in message ? message.addressTableLookups?.length : 0, 1, 'sent with the lookup table');
    const closed = getObligationDecoder().decode(await chain.data(trader.obligation));
    assert.equal(closed.deposits[0].depositedShares, 0n, 'collateral withdrawn');
    assert.equal(closed.borrows[0].borrowReserve, '11111111111111111111111111111111', 'debt repaid');
    assert.equal(await chain.tokenBalance(traderSol), solBefore + close.collateralBalanceChange);
    // The debt repaid is the debt when the transaction ran: interest since the simulation comes
    // out of the flash loan's margin.
    const usdcChange = (await chain.tokenBalance(traderUsdc)) - usdcBefore;
    assert.ok(usdcChange <= close.debtBalanceChange && close.debtBalanceChange - usdcChange <= close.flashAmount - close.repayAmount, `USDC change ${usdcChange} vs ${close.debtBalanceChange}`);
  } finally {
    network.stop();
  }
});
