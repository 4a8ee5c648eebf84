// The core scenario through the client, written once against `ScenarioChain`: LiteSVM in
// `npm test` (ts/test/scenario.test.ts) and a JSON-RPC validator in scripts/localnet.sh
// (ts/src/localnet-scenario.ts). Instructions come from the Codama-generated @solana/kit client
// and from @anchor-lang/core's Program; every step is checked.
import assert from 'node:assert/strict';
import BN from 'bn.js';
import { PublicKey } from '@solana/web3.js';
import { AccountRole, generateKeyPairSigner, type Address, type Instruction, type KeyPairSigner, type TransactionSigner } from '@solana/kit';
import {
  DEAD_SHARES,
  NO_GUARDIAN,
  ORACLE_SOURCE_PYTH_PULL,
  POLICY_OFF,
  PYTH_RECEIVER_PROGRAM_ID,
  WAD,
  cachedValues,
  collateralMintAddress,
  feeVaultAddress,
  getBorrowInstruction,
  getDepositInstruction,
  getInitLendingMarketInstruction,
  getInitObligationInstruction,
  getInitReserveInstruction,
  getLendingMarketDecoder,
  getObligationDecoder,
  getRepayInstruction,
  getReserveDecoder,
  liquidityVaultAddress,
  marketAuthorityAddress,
  obligationAddress,
  readPosition,
  refreshThenAct,
  reserveAddress,
  type Obligation,
  type Reserve,
  type ReserveConfigArgs,
} from './index.ts';
import { anchorProgram, fromWeb3Instruction, parseEvents } from './anchor.ts';

export type Sent = { ok: true; computeUnits?: bigint; logs: string[] } | { ok: false; error: string; code?: number; name?: string; logs: string[] };

/** What the scenario needs from a chain. */
export interface ScenarioChain {
  payer: KeyPairSigner;
  send(instructions: Instruction[], signers?: TransactionSigner[]): Promise<Sent>;
  data(address: Address): Promise<Uint8Array>;
  fund(address: Address): Promise<void>;
  /** A mint whose authority is the payer. */
  createMint(decimals: number): Promise<Address>;
  /** A token account of `owner` holding `amount` (minted by the payer). */
  createTokenAccount(mint: Address, owner: Address, amount: bigint): Promise<Address>;
  tokenBalance(account: Address): Promise<bigint>;
  /** A PriceUpdateV2 account for `feed` at `price` (spot = EMA), published now. */
  priceAccount(feed: Uint8Array, price: bigint, exponent: number): Promise<Address>;
  /** Publishes a new price into an existing PriceUpdateV2 account, in a later slot. Only where
   *  the test can write accounts (LiteSVM): a real cluster needs Pyth's receiver for that. */
  publishPrice?(account: Address, feed: Uint8Array, price: bigint, exponent: number): Promise<void>;
}

const SOL = 1_000_000_000n;
const USDC = 1_000_000n;
export const SOL_FEED = new Uint8Array(32).fill(0xef);
export const USDC_FEED = new Uint8Array(32).fill(0xea);

/** LTV 75%, threshold 80%, 5% bonus, 20% price band; `maxPriceAgeSecs` 60 unless overridden. */
export function reserveConfig(overrides: Partial<ReserveConfigArgs> = {}): ReserveConfigArgs {
  const rateCurve = [
    { utilizationBps: 0, borrowRateBps: 0 },
    { utilizationBps: 8_000, borrowRateBps: 1_000 },
    { utilizationBps: 10_000, borrowRateBps: 10_000 },
    ...Array.from({ length: 5 }, () => ({ utilizationBps: 0, borrowRateBps: 0 })),
  ];
  return {
    loanToValueBps: 7_500,
    liquidationThresholdBps: 8_000,
    liquidationBonusBps: 500,
    closeFactorBps: 5_000,
    protocolTakeRateBps: 1_000,
    borrowFeeBps: 0,
    maxConfidenceBps: 200,
    flashLoanFeeBps: 9,
    maxPriceAgeSecs: 60,
    maxLiquidationBonusBps: 0,
    liquidationBonusRampSecs: 0,
    priceBandBps: 2_000,
    valuationMode: 0,
    riskFlags: 0,
    borrowWeightBps: 0,
    emodeGroups: 0,
    configPadding: 0,
    depositLimit: 2n ** 64n - 1n,
    borrowLimit: 2n ** 64n - 1n,
    depositLimitValue: 0n,
    borrowLimitValue: 0n,
    isolationDebtCeilingValue: 0n,
    insuranceShareBps: 0,
    outflowLimitBps: 0,
    outflowWindowSecs: 0,
    outflowFloor: 0n,
    rateCurve,
    ...overrides,
  };
}

async function mustSend(chain: ScenarioChain, instructions: Instruction[], signers: TransactionSigner[] = []) {
  const sent = await chain.send(instructions, signers);
  if (!sent.ok) throw new Error(`transaction failed: ${sent.error} ${sent.name ?? ''}\n${sent.logs.join('\n')}`);
  return sent;
}

export type ListedReserve = { reserve: Address; mint: Address; vault: Address; oracle: Address };
export type Market = { address: Address; authority: Address };

/** A new market owned by the payer, with pull-oracle prices, without crisis controls
 *  (`POLICY_OFF`, no guardian). */
export async function createMarket(chain: ScenarioChain): Promise<Market> {
  const market = await generateKeyPairSigner();
  const authority = await marketAuthorityAddress(market.address);
  const quote = new Uint8Array(32);
  quote.set(new TextEncoder().encode('USD'));
  await mustSend(
    chain,
    [getInitLendingMarketInstruction({ owner: chain.payer, lendingMarket: market, marketAuthority: authority, quoteCurrency: quote, oracleProgram: PYTH_RECEIVER_PROGRAM_ID, policy: POLICY_OFF, guardian: NO_GUARDIAN })],
    [market],
  );
  return { address: market.address, authority };
}

/** A new mint listed in `market`, priced by a PriceUpdateV2 account for `feed`. */
export async function listReserve(chain: ScenarioChain, market: Market, decimals: number, feed: Uint8Array, price: bigint, exponent: number, config: ReserveConfigArgs): Promise<ListedReserve> {
  const mint = await chain.createMint(decimals);
  const oracle = await chain.priceAccount(feed, price, exponent);
  const reserve = await reserveAddress(market.address, mint);
  const vault = await liquidityVaultAddress(reserve);
  await mustSend(chain, [
    getInitReserveInstruction({
      lendingMarket: market.address,
      owner: chain.payer,
      reserve,
      liquidityMint: mint,
      liquidityVault: vault,
      feeVault: await feeVaultAddress(reserve),
      collateralMint: await collateralMintAddress(reserve),
      marketAuthority: market.authority,
      oracle,
      config,
      oracleSource: ORACLE_SOURCE_PYTH_PULL,
      priceFeedId: feed,
    }),
  ]);
  return { reserve, mint, vault, oracle };
}

/** A funded user with an obligation in `market`. */
export async function newObligation(chain: ScenarioChain, market: Market): Promise<{ signer: KeyPairSigner; obligation: Address }> {
  const signer = await generateKeyPairSigner();
  await chain.fund(signer.address);
  const obligation = await obligationAddress(market.address, signer.address, 0);
  await mustSend(chain, [getInitObligationInstruction({ lendingMarket: market.address, owner: signer, obligation, obligationId: 0 })]);
  return { signer, obligation };
}

/** Runs the scenario; `log` gets a line per step. `maxPriceAgeSecs` lets a localnet run use
 *  preloaded prices that do not move. */
export async function runScenario(chain: ScenarioChain, log: (line: string) => void = () => {}, maxPriceAgeSecs = 60) {
  const market = await createMarket(chain);
  const authority = market.authority;
  assert.equal(getLendingMarketDecoder().decode(await chain.data(market.address)).owner, chain.payer.address);
  log(`market ${market.address}`);

  const list = (decimals: number, feed: Uint8Array, price: bigint, exponent: number, config: ReserveConfigArgs) =>
    listReserve(chain, market, decimals, feed, price, exponent, config);
  const sol = await list(9, SOL_FEED, 15_000_000_000n, -8, reserveConfig({ maxPriceAgeSecs }));
  const usdc = await list(6, USDC_FEED, 1_000_000n, -6, reserveConfig({ maxPriceAgeSecs, loanToValueBps: 8_500, liquidationThresholdBps: 9_000, liquidationBonusBps: 400, borrowFeeBps: 10 }));
  log(`reserves SOL ${sol.reserve}, USDC ${usdc.reserve}`);
  const oracleOf = (reserve: Address) => [sol, usdc].find((r) => r.reserve === reserve)!.oracle;
  const reserveState = async (r: ListedReserve): Promise<Reserve> => getReserveDecoder().decode(await chain.data(r.reserve));
  const obligationState = async (key: Address): Promise<Obligation> => getObligationDecoder().decode(await chain.data(key));

  const newUser = async (solAmount: bigint, usdcAmount: bigint) => {
    const { signer, obligation } = await newObligation(chain, market);
    const solAccount = await chain.createTokenAccount(sol.mint, signer.address, solAmount);
    const usdcAccount = await chain.createTokenAccount(usdc.mint, signer.address, usdcAmount);
    return { signer, obligation, solAccount, usdcAccount };
  };
  const deposit = (user: { signer: KeyPairSigner; obligation: Address }, r: ListedReserve, source: Address, amount: bigint) =>
    getDepositInstruction({ lendingMarket: market.address, reserve: r.reserve, obligation: user.obligation, owner: user.signer, liquidityMint: r.mint, liquidityVault: r.vault, sourceLiquidity: source, amount });

  const lender = await newUser(0n, 100_000n * USDC);
  await mustSend(chain, [deposit(lender, usdc, lender.usdcAccount, 100_000n * USDC)]);
  const borrower = await newUser(10n * SOL, 0n);
  await mustSend(chain, [deposit(borrower, sol, borrower.solAccount, 10n * SOL)]);
  assert.equal(await chain.tokenBalance(usdc.vault), 100_000n * USDC);
  assert.equal(await chain.tokenBalance(sol.vault), 10n * SOL);
  log('lender deposited 100,000 USDC; borrower deposited 10 SOL');

  const borrow = (amount: bigint) =>
    getBorrowInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: borrower.obligation, owner: borrower.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, destinationLiquidity: borrower.usdcAccount, marketAuthority: authority, amount });
  const tooMuch = await chain.send(await refreshThenAct(market.address, borrower.obligation, await obligationState(borrower.obligation), oracleOf, [usdc.reserve], borrow(1_200n * USDC)));
  assert.equal(tooMuch.ok, false);
  assert.equal(!tooMuch.ok && tooMuch.name, 'BorrowTooLarge', 'errors map to their IDL names');
  const borrowed = await mustSend(chain, await refreshThenAct(market.address, borrower.obligation, await obligationState(borrower.obligation), oracleOf, [usdc.reserve], borrow(1_000n * USDC)));
  assert.equal(await chain.tokenBalance(borrower.usdcAccount), 999_000_000n, '1,000 USDC less the 0.1% origination fee');
  assert.ok(parseEvents(borrowed.logs).some((e) => e.name === 'Borrowed'), 'the Borrowed event parses with the IDL');
  log('borrowing 1,200 USDC refused as BorrowTooLarge; borrowed 1,000 USDC (999 received)');

  // The client's position math is the program's: refresh, then compare to the cached values.
  const refreshOnly = async () => {
    const noop = { programAddress: '11111111111111111111111111111111' as Address, accounts: [], data: new Uint8Array() };
    await mustSend(chain, (await refreshThenAct(market.address, borrower.obligation, await obligationState(borrower.obligation), oracleOf, [], noop)).slice(0, -1));
  };
  const reservesNow = async () => new Map([[sol.reserve, await reserveState(sol)], [usdc.reserve, await reserveState(usdc)]]);
  await refreshOnly();
  let position = readPosition(await obligationState(borrower.obligation), await reservesNow());
  const cached = cachedValues(await obligationState(borrower.obligation));
  assert.deepEqual(position.health, cached.health, 'the health engine by kind, client = program');
  assert.equal(position.depositedValueWad, cached.depositedValueWad);
  assert.equal(position.borrowedValueWad, cached.borrowedValueWad);
  assert.equal(position.allowedBorrowValueWad, cached.allowedBorrowValueWad);
  assert.equal(position.unhealthyBorrowValueWad, cached.unhealthyBorrowValueWad);
  // The borrower made the SOL reserve's first deposit: DEAD_SHARES of it belong to nobody, so
  // the position holds 10 SOL less 1,000 lamports.
  const held = 10n * SOL - DEAD_SHARES;
  assert.equal(position.depositedValueWad, (held * 150n * WAD) / SOL);
  assert.ok(Math.abs(position.healthFactor! - 1.19999988) < 1e-6, `health ${position.healthFactor}`);
  assert.ok(Math.abs(position.liquidationPrice! - 125.0000125) < 1e-6, `liquidation price ${position.liquidationPrice}`);
  log(`position: $${(Number(position.depositedValueWad / 10n ** 12n) / 1e6).toFixed(2)} collateral, $1,000 debt, health ${position.healthFactor!.toFixed(4)}, liquidated at SOL $${position.liquidationPrice!.toFixed(2)} (client = program)`);

  let repayable = 1_000n * USDC;
  if (chain.publishPrice) {
    // SOL falls to $120 (spot and EMA): $1,200 × 80% = $960 < $1,000: liquidatable.
    await chain.publishPrice(sol.oracle, SOL_FEED, 12_000_000_000n, -8);
    await chain.publishPrice(usdc.oracle, USDC_FEED, 1_000_000n, -6);
    await refreshOnly();
    position = readPosition(await obligationState(borrower.obligation), await reservesNow());
    assert.equal(position.liquidatable, true);

    // A liquidator repays 500 USDC (the 50% close factor) with an instruction built by
    // @anchor-lang/core's Program from the same IDL.
    const liquidator = await newUser(0n, 1_000n * USDC);
    const program = anchorProgram();
    const pk = (a: string) => new PublicKey(a);
    const tokenProgram = pk('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
    const liquidate = fromWeb3Instruction(
      await program.methods
        .liquidate(new BN(500_000_000))
        .accountsStrict({
          lendingMarket: pk(market.address),
          obligation: pk(borrower.obligation),
          liquidator: pk(liquidator.signer.address),
          repayReserve: pk(usdc.reserve),
          repayLiquidityMint: pk(usdc.mint),
          repayLiquidityVault: pk(usdc.vault),
          sourceLiquidity: pk(liquidator.usdcAccount),
          withdrawReserve: pk(sol.reserve),
          withdrawLiquidityMint: pk(sol.mint),
          withdrawLiquidityVault: pk(sol.vault),
          destinationLiquidity: pk(liquidator.solAccount),
          marketAuthority: pk(authority),
          repayTokenProgram: tokenProgram,
          withdrawTokenProgram: tokenProgram,
          instructionsSysvar: pk('Sysvar1nstructions1111111111111111111111111'),
          // Optional (null: not passed): with a share account, what the SOL reserve's idle
          // liquidity cannot pay comes as shares. The untyped IDL's account map has no null.
          ...({ withdrawCollateralMint: null, destinationCollateral: null } as unknown as Record<string, PublicKey>),
        })
        .instruction(),
    );
    const signed = { ...liquidate, accounts: (liquidate.accounts ?? []).map((a) => (a.address === liquidator.signer.address ? { ...a, role: AccountRole.READONLY_SIGNER, signer: liquidator.signer } : a)) } as Instruction;
    const liquidation = await mustSend(chain, await refreshThenAct(market.address, borrower.obligation, await obligationState(borrower.obligation), oracleOf, [], signed), [liquidator.signer]);
    assert.equal(await chain.tokenBalance(liquidator.usdcAccount), 500n * USDC, 'paid 500 USDC');
    // $500 × 1.05 at $120: 4.375 SOL.
    assert.equal(await chain.tokenBalance(liquidator.solAccount), 4_375_000_000n);
    const event = parseEvents(liquidation.logs).find((e) => e.name === 'Liquidated');
    assert.ok(event, 'the Liquidated event parses');
    assert.equal(String(event.data.repay_amount ?? event.data.repayAmount), '500000000');
    const decodedByAnchor = program.coder.accounts.decode('obligation', Buffer.from(await chain.data(borrower.obligation)));
    const decodedByKit = await obligationState(borrower.obligation);
    assert.equal(decodedByAnchor.deposits[0].depositedShares.toString(), decodedByKit.deposits[0].depositedShares.toString());
    assert.equal(decodedByKit.deposits[0].depositedShares, held - 4_375_000_000n);
    repayable = 500n * USDC;
    log('SOL $150 -> $120; liquidated: 500 USDC repaid for 4.375 SOL (instruction built by Anchor Program)');
  } else {
    log('price move and liquidation skipped: moving a PriceUpdateV2 price needs Pyth\'s receiver or a cluster that writes accounts (a Surfnet)');
  }

  // The borrower repays everything that is left (u64::MAX: the whole debt, rounded up).
  // One USDC more than the principal: interest accrues while the clock runs (a real network's).
  const topUpAmount = repayable + USDC;
  const topUp = await chain.createTokenAccount(usdc.mint, borrower.signer.address, topUpAmount);
  await mustSend(chain, [
    getRepayInstruction({ reserve: usdc.reserve, obligation: borrower.obligation, repayer: borrower.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, sourceLiquidity: topUp, amount: 2n ** 64n - 1n }),
  ], [borrower.signer]);
  assert.equal((await obligationState(borrower.obligation)).borrows[0].borrowReserve, '11111111111111111111111111111111', 'no debt left');
  const repaid = topUpAmount - (await chain.tokenBalance(topUp));
  assert.ok(repaid >= repayable && repaid < repayable + USDC, `repaid ${repaid}`);
  assert.equal(await chain.tokenBalance(usdc.vault), (await reserveState(usdc)).availableAmount);
  assert.equal(await chain.tokenBalance(sol.vault), (await reserveState(sol)).availableAmount);
  log(`repaid the rest (${repaid} base units of USDC); vault balances equal the books`);
}
