//! Oracle safety on the built .so: Pyth pull-oracle `PriceUpdateV2` reserves built with
//! `pyth-solana-receiver-sdk`'s own types, every bad price refused with its own error, exact
//! valuation across exponents and decimals, and a pumped or crashed spot price that the EMA does
//! not follow: borrowing power does not rise, the circuit breaker halts borrowing and
//! withdrawing, repay and deposit keep working, and no healthy-at-EMA position is liquidated.
use anchor_lang::Discriminator;
use solvent::errors::LendingError;
use solvent::events::{PriceHaltEnded, PriceHaltStarted};
use solvent::math::{Wad, WAD};
use solvent::oracle::{read_price_update_v2, ORACLE_SOURCE_PYTH_LEGACY, ORACLE_SOURCE_PYTH_PULL, PRICE_UPDATE_V2_DISCRIMINATOR};
use solvent::state::ReserveConfig;
use solvent_tests::*;
use solvent::state::HealthKind;

const SOL_FEED: [u8; 32] = [0xef; 32];
const SOL: u64 = 1_000_000_000;
const USDC: u64 = 1_000_000;

fn sol_pull_price(price: i64, ema_price: i64, publish_time: i64) -> PullPrice {
    PullPrice { feed_id: SOL_FEED, price, conf: 0, ema_price, ema_conf: 0, expo: SOL_PRICE_EXPO, publish_time }
}

/// The SDK's `PriceUpdateV2` bytes decode to the same fields with the program's byte decoder,
/// and the SDK agrees on the discriminator and the receiver's program id.
#[test]
fn the_byte_decoder_matches_the_sdk() {
    use anchor_lang::AccountDeserialize;
    use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;
    assert_eq!(PriceUpdateV2::DISCRIMINATOR, &PRICE_UPDATE_V2_DISCRIMINATOR[..]);
    assert_eq!(from_anchor(&pyth_solana_receiver_sdk::ID), PYTH_RECEIVER_PROGRAM_ID);
    assert_eq!(to_anchor(&PYTH_RECEIVER_PROGRAM_ID), solvent::oracle::PYTH_RECEIVER_PROGRAM_ID);
    let price = PullPrice { feed_id: SOL_FEED, price: -12_345, conf: 77, ema_price: 13_000, ema_conf: 55, expo: -5, publish_time: 1_750_000_123 };
    let data = price_update_v2_account(price, true);
    let sdk = PriceUpdateV2::try_deserialize(&mut data.as_slice()).unwrap();
    let ours = read_price_update_v2(&data, &SOL_FEED).unwrap();
    let message = sdk.price_message;
    assert_eq!(
        (ours.price, ours.confidence, ours.ema_price, ours.ema_confidence, ours.exponent, ours.publish_time),
        (message.price, message.conf, message.ema_price, message.ema_conf, message.exponent, message.publish_time)
    );
    assert_eq!(read_price_update_v2(&data, &[1; 32]), Err(LendingError::OracleFeedMismatch));
    // Partial verification is a two-byte enum variant: the message starts one byte later, and
    // the update is refused before it is read.
    let partial = price_update_v2_account(price, false);
    assert!(PriceUpdateV2::try_deserialize(&mut partial.as_slice()).is_ok());
    assert_eq!(read_price_update_v2(&partial, &SOL_FEED), Err(LendingError::OracleNotFullyVerified));
    assert_eq!(read_price_update_v2(&data[..100], &SOL_FEED), Err(LendingError::InvalidOracleData));
    let mut other_account = data.clone();
    other_account[0] ^= 1;
    assert_eq!(read_price_update_v2(&other_account, &SOL_FEED), Err(LendingError::InvalidOracleData));
}

struct PullMarket {
    h: Harness,
    owner: Keypair,
    market: TestMarket,
    sol: TestReserve,
    usdc: TestReserve,
    borrower: TestUser,
}

/// SOL read from a PriceUpdateV2 account (circuit breaker at 20% from the EMA), USDC from a
/// legacy Pyth account; a lender supplies 100,000 USDC, the borrower deposits 10 SOL at $150 and
/// borrows 500 USDC.
async fn pull_market() -> PullMarket {
    let mut h = Harness::start().await;
    let owner = Keypair::new();
    h.fund(&owner.pubkey(), 100_000_000_000).await;
    let (market, _) = h.init_market(&owner).await;
    let sol_config = ReserveConfig { price_band_bps: 2_000, ..sol_config() };
    let sol = h.init_reserve_pull(&market, &owner, 9, sol_pull_price(SOL_PRICE, SOL_PRICE, 0), sol_config).await;
    let (usdc, _) = h.init_reserve(&market, &owner, 6, USDC_PRICE, USDC_PRICE_EXPO, usdc_config()).await;
    let lender = h.new_user(&market, &sol, &usdc).await;
    h.mint_to(&usdc.mint, &lender.usdc_account, 100_000 * USDC).await;
    let ix = deposit_ix(&market, &usdc, &lender.obligation, &lender.keypair.pubkey(), &lender.usdc_account, 100_000 * USDC);
    h.must_send(&[ix], &[&lender.keypair]).await;
    let borrower = h.new_user(&market, &sol, &usdc).await;
    h.mint_to(&sol.mint, &borrower.sol_account, 20 * SOL).await;
    let ix = deposit_ix(&market, &sol, &borrower.obligation, &borrower.keypair.pubkey(), &borrower.sol_account, 10 * SOL);
    h.must_send(&[ix], &[&borrower.keypair]).await;
    let mut m = PullMarket { h, owner, market, sol, usdc, borrower };
    let ix = borrow_ix(&m.market, &m.usdc, &m.borrower.obligation, &m.borrower.keypair.pubkey(), &m.borrower.usdc_account, 500 * USDC);
    m.send_with_refresh(ix, true).await;
    m
}

impl PullMarket {
    /// Publishes SOL's spot and EMA now.
    async fn set_sol(&mut self, price: i64, ema_price: i64) {
        let now = self.h.now().await;
        self.h.set_price_update(&self.sol.oracle, sol_pull_price(price, ema_price, now), true);
    }

    async fn send_with_refresh(&mut self, action: Instruction, must: bool) -> TxOutcome {
        let signer = self.borrower.keypair.insecure_clone();
        let ixs = self.h.with_refresh(&self.borrower.obligation, &[&self.sol, &self.usdc], action).await;
        let outcome = self.h.send(&ixs, &[&signer]).await;
        assert!(!must || outcome.error.is_none(), "{:?}\n{}", outcome.error, outcome.logs.join("\n"));
        outcome
    }

    async fn refresh(&mut self) -> TxOutcome {
        let obligation = self.h.obligation(&self.borrower.obligation).await;
        let ixs = self.h.refresh_all_ixs(&self.borrower.obligation, &obligation, &[&self.sol, &self.usdc]);
        let outcome = self.h.send(&ixs, &[]).await;
        assert!(outcome.error.is_none(), "{:?}", outcome.error);
        outcome
    }

    fn watched(&self) -> Vec<Pubkey> {
        vec![self.sol.reserve, self.usdc.reserve, self.sol.vault, self.usdc.vault, self.borrower.obligation, self.borrower.usdc_account, self.borrower.sol_account]
    }
}

#[tokio::test]
async fn every_bad_pull_price_is_refused_with_its_own_error() {
    let mut m = pull_market().await;
    let keys = m.watched();
    let now = m.h.now().await;
    let oracle = m.sol.oracle;
    let good = sol_pull_price(SOL_PRICE, SOL_PRICE, now);
    let cases = [
        (PullPrice { publish_time: now - 61, ..good }, true, LendingError::OraclePriceStale),
        (PullPrice { price: 0, ..good }, true, LendingError::OraclePriceNotPositive),
        (PullPrice { price: -SOL_PRICE, ..good }, true, LendingError::OraclePriceNotPositive),
        (PullPrice { ema_price: 0, ..good }, true, LendingError::OraclePriceNotPositive),
        // 2.01% confidence against a 2% limit.
        (PullPrice { conf: SOL_PRICE as u64 / 10_000 * 201, ..good }, true, LendingError::OraclePriceTooUncertain),
        // The EMA's own interval, bounded the same way.
        (PullPrice { ema_conf: SOL_PRICE as u64 / 10_000 * 201, ..good }, true, LendingError::OracleEmaTooUncertain),
        (PullPrice { expo: -19, ..good }, true, LendingError::OracleExponentOutOfRange),
        (good, false, LendingError::OracleNotFullyVerified),
        (PullPrice { feed_id: [0xab; 32], ..good }, true, LendingError::OracleFeedMismatch),
    ];
    for (price, full, error) in cases {
        m.h.set_price_update(&oracle, price, full);
        assert_rejected(&mut m.h, &[refresh_reserve_ix(&m.sol)], &[], error, &keys).await;
    }
    // The pinned address, but owned by another program than the Pyth receiver.
    m.h.set_account(&oracle, &TOKEN_PROGRAM_ID, price_update_v2_account(good, true));
    assert_rejected(&mut m.h, &[refresh_reserve_ix(&m.sol)], &[], LendingError::InvalidOracleOwner, &keys).await;
    // A second, valid update for the same feed at another address: only the pinned one counts.
    m.h.set_price_update(&oracle, good, true);
    let second = Keypair::new().pubkey();
    m.h.set_price_update(&second, good, true);
    let mut ix = refresh_reserve_ix(&m.sol);
    ix.accounts[1].pubkey = second;
    assert_rejected(&mut m.h, &[ix], &[], LendingError::InvalidOracleAccount, &keys).await;
    // Exactly at the limits is accepted: 60 s old, 2.00% confidence on spot and EMA.
    m.h.set_price_update(&oracle, PullPrice { publish_time: now - 60, conf: SOL_PRICE as u64 / 50, ema_conf: SOL_PRICE as u64 / 50, ..good }, true);
    m.h.must_send(&[refresh_reserve_ix(&m.sol)], &[]).await;

    // Listing: an unknown source, and a legacy account offered as a pull oracle.
    let mint = m.h.create_mint(9).await;
    let legacy = Keypair::new().pubkey();
    m.h.set_price(&legacy, SOL_PRICE, 0, SOL_PRICE_EXPO).await;
    let owner = m.owner.insecure_clone();
    let reserve = reserve_address(&m.market.market, &mint);
    let ix = init_reserve_with_oracle_ix(&m.market, &owner.pubkey(), &mint, &legacy, sol_config(), 2, SOL_FEED);
    assert_rejected(&mut m.h, &[ix], &[&owner], LendingError::InvalidOracleSource, &[reserve]).await;
    let ix = init_reserve_with_oracle_ix(&m.market, &owner.pubkey(), &mint, &legacy, sol_config(), ORACLE_SOURCE_PYTH_PULL, SOL_FEED);
    assert_rejected(&mut m.h, &[ix], &[&owner], LendingError::InvalidOracleOwner, &[reserve]).await;
    let pull = Keypair::new().pubkey();
    let now = m.h.now().await;
    m.h.set_price_update(&pull, sol_pull_price(SOL_PRICE, SOL_PRICE, now), true);
    let ix = init_reserve_with_oracle_ix(&m.market, &owner.pubkey(), &mint, &pull, sol_config(), ORACLE_SOURCE_PYTH_LEGACY, [0; 32]);
    assert_rejected(&mut m.h, &[ix], &[&owner], LendingError::InvalidOracleOwner, &[reserve]).await;
    let ix = init_reserve_with_oracle_ix(&m.market, &owner.pubkey(), &mint, &pull, sol_config(), ORACLE_SOURCE_PYTH_PULL, [0xab; 32]);
    assert_rejected(&mut m.h, &[ix], &[&owner], LendingError::OracleFeedMismatch, &[reserve]).await;
}

/// 2.5 tokens at $123.45678901 (exponent -8), $123.45679 (-5) and $123 (0), for 6- and
/// 9-decimal tokens, each valued by refresh_obligation to the raw unit of the Wad. Half of the
/// reserves read legacy accounts, half PriceUpdateV2 accounts.
#[tokio::test]
async fn exponents_and_decimals_are_valued_exactly() {
    let mut h = Harness::start().await;
    let owner = Keypair::new();
    h.fund(&owner.pubkey(), 100_000_000_000).await;
    let (market, _) = h.init_market(&owner).await;
    let user = Keypair::new();
    h.fund(&user.pubkey(), 10_000_000_000).await;
    let obligation = h.init_obligation(&market, &user).await;
    let prices = [(12_345_678_901i64, -8), (12_345_679, -5), (123, 0)];
    let mut expected = Vec::new();
    let mut reserves = Vec::new();
    for (i, (decimals, (mantissa, expo))) in [6u8, 9].iter().flat_map(|d| prices.iter().map(move |p| (*d, *p))).enumerate() {
        let reserve = if i % 2 == 0 {
            h.init_reserve(&market, &owner, decimals, mantissa, expo, sol_config()).await.0
        } else {
            let price = PullPrice { feed_id: [i as u8; 32], price: mantissa, conf: 0, ema_price: mantissa, ema_conf: 0, expo, publish_time: 0 };
            h.init_reserve_pull(&market, &owner, decimals, price, sol_config()).await
        };
        let amount = 25 * 10u64.pow(decimals as u32) / 10;
        let source = h.create_token_account(&reserve.mint, &user.pubkey()).await;
        h.mint_to(&reserve.mint, &source, amount).await;
        h.must_send(&[deposit_ix(&market, &reserve, &obligation, &user.pubkey(), &source, amount)], &[&user]).await;
        // The first deposit leaves DEAD_SHARES base units' worth to nobody: the position holds
        // 2.5 tokens less those, worth (amount - DEAD_SHARES) × mantissa × 10^(18 + expo - decimals).
        let held = (amount - solvent::state::DEAD_SHARES) as u128;
        expected.push(Wad(held * mantissa as u128 * 10u128.pow((18 + expo - decimals as i32) as u32)));
        reserves.push(reserve);
    }
    let mut ixs: Vec<Instruction> = reserves.iter().map(refresh_reserve_ix).collect();
    ixs.push(refresh_obligation_ix(&market.market, &obligation, &reserves.iter().map(|r| r.reserve).collect::<Vec<_>>()));
    h.must_send(&ixs, &[]).await;
    let state = h.obligation(&obligation).await;
    for (i, want) in expected.iter().enumerate() {
        assert_eq!(state.deposits[i].market_value_wad.get(), *want, "reserve {i}");
    }
    assert_eq!(expected[0], Wad(308_518_515_735_990 * WAD / 1_000_000_000_000), "2.499 × $123.45678901 = $308.51851573599");
}

#[tokio::test]
async fn a_pumped_spot_price_raises_no_borrowing_power_and_trips_the_breaker() {
    let mut m = pull_market().await;
    m.refresh().await;
    let before = m.h.obligation(&m.borrower.obligation).await.values();
    let b = m.borrower.keypair.pubkey();

    // One update: spot 3x ($450) while the EMA stays at $150.
    m.set_sol(3 * SOL_PRICE, SOL_PRICE).await;
    let outcome = m.refresh().await;
    assert!(outcome.emitted::<PriceHaltStarted>(), "the halt is announced");
    let pumped = m.h.obligation(&m.borrower.obligation).await.values();
    assert_eq!(pumped.health(HealthKind::Initial).assets, before.health(HealthKind::Initial).assets, "collateral is still valued at the EMA");
    assert_eq!(pumped.health(HealthKind::Maintenance).assets, before.health(HealthKind::Maintenance).assets, "nor does the health factor");
    assert_eq!(m.h.reserve(&m.sol.reserve).await.price_halted, 1);

    // New borrowing and withdrawing halt, for the pumped reserve and against it.
    let keys = m.watched();
    let ix = borrow_ix(&m.market, &m.usdc, &m.borrower.obligation, &b, &m.borrower.usdc_account, 100 * USDC);
    let ixs = m.h.with_refresh(&m.borrower.obligation, &[&m.sol, &m.usdc], ix).await;
    let signer = m.borrower.keypair.insecure_clone();
    assert_rejected(&mut m.h, &ixs, &[&signer], LendingError::PriceCircuitBreakerTripped, &keys).await;
    let ix = withdraw_ix(&m.market, &m.sol, &m.borrower.obligation, &b, &m.borrower.sol_account, SOL);
    let ixs = m.h.with_refresh(&m.borrower.obligation, &[&m.sol, &m.usdc], ix).await;
    assert_rejected(&mut m.h, &ixs, &[&signer], LendingError::PriceCircuitBreakerTripped, &keys).await;
    // Repay and deposit need no price and keep working.
    m.h.must_send(&[repay_ix(&m.usdc, &m.borrower.obligation, &b, &m.borrower.usdc_account, 100 * USDC)], &[&signer]).await;
    m.h.must_send(&[deposit_ix(&m.market, &m.sol, &m.borrower.obligation, &b, &m.borrower.sol_account, SOL)], &[&signer]).await;

    // The pump is over: the breaker releases and borrowing resumes.
    m.set_sol(SOL_PRICE, SOL_PRICE).await;
    let outcome = m.refresh().await;
    assert!(outcome.emitted::<PriceHaltEnded>(), "the end of the halt is announced");
    assert_eq!(m.h.reserve(&m.sol.reserve).await.price_halted, 0);
    let ix = borrow_ix(&m.market, &m.usdc, &m.borrower.obligation, &b, &m.borrower.usdc_account, 100 * USDC);
    m.send_with_refresh(ix, true).await;
    let ix = withdraw_ix(&m.market, &m.sol, &m.borrower.obligation, &b, &m.borrower.sol_account, SOL);
    m.send_with_refresh(ix, true).await;
}

#[tokio::test]
async fn stale_prices_block_neither_repay_nor_deposit() {
    let mut m = pull_market().await;
    let b = m.borrower.keypair.pubkey();
    let signer = m.borrower.keypair.insecure_clone();
    let now = m.h.now().await;
    m.h.set_time(now + 3_600).await;
    // Nobody has published SOL for an hour: refreshing SOL fails, so borrowing fails...
    let outcome = m.send_with_refresh(borrow_ix(&m.market, &m.usdc, &m.borrower.obligation, &b, &m.borrower.usdc_account, USDC), false).await;
    assert_eq!(outcome.custom_error(), Some(error_code(LendingError::OraclePriceStale)));
    // ...but repaying and adding collateral need no price at all.
    m.h.must_send(&[repay_ix(&m.usdc, &m.borrower.obligation, &b, &m.borrower.usdc_account, 100 * USDC)], &[&signer]).await;
    m.h.must_send(&[deposit_ix(&m.market, &m.sol, &m.borrower.obligation, &b, &m.borrower.sol_account, SOL)], &[&signer]).await;
    let debt = m.h.obligation(&m.borrower.obligation).await.borrows[0].borrowed_amount();
    assert!(debt < Wad::from_u64(401 * USDC) && debt > Wad::from_u64(400 * USDC), "repaid: {debt:?}");
}

#[tokio::test]
async fn a_one_update_crash_does_not_liquidate_a_position_healthy_at_the_ema() {
    let mut m = pull_market().await;
    let b = m.borrower.keypair.pubkey();
    // Borrow up to $1,000 against 10 SOL at $150: healthy (threshold $1,200).
    let ix = borrow_ix(&m.market, &m.usdc, &m.borrower.obligation, &b, &m.borrower.usdc_account, 500 * USDC);
    m.send_with_refresh(ix, true).await;
    let liquidator = m.h.new_user(&m.market, &m.sol, &m.usdc).await;
    m.h.mint_to(&m.usdc.mint, &liquidator.usdc_account, 1_000 * USDC).await;
    let liquidate = |m: &PullMarket| {
        liquidate_ix(&m.market, &m.borrower.obligation, &liquidator.keypair.pubkey(), &m.usdc, &liquidator.usdc_account, &m.sol, &liquidator.sol_account, 100 * USDC)
    };

    // One update: spot crashes to $50 (threshold at spot $400 < $1,000), the EMA stays at $150.
    m.set_sol(SOL_PRICE / 3, SOL_PRICE).await;
    let outcome = m.refresh().await;
    assert!(outcome.emitted::<PriceHaltStarted>());
    let values = m.h.obligation(&m.borrower.obligation).await.values();
    assert!(!values.is_unhealthy(), "healthy at the EMA: {values:?}");
    let mut keys = m.watched();
    keys.extend([liquidator.usdc_account, liquidator.sol_account]);
    let ixs = m.h.with_refresh(&m.borrower.obligation, &[&m.sol, &m.usdc], liquidate(&m)).await;
    assert_rejected(&mut m.h, &ixs, &[&liquidator.keypair], LendingError::ObligationHealthy, &keys).await;
    // Borrowing power is at the crashed price: no new borrowing against it.
    assert!(!values.within_borrowing_power());

    // The crash persists and the EMA follows to $100: threshold $800 < $1,000 on both prices, and
    // liquidation goes ahead through the breaker (spot $50 is still 50% below the EMA).
    m.set_sol(SOL_PRICE / 3, SOL_PRICE * 2 / 3).await;
    let ixs = m.h.with_refresh(&m.borrower.obligation, &[&m.sol, &m.usdc], liquidate(&m)).await;
    m.h.must_send(&ixs, &[&liquidator.keypair]).await;
    assert_eq!(m.h.reserve(&m.sol.reserve).await.price_halted, 1);
    // Both legs at the liquidation prices: the collateral at the higher of spot and EMA ($100),
    // so $100 × 1.05 buys 1.05 SOL; a one-update dip of spot cannot enlarge the payout.
    assert_eq!(m.h.token_balance(&liquidator.sol_account).await, 1_050_000_000);
}

#[tokio::test]
async fn spot_only_valuation_is_a_per_reserve_choice() {
    let mut m = pull_market().await;
    m.refresh().await;
    let before = m.h.obligation(&m.borrower.obligation).await.values();
    // The owner switches SOL to spot-only valuation, without a breaker.
    let config = ReserveConfig { valuation_mode: solvent::state::VALUATION_SPOT_ONLY, price_band_bps: 0, ..sol_config() };
    let owner = m.owner.insecure_clone();
    m.h.must_send(&[update_config_ix(&m.market, &owner.pubkey(), &m.sol, config)], &[&owner]).await;
    // Spot doubles, the EMA stays: at spot only, borrowing power doubles with it.
    m.set_sol(2 * SOL_PRICE, SOL_PRICE).await;
    m.refresh().await;
    let spot_valued = m.h.obligation(&m.borrower.obligation).await.values();
    assert_eq!(spot_valued.health(HealthKind::Initial).assets.raw(), before.health(HealthKind::Initial).assets.raw() * 2);
    assert_eq!(m.h.reserve(&m.sol.reserve).await.price_halted, 0, "no band, no halt");
    // Back to conservative (the default): the EMA caps it again.
    let config = ReserveConfig { price_band_bps: 0, ..sol_config() };
    m.h.must_send(&[update_config_ix(&m.market, &owner.pubkey(), &m.sol, config)], &[&owner]).await;
    m.refresh().await;
    assert_eq!(m.h.obligation(&m.borrower.obligation).await.values().health(HealthKind::Initial).assets, before.health(HealthKind::Initial).assets);
}
