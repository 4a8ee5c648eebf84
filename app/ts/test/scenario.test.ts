// The core scenario through the TypeScript client, on the built .so in LiteSVM with the real
// SPL Token program: market, two reserves (Pyth pull-oracle accounts), lender deposit, borrower
// deposit and borrow, a price move, liquidation, repay. Instructions come from the
// Codama-generated @solana/kit client and from @anchor-lang/core's Program; accounts are decoded
// by both and checked against each other and against token balances.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import BN from 'bn.js';
import { PublicKey } from '@solana/web3.js';
import { AccountRole, generateKeyPairSigner, type Address, type Instruction, type KeyPairSigner } from '@solana/kit';
import {
  ORACLE_SOURCE_PYTH_PULL,
  PYTH_RECEIVER_PROGRAM_ID,
  WAD,
  anchorProgram,
  cachedValues,
  collateralMintAddress,
  feeVaultAddress,
  fromWeb3Instruction,
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
  parseEvents,
  readPosition,
  refreshThenAct,
  reserveAddress,
  type Obligation,
  type Reserve,
} from '../src/index.ts';
import { Chain, reserveConfig } from './helpers.ts';

const SOL = 1_000_000_000n;
const USDC = 1_000_000n;
const SOL_FEED = new Uint8Array(32).fill(0xef);
const USDC_FEED = new Uint8Array(32).fill(0xea);

type TestReserve = { reserve: Address; mint: Address; vault: Address; oracle: Address };

async function listReserve(chain: Chain, market: Address, decimals: number, feed: Uint8Array, price: bigint, exponent: number, config: ReserveConfigArgs): Promise<TestReserve> {
  const mint = await chain.createMint(decimals, chain.payer.address);
  const oracle = (await generateKeyPairSigner()).address;
  chain.setPriceUpdate(oracle, feed, price, price, exponent);
  const reserve = await reserveAddress(market, mint);
  const vault = await liquidityVaultAddress(reserve);
  await chain.mustSend([
    getInitReserveInstruction({
      lendingMarket: market,
      owner: chain.payer,
      reserve,
      liquidityMint: mint,
      liquidityVault: vault,
      feeVault: await feeVaultAddress(reserve),
      collateralMint: await collateralMintAddress(reserve),
      marketAuthority: await marketAuthorityAddress(market),
      oracle,
      config,
      oracleSource: ORACLE_SOURCE_PYTH_PULL,
      priceFeedId: feed,
    }),
  ]);
  return { reserve, mint, vault, oracle };
}

test('the core scenario through the TypeScript client', async () => {
  const chain = await Chain.start();
  const market = await generateKeyPairSigner();
  const quote = new Uint8Array(32);
  quote.set(new TextEncoder().encode('USD'));
  await chain.mustSend(
    [
      getInitLendingMarketInstruction({
        owner: chain.payer,
        lendingMarket: market,
        marketAuthority: await marketAuthorityAddress(market.address),
        quoteCurrency: quote,
        oracleProgram: PYTH_RECEIVER_PROGRAM_ID,
      }),
    ],
    [market],
  );
  const marketState = getLendingMarketDecoder().decode(chain.data(market.address));
  assert.equal(marketState.owner, chain.payer.address);

  const sol = await listReserve(chain, market.address, 9, SOL_FEED, 15_000_000_000n, -8, reserveConfig());
  const usdc = await listReserve(chain, market.address, 6, USDC_FEED, 1_000_000n, -6, reserveConfig({ loanToValueBps: 8_500, liquidationThresholdBps: 9_000, liquidationBonusBps: 400, borrowFeeBps: 10 }));
  const oracleOf = (reserve: Address) => [sol, usdc].find((r) => r.reserve === reserve)!.oracle;
  const reserveState = (r: TestReserve): Reserve => getReserveDecoder().decode(chain.data(r.reserve));
  const obligationState = (key: Address): Obligation => getObligationDecoder().decode(chain.data(key));

  const newUser = async (solAmount: bigint, usdcAmount: bigint) => {
    const signer = await generateKeyPairSigner();
    chain.svm.airdrop(signer.address, 10_000_000_000n as never);
    const obligation = await obligationAddress(market.address, signer.address, 0);
    await chain.mustSend([getInitObligationInstruction({ lendingMarket: market.address, owner: signer, obligation, obligationId: 0 })]);
    const solAccount = await chain.createTokenAccount(sol.mint, signer.address, solAmount);
    const usdcAccount = await chain.createTokenAccount(usdc.mint, signer.address, usdcAmount);
    return { signer, obligation, solAccount, usdcAccount };
  };
  const deposit = (user: { signer: KeyPairSigner; obligation: Address }, r: TestReserve, source: Address, amount: bigint) =>
    getDepositInstruction({ lendingMarket: market.address, reserve: r.reserve, obligation: user.obligation, owner: user.signer, liquidityMint: r.mint, liquidityVault: r.vault, sourceLiquidity: source, amount });

  // The lender supplies 100,000 USDC; the borrower deposits 10 SOL.
  const lender = await newUser(0n, 100_000n * USDC);
  await chain.mustSend([deposit(lender, usdc, lender.usdcAccount, 100_000n * USDC)]);
  const borrower = await newUser(10n * SOL, 0n);
  await chain.mustSend([deposit(borrower, sol, borrower.solAccount, 10n * SOL)]);
  assert.equal(chain.tokenBalance(usdc.vault), 100_000n * USDC);
  assert.equal(chain.tokenBalance(sol.vault), 10n * SOL);

  // Borrow 1,000 USDC at SOL $150, refreshing first in the same transaction.
  const authority = await marketAuthorityAddress(market.address);
  const borrow = (amount: bigint) =>
    getBorrowInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: borrower.obligation, owner: borrower.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, destinationLiquidity: borrower.usdcAccount, marketAuthority: authority, amount });
  const tooMuch = await chain.send(await refreshThenAct(borrower.obligation, obligationState(borrower.obligation), oracleOf, [usdc.reserve], borrow(1_200n * USDC)));
  assert.equal(tooMuch.ok, false);
  assert.equal(!tooMuch.ok && tooMuch.name, 'BorrowTooLarge', 'errors map to their IDL names');
  const borrowed = await chain.mustSend(await refreshThenAct(borrower.obligation, obligationState(borrower.obligation), oracleOf, [usdc.reserve], borrow(1_000n * USDC)));
  assert.equal(chain.tokenBalance(borrower.usdcAccount), 999_000_000n, '1,000 USDC less the 0.1% origination fee');
  assert.ok(parseEvents(borrowed.logs).some((e) => e.name === 'Borrowed'), 'the Borrowed event parses with the IDL');

  // The client's position math is the program's: refresh, then compare to the cached values.
  const refreshOnly = async () => {
    const ixs = await refreshThenAct(borrower.obligation, obligationState(borrower.obligation), oracleOf, [], { programAddress: '11111111111111111111111111111111' as Address, accounts: [], data: new Uint8Array() } as Instruction);
    await chain.mustSend(ixs.slice(0, -1));
  };
  await refreshOnly();
  const reserves = new Map([
    [sol.reserve, reserveState(sol)],
    [usdc.reserve, reserveState(usdc)],
  ]);
  let position = readPosition(obligationState(borrower.obligation), reserves);
  const cached = cachedValues(obligationState(borrower.obligation));
  assert.equal(position.depositedValueWad, cached.depositedValueWad);
  assert.equal(position.borrowedValueWad, cached.borrowedValueWad);
  assert.equal(position.allowedBorrowValueWad, cached.allowedBorrowValueWad);
  assert.equal(position.unhealthyBorrowValueWad, cached.unhealthyBorrowValueWad);
  assert.equal(position.depositedValueWad, 1_500n * WAD);
  assert.equal(position.healthFactor, 1.2);
  assert.ok(Math.abs(position.liquidationPrice! - 125) < 1e-9, `liquidation price ${position.liquidationPrice}`);

  // SOL falls to $120 (spot and EMA): $1,200 × 80% = $960 < $1,000: liquidatable.
  chain.advance(10n);
  chain.setPriceUpdate(sol.oracle, SOL_FEED, 12_000_000_000n, 12_000_000_000n, -8);
  chain.setPriceUpdate(usdc.oracle, USDC_FEED, 1_000_000n, 1_000_000n, -6);
  await refreshOnly();
  position = readPosition(obligationState(borrower.obligation), new Map([[sol.reserve, reserveState(sol)], [usdc.reserve, reserveState(usdc)]]));
  assert.equal(position.liquidatable, true);

  // A liquidator repays 500 USDC (the 50% close factor) through an instruction built by
  // @anchor-lang/core's Program from the same IDL.
  const liquidator = await newUser(0n, 1_000n * USDC);
  const program = anchorProgram();
  const pk = (a: Address) => new PublicKey(a);
  const liquidateWeb3 = await program.methods
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
      repayTokenProgram: pk('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA'),
      withdrawTokenProgram: pk('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA'),
      instructionsSysvar: pk('Sysvar1nstructions1111111111111111111111111'),
    })
    .instruction();
  const liquidate = fromWeb3Instruction(liquidateWeb3);
  const liquidation = await chain.mustSend(
    await refreshThenAct(borrower.obligation, obligationState(borrower.obligation), oracleOf, [], {
      ...liquidate,
      accounts: liquidate.accounts.map((a) => (a.address === liquidator.signer.address ? { ...a, role: AccountRole.READONLY_SIGNER, signer: liquidator.signer } : a)),
    } as Instruction),
    [liquidator.signer],
  );
  assert.equal(chain.tokenBalance(liquidator.usdcAccount), 500n * USDC, 'paid 500 USDC');
  // $500 × 1.05 at $120: 4.375 SOL.
  assert.equal(chain.tokenBalance(liquidator.solAccount), 4_375_000_000n);
  const event = parseEvents(liquidation.logs).find((e) => e.name === 'Liquidated');
  assert.ok(event, 'the Liquidated event parses');
  assert.equal(String(event.data.repay_amount ?? event.data.repayAmount), '500000000', JSON.stringify(Object.keys(event.data)));

  // Both decoders agree on the obligation.
  const decodedByAnchor = program.coder.accounts.decode('obligation', Buffer.from(chain.data(borrower.obligation)));
  const decodedByKit = obligationState(borrower.obligation);
  assert.equal(decodedByAnchor.deposits[0].depositedShares.toString(), decodedByKit.deposits[0].depositedShares.toString());
  assert.equal(decodedByKit.deposits[0].depositedShares, 10n * SOL - 4_375_000_000n);

  // The borrower repays everything that is left (u64::MAX: the whole debt, rounded up).
  await chain.createTokenAccount(usdc.mint, borrower.signer.address, 0n);
  const topUp = await chain.createTokenAccount(usdc.mint, borrower.signer.address, 1_000n * USDC);
  await chain.mustSend(
    [getRepayInstruction({ reserve: usdc.reserve, obligation: borrower.obligation, repayer: borrower.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, sourceLiquidity: topUp, amount: 2n ** 64n - 1n })],
  );
  const left = obligationState(borrower.obligation);
  assert.equal(left.borrows[0].borrowReserve, '11111111111111111111111111111111', 'no debt left');
  const repaid = 1_000n * USDC - chain.tokenBalance(topUp);
  assert.ok(repaid >= 500n * USDC && repaid < 501n * USDC, `repaid ${repaid}`);
  // Every USDC is where the books say.
  assert.equal(chain.tokenBalance(usdc.vault), reserveState(usdc).availableAmount);
  assert.equal(chain.tokenBalance(sol.vault), reserveState(sol).availableAmount);
});
