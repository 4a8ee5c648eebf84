//! The liquidation keeper: scans every obligation of a market, revalues each with the program's
//! own state methods (`Reserve::refresh`, `Obligation::revalue`, `quote_deleverage`), ranks
//! what it may execute by expected profit (liquidations, the owners' triggered orders and
//! soft-zone deleverages: `best_deleverage`), executes them, and writes off the debt of
//! obligations left without collateral. An order's or a soft zone's bonus auction starts at
//! the first on-chain refresh that finds it: the keeper sends that refresh alone ("arms" it)
//! and executes once the bonus pays. Where a collateral reserve's idle liquidity is short
//! it takes the seized collateral as share tokens (when it holds a share account for that
//! reserve) and redeems them in later passes, once liquidity is back.
//!
//! It talks to the chain through `Chain`: `InProcessChain` (the embedded solana-program-test bank
//! of the tests and the demo) and `RpcChain` (a JSON-RPC URL: localnet or devnet) run the same
//! keeper logic.
use anchor_lang::Discriminator;
use solvent::errors::LendingError;
use solvent::math::{Rounding, Wad};
use solvent::state::{Obligation, ObligationValues};
use solvent_client::{
    best_deleverage, decode_obligation, execute_obligation_order_ix, liquidate_with_shares_ix, soft_deleverage_ix, Deleverage, redeem_reserve_collateral_ix, short, token_amount, wad_to_f64,
    with_position_reserves, write_off_bad_debt_ix, Instruction, Keypair, Pubkey, Signer,
};
pub use solvent_client::{Chain, ChainError, MarketView, Opportunity, ReserveView, RpcChain, Sent};
use std::collections::BTreeMap;
use std::fmt;

/// One obligation revalued at the view's prices.
#[derive(Clone)]
pub struct Assessment {
    pub obligation: Pubkey,
    pub state: Obligation,
    pub values: ObligationValues,
    pub best: Option<Opportunity>,
    /// The next refresh starts an order's or the soft zone's bonus clock (on chain it is not
    /// running yet), or stops one whose condition no longer holds (a clock left running while
    /// nobody refreshed would pay its bonus at once when the condition came back).
    pub needs_arming: bool,
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

    /// What the keeper acts on: the unhealthy, the bad debt, and obligations with a triggered
    /// order or in a soft zone that pays now.
    pub fn actionable(&self) -> impl Iterator<Item = &Assessment> {
        self.assessments.iter().filter(|a| a.is_unhealthy() || a.is_bad_debt() || a.best.is_some_and(|b| b.profit() > Wad::ZERO))
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
    /// A liquidation, an order execution or a soft deleverage.
    pub mode: Deleverage,
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
    /// Of the written-off value, what the reserves' insurance funds paid (the rest fell on
    /// depositors).
    pub insurance_paid_value: Wad,
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
    /// Of the bad debt, what insurance funds paid.
    pub insurance_paid_value: Wad,
    pub compute_units: u64,
    /// Liquidations paid (partly) in share tokens, and share tokens redeemed this pass.
    pub paid_in_shares: usize,
    pub shares_redeemed: Vec<ShareRedemption>,
    /// Calls that executed an owner's order, and soft-zone deleverages.
    pub orders_executed: usize,
    pub soft_deleverages: usize,
    /// Obligations whose order or soft-zone clock a refresh started or stopped this pass.
    pub armed: usize,
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
        self.insurance_paid_value = self.insurance_paid_value.checked_add(outcome.insurance_paid_value).unwrap_or(self.insurance_paid_value);
        for call in &outcome.calls {
            self.compute_units += call.compute_units.unwrap_or(0);
            self.paid_in_shares += usize::from(call.received_shares > 0);
            self.orders_executed += usize::from(matches!(call.mode, Deleverage::Order(_)));
            self.soft_deleverages += usize::from(call.mode == Deleverage::Soft);
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
            "{} obligations, {} with debt, {} liquidatable; liquidated {} in {} calls ({} orders executed, {} soft deleverages, {} clocks started or stopped; {} failed, {} paid in shares), repaid ${:.2} for ${:.2} of collateral; {} share redemptions; {} written off (${:.2} bad debt, ${:.2} of it paid by insurance); {} still liquidatable",
            self.obligations,
            self.with_debt,
            self.unhealthy,
            self.liquidated,
            self.calls,
            self.orders_executed,
            self.soft_deleverages,
            self.armed,
            self.failed,
            self.paid_in_shares,
            wad_to_f64(self.repaid_value),
            wad_to_f64(self.received_value),
            self.shares_redeemed.len(),
            self.written_off,
            wad_to_f64(self.bad_debt_value),
            wad_to_f64(self.insurance_paid_value),
            self.unhealthy_after,
        )
    }
}

/// Revalues `obligation` as refresh_obligation would at the view's prices, and finds the best
/// call anyone may execute on it (a liquidation, a triggered order, a soft deleverage).
pub fn assess(view: &MarketView, key: Pubkey, obligation: &Obligation, accepts_shares: impl Fn(&Pubkey) -> bool) -> Result<Assessment, LendingError> {
    let (state, values) = view.refresh_obligation(obligation)?;
    let best = best_deleverage(view, &state, accepts_shares);
    // A clock the next refresh starts (an order's trigger or the zone found) or stops (no longer).
    let turns = |was: i64, now: i64| (was == 0) != (now == 0);
    let needs_arming = obligation.orders.iter().zip(&state.orders).any(|(was, now)| turns(was.triggered_since, now.triggered_since))
        || turns(obligation.soft_zone_since, state.soft_zone_since);
    Ok(Assessment { obligation: key, state, values, best, needs_arming })
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
        MarketView::load(chain, &self.market).await
    }

    /// Every obligation of the market, revalued; those with debt are kept.
    pub async fn scan(&self, chain: &mut impl Chain) -> Result<Scan, ChainError> {
        let view = self.view(chain).await?;
        let accounts = chain.program_accounts(Obligation::DISCRIMINATOR, &self.market).await?;
        let mut assessments = Vec::new();
        let mut skipped = Vec::new();
        for (key, data) in &accounts {
            let Some(obligation) = decode_obligation(data) else { continue };
            if !obligation.has_borrows() {
                continue;
            }
            match self.assess(&view, *key, &obligation) {
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
        report.armed = self.arm_clocks(chain, &scan).await?;
        for round in 1..=MAX_ROUNDS {
            let mut queue: Vec<Assessment> = scan.actionable().cloned().collect();
            if queue.is_empty() {
                break;
            }
            queue.sort_by_key(|a| std::cmp::Reverse(a.best.map(|b| b.profit()).unwrap_or(Wad::ZERO)));
            found.extend(queue.iter().filter(|a| a.is_unhealthy() || a.is_bad_debt()).map(|a| a.obligation));
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
            insurance_paid_value: Wad::ZERO,
            error: None,
        };
        let mut current = found.clone();
        for _ in 0..self.max_calls_per_obligation {
            if current.is_bad_debt() {
                self.write_off(chain, view, &current, &mut outcome).await?;
                break;
            }
            let Some(opportunity) = current.best else { break };
            // A liquidation's bonus is never zero; an order's or a soft call's starts at zero
            // and is worth executing only once it pays.
            if opportunity.profit() < self.min_profit_value || (opportunity.mode != Deleverage::Liquidation && opportunity.profit().is_zero()) {
                break;
            }
            match self.liquidate(chain, view, &current, &opportunity).await? {
                Ok(call) => {
                    let in_shares = if call.received_shares > 0 {
                        format!(" and {} in shares (its idle liquidity was short)", view.amount(&opportunity.withdraw_reserve, call.received_shares))
                    } else {
                        String::new()
                    };
                    let verb = match call.mode {
                        Deleverage::Liquidation => "liquidated".to_string(),
                        Deleverage::Order(index) => format!("executed order {index} of"),
                        Deleverage::Soft => "soft-deleveraged".to_string(),
                    };
                    self.say(format_args!(
                        "{verb} {}: repaid {} of mint {}, received {}{in_shares} of mint {} (bonus {:.2}%)",
                        short(&current.obligation),
                        view.amount(&opportunity.repay_reserve, call.repaid),
                        short(&view.reserves[&opportunity.repay_reserve].keys.mint),
                        view.amount(&opportunity.withdraw_reserve, call.received),
                        short(&view.reserves[&opportunity.withdraw_reserve].keys.mint),
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
                view.reload_reserve(chain, &key).await?;
            }
            let obligation = chain.obligation(&current.obligation).await?;
            current = match self.assess(view, current.obligation, &obligation) {
                Ok(assessment) => assessment,
                Err(error) => {
                    outcome.error = Some(format!("cannot revalue: {error:?}"));
                    break;
                }
            };
        }
        Ok(outcome)
    }

    /// Refreshes the obligation's reserves and the obligation, then executes `opportunity` (a
    /// liquidation, an order or a soft deleverage), in one transaction, repaying at most
    /// `opportunity.quote.plan.repay_amount` and what the liquidator's account holds. The risk
    /// console's liquidators call it with their own, smaller sizes.
    pub async fn liquidate(
        &self,
        chain: &mut impl Chain,
        view: &MarketView,
        current: &Assessment,
        opportunity: &Opportunity,
    ) -> Result<Result<LiquidationCall, String>, ChainError> {
        let repay = &view.reserves[&opportunity.repay_reserve].keys;
        let withdraw = &view.reserves[&opportunity.withdraw_reserve].keys;
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
        let (keys, obligation, executor, shares) = (&view.keys, &current.obligation, &self.liquidator.pubkey(), shares_account.as_ref());
        let liquidate = match opportunity.mode {
            Deleverage::Liquidation => liquidate_with_shares_ix(keys, obligation, executor, repay, &source, withdraw, &destination, amount, shares),
            Deleverage::Order(index) => {
                execute_obligation_order_ix(keys, obligation, executor, repay, &source, withdraw, &destination, index as u8, amount, shares)
            }
            Deleverage::Soft => soft_deleverage_ix(keys, obligation, executor, repay, &source, withdraw, &destination, amount, shares),
        };
        let instructions = view.refresh_then(&current.obligation, &current.state, liquidate);
        let sent = chain.send(&instructions, &[&self.liquidator]).await?;
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
            mode: opportunity.mode,
        }))
    }

    /// Sends the refresh sequence alone for every obligation whose order trigger or soft zone
    /// the next refresh finds first (on chain that starts its bonus clock, which an execution at
    /// zero bonus would otherwise have to) or no longer finds (that stops it). Returns how many.
    async fn arm_clocks(&self, chain: &mut impl Chain, scan: &Scan) -> Result<usize, ChainError> {
        let mut armed = 0;
        for assessment in scan.assessments.iter().filter(|a| a.needs_arming && !a.is_unhealthy()) {
            let original = chain.obligation(&assessment.obligation).await?;
            let keys: Vec<&solvent_client::ReserveKeys> = scan.view.reserves.values().map(|r| &r.keys).collect();
            let refresh = solvent_client::refresh_obligation_sequence(&assessment.obligation, &original, &keys);
            let sent = chain.send(&refresh, &[&self.liquidator]).await?;
            match sent.error {
                None => {
                    armed += 1;
                    self.say(format_args!("refreshed {}: its order or soft-zone bonus clock starts or stops now", short(&assessment.obligation)));
                }
                Some(error) => self.say(format_args!("arming {} failed: {error}", short(&assessment.obligation))),
            }
        }
        Ok(armed)
    }

    /// `assess` for this liquidator: it takes seized collateral as share tokens where it keeps a
    /// share account for that reserve.
    pub fn assess(&self, view: &MarketView, key: Pubkey, obligation: &Obligation) -> Result<Assessment, LendingError> {
        assess(view, key, obligation, |reserve| self.share_account(view, reserve).is_some())
    }

    /// The liquidator's share-token account for a reserve, if it keeps one.
    fn share_account(&self, view: &MarketView, reserve: &Pubkey) -> Option<Pubkey> {
        let accounts = &view.reserves.get(reserve)?.keys;
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
                (self.share_account(view, key), self.token_accounts.get(&reserve.keys.mint))
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
            let ix = redeem_reserve_collateral_ix(&view.keys, &reserve.keys, &self.liquidator.pubkey(), &shares_account, &destination, shares);
            let sent = chain.send(&[ix], &[&self.liquidator]).await?;
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

    /// Writes off every debt of an obligation that has no collateral left, in one transaction.
    /// A reserve with an insurance fund pays first: the fund's payment is settled into the
    /// liquidity vault in the same transaction, and the outcome says how much each layer bore.
    pub async fn write_off(&self, chain: &mut impl Chain, view: &MarketView, current: &Assessment, outcome: &mut ObligationOutcome) -> Result<(), ChainError> {
        let borrows = &current.state.borrows[..current.state.borrow_count()];
        let mut instructions: Vec<Instruction> = borrows
            .iter()
            .map(|b| with_position_reserves(write_off_bad_debt_ix(&view.keys, &view.reserves[&solvent_client::from_anchor(&b.borrow_reserve)].keys, &current.obligation), &current.state))
            .collect();
        // The funds involved, as they stand before: one that holds something will pay and is settled.
        let mut funds = Vec::new();
        for borrow in borrows {
            let keys = &view.reserves[&solvent_client::from_anchor(&borrow.borrow_reserve)].keys;
            let Some((fund, _)) = keys.insurance else { continue };
            let Some(state) = chain.account_data(&fund).await?.as_deref().and_then(solvent_client::decode_insurance_fund) else { continue };
            // The program's own payment on a copy: settle only when the fund will owe something
            // (settle_insurance refuses nothing owed).
            let mut after = state;
            let _ = borrow.borrowed_amount().to_u64(Rounding::Up).map(|loss| after.absorb(loss));
            if after.owed_to_reserve > 0 {
                instructions.push(solvent_client::settle_insurance_ix(&view.keys, keys));
                funds.push((keys.reserve, fund, state.losses_paid_total));
            }
        }
        let sent = chain.send(&instructions, &[&self.liquidator]).await?;
        if let Some(error) = sent.error {
            self.say(format_args!("write-off of {} failed: {error}", current.obligation));
            outcome.error = Some(error);
            return Ok(());
        }
        for borrow in borrows {
            let reserve = solvent_client::from_anchor(&borrow.borrow_reserve);
            let debt = borrow.borrowed_amount();
            let value = view.reserves[&reserve].state.market_value(debt, Rounding::Up).unwrap_or_default();
            outcome.written_off.push((reserve, debt));
            outcome.written_off_value = outcome.written_off_value.checked_add(value).unwrap_or(outcome.written_off_value);
        }
        for (reserve, fund, paid_before) in funds {
            let paid_after = chain.account_data(&fund).await?.as_deref().and_then(solvent_client::decode_insurance_fund).map(|f| f.losses_paid_total).unwrap_or(paid_before);
            let value = view.reserves[&reserve].state.market_value(Wad::from_u64(paid_after.saturating_sub(paid_before)), Rounding::Down).unwrap_or_default();
            outcome.insurance_paid_value = outcome.insurance_paid_value.checked_add(value).unwrap_or(outcome.insurance_paid_value);
        }
        self.say(format_args!(
            "wrote off {}: ${:.2} of debt with no collateral left, ${:.2} of it paid by insurance funds",
            short(&current.obligation),
            wad_to_f64(outcome.written_off_value),
            wad_to_f64(outcome.insurance_paid_value)
        ));
        Ok(())
    }
}
