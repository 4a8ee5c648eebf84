// User actions with every account resolved from the reserve and the market, as the client
// crate's `deposit_ix` / `borrow_ix` / … with `ReserveKeys::from_state` and `refresh_then`:
// the caller names the market, the reserve, the obligation, the signer and the amount; the
// liquidity mint, vault, oracle, token program and market authority come from the reserve
// account (fetched when given by address), the token account from the signer's associated
// token account unless overridden, and the oracles of the obligation's position reserves from
// those reserves. The result is the whole transaction's instruction list: a compute-unit limit,
// then `refreshThenAct`'s layout for each action (borrow and withdraw revaluing inline, the
// separate refresh sequence otherwise). `actions` composes several actions on one obligation
// into one transaction, each built against the obligation as the program will see it after the
// actions before it (a deposit that opens a position before a borrow in the same transaction).
//
// Inputs are checked before anything is returned: an `ActionInputError` names what is wrong
// (a reserve of another market, an account that is not a Solvent reserve, amount 0, …).
// Part of the default entry: @solana/kit and @solana-program/token only, no Node built-in.
import {
  fetchEncodedAccounts,
  type Address,
  type Commitment,
  type GetMultipleAccountsApi,
  type Instruction,
  type MaybeEncodedAccount,
  type Rpc,
  type TransactionSigner,
} from '@solana/kit';
import { findAssociatedTokenPda, getCreateAssociatedTokenIdempotentInstructionAsync } from '@solana-program/token';
import * as generated from '../generated/index.ts';
import { storeWad } from './position.ts';
import {
  COMPUTE_BUDGET_PROGRAM_ID,
  PROGRAM_ID,
  RISK_FLAG_ISOLATED_COLLATERAL,
  TIER_ISOLATED_COLLATERAL,
  WAD,
  marketAuthorityAddress,
  obligationReserves,
  oracleLookup,
  refreshObligationInstruction,
  refreshThenAct,
  reserveAddress,
  setComputeUnitLimitInstruction,
  storedWad,
  type OracleSource,
} from './index.ts';

/** What is wrong with an action's input, found before anything is built or sent. Where the
 *  program has an error for the same thing, the reason is its name (`ZeroAmount`,
 *  `InvalidObligationOwner`, `InsufficientCollateral`, `ObligationDepositsFull`,
 *  `ObligationBorrowsFull`). */
export type ActionInputReason =
  /** An amount (or share count) of 0. */
  | 'ZeroAmount'
  /** An amount that is not a u64 (negative, or above 2^64 - 1). */
  | 'AmountOutOfRange'
  /** No account at the reserve's address. */
  | 'ReserveNotFound'
  /** The account is not a Solvent reserve: another owner, size or discriminator, or not the
   *  reserve PDA of its market and mint. */
  | 'NotAReserve'
  /** A Solvent reserve, of another market than the one named. */
  | 'ReserveOfOtherMarket'
  /** No account at the obligation's address. */
  | 'ObligationNotFound'
  /** The account is not a Solvent obligation (owner, size or discriminator). */
  | 'NotAnObligation'
  /** An obligation of another market than the one named. */
  | 'ObligationOfOtherMarket'
  /** The signer is not the obligation's owner (deposit, borrow, withdraw). */
  | 'InvalidObligationOwner'
  /** A withdrawal from a reserve the obligation holds no collateral in. */
  | 'NoDepositPosition'
  /** A repayment to a reserve the obligation owes nothing to. */
  | 'NoBorrowPosition'
  /** A withdrawal of more shares than the position holds. */
  | 'InsufficientCollateral'
  /** A new collateral position in an obligation whose deposit slots are all taken. */
  | 'ObligationDepositsFull'
  /** A new debt in an obligation whose borrow slots are all taken. */
  | 'ObligationBorrowsFull'
  /** In `actions`, a withdraw or repay whose effect on the positions cannot be known before it
   *  runs (it may or may not close the position), followed by more actions, which need the
   *  positions as they will be. */
  | 'LayoutUnknown'
  /** An account was given by address and no `rpc` was given to fetch it. */
  | 'RpcNeeded'
  /** `actions` with no action. */
  | 'NoActions';

export class ActionInputError extends Error {
  constructor(
    readonly reason: ActionInputReason,
    detail: string,
  ) {
    super(`${reason}: ${detail}`);
    this.name = 'ActionInputError';
  }
}

/** A reserve: its address (fetched, then checked) or the account already decoded (checked). */
export type ReserveInput = Address | { address: Address; data: generated.Reserve };
/** An obligation: its address (fetched, then checked) or the account already decoded. */
export type ObligationInput = Address | { address: Address; data: generated.Obligation };

/** How accounts given by address are read. */
export type ResolveOptions = {
  /** Any @solana/kit RPC (`createSolanaRpc(url)`): accounts given by address, and the
   *  obligation's position reserves not in `reserves`, are fetched with `getMultipleAccounts`. */
  rpc?: Rpc<GetMultipleAccountsApi>;
  /** Reserves already decoded (`fetchMarketReserves`, `fetchAllReserve`): used, after the same
   *  checks, instead of fetching them. */
  reserves?: Iterable<{ address: Address; data: generated.Reserve }>;
  /** Commitment of the reads (default `confirmed`: the latest state a signer should act on). */
  commitment?: Commitment;
};

/** One action of `actions`, on the obligation `actions` names, signed by its `owner`. */
export type Action =
  /** Deposits `amount` base units as collateral, from `source` (default: the owner's associated
   *  token account of the reserve's mint). */
  | { kind: 'deposit'; reserve: ReserveInput; amount: bigint; source?: Address }
  /** Borrows `amount` base units, to `destination` (default: the owner's associated token account). */
  | { kind: 'borrow'; reserve: ReserveInput; amount: bigint; destination?: Address }
  /** Withdraws `shares` collateral shares (2^64 - 1: all), to `destination` (default: the
   *  owner's associated token account). */
  | { kind: 'withdraw'; reserve: ReserveInput; shares: bigint; destination?: Address }
  /** Repays `amount` base units (2^64 - 1: the whole debt), from `source` (default: the
   *  owner's associated token account). */
  | { kind: 'repay'; reserve: ReserveInput; amount: bigint; source?: Address };

const U64_MAX = 2n ** 64n - 1n;
const DEFAULT_ADDRESS = '11111111111111111111111111111111' as Address;
/** The most a transaction may ask for (the runtime's `MAX_COMPUTE_UNIT_LIMIT`). */
const MAX_COMPUTE_UNITS = 1_400_000;

const sameBytes = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((byte, i) => byte === b[i]);
const isAddress = (input: ReserveInput | ObligationInput): input is Address => typeof input === 'string';
const addressOf = (input: ReserveInput | ObligationInput) => (isAddress(input) ? input : input.address);

function checkAmount(what: string, amount: bigint) {
  if (typeof amount !== 'bigint' || amount < 0n || amount > U64_MAX) throw new ActionInputError('AmountOutOfRange', `${what} ${String(amount)} is not a u64 (a bigint from 1 to 2^64 - 1)`);
  if (amount === 0n) throw new ActionInputError('ZeroAmount', `${what} is 0`);
}

/** A reserve account, checked to be a Solvent reserve of `market` (in this order: the account
 *  exists, is the program's with a reserve's size and discriminator, names `market`, and is the
 *  reserve PDA of `market` and its mint), decoded. */
export async function checkedReserve(
  market: Address,
  address: Address,
  account: MaybeEncodedAccount | { exists: true; data: generated.Reserve; decoded: true },
): Promise<{ address: Address; data: generated.Reserve }> {
  if (!account.exists) throw new ActionInputError('ReserveNotFound', `no account at reserve ${address}`);
  let data: generated.Reserve;
  if ('decoded' in account) {
    data = account.data;
    if (!sameBytes(data.discriminator, generated.RESERVE_DISCRIMINATOR)) throw new ActionInputError('NotAReserve', `${address} was given with data that is not a reserve's`);
  } else {
    if (account.programAddress !== PROGRAM_ID) throw new ActionInputError('NotAReserve', `${address} is owned by ${account.programAddress}, not the Solvent program`);
    if (account.data.length !== generated.getReserveSize() || !sameBytes(account.data.subarray(0, 8), generated.RESERVE_DISCRIMINATOR)) {
      throw new ActionInputError('NotAReserve', `${address} is a Solvent account but not a reserve`);
    }
    data = generated.getReserveDecoder().decode(account.data);
  }
  if (data.lendingMarket !== market) throw new ActionInputError('ReserveOfOtherMarket', `reserve ${address} is of market ${data.lendingMarket}, not ${market}`);
  if ((await reserveAddress(market, data.liquidityMint)) !== address) {
    throw new ActionInputError('NotAReserve', `${address} is not the reserve PDA of market ${market} and mint ${data.liquidityMint}`);
  }
  return { address, data };
}

/** An obligation account, checked to be a Solvent obligation of `market`, decoded. */
function checkedObligation(market: Address, address: Address, account: MaybeEncodedAccount | { exists: true; data: generated.Obligation; decoded: true }) {
  if (!account.exists) throw new ActionInputError('ObligationNotFound', `no account at obligation ${address} (create it with init_obligation first)`);
  let data: generated.Obligation;
  if ('decoded' in account) {
    data = account.data;
    if (!sameBytes(data.discriminator, generated.OBLIGATION_DISCRIMINATOR)) throw new ActionInputError('NotAnObligation', `${address} was given with data that is not an obligation's`);
  } else {
    if (
      account.programAddress !== PROGRAM_ID ||
      account.data.length !== generated.getObligationSize() ||
      !sameBytes(account.data.subarray(0, 8), generated.OBLIGATION_DISCRIMINATOR)
    ) {
      throw new ActionInputError('NotAnObligation', `${address} is not a Solvent obligation`);
    }
    data = generated.getObligationDecoder().decode(account.data);
  }
  if (data.lendingMarket !== market) throw new ActionInputError('ObligationOfOtherMarket', `obligation ${address} is of market ${data.lendingMarket}, not ${market}`);
  return { address, data };
}

async function fetchAll(options: ResolveOptions, addresses: Address[], what: string): Promise<Map<Address, MaybeEncodedAccount>> {
  if (addresses.length === 0) return new Map();
  if (!options.rpc) throw new ActionInputError('RpcNeeded', `${what} ${addresses.join(', ')} given by address: pass { rpc } to fetch it, or the decoded account`);
  const out = new Map<Address, MaybeEncodedAccount>();
  // getMultipleAccounts takes at most 100 addresses.
  for (let i = 0; i < addresses.length; i += 100) {
    const chunk = addresses.slice(i, i + 100);
    const accounts = await fetchEncodedAccounts(options.rpc, chunk, { commitment: options.commitment ?? 'confirmed' });
    chunk.forEach((address, j) => out.set(address, accounts[j]));
  }
  return out;
}

/** Reads and checks the reserves `inputs` name and, when given, the obligation, then its
 *  position reserves: in at most two `getMultipleAccounts` rounds, nothing fetched that was
 *  given decoded (inline or in `options.reserves`). */
async function resolveAccounts(market: Address, obligationInput: ObligationInput | undefined, inputs: ReserveInput[], options: ResolveOptions) {
  const given = new Map<Address, generated.Reserve>();
  for (const reserve of options.reserves ?? []) given.set(reserve.address, reserve.data);
  for (const input of inputs) if (!isAddress(input)) given.set(input.address, input.data);
  const toFetch = [...new Set(inputs.map(addressOf).filter((a) => !given.has(a)))];
  const obligationKey = obligationInput && addressOf(obligationInput);
  const first = await fetchAll(options, obligationInput && isAddress(obligationInput) ? [obligationInput, ...toFetch.filter((a) => a !== obligationInput)] : toFetch, 'account');
  const reserves = new Map<Address, generated.Reserve>();
  const check = async (address: Address, fetched: Map<Address, MaybeEncodedAccount>) => {
    if (reserves.has(address)) return;
    const known = given.get(address);
    const { data } = await checkedReserve(market, address, known ? { exists: true, data: known, decoded: true } : fetched.get(address)!);
    reserves.set(address, data);
  };
  let obligation: { address: Address; data: generated.Obligation } | undefined;
  if (obligationInput) {
    obligation = checkedObligation(market, obligationKey!, isAddress(obligationInput) ? first.get(obligationInput)! : { exists: true, data: obligationInput.data, decoded: true });
  }
  for (const input of inputs) await check(addressOf(input), first);
  if (obligation) {
    const positions = [...new Set(obligationReserves(obligation.data))].filter((a) => !reserves.has(a));
    const second = await fetchAll(options, positions.filter((a) => !given.has(a)), 'position reserve');
    for (const address of positions) await check(address, second);
  }
  return { obligation, reserves };
}

/** The signer's associated token account of `mint` (under the reserve's token program). */
const ataOf = async (owner: Address, mint: Address, tokenProgram: Address) => (await findAssociatedTokenPda({ owner, mint, tokenProgram }))[0];

const unitsOf = (ix: Instruction) => new DataView(ix.data!.buffer, ix.data!.byteOffset).getUint32(1, true);

const countOf = (index: number, length: number) => (index === -1 ? length : index);

/** `obligation` as the program leaves it after `action` (its positions and tier flags, which
 *  decide the accounts the actions after it take), as the program's `Obligation::deposit`,
 *  `borrow`, `withdraw_shares` and repay place them: a new position goes in the first free slot,
 *  after the others; a closed one is removed and those after it move up. Position sizes are
 *  kept as lower bounds: exact where nothing in this transaction changed them by an amount only
 *  known when it runs (`uncertain`: deposits add shares at the reserve's rate then; interest
 *  adds to a debt), else at most the real size. A withdraw or repay that may or may not close
 *  its position by that measure is refused (`LayoutUnknown`) unless it is the last action
 *  (`last`): nothing after it depends on the layout. */
function obligationAfter(
  obligation: generated.Obligation,
  action: Action,
  reserveKey: Address,
  reserve: generated.Reserve,
  uncertain: Set<Address>,
  last: boolean,
): generated.Obligation {
  const deposits = [...obligation.deposits];
  const borrows = [...obligation.borrows];
  const depositCount = countOf(deposits.findIndex((d) => d.depositReserve === DEFAULT_ADDRESS), deposits.length);
  const borrowCount = countOf(borrows.findIndex((b) => b.borrowReserve === DEFAULT_ADDRESS), borrows.length);
  const depositIndex = deposits.slice(0, depositCount).findIndex((d) => d.depositReserve === reserveKey);
  const borrowIndex = borrows.slice(0, borrowCount).findIndex((b) => b.borrowReserve === reserveKey);
  const unknown = (detail: string) => {
    if (!last) throw new ActionInputError('LayoutUnknown', `${detail}, and more actions follow: send it in a transaction of its own, or close the position (2^64 - 1)`);
  };
  let tierFlags = obligation.tierFlags;
  switch (action.kind) {
    case 'deposit':
      if (depositIndex === -1) {
        if (depositCount === deposits.length) throw new ActionInputError('ObligationDepositsFull', `the obligation holds ${depositCount} collateral positions, the most it can`);
        deposits[depositCount] = { ...deposits[depositCount], depositReserve: reserveKey, depositedShares: 0n };
        // `check_collateral_tier`: the first collateral sets the isolated tier.
        if (depositCount === 0) {
          tierFlags = (reserve.config.riskFlags & RISK_FLAG_ISOLATED_COLLATERAL) !== 0 ? tierFlags | TIER_ISOLATED_COLLATERAL : tierFlags & ~TIER_ISOLATED_COLLATERAL;
        }
      }
      uncertain.add(reserveKey);
      break;
    case 'borrow':
      if (borrowIndex === -1) {
        if (borrowCount === borrows.length) throw new ActionInputError('ObligationBorrowsFull', `the obligation owes ${borrowCount} debts, the most it can`);
        borrows[borrowCount] = { ...borrows[borrowCount], borrowReserve: reserveKey, borrowedAmountWad: storeWad(0n) };
      }
      break;
    case 'withdraw': {
      if (depositIndex === -1) throw new ActionInputError('NoDepositPosition', `the obligation holds no collateral in reserve ${reserveKey}`);
      const held = deposits[depositIndex].depositedShares;
      let closes = action.shares === U64_MAX;
      if (!closes && !uncertain.has(reserveKey)) {
        if (action.shares > held) throw new ActionInputError('InsufficientCollateral', `withdrawing ${action.shares} shares of the ${held} held`);
        closes = action.shares === held;
      } else if (!closes && action.shares >= held) {
        unknown(`withdrawing ${action.shares} shares from a position this transaction adds to may close it`);
      }
      if (closes) {
        deposits.splice(depositIndex, 1);
        deposits.push({ ...obligation.deposits[obligation.deposits.length - 1], depositReserve: DEFAULT_ADDRESS, depositedShares: 0n });
      } else {
        deposits[depositIndex] = { ...deposits[depositIndex], depositedShares: held > action.shares ? held - action.shares : 0n };
      }
      break;
    }
    case 'repay': {
      if (borrowIndex === -1) throw new ActionInputError('NoBorrowPosition', `the obligation owes nothing to reserve ${reserveKey}`);
      // The debt only grows between refreshes: less than its booked size cannot close it.
      const booked = storedWad(borrows[borrowIndex].borrowedAmountWad) / WAD;
      const closes = action.amount === U64_MAX;
      if (!closes && action.amount >= booked) unknown(`repaying ${action.amount} of a debt of at least ${booked} may or may not close it`);
      if (closes) {
        borrows.splice(borrowIndex, 1);
        borrows.push({ ...obligation.borrows[obligation.borrows.length - 1], borrowReserve: DEFAULT_ADDRESS });
      } else {
        const left = booked > action.amount ? booked - action.amount : 0n;
        borrows[borrowIndex] = { ...borrows[borrowIndex], borrowedAmountWad: storeWad(left * WAD) };
      }
      break;
    }
  }
  return { ...obligation, deposits, borrows, tierFlags };
}

/** The keys of a reserve that instructions name with it, as the client crate's
 *  `ReserveKeys::from_state`. */
export type ReserveKeys = {
  reserve: Address;
  mint: Address;
  vault: Address;
  feeVault: Address;
  collateralMint: Address;
  oracle: Address;
  decimals: number;
  /** The mint's token program (SPL Token or Token-2022), as the reserve recorded it at init. */
  tokenProgram: Address;
};

/** The keys recorded on a reserve account. */
export function reserveKeys(reserve: Address, data: generated.Reserve): ReserveKeys {
  return {
    reserve,
    mint: data.liquidityMint,
    vault: data.liquidityVault,
    feeVault: data.feeVault,
    collateralMint: data.collateralMint,
    oracle: data.oracle,
    decimals: data.liquidityDecimals,
    tokenProgram: data.tokenProgram,
  };
}

/** The actions, in order, on `obligation` of `market`, in one transaction: a compute-unit
 *  limit (the sum of each action's, as `refreshThenAct` sizes them, at most 1.4M), then each
 *  action as `refreshThenAct` lays it out for the obligation as the program will see it when
 *  the action runs: after the actions before it (`obligationAfter`: a deposit that opens a
 *  position adds that reserve, with its oracle, to the position reserves of a borrow or
 *  withdraw after it). Every account is resolved from the reserves (`ReserveKeys`) and the
 *  market (the authority PDA); token accounts default to the owner's associated token accounts
 *  (which must exist). The obligation's position reserves are read for their oracles.
 *
 *  Throws `ActionInputError` before returning anything when an input is wrong: no action,
 *  an amount of 0 or beyond u64, a reserve or obligation that does not exist, is not the
 *  program's, or is of another market, an `owner` that does not own the obligation (repay
 *  excepted), a withdraw or repay of a position the obligation does not hold, or a layout the
 *  program's state decides only at run time followed by more actions (`LayoutUnknown`). */
export async function actions(
  args: { market: Address; obligation: ObligationInput; owner: TransactionSigner; actions: Action[] },
  options: ResolveOptions = {},
): Promise<Instruction[]> {
  const { market, owner } = args;
  if (args.actions.length === 0) throw new ActionInputError('NoActions', 'no action given');
  for (const action of args.actions) checkAmount(`${action.kind} ${action.kind === 'withdraw' ? 'shares' : 'amount'}`, action.kind === 'withdraw' ? action.shares : action.amount);
  const { obligation, reserves } = await resolveAccounts(market, args.obligation, args.actions.map((a) => a.reserve), options);
  const { address: obligationKey } = obligation!;
  if (args.actions.some((a) => a.kind !== 'repay') && obligation!.data.owner !== owner.address) {
    throw new ActionInputError('InvalidObligationOwner', `obligation ${obligationKey} is owned by ${obligation!.data.owner}, not ${owner.address}`);
  }
  const authority = await marketAuthorityAddress(market);
  const oracles: OracleSource = reserves;
  let state = obligation!.data;
  const uncertain = new Set<Address>();
  let units = 0;
  const body: Instruction[] = [];
  for (const [i, action] of args.actions.entries()) {
    const key = addressOf(action.reserve);
    const keys = reserveKeys(key, reserves.get(key)!);
    const ata = () => ataOf(owner.address, keys.mint, keys.tokenProgram);
    const common = { reserve: key, obligation: obligationKey, liquidityMint: keys.mint, liquidityVault: keys.vault, tokenProgram: keys.tokenProgram };
    let ix: Instruction;
    switch (action.kind) {
      case 'deposit':
        ix = generated.getDepositInstruction({ ...common, lendingMarket: market, owner, sourceLiquidity: action.source ?? (await ata()), amount: action.amount });
        break;
      case 'borrow':
        ix = generated.getBorrowInstruction({ ...common, lendingMarket: market, owner, destinationLiquidity: action.destination ?? (await ata()), marketAuthority: authority, amount: action.amount });
        break;
      case 'withdraw':
        ix = generated.getWithdrawInstruction({ ...common, lendingMarket: market, owner, destinationLiquidity: action.destination ?? (await ata()), marketAuthority: authority, collateralShares: action.shares });
        break;
      case 'repay':
        ix = generated.getRepayInstruction({ ...common, repayer: owner, sourceLiquidity: action.source ?? (await ata()), amount: action.amount });
        break;
    }
    const built = await refreshThenAct(market, obligationKey, state, oracles, [key], ix);
    for (const part of built) {
      if (part.programAddress === COMPUTE_BUDGET_PROGRAM_ID) units += unitsOf(part);
      else body.push(part);
    }
    state = obligationAfter(state, action, key, reserves.get(key)!, uncertain, i === args.actions.length - 1);
  }
  return [setComputeUnitLimitInstruction(Math.min(units, MAX_COMPUTE_UNITS)), ...body];
}

type Common = { market: Address; reserve: ReserveInput; obligation: ObligationInput; owner: TransactionSigner };

/** A deposit of `amount` base units of the reserve's mint as collateral of `obligation`, from
 *  `source` (default: the owner's associated token account), after the refresh sequence
 *  (`refreshThenAct`), with every account resolved (`actions`). */
export function deposit(args: Common & { amount: bigint; source?: Address }, options: ResolveOptions = {}): Promise<Instruction[]> {
  const { market, obligation, owner, ...action } = args;
  return actions({ market, obligation, owner, actions: [{ kind: 'deposit', ...action }] }, options);
}

/** A borrow of `amount` base units, to `destination` (default: the owner's associated token
 *  account), revaluing the obligation inline (`refreshThenAct`), with every account resolved. */
export function borrow(args: Common & { amount: bigint; destination?: Address }, options: ResolveOptions = {}): Promise<Instruction[]> {
  const { market, obligation, owner, ...action } = args;
  return actions({ market, obligation, owner, actions: [{ kind: 'borrow', ...action }] }, options);
}

/** A withdrawal of `shares` collateral shares (2^64 - 1: all), to `destination` (default: the
 *  owner's associated token account); with debt it revalues the obligation inline. */
export function withdraw(args: Common & { shares: bigint; destination?: Address }, options: ResolveOptions = {}): Promise<Instruction[]> {
  const { market, obligation, owner, ...action } = args;
  return actions({ market, obligation, owner, actions: [{ kind: 'withdraw', ...action }] }, options);
}

/** A repayment of `amount` base units (2^64 - 1: the whole debt) of the obligation's debt in
 *  the reserve, by `repayer` (anyone: not checked against the obligation's owner) from `source`
 *  (default: the repayer's associated token account), after the refresh sequence, with the
 *  debt counters the program needs. */
export function repay(
  args: Omit<Common, 'owner'> & { repayer: TransactionSigner; amount: bigint; source?: Address },
  options: ResolveOptions = {},
): Promise<Instruction[]> {
  const { market, obligation, repayer, ...action } = args;
  return actions({ market, obligation, owner: repayer, actions: [{ kind: 'repay', ...action }] }, options);
}

/** A deposit that opens (or adds to) a collateral position and a borrow against it, in one
 *  transaction (`actions`): the borrow's position reserves include the deposit's reserve, new
 *  or not. */
export function depositAndBorrow(
  args: {
    market: Address;
    obligation: ObligationInput;
    owner: TransactionSigner;
    deposit: { reserve: ReserveInput; amount: bigint; source?: Address };
    borrow: { reserve: ReserveInput; amount: bigint; destination?: Address };
  },
  options: ResolveOptions = {},
): Promise<Instruction[]> {
  const { market, obligation, owner } = args;
  return actions({ market, obligation, owner, actions: [{ kind: 'deposit', ...args.deposit }, { kind: 'borrow', ...args.borrow }] }, options);
}

/** The refresh sequence of an obligation alone, as the client crate's
 *  `refresh_obligation_sequence`: refresh_reserve for each of its position reserves (once each,
 *  in the obligation's order) with its oracle from `oracles`, then refresh_obligation with the
 *  position reserves (deposits, then borrows). No compute-unit limit. */
export function refreshInstructions(obligation: { address: Address; data: generated.Obligation }, oracles: OracleSource): Instruction[] {
  const oracleOf = oracleLookup(oracles);
  const positions = obligationReserves(obligation.data);
  return [
    ...[...new Set(positions)].map((reserve) => generated.getRefreshReserveInstruction({ reserve, oracle: oracleOf(reserve) })),
    refreshObligationInstruction(obligation.address, obligation.data.lendingMarket, positions),
  ];
}

// ---- Liquidation, order execution and soft deleverage. ----

/** Which instruction a deleveraging call is (`Deleverage` of `quoteLiquidation`). */
export type DeleverageMode = { kind: 'liquidation' } | { kind: 'order'; index: number } | { kind: 'soft' };

/** A liquidation (or, with `mode`, the execution of the owner's triggered order `index`, or a
 *  soft deleverage) of `obligation` by `liquidator`: repaying up to `amount` base units
 *  (2^64 - 1: as much as the program allows; `quoteLiquidation` sizes it) of the debt in
 *  `repayReserve` from `source`, for collateral of `withdrawReserve` to `destination` (both
 *  default to the liquidator's associated token accounts, which must exist); with
 *  `sharesDestination` (a token account of the withdraw reserve's share mint) the part the
 *  reserve's idle liquidity cannot pay comes as shares. After the separate refresh sequence
 *  (`refreshThenAct`), with the position reserves and debt counters the program needs.
 *  Throws `ActionInputError` as `actions` does, and `NoBorrowPosition` / `NoDepositPosition`
 *  when the obligation owes nothing in `repayReserve` or holds no collateral in `withdrawReserve`. */
export async function liquidate(
  args: {
    market: Address;
    obligation: ObligationInput;
    liquidator: TransactionSigner;
    repayReserve: ReserveInput;
    withdrawReserve: ReserveInput;
    amount: bigint;
    source?: Address;
    destination?: Address;
    sharesDestination?: Address;
    mode?: DeleverageMode;
  },
  options: ResolveOptions = {},
): Promise<Instruction[]> {
  const { market, liquidator } = args;
  checkAmount('liquidation repay amount', args.amount);
  const { obligation, reserves } = await resolveAccounts(market, args.obligation, [args.repayReserve, args.withdrawReserve], options);
  const [repayKey, withdrawKey] = [addressOf(args.repayReserve), addressOf(args.withdrawReserve)];
  const state = obligation!.data;
  if (!state.borrows.some((b) => b.borrowReserve === repayKey)) {
    throw new ActionInputError('NoBorrowPosition', `obligation ${obligation!.address} owes nothing in reserve ${repayKey}`);
  }
  if (!state.deposits.some((d) => d.depositReserve === withdrawKey)) {
    throw new ActionInputError('NoDepositPosition', `obligation ${obligation!.address} holds no collateral in reserve ${withdrawKey}`);
  }
  const [repay, withdrawFrom] = [reserveKeys(repayKey, reserves.get(repayKey)!), reserveKeys(withdrawKey, reserves.get(withdrawKey)!)];
  const accounts = {
    lendingMarket: market,
    obligation: obligation!.address,
    liquidator,
    repayReserve: repayKey,
    repayLiquidityMint: repay.mint,
    repayLiquidityVault: repay.vault,
    sourceLiquidity: args.source ?? (await ataOf(liquidator.address, repay.mint, repay.tokenProgram)),
    withdrawReserve: withdrawKey,
    withdrawLiquidityMint: withdrawFrom.mint,
    withdrawLiquidityVault: withdrawFrom.vault,
    destinationLiquidity: args.destination ?? (await ataOf(liquidator.address, withdrawFrom.mint, withdrawFrom.tokenProgram)),
    marketAuthority: await marketAuthorityAddress(market),
    repayTokenProgram: repay.tokenProgram,
    withdrawTokenProgram: withdrawFrom.tokenProgram,
    ...(args.sharesDestination ? { withdrawCollateralMint: withdrawFrom.collateralMint, destinationCollateral: args.sharesDestination } : {}),
    repayAmount: args.amount,
  };
  const mode = args.mode ?? { kind: 'liquidation' };
  const ix =
    mode.kind === 'order'
      ? generated.getExecuteObligationOrderInstruction({ ...accounts, index: mode.index })
      : mode.kind === 'soft'
        ? generated.getSoftDeleverageInstruction(accounts)
        : generated.getLiquidateInstruction(accounts);
  return refreshThenAct(market, obligation!.address, state, reserves, [repayKey, withdrawKey], ix);
}

// ---- Lend-only: supply and redeem outside any obligation. ----

/** A lend-only deposit of `amount` base units into the reserve for share tokens, from `source`
 *  (default: the depositor's associated token account of the mint) to `destinationCollateral`
 *  (default: the depositor's associated token account of the reserve's share mint, created
 *  first if missing, idempotently). No refresh is needed. Throws `ActionInputError` as
 *  `actions` does for the reserve and the amount. */
export async function depositReserveLiquidity(
  args: { market: Address; reserve: ReserveInput; depositor: TransactionSigner; amount: bigint; source?: Address; destinationCollateral?: Address },
  options: ResolveOptions = {},
): Promise<Instruction[]> {
  const { market, depositor } = args;
  checkAmount('deposit amount', args.amount);
  const { reserves } = await resolveAccounts(market, undefined, [args.reserve], options);
  const keys = reserveKeys(addressOf(args.reserve), reserves.get(addressOf(args.reserve))!);
  const out: Instruction[] = [];
  let destinationCollateral = args.destinationCollateral;
  if (!destinationCollateral) {
    destinationCollateral = await ataOf(depositor.address, keys.collateralMint, keys.tokenProgram);
    out.push(await getCreateAssociatedTokenIdempotentInstructionAsync({ payer: depositor, owner: depositor.address, mint: keys.collateralMint, ata: destinationCollateral, tokenProgram: keys.tokenProgram }));
  }
  out.push(
    generated.getDepositReserveLiquidityInstruction({
      lendingMarket: market,
      reserve: keys.reserve,
      depositor,
      liquidityMint: keys.mint,
      liquidityVault: keys.vault,
      collateralMint: keys.collateralMint,
      sourceLiquidity: args.source ?? (await ataOf(depositor.address, keys.mint, keys.tokenProgram)),
      destinationCollateral,
      marketAuthority: await marketAuthorityAddress(market),
      tokenProgram: keys.tokenProgram,
      amount: args.amount,
    }),
  );
  return out;
}

/** A lend-only redemption of `shares` share tokens from `sourceCollateral` (default: the
 *  redeemer's associated token account of the share mint) for the liquidity they are worth, to
 *  `destination` (default: the redeemer's associated token account of the mint). No refresh is
 *  needed. Throws `ActionInputError` as `actions` does for the reserve and the amount. */
export async function redeemReserveCollateral(
  args: { market: Address; reserve: ReserveInput; redeemer: TransactionSigner; shares: bigint; sourceCollateral?: Address; destination?: Address },
  options: ResolveOptions = {},
): Promise<Instruction[]> {
  const { market, redeemer } = args;
  checkAmount('redeem shares', args.shares);
  const { reserves } = await resolveAccounts(market, undefined, [args.reserve], options);
  const keys = reserveKeys(addressOf(args.reserve), reserves.get(addressOf(args.reserve))!);
  return [
    generated.getRedeemReserveCollateralInstruction({
      lendingMarket: market,
      reserve: keys.reserve,
      redeemer,
      liquidityMint: keys.mint,
      liquidityVault: keys.vault,
      collateralMint: keys.collateralMint,
      sourceCollateral: args.sourceCollateral ?? (await ataOf(redeemer.address, keys.collateralMint, keys.tokenProgram)),
      destinationLiquidity: args.destination ?? (await ataOf(redeemer.address, keys.mint, keys.tokenProgram)),
      marketAuthority: await marketAuthorityAddress(market),
      tokenProgram: keys.tokenProgram,
      shares: args.shares,
    }),
  ];
}
