//! Test vectors for the TypeScript client's position math: random markets, reserves and
//! obligations built with the program's own state methods, and what this crate's queries answer
//! for them (`MarketView::refresh_obligation`, `max_borrow`, `max_withdraw`,
//! `liquidation_price`, `quote_liquidation`). The TypeScript test
//! (`app/ts/test/position-vectors.test.ts`) decodes the same account bytes and must give the
//! same answers to the base unit.
//!
//!   cargo run -q --locked -p solvent-client --example ts-vectors -- app/ts/test/vectors/position.json
//!   cargo run -q --locked -p solvent-client --example ts-vectors -- --check app/ts/test/vectors/position.json
//!
//! Deterministic: case `i` is drawn from seed `i`, so the file only changes when the program's
//! math or this generator does (`--check` fails then, and `scripts/test.sh` runs it).
//!
//! What the cases cover: 2 to 5 reserves of 0 to 12 decimals, prices with spot and EMA apart
//! and a confidence interval (conservative valuation or spot only), random risk parameters
//! (loan-to-value, threshold, bonus and its auction, close factor, borrow weight, borrow fee),
//! interest accrued over up to 60 days, borrow limits in base units and in value, obligations of
//! 1 to 3 collateral positions and 1 to 2 debts, a third of them in an e-mode group (with a debt
//! cap), prices moved after the borrow (some obligations unhealthy, some insolvent, some on an
//! auction clock started a while ago), and the market's liquidation cap, dust threshold and
//! protocol share; a fifth of the reserves with dynamic margin (volatility, size premium,
//! concentration) and a fifth with a soft zone, a fifth of the single-collateral obligations on
//! isolated collateral, and owner's orders on two in five obligations (quoted as liquidations,
//! soft deleverages and order executions, with the keeper's best call). Not covered: siloed
//! debt, outflow limits, pauses and the circuit breaker (the TypeScript port implements the
//! rules, the vectors do not draw them).
use anchor_lang::{AccountSerialize, Discriminator};
use base64::Engine;
use serde_json::{json, Value};
use solvent::math::Wad;
use solvent::oracle::{CheckedPrice, OraclePrice};
use solvent::state::operations::{self, DebtCounters, GroupChange};
use solvent::state::{
    Deleverage, DynamicMarginConfig, Emode, EmodeGroup, EmodeGroupDebt, HealthKind, LendingMarket, Obligation, OrderParams, RateCurvePoint, Reserve, ReserveConfig,
    SoftZoneConfig, ACCOUNT_VERSION, MAX_OBLIGATION_ORDERS, RISK_FLAG_BORROWABLE_IN_ISOLATION, RISK_FLAG_ISOLATED_COLLATERAL,
};
use solvent_client::{
    best_deleverage, liquidation_price, max_borrow, max_withdraw, quote_deleverage, to_anchor, Limit, MarketView, MarketKeys, Pubkey, ReserveKeys, ReserveView,
};
use std::collections::BTreeMap;

const CASES: u64 = 600;

/// SplitMix64: a small seeded generator, so every case is reproducible from its number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `low..=high`.
    fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low + 1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.range(1, 100) <= percent
    }
    fn key(&mut self) -> Pubkey {
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        Pubkey::new_from_array(bytes)
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn zero_copy_data<T: bytemuck::Pod + Discriminator>(state: &T) -> String {
    let mut data = T::DISCRIMINATOR.to_vec();
    data.extend_from_slice(bytemuck::bytes_of(state));
    b64(&data)
}

fn market_data(market: &LendingMarket) -> String {
    let mut data = Vec::new();
    market.try_serialize(&mut data).expect("market serializes");
    b64(&data)
}

fn wad(value: Wad) -> String {
    value.raw().to_string()
}

fn limit_json(reserve: &Pubkey, limit: Result<Limit, solvent::errors::LendingError>) -> Value {
    match limit {
        Ok(limit) => json!({ "reserve": reserve.to_string(), "amount": limit.amount.to_string(), "refusedAbove": limit.refused_above.map(|e| format!("{e:?}")) }),
        Err(error) => json!({ "reserve": reserve.to_string(), "error": format!("{error:?}") }),
    }
}

/// A random valid reserve configuration.
fn config(rng: &mut Rng) -> ReserveConfig {
    loop {
        let threshold = rng.range(3_000, 9_500) as u16;
        let bonus = rng.range(0, 1_500) as u16;
        let mut rate_curve = [RateCurvePoint::default(); 8];
        let base = rng.range(0, 500) as u32;
        let optimal = base + rng.range(0, 3_000) as u32;
        rate_curve[0] = RateCurvePoint { utilization_bps: 0, borrow_rate_bps: base };
        rate_curve[1] = RateCurvePoint { utilization_bps: rng.range(5_000, 9_000) as u32, borrow_rate_bps: optimal };
        rate_curve[2] = RateCurvePoint { utilization_bps: 10_000, borrow_rate_bps: optimal + rng.range(0, 20_000) as u32 };
        let config = ReserveConfig {
            loan_to_value_bps: (threshold as u64).saturating_sub(rng.range(1, 2_500)) as u16,
            liquidation_threshold_bps: threshold,
            liquidation_bonus_bps: bonus,
            max_liquidation_bonus_bps: if rng.chance(50) { bonus + rng.range(0, 1_000) as u16 } else { 0 },
            liquidation_bonus_ramp_secs: rng.range(1, 3_600) as u16,
            close_factor_bps: [2_000, 5_000, 10_000][rng.range(0, 2) as usize],
            protocol_take_rate_bps: rng.range(0, 3_000) as u16,
            borrow_fee_bps: if rng.chance(50) { rng.range(1, 100) as u16 } else { 0 },
            max_confidence_bps: 1_000,
            flash_loan_fee_bps: 9,
            max_price_age_secs: 60,
            valuation_mode: rng.chance(20) as u8,
            borrow_weight_bps: if rng.chance(40) { rng.range(10_000, 30_000) as u16 } else { 0 },
            deposit_limit: u64::MAX,
            borrow_limit: if rng.chance(20) { rng.range(1, 1u64 << 40) } else { u64::MAX },
            borrow_limit_value: if rng.chance(20) { rng.range(1, 10_000_000) } else { 0 },
            rate_curve,
            ..Default::default()
        };
        if config.validate().is_ok() {
            return config;
        }
    }
}

/// A price of about `dollars` per whole token of `decimals`, with EMA and confidence apart.
fn price(rng: &mut Rng, mantissa: u64, exponent: i32) -> CheckedPrice {
    let ema = mantissa.saturating_mul(rng.range(9_500, 10_500)) / 10_000;
    let confidence = mantissa.saturating_mul(rng.range(0, 80)) / 10_000;
    CheckedPrice {
        spot: OraclePrice { mantissa: mantissa.max(1), exponent },
        ema: OraclePrice { mantissa: ema.max(1), exponent },
        confidence,
        ema_confidence: confidence,
    }
}

/// `price` scaled by `bps` / 10,000 (spot, EMA and confidence alike).
fn moved(price: &CheckedPrice, bps: u64) -> CheckedPrice {
    let scale = |m: u64| ((m as u128 * bps as u128 / 10_000) as u64).max(1);
    CheckedPrice {
        spot: OraclePrice { mantissa: scale(price.spot.mantissa), exponent: price.spot.exponent },
        ema: OraclePrice { mantissa: scale(price.ema.mantissa), exponent: price.ema.exponent },
        confidence: price.confidence * bps / 10_000,
        ema_confidence: price.ema_confidence * bps / 10_000,
    }
}

struct Case {
    view: MarketView,
    obligation_key: Pubkey,
    obligation: Obligation,
}

fn draw(seed: u64) -> Option<Case> {
    let mut rng = Rng(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x5EED);
    let market_key = rng.key();
    let owner = rng.key();
    let mut market = LendingMarket {
        version: ACCOUNT_VERSION,
        authority_bump: 255,
        paused: false,
        owner: to_anchor(&rng.key()),
        authority: to_anchor(&rng.key()),
        quote_currency: [0; 32],
        oracle_program: to_anchor(&rng.key()),
        liquidation_cap_value: if rng.chance(30) { rng.range(1, 100_000) } else { 0 },
        dust_value: if rng.chance(30) { rng.range(1, 500) } else { 0 },
        liquidation_protocol_share_bps: rng.range(0, 5_000) as u16,
        emode_groups: [0; 64],
        reserved: [0; 46],
        guardian: Default::default(),
        pending_owner: Default::default(),
        policy_bytes: [0; solvent::state::MARKET_POLICY_BYTES],
        next_change_id: 0,
    };
    let (mut now, mut slot) = (1_700_000_000 + rng.range(0, 10_000_000) as i64, rng.range(1_000, 1_000_000));

    // Reserves, each with a depositor's liquidity.
    let count = rng.range(2, 5) as usize;
    let mut keys = Vec::new();
    let mut reserves = BTreeMap::new();
    let mut prices = BTreeMap::new();
    for _ in 0..count {
        let key = rng.key();
        let mut reserve: Reserve = bytemuck::Zeroable::zeroed();
        reserve.version = ACCOUNT_VERSION;
        reserve.liquidity_decimals = rng.range(0, 12) as u8;
        reserve.lending_market = to_anchor(&market_key);
        for field in [&mut reserve.liquidity_mint, &mut reserve.liquidity_vault, &mut reserve.fee_vault, &mut reserve.collateral_mint, &mut reserve.oracle] {
            *field = to_anchor(&rng.key());
        }
        reserve.token_program = to_anchor(&solvent_client::TOKEN_PROGRAM_ID);
        reserve.oracle_program = market.oracle_program;
        reserve.oracle_source = 1;
        reserve.config = config(&mut rng);
        if rng.chance(20) {
            let ltv = reserve.config.loan_to_value_bps;
            let dynamic = DynamicMarginConfig {
                flags: rng.range(1, 7) as u8,
                vol_sample_secs: 60,
                vol_half_life_secs: rng.range(60, 86_400) as u32,
                vol_horizon_secs: rng.range(3_600, 86_400) as u32,
                vol_z_bps: rng.range(10_000, 30_000) as u32,
                max_threshold_drop_bps_per_hour: rng.range(1, 500) as u16,
                threshold_hysteresis_bps: rng.range(0, 500) as u16,
                size_premium_bps: rng.range(1, 500) as u16,
                max_size_premium_bps: rng.range(1, (ltv as u64).saturating_sub(1).clamp(1, 2_000)) as u16,
                liquidity_depth_value: rng.range(1_000, 10_000_000),
                concentration_limit_value: rng.range(10_000, 100_000_000),
                ..Default::default()
            };
            if dynamic.validate(ltv).is_ok() {
                reserve.dynamic_config = dynamic;
            }
        }
        if rng.chance(20) {
            let zone = SoftZoneConfig {
                enabled: 1,
                start_bps: rng.range(3_000, 9_000) as u16,
                max_repay_bps: rng.range(1, 2_500) as u16,
                max_bonus_bps: (rng.range(0, 200) as u16).min(reserve.config.liquidation_bonus_bps.saturating_sub(1)),
                bonus_ramp_secs: rng.range(1, 86_400) as u32,
                min_interval_secs: rng.range(1, 86_400) as u32,
                ..Default::default()
            };
            if zone.validate(reserve.config.liquidation_bonus_bps).is_ok() {
                reserve.soft_zone = zone;
            }
        }
        reserve.cumulative_borrow_index_wad.set(Wad::ONE);
        reserve.last_update_timestamp = now;
        // A dollar price between $0.0001 and $100,000 per whole token, as an 8-decimal mantissa.
        let exponent = -(rng.range(4, 10) as i32);
        let dollars_e4 = [1u64, 10, 100, 10_000, 1_000_000, 1_000_000_000][rng.range(0, 5) as usize] * rng.range(1, 20);
        let mantissa = (dollars_e4 as u128 * 10u128.pow((-exponent) as u32) / 10_000) as u64;
        let checked = price(&mut rng, mantissa.max(1), exponent);
        reserve.refresh(&checked, now, slot).ok()?;
        let whole = 10u64.pow(reserve.liquidity_decimals as u32);
        reserve.deposit(rng.range(1_000, 10_000_000).saturating_mul(whole).max(10_000)).ok()?;
        keys.push(key);
        reserves.insert(key, reserve);
        prices.insert(key, checked);
    }

    // A third of the cases in e-mode group 1, of a random subset of the reserves.
    let emode = rng.chance(33);
    let mut emode_debts = BTreeMap::new();
    if emode {
        let threshold = rng.range(8_000, 9_700) as u16;
        let bonus = rng.range(0, (10_000u64 * 10_000 / threshold as u64).saturating_sub(10_000).min(800)) as u16;
        let group = EmodeGroup {
            loan_to_value_bps: rng.range(threshold as u64 - 1_000, threshold as u64 - 1) as u16,
            liquidation_threshold_bps: threshold,
            liquidation_bonus_bps: bonus,
            max_liquidation_bonus_bps: 0,
        };
        market.set_emode_group(1, &group).ok()?;
        for reserve in reserves.values_mut() {
            if rng.chance(70) {
                reserve.config.emode_groups = 1;
            }
        }
        let mut debt: EmodeGroupDebt = bytemuck::Zeroable::zeroed();
        debt.version = ACCOUNT_VERSION;
        debt.group = 1;
        debt.lending_market = to_anchor(&market_key);
        debt.debt_cap_value = if rng.chance(40) { rng.range(1, 1_000_000) } else { 0 };
        emode_debts.insert(1u8, debt);
    }

    let members: Vec<Pubkey> = keys.iter().copied().filter(|k| !emode || reserves[k].config.is_in_emode_group(1)).collect();
    if members.len() < 2 {
        return None;
    }
    let mut obligation: Obligation = bytemuck::Zeroable::zeroed();
    obligation.version = ACCOUNT_VERSION;
    obligation.lending_market = to_anchor(&market_key);
    obligation.owner = to_anchor(&owner);
    obligation.mark_stale();
    let obligation_key = rng.key();

    // Collateral in 1..=3 reserves, debt in 1..=2 others.
    let deposits = rng.range(1, (members.len() as u64 - 1).min(3)) as usize;
    let (collateral, rest) = members.split_at(deposits);
    // A fifth of the single-collateral obligations (outside e-mode) on isolated collateral, with
    // most other reserves borrowable against it.
    let isolated = deposits == 1 && !emode && rng.chance(20);
    if isolated {
        let config = &mut reserves.get_mut(&collateral[0])?.config;
        config.risk_flags = RISK_FLAG_ISOLATED_COLLATERAL;
        config.isolation_debt_ceiling_value = rng.range(1, 1_000_000);
        for key in rest {
            if rng.chance(70) {
                reserves.get_mut(key)?.config.risk_flags = RISK_FLAG_BORROWABLE_IN_ISOLATION;
            }
        }
    }
    for key in collateral {
        let reserve = reserves.get_mut(key)?;
        let whole = 10u64.pow(reserve.liquidity_decimals as u32);
        operations::deposit(&mut obligation, reserve, &to_anchor(key), rng.range(1, 100_000).saturating_mul(whole)).ok()?;
    }
    let view_at = |reserves: &BTreeMap<Pubkey, Reserve>, market: &LendingMarket, debts: &BTreeMap<u8, EmodeGroupDebt>, slot: u64, now: i64| MarketView {
        keys: MarketKeys::from_state(market_key, market),
        state: market.clone(),
        reserves: reserves.iter().map(|(k, r)| (*k, ReserveView { keys: ReserveKeys::from_state(*k, r), state: *r, price_error: None })).collect(),
        emode_debts: debts.clone(),
        slot,
        now,
    };
    if emode {
        let view = view_at(&reserves, &market, &emode_debts, slot, now);
        let group = market.emode(1).ok()?;
        let mut debt = emode_debts[&1];
        operations::set_emode(&mut obligation, Emode { group: 1, params: group.params }, now, slot, |_, key| view.reserve(&solvent_client::from_anchor(key)).map(|r| &r.state), GroupChange { leaving: None, entering: Some(&mut debt) })
            .ok()?;
        emode_debts.insert(1, debt);
    } else {
        let view = view_at(&reserves, &market, &emode_debts, slot, now);
        obligation = view.refresh_obligation(&obligation).ok()?.0;
    }
    let borrows = rng.range(1, rest.len().min(2) as u64) as usize;
    for key in &rest[..borrows] {
        let view = view_at(&reserves, &market, &emode_debts, slot, now);
        let limit = max_borrow(&view, &obligation, key).ok()?;
        if limit.amount == 0 {
            continue;
        }
        // Up to the limit, and sometimes all of it.
        let amount = if rng.chance(50) { limit.amount } else { (limit.amount as u128 * rng.range(1, 1_000) as u128 / 1_000).max(1) as u64 };
        obligation = view.refresh_obligation(&obligation).ok()?.0;
        let mut isolated_reserve = isolated.then(|| reserves[&collateral[0]]);
        let reserve = reserves.get_mut(key)?;
        let mut debt = emode_debts.get(&1).copied();
        operations::borrow(&mut obligation, reserve, &to_anchor(key), amount, DebtCounters { isolated: isolated_reserve.as_mut(), emode: debt.as_mut() }).ok()?;
        if let Some(debt) = debt {
            emode_debts.insert(1, debt);
        }
        if let Some(state) = isolated_reserve {
            reserves.insert(collateral[0], state);
        }
    }
    // Two in five obligations with an owner's order on a debt and a collateral: a health, price
    // or price-ratio trigger near where the position is now.
    if obligation.has_borrows() && rng.chance(40) {
        let (repay, withdraw) = (obligation.borrows[0].borrow_reserve, obligation.deposits[0].deposit_reserve);
        let (collateral_price, debt_price) = (reserves[&solvent_client::from_anchor(&withdraw)].market_price(), reserves[&solvent_client::from_anchor(&repay)].market_price());
        let trigger = rng.range(1, 5) as u8;
        let near = |level: u128, rng: &mut Rng| level.saturating_mul(rng.range(5_000, 15_000) as u128) / 10_000;
        let threshold_wad = match trigger {
            1 => Wad::ONE.raw() + Wad::ONE.raw() * rng.range(1, 2_000) as u128 / 1_000,
            2 | 3 => near(collateral_price.raw(), &mut rng).max(1),
            _ => near(debt_price.checked_div(collateral_price, solvent::math::Rounding::Down).unwrap_or(Wad::ONE).raw(), &mut rng).max(1),
        };
        let params = OrderParams {
            trigger,
            threshold_wad,
            max_repay_bps: rng.range(1, 10_000) as u16,
            max_bonus_bps: rng.range(0, 300) as u16,
            bonus_ramp_secs: rng.range(1, 86_400) as u32,
        };
        let bonus = reserves[&solvent_client::from_anchor(&withdraw)].config.liquidation_bonus_bps;
        if params.validate(bonus).is_ok() {
            obligation.orders[rng.range(0, MAX_OBLIGATION_ORDERS as u64 - 1) as usize] = params.order(repay, withdraw);
        }
    }
    if !obligation.has_borrows() {
        return None;
    }

    // Time passes and prices move, twice: the obligation is refreshed at the first step (an
    // auction clock may start), then the view is the market at the second.
    for step in 0..2 {
        now += rng.range(0, 30 * 86_400) as i64;
        slot += rng.range(1, 1_000_000);
        for key in &keys {
            // At the last step most obligations see their collateral fall toward (or past)
            // the threshold: the liquidation cases.
            let falls = step == 1 && collateral.contains(key) && rng.chance(60);
            let change = match if falls { 4 } else { rng.range(0, 3) } {
                4 => rng.range(3_000, 9_500),
                0 => 10_000,
                1 => rng.range(9_000, 11_000),
                2 => rng.range(5_000, 10_000),
                _ => rng.range(10_000, 15_000),
            };
            let next = moved(&prices[key], change);
            reserves.get_mut(key)?.refresh(&next, now, slot).ok()?;
            prices.insert(*key, next);
        }
        if step == 0 && rng.chance(70) {
            let view = view_at(&reserves, &market, &emode_debts, slot, now);
            obligation = view.refresh_obligation(&obligation).ok()?.0;
        }
    }
    Some(Case { view: view_at(&reserves, &market, &emode_debts, slot, now), obligation_key, obligation })
}

fn mode_name(mode: Deleverage) -> String {
    match mode {
        Deleverage::Liquidation => "liquidation".into(),
        Deleverage::Soft => "soft".into(),
        Deleverage::Order(index) => format!("order{index}"),
    }
}

fn case_json(id: u64, case: &Case) -> Value {
    let Case { view, obligation_key, obligation } = case;
    let reserves: Vec<Value> = view.reserves.iter().map(|(k, r)| json!({ "address": k.to_string(), "data": zero_copy_data(&r.state) })).collect();
    let emode_debts: Vec<Value> = view.emode_debts.iter().map(|(g, d)| json!({ "group": g, "data": zero_copy_data(d) })).collect();
    let refreshed = match view.refresh_obligation(obligation) {
        Ok((state, values)) => {
            let health = |kind| {
                let h = values.health(kind);
                json!({ "assetsWad": wad(h.assets), "liabilitiesWad": wad(h.liabilities) })
            };
            json!({ "data": zero_copy_data(&state), "health": { "initial": health(HealthKind::Initial), "maintenance": health(HealthKind::Maintenance), "payout": health(HealthKind::Payout) } })
        }
        Err(error) => json!({ "error": format!("{error:?}") }),
    };
    let deposit_keys: Vec<Pubkey> = obligation.deposits.iter().filter(|d| d.deposited_shares > 0).map(|d| solvent_client::from_anchor(&d.deposit_reserve)).collect();
    let borrow_keys: Vec<Pubkey> = obligation.borrows.iter().filter(|b| !b.borrowed_amount().is_zero()).map(|b| solvent_client::from_anchor(&b.borrow_reserve)).collect();
    let max_borrows: Vec<Value> = view.reserves.keys().map(|k| limit_json(k, max_borrow(view, obligation, k))).collect();
    let max_withdraws: Vec<Value> = deposit_keys.iter().map(|k| limit_json(k, max_withdraw(view, obligation, k))).collect();
    let prices: Vec<Value> = deposit_keys
        .iter()
        .map(|k| match liquidation_price(view, obligation, k) {
            Ok(price) => json!({ "reserve": k.to_string(), "price": price.map(|p| json!({ "mantissa": p.mantissa.to_string(), "exponent": p.exponent })) }),
            Err(error) => json!({ "reserve": k.to_string(), "error": format!("{error:?}") }),
        })
        .collect();
    let mut rng = Rng(id ^ 0xA11CE);
    let mut quotes = Vec::new();
    for repay in &borrow_keys {
        for withdraw in &deposit_keys {
            let max_repay = if rng.chance(50) {
                u64::MAX
            } else {
                let bits = rng.range(1, 50);
                rng.range(1, 1u64 << bits)
            };
            let accept_shares = rng.chance(50);
            // The liquidation, and the soft deleverage and order executions the program could
            // be asked for on this pair.
            let mut modes = vec![Deleverage::Liquidation];
            if view.reserves[withdraw].state.soft_zone.is_enabled() {
                modes.push(Deleverage::Soft);
            }
            modes.extend((0..MAX_OBLIGATION_ORDERS).filter(|&i| obligation.orders[i].is_active()).map(Deleverage::Order));
            for mode in modes {
            let quote = match quote_deleverage(view, obligation, repay, withdraw, max_repay, accept_shares, mode) {
                Ok(q) => json!({
                    "repayAmount": q.plan.repay_amount.to_string(), "settledDebtWad": wad(q.plan.settled_debt), "seizedShares": q.plan.seized_shares.to_string(),
                    "repayValueWad": wad(q.plan.repay_value), "seizeValueWad": wad(q.plan.seize_value),
                    "auctionBonusBps": q.auction_bonus_bps, "bonusBps": q.bonus_bps, "insolvent": q.insolvent,
                    "tokens": q.payout.tokens.to_string(), "shares": q.payout.shares.to_string(), "redeemedShares": q.payout.redeemed_shares.to_string(),
                    "redeemedAmount": q.payout.redeemed_amount.to_string(), "protocolFee": q.payout.protocol_fee.to_string(),
                }),
                Err(error) => json!({ "error": format!("{error:?}") }),
            };
            quotes.push(json!({ "repayReserve": repay.to_string(), "withdrawReserve": withdraw.to_string(), "maxRepay": max_repay.to_string(), "acceptShares": accept_shares, "mode": mode_name(mode), "quote": quote }));
            }
        }
    }
    // The keeper's ranking: the call that pays the executor most, taking shares of half the reserves.
    let takes_shares: Vec<Pubkey> = view.reserves.keys().copied().filter(|_| rng.chance(50)).collect();
    let best = view.refresh_obligation(obligation).ok().and_then(|(refreshed, _)| best_deleverage(view, &refreshed, |k| takes_shares.contains(k)));
    let best = best.map(|b| {
        json!({ "repayReserve": b.repay_reserve.to_string(), "withdrawReserve": b.withdraw_reserve.to_string(), "mode": mode_name(b.mode),
                "repayAmount": b.quote.plan.repay_amount.to_string(), "repayValueWad": wad(b.repay_value), "receivedValueWad": wad(b.received_value) })
    });
    json!({
        "id": id, "slot": view.slot.to_string(), "now": view.now.to_string(),
        "market": { "address": view.keys.market.to_string(), "data": market_data(&view.state) },
        "reserves": reserves, "emodeDebts": emode_debts,
        "obligation": { "address": obligation_key.to_string(), "data": zero_copy_data(obligation) },
        "refreshed": refreshed,
        "maxBorrow": max_borrows, "maxWithdraw": max_withdraws, "liquidationPrice": prices, "quotes": quotes,
        "takesShares": takes_shares.iter().map(|k| k.to_string()).collect::<Vec<_>>(), "best": best,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (check, path) = match args.as_slice() {
        [flag, path] if flag == "--check" => (true, path.clone()),
        [path] => (false, path.clone()),
        _ => {
            eprintln!("usage: ts-vectors [--check] <path.json>");
            std::process::exit(2);
        }
    };
    let mut cases = Vec::new();
    let mut seed = 0u64;
    while (cases.len() as u64) < CASES {
        if let Some(case) = draw(seed) {
            cases.push(case_json(seed, &case));
        }
        seed += 1;
    }
    let file = json!({
        "command": "cargo run -q --locked -p solvent-client --example ts-vectors -- app/ts/test/vectors/position.json",
        "cases": cases,
    });
    let text = serde_json::to_string(&file).expect("json") + "\n";
    if check {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != text {
            eprintln!("ts-vectors: {path} is not what the program's math gives now; regenerate it with the command in its \"command\" field");
            std::process::exit(1);
        }
        println!("ts-vectors: {path} is current ({} cases)", cases.len());
    } else {
        if let Some(dir) = std::path::Path::new(&path).parent() {
            std::fs::create_dir_all(dir).expect("directory");
        }
        std::fs::write(&path, text).expect("write");
        println!("ts-vectors: wrote {} cases to {path}", cases.len());
    }
}
