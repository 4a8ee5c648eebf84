// Dynamic margin in the TypeScript valuation: `readPosition` weighs with the weights
// refresh_reserve computed (volatility haircut, bounded threshold) and the size premium, equal to
// the program's cached values on the built .so in LiteSVM; `sizePremiumBps` is the program's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Address } from '@solana/kit';
import {
  DYNAMIC_SIZE,
  DYNAMIC_VOLATILITY,
  annualVolatility,
  cachedValues,
  getDepositInstruction,
  getObligationDecoder,
  getReserveDecoder,
  getSetDynamicMarginInstruction,
  readPosition,
  refreshThenAct,
  sizePremiumBps,
  type DynamicMarginConfig,
  type Reserve,
} from '../src/index.ts';
import { createMarket, listReserve, newObligation, reserveConfig, SOL_FEED, USDC_FEED } from '../src/scenario.ts';
import { Chain, liteSvmScenarioChain } from './helpers.ts';

const WAD = 10n ** 18n;
const off: DynamicMarginConfig = {
  flags: 0,
  padding: new Uint8Array(3),
  volSampleSecs: 0,
  volHalfLifeSecs: 0,
  volHorizonSecs: 0,
  volZBps: 0,
  maxThresholdDropBpsPerHour: 0,
  thresholdHysteresisBps: 0,
  sizePremiumBps: 0,
  maxSizePremiumBps: 0,
  padding2: new Uint8Array(4),
  liquidityDepthValue: 0n,
  concentrationLimitValue: 0n,
};

test('the size premium is the program\'s', () => {
  const config = { ...off, flags: DYNAMIC_SIZE, sizePremiumBps: 1_000, maxSizePremiumBps: 3_000, liquidityDepthValue: 1_000_000n };
  assert.equal(sizePremiumBps(config, 1_000_000n * WAD), 1_000);
  assert.equal(sizePremiumBps(config, 250_000n * WAD), 500);
  assert.equal(sizePremiumBps(config, 4_000_000n * WAD), 2_000);
  assert.equal(sizePremiumBps(config, 100_000_000n * WAD), 3_000);
  assert.equal(sizePremiumBps(config, 10n * WAD), 4);
  assert.equal(sizePremiumBps(off, 1_000_000n * WAD), 0);
});

test('readPosition values with dynamic margin as the program does', async () => {
  const svm = await Chain.start();
  const chain = liteSvmScenarioChain(svm);
  const market = await createMarket(chain);
  const sol = await listReserve(chain, market, 9, SOL_FEED, 15_000_000_000n, -8, reserveConfig({ maxPriceAgeSecs: 600 }));
  const usdc = await listReserve(chain, market, 6, USDC_FEED, 1_000_000n, -6, reserveConfig({ maxPriceAgeSecs: 600 }));
  const dynamic = {
    ...off,
    flags: DYNAMIC_VOLATILITY | DYNAMIC_SIZE,
    volSampleSecs: 5,
    volHalfLifeSecs: 600,
    volHorizonSecs: 3_600,
    volZBps: 23_300,
    maxThresholdDropBpsPerHour: 100,
    thresholdHysteresisBps: 50,
    sizePremiumBps: 1_000,
    maxSizePremiumBps: 3_000,
    liquidityDepthValue: 100_000n,
  };
  assert.ok((await chain.send([getSetDynamicMarginInstruction({ lendingMarket: market.address, owner: chain.payer, reserve: sol.reserve, config: dynamic })])).ok);
  const user = await newObligation(chain, market);
  const solAccount = await chain.createTokenAccount(sol.mint, user.signer.address, 100n * 10n ** 9n);
  const deposit = getDepositInstruction({ lendingMarket: market.address, reserve: sol.reserve, obligation: user.obligation, owner: user.signer, liquidityMint: sol.mint, liquidityVault: sol.vault, sourceLiquidity: solAccount, amount: 100n * 10n ** 9n });
  assert.ok((await chain.send([deposit], [user.signer])).ok);
  const oracleOf = (reserve: Address) => (reserve === sol.reserve ? sol.oracle : usdc.oracle);
  const reserves = async () => new Map<Address, Reserve>([[sol.reserve, getReserveDecoder().decode(await chain.data(sol.reserve))], [usdc.reserve, getReserveDecoder().decode(await chain.data(usdc.reserve))]]);
  const noop = { programAddress: '11111111111111111111111111111111' as Address, accounts: [], data: new Uint8Array() };
  // SOL swings 5% every 10 seconds: the estimate climbs and the weights follow.
  for (let i = 0; i < 12; i++) {
    const price = i % 2 === 0 ? 15_750_000_000n : 14_250_000_000n;
    await chain.publishPrice!(sol.oracle, SOL_FEED, price, -8);
    await chain.publishPrice!(usdc.oracle, USDC_FEED, 1_000_000n, -6);
    const obligation = getObligationDecoder().decode(await chain.data(user.obligation));
    const refresh = (await refreshThenAct(market.address, user.obligation, obligation, oracleOf, [sol.reserve, usdc.reserve], noop)).slice(0, -1);
    assert.ok((await chain.send(refresh)).ok);
    const state = getObligationDecoder().decode(await chain.data(user.obligation));
    const position = readPosition(state, await reserves());
    assert.deepEqual(position.health, cachedValues(state).health, `step ${i}: client = program`);
  }
  const solState = (await reserves()).get(sol.reserve)!;
  const position = readPosition(getObligationDecoder().decode(await chain.data(user.obligation)), await reserves());
  assert.ok(annualVolatility(solState) > 1, `σ ${annualVolatility(solState)}`);
  assert.ok(solState.dynamic.ltvBps < 7_500, `haircut LTV ${solState.dynamic.ltvBps}`);
  assert.equal(position.deposits[0].loanToValueBps, Math.max(0, solState.dynamic.ltvBps - sizePremiumBps(dynamic, position.deposits[0].valueWad)));
  assert.equal(position.deposits[0].liquidationThresholdBps, solState.dynamic.thresholdBps);
});
