// A position as the chain values it now: the refresh sequence run in a simulation (nothing is
// sent, nothing signed), the refreshed accounts decoded from the simulation, and the market
// view the position math (`./position.ts`) answers queries on: `maxBorrow`, `maxWithdraw`,
// `liquidationPrice`, `quoteLiquidation`, `bestDeleverage` for a transaction at that slot.
//
// Default entry: @solana/kit only, no Node built-in.
import {
  getBase64Encoder,
  type Address,
  type Commitment,
  type GetAccountInfoApi,
  type GetMultipleAccountsApi,
  type Rpc,
  type SimulateTransactionApi,
} from '@solana/kit';
import * as generated from '../generated/index.ts';
import { refreshInstructions } from './actions.ts';
import { emodeGroupDebtAddress, obligationReserves } from './index.ts';
import { marketEmode, refreshObligation, type MarketView, type ObligationValues } from './position.ts';
import { simulateInstructions } from './send.ts';
import { TransactionError } from './errors.ts';

/** What `simulatePosition` read. */
export type SimulatedPosition = {
  /** The market as the simulation left it: reserves refreshed at `slot` and `now` (the
   *  simulated clock), the e-mode groups' debt accounts. */
  view: MarketView;
  /** The obligation as refresh_obligation left it in the simulation. */
  obligation: { address: Address; data: generated.Obligation };
  /** The health engine's values for it (`refreshObligation` on the view: what the program's
   *  refresh computed, by kind). */
  values: ObligationValues;
  /** Compute units the refresh sequence consumed. */
  unitsConsumed: number | undefined;
};

/** Refreshes `obligation` and its position reserves (plus `reserves`, for a borrow of a reserve
 *  it does not owe yet) in a simulation, and decodes what the program wrote. `feePayer`
 *  (default: the obligation's owner) must be an existing account; nothing is signed or sent.
 *  Throws the simulation's failure decoded (`RefreshAndRetryError` for a stale or bad oracle,
 *  …), a `TransactionError` when an account is missing. */
export async function simulatePosition(
  rpc: Rpc<GetAccountInfoApi & GetMultipleAccountsApi & SimulateTransactionApi>,
  args: { obligation: Address; reserves?: Address[]; feePayer?: Address; commitment?: Commitment },
): Promise<SimulatedPosition> {
  const commitment = args.commitment ?? 'confirmed';
  const obligation = await generated.fetchObligation(rpc, args.obligation, { commitment });
  const marketKey = obligation.data.lendingMarket;
  const keys = [...new Set([...obligationReserves(obligation.data), ...(args.reserves ?? [])])];
  const before = await generated.fetchAllReserve(rpc, keys, { commitment });
  const oracles = new Map(before.map((r) => [r.address, r.data]));
  const positions = new Set(obligationReserves(obligation.data));
  const extra = keys.filter((key) => !positions.has(key)).map((reserve) => generated.getRefreshReserveInstruction({ reserve, oracle: oracles.get(reserve)!.oracle }));
  const instructions = [...extra, ...refreshInstructions(obligation, oracles)];
  const market = await generated.fetchLendingMarket(rpc, marketKey, { commitment });
  const groups = Array.from({ length: 8 }, (_, i) => i + 1).filter((group) => marketEmode(market.data, group).params.liquidationThresholdBps !== 0);
  const debtKeys = await Promise.all(groups.map((group) => emodeGroupDebtAddress(marketKey, group)));
  const debts = await generated.fetchAllMaybeEmodeGroupDebt(rpc, debtKeys, { commitment });
  const simulated = await simulateInstructions(rpc, args.feePayer ?? obligation.data.owner, instructions, [args.obligation, ...keys], commitment);
  const accountData = (index: number) => {
    const account = simulated.accounts[index];
    if (!account) throw new TransactionError(`the simulation returned no account ${index === 0 ? args.obligation : keys[index - 1]}`);
    return getBase64Encoder().encode(account.data[0]);
  };
  const refreshed = generated.getObligationDecoder().decode(accountData(0));
  const reserves = new Map(keys.map((key, i) => [key, generated.getReserveDecoder().decode(accountData(i + 1))]));
  // Every reserve refreshed to the simulated clock (an obligation without positions: the slot).
  const clock = [...reserves.values()][0] ?? { priceUpdatedSlot: simulated.slot, lastUpdateTimestamp: 0n };
  const view: MarketView = {
    market: market.data,
    reserves,
    emodeDebts: new Map(debts.flatMap((debt, i) => (debt.exists ? [[groups[i], debt.data] as const] : []))),
    slot: clock.priceUpdatedSlot,
    now: clock.lastUpdateTimestamp,
  };
  return { view, obligation: { address: args.obligation, data: refreshed }, values: refreshObligation(view, refreshed).values, unitsConsumed: simulated.unitsConsumed };
}
