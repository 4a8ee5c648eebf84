// `refreshThenAct` builds `borrow` and `withdraw` in the layout that revalues the obligation
// inline (`withInlineRefresh`, as the client crate's `refresh::refresh_then`): one program
// instruction after the compute-unit limit, each position's reserve (writable) and oracle, a new
// debt's oracle, then the debt counters. On the built .so, two borrowers with the same position
// take the same actions, one inline, one with the separate sequence (`refreshThenActSeparately`):
// both succeed with the same effect, and the inline one costs fewer compute units.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AccountRole, type Address, type Instruction, type KeyPairSigner } from '@solana/kit';
import {
  BORROW_DISCRIMINATOR,
  COMPUTE_BUDGET_PROGRAM_ID,
  PROGRAM_ID,
  REFRESH_OBLIGATION_DISCRIMINATOR,
  REFRESH_RESERVE_DISCRIMINATOR,
  WITHDRAW_DISCRIMINATOR,
  getBorrowInstruction,
  getDepositInstruction,
  getObligationDecoder,
  getWithdrawInstruction,
  refreshThenAct,
  refreshThenActSeparately,
  revaluesInline,
  withInlineRefresh,
} from '../src/index.ts';
import { newObligation } from '../src/scenario.ts';
import { Chain, solUsdcMarket } from './helpers.ts';

const SOL = 1_000_000_000n;
const USDC = 1_000_000n;
/** borrow and withdraw name nine accounts; the remaining ones follow. */
const NAMED = 9;

const startsWith = (ix: Instruction, discriminator: ArrayLike<number>) => Array.from(discriminator).every((byte, i) => ix.data?.[i] === byte);
const programInstructions = (ixs: Instruction[]) => ixs.filter((ix) => ix.programAddress !== COMPUTE_BUDGET_PROGRAM_ID);
const remaining = (ix: Instruction) => (ix.accounts ?? []).slice(NAMED).map((meta) => [meta.address, meta.role]);

test('refreshThenAct: borrow and withdraw are one instruction revaluing inline, cheaper than the separate sequence', async (t) => {
  const chain = await Chain.start();
  const { svm, market, sol, usdc, oracleOf, lender, lenderUsdc } = await solUsdcMarket(chain);
  const obligationOf = (key: Address) => getObligationDecoder().decode(chain.data(key));

  type User = { signer: KeyPairSigner; obligation: Address; sol: Address; usdc: Address };
  const borrower = async (): Promise<User> => {
    const user = await newObligation(svm, market);
    const solAccount = await chain.createTokenAccount(sol.mint, user.signer.address, 10n * SOL);
    const usdcAccount = await chain.createTokenAccount(usdc.mint, user.signer.address, 0n);
    await chain.mustSend([getDepositInstruction({ lendingMarket: market.address, reserve: sol.reserve, obligation: user.obligation, owner: user.signer, liquidityMint: sol.mint, liquidityVault: sol.vault, sourceLiquidity: solAccount, amount: 10n * SOL })]);
    return { ...user, sol: solAccount, usdc: usdcAccount };
  };
  const inlineUser = await borrower();
  const separateUser = await borrower();
  const borrow = (user: User, amount: bigint) =>
    getBorrowInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: user.obligation, owner: user.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, destinationLiquidity: user.usdc, marketAuthority: market.authority, amount });
  const withdraw = (user: Pick<User, 'signer' | 'obligation'>, reserve: typeof sol, destination: Address, collateralShares: bigint) =>
    getWithdrawInstruction({ lendingMarket: market.address, reserve: reserve.reserve, obligation: user.obligation, owner: user.signer, liquidityMint: reserve.mint, liquidityVault: reserve.vault, destinationLiquidity: destination, marketAuthority: market.authority, collateralShares });

  /** The same action for both borrowers, each in a later slot (each refresh finds a new slot):
   *  inline for one, the separate sequence for the other. Returns the instructions and units. */
  const both = async (action: (user: User) => Instruction, actionReserves: Address[]) => {
    chain.advance(1n);
    const inline = await refreshThenAct(market.address, inlineUser.obligation, obligationOf(inlineUser.obligation), oracleOf, actionReserves, action(inlineUser));
    const inlineSent = await chain.mustSend(inline);
    chain.advance(1n);
    const separate = await refreshThenActSeparately(market.address, separateUser.obligation, obligationOf(separateUser.obligation), oracleOf, actionReserves, action(separateUser));
    const separateSent = await chain.mustSend(separate);
    return { inline, separate, inlineUnits: Number(inlineSent.computeUnits), separateUnits: Number(separateSent.computeUnits) };
  };
  const checkShape = (built: { inline: Instruction[]; separate: Instruction[] }, discriminator: ArrayLike<number>) => {
    assert.equal(built.inline[0].programAddress, COMPUTE_BUDGET_PROGRAM_ID, 'the compute-unit limit first');
    const [only, ...rest] = programInstructions(built.inline);
    assert.equal(rest.length, 0, 'one program instruction');
    assert.equal(only.programAddress, PROGRAM_ID);
    assert.ok(startsWith(only, discriminator));
    // The separate sequence: refresh_reserve for SOL and USDC, refresh_obligation, the action.
    const separate = programInstructions(built.separate);
    assert.deepEqual(
      separate.map((ix) => [REFRESH_RESERVE_DISCRIMINATOR, REFRESH_OBLIGATION_DISCRIMINATOR, discriminator].findIndex((d) => startsWith(ix, d))),
      [0, 0, 1, 2],
    );
    return only;
  };

  // A new debt: the SOL deposit's reserve (writable) and oracle, then USDC's oracle.
  const newDebt = await both((user) => borrow(user, 800n * USDC), [usdc.reserve]);
  const newDebtIx = checkShape(newDebt, BORROW_DISCRIMINATOR);
  assert.deepEqual(remaining(newDebtIx), [[sol.reserve, AccountRole.WRITABLE], [sol.oracle, AccountRole.READONLY], [usdc.oracle, AccountRole.READONLY]]);
  assert.equal(chain.tokenBalance(inlineUser.usdc), 800n * USDC);
  assert.equal(chain.tokenBalance(separateUser.usdc), 800n * USDC);

  // More of the same debt: every position's reserve and oracle, nothing after them.
  const moreDebt = await both((user) => borrow(user, 100n * USDC), [usdc.reserve]);
  const moreDebtIx = checkShape(moreDebt, BORROW_DISCRIMINATOR);
  const positionPairs = [[sol.reserve, AccountRole.WRITABLE], [sol.oracle, AccountRole.READONLY], [usdc.reserve, AccountRole.WRITABLE], [usdc.oracle, AccountRole.READONLY]];
  assert.deepEqual(remaining(moreDebtIx), positionPairs);
  assert.equal(chain.tokenBalance(inlineUser.usdc), 900n * USDC);

  // A withdrawal with debt outstanding: the same pairs; both take the shares off.
  const shares = (user: User) => obligationOf(user.obligation).deposits[0].depositedShares;
  const sharesBefore = [shares(inlineUser), shares(separateUser)];
  const withdrawn = await both((user) => withdraw(user, sol, user.sol, SOL), []);
  assert.deepEqual(remaining(checkShape(withdrawn, WITHDRAW_DISCRIMINATOR)), positionPairs);
  assert.deepEqual([shares(inlineUser), shares(separateUser)], sharesBefore.map((s) => s - SOL));
  assert.equal(chain.tokenBalance(inlineUser.sol), chain.tokenBalance(separateUser.sol));
  assert.ok(chain.tokenBalance(inlineUser.sol) > 0n);

  for (const [name, built] of Object.entries({ newDebt, moreDebt, withdrawn })) {
    assert.ok(built.inlineUnits < built.separateUnits, `${name}: inline ${built.inlineUnits} CU, separate ${built.separateUnits} CU`);
  }
  t.diagnostic(`compute units, inline vs separate: borrow (new debt) ${newDebt.inlineUnits} vs ${newDebt.separateUnits}, borrow (more) ${moreDebt.inlineUnits} vs ${moreDebt.separateUnits}, withdraw ${withdrawn.inlineUnits} vs ${withdrawn.separateUnits}`);

  // A withdrawal from an obligation without debt needs nothing: the instruction as built.
  chain.advance(1n);
  const lenderWithdraw = withdraw(lender, usdc, lenderUsdc, 1_000n * USDC);
  const lenderIxs = await refreshThenAct(market.address, lender.obligation, obligationOf(lender.obligation), oracleOf, [], lenderWithdraw);
  assert.deepEqual(programInstructions(lenderIxs), [lenderWithdraw]);
  await chain.mustSend(lenderIxs);
  assert.ok(chain.tokenBalance(lenderUsdc) > 0n);

  // Other actions are not revalued inline: refreshThenAct keeps the separate sequence for them.
  const noop = { programAddress: '11111111111111111111111111111111' as Address, accounts: [], data: new Uint8Array() };
  assert.equal(revaluesInline(noop), false);
  assert.equal(await withInlineRefresh(noop, obligationOf(inlineUser.obligation), oracleOf), undefined);
  assert.equal(programInstructions(await refreshThenAct(market.address, inlineUser.obligation, obligationOf(inlineUser.obligation), oracleOf, [], noop)).length, 4);
});
