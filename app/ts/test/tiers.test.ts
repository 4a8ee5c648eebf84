// The TypeScript tier checks (`tierRefusal`) name what the program refuses, before sending:
// on the built .so in LiteSVM, each check is compared with the program's own answer; and the
// isolation reserve is passed writable where the program needs it (`withPositionReserves`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Address, Instruction, KeyPairSigner } from '@solana/kit';
import {
  RISK_FLAG_BORROWABLE_IN_ISOLATION,
  RISK_FLAG_ISOLATED_COLLATERAL,
  emodeGroupDebtAddress,
  getBorrowInstruction,
  getEmodeGroupDebtDecoder,
  getSetEmodeGroupInstruction,
  getSetObligationEmodeInstruction,
  getUpdateReserveConfigInstruction,
  getDepositInstruction,
  getObligationDecoder,
  getRepayInstruction,
  getReserveDecoder,
  isolationReserve,
  refreshThenAct,
  tierRefusal,
  withRequiredAccounts,
  type Reserve,
} from '../src/index.ts';
import { createMarket, listReserve, newObligation, reserveConfig, SOL_FEED, USDC_FEED, type ListedReserve } from '../src/scenario.ts';
import { Chain, liteSvmScenarioChain } from './helpers.ts';

const USDC = 1_000_000n;
const MEME_FEED = new Uint8Array(32).fill(0x3e);

test('tier checks before sending agree with the program', async () => {
  const chain = liteSvmScenarioChain(await Chain.start());
  const market = await createMarket(chain);
  const sol = await listReserve(chain, market, 9, SOL_FEED, 15_000_000_000n, -8, reserveConfig());
  const usdc = await listReserve(chain, market, 6, USDC_FEED, 1_000_000n, -6, reserveConfig({ riskFlags: RISK_FLAG_BORROWABLE_IN_ISOLATION }));
  // MEME at $2, isolated, a $1,000 debt ceiling.
  const meme = await listReserve(chain, market, 6, MEME_FEED, 2_000_000n, -6, reserveConfig({ riskFlags: RISK_FLAG_ISOLATED_COLLATERAL, isolationDebtCeilingValue: 1_000n }));
  const listed = [sol, usdc, meme];
  const oracleOf = (reserve: Address) => listed.find((r) => r.reserve === reserve)!.oracle;
  const reserves = async () => new Map<Address, Reserve>(await Promise.all(listed.map(async (r) => [r.reserve, getReserveDecoder().decode(await chain.data(r.reserve))] as [Address, Reserve])));
  const obligationOf = async (key: Address) => getObligationDecoder().decode(await chain.data(key));
  const deposit = (user: { signer: KeyPairSigner; obligation: Address }, r: ListedReserve, source: Address, amount: bigint) =>
    getDepositInstruction({ lendingMarket: market.address, reserve: r.reserve, obligation: user.obligation, owner: user.signer, liquidityMint: r.mint, liquidityVault: r.vault, sourceLiquidity: source, amount });

  const lender = await newObligation(chain, market);
  const lenderUsdc = await chain.createTokenAccount(usdc.mint, lender.signer.address, 100_000n * USDC);
  assert.ok((await chain.send([deposit(lender, usdc, lenderUsdc, 100_000n * USDC)], [lender.signer])).ok);

  const trader = await newObligation(chain, market);
  const memeAccount = await chain.createTokenAccount(meme.mint, trader.signer.address, 1_000n * USDC);
  const solAccount = await chain.createTokenAccount(sol.mint, trader.signer.address, 10n ** 9n);
  const usdcAccount = await chain.createTokenAccount(usdc.mint, trader.signer.address, 0n);
  assert.ok((await chain.send([deposit(trader, meme, memeAccount, 1_000n * USDC)], [trader.signer])).ok);

  /** The program's answer: the error name, or undefined when it accepted. */
  const program = async (instructions: Instruction[]) => {
    const sent = await chain.send(instructions, [trader.signer]);
    return sent.ok ? undefined : sent.name;
  };
  const borrowOf = (r: ListedReserve, amount: bigint) =>
    getBorrowInstruction({ lendingMarket: market.address, reserve: r.reserve, obligation: trader.obligation, owner: trader.signer, liquidityMint: r.mint, liquidityVault: r.vault, destinationLiquidity: r === usdc ? usdcAccount : solAccount, marketAuthority: market.authority, amount });
  const refreshed = async (action: Instruction, actionReserves: Address[]) =>
    refreshThenAct(market.address, trader.obligation, await obligationOf(trader.obligation), oracleOf, actionReserves, action);

  // A second collateral next to isolated MEME.
  let state = await obligationOf(trader.obligation);
  assert.equal(tierRefusal(state, await reserves(), { kind: 'deposit', reserve: sol.reserve }), 'IsolatedCollateralMixed');
  assert.equal(await program([deposit(trader, sol, solAccount, 10n ** 9n)]), 'IsolatedCollateralMixed');
  // SOL is not borrowable in isolation.
  assert.equal(tierRefusal(state, await reserves(), { kind: 'borrow', reserve: sol.reserve, amount: 1_000n }), 'NotBorrowableInIsolation');
  assert.equal(await program(await refreshed(borrowOf(sol, 1_000n), [sol.reserve])), 'NotBorrowableInIsolation');
  // USDC is, up to the $1,000 ceiling ($2,000 of MEME at 75% would allow $1,500).
  assert.equal(tierRefusal(state, await reserves(), { kind: 'borrow', reserve: usdc.reserve, amount: 1_000n * USDC + 1n }), 'IsolationDebtCeilingExceeded');
  assert.equal(await program(await refreshed(borrowOf(usdc, 1_000n * USDC + 1n), [usdc.reserve])), 'IsolationDebtCeilingExceeded');
  assert.equal(tierRefusal(state, await reserves(), { kind: 'borrow', reserve: usdc.reserve, amount: 1_000n * USDC }), undefined);
  assert.equal(await program(await refreshed(borrowOf(usdc, 1_000n * USDC), [usdc.reserve])), undefined, 'refreshThenAct passes the isolated reserve writable');
  const memeState = (await reserves()).get(meme.reserve)!;
  assert.equal(memeState.isolatedDebt, 1_000_000_000n, '$1,000 in millionths');
  state = await obligationOf(trader.obligation);
  assert.equal(isolationReserve(state), meme.reserve);
  assert.equal(state.isolationCharges[0], 1_000_000_000n);

  // Repaying half releases half of the charge, with the isolated reserve appended writable.
  const repay = getRepayInstruction({ reserve: usdc.reserve, obligation: trader.obligation, repayer: trader.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, sourceLiquidity: usdcAccount, amount: 500n * USDC });
  assert.equal(await program([repay]), 'IsolationReserveRequired');
  assert.equal(await program([await withRequiredAccounts(repay, state)]), undefined);
  const released = 1_000_000_000n - (await reserves()).get(meme.reserve)!.isolatedDebt;
  assert.ok(released > 499_000_000n && released <= 500_000_000n, `released ${released}`);
  assert.equal((await obligationOf(trader.obligation)).isolationCharges[0], 1_000_000_000n - released);

  // E-mode: group 1 (SOL and USDC here, 90% LTV) may owe $100 in all.
  const owner = chain.payer;
  const group = { loanToValueBps: 9_000, liquidationThresholdBps: 9_300, liquidationBonusBps: 100, maxLiquidationBonusBps: 0 };
  const groupDebtAddress = await emodeGroupDebtAddress(market.address, 1);
  assert.ok((await chain.send([getSetEmodeGroupInstruction({ lendingMarket: market.address, emodeGroupDebt: groupDebtAddress, owner, group: 1, params: group, debtCapValue: 100n })])).ok);
  for (const r of [sol, usdc]) {
    const config = { ...(await reserves()).get(r.reserve)!.config, emodeGroups: 1 };
    assert.ok((await chain.send([getUpdateReserveConfigInstruction({ lendingMarket: market.address, authority: owner, reserve: r.reserve, config })])).ok);
  }
  const saver = await newObligation(chain, market);
  const saverUsdc = await chain.createTokenAccount(usdc.mint, saver.signer.address, 1_000n * USDC);
  const saverSol = await chain.createTokenAccount(sol.mint, saver.signer.address, 0n);
  assert.ok((await chain.send([deposit(saver, usdc, saverUsdc, 1_000n * USDC)], [saver.signer])).ok);
  const enter = getSetObligationEmodeInstruction({ lendingMarket: market.address, obligation: saver.obligation, owner: saver.signer, group: 1 });
  assert.ok((await chain.send(await refreshThenAct(market.address, saver.obligation, await obligationOf(saver.obligation), oracleOf, [], enter), [saver.signer])).ok);
  // Lender SOL for the saver to borrow.
  const lenderSol = await chain.createTokenAccount(sol.mint, lender.signer.address, 10n ** 10n);
  assert.ok((await chain.send([deposit(lender, sol, lenderSol, 10n ** 10n)], [lender.signer])).ok);
  const borrowSol = (amount: bigint) =>
    getBorrowInstruction({ lendingMarket: market.address, reserve: sol.reserve, obligation: saver.obligation, owner: saver.signer, liquidityMint: sol.mint, liquidityVault: sol.vault, destinationLiquidity: saverSol, marketAuthority: market.authority, amount });
  const groupDebt = async () => getEmodeGroupDebtDecoder().decode(await chain.data(groupDebtAddress));
  const saverState = await obligationOf(saver.obligation);
  // $100 at SOL's $150 is 0.6666... SOL.
  assert.equal(tierRefusal(saverState, await reserves(), { kind: 'borrow', reserve: sol.reserve, amount: 666_666_667n }, await groupDebt()), 'EmodeDebtCapExceeded');
  const refused = await chain.send(await refreshThenAct(market.address, saver.obligation, saverState, oracleOf, [sol.reserve], borrowSol(666_666_667n)), [saver.signer]);
  assert.equal(!refused.ok && refused.name, 'EmodeDebtCapExceeded');
  assert.equal(tierRefusal(saverState, await reserves(), { kind: 'borrow', reserve: sol.reserve, amount: 666_666_666n }, await groupDebt()), undefined);
  const accepted = await chain.send(await refreshThenAct(market.address, saver.obligation, saverState, oracleOf, [sol.reserve], borrowSol(666_666_666n)), [saver.signer]);
  assert.ok(accepted.ok, 'refreshThenAct passes the group debt account');
  assert.equal((await groupDebt()).debt, 99_999_999n + 1n, '$99.9999999, rounded up to the millionth');
});
