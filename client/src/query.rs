//! Position queries beside the program's own math: each runs the program's code (the
//! `state::operations` rules of `borrow` and `withdraw`, `Obligation::revalue`,
//! `state::quote_liquidation`) on copies of the accounts as the next transaction will see them,
//! so an answer here and the instruction on chain agree to the base unit, for a transaction at
//! the view's slot and time. One that lands later accrues more interest and may see another
//! price: leave a margin (or reload the view) when quoting for a transaction sent over RPC.
use crate::keys::{from_anchor, to_anchor, Pubkey};
use crate::view::MarketView;
use solvent::errors::LendingError;
use solvent::math::{Rounding, Wad};
use solvent::oracle::OraclePrice;
use solvent::state::{operations, quote_deleverage as program_quote, Deleverage, LiquidationQuote, LiquidationRequest, Obligation};

/// The largest amount an instruction accepts now, and the error one base unit more gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// 0 when no amount is accepted.
    pub amount: u64,
    /// Why `amount + 1` is refused (why 1 is, when `amount` is 0); None when it is not (the
    /// search stopped at its upper bound).
    pub refused_above: Option<LendingError>,
}

/// Smallest `x` in `(low, high]` with `holds(x)`, for a `holds` that is monotone (false up to a
/// point, true after) and taken as true at `high` without being called there: the one
/// bisection the queries and the leverage builder share.
pub fn first_true(mut low: u64, mut high: u64, holds: impl Fn(u64) -> bool) -> u64 {
    while low + 1 < high {
        let middle = low + (high - low) / 2;
        if holds(middle) {
            high = middle;
        } else {
            low = middle;
        }
    }
    high
}

/// The largest amount in 1..=upper that `accepts`, for rules whose accepted amounts form one
/// range: refused below it only for paying out nothing (`ZeroAmount`: a fee or a share price
/// taking it all), and above it for good.
fn largest_accepted(upper: u64, accepts: impl Fn(u64) -> Result<(), LendingError>) -> Limit {
    let refused = |amount: u64| accepts(amount).err();
    if upper == 0 {
        return Limit { amount: 0, refused_above: refused(1) };
    }
    let pays_nothing = |amount: u64| matches!(accepts(amount), Err(LendingError::ZeroAmount));
    // The first accepted amount: doubling while the refusal is for paying out nothing, then
    // bisecting back to the first amount refused for another reason, if it came to one.
    let mut probe = 1u64;
    let start = loop {
        let amount = probe.min(upper);
        match accepts(amount) {
            Ok(()) => break amount,
            Err(LendingError::ZeroAmount) if amount < upper => probe = probe.saturating_mul(2),
            Err(LendingError::ZeroAmount) => return Limit { amount: 0, refused_above: refused(1) },
            Err(_) => {
                let high = first_true(amount / 2, amount, |middle| !pays_nothing(middle));
                if accepts(high).is_ok() {
                    break high;
                }
                return Limit { amount: 0, refused_above: refused(1) };
            }
        }
    };
    if accepts(upper).is_ok() {
        return Limit { amount: upper, refused_above: upper.checked_add(1).and_then(refused) };
    }
    let high = first_true(start, upper, |middle| accepts(middle).is_err());
    Limit { amount: high - 1, refused_above: refused(high) }
}

/// The most `borrow` of `reserve` accepts for `obligation` in a transaction that refreshes both
/// first (the debt taken on, the origination fee included).
pub fn max_borrow(view: &MarketView, obligation: &Obligation, reserve: &Pubkey) -> Result<Limit, LendingError> {
    let (refreshed, _) = view.refresh_obligation(obligation)?;
    let mut state = *view.reserve(reserve)?.usable()?;
    state.accrue_interest(view.now)?;
    let key = to_anchor(reserve);
    // Against isolated collateral the borrow is also held within its debt ceiling...
    let isolated = match refreshed.is_isolated() {
        true => Some(view.reserve(&from_anchor(&refreshed.deposits[0].deposit_reserve))?.state),
        false => None,
    };
    // In an e-mode group, within the group's debt cap.
    let group = view.emode_debts.get(&refreshed.emode_group).copied();
    Ok(largest_accepted(u64::MAX - 1, |amount| {
        let (mut obligation, mut reserve, mut isolated, mut group) = (refreshed, state, isolated, group);
        let counters = operations::DebtCounters { isolated: isolated.as_mut(), emode: group.as_mut() };
        operations::borrow(&mut obligation, &mut reserve, &key, amount, counters).map(|_| ())
    }))
}

/// The most collateral shares `withdraw` of `reserve` accepts for `obligation` in a transaction
/// that refreshes both first.
pub fn max_withdraw(view: &MarketView, obligation: &Obligation, reserve: &Pubkey) -> Result<Limit, LendingError> {
    // Without debt the withdrawal needs no price and no refresh.
    let (refreshed, mut state) = if obligation.has_borrows() {
        (view.refresh_obligation(obligation)?.0, *view.reserve(reserve)?.usable()?)
    } else {
        (*obligation, view.reserve(reserve)?.state)
    };
    state.accrue_interest(view.now)?;
    let key = to_anchor(reserve);
    let held = refreshed.find_deposit(&key).map(|i| refreshed.deposits[i].deposited_shares).ok_or(LendingError::DepositNotFound)?;
    Ok(largest_accepted(held, |shares| {
        let (mut obligation, mut reserve) = (refreshed, state);
        operations::withdraw(&mut obligation, &mut reserve, &key, shares, view.slot).map(|_| ())
    }))
}

/// The highest price of `collateral`'s oracle (in its ticks, spot = EMA, every other price as
/// now) at which `obligation` is liquidatable; one tick above it is not. None: it has no debt,
/// is liquidatable at no positive price, is liquidatable at every price (no price of this
/// collateral cures it), or also owes the same asset (then health need not rise with the price).
pub fn liquidation_price(view: &MarketView, obligation: &Obligation, collateral: &Pubkey) -> Result<Option<OraclePrice>, LendingError> {
    if !obligation.has_borrows() || obligation.find_borrow(&to_anchor(collateral)).is_some() {
        return Ok(None);
    }
    let current = *view.reserve(collateral)?.usable()?;
    let exponent = current.market_price_exponent;
    let unhealthy_at = |mantissa: u64| -> bool {
        let mut priced = view.clone();
        let Some(reserve) = priced.reserves.get_mut(collateral) else { return true };
        if mantissa == 0 || reserve.state.set_market_price(OraclePrice { mantissa, exponent }).is_err() {
            return true;
        }
        priced.refresh_obligation(obligation).map(|(_, values)| values.is_unhealthy()).unwrap_or(true)
    };
    if !unhealthy_at(1) {
        return Ok(None);
    }
    let mut high = current.market_price_mantissa.max(2);
    while unhealthy_at(high) {
        match high.checked_mul(2) {
            Some(next) => high = next,
            None => return Ok(None),
        }
    }
    let healthy_from = first_true(1, high, |mantissa| !unhealthy_at(mantissa));
    Ok(Some(OraclePrice { mantissa: healthy_from - 1, exponent }))
}

/// `liquidate`'s own sizing (`state::quote_liquidation`) of repaying up to `max_repay` of the
/// debt in `repay_reserve` for collateral of `withdraw_reserve`, for `obligation` as the
/// liquidation transaction's refresh leaves it.
pub fn quote_liquidation(
    view: &MarketView,
    obligation: &Obligation,
    repay_reserve: &Pubkey,
    withdraw_reserve: &Pubkey,
    max_repay: u64,
    accept_shares: bool,
) -> Result<LiquidationQuote, LendingError> {
    let (refreshed, _) = view.refresh_obligation(obligation)?;
    quote_refreshed(view, &refreshed, repay_reserve, withdraw_reserve, max_repay, accept_shares)
}

/// `quote_liquidation` for an obligation already refreshed at the view.
pub fn quote_refreshed(
    view: &MarketView,
    refreshed: &Obligation,
    repay_reserve: &Pubkey,
    withdraw_reserve: &Pubkey,
    max_repay: u64,
    accept_shares: bool,
) -> Result<LiquidationQuote, LendingError> {
    quote_deleverage_refreshed(view, refreshed, repay_reserve, withdraw_reserve, max_repay, accept_shares, Deleverage::Liquidation)
}

/// The program's sizing (`state::quote_deleverage`) of a liquidation, an order execution or a
/// soft deleverage of `obligation` as the transaction's refresh leaves it: what
/// `liquidate`, `execute_obligation_order` and `soft_deleverage` would do, to the base unit.
pub fn quote_deleverage(
    view: &MarketView,
    obligation: &Obligation,
    repay_reserve: &Pubkey,
    withdraw_reserve: &Pubkey,
    max_repay: u64,
    accept_shares: bool,
    mode: Deleverage,
) -> Result<LiquidationQuote, LendingError> {
    let (refreshed, _) = view.refresh_obligation(obligation)?;
    quote_deleverage_refreshed(view, &refreshed, repay_reserve, withdraw_reserve, max_repay, accept_shares, mode)
}

/// `quote_deleverage` for an obligation already refreshed at the view.
pub fn quote_deleverage_refreshed(
    view: &MarketView,
    refreshed: &Obligation,
    repay_reserve: &Pubkey,
    withdraw_reserve: &Pubkey,
    max_repay: u64,
    accept_shares: bool,
    mode: Deleverage,
) -> Result<LiquidationQuote, LendingError> {
    let borrow_slot = refreshed.find_borrow(&to_anchor(repay_reserve)).ok_or(LendingError::BorrowNotFound)?;
    let deposit_index = refreshed.find_deposit(&to_anchor(withdraw_reserve)).ok_or(LendingError::DepositNotFound)?;
    let repay = view.reserve(repay_reserve)?.usable()?;
    let withdraw = view.reserve(withdraw_reserve)?.usable()?;
    let request = LiquidationRequest {
        borrow_slot,
        deposit_index,
        max_repay,
        now: view.now,
        accept_shares,
        same_reserve: repay_reserve == withdraw_reserve,
    };
    program_quote(&view.state, refreshed, repay, withdraw, request, mode)
}

/// An obligation as the next transaction's refresh will value it.
#[derive(Clone, Debug)]
pub struct Position {
    /// The health engine's output (`values.health(kind)` for each `HealthKind`).
    pub values: solvent::state::ObligationValues,
    /// `Maintenance` assets / liabilities, rounded down (None without debt).
    pub health_factor: Option<Wad>,
    pub liquidatable: bool,
    /// Per collateral reserve, the price at which the obligation becomes liquidatable, every
    /// other price unchanged (`liquidation_price`), under the weights below.
    pub liquidation_prices: Vec<(Pubkey, Option<OraclePrice>)>,
    /// Per collateral position, the weights it is valued with (e-mode, dynamic margin and the
    /// size premium included) and its reserve's volatility estimate.
    pub collateral_weights: Vec<CollateralWeights>,
}

/// The weights of one collateral position, as the program applies them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CollateralWeights {
    pub reserve: Pubkey,
    /// Borrowing power (after a size premium).
    pub loan_to_value_bps: u16,
    pub liquidation_threshold_bps: u16,
    /// The reserve's volatility estimate, annualised, bps (0 without the estimator).
    pub annual_sigma_bps: u64,
}

/// `obligation` valued as the refresh in the next transaction will value it.
pub fn position(view: &MarketView, obligation: &Obligation) -> Result<Position, LendingError> {
    let (refreshed, values) = view.refresh_obligation(obligation)?;
    let collateral = crate::refresh::obligation_reserves(&refreshed)[..refreshed.deposit_count()].to_vec();
    // One collateral the search cannot price does not hide the others.
    let liquidation_prices = collateral.iter().map(|reserve| (*reserve, liquidation_price(view, obligation, reserve).ok().flatten())).collect();
    let mut collateral_weights = Vec::new();
    for (position, reserve) in refreshed.deposits[..refreshed.deposit_count()].iter().zip(&collateral) {
        let state = view.reserve(reserve)?.usable()?;
        let params = values.collateral_params(position.market_value_wad.get(), state);
        collateral_weights.push(CollateralWeights {
            reserve: *reserve,
            loan_to_value_bps: params.loan_to_value_bps,
            liquidation_threshold_bps: params.liquidation_threshold_bps,
            annual_sigma_bps: state.dynamic.annual_sigma_bps(),
        });
    }
    Ok(Position { values, health_factor: values.health_factor(), liquidatable: values.is_unhealthy(), liquidation_prices, collateral_weights })
}

/// One liquidation, order execution or soft deleverage the program would execute now, valued
/// at spot for the executor.
#[derive(Clone, Copy, Debug)]
pub struct Opportunity {
    pub repay_reserve: Pubkey,
    pub withdraw_reserve: Pubkey,
    /// Which instruction executes it.
    pub mode: Deleverage,
    /// The program's own sizing of the call (`quote_deleverage`, as the instruction runs it).
    pub quote: LiquidationQuote,
    /// Quote value of the repayment at spot, rounded up.
    pub repay_value: Wad,
    /// Quote value at spot of what the executor receives (tokens, and shares at their
    /// redemption value), after the protocol's share, rounded down.
    pub received_value: Wad,
}

impl Opportunity {
    pub fn profit(&self) -> Wad {
        self.received_value.checked_sub(self.repay_value).unwrap_or(Wad::ZERO)
    }
}

/// The program's quote of one call on a refreshed obligation, valued at spot.
fn opportunity(view: &MarketView, refreshed: &Obligation, repay_key: &Pubkey, withdraw_key: &Pubkey, accept_shares: bool, mode: Deleverage) -> Option<Opportunity> {
    let quote = quote_deleverage_refreshed(view, refreshed, repay_key, withdraw_key, u64::MAX, accept_shares, mode).ok()?;
    let (repay, withdraw) = (&view.reserves.get(repay_key)?.state, &view.reserves.get(withdraw_key)?.state);
    let shares_value = withdraw.liquidity_for_shares(quote.payout.shares, Rounding::Down).ok()?;
    let received = Wad::from_u64(quote.payout.tokens).checked_add(shares_value)?;
    let repay_value = repay.market_value(Wad::from_u64(quote.plan.repay_amount), Rounding::Up).ok()?;
    let received_value = withdraw.market_value(received, Rounding::Down).ok()?;
    Some(Opportunity { repay_reserve: *repay_key, withdraw_reserve: *withdraw_key, mode, quote, repay_value, received_value })
}

fn better(best: Option<Opportunity>, candidate: Option<Opportunity>) -> Option<Opportunity> {
    match (best, candidate) {
        (Some(b), Some(c)) if c.profit() > b.profit() => Some(c),
        (None, c) => c,
        (b, _) => b,
    }
}

/// Of every (debt, collateral) pair of a refreshed obligation, the liquidation that pays the
/// liquidator most. `accepts_shares(reserve)`: the liquidator can take that reserve's
/// collateral as share tokens.
pub fn best_liquidation(view: &MarketView, refreshed: &Obligation, accepts_shares: impl Fn(&Pubkey) -> bool) -> Option<Opportunity> {
    best_of(view, refreshed, &accepts_shares, &[Deleverage::Liquidation])
}

/// Of everything anyone may execute on a refreshed obligation now (a liquidation, each
/// triggered order, a soft deleverage, on every pair the program allows), the call that pays
/// the executor most: the keeper's ranking.
pub fn best_deleverage(view: &MarketView, refreshed: &Obligation, accepts_shares: impl Fn(&Pubkey) -> bool) -> Option<Opportunity> {
    let mut modes = vec![Deleverage::Liquidation, Deleverage::Soft];
    modes.extend((0..solvent::state::MAX_OBLIGATION_ORDERS).filter(|&i| refreshed.orders[i].triggered_since != 0).map(Deleverage::Order));
    best_of(view, refreshed, &accepts_shares, &modes)
}

fn best_of(view: &MarketView, refreshed: &Obligation, accepts_shares: &impl Fn(&Pubkey) -> bool, modes: &[Deleverage]) -> Option<Opportunity> {
    let reserves = crate::refresh::obligation_reserves(refreshed);
    let (withdraws, repays) = reserves.split_at(refreshed.deposit_count());
    let mut best = None;
    for &mode in modes {
        if let Deleverage::Order(index) = mode {
            // An order names its one pair.
            let order = &refreshed.orders[index];
            let (repay_key, withdraw_key) = (from_anchor(&order.repay_reserve), from_anchor(&order.withdraw_reserve));
            best = better(best, opportunity(view, refreshed, &repay_key, &withdraw_key, accepts_shares(&withdraw_key), mode));
            continue;
        }
        for repay_key in repays {
            for withdraw_key in withdraws {
                best = better(best, opportunity(view, refreshed, repay_key, withdraw_key, accepts_shares(withdraw_key), mode));
            }
        }
    }
    best
}

/// How close one collateral brings an obligation to liquidation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiquidationDistance {
    pub reserve: Pubkey,
    /// The collateral's spot price and the price at which the obligation becomes liquidatable
    /// (`liquidation_price`), quote per whole token.
    pub spot_price: f64,
    pub liquidation_price: Option<f64>,
    /// The fall from spot to the liquidation price, as a fraction (0 when liquidatable now).
    pub fall_to_liquidation: Option<f64>,
    /// The reserve's volatility estimate, annualised (None without dynamic margin's estimator).
    pub annual_volatility: Option<f64>,
    /// The probability the price touches the liquidation price within the horizon, for a
    /// driftless log-normal price at that volatility: `2 Φ(-ln(spot / liquidation) / (σ √t))`
    /// (the reflection principle); 1 when liquidatable now.
    pub probability_within_horizon: Option<f64>,
}

/// Per collateral of `obligation`, its distance to liquidation and, with the reserve's
/// volatility estimate, the probability of reaching it within `horizon_secs` (display and
/// ranking only: never used in money math).
pub fn liquidation_distances(view: &MarketView, obligation: &Obligation, horizon_secs: u64) -> Result<Vec<LiquidationDistance>, LendingError> {
    let (refreshed, values) = view.refresh_obligation(obligation)?;
    let collateral = crate::refresh::obligation_reserves(&refreshed)[..refreshed.deposit_count()].to_vec();
    let mut distances = Vec::new();
    for reserve in collateral {
        let state = view.reserve(&reserve)?.usable()?;
        let spot = crate::format::wad_to_f64(state.market_price());
        let price = liquidation_price(view, obligation, &reserve)?;
        let liquidation = price.and_then(|p| p.to_wad().ok()).map(crate::format::wad_to_f64);
        let fall = match (values.is_unhealthy(), liquidation) {
            (true, _) => Some(0.0),
            (false, Some(level)) if spot > 0.0 => Some((1.0 - level / spot).max(0.0)),
            _ => None,
        };
        let sigma = (state.dynamic_config.has(solvent::state::DYNAMIC_VOLATILITY) && state.dynamic.annual_sigma_bps() > 0)
            .then(|| state.dynamic.annual_sigma_bps() as f64 / 10_000.0);
        let probability = match (values.is_unhealthy(), liquidation, sigma) {
            (true, _, _) => Some(1.0),
            (false, Some(level), Some(sigma)) if level > 0.0 && spot > level => {
                let spread = sigma * (horizon_secs as f64 / solvent::math::SECONDS_PER_YEAR as f64).sqrt();
                Some((2.0 * normal_cdf(-(spot / level).ln() / spread)).min(1.0))
            }
            _ => None,
        };
        distances.push(LiquidationDistance {
            reserve,
            spot_price: spot,
            liquidation_price: liquidation,
            fall_to_liquidation: fall,
            annual_volatility: sigma,
            probability_within_horizon: probability,
        });
    }
    Ok(distances)
}

/// The standard normal distribution function, from the complementary error function
/// (Numerical Recipes' `erfcc`, relative error below 1.2e-7).
pub fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06 + t * (0.278_868_07 + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 { 1.0 - 0.5 * erfc } else { 0.5 * erfc }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_distribution_function_matches_its_table() {
        for (x, expected) in [(0.0, 0.5), (1.0, 0.841_344_746), (-1.0, 0.158_655_254), (1.959_963_985, 0.975), (-3.0, 0.001_349_898)] {
            assert!((normal_cdf(x) - expected).abs() < 1e-6, "{x}: {} vs {expected}", normal_cdf(x));
        }
    }

    #[test]
    fn the_largest_accepted_amount_is_found_past_a_refused_start() {
        // Refused below 3 (pays out nothing) and above 1,000,003.
        let rule = |a: u64| if a < 3 { Err(LendingError::ZeroAmount) } else if a > 1_000_003 { Err(LendingError::BorrowTooLarge) } else { Ok(()) };
        assert_eq!(largest_accepted(u64::MAX - 1, rule), Limit { amount: 1_000_003, refused_above: Some(LendingError::BorrowTooLarge) });
        assert_eq!(largest_accepted(500, rule), Limit { amount: 500, refused_above: None }, "capped below the rule's own limit");
        // A fee taking everything below 9,000 units: found past the first 64.
        let steep = |a: u64| if a < 9_000 { Err(LendingError::ZeroAmount) } else if a > 20_000 { Err(LendingError::BorrowTooLarge) } else { Ok(()) };
        assert_eq!(largest_accepted(u64::MAX - 1, steep), Limit { amount: 20_000, refused_above: Some(LendingError::BorrowTooLarge) });
        // Accepted only in a narrow range the doubling jumps over (8,192 pays nothing, 16,384 is
        // too large): found by bisecting back.
        let narrow = |a: u64| if a < 9_000 { Err(LendingError::ZeroAmount) } else if a > 9_500 { Err(LendingError::BorrowTooLarge) } else { Ok(()) };
        assert_eq!(largest_accepted(u64::MAX - 1, narrow), Limit { amount: 9_500, refused_above: Some(LendingError::BorrowTooLarge) });
        let never = |_: u64| Err(LendingError::InsufficientLiquidity);
        assert_eq!(largest_accepted(u64::MAX - 1, never), Limit { amount: 0, refused_above: Some(LendingError::InsufficientLiquidity) });
    }
}
