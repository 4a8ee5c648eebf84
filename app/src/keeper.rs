//! The liquidation keeper: scans every obligation of a market, revalues each with the program's
//! own state methods (`Reserve::refresh`, `Obligation::revalue`, `quote_liquidation`), ranks
//! the unhealthy ones by expected profit, liquidates them until healthy and writes off the debt
//! of obligations left without collateral. Where a collateral reserve's idle liquidity is short
//! it takes the seized collateral as share tokens (when it holds a share account for that
//! reserve) and redeems them in later passes, once liquidity is back.
//!
//! It talks to the chain through `Chain`: `InProcessChain` (the embedded solana-program-test bank
//! of the tests and the demo) and `RpcChain` (a JSON-RPC URL: localnet or devnet) run the same
//! keeper logic.
use anchor_lang::{AccountDeserialize, Discriminator};
use solvent::errors::LendingError;
use solvent::math::{Rounding, Wad};
use solvent::oracle::read_price;
use solvent::state::{quote_liquidation, LendingMarket, LiquidationQuote, LiquidationRequest, Obligation, ObligationValues, Reserve};
use solvent_tests::{
    liquidate_with_shares_ix, obligation_reserves, with_position_reserves, redeem_reserve_collateral_ix, refresh_obligation_ix, refresh_reserve_ix,
    write_off_bad_debt_ix, Harness, Instruction, Keypair, Pubkey, Signer, TestMarket, TestReserve,
};
use std::collections::BTreeMap;
use std::fmt;

/// Byte offset of `lending_market` in both Reserve and Obligation accounts (after the 8-byte
/// discriminator and 8 bytes of small fields): the scan filters on it.
pub const LENDING_MARKET_OFFSET: usize = 16;

pub const CLOCK_SYSVAR_ID: Pubkey = Pubkey::from_str_const("SysvarC1ock11111111111111111111111111111111");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainError(pub String);

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What happened to one transaction.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    /// Known in process; over RPC only from the transaction's metadata, not fetched.
    pub compute_units: Option<u64>,
    /// The error, with the program's custom code when there is one; None on success.
    pub error: Option<String>,
}

/// The few calls the keeper makes.
#[allow(async_fn_in_trait)]
pub trait Chain {
    /// Program accounts that start with `discriminator` and belong to `market`.
    async fn program_accounts(&mut self, discriminator: &[u8], market: &Pubkey) -> Result<Vec<(Pubkey, Vec<u8>)>, ChainError>;
    async fn account_data(&mut self, key: &Pubkey) -> Result<Option<Vec<u8>>, ChainError>;
    /// Current slot and unix time.
    async fn clock(&mut self) -> Result<(u64, i64), ChainError>;
    /// Signs with `signer` (who pays where the chain has no payer of its own) and sends.
    async fn send(&mut self, instructions: &[Instruction], signer: &Keypair) -> Result<Sent, ChainError>;
}

/// The embedded bank of solana-program-test, through the test harness.
pub struct InProcessChain<'h> {
    pub harness: &'h mut Harness,
}

impl Chain for InProcessChain<'_> {
    async fn program_accounts(&mut self, discriminator: &[u8], market: &Pubkey) -> Result<Vec<(Pubkey, Vec<u8>)>, ChainError> {
        let program = solvent_tests::program_id();
        let found = self.harness.program_accounts(&program, discriminator, LENDING_MARKET_OFFSET, market).await;
        Ok(found.into_iter().map(|(key, account)| (key, account.data)).collect())
    }

    async fn account_data(&mut self, key: &Pubkey) -> Result<Option<Vec<u8>>, ChainError> {
        Ok(self.harness.account(key).await.map(|account| account.data))
    }

    async fn clock(&mut self) -> Result<(u64, i64), ChainError> {
        let clock = self.harness.clock().await;
        Ok((clock.slot, clock.unix_timestamp))
    }

    async fn send(&mut self, instructions: &[Instruction], signer: &Keypair) -> Result<Sent, ChainError> {
        // The harness payer pays; the signer signs only where an instruction asks for it.
        let needed = instructions.iter().flat_map(|ix| &ix.accounts).any(|meta| meta.is_signer && meta.pubkey == signer.pubkey());
        let signers: &[&Keypair] = if needed { &[signer] } else { &[] };
        let outcome = self.harness.send(instructions, signers).await;
        Ok(Sent { compute_units: Some(outcome.compute_units), error: outcome.error })
    }
}

/// A JSON-RPC endpoint (solana-test-validator, devnet). The liquidator pays the fees.
pub struct RpcChain {
    pub client: solana_rpc_client::nonblocking::rpc_client::RpcClient,
}

impl RpcChain {
    pub fn new(url: &str) -> RpcChain {
        let commitment = solana_commitment_config::CommitmentConfig::confirmed();
        RpcChain { client: solana_rpc_client::nonblocking::rpc_client::RpcClient::new_with_commitment(url.to_string(), commitment) }
    }
}

fn rpc_error(error: impl fmt::Display) -> ChainError {
    ChainError(error.to_string())
}

impl Chain for RpcChain {
    async fn program_accounts(&mut self, discriminator: &[u8], market: &Pubkey) -> Result<Vec<(Pubkey, Vec<u8>)>, ChainError> {
        use solana_account_decoder_client_types::UiAccountEncoding;
        use solana_rpc_client_types::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
        use solana_rpc_client_types::filter::{Memcmp, RpcFilterType};
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![
                RpcFilterType::Memcmp(Memcmp::new_raw_bytes(0, discriminator.to_vec())),
                RpcFilterType::Memcmp(Memcmp::new_raw_bytes(LENDING_MARKET_OFFSET, market.to_bytes().to_vec())),
            ]),
            account_config: RpcAccountInfoConfig { encoding: Some(UiAccountEncoding::Base64), ..Default::default() },
            ..Default::default()
        };
        let accounts =
            self.client.get_program_ui_accounts_with_config(&solvent_tests::program_id(), config).await.map_err(rpc_error)?;
        accounts
            .into_iter()
            .map(|(key, account)| account.data.decode().map(|data| (key, data)).ok_or_else(|| ChainError(format!("{key}: undecodable data"))))
            .collect()
    }

    async fn account_data(&mut self, key: &Pubkey) -> Result<Option<Vec<u8>>, ChainError> {
        let response =
            self.client.get_account_with_commitment(key, self.client.commitment()).await.map_err(rpc_error)?;
        Ok(response.value.map(|account| account.data))
    }

    async fn clock(&mut self) -> Result<(u64, i64), ChainError> {
        let data = self.account_data(&CLOCK_SYSVAR_ID).await?.ok_or_else(|| ChainError("no clock sysvar".into()))?;
        clock_from_sysvar(&data).ok_or_else(|| ChainError("short clock sysvar".into()))
    }

    async fn send(&mut self, instructions: &[Instruction], signer: &Keypair) -> Result<Sent, ChainError> {
        let blockhash = self.client.get_latest_blockhash().await.map_err(rpc_error)?;
        let tx = solana_transaction::Transaction::new_signed_with_payer(instructions, Some(&signer.pubkey()), &[signer], blockhash);
        match self.client.send_and_confirm_transaction(&tx).await {
            Ok(_) => Ok(Sent::default()),
            Err(error) => Ok(Sent { compute_units: None, error: Some(error.to_string()) }),
        }
    }
}

/// (slot, unix_timestamp) from the Clock sysvar's bincode layout: slot, epoch_start_timestamp,
/// epoch, leader_schedule_epoch, unix_timestamp.
pub fn clock_from_sysvar(data: &[u8]) -> Option<(u64, i64)> {
    let slot = u64::from_le_bytes(data.get(0..8)?.try_into().ok()?);
    let now = i64::from_le_bytes(data.get(32..40)?.try_into().ok()?);
    Some((slot, now))
}

/// A reserve as the next refresh in this slot will book it.
#[derive(Clone)]
pub struct ReserveView {
    pub accounts: TestReserve,
    pub state: Reserve,
    /// Why the oracle cannot be used now (stale, too uncertain, ...): obligations holding this
    /// reserve cannot be refreshed, so they are skipped.
    pub price_error: Option<LendingError>,
}

/// The market, its reserves and the clock the keeper values everything at.
pub struct MarketView {
    pub market: TestMarket,
    pub state: LendingMarket,
    pub reserves: BTreeMap<Pubkey, ReserveView>,
    pub slot: u64,
    pub now: i64,
}

/// The best liquidation of one obligation now: which debt to repay, which collateral to take.
#[derive(Clone, Copy, Debug)]
pub struct Opportunity {
    pub repay_reserve: Pubkey,
    pub withdraw_reserve: Pubkey,
    /// The program's own sizing of the call (`quote_liquidation`, as `liquidate` runs it).
    pub quote: LiquidationQuote,
    /// Quote value of the repayment at spot, rounded up.
    pub repay_value: Wad,
    /// Quote value at spot of what the liquidator receives (tokens, and shares at their
    /// redemption value), after the protocol's share, rounded down.
    pub received_value: Wad,
}

impl Opportunity {
    pub fn profit(&self) -> Wad {
        self.received_value.checked_sub(self.repay_value).unwrap_or(Wad::ZERO)
    }
}

/// One obligation revalued at the view's prices.
#[derive(Clone)]
pub struct Assessment {
    pub obligation: Pubkey,
    pub state: Obligation,
    pub values: ObligationValues,
    pub best: Option<Opportunity>,
}

impl Assessment {
    pub fn is_unhealthy(&self) -> bool {
        self.values.is_unhealthy()
    }

    /// Debt and no collateral left: nothing to liquidate, only to write off.
    pub fn is_bad_debt(&self) -> bool {
        self.state.deposit_count() == 0 && self.state.has_borrows()
    }
}

/// Every obligation of the market with debt, revalued.
pub struct Scan {
    pub view: MarketView,
    pub obligations: usize,
    pub assessments: Vec<Assessment>,
    /// Obligations that cannot be valued now (a reserve's price is unusable), with the reason.
    pub skipped: Vec<(Pubkey, LendingError)>,
}

impl Scan {
    pub fn unhealthy(&self) -> impl Iterator<Item = &Assessment> {
        self.assessments.iter().filter(|a| a.is_unhealthy() || a.is_bad_debt())
    }
}

/// One liquidation transaction.
#[derive(Clone, Debug)]
pub struct LiquidationCall {
    pub repay_reserve: Pubkey,
    pub withdraw_reserve: Pubkey,
    /// Tokens that left the liquidator's account, and that arrived in it.
    pub repaid: u64,
    pub received: u64,
    /// Share tokens of the withdraw reserve received for what its idle liquidity could not pay.
    pub received_shares: u64,
    pub bonus_bps: u64,
    pub compute_units: Option<u64>,
}

/// What the keeper did to one obligation in a pass.
#[derive(Clone, Debug)]
pub struct ObligationOutcome {
    pub obligation: Pubkey,
    /// Values and best bonus when the pass found it unhealthy.
    pub found_values: ObligationValues,
    pub found_bonus_bps: u64,
    pub calls: Vec<LiquidationCall>,
    /// Debt written off, per reserve (base units, Wad), and its quote value.
    pub written_off: Vec<(Pubkey, Wad)>,
    pub written_off_value: Wad,
    pub error: Option<String>,
}

/// A pass over the market: what was found and what was done.
#[derive(Clone, Debug, Default)]
pub struct PassReport {
    pub slot: u64,
    pub now: i64,
    pub obligations: usize,
    pub with_debt: usize,
    pub unhealthy: usize,
    pub skipped: usize,
    pub liquidated: usize,
    pub calls: usize,
    pub failed: usize,
    pub written_off: usize,
    pub repaid_value: Wad,
    pub received_value: Wad,
    pub bad_debt_value: Wad,
    pub compute_units: u64,
    /// Liquidations paid (partly) in share tokens, and share tokens redeemed this pass.
    pub paid_in_shares: usize,
    pub shares_redeemed: Vec<ShareRedemption>,
    /// Unhealthy obligations a fresh scan still finds after the pass.
    pub unhealthy_after: usize,
    pub outcomes: Vec<ObligationOutcome>,
}

impl PassReport {
    fn add(&mut self, view: &MarketView, outcome: ObligationOutcome) {
        self.calls += outcome.calls.len();
        self.failed += usize::from(outcome.error.is_some());
        self.written_off += usize::from(!outcome.written_off.is_empty());
        self.bad_debt_value = self.bad_debt_value.checked_add(outcome.written_off_value).unwrap_or(self.bad_debt_value);
        for call in &outcome.calls {
            self.compute_units += call.compute_units.unwrap_or(0);
            self.paid_in_shares += usize::from(call.received_shares > 0);
            let repay = &view.reserves[&call.repay_reserve].state;
            let withdraw = &view.reserves[&call.withdraw_reserve].state;
            let repaid = repay.market_value(Wad::from_u64(call.repaid), Rounding::Up).unwrap_or_default();
            let shares_value = withdraw.liquidity_for_shares(call.received_shares, Rounding::Down).unwrap_or_default();
            let received_amount = Wad::from_u64(call.received).checked_add(shares_value).unwrap_or_default();
            let received = withdraw.market_value(received_amount, Rounding::Down).unwrap_or_default();
            self.repaid_value = self.repaid_value.checked_add(repaid).unwrap_or(self.repaid_value);
            self.received_value = self.received_value.checked_add(received).unwrap_or(self.received_value);
        }
        self.outcomes.push(outcome);
    }
}

impl fmt::Display for PassReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} obligations, {} with debt, {} liquidatable; liquidated {} in {} calls ({} failed, {} paid in shares), repaid ${:.2} for ${:.2} of collateral; {} share redemptions; {} written off (${:.2} bad debt); {} still liquidatable",
            self.obligations,
            self.with_debt,
            self.unhealthy,
            self.liquidated,
            self.calls,
            self.failed,
            self.paid_in_shares,
            solvent_tests::wad_to_f64(self.repaid_value),
            solvent_tests::wad_to_f64(self.received_value),
            self.shares_redeemed.len(),
            self.written_off,
            solvent_tests::wad_to_f64(self.bad_debt_value),
            self.unhealthy_after,
        )
    }
}

/// SPL Token account balance, from its data.
pub fn token_amount(data: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(64..72)?.try_into().ok()?))
}

/// Revalues `obligation` as refresh_obligation would at the view's prices, and finds its best
/// liquidation when it is unhealthy.
pub fn assess(view: &MarketView, key: Pubkey, obligation: &Obligation, accepts_shares: impl Fn(&Pubkey) -> bool) -> Result<Assessment, LendingError> {
    let mut state = *obligation;
    let values = state.revalue(|_, reserve| -> Result<&Reserve, LendingError> {
        let found = view.reserves.get(&solvent_tests::from_anchor(reserve)).ok_or(LendingError::ObligationReservesMismatch)?;
        match found.price_error {
            Some(error) => Err(error),
            None => Ok(&found.state),
        }
    })?;
    state.finish_refresh(&values, view.now, view.slot);
    let best = if values.is_unhealthy() { best_opportunity(view, &state, accepts_shares) } else { None };
    Ok(Assessment { obligation: key, state, values, best })
}

/// Of every (debt, collateral) pair, the liquidation that pays the liquidator most, as the
/// program sizes it now (`quote_liquidation`). `accepts_shares(reserve)`: the liquidator can
/// take that reserve's collateral as share tokens.
fn best_opportunity(
    view: &MarketView,
    obligation: &Obligation,
    accepts_shares: impl Fn(&Pubkey) -> bool,
) -> Option<Opportunity> {
    let mut best: Option<Opportunity> = None;
    for (borrow_slot, borrow) in obligation.borrows[..obligation.borrow_count()].iter().enumerate() {
        let repay_key = solvent_tests::from_anchor(&borrow.borrow_reserve);
        let repay = &view.reserves.get(&repay_key)?.state;
        for (deposit_index, deposit) in obligation.deposits[..obligation.deposit_count()].iter().enumerate() {
            let withdraw_key = solvent_tests::from_anchor(&deposit.deposit_reserve);
            let withdraw = &view.reserves.get(&withdraw_key)?.state;
            let request = LiquidationRequest {
                borrow_slot,
                deposit_index,
                max_repay: u64::MAX,
                now: view.now,
                accept_shares: accepts_shares(&withdraw_key),
                same_reserve: repay_key == withdraw_key,
            };
            let Ok(quote) = quote_liquidation(&view.state, obligation, repay, withdraw, request) else { continue };
            let Ok(shares_value) = withdraw.liquidity_for_shares(quote.payout.shares, Rounding::Down) else { continue };
            let received = Wad::from_u64(quote.payout.tokens).checked_add(shares_value)?;
            let (Ok(repay_value), Ok(received_value)) = (
                repay.market_value(Wad::from_u64(quote.plan.repay_amount), Rounding::Up),
                withdraw.market_value(received, Rounding::Down),
            ) else {
                continue;
            };
            let candidate = Opportunity { repay_reserve: repay_key, withdraw_reserve: withdraw_key, quote, repay_value, received_value };
            if best.is_none_or(|b| candidate.profit() > b.profit()) {
                best = Some(candidate);
            }
        }
    }
    best
}

/// Share tokens the keeper redeemed for liquidity.
#[derive(Clone, Debug)]
pub struct ShareRedemption {
    pub reserve: Pubkey,
    pub shares: u64,
    pub received: u64,
}

/// A liquidator with token accounts for the market's assets.
pub struct Keeper {
    pub market: Pubkey,
    pub liquidator: Keypair,
    /// The liquidator's token account per mint: where repayments come from and seized
    /// collateral goes.
    pub token_accounts: BTreeMap<Pubkey, Pubkey>,
    /// Most liquidation calls on one obligation in one pass.
    pub max_calls_per_obligation: usize,
    /// Liquidations paying less than this (quote value) are left alone.
    pub min_profit_value: Wad,
    /// Print a line per action while running.
    pub verbose: bool,
}

impl Keeper {
    pub fn new(market: Pubkey, liquidator: Keypair, token_accounts: BTreeMap<Pubkey, Pubkey>) -> Keeper {
        Keeper { market, liquidator, token_accounts, max_calls_per_obligation: 1_000, min_profit_value: Wad::ZERO, verbose: true }
    }

    fn say(&self, line: impl fmt::Display) {
        if self.verbose {
            println!("keeper: {line}");
        }
    }

    /// The market and every reserve, refreshed (on copies) to the current slot and time.
    pub async fn view(&self, chain: &mut impl Chain) -> Result<MarketView, ChainError> {
        let (slot, now) = chain.clock().await?;
        let data = chain.account_data(&self.market).await?.ok_or_else(|| ChainError(format!("no market account {}", self.market)))?;
        let state = LendingMarket::try_deserialize(&mut data.as_slice()).map_err(rpc_error)?;
        let market = TestMarket { market: self.market, authority: solvent_tests::from_anchor(&state.authority), owner: solvent_tests::from_anchor(&state.owner) };
        let mut reserves = BTreeMap::new();
        for (key, data) in chain.program_accounts(Reserve::DISCRIMINATOR, &self.market).await? {
            let Some(reserve) = decode::<Reserve>(&data) else { continue };
            let view = self.reserve_view(chain, key, reserve, slot, now).await?;
            reserves.insert(key, view);
        }
        Ok(MarketView { market, state, reserves, slot, now })
    }

    async fn reserve_view(&self, chain: &mut impl Chain, key: Pubkey, mut state: Reserve, slot: u64, now: i64) -> Result<ReserveView, ChainError> {
        let oracle = solvent_tests::from_anchor(&state.oracle);
        let accounts = TestReserve {
            reserve: key,
            mint: solvent_tests::from_anchor(&state.liquidity_mint),
            vault: solvent_tests::from_anchor(&state.liquidity_vault),
            fee_vault: solvent_tests::from_anchor(&state.fee_vault),
            collateral_mint: solvent_tests::from_anchor(&state.collateral_mint),
            oracle,
            decimals: state.liquidity_decimals,
        };
        let oracle_data = chain.account_data(&oracle).await?.unwrap_or_default();
        let config = state.config;
        let price = read_price(state.oracle_source, &oracle_data, &state.price_feed_id, now, config.max_price_age_secs, config.max_confidence_bps)
            .and_then(|price| state.refresh(&price, now, slot));
        Ok(ReserveView { accounts, state, price_error: price.err() })
    }

    /// Every obligation of the market, revalued; those with debt are kept.
    pub async fn scan(&self, chain: &mut impl Chain) -> Result<Scan, ChainError> {
        let view = self.view(chain).await?;
        let accounts = chain.program_accounts(Obligation::DISCRIMINATOR, &self.market).await?;
        let mut assessments = Vec::new();
        let mut skipped = Vec::new();
        for (key, data) in &accounts {
            let Some(obligation) = decode::<Obligation>(data) else { continue };
            if !obligation.has_borrows() {
                continue;
            }
            match assess(&view, *key, &obligation, |reserve| self.share_account(&view, reserve).is_some()) {
                Ok(assessment) => assessments.push(assessment),
                Err(error) => skipped.push((*key, error)),
            }
        }
        Ok(Scan { view, obligations: accounts.len(), assessments, skipped })
    }

    /// One pass: scan, rank the unhealthy by expected profit, liquidate each until it is healthy
    /// (or write off what no collateral backs); then scan again, since a write-off lowers the
    /// share price of that reserve and with it other obligations' collateral, and repeat until a
    /// scan finds nothing to do (at most `MAX_ROUNDS` scans).
    pub async fn run_pass(&self, chain: &mut impl Chain) -> Result<PassReport, ChainError> {
        const MAX_ROUNDS: usize = 8;
        let mut report = PassReport::default();
        let mut found = std::collections::BTreeSet::new();
        let mut scan = self.scan(chain).await?;
        (report.slot, report.now, report.obligations) = (scan.view.slot, scan.view.now, scan.obligations);
        report.with_debt = scan.assessments.len() + scan.skipped.len();
        report.skipped = scan.skipped.len();
        for round in 1..=MAX_ROUNDS {
            let mut queue: Vec<Assessment> = scan.unhealthy().cloned().collect();
            if queue.is_empty() {
                break;
            }
            queue.sort_by_key(|a| std::cmp::Reverse(a.best.map(|b| b.profit()).unwrap_or(Wad::ZERO)));
            found.extend(queue.iter().map(|a| a.obligation));
            self.say(format_args!("slot {}, round {round}: {} obligations with debt, {} liquidatable", report.slot, report.with_debt, queue.len()));
            let mut view = scan.view;
            for assessment in queue {
                let outcome = self.work_obligation(chain, &mut view, &assessment).await?;
                report.add(&view, outcome);
            }
            scan = self.scan(chain).await?;
        }
        report.unhealthy = found.len();
        report.liquidated = report.outcomes.iter().filter(|o| !o.calls.is_empty()).map(|o| o.obligation).collect::<std::collections::BTreeSet<_>>().len();
        report.unhealthy_after = scan.unhealthy().count();
        report.shares_redeemed = self.redeem_shares(chain, &scan.view).await?;
        self.say(&report);
        Ok(report)
    }

    /// Liquidates one obligation call by call until it is healthy, nothing more can be taken,
    /// or the call limit is reached; writes off the debt once no collateral is left.
    async fn work_obligation(&self, chain: &mut impl Chain, view: &mut MarketView, found: &Assessment) -> Result<ObligationOutcome, ChainError> {
        let mut outcome = ObligationOutcome {
            obligation: found.obligation,
            found_values: found.values,
            found_bonus_bps: found.best.map(|b| b.quote.bonus_bps).unwrap_or(0),
            calls: Vec::new(),
            written_off: Vec::new(),
            written_off_value: Wad::ZERO,
            error: None,
        };
        let mut current = found.clone();
        for _ in 0..self.max_calls_per_obligation {
            if current.is_bad_debt() {
                self.write_off(chain, view, &current, &mut outcome).await?;
                break;
            }
            let Some(opportunity) = current.best.filter(|_| current.is_unhealthy()) else { break };
            if opportunity.profit() < self.min_profit_value {
                break;
            }
            match self.liquidate(chain, view, &current, &opportunity).await? {
                Ok(call) => {
                    let in_shares = if call.received_shares > 0 {
                        format!(" and {} in shares (its idle liquidity was short)", view.amount(&opportunity.withdraw_reserve, call.received_shares))
                    } else {
                        String::new()
                    };
                    self.say(format_args!(
                        "liquidated {}: repaid {} of mint {}, received {}{in_shares} of mint {} (bonus {:.2}%)",
                        short(&current.obligation),
                        view.amount(&opportunity.repay_reserve, call.repaid),
                        short(&view.reserves[&opportunity.repay_reserve].accounts.mint),
                        view.amount(&opportunity.withdraw_reserve, call.received),
                        short(&view.reserves[&opportunity.withdraw_reserve].accounts.mint),
                        call.bonus_bps as f64 / 100.0
                    ));
                    outcome.calls.push(call);
                }
                Err(error) => {
                    self.say(format_args!("liquidation of {} failed: {error}", current.obligation));
                    outcome.error = Some(error);
                    break;
                }
            }
            for key in [opportunity.repay_reserve, opportunity.withdraw_reserve] {
                self.reload_reserve(chain, view, key).await?;
            }
            let data = chain.account_data(&current.obligation).await?.ok_or_else(|| ChainError("obligation vanished".into()))?;
            let obligation = decode::<Obligation>(&data).ok_or_else(|| ChainError("obligation undecodable".into()))?;
            current = match assess(view, current.obligation, &obligation, |reserve| self.share_account(view, reserve).is_some()) {
                Ok(assessment) => assessment,
                Err(error) => {
                    outcome.error = Some(format!("cannot revalue: {error:?}"));
                    break;
                }
            };
        }
        Ok(outcome)
    }

    async fn reload_reserve(&self, chain: &mut impl Chain, view: &mut MarketView, key: Pubkey) -> Result<(), ChainError> {
        let data = chain.account_data(&key).await?.ok_or_else(|| ChainError("reserve vanished".into()))?;
        let state = decode::<Reserve>(&data).ok_or_else(|| ChainError("reserve undecodable".into()))?;
        let reloaded = self.reserve_view(chain, key, state, view.slot, view.now).await?;
        view.reserves.insert(key, reloaded);
        Ok(())
    }

    /// Refreshes the obligation's reserves and the obligation, then liquidates, in one transaction.
    async fn liquidate(
        &self,
        chain: &mut impl Chain,
        view: &MarketView,
        current: &Assessment,
        opportunity: &Opportunity,
    ) -> Result<Result<LiquidationCall, String>, ChainError> {
        let repay = &view.reserves[&opportunity.repay_reserve].accounts;
        let withdraw = &view.reserves[&opportunity.withdraw_reserve].accounts;
        let (Some(&source), Some(&destination)) = (self.token_accounts.get(&repay.mint), self.token_accounts.get(&withdraw.mint)) else {
            return Ok(Err(format!("the liquidator holds no token account for {} or {}", repay.mint, withdraw.mint)));
        };
        let balance = |data: Option<Vec<u8>>| data.as_deref().and_then(token_amount).unwrap_or(0);
        let shares_account = self.share_account(view, &opportunity.withdraw_reserve);
        let source_before = balance(chain.account_data(&source).await?);
        let destination_before = balance(chain.account_data(&destination).await?);
        let shares_before = match shares_account {
            Some(account) => balance(chain.account_data(&account).await?),
            None => 0,
        };
        let amount = opportunity.quote.plan.repay_amount.min(source_before);
        if amount == 0 {
            return Ok(Err(format!("the liquidator has no {} to repay with", repay.mint)));
        }
        let mut instructions = self.refresh_instructions(view, current);
        let liquidate = liquidate_with_shares_ix(
            &view.market,
            &current.obligation,
            &self.liquidator.pubkey(),
            repay,
            &source,
            withdraw,
            &destination,
            amount,
            shares_account.as_ref(),
        );
        instructions.push(with_position_reserves(liquidate, &current.state));
        let sent = chain.send(&instructions, &self.liquidator).await?;
        if let Some(error) = sent.error {
            return Ok(Err(error));
        }
        let repaid = source_before.saturating_sub(balance(chain.account_data(&source).await?));
        let received = balance(chain.account_data(&destination).await?).saturating_sub(destination_before);
        let received_shares = match shares_account {
            Some(account) => balance(chain.account_data(&account).await?).saturating_sub(shares_before),
            None => 0,
        };
        Ok(Ok(LiquidationCall {
            repay_reserve: opportunity.repay_reserve,
            withdraw_reserve: opportunity.withdraw_reserve,
            repaid,
            received,
            received_shares,
            bonus_bps: opportunity.quote.bonus_bps,
            compute_units: sent.compute_units,
        }))
    }

    /// The liquidator's share-token account for a reserve, if it keeps one.
    fn share_account(&self, view: &MarketView, reserve: &Pubkey) -> Option<Pubkey> {
        let accounts = &view.reserves.get(reserve)?.accounts;
        self.token_accounts.get(&accounts.collateral_mint).copied()
    }

    /// Redeems the share tokens the keeper holds (from liquidations paid in shares) for as much
    /// liquidity as each reserve has idle now; the rest waits for a later pass.
    pub async fn redeem_shares(&self, chain: &mut impl Chain, view: &MarketView) -> Result<Vec<ShareRedemption>, ChainError> {
        let mut redeemed = Vec::new();
        if view.state.paused {
            return Ok(redeemed);
        }
        for (key, reserve) in &view.reserves {
            let (Some(shares_account), Some(&destination)) =
                (self.share_account(view, key), self.token_accounts.get(&reserve.accounts.mint))
            else {
                continue;
            };
            let held = chain.account_data(&shares_account).await?.as_deref().and_then(token_amount).unwrap_or(0);
            if held == 0 {
                continue;
            }
            let Ok(covered) = reserve.state.shares_for_amount(reserve.state.available_amount, Rounding::Down) else { continue };
            let shares = held.min(covered);
            if shares == 0 || reserve.state.redeem_amount(shares).unwrap_or(0) == 0 {
                continue;
            }
            let before = chain.account_data(&destination).await?.as_deref().and_then(token_amount).unwrap_or(0);
            let ix = redeem_reserve_collateral_ix(&view.market, &reserve.accounts, &self.liquidator.pubkey(), &shares_account, &destination, shares);
            let sent = chain.send(&[ix], &self.liquidator).await?;
            if let Some(error) = sent.error {
                self.say(format_args!("redeeming {shares} shares of {} failed: {error}", short(key)));
                continue;
            }
            let after = chain.account_data(&destination).await?.as_deref().and_then(token_amount).unwrap_or(0);
            let received = after.saturating_sub(before);
            self.say(format_args!("redeemed {} shares of reserve {} for {}", view.amount(key, shares), short(key), view.amount(key, received)));
            redeemed.push(ShareRedemption { reserve: *key, shares, received });
        }
        Ok(redeemed)
    }

    fn refresh_instructions(&self, view: &MarketView, current: &Assessment) -> Vec<Instruction> {
        let reserves = obligation_reserves(&current.state);
        let mut instructions: Vec<Instruction> = Vec::new();
        let mut refreshed: Vec<Pubkey> = Vec::new();
        for key in &reserves {
            if !refreshed.contains(key) {
                refreshed.push(*key);
                instructions.push(refresh_reserve_ix(&view.reserves[key].accounts));
            }
        }
        instructions.push(refresh_obligation_ix(&current.obligation, &reserves));
        instructions
    }

    /// Writes off every debt of an obligation that has no collateral left, in one transaction.
    async fn write_off(&self, chain: &mut impl Chain, view: &MarketView, current: &Assessment, outcome: &mut ObligationOutcome) -> Result<(), ChainError> {
        let borrows = &current.state.borrows[..current.state.borrow_count()];
        let instructions: Vec<Instruction> = borrows
            .iter()
            .map(|b| write_off_bad_debt_ix(&view.market, &view.reserves[&solvent_tests::from_anchor(&b.borrow_reserve)].accounts, &current.obligation))
            .collect();
        let sent = chain.send(&instructions, &self.liquidator).await?;
        if let Some(error) = sent.error {
            self.say(format_args!("write-off of {} failed: {error}", current.obligation));
            outcome.error = Some(error);
            return Ok(());
        }
        for borrow in borrows {
            let reserve = solvent_tests::from_anchor(&borrow.borrow_reserve);
            let debt = borrow.borrowed_amount();
            let value = view.reserves[&reserve].state.market_value(debt, Rounding::Up).unwrap_or_default();
            outcome.written_off.push((reserve, debt));
            outcome.written_off_value = outcome.written_off_value.checked_add(value).unwrap_or(outcome.written_off_value);
        }
        self.say(format_args!(
            "wrote off {}: ${:.2} of debt with no collateral left",
            short(&current.obligation),
            solvent_tests::wad_to_f64(outcome.written_off_value)
        ));
        Ok(())
    }
}

/// The first characters of an address, for progress lines.
pub fn short(key: &Pubkey) -> String {
    let text = key.to_string();
    format!("{}…", &text[..8])
}

impl MarketView {
    /// `amount` base units of a reserve's token as a decimal number.
    pub fn amount(&self, reserve: &Pubkey, amount: u64) -> String {
        let decimals = self.reserves.get(reserve).map(|r| r.accounts.decimals).unwrap_or(0);
        crate::leverage::format_amount(amount as i128, decimals)
    }
}

/// A zero-copy account's state after its discriminator.
fn decode<T: bytemuck::Pod + Discriminator>(data: &[u8]) -> Option<T> {
    if !data.starts_with(T::DISCRIMINATOR) {
        return None;
    }
    let body = data.get(8..8 + std::mem::size_of::<T>())?;
    Some(bytemuck::pod_read_unaligned(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scan_filter_offset_is_the_lending_market_field() {
        assert_eq!(8 + std::mem::offset_of!(Obligation, lending_market), LENDING_MARKET_OFFSET);
        assert_eq!(8 + std::mem::offset_of!(Reserve, lending_market), LENDING_MARKET_OFFSET);
    }

    #[test]
    fn the_clock_sysvar_is_read_at_its_bincode_offsets() {
        // Clock { slot, epoch_start_timestamp, epoch, leader_schedule_epoch, unix_timestamp }, as
        // the runtime writes it: five little-endian 8-byte fields.
        let fields: [u64; 5] = [7, 1, 2, 3, 1_750_000_123];
        let data: Vec<u8> = fields.iter().flat_map(|f| f.to_le_bytes()).collect();
        assert_eq!(clock_from_sysvar(&data), Some((7, 1_750_000_123)));
        assert_eq!(clock_from_sysvar(&data[..39]), None);
    }
}
