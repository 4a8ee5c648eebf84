// The insurance fund through the TypeScript client, on the built .so in LiteSVM: the owner
// creates a reserve's fund, a staker stakes and asks out, and `readInsuranceFund` /
// `insuranceStakeValue` read the fund as the program counts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  getInitInsuranceFundInstruction,
  getInsuranceFundDecoder,
  getInsuranceStakeDecoder,
  getRequestUnstakeInstruction,
  getStakeInsuranceInstruction,
  insuranceFundAddress,
  insuranceStakeAddress,
  insuranceStakeValue,
  insuranceVaultAddress,
  programError,
  readInsuranceFund,
} from '../src/index.ts';
import { createMarket, listReserve, newObligation, reserveConfig, USDC_FEED } from '../src/scenario.ts';
import { Chain, liteSvmScenarioChain } from './helpers.ts';

test('a staker\'s position in the insurance fund reads as the program counts it', async () => {
  const chain = liteSvmScenarioChain(await Chain.start());
  const market = await createMarket(chain);
  const usdc = await listReserve(chain, market, 6, USDC_FEED, 1_000_000n, -6, reserveConfig());
  const fund = await insuranceFundAddress(usdc.reserve);
  const vault = await insuranceVaultAddress(usdc.reserve);
  const init = (cooldown: number) =>
    getInitInsuranceFundInstruction({
      lendingMarket: market.address,
      owner: chain.payer,
      reserve: usdc.reserve,
      liquidityMint: usdc.mint,
      insuranceFund: fund,
      insuranceVault: vault,
      marketAuthority: market.authority,
      unstakeCooldownSecs: cooldown,
      maxSlashBps: 5_000,
    });
  const refused = await chain.send([init(60)]);
  assert.ok(!refused.ok && refused.code !== undefined && programError(refused.code)?.name === 'InvalidInsuranceFund', 'a one-minute cooldown is refused');
  assert.ok((await chain.send([init(86_400)])).ok);
  const user = await newObligation(chain, market);
  const source = await chain.createTokenAccount(usdc.mint, user.signer.address, 2_000_000_000n);
  const stake = await insuranceStakeAddress(fund, user.signer.address);
  const staking = getStakeInsuranceInstruction({
    insuranceFund: fund,
    reserve: usdc.reserve,
    liquidityMint: usdc.mint,
    insuranceVault: vault,
    stake,
    owner: user.signer,
    sourceLiquidity: source,
    amount: 1_500_000_000n,
  });
  assert.ok((await chain.send([staking], [user.signer])).ok);
  assert.ok((await chain.send([getRequestUnstakeInstruction({ insuranceFund: fund, stake, owner: user.signer, shares: 500_000_000n })], [user.signer])).ok);
  const fundState = getInsuranceFundDecoder().decode(await chain.data(fund));
  const read = readInsuranceFund(fundState);
  assert.equal(read.assets, 1_500_000_000n);
  assert.equal(read.totalShares, 1_500_000_000n);
  assert.equal(read.shareValueWad, 10n ** 18n, 'one token per share');
  assert.equal(read.pendingShares, 500_000_000n);
  assert.equal(read.maxSlashBps, 5_000);
  const position = insuranceStakeValue(fundState, getInsuranceStakeDecoder().decode(await chain.data(stake)));
  assert.equal(position.shares, 1_500_000_000n - 1_000n, 'less the dead shares');
  assert.equal(position.pendingValue, 500_000_000n);
  assert.ok(position.unstakeAt > 0n);
});
