// The resolved builders (ts/src/actions.ts) on a real local network (a Surfnet with the built
// .so: solvent-localnet, one for the file), reading accounts over JSON-RPC or from accounts
// already decoded: every account comes from the reserve and the market, token accounts default
// to the owner's associated token accounts, and the oracles come from the reserves. A fresh
// obligation deposits SOL and borrows USDC in ONE transaction (the borrow carries the position
// the deposit opens; built against the obligation as fetched, the program refuses it); the
// other actions, composed layouts that close positions, the isolated tier a first deposit sets,
// the lend-only pair, and the refresh sequence alone run too. Wrong inputs are refused by name
// before anything is built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { AccountRole, createSolanaRpc, generateKeyPairSigner, type Address, type Instruction } from '@solana/kit';
import { findAssociatedTokenPda } from '@solana-program/token';
import {
  ActionInputError,
  BORROW_DISCRIMINATOR,
  COMPUTE_BUDGET_PROGRAM_ID,
  DEPOSIT_DISCRIMINATOR,
  DEPOSIT_RESERVE_LIQUIDITY_DISCRIMINATOR,
  REFRESH_OBLIGATION_DISCRIMINATOR,
  REFRESH_RESERVE_DISCRIMINATOR,
  REPAY_DISCRIMINATOR,
  RISK_FLAG_BORROWABLE_IN_ISOLATION,
  RISK_FLAG_ISOLATED_COLLATERAL,
  TOKEN_PROGRAM_ID,
  WITHDRAW_DISCRIMINATOR,
  actions,
  borrow,
  deposit,
  depositAndBorrow,
  depositReserveLiquidity,
  getBorrowInstruction,
  getInitObligationInstruction,
  getObligationDecoder,
  getReserveDecoder,
  obligationAddress,
  redeemReserveCollateral,
  refreshInstructions,
  refreshThenAct,
  repay,
  sendSolventTransaction,
  withInlineRefresh,
  withdraw,
  type Obligation,
  type Reserve,
} from '../src/index.ts';
import { tokenAccountData } from '../src/accounts.ts';
import { createMarket, listReserve, newObligation, reserveConfig, SOL_FEED, USDC_FEED } from '../src/scenario.ts';
import { RpcScenarioChain } from '../src/rpc-chain.ts';
import { cargoBinary, confirmedTransaction, freshSolUsdcPrices, mustSendOn, solUsdcMarketOn, startLocalnet, surfnetChain } from './helpers.ts';

const LOCALNET = cargoBinary('solvent-localnet');
const options = { skip: existsSync(LOCALNET) ? false : `${LOCALNET} not built (scripts/test.sh builds it)`, timeout: 300_000 };

const SOL = 1_000_000_000n;
const USDC = 1_000_000n;
const U64_MAX = 2n ** 64n - 1n;
/** deposit names eight accounts, borrow and withdraw nine, repay seven. */
const NAMED_BORROW = 9;
const NAMED_REPAY = 7;

const startsWith = (ix: Instruction, discriminator: ArrayLike<number>) => Array.from(discriminator).every((byte, i) => ix.data?.[i] === byte);
const kinds = (ixs: Instruction[]) =>
  ixs.map((ix) =>
    ix.programAddress === COMPUTE_BUDGET_PROGRAM_ID
      ? 'limit'
      : ([
          [REFRESH_RESERVE_DISCRIMINATOR, 'refresh_reserve'],
          [REFRESH_OBLIGATION_DISCRIMINATOR, 'refresh_obligation'],
          [DEPOSIT_DISCRIMINATOR, 'deposit'],
          [BORROW_DISCRIMINATOR, 'borrow'],
          [WITHDRAW_DISCRIMINATOR, 'withdraw'],
          [REPAY_DISCRIMINATOR, 'repay'],
          [DEPOSIT_RESERVE_LIQUIDITY_DISCRIMINATOR, 'deposit_reserve_liquidity'],
        ] as const).find(([d]) => startsWith(ix, d))?.[1] ?? ix.programAddress,
  );
const metas = (ix: Instruction, from = 0) => (ix.accounts ?? []).slice(from).map((meta) => [meta.address, meta.role]);
const ata = async (owner: Address, mint: Address) => (await findAssociatedTokenPda({ owner, mint, tokenProgram: TOKEN_PROGRAM_ID }))[0];

/** One Surfnet and one market for the whole file (started by the first test that runs, none
 *  when skipped): SOL and USDC (with a lender's 100,000 USDC), and a borrower with a fresh
 *  obligation and SOL in its ATA. */
let started: ReturnType<typeof start> | undefined;
async function start() {
  const payer = await generateKeyPairSigner();
  const network = await startLocalnet([payer.address]);
  const { chain } = await surfnetChain(network.rpc, payer);
  const base = await solUsdcMarketOn(chain);
  const rpc = createSolanaRpc(network.rpc);
  const user = await newObligation(chain, base.market);
  const solAta = await ata(user.signer.address, base.sol.mint);
  const usdcAta = await ata(user.signer.address, base.usdc.mint);
  await chain.writeOnSurfnet(solAta, TOKEN_PROGRAM_ID, tokenAccountData(base.sol.mint, user.signer.address, 20n * SOL));
  await chain.writeOnSurfnet(usdcAta, TOKEN_PROGRAM_ID, tokenAccountData(base.usdc.mint, user.signer.address, 0n));
  const obligationOf = async (key: Address): Promise<Obligation> => getObligationDecoder().decode(await chain.data(key));
  const reserveOf = async (key: Address): Promise<Reserve> => getReserveDecoder().decode(await chain.data(key));
  const decodedReserves = async () => Promise.all([base.sol, base.usdc].map(async (r) => ({ address: r.reserve, data: await reserveOf(r.reserve) })));
  return { network, chain, ...base, rpc, user, solAta, usdcAta, obligationOf, reserveOf, decodedReserves };
}
/** The file's market, with SOL and USDC published again at the Surfnet's clock now (the
 *  reserves take prices at most 60 s old; the file runs longer). */
async function setup() {
  const found = await (started ??= start());
  await freshSolUsdcPrices(found.chain, found.sol.oracle, found.usdc.oracle);
  return found;
}

test.after(() => started?.then(({ network }) => network.stop(), () => undefined));

test('depositAndBorrow: a fresh obligation deposits SOL and borrows USDC in one transaction', options, async (t) => {
  const { network, chain, rpc, market, sol, usdc, oracleOf, user, solAta, usdcAta, obligationOf } = await setup();
  const fresh = await obligationOf(user.obligation);
  assert.equal(fresh.deposits[0].depositReserve, '11111111111111111111111111111111', 'no position yet');

  const ixs = await depositAndBorrow(
    { market: market.address, obligation: user.obligation, owner: user.signer, deposit: { reserve: sol.reserve, amount: 10n * SOL }, borrow: { reserve: usdc.reserve, amount: 500n * USDC } },
    { rpc },
  );
  // The deposit after its refresh sequence, then the borrow revaluing inline.
  assert.deepEqual(kinds(ixs), ['limit', 'refresh_reserve', 'refresh_obligation', 'deposit', 'borrow']);
  const [, refreshSol, refreshObligation, depositIx, borrowIx] = ixs;
  assert.deepEqual(metas(refreshSol), [[sol.reserve, AccountRole.WRITABLE], [sol.oracle, AccountRole.READONLY]]);
  assert.deepEqual(metas(refreshObligation).map(([a]) => a), [user.obligation, market.address], 'a fresh obligation has no position reserve');
  assert.deepEqual(metas(depositIx).map(([a]) => a), [market.address, sol.reserve, user.obligation, user.signer.address, sol.mint, sol.vault, solAta, TOKEN_PROGRAM_ID]);
  assert.deepEqual(metas(borrowIx).slice(0, NAMED_BORROW).map(([a]) => a), [market.address, usdc.reserve, user.obligation, user.signer.address, usdc.mint, usdc.vault, usdcAta, market.authority, TOKEN_PROGRAM_ID]);
  // The borrow sees the position the deposit opens: the SOL reserve (writable) and its oracle,
  // then the oracle of the new debt.
  assert.deepEqual(metas(borrowIx, NAMED_BORROW), [[sol.reserve, AccountRole.WRITABLE], [sol.oracle, AccountRole.READONLY], [usdc.oracle, AccountRole.READONLY]]);

  // Built against the obligation as fetched (no position), the same borrow is refused on chain.
  const rawBorrow = { ...borrowIx, accounts: borrowIx.accounts!.slice(0, NAMED_BORROW) };
  const unaware = [...ixs.slice(0, -1), (await withInlineRefresh(rawBorrow, fresh, oracleOf))!];
  assert.deepEqual(metas(unaware.at(-1)!, NAMED_BORROW), [[usdc.oracle, AccountRole.READONLY]]);
  const refused = await chain.send(unaware, [user.signer]);
  assert.equal(refused.ok ? undefined : refused.name, 'ObligationReservesMismatch', 'the program needs the new position among the remaining accounts');
  t.diagnostic(`the borrow unaware of the new position: ${refused.ok ? '' : refused.name ?? refused.error}`);
  assert.equal((await obligationOf(user.obligation)).deposits[0].depositReserve, '11111111111111111111111111111111', 'nothing happened');

  const sent = await sendSolventTransaction({ rpc, feePayer: chain.payer, instructions: ixs, simulate: false });
  const after = await obligationOf(user.obligation);
  assert.equal(after.deposits[0].depositReserve, sol.reserve);
  assert.equal(after.deposits[0].depositedShares, 10n * SOL - 1_000n, 'the first deposit of the reserve, less the dead shares');
  assert.equal(after.borrows[0].borrowReserve, usdc.reserve);
  assert.equal(await chain.tokenBalance(usdcAta), 500n * USDC);
  assert.equal(await chain.tokenBalance(solAta), 10n * SOL);
  const { computeUnits } = await confirmedTransaction(network.rpc, sent.signature);
  assert.ok(computeUnits < new DataView(ixs[0].data!.buffer, ixs[0].data!.byteOffset).getUint32(1, true), 'within the limit asked for');
});

test('each builder, from accounts over RPC or already decoded, runs on the program', options, async () => {
  const { chain, rpc, market, sol, usdc, oracleOf, user, solAta, usdcAta, obligationOf, decodedReserves } = await setup();
  const decoded = async () => ({ reserves: await decodedReserves() });
  const obligation = async () => ({ address: user.obligation, data: await obligationOf(user.obligation) });
  const usdcDecoded = async () => (await decodedReserves())[1];

  // The same instructions whether the accounts are fetched or given.
  const more = { market: market.address, obligation: user.obligation, owner: user.signer, reserve: usdc.reserve, amount: 100n * USDC };
  const fetched = await borrow(more, { rpc });
  assert.deepEqual(await borrow({ ...more, obligation: await obligation(), reserve: await usdcDecoded() }, await decoded()), fetched);
  assert.deepEqual(kinds(fetched), ['limit', 'borrow']);
  // More of the same debt: each position's reserve and oracle, no new oracle.
  assert.deepEqual(metas(fetched[1], NAMED_BORROW), [[sol.reserve, AccountRole.WRITABLE], [sol.oracle, AccountRole.READONLY], [usdc.reserve, AccountRole.WRITABLE], [usdc.oracle, AccountRole.READONLY]]);
  await mustSendOn(chain, fetched, [user.signer]);
  assert.equal(await chain.tokenBalance(usdcAta), 600n * USDC);

  // A destination of the caller's choice instead of the associated token account.
  const elsewhere = await chain.createTokenAccount(usdc.mint, user.signer.address, 0n);
  const toElsewhere = await borrow({ ...more, obligation: await obligation(), amount: 25n * USDC, destination: elsewhere }, await decoded());
  assert.equal(toElsewhere[1].accounts![6].address, elsewhere);
  await mustSendOn(chain, toElsewhere, [user.signer]);
  assert.equal(await chain.tokenBalance(elsewhere), 25n * USDC);

  // Repay: the separate sequence (both position reserves refreshed, the obligation, the repay).
  const repaid = await repay({ market: market.address, obligation: await obligation(), repayer: user.signer, reserve: usdc.reserve, amount: 50n * USDC }, await decoded());
  assert.deepEqual(kinds(repaid), ['limit', 'refresh_reserve', 'refresh_reserve', 'refresh_obligation', 'repay']);
  assert.deepEqual(metas(repaid[3], 2).map(([a]) => a), [sol.reserve, usdc.reserve]);
  assert.deepEqual(metas(repaid[4]).slice(0, NAMED_REPAY).map(([a]) => a), [usdc.reserve, user.obligation, user.signer.address, usdc.mint, usdc.vault, usdcAta, TOKEN_PROGRAM_ID]);
  await mustSendOn(chain, repaid, [user.signer]);
  assert.equal(await chain.tokenBalance(usdcAta), 550n * USDC);

  // Withdraw with debt outstanding: inline, to the SOL associated token account.
  const sharesBefore = (await obligationOf(user.obligation)).deposits[0].depositedShares;
  const withdrawn = await withdraw({ market: market.address, obligation: user.obligation, owner: user.signer, reserve: sol.reserve, shares: SOL }, { rpc });
  assert.deepEqual(kinds(withdrawn), ['limit', 'withdraw']);
  assert.equal(withdrawn[1].accounts![6].address, solAta);
  await mustSendOn(chain, withdrawn, [user.signer]);
  assert.equal((await obligationOf(user.obligation)).deposits[0].depositedShares, sharesBefore - SOL);
  assert.equal(await chain.tokenBalance(solAta), 11n * SOL, 'a share is still worth a lamport: nobody borrows SOL, so no interest accrues to it');

  // A deposit that adds to the position: the separate sequence, from the SOL associated account.
  const added = await deposit({ market: market.address, obligation: user.obligation, owner: user.signer, reserve: sol.reserve, amount: SOL }, { rpc });
  assert.deepEqual(kinds(added), ['limit', 'refresh_reserve', 'refresh_reserve', 'refresh_obligation', 'deposit']);
  await mustSendOn(chain, added, [user.signer]);
  assert.equal(await chain.tokenBalance(solAta), 10n * SOL);

  // refreshThenAct with the oracles taken from the reserves: as with a lookup function.
  const plain = getBorrowInstruction({ lendingMarket: market.address, reserve: usdc.reserve, obligation: user.obligation, owner: user.signer, liquidityMint: usdc.mint, liquidityVault: usdc.vault, destinationLiquidity: usdcAta, marketAuthority: market.authority, amount: USDC });
  const state = await obligationOf(user.obligation);
  const reserves = await decodedReserves();
  const byFunction = await refreshThenAct(market.address, user.obligation, state, oracleOf, [usdc.reserve], plain);
  assert.deepEqual(await refreshThenAct(market.address, user.obligation, state, reserves, [usdc.reserve], plain), byFunction);
  assert.deepEqual(await refreshThenAct(market.address, user.obligation, state, new Map(reserves.map((r) => [r.address, r.data])), [usdc.reserve], plain), byFunction);
  await assert.rejects(refreshThenAct(market.address, user.obligation, state, reserves.slice(0, 1), [usdc.reserve], plain), new RegExp(`reserve ${usdc.reserve} was not given`));
});

test('refreshInstructions: the refresh sequence alone, as refresh_obligation_sequence', options, async () => {
  const { network, chain, rpc, market, sol, usdc, user, obligationOf, decodedReserves } = await setup();
  const ixs = refreshInstructions({ address: user.obligation, data: await obligationOf(user.obligation) }, await decodedReserves());
  assert.deepEqual(kinds(ixs), ['refresh_reserve', 'refresh_reserve', 'refresh_obligation']);
  assert.deepEqual(metas(ixs[0]).map(([a]) => a), [sol.reserve, sol.oracle]);
  assert.deepEqual(metas(ixs[1]).map(([a]) => a), [usdc.reserve, usdc.oracle]);
  assert.deepEqual(metas(ixs[2]), [[user.obligation, AccountRole.WRITABLE], [market.address, AccountRole.READONLY], [sol.reserve, AccountRole.READONLY], [usdc.reserve, AccountRole.READONLY]]);
  const { signature } = await sendSolventTransaction({ rpc, feePayer: chain.payer, instructions: ixs, simulate: false });
  const { slot } = await confirmedTransaction(network.rpc, signature);
  assert.equal((await obligationOf(user.obligation)).lastUpdateSlot, slot, 'refreshed in the slot of the transaction');
});

test('actions: a repay that closes the debt, then a withdrawal that needs no revaluation, in one transaction', options, async () => {
  const { chain, rpc, market, sol, usdc, user, usdcAta, solAta, obligationOf } = await setup();
  // Enough USDC for the whole debt with its interest.
  await chain.writeOnSurfnet(usdcAta, TOKEN_PROGRAM_ID, tokenAccountData(usdc.mint, user.signer.address, 1_000n * USDC));
  const ixs = await actions(
    { market: market.address, obligation: user.obligation, owner: user.signer, actions: [{ kind: 'repay', reserve: usdc.reserve, amount: U64_MAX }, { kind: 'withdraw', reserve: sol.reserve, shares: U64_MAX }] },
    { rpc },
  );
  // After the whole debt is repaid the withdrawal has no debt to check: no remaining accounts.
  assert.deepEqual(kinds(ixs), ['limit', 'refresh_reserve', 'refresh_reserve', 'refresh_obligation', 'repay', 'withdraw']);
  assert.equal(ixs.at(-1)!.accounts!.length, NAMED_BORROW);
  await mustSendOn(chain, ixs, [user.signer]);
  const after = await obligationOf(user.obligation);
  assert.equal(after.deposits[0].depositReserve, '11111111111111111111111111111111', 'no collateral left');
  assert.equal(after.borrows[0].borrowReserve, '11111111111111111111111111111111', 'no debt left');
  assert.equal(await chain.tokenBalance(solAta), 20n * SOL - 1_000n, 'everything back but the dead shares');
});

test('actions: a first deposit of isolated collateral sets the tier the repay after it is laid out for', options, async () => {
  // A market of its own on the file's Surfnet, with the USDC price account and one for ISO.
  const { network, chain: shared } = await setup();
  const isoFeed = new Uint8Array(32).fill(0x3e);
  const isoOracle = (await generateKeyPairSigner()).address;
  const chain = new RpcScenarioChain(network.rpc, shared.payer, new Map([[USDC_FEED[0], await shared.priceAccount(USDC_FEED)], [isoFeed[0], isoOracle]]));
  await chain.publishOnSurfnet(isoOracle, isoFeed, 2_000_000n, -6);
  const market = await createMarket(chain);
  const usdc = await listReserve(chain, market, 6, USDC_FEED, 1_000_000n, -6, reserveConfig({ riskFlags: RISK_FLAG_BORROWABLE_IN_ISOLATION }));
  // ISO at $2, isolated collateral with a $10,000 debt ceiling.
  const iso = await listReserve(chain, market, 6, isoFeed, 2_000_000n, -6, reserveConfig({ riskFlags: RISK_FLAG_ISOLATED_COLLATERAL, isolationDebtCeilingValue: 10_000n }));
  const reserves = async () => Promise.all([iso, usdc].map(async (r) => ({ address: r.reserve, data: getReserveDecoder().decode(await chain.data(r.reserve)) })));
  const lender = await newObligation(chain, market);
  await chain.writeOnSurfnet(await ata(lender.signer.address, usdc.mint), TOKEN_PROGRAM_ID, tokenAccountData(usdc.mint, lender.signer.address, 10_000n * USDC));
  const lenderObligation = { address: lender.obligation, data: getObligationDecoder().decode(await chain.data(lender.obligation)) };
  await mustSendOn(chain, await deposit({ market: market.address, obligation: lenderObligation, owner: lender.signer, reserve: usdc.reserve, amount: 10_000n * USDC }, { reserves: await reserves() }), [lender.signer]);

  const user = await newObligation(chain, market);
  await chain.writeOnSurfnet(await ata(user.signer.address, iso.mint), TOKEN_PROGRAM_ID, tokenAccountData(iso.mint, user.signer.address, 1_000n * USDC));
  const usdcAta = await ata(user.signer.address, usdc.mint);
  await chain.writeOnSurfnet(usdcAta, TOKEN_PROGRAM_ID, tokenAccountData(usdc.mint, user.signer.address, 0n));
  const obligation = { address: user.obligation, data: getObligationDecoder().decode(await chain.data(user.obligation)) };
  const ixs = await actions(
    {
      market: market.address,
      obligation,
      owner: user.signer,
      actions: [
        { kind: 'deposit', reserve: iso.reserve, amount: 1_000n * USDC },
        { kind: 'borrow', reserve: usdc.reserve, amount: 100n * USDC },
        { kind: 'repay', reserve: usdc.reserve, amount: 10n * USDC },
      ],
    },
    { reserves: await reserves() },
  );
  assert.deepEqual(kinds(ixs), ['limit', 'refresh_reserve', 'refresh_obligation', 'deposit', 'borrow', 'refresh_reserve', 'refresh_reserve', 'refresh_obligation', 'repay']);
  // The repay passes the isolated collateral reserve writable: the debt ceiling's counter.
  assert.deepEqual(metas(ixs.at(-1)!, NAMED_REPAY), [[iso.reserve, AccountRole.WRITABLE]]);
  await mustSendOn(chain, ixs, [user.signer]);
  assert.equal(await chain.tokenBalance(usdcAta), 90n * USDC);
  const after = getObligationDecoder().decode(await chain.data(user.obligation));
  assert.equal(after.isolationReserve, iso.reserve);
  assert.ok(getReserveDecoder().decode(await chain.data(iso.reserve)).isolatedDebt > 0n, 'the debt is counted against the ceiling');
});

test('lend-only: deposit_reserve_liquidity into a share account it creates, and redeem', options, async () => {
  const { chain, rpc, market, usdc, reserveOf } = await setup();
  const lender = await generateKeyPairSigner();
  await chain.fund(lender.address);
  const usdcAta = await ata(lender.address, usdc.mint);
  await chain.writeOnSurfnet(usdcAta, TOKEN_PROGRAM_ID, tokenAccountData(usdc.mint, lender.address, 1_000n * USDC));
  const collateralMint = (await reserveOf(usdc.reserve)).collateralMint;
  const sharesAta = await ata(lender.address, collateralMint);
  const ixs = await depositReserveLiquidity({ market: market.address, reserve: usdc.reserve, depositor: lender, amount: 400n * USDC }, { rpc });
  assert.equal(ixs.length, 2, 'the share account (created if missing), then the deposit');
  assert.deepEqual(kinds(ixs).slice(-1), ['deposit_reserve_liquidity']);
  await mustSendOn(chain, ixs, [lender]);
  assert.equal(await chain.tokenBalance(usdcAta), 600n * USDC);
  const shares = await chain.tokenBalance(sharesAta);
  assert.ok(shares > 0n);
  // Idempotent: a second deposit into the existing share account.
  await mustSendOn(chain, await depositReserveLiquidity({ market: market.address, reserve: usdc.reserve, depositor: lender, amount: 100n * USDC }, { rpc }), [lender]);
  const allShares = await chain.tokenBalance(sharesAta);
  assert.ok(allShares > shares);

  const redeem = await redeemReserveCollateral({ market: market.address, reserve: usdc.reserve, redeemer: lender, shares: allShares }, { rpc });
  assert.equal(redeem.length, 1);
  await mustSendOn(chain, redeem, [lender]);
  assert.equal(await chain.tokenBalance(sharesAta), 0n);
  // Shares are minted and redeemed rounded down (for the reserve): a base unit at most per step
  // (the USDC reserve has no debt left, so no interest moves the share's value in between).
  const back = await chain.tokenBalance(usdcAta);
  assert.ok(back >= 1_000n * USDC - 3n && back <= 1_000n * USDC, `redeemed to ${back}`);
});

test('wrong inputs are refused by name before anything is built', options, async () => {
  const { chain, rpc, market, sol, usdc, user, lender, obligationOf, decodedReserves } = await setup();
  const base = { market: market.address, obligation: user.obligation, owner: user.signer, reserve: usdc.reserve, amount: 10n * USDC };
  const refusal = (reason: string) => (error: unknown) => {
    assert.ok(error instanceof ActionInputError, String(error));
    assert.equal(error.reason, reason, error.message);
    return true;
  };
  // A second market with its own reserve and obligation.
  const other = await createMarket(chain);
  const otherSol = await listReserve(chain, other, 9, SOL_FEED, 15_000_000_000n, -8, reserveConfig());
  const otherObligation = await obligationAddress(other.address, user.signer.address, 0);
  await mustSendOn(chain, [getInitObligationInstruction({ lendingMarket: other.address, owner: user.signer, obligation: otherObligation, obligationId: 0 })], [user.signer]);
  const before = (await chain.data(user.obligation)).slice();

  await assert.rejects(borrow({ ...base, amount: 0n }, { rpc }), refusal('ZeroAmount'));
  await assert.rejects(withdraw({ ...base, reserve: sol.reserve, shares: 0n }, { rpc }), refusal('ZeroAmount'));
  await assert.rejects(deposit({ ...base, amount: -1n }, { rpc }), refusal('AmountOutOfRange'));
  await assert.rejects(deposit({ ...base, amount: 2n ** 64n }, { rpc }), refusal('AmountOutOfRange'));
  await assert.rejects(borrow({ ...base, reserve: otherSol.reserve }, { rpc }), refusal('ReserveOfOtherMarket'));
  await assert.rejects(borrow({ ...base, reserve: user.obligation }, { rpc }), refusal('NotAReserve'));
  await assert.rejects(borrow({ ...base, reserve: sol.mint }, { rpc }), refusal('NotAReserve'));
  // Data of the SOL reserve given as the USDC reserve: not the PDA of its market and mint.
  await assert.rejects(borrow({ ...base, reserve: { address: usdc.reserve, data: (await decodedReserves())[0].data } }, { rpc }), refusal('NotAReserve'));
  await assert.rejects(borrow({ ...base, reserve: (await generateKeyPairSigner()).address }, { rpc }), refusal('ReserveNotFound'));
  await assert.rejects(borrow({ ...base, obligation: await obligationAddress(market.address, user.signer.address, 7) }, { rpc }), refusal('ObligationNotFound'));
  await assert.rejects(borrow({ ...base, obligation: usdc.reserve }, { rpc }), refusal('NotAnObligation'));
  await assert.rejects(borrow({ ...base, obligation: otherObligation }, { rpc }), refusal('ObligationOfOtherMarket'));
  await assert.rejects(borrow({ ...base, obligation: lender.obligation }, { rpc }), refusal('InvalidObligationOwner'));
  await assert.rejects(borrow(base), refusal('RpcNeeded'));
  await assert.rejects(actions({ ...base, actions: [] }, { rpc }), refusal('NoActions'));

  // Positions: the user holds nothing now (the repay-and-withdraw test closed both).
  await assert.rejects(withdraw({ ...base, reserve: sol.reserve, shares: SOL }, { rpc }), refusal('NoDepositPosition'));
  await assert.rejects(repay({ ...base, repayer: user.signer, reserve: usdc.reserve }, { rpc }), refusal('NoBorrowPosition'));
  const lenderShares = (await obligationOf(lender.obligation)).deposits[0].depositedShares;
  await assert.rejects(withdraw({ ...base, obligation: lender.obligation, owner: lender.signer, shares: lenderShares + 1n }, { rpc }), refusal('InsufficientCollateral'));
  // A repay that may or may not close the debt, with a borrow after it: the layout is unknown.
  const depositThenBorrow = [{ kind: 'deposit', reserve: sol.reserve, amount: SOL }, { kind: 'borrow', reserve: usdc.reserve, amount: USDC }] as const;
  await assert.rejects(
    actions({ ...base, actions: [...depositThenBorrow, { kind: 'repay', reserve: usdc.reserve, amount: USDC }, { kind: 'borrow', reserve: usdc.reserve, amount: USDC }] }, { rpc }),
    refusal('LayoutUnknown'),
  );
  await assert.rejects(
    actions({ ...base, actions: [{ kind: 'deposit', reserve: sol.reserve, amount: SOL }, { kind: 'withdraw', reserve: sol.reserve, shares: SOL }, { kind: 'borrow', reserve: usdc.reserve, amount: USDC }] }, { rpc }),
    refusal('LayoutUnknown'),
  );
  // The same as the last action is fine: nothing after it depends on the layout.
  const lastRepay = kinds(await actions({ ...base, actions: [...depositThenBorrow, { kind: 'repay', reserve: usdc.reserve, amount: USDC }] }, { rpc }));
  assert.deepEqual(lastRepay.filter((kind) => !kind.startsWith('refresh')), ['limit', 'deposit', 'borrow', 'repay']);
  // Lend-only builders check the reserve and the amount the same way.
  await assert.rejects(depositReserveLiquidity({ market: market.address, reserve: otherSol.reserve, depositor: user.signer, amount: 1n }, { rpc }), refusal('ReserveOfOtherMarket'));
  await assert.rejects(redeemReserveCollateral({ market: market.address, reserve: usdc.reserve, redeemer: user.signer, shares: 0n }, { rpc }), refusal('ZeroAmount'));
  assert.deepEqual(await chain.data(user.obligation), before, 'the obligation is untouched');
});
