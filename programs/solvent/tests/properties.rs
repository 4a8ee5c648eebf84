//! Property tests of the money math, natively, on the same state types and methods the program
//! runs on chain.
use bytemuck::Zeroable;
use proptest::prelude::*;
use solvent::math::{div_rem, mul_div, pow10, scaled_value, Rounding, Wad, U256, WAD};
use solvent::oracle::OraclePrice;
use solvent::state::{settle_repayment, ObligationLiquidity, RateCurvePoint, Reserve, ReserveConfig};

fn config(base_rate_bps: u32, optimal_rate_bps: u32, max_rate_bps: u32, take_rate_bps: u16, fee_bps: u16) -> ReserveConfig {
    let mut rate_curve = [RateCurvePoint::default(); 8];
    rate_curve[0] = RateCurvePoint { utilization_bps: 0, borrow_rate_bps: base_rate_bps };
    rate_curve[1] = RateCurvePoint { utilization_bps: 8_000, borrow_rate_bps: base_rate_bps + optimal_rate_bps };
    rate_curve[2] =
        RateCurvePoint { utilization_bps: 10_000, borrow_rate_bps: base_rate_bps + optimal_rate_bps + max_rate_bps };
    let config = ReserveConfig {
        loan_to_value_bps: 7_500,
        liquidation_threshold_bps: 8_000,
        liquidation_bonus_bps: 500,
        close_factor_bps: 5_000,
        protocol_take_rate_bps: take_rate_bps,
        borrow_fee_bps: fee_bps,
        max_confidence_bps: 100,
        max_price_age_secs: 60,
        deposit_limit: u64::MAX,
        borrow_limit: u64::MAX,
        rate_curve,
        ..Default::default()
    };
    config.validate().expect("valid config");
    config
}

fn new_reserve(config: ReserveConfig) -> Reserve {
    let mut reserve = Reserve::zeroed();
    reserve.liquidity_decimals = 6;
    reserve.config = config;
    reserve.cumulative_borrow_index_wad.set(Wad::ONE);
    reserve.set_market_price(OraclePrice { mantissa: 1, exponent: 0 }).unwrap();
    reserve
}

/// Depositors' claim per share, compared without division: a/b >= c/d  <=>  a·d >= c·b.
fn rate_not_lower(total_after: Wad, supply_after: u64, total_before: Wad, supply_before: u64) -> bool {
    if supply_before == 0 || supply_after == 0 {
        return true;
    }
    let lhs = primitive_mul(total_after.raw(), supply_before as u128);
    let rhs = primitive_mul(total_before.raw(), supply_after as u128);
    lhs >= rhs
}

fn primitive_mul(a: u128, b: u128) -> solvent::math::U256 {
    solvent::math::U256::from(a) * solvent::math::U256::from(b)
}

#[derive(Clone, Debug)]
enum Action {
    Deposit(u64),
    Redeem(u64),
    Borrow(usize, u64),
    Repay(usize, u64),
    Wait(u32),
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (1u64..1_000_000_000_000).prop_map(Action::Deposit),
        (1u64..1_000_000_000_000).prop_map(Action::Redeem),
        (0usize..4, 1u64..500_000_000_000).prop_map(|(o, a)| Action::Borrow(o, a)),
        (0usize..4, 1u64..500_000_000_000).prop_map(|(o, a)| Action::Repay(o, a)),
        (1u32..5_000_000).prop_map(Action::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random deposits, redemptions, borrows, repayments and waits: the borrow index never falls,
    /// depositors' claim per share never falls, Σ obligation debt stays within rounding of the
    /// reserve's (a budget of a few raw units per action plus 4e-18 of the debt per accrual), and once everyone repays, every depositor can be paid out with protocol fees
    /// still covered.
    #[test]
    fn reserve_invariants_hold(
        base in 0u32..2_000, optimal in 0u32..5_000, max in 0u32..33_000,
        take_rate in 0u16..=5_000, fee in 0u16..100,
        actions in prop::collection::vec(action(), 1..60),
    ) {
        let mut reserve = new_reserve(config(base, optimal, max, take_rate, fee));
        let mut debts = [ObligationLiquidity::default(); 4];
        for debt in debts.iter_mut() { debt.cumulative_borrow_index_wad.set(Wad::ONE); }
        let mut shares_held: u64 = 0;
        let mut now = 1_000_000i64;
        // Each accrual rounds the index up by at most 1e-18, so obligations can drift above the
        // reserve's total by that much of the debt outstanding at that step; each action adds at
        // most a few raw units of ceiling rounding. A repayment can move the drift onto the
        // remaining debts, so the budget is cumulative.
        let mut rounding_budget: u128 = 0;
        for action in actions {
            let index_before = reserve.cumulative_borrow_index();
            let total_before = reserve.total_liquidity().unwrap();
            let supply_before = reserve.collateral_supply;
            match action {
                Action::Deposit(amount) => {
                    if let Ok(shares) = reserve.deposit(amount) { shares_held += shares; }
                }
                Action::Redeem(shares) => {
                    let shares = shares.min(shares_held);
                    if shares > 0 && reserve.redeem(shares).is_ok() { shares_held -= shares; }
                }
                Action::Borrow(who, amount) => {
                    if reserve.borrow(amount).is_ok() {
                        let index = reserve.cumulative_borrow_index();
                        debts[who].accrue_interest(index).unwrap();
                        let total = debts[who].borrowed_amount().checked_add(Wad::from_u64(amount)).unwrap();
                        debts[who].borrowed_amount_wad.set(total);
                    }
                }
                Action::Repay(who, amount) => {
                    debts[who].accrue_interest(reserve.cumulative_borrow_index()).unwrap();
                    let (paid, settled) = settle_repayment(amount, debts[who].borrowed_amount()).unwrap();
                    reserve.repay(paid, settled).unwrap();
                    let left = debts[who].borrowed_amount().checked_sub(settled).unwrap();
                    debts[who].borrowed_amount_wad.set(left);
                }
                Action::Wait(seconds) => {
                    now += seconds as i64;
                    let debt_before = reserve.borrowed_amount().raw();
                    reserve.accrue_interest(now).unwrap();
                    rounding_budget += mul_div(debt_before.max(reserve.borrowed_amount().raw()), 4, WAD, Rounding::Up).unwrap();
                }
            }
            prop_assert!(reserve.cumulative_borrow_index() >= index_before, "borrow index fell");
            let total_after = reserve.total_liquidity().unwrap();
            prop_assert!(rate_not_lower(total_after, reserve.collateral_supply, total_before, supply_before),
                "exchange rate fell: {:?}/{} -> {:?}/{}", total_before, supply_before, total_after, reserve.collateral_supply);

            // Σ obligation debt ≤ reserve debt + rounding (each index step rounds up by at most
            // 1e-18 relative; each obligation's ceiling by one raw unit).
            let index = reserve.cumulative_borrow_index();
            let mut sum = 0u128;
            for debt in debts.iter() {
                let mut current = *debt;
                current.accrue_interest(index).unwrap();
                sum += current.borrowed_amount().raw();
            }
            let reserve_debt = reserve.borrowed_amount().raw();
            rounding_budget += 4;
            prop_assert!(sum <= reserve_debt + rounding_budget, "obligations owe {sum}, reserve records {reserve_debt}");
        }

        // Everyone repays in full; then every share can be redeemed, and the fees are still there.
        for debt in debts.iter_mut() {
            debt.accrue_interest(reserve.cumulative_borrow_index()).unwrap();
            let (paid, settled) = settle_repayment(u64::MAX, debt.borrowed_amount()).unwrap();
            reserve.repay(paid, settled).unwrap();
        }
        let redeemed = reserve.redeem(shares_held);
        prop_assert!(redeemed.is_ok(), "depositors could not be paid: {:?}", redeemed);
        // Only the first deposit's dead shares are left, owned by nobody.
        let dead = if reserve.collateral_supply == 0 { 0 } else { solvent::state::DEAD_SHARES };
        prop_assert_eq!(reserve.collateral_supply, dead);
        prop_assert!(reserve.available_amount >= reserve.accumulated_protocol_fees().to_u64(Rounding::Down).unwrap());
    }

    /// Depositing then redeeming every share never returns more than was deposited.
    #[test]
    fn deposit_then_withdraw_never_gains(
        available in 0u64..1_000_000_000_000, borrowed in 0u64..1_000_000_000_000,
        supply in 1u64..1_000_000_000_000, deposit in 1u64..1_000_000_000_000,
    ) {
        let mut reserve = new_reserve(config(0, 0, 0, 0, 0));
        reserve.available_amount = available;
        reserve.borrowed_amount_wad.set(Wad::from_u64(borrowed).checked_add(Wad(borrowed as u128 * 7)).unwrap());
        reserve.collateral_supply = supply;
        prop_assume!(!reserve.total_liquidity().unwrap().is_zero());
        if let Ok(shares) = reserve.deposit(deposit) {
            let returned = reserve.redeem_amount(shares).unwrap();
            prop_assert!(returned <= deposit, "deposited {deposit}, got back {returned}");
        }
    }

    /// Interest growth is monotone in time and in utilization.
    #[test]
    fn accrual_is_monotone(
        borrowed in 1u64..1_000_000_000_000, available in 0u64..1_000_000_000_000,
        first in 1i64..10_000_000, second in 1i64..10_000_000,
        base in 0u32..2_000, optimal in 0u32..5_000, max in 0u32..33_000,
    ) {
        let mut reserve = new_reserve(config(base, optimal, max, 1_000, 0));
        reserve.available_amount = available;
        reserve.borrowed_amount_wad.set(Wad::from_u64(borrowed));
        let mut in_steps = reserve;
        reserve.accrue_interest(first).unwrap();
        let index_first = reserve.cumulative_borrow_index();
        prop_assert!(index_first >= Wad::ONE);
        reserve.accrue_interest(first + second).unwrap();
        prop_assert!(reserve.cumulative_borrow_index() >= index_first);
        prop_assert!(reserve.borrowed_amount() >= Wad::from_u64(borrowed));
        in_steps.accrue_interest(first + second).unwrap();
        prop_assert!(in_steps.cumulative_borrow_index() >= Wad::ONE);
        let utilization_low = config(base, optimal, max, 0, 0).borrow_rate(Wad(WAD / 4)).unwrap();
        let utilization_high = config(base, optimal, max, 0, 0).borrow_rate(Wad(WAD / 2)).unwrap();
        prop_assert!(utilization_high >= utilization_low);
    }

    /// The u128 valuation path gives exactly what the 256-bit product and one rounding give.
    #[test]
    fn scaled_value_matches_wide_reference(
        amount in prop_oneof![0u128..u64::MAX as u128 * WAD, any::<u128>()],
        mantissa in any::<u64>(),
        scale_exponent in -36i32..=8,
        up in any::<bool>(),
    ) {
        let rounding = if up { Rounding::Up } else { Rounding::Down };
        let product = U256::from(amount) * U256::from(mantissa);
        let expected = if scale_exponent >= 0 {
            let exact = product * U256::from(pow10(scale_exponent as u32).unwrap());
            (exact <= U256::from(u128::MAX)).then(|| exact.as_u128())
        } else {
            let (q, r) = product.div_mod(U256::from(pow10(scale_exponent.unsigned_abs()).unwrap()));
            let q = if up && !r.is_zero() { q + U256::one() } else { q };
            (q <= U256::from(u128::MAX)).then(|| q.as_u128())
        };
        prop_assert_eq!(scaled_value(Wad(amount), mantissa, scale_exponent, rounding).map(|w| w.raw()), expected);
    }

    /// The same where `a × b` overflows but the split path applies: amounts times index or price
    /// ratios (a Wad debt times a ratio of two borrow indices).
    #[test]
    fn mul_div_is_exact_on_the_split_path(a in 1u128..u128::MAX, b in 1u128..(1u128 << 80), c in 1u128..(1u128 << 72)) {
        let exact = U256::from(a) * U256::from(b);
        let (q, r) = exact.div_mod(U256::from(c));
        if q <= U256::from(u128::MAX) {
            prop_assert_eq!(mul_div(a, b, c, Rounding::Down), Some(q.as_u128()));
            let up = if r.is_zero() { Some(q.as_u128()) } else { q.as_u128().checked_add(1) };
            prop_assert_eq!(mul_div(a, b, c, Rounding::Up), up);
            prop_assert_eq!(mul_div(b, a, c, Rounding::Up), up);
        } else {
            prop_assert_eq!(mul_div(a, b, c, Rounding::Down), None);
        }
    }

    /// The 32-bit-digit long division agrees with u128 `/` and `%`, for small divisors, WAD and
    /// others.
    #[test]
    fn div_rem_matches_native(
        n in any::<u128>(),
        small in 1u128..(1u128 << 32),
        word in (1u128 << 32)..(1u128 << 64),
        wide in 1u128..,
        shift in 0u32..128,
    ) {
        let (top_bit, u64_max) = (1u128 << 63, u64::MAX as u128);
        for d in [small, word, solvent::math::WAD, wide, 1, (1u128 << 32) - 1, 1u128 << 32, top_bit, u64_max, word >> (shift % 32)] {
            let d = d.max(1);
            prop_assert_eq!(div_rem(n, d), (n / d, n % d));
            prop_assert_eq!(div_rem(n >> shift, d), ((n >> shift) / d, (n >> shift) % d));
        }
    }

    /// mul_div agrees with exact 256-bit arithmetic and rounds as asked.
    #[test]
    fn mul_div_is_exact(a in any::<u128>(), b in any::<u128>(), c in 1u128..) {
        let exact = solvent::math::U256::from(a) * solvent::math::U256::from(b);
        let (q, r) = exact.div_mod(solvent::math::U256::from(c));
        let down = mul_div(a, b, c, Rounding::Down);
        let up = mul_div(a, b, c, Rounding::Up);
        if q > solvent::math::U256::from(u128::MAX) {
            prop_assert_eq!(down, None);
        } else {
            prop_assert_eq!(down, Some(q.as_u128()));
            let expected_up = if r.is_zero() { Some(q.as_u128()) } else { q.as_u128().checked_add(1) };
            prop_assert_eq!(up, expected_up);
        }
    }

    /// A flash loan moves neither the share price nor the utilization while it is out, and when
    /// it comes back the vault holds the loan plus the fee, the depositors' claim grows by the fee
    /// less the protocol's share, and the protocol's fees by that share.
    #[test]
    fn flash_loans_keep_reserve_accounting_exact(
        deposit in 1_000u64..1_000_000_000_000,
        borrowed_share in 0u64..9_000,
        loan_share in 1u64..10_000,
        fee_bps in 0u16..=10_000,
        take_rate_bps in 0u16..=10_000,
    ) {
        let mut config = config(100, 1_000, 10_000, take_rate_bps, 0);
        config.flash_loan_fee_bps = fee_bps;
        let mut reserve = new_reserve(config);
        reserve.deposit(deposit).unwrap();
        let borrowed = deposit * borrowed_share / 10_000;
        if borrowed > 0 {
            reserve.borrow(borrowed).unwrap();
        }
        let loan = (reserve.available_amount * loan_share / 10_000).max(1);
        prop_assume!(loan <= reserve.available_amount);
        let (total, utilization, shares) =
            (reserve.total_liquidity().unwrap(), reserve.utilization().unwrap(), reserve.collateral_shares_for_deposit(deposit).unwrap());
        let (available, protocol_fees) = (reserve.available_amount, reserve.accumulated_protocol_fees());

        reserve.flash_borrow(loan).unwrap();
        prop_assert_eq!(reserve.available_amount, available - loan);
        prop_assert_eq!(reserve.total_liquidity().unwrap(), total);
        prop_assert_eq!(reserve.utilization().unwrap(), utilization);
        prop_assert_eq!(reserve.collateral_shares_for_deposit(deposit).unwrap(), shares);
        prop_assert_eq!(reserve.flash_borrow(1), Err(solvent::errors::LendingError::FlashLoanNested));
        prop_assert_eq!(reserve.flash_repay(loan - 1 + (loan == 1) as u64 * 2), Err(solvent::errors::LendingError::FlashRepayAmountMismatch));

        let (fee, protocol_share) = reserve.flash_repay(loan).unwrap();
        prop_assert_eq!(fee, ((loan as u128 * fee_bps as u128).div_ceil(10_000)) as u64);
        prop_assert_eq!(protocol_share, (fee as u128 * take_rate_bps as u128 / 10_000) as u64);
        prop_assert_eq!(reserve.available_amount, available + fee);
        prop_assert_eq!(reserve.flash_loan_amount, 0);
        prop_assert_eq!(reserve.accumulated_protocol_fees(), protocol_fees.checked_add(Wad::from_u64(protocol_share)).unwrap());
        prop_assert_eq!(reserve.total_liquidity().unwrap(), total.checked_add(Wad::from_u64(fee - protocol_share)).unwrap());
    }

    /// Writing off bad debt lowers the depositors' claim by exactly the debt while the pool still
    /// covers the protocol's fees, and never leaves the protocol claiming more than the pool.
    #[test]
    fn bad_debt_write_off_is_borne_by_depositors(
        deposit in 1_000u64..1_000_000_000_000,
        borrowed_share in 1u64..9_000,
        written_off_share in 1u64..=10_000,
        fee_bps in 0u16..1_000,
        take_rate_bps in 0u16..=10_000,
        seconds in 0u32..100_000_000,
    ) {
        let mut reserve = new_reserve(config(100, 1_000, 10_000, take_rate_bps, fee_bps));
        reserve.deposit(deposit).unwrap();
        let borrowed = (deposit * borrowed_share / 10_000).max(1);
        prop_assume!(reserve.borrow(borrowed).is_ok());
        reserve.accrue_interest(seconds as i64).unwrap();
        let debt = reserve.borrowed_amount().mul_bps(written_off_share, Rounding::Down).unwrap();
        let (total, fees) = (reserve.total_liquidity().unwrap(), reserve.accumulated_protocol_fees());
        let forgone = reserve.write_off_bad_debt(debt).unwrap();
        let pool = Wad::from_u64(reserve.available_amount).checked_add(reserve.borrowed_amount()).unwrap();
        prop_assert!(reserve.accumulated_protocol_fees() <= pool);
        if forgone.is_zero() {
            prop_assert_eq!(reserve.total_liquidity().unwrap(), total.checked_sub(debt).unwrap());
            prop_assert_eq!(reserve.accumulated_protocol_fees(), fees);
        } else {
            // Depositors lost everything they had; the protocol absorbed the rest.
            prop_assert_eq!(reserve.total_liquidity().unwrap(), Wad::ZERO);
            prop_assert_eq!(fees.checked_sub(forgone).unwrap(), pool);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// No reserve is bricked by time: at the highest rate `validate` accepts and full
    /// utilization, any sequence of idle gaps (up to decades) accrues without an error, debt and
    /// index never pass their ceilings and never fall, and an obligation's debt follows the
    /// reserve's within rounding.
    #[test]
    fn accrual_never_overflows_at_the_maximum_rate(
        borrowed in 1u64..(u64::MAX / 2), gaps in prop::collection::vec(0i64..(40 * 31_536_000), 1..8),
    ) {
        use solvent::state::{MAX_BORROW_INDEX, MAX_BORROW_RATE_BPS, MAX_RESERVE_DEBT};
        let mut reserve = new_reserve(config(MAX_BORROW_RATE_BPS, 0, 0, 1_000, 0));
        reserve.borrowed_amount_wad.set(Wad::from_u64(borrowed));
        let mut debt = ObligationLiquidity::default();
        debt.cumulative_borrow_index_wad.set(Wad::ONE);
        debt.borrowed_amount_wad.set(Wad::from_u64(borrowed));
        let mut now = 1_000_000i64;
        for gap in gaps {
            now += gap;
            let (debt_before, index_before) = (reserve.borrowed_amount(), reserve.cumulative_borrow_index());
            prop_assert!(reserve.accrue_interest(now).is_ok());
            prop_assert!(reserve.borrowed_amount() >= debt_before && reserve.cumulative_borrow_index() >= index_before);
            prop_assert!(reserve.borrowed_amount().raw() <= MAX_RESERVE_DEBT.raw() + WAD);
            prop_assert!(reserve.cumulative_borrow_index() <= MAX_BORROW_INDEX);
            prop_assert!(debt.accrue_interest(reserve.cumulative_borrow_index()).is_ok());
            prop_assert!(debt.borrowed_amount().to_u64(Rounding::Up).is_some(), "the debt stays repayable in u64 base units");
        }
    }
}

/// A reserve whose depositors' claim was written off to zero refuses deposits with its own error
/// instead of dividing by zero.
#[test]
fn a_wiped_out_reserve_refuses_deposits() {
    let mut reserve = new_reserve(config(0, 0, 0, 0, 0));
    reserve.deposit(1_000_000).unwrap();
    reserve.available_amount = 0;
    assert!(reserve.total_liquidity().unwrap().is_zero() && reserve.collateral_supply > 0);
    assert_eq!(reserve.deposit(1_000), Err(solvent::errors::LendingError::ReserveValueWipedOut));
    assert_eq!(reserve.available_amount, 0, "nothing changed");
}

/// The valuation before margin tiers (the six fixed sums of the pre-engine `ObligationValues`),
/// written out as the reference: (deposited, borrowed, allowed, unhealthy, liquidation borrowed,
/// liquidation deposited).
fn pre_tier_values(collateral: &[(Reserve, u64)], debts: &[(Reserve, Wad)]) -> [Wad; 6] {
    let sum = |values: Vec<Wad>| values.into_iter().fold(Wad::ZERO, |a, b| a.checked_add(b).unwrap());
    let values: Vec<Wad> = collateral.iter().map(|(r, shares)| r.collateral_value(*shares).unwrap()).collect();
    let debt_values: Vec<Wad> = debts.iter().map(|(r, amount)| r.debt_value(*amount).unwrap()).collect();
    let bps = |v: Wad, b: u16| v.mul_bps(b as u64, Rounding::Down).unwrap();
    let deposited = sum(values.clone());
    let borrowed = sum(debt_values.clone());
    let allowed = sum(collateral.iter().zip(&values).map(|((r, _), v)| bps(*v, r.config.loan_to_value_bps)).collect());
    let mut unhealthy = sum(collateral.iter().zip(&values).map(|((r, _), v)| bps(*v, r.config.liquidation_threshold_bps)).collect());
    let (mut liquidation_borrowed, mut liquidation_deposited) = (borrowed, deposited);
    if borrowed > unhealthy {
        let at_liquidation: Vec<Wad> =
            collateral.iter().zip(&values).map(|((r, shares), v)| r.liquidation_collateral_value(*shares, *v).unwrap()).collect();
        unhealthy = sum(collateral.iter().zip(&at_liquidation).map(|((r, _), v)| bps(*v, r.config.liquidation_threshold_bps)).collect());
        liquidation_deposited = sum(at_liquidation);
        liquidation_borrowed = sum(debts.iter().zip(&debt_values).map(|((r, amount), v)| r.liquidation_debt_value(*amount, *v).unwrap()).collect());
    }
    [deposited, borrowed, allowed, unhealthy, liquidation_borrowed, liquidation_deposited]
}

static REVALUED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// With no tier in use (no risk flags, borrow weight unset or exactly 100%), the health
    /// engine's three kinds are the valuation before tiers, to the raw Wad unit.
    #[test]
    fn the_engine_without_tiers_is_the_pre_tier_valuation(
        positions in prop::collection::vec((1u64..1_000_000_000_000, 1u64..100_000, 0u64..300, 5_000u16..9_500, 100u16..2_000), 1..5),
        debts in prop::collection::vec((1u64..1_000_000_000_000, 1u64..100_000, 0u64..300), 1..5),
        explicit_full_weight in any::<bool>(),
    ) {
        use solvent::state::{HealthKind, Obligation};
        let weight = if explicit_full_weight { 10_000 } else { 0 };
        // Collateral reserves: price mantissa p, the liquidation price up to 3% above it.
        let collateral: Vec<(Reserve, u64)> = positions.iter().map(|&(amount, price, spread_bps, threshold, gap)| {
            let cfg = ReserveConfig { liquidation_threshold_bps: threshold, loan_to_value_bps: threshold - gap.min(threshold - 1), borrow_weight_bps: weight, ..config(0, 1_000, 10_000, 1_000, 0) };
            let mut reserve = new_reserve(cfg);
            reserve.set_market_price(OraclePrice { mantissa: price, exponent: -6 }).unwrap();
            reserve.liquidation_collateral_price_mantissa = price + price * spread_bps / 10_000;
            let shares = reserve.deposit(amount.max(2_000)).unwrap();
            (reserve, shares)
        }).collect();
        let debt_reserves: Vec<(Reserve, Wad)> = debts.iter().map(|&(amount, price, spread_bps)| {
            let mut reserve = new_reserve(ReserveConfig { borrow_weight_bps: weight, ..config(0, 1_000, 10_000, 1_000, 0) });
            reserve.set_market_price(OraclePrice { mantissa: price, exponent: -6 }).unwrap();
            reserve.liquidation_debt_price_mantissa = price - price * spread_bps / 10_000;
            (reserve, Wad::from_u64(amount))
        }).collect();
        let mut obligation = Obligation::zeroed();
        let key = |i: usize| anchor_lang::prelude::Pubkey::new_from_array([i as u8 + 1; 32]);
        for (i, (_, shares)) in collateral.iter().enumerate() {
            obligation.deposit(&key(i), *shares).unwrap();
        }
        for (i, (_, amount)) in debt_reserves.iter().enumerate() {
            obligation.borrow(&key(10 + i), *amount, Wad::ONE).unwrap();
        }
        let deposit_count = collateral.len();
        let values = obligation
            .revalue(|index, _| -> Result<&Reserve, solvent::errors::LendingError> {
                Ok(if index < deposit_count { &collateral[index].0 } else { &debt_reserves[index - deposit_count].0 })
            })
            .unwrap();
        let [deposited, borrowed, allowed, unhealthy, liquidation_borrowed, liquidation_deposited] = pre_tier_values(&collateral, &debt_reserves);
        // Both branches are drawn: healthy at conservative prices, and valued a second time.
        REVALUED.fetch_add((borrowed > values.health(HealthKind::Initial).assets.max(Wad::ZERO) && liquidation_borrowed != borrowed) as usize, std::sync::atomic::Ordering::Relaxed);
        prop_assert_eq!(values.deposited_value, deposited);
        prop_assert_eq!(values.health(HealthKind::Initial).assets, allowed);
        prop_assert_eq!(values.health(HealthKind::Initial).liabilities, borrowed);
        prop_assert_eq!(values.health(HealthKind::Maintenance).assets, unhealthy);
        prop_assert_eq!(values.health(HealthKind::Maintenance).liabilities, liquidation_borrowed);
        prop_assert_eq!(values.health(HealthKind::Payout).assets, liquidation_deposited);
        prop_assert_eq!(values.health(HealthKind::Payout).liabilities, liquidation_borrowed);
    }
}

#[test]
fn the_pre_tier_comparison_covers_the_second_valuation() {
    // Runs the property once more under its own name and checks it drew obligations valued at
    // the liquidation prices too (not only healthy ones).
    the_engine_without_tiers_is_the_pre_tier_valuation();
    assert!(REVALUED.load(std::sync::atomic::Ordering::Relaxed) > 20, "only {} revalued cases", REVALUED.load(std::sync::atomic::Ordering::Relaxed));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A debt's charges against the caps (isolation ceiling, e-mode group cap) are released
    /// pro rata as it is repaid: each repayment releases at most its exact share
    /// (charge × settled / owed) and at most one unit less, the charge never goes negative, and
    /// closing the debt releases exactly what is left, so over any sequence of repayments the
    /// releases sum to the charge.
    #[test]
    fn cap_charges_are_released_pro_rata_and_in_full_at_close(
        isolation in 0u64..=1_000_000_000_000_000,
        emode in 0u64..=1_000_000_000_000_000,
        owed in 1u128..=(1u128 << 100),
        cuts in proptest::collection::vec(1u64..=10_000, 1..8),
    ) {
        let mut obligation = solvent::state::Obligation::zeroed();
        let reserve = anchor_lang::prelude::Pubkey::new_unique();
        let slot = obligation.borrow(&reserve, Wad(owed), Wad::ONE).unwrap();
        obligation.isolation_charges[slot] = isolation;
        obligation.emode_charges[slot] = emode;
        obligation.isolation_reserve = anchor_lang::prelude::Pubkey::new_unique();
        let (mut released_isolation, mut released_emode) = (0u64, 0u64);
        for (i, cut) in cuts.iter().enumerate() {
            let current = obligation.borrows[slot].borrowed_amount();
            let last = i + 1 == cuts.len();
            // Repay a share of what is owed (all of it on the last step).
            let settled = if last { current } else { Wad(mul_div(current.raw(), *cut as u128, 10_000, Rounding::Down).unwrap().max(1)) };
            let (before_isolation, before_emode) = (obligation.isolation_charges[slot], obligation.emode_charges[slot]);
            let released = obligation.repay(slot, settled).unwrap();
            if settled == current {
                prop_assert_eq!((released.isolation, released.emode), (before_isolation, before_emode));
            } else {
                for (got, charge) in [(released.isolation, before_isolation), (released.emode, before_emode)] {
                    let exact = mul_div(charge as u128, settled.raw(), current.raw(), Rounding::Down).unwrap() as u64;
                    prop_assert!(got <= exact && got + 1 >= exact, "{} vs exact {}", got, exact);
                }
                prop_assert_eq!(obligation.isolation_charges[slot], before_isolation - released.isolation);
            }
            released_isolation += released.isolation;
            released_emode += released.emode;
            if settled == current {
                break;
            }
        }
        prop_assert_eq!((released_isolation, released_emode), (isolation, emode));
        prop_assert_eq!(obligation.borrow_count(), 0);
        prop_assert!(obligation.isolation_charges.iter().chain(&obligation.emode_charges).all(|c| *c == 0));
    }
}
