// The TypeScript position math against the program on a real local network (a Surfnet with the
// built .so): `simulatePosition` refreshes in a simulation and decodes what the program wrote,
// and the answers of `refreshObligation`, `maxBorrow`, `liquidationPrice`, `bestDeleverage` /
// `quoteLiquidation` and the `liquidate` builder are checked against what the program then
// does with real transactions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createSolanaRpc, generateKeyPairSigner } from '@solana/kit';
import {
  cachedValues,
  getBorrowInstruction,
  getObligationDecoder,
  getObligationEncoder,
  isUnhealthy,
  liquidate,
  liquidationPrice,
  maxBorrow,
  quoteLiquidation,
  refreshObligation,
  refreshThenAct,
  bestDeleverage,
  simulatePosition,
} from '../src/index.ts';
import { SOL_FEED } from '../src/scenario.ts';
import { cargoBinary, mustSendOn, solHolder, solUsdcMarketOn, startLocalnet, surfnetChain } from './helpers.ts';

const LOCALNET = cargoBinary('solvent-localnet');

test('simulatePosition, maxBorrow, liquidationPrice and quoteLiquidation agree with the program on a Surfnet', { skip: existsSync(LOCALNET) ? false : `${LOCALNET} not built (scripts/test.sh builds it)`, timeout: 300_000 }, async () => {
  const payer = await generateKeyPairSigner();
  const liquidator = await generateKeyPairSigner();
  const network = await startLocalnet([payer.address, liquidator.address]);
  try {
    const rpc = createSolanaRpc(network.rpc);
    const { chain } = await surfnetChain(network.rpc, payer);
    const setup = await solUsdcMarketOn(chain);
    const { market, sol, usdc, oracleOf } = setup;
    const holder = await solHolder(chain, setup, 10_000_000_000n, true);
    const borrower = { signer: holder.owner, obligation: holder.obligation };
    const borrowerUsdc = holder.usdcAccount;

    // The position as the program refreshes it, with the USDC reserve it will borrow from.
    let simulated = await simulatePosition(rpc, { obligation: borrower.obligation, reserves: [usdc.reserve] });
    assert.equal(simulated.view.reserves.size, 2);
    // The engine's refresh of the refreshed accounts is the program's, byte for byte.
    const again = refreshObligation(simulated.view, simulated.obligation.data);
    assert.deepEqual(getObligationEncoder().encode(again.obligation), getObligationEncoder().encode(simulated.obligation.data));
    assert.deepEqual(simulated.values.health, cachedValues(simulated.obligation.data).health);

    // The most the program lends: 10 SOL at $150 × 75% less the confidence haircut the
    // conservative price takes; one base unit more is refused with the error maxBorrow names.
    const limit = maxBorrow(simulated.view, simulated.obligation.data, usdc.reserve);
    assert.ok(limit.amount > 1_000_000_000n && limit.amount <= 1_125_000_000n, `max borrow ${limit.amount}`);
    assert.equal(limit.refusedAbove, 'BorrowTooLarge');
    const state = getObligationDecoder().decode(await chain.data(borrower.obligation));
    const borrowOf = (amount: bigint) => getBorrowInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: borrower.obligation, owner: borrower.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, destinationLiquidity: borrowerUsdc, marketAuthority: market.authority, amount });
    const tooMuch = await chain.send(await refreshThenAct(market.address, borrower.obligation, state, oracleOf, [usdc.reserve], borrowOf(limit.amount + 1n)), [borrower.signer]);
    assert.ok(!tooMuch.ok && tooMuch.logs.some((line) => line.includes(`Error Code: ${limit.refusedAbove}`)), tooMuch.logs.join('\n'));
    await mustSendOn(chain, await refreshThenAct(market.address, borrower.obligation, state, oracleOf, [usdc.reserve], borrowOf(limit.amount)), [borrower.signer]);
    assert.equal(await chain.tokenBalance(borrowerUsdc), limit.amount);

    // The liquidation price: liquidatable at it, healthy a little above it (100 ticks: the
    // interest accruing while the test runs moves it by less).
    simulated = await simulatePosition(rpc, { obligation: borrower.obligation });
    const price = liquidationPrice(simulated.view, simulated.obligation.data, sol.reserve)!;
    assert.equal(price.exponent, -8);
    assert.ok(price.mantissa > 13_000_000_000n && price.mantissa < 15_000_000_000n, `liquidation price ${price.mantissa}`);
    await chain.publishOnSurfnet(sol.oracle, SOL_FEED, price.mantissa + 100n, -8);
    assert.ok(!isUnhealthy((await simulatePosition(rpc, { obligation: borrower.obligation })).values), 'healthy above the liquidation price');
    await chain.publishOnSurfnet(sol.oracle, SOL_FEED, price.mantissa, -8);
    simulated = await simulatePosition(rpc, { obligation: borrower.obligation });
    assert.ok(isUnhealthy(simulated.values), 'liquidatable at the liquidation price');

    // SOL at $135: the best call is a liquidation of the USDC debt for SOL; the program pays
    // the liquidator exactly what the quote says.
    await chain.publishOnSurfnet(sol.oracle, SOL_FEED, 13_500_000_000n, -8);
    simulated = await simulatePosition(rpc, { obligation: borrower.obligation });
    const best = bestDeleverage(simulated.view, simulated.obligation.data)!;
    assert.ok(best, 'an opportunity');
    assert.equal(best.mode.kind, 'liquidation');
    assert.equal(best.repayReserve, usdc.reserve);
    assert.equal(best.withdrawReserve, sol.reserve);
    assert.equal(best.quote.bonusBps, 500);
    assert.ok(best.profitWad > 0n);
    const quote = quoteLiquidation(simulated.view, simulated.obligation.data, { repayReserve: usdc.reserve, withdrawReserve: sol.reserve, maxRepay: best.quote.plan.repayAmount });
    assert.deepEqual(quote.plan, best.quote.plan);
    const liquidatorUsdc = await chain.createTokenAccount(usdc.mint, liquidator.address, 2_000_000_000n);
    const liquidatorSol = await chain.createTokenAccount(sol.mint, liquidator.address, 0n);
    const instructions = await liquidate(
      { market: market.address, obligation: borrower.obligation, liquidator, repayReserve: usdc.reserve, withdrawReserve: sol.reserve, amount: quote.plan.repayAmount, source: liquidatorUsdc, destination: liquidatorSol },
      { rpc },
    );
    await mustSendOn(chain, instructions, [liquidator]);
    assert.equal(2_000_000_000n - (await chain.tokenBalance(liquidatorUsdc)), quote.plan.repayAmount);
    assert.equal(await chain.tokenBalance(liquidatorSol), quote.payout.tokens);
    const after = getObligationDecoder().decode(await chain.data(borrower.obligation));
    assert.equal(after.deposits[0].depositedShares, simulated.obligation.data.deposits[0].depositedShares - quote.plan.seizedShares);
  } finally {
    network.stop();
  }
});
