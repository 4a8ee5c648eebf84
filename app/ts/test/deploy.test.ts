// The deploy script (app/ts/src/deploy.ts, run by migrations/deploy.ts) against LiteSVM: the
// same steps and idempotency checks it runs over RPC, with the built .so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keypair } from '@solana/web3.js';
import { generateKeyPairSigner, type Address, type Instruction, type TransactionSigner } from '@solana/kit';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deploy, type DeployChain, type DeployConfig } from '../src/deploy.ts';
import {
  ACTION_BORROW,
  POLICY_RECOMMENDED,
  PROGRAM_ID,
  PYTH_RECEIVER_PROGRAM_ID,
  getLendingMarketDecoder,
  getReserveDecoder,
  getSetReservePauseInstruction,
  getUpdateReserveConfigInstruction,
  marketPolicyOf,
  queuedChangeAddress,
  reserveAddress,
  type ReserveConfigArgs,
} from '../src/index.ts';
import { Chain, reserveConfig } from './helpers.ts';

/** A reserve config with the value caps a listing under the recommended policy's ramp needs
 *  (`ListingNeedsValueCaps`): $10M deposited, $5M borrowed. */
const capped = (overrides: Partial<ReserveConfigArgs> = {}) => reserveConfig({ depositLimitValue: 10_000_000n, borrowLimitValue: 5_000_000n, ...overrides });

class LiteSvmDeployChain implements DeployChain {
  sent = 0;
  constructor(readonly chain: Chain) {}
  get payer() {
    return this.chain.payer;
  }
  async account(address: Address) {
    const account = this.chain.svm.getAccount(address);
    return account.exists ? new Uint8Array(account.data) : null;
  }
  async isExecutable(address: Address) {
    const account = this.chain.svm.getAccount(address);
    return account.exists && account.executable;
  }
  async deployProgram(soPath: string) {
    this.chain.svm.addProgramFromFile(PROGRAM_ID, soPath);
  }
  async send(instructions: Instruction[], signers: TransactionSigner[] = []) {
    this.sent += 1;
    await this.chain.mustSend(instructions, signers);
  }
}

test('the deploy script creates the market and reserves once, then changes only what differs', async () => {
  const chain = await Chain.start(false);
  const deployChain = new LiteSvmDeployChain(chain);
  const dir = mkdtempSync(join(tmpdir(), 'solvent-deploy-'));
  writeFileSync(join(dir, 'market.json'), JSON.stringify([...Keypair.generate().secretKey]));
  const solMint = await chain.createMint(9, chain.payer.address);
  const usdcMint = await chain.createMint(6, chain.payer.address);
  const solOracle = (await generateKeyPairSigner()).address;
  const usdcOracle = (await generateKeyPairSigner()).address;
  const solFeed = 'ef'.repeat(32);
  const usdcFeed = 'ea'.repeat(32);
  chain.setPriceUpdate(solOracle, new Uint8Array(32).fill(0xef), 15_000_000_000n, 15_000_000_000n, -8);
  chain.setPriceUpdate(usdcOracle, new Uint8Array(32).fill(0xea), 1_000_000n, 1_000_000n, -6);
  const config: DeployConfig = {
    marketKeypair: 'market.json',
    quoteCurrency: 'USD',
    oracleProgram: PYTH_RECEIVER_PROGRAM_ID,
    liquidationLimits: { capValue: 25_000, dustValue: 20, protocolShareBps: 2_000 },
    reserves: [
      { symbol: 'SOL', mint: solMint, oracle: solOracle, oracleSource: 1, priceFeedId: solFeed, config: capped() },
      { symbol: 'USDC', mint: usdcMint, oracle: usdcOracle, oracleSource: 1, priceFeedId: usdcFeed, config: capped({ loanToValueBps: 8_500, liquidationThresholdBps: 9_000 }) },
    ],
  };

  // The recommended policy ramps listings in: a reserve without value caps would be refused by
  // init_reserve, so the script refuses the file before sending anything.
  const uncapped = structuredClone(config);
  uncapped.reserves[0].config = reserveConfig();
  await assert.rejects(deploy(deployChain, uncapped, { configDir: dir }), /^Error: SOL: the market's listing ramp \(604800 s\) needs a new reserve to have value caps/);
  assert.equal(deployChain.sent, 0);
  assert.equal(await deployChain.isExecutable(PROGRAM_ID), false, 'not even the program was deployed');

  // No policy in the config: the recommended one (a 2-day timelock). Under it init_reserve lists
  // a reserve only at LTV 0 and outside e-mode (`ListingNeedsZeroLtv`): the script lists each so
  // and queues its configured config (the risk step does not bound a move from LTV 0).
  const first = await deploy(deployChain, config, { configDir: dir });
  assert.equal(first.length, 5, first.join('\n'));
  assert.match(first[0], /deployed the program/);
  assert.match(first[1], /created market/);
  assert.equal(first[2], 'set the liquidation limits');
  const listedAtZero = (symbol: string, id: number) =>
    new RegExp(`^listed ${symbol} \\(reserve \\w+\\) at LTV 0 and outside e-mode \\(the market's timelock\\): its config is queued as config change #${id} for ${symbol}: executable by anyone after `);
  assert.match(first[3], listedAtZero('SOL', 0));
  assert.match(first[4], listedAtZero('USDC', 1));
  const marketKey = first[1].split(' ').pop() as Address;
  const reserveState = async (mint: Address) => getReserveDecoder().decode(chain.data(await reserveAddress(marketKey, mint)));
  for (const mint of [solMint, usdcMint]) {
    const listed = (await reserveState(mint)).config;
    assert.deepEqual([listed.loanToValueBps, listed.emodeGroups], [0, 0], 'listed at LTV 0, outside e-mode');
  }
  assert.equal((await reserveState(usdcMint)).config.liquidationThresholdBps, 9_000, 'the rest of the config as configured');
  // A rerun finds the changes queued: only the two refused updates are sent.
  const sentAfterFirst = deployChain.sent;
  assert.deepEqual(
    (await deploy(deployChain, config, { configDir: dir })).map((line) => line.replace(/after .*/, 'after …')),
    ['config change #0 for SOL is already queued: executable by anyone after …', 'config change #1 for USDC is already queued: executable by anyone after …'],
  );
  assert.equal(deployChain.sent, sentAfterFirst + 2);
  // Once due, a rerun executes them: the configured LTVs, in one step from 0.
  chain.advance(BigInt(POLICY_RECOMMENDED.timelockSecs));
  assert.deepEqual(await deploy(deployChain, config, { configDir: dir }), ['executed queued config change #0 for SOL', 'executed queued config change #1 for USDC']);
  assert.equal((await reserveState(solMint)).config.loanToValueBps, 7_500);
  assert.equal((await reserveState(usdcMint)).config.loanToValueBps, 8_500);
  const sentAfterListing = deployChain.sent;

  // Nothing differs: nothing is sent.
  assert.deepEqual(await deploy(deployChain, config, { configDir: dir }), []);
  assert.equal(deployChain.sent, sentAfterListing);

  // A risk change is applied with update_reserve_config, once.
  const changed = structuredClone(config);
  changed.reserves[1].config = capped({ loanToValueBps: 8_000, liquidationThresholdBps: 9_000 });
  assert.deepEqual(await deploy(deployChain, changed, { configDir: dir }), ["updated USDC's config"]);
  assert.deepEqual(await deploy(deployChain, changed, { configDir: dir }), []);
  assert.equal((await reserveState(usdcMint)).config.loanToValueBps, 8_000);
  const market = getLendingMarketDecoder().decode(chain.data(marketKey));
  assert.equal(market.liquidationCapValue, 25_000n);

  // The oracle is pinned: a config naming another one is refused, not silently applied.
  const otherOracle = structuredClone(changed);
  otherOracle.reserves[0].oracle = usdcOracle;
  await assert.rejects(deploy(deployChain, otherOracle, { configDir: dir }), /oracle is pinned/);

  // The recommended policy: a loosening change (a higher LTV) waits in the queue; a rerun finds
  // it there, and once due executes it.
  assert.deepEqual(marketPolicyOf(market), POLICY_RECOMMENDED);
  const loosened = structuredClone(changed);
  loosened.reserves[1].config = capped({ loanToValueBps: 8_300, liquidationThresholdBps: 9_000 });
  const queued = await deploy(deployChain, loosened, { configDir: dir });
  assert.equal(queued.length, 1, queued.join('\n'));
  assert.match(queued[0], /^queued config change #2 for USDC: executable by anyone after /);
  const sentAfterQueue = deployChain.sent;
  assert.match((await deploy(deployChain, loosened, { configDir: dir })).join('\n'), /^config change #2 for USDC is already queued/);
  assert.equal(deployChain.sent, sentAfterQueue + 1, 'only the update, refused: nothing queued twice');
  // The file changes again before the change is due: the stale one is withdrawn, the new one queued.
  const loosenedMore = structuredClone(changed);
  loosenedMore.reserves[1].config = capped({ loanToValueBps: 8_400, liquidationThresholdBps: 9_000 });
  assert.deepEqual(
    (await deploy(deployChain, loosenedMore, { configDir: dir })).map((line) => line.replace(/after .*/, 'after …')),
    ["cancelled queued config change #2 for USDC (it is not the config file's)", 'queued config change #3 for USDC: executable by anyone after …'],
  );
  assert.equal(chain.svm.getAccount(await queuedChangeAddress(marketKey, 2n)).exists, false);
  chain.advance(BigInt(POLICY_RECOMMENDED.timelockSecs));
  assert.deepEqual(await deploy(deployChain, loosenedMore, { configDir: dir }), ['executed queued config change #3 for USDC']);
  assert.equal(getReserveDecoder().decode(chain.data(await reserveAddress(marketKey, usdcMint))).config.loanToValueBps, 8_400);
  assert.deepEqual(await deploy(deployChain, loosenedMore, { configDir: dir }), []);

  // The liquidation limits move value between borrowers and liquidators: they wait too (a
  // market change: no target reserve).
  const newLimits = { ...loosenedMore, liquidationLimits: { capValue: 50_000, dustValue: 20, protocolShareBps: 2_000 } };
  assert.match((await deploy(deployChain, newLimits, { configDir: dir })).join('\n'), /^queued liquidation limits change #4: executable by anyone after /);
  chain.advance(BigInt(POLICY_RECOMMENDED.timelockSecs));
  assert.deepEqual(await deploy(deployChain, newLimits, { configDir: dir }), ['executed queued liquidation limits change #4']);
  assert.equal(getLendingMarketDecoder().decode(chain.data(marketKey)).liquidationCapValue, 50_000n);
  assert.deepEqual(await deploy(deployChain, newLimits, { configDir: dir }), []);

  // A pause is not a setting a config change can undo: one queued before it still runs.
  const loosenedAgain = structuredClone(newLimits);
  loosenedAgain.reserves[1].config = capped({ loanToValueBps: 8_500, liquidationThresholdBps: 9_000 });
  assert.match((await deploy(deployChain, loosenedAgain, { configDir: dir })).join('\n'), /^queued config change #5 for USDC: executable by anyone after /);
  const usdcReserve = await reserveAddress(marketKey, usdcMint);
  await chain.mustSend([getSetReservePauseInstruction({ lendingMarket: marketKey, authority: chain.payer, reserve: usdcReserve, actions: ACTION_BORROW })]);
  chain.advance(BigInt(POLICY_RECOMMENDED.timelockSecs));
  assert.deepEqual(await deploy(deployChain, loosenedAgain, { configDir: dir }), ['executed queued config change #5 for USDC']);
  assert.equal((await reserveState(usdcMint)).config.loanToValueBps, 8_500);
  assert.deepEqual(await deploy(deployChain, loosenedAgain, { configDir: dir }), []);

  // A queued change runs only on the reserve's settings it was queued against: after a config
  // change since (a lower deposit cap, at once), the program refuses it (`ChangeStale`), and the
  // script cancels it and queues it again.
  const widerBorrows = structuredClone(loosenedAgain);
  widerBorrows.reserves[1].config = capped({ loanToValueBps: 8_500, liquidationThresholdBps: 9_000, borrowLimitValue: 6_000_000n });
  assert.match((await deploy(deployChain, widerBorrows, { configDir: dir })).join('\n'), /^queued config change #6 for USDC: executable by anyone after /);
  const lowerDeposits = capped({ loanToValueBps: 8_500, liquidationThresholdBps: 9_000, depositLimitValue: 9_000_000n });
  await chain.mustSend([getUpdateReserveConfigInstruction({ lendingMarket: marketKey, authority: chain.payer, reserve: usdcReserve, config: lowerDeposits })]);
  chain.advance(BigInt(POLICY_RECOMMENDED.timelockSecs));
  assert.deepEqual(
    (await deploy(deployChain, widerBorrows, { configDir: dir })).map((line) => line.replace(/after .*/, 'after …')),
    ['cancelled queued config change #6 for USDC (ChangeStale: the settings it was queued against changed since); queued it again as config change #7 for USDC: executable by anyone after …'],
  );
  assert.equal(chain.svm.getAccount(await queuedChangeAddress(marketKey, 6n)).exists, false);
  chain.advance(BigInt(POLICY_RECOMMENDED.timelockSecs));
  assert.deepEqual(await deploy(deployChain, widerBorrows, { configDir: dir }), ['executed queued config change #7 for USDC']);
  const usdcConfig = (await reserveState(usdcMint)).config;
  assert.deepEqual([usdcConfig.borrowLimitValue, usdcConfig.depositLimitValue], [6_000_000n, 10_000_000n], "the file's caps");
  assert.deepEqual(await deploy(deployChain, widerBorrows, { configDir: dir }), []);
});

test('the committed localnet config (JSON: u64 limits as strings) deploys, once', async () => {
  const chain = await Chain.start(false);
  const deployChain = new LiteSvmDeployChain(chain);
  const dir = mkdtempSync(join(tmpdir(), 'solvent-localnet-'));
  const marketKeypair = Keypair.generate();
  writeFileSync(join(dir, 'market.json'), JSON.stringify([...marketKeypair.secretKey]));
  const config = JSON.parse(readFileSync(new URL('../../../migrations/localnet.json', import.meta.url), 'utf8')) as DeployConfig;
  config.marketKeypair = 'market.json';
  for (const [i, feed] of [0xef, 0xea].entries()) {
    const spec = config.reserves[i];
    spec.mint = await chain.createMint(i === 0 ? 9 : 6, chain.payer.address);
    spec.oracle = (await generateKeyPairSigner()).address;
    chain.setPriceUpdate(spec.oracle as Address, new Uint8Array(32).fill(feed), i === 0 ? 15_000_000_000n : 1_000_000n, i === 0 ? 15_000_000_000n : 1_000_000n, i === 0 ? -8 : -6);
  }
  // The 1-hour timelock: both reserves listed at LTV 0 with their config queued; a rerun within
  // the hour changes nothing, one after it executes them, and then nothing differs.
  const first = await deploy(deployChain, config, { configDir: dir });
  assert.equal(first.length, 5, first.join('\n'));
  assert.match(first[3], /^listed SOL .* at LTV 0 .*queued as config change #0 for SOL/);
  assert.match(first[4], /^listed USDC .* at LTV 0 .*queued as config change #1 for USDC/);
  assert.deepEqual(
    (await deploy(deployChain, config, { configDir: dir })).map((line) => line.replace(/after .*/, 'after …')),
    ['config change #0 for SOL is already queued: executable by anyone after …', 'config change #1 for USDC is already queued: executable by anyone after …'],
  );
  chain.advance(BigInt(config.policy!.timelockSecs));
  assert.deepEqual(await deploy(deployChain, config, { configDir: dir }), ['executed queued config change #0 for SOL', 'executed queued config change #1 for USDC']);
  assert.deepEqual(await deploy(deployChain, config, { configDir: dir }), []);
  const marketAddress = marketKeypair.publicKey.toBase58() as Address;
  const market = getLendingMarketDecoder().decode(chain.data(marketAddress));
  assert.deepEqual(marketPolicyOf(market), { ...config.policy, padding: new Uint8Array(2) }, 'the localnet policy: a 1-hour timelock, no listing ramp');
  for (const spec of config.reserves) {
    const listed = getReserveDecoder().decode(chain.data(await reserveAddress(marketAddress, spec.mint as Address)));
    assert.equal(listed.config.loanToValueBps, spec.config.loanToValueBps, `${spec.symbol}: the configured LTV`);
  }
});
