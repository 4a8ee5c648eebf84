//! A market on the built `.so` in the embedded runtime, driven through a scenario: each tick the
//! exogenous price moves, arbitrage pulls each venue toward it, the oracle publishes the venue's
//! lagged mid (and its EMA), the reserves are refreshed, depositors withdraw, and the
//! liquidators act on the keeper's own ranking within their capacity, latency and inventory,
//! each call only as large as selling the seized collateral into the venue still pays. Their
//! sales move the venue: that is the cascade.
use crate::scenario::{validate, LiquidatorSpec, MarketSpec, PathSpec, ReserveSpec, Scenario, VenueSpec, SLOT_SECS};
use anchor_lang::Discriminator;
use crate::venue::{Oracle, Venue};
use solvent::math::{Rounding, Wad};
use solvent::state::{Obligation, ReserveConfig};
use solvent_app::keeper::{Assessment, Keeper, ObligationOutcome, Scan};
use solana_account::Account;
use solvent_tests::*;
use std::collections::BTreeMap;

/// Every oracle price is written at this exponent.
pub const EXPO: i32 = -8;

/// An SPL Token account's bytes: initialized, `amount` of `mint` held by `owner`.
pub fn token_account_data(mint: &Pubkey, owner: &Pubkey, amount: u64) -> Vec<u8> {
    let mut data = vec![0u8; TOKEN_ACCOUNT_SIZE as usize];
    data[0..32].copy_from_slice(mint.as_ref());
    data[32..64].copy_from_slice(owner.as_ref());
    data[64..72].copy_from_slice(&amount.to_le_bytes());
    data[108] = 1;
    data
}

/// Dollars to Pyth units at `EXPO`.
pub fn to_price(dollars: f64) -> i64 {
    (dollars * 1e8).round() as i64
}

/// FNV-1a, to give each scenario and asset its own random stream from the market's seed.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x1_0000_0001_b3))
}

pub struct Agent {
    pub spec: LiquidatorSpec,
    pub keeper: Keeper,
    /// Dollars on hand to repay with.
    pub inventory: f64,
}

/// The market built from a spec, with every account as it stood after set-up (to run the next
/// scenario from the same start).
pub struct Sim {
    pub h: Harness,
    pub spec: MarketSpec,
    pub market: MarketKeys,
    pub reserves: Vec<ReserveKeys>,
    pub obligations: Vec<Pubkey>,
    pub agents: Vec<Agent>,
    lender: Keypair,
    lender_obligation: Pubkey,
    lender_accounts: Vec<Pubkey>,
    start_time: i64,
    snapshot: Vec<(Pubkey, Account)>,
    dirty: bool,
    /// Every obligation of the population as it is on chain. Only the simulation sends
    /// transactions, so it re-reads just the obligations its transactions touched; interest
    /// reaches them through the reserves, which every scan reads fresh.
    cache: BTreeMap<Pubkey, Obligation>,
    /// What the population may borrow at the start: Σ collateral value × its loan-to-value
    /// (dollars at the starting prices), the capital efficiency a sweep trades against bad debt.
    pub borrowing_power: f64,
    /// By reserve: the oracle source and pull feed id (a generated market: legacy Pyth), and
    /// the program that owns legacy price accounts.
    oracle_sources: Vec<(u8, [u8; 32])>,
    oracle_owner: Pubkey,
}

/// One tick of a run, for the charts.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Tick {
    pub secs: u64,
    /// By reserve: exogenous price, venue mid, oracle spot, oracle EMA.
    pub exogenous: Vec<f64>,
    pub venue: Vec<f64>,
    pub oracle: Vec<f64>,
    pub ema: Vec<f64>,
    pub liquidations: usize,
    pub repaid_value: f64,
    pub bad_debt_value: f64,
    /// Dollars the venue's price impact cost the liquidators this tick.
    pub slippage_value: f64,
    /// By reserve: idle liquidity as a share of the start's.
    pub idle_share: Vec<f64>,
    /// By reserve with a venue: what the liquidators' trades did to it this tick.
    pub flows: Vec<Option<Flow>>,
    pub lowest_health: f64,
}

/// The liquidators' trades in one venue in one tick: the pool before, what was sold into it
/// and bought from it (asset units), the mid after.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Flow {
    pub mid_before: f64,
    pub asset_before: f64,
    pub sold: f64,
    pub bought: f64,
    pub mid_after: f64,
}

impl Flow {
    /// The fall of the mid the trades caused.
    pub fn impact(&self) -> f64 {
        1.0 - self.mid_after / self.mid_before
    }
}

/// What a scenario did to the market.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Outcome {
    pub scenario: String,
    /// Obligations with debt at the start.
    pub obligations: usize,
    /// By reserve: the price before the first tick.
    pub start_prices: Vec<f64>,
    /// Debt written off (dollars, at the oracle when written off).
    pub bad_debt_value: f64,
    /// Debt still not covered by collateral at the end (positions nobody would liquidate).
    pub underwater_value: f64,
    /// By reserve: the depositors' loss (debt written off less what its insurance fund paid)
    /// in tokens, and as a share of their claims at the start.
    pub depositor_loss: Vec<(String, f64, f64)>,
    /// By reserve with an insurance fund: what the fund paid toward bad debt (tokens, dollars).
    pub insurance_paid: Vec<(String, f64, f64)>,
    pub liquidations: usize,
    pub liquidated_obligations: usize,
    pub liquidation_volume: f64,
    pub slippage_value: f64,
    /// Calls the program refused; and per tick, the liquidatable obligations every liquidator
    /// declined (no call on them paid after the venue's impact), summed over ticks.
    pub failed: usize,
    pub declined: usize,
    /// Calls executed that lost the liquidator money (the seizure sold for less than the
    /// repayment cost: slippage within the bonus, but the seizure priced at the EMA above spot).
    pub unprofitable: usize,
    /// Refreshes refused (a stale or frozen oracle).
    pub refresh_failures: usize,
    /// Largest fall of a venue's mid the liquidators' trades caused in one tick.
    pub peak_price_impact: f64,
    /// Largest discount of a venue's mid to the exogenous price (impact not yet arbitraged away).
    pub peak_venue_discount: f64,
    pub lowest_health: f64,
    /// By reserve: hours until idle liquidity could not serve the outflows (None: it always could).
    pub survival_hours: Vec<(String, Option<f64>)>,
    /// Health factors of the obligations with debt, before and after (capped at 3).
    pub health_before: Vec<f64>,
    pub health_after: Vec<f64>,
    pub ticks: Vec<Tick>,
}

fn health_of(a: &Assessment) -> f64 {
    a.values.health_factor().map(|w| wad_to_f64(w).min(3.0)).unwrap_or(3.0)
}

impl Sim {
    /// Builds the market on a fresh embedded runtime: reserves, the lender's supply, the seeded
    /// population (each obligation opened by deposit and borrow transactions through the
    /// program), the liquidators. `progress` is told each obligation opened.
    pub async fn build(spec: &MarketSpec, progress: &dyn Fn(usize)) -> Result<Sim, String> {
        validate(spec)?;
        let mut h = start_harness().await;
        let mut rng = Rng(spec.seed);
        let owner = rng.keypair();
        h.fund(&owner.pubkey(), 100_000_000_000).await;
        let (market, _) = h.init_market_at(&owner, rng.keypair()).await;
        h.must_send(&[set_liquidation_limits_ix(&market, &owner.pubkey(), spec.liquidation_cap_value, spec.dust_value, spec.protocol_share_bps)], &[&owner]).await;
        let now = h.now().await;
        let mut reserves = Vec::new();
        for r in &spec.reserves {
            let mint = h.create_mint_at(r.decimals, rng.keypair()).await;
            let oracle = rng.keypair().pubkey();
            h.set_price_at(&oracle, to_price(r.price), 0, EXPO, now, PriceStatus::Trading);
            let base = if r.stable { usdc_config() } else { sol_config() };
            let config = ReserveConfig {
                loan_to_value_bps: r.loan_to_value_bps,
                liquidation_threshold_bps: r.liquidation_threshold_bps,
                liquidation_bonus_bps: r.liquidation_bonus_bps,
                max_liquidation_bonus_bps: r.max_liquidation_bonus_bps,
                liquidation_bonus_ramp_secs: r.liquidation_bonus_ramp_secs,
                ..base
            };
            let sent = h.send(&[init_reserve_ix(&market, &owner.pubkey(), &mint, &oracle, config)], &[&owner]).await;
            let code = sent.lending_error();
            if let Some(error) = sent.error {
                return Err(match code {
                    Some(code) => format!("listing {} failed: the program refused it with {code:?}", r.name),
                    None => format!("listing {} failed: {error:?}", r.name),
                });
            }
            let mut keys = ReserveKeys::derived(&market, mint, oracle, r.decimals);
            if r.insurance_value > 0.0 {
                // A fund staked by its own staker; a day's unstake cooldown, slashable in full.
                let sent = h.send(&[init_insurance_fund_ix(&market, &owner.pubkey(), &keys, 86_400, 10_000)], &[&owner]).await;
                if let Some(error) = sent.error {
                    return Err(format!("the insurance fund of {} failed: {error:?}", r.name));
                }
                keys = ReserveKeys::from_state(keys.reserve, &h.reserve(&keys.reserve).await);
                // Its own stream, so a fund leaves the population as it is without one.
                let mut fund_rng = Rng(spec.seed ^ fnv(&r.name) ^ 0x494E_5355_5241_4E43);
                let staker = fund_rng.keypair();
                h.set_account(&staker.pubkey(), &SYSTEM_PROGRAM_ID, vec![]);
                let amount = (r.insurance_value / r.price * 10f64.powi(r.decimals as i32)).floor() as u64;
                let source = fund_rng.keypair().pubkey();
                h.set_account(&source, &TOKEN_PROGRAM_ID, token_account_data(&mint, &staker.pubkey(), amount));
                let sent = h.send(&[stake_insurance_ix(&keys, &staker.pubkey(), &source, amount)], &[&staker]).await;
                if let Some(error) = sent.error {
                    return Err(format!("staking the insurance fund of {} failed: {error:?}", r.name));
                }
            }
            if let Some(dynamic) = r.dynamic_margin {
                let sent = h.send(&[set_dynamic_margin_ix(&market, &owner.pubkey(), &keys, dynamic.config())], &[&owner]).await;
                let code = sent.lending_error();
                if let Some(error) = sent.error {
                    return Err(format!("listing {} failed: its dynamic margin was refused with {}", r.name, code.map(|c| format!("{c:?}")).unwrap_or(error)));
                }
            }
            reserves.push(keys);
        }
        let lender = rng.keypair();
        let mut sim = Sim::assemble(h, spec.clone(), market, reserves, Vec::new(), lender, now);
        // The lender supplies every reserve.
        let lender = sim.lender.insecure_clone();
        let supply: Vec<(usize, u64)> = spec.reserves.iter().enumerate().map(|(i, r)| (i, sim.tokens_for(i, r.supply_value))).collect();
        sim.lender_obligation = sim.open(&lender, &supply, &[], &mut rng).await?;
        sim.lender_accounts = (0..spec.reserves.len()).map(|i| sim.token_account(&mut rng, &sim.reserves[i].mint.clone(), &lender.pubkey(), 0)).collect();
        sim.open_population(&mut rng, progress).await?;
        sim.add_liquidators(&mut rng);
        sim.take_snapshot().await;
        Ok(sim)
    }

    /// A market in a runtime, before its liquidators and snapshot: reserves read legacy Pyth
    /// accounts owned by the Pyth program until said otherwise.
    fn assemble(h: Harness, spec: MarketSpec, market: MarketKeys, reserves: Vec<ReserveKeys>, obligations: Vec<Pubkey>, lender: Keypair, start_time: i64) -> Sim {
        let oracle_sources = vec![(solvent::oracle::ORACLE_SOURCE_PYTH_LEGACY, [0; 32]); reserves.len()];
        Sim {
            h,
            spec,
            market,
            reserves,
            obligations,
            agents: Vec::new(),
            lender,
            lender_obligation: Pubkey::default(),
            lender_accounts: Vec::new(),
            start_time,
            snapshot: Vec::new(),
            dirty: false,
            cache: BTreeMap::new(),
            borrowing_power: 0.0,
            oracle_sources,
            oracle_owner: PYTH_PROGRAM_ID,
        }
    }

    /// The liquidators of the spec, each with a token account and a share account per reserve.
    fn add_liquidators(&mut self, rng: &mut Rng) {
        for liquidator in self.spec.liquidators.clone() {
            let keypair = rng.keypair();
            self.h.set_account(&keypair.pubkey(), &SYSTEM_PROGRAM_ID, vec![]);
            let mut accounts = BTreeMap::new();
            for reserve in self.reserves.clone() {
                accounts.insert(reserve.mint, self.token_account(rng, &reserve.mint, &keypair.pubkey(), 0));
                // A share account too: seized collateral a short reserve cannot pay in tokens.
                accounts.insert(reserve.collateral_mint, self.token_account(rng, &reserve.collateral_mint, &keypair.pubkey(), 0));
            }
            let mut keeper = Keeper::new(self.market.market, keypair, accounts);
            keeper.verbose = false;
            self.agents.push(Agent { spec: liquidator, keeper, inventory: liquidator.inventory_value });
        }
    }

    /// A snapshot of a market on another chain (a live one over JSON-RPC, `RpcChain`), loaded
    /// into a fresh embedded runtime running the built `.so`: the market, its reserves with their
    /// mints, vaults and oracles, e-mode debt accounts and every obligation, and the clock at
    /// the chain's slot and time. `spec` names the reserves (by mint; a mint it does not list is
    /// named by its address and gets `default_venue`), their venues, and the liquidators; the
    /// population part is taken from the chain.
    pub async fn from_chain(chain: &mut impl Chain, market: &Pubkey, names: &BTreeMap<Pubkey, String>, venues: &BTreeMap<String, VenueSpec>, default_venue: VenueSpec, base: &MarketSpec) -> Result<Sim, String> {
        let err = |e: ChainError| e.to_string();
        let view = MarketView::load(chain, market).await.map_err(err)?;
        let mut h = start_harness().await;
        let (slot, now) = chain.clock().await.map_err(err)?;
        let program = program_id();
        let copy = |h: &mut Harness, key: &Pubkey, owner: &Pubkey, data: Option<Vec<u8>>| {
            if let Some(data) = data {
                h.set_account(key, owner, data);
            }
        };
        copy(&mut h, market, &program, chain.account_data(market).await.map_err(err)?);
        let mut specs = Vec::new();
        let mut reserves = Vec::new();
        // Reserves in the order `base` names them, the others after by address.
        let rank = |r: &ReserveView| names.get(&r.keys.mint).and_then(|n| base.reserves.iter().position(|b| &b.name == n)).unwrap_or(usize::MAX);
        let mut ordered: Vec<(&Pubkey, &ReserveView)> = view.reserves.iter().collect();
        ordered.sort_by_key(|(key, r)| (rank(r), **key));
        for (key, reserve) in ordered {
            let keys = reserve.keys.clone();
            copy(&mut h, key, &program, chain.account_data(key).await.map_err(err)?);
            for account in [keys.mint, keys.collateral_mint, keys.vault, keys.fee_vault] {
                copy(&mut h, &account, &keys.token_program, chain.account_data(&account).await.map_err(err)?);
            }
            if let Some((fund, vault)) = keys.insurance {
                copy(&mut h, &fund, &program, chain.account_data(&fund).await.map_err(err)?);
                copy(&mut h, &vault, &keys.token_program, chain.account_data(&vault).await.map_err(err)?);
            }
            let name = names.get(&keys.mint).cloned().unwrap_or_else(|| keys.mint.to_string());
            let state = &reserve.state;
            let price = wad_to_f64(state.market_price());
            let stable = (price - 1.0).abs() < 0.02 && !venues.contains_key(&name);
            specs.push(ReserveSpec {
                name: name.clone(),
                decimals: state.liquidity_decimals,
                price,
                stable,
                supply_value: 0.0,
                loan_to_value_bps: state.config.loan_to_value_bps,
                liquidation_threshold_bps: state.config.liquidation_threshold_bps,
                liquidation_bonus_bps: state.config.liquidation_bonus_bps,
                max_liquidation_bonus_bps: state.config.max_liquidation_bonus_bps,
                liquidation_bonus_ramp_secs: state.config.liquidation_bonus_ramp_secs,
                venue: if stable { None } else { Some(venues.get(&name).copied().unwrap_or(default_venue)) },
                insurance_value: 0.0,
                dynamic_margin: None,
            });
            reserves.push(keys);
        }
        for group in view.emode_debts.keys() {
            let address = emode_group_debt_address(market, *group);
            copy(&mut h, &address, &program, chain.account_data(&address).await.map_err(err)?);
        }
        let mut obligations = Vec::new();
        for (key, data) in chain.program_accounts(Obligation::DISCRIMINATOR, market).await.map_err(err)? {
            h.set_account(&key, &program, data);
            obligations.push(key);
        }
        // The program sees the chain's slot and time (reserves' last updates are in its slots).
        let mut clock = h.clock().await;
        clock.slot = clock.slot.max(slot);
        clock.unix_timestamp = now;
        h.context.set_sysvar(&clock);
        let spec = MarketSpec {
            reserves: specs,
            population: crate::scenario::PopulationSpec { obligations: obligations.len(), ..base.population.clone() },
            ..base.clone()
        };
        let mut sim = Sim::assemble(h, spec, view.keys.clone(), reserves, obligations, Keypair::new(), now);
        sim.oracle_sources = sim.reserves.iter().map(|k| (view.reserves[&k.reserve].state.oracle_source, view.reserves[&k.reserve].state.price_feed_id)).collect();
        sim.oracle_owner = view.state.oracle_program;
        // Every oracle rewritten at its current price, published now, as the runs will write it.
        for i in 0..sim.reserves.len() {
            let price = sim.spec.reserves[i].price;
            sim.write_oracle(i, price, price, now);
        }
        // The liquidators' addresses from a stream of their own (the seed's first draws are the
        // generated market's own addresses).
        let mut rng = Rng(base.seed ^ 0x4C49_5645_5F43_4F50);
        sim.add_liquidators(&mut rng);
        sim.take_snapshot().await;
        Ok(sim)
    }

    /// Base units of reserve `i` worth `value` dollars at the starting price.
    fn tokens_for(&self, i: usize, value: f64) -> u64 {
        let r = &self.spec.reserves[i];
        (value / r.price * 10f64.powi(r.decimals as i32)).floor() as u64
    }

    fn token_account(&mut self, rng: &mut Rng, mint: &Pubkey, owner: &Pubkey, amount: u64) -> Pubkey {
        let key = rng.keypair().pubkey();
        self.h.set_account(&key, &TOKEN_PROGRAM_ID, token_account_data(mint, owner, amount));
        key
    }

    fn set_balance(&mut self, account: &Pubkey, mint: &Pubkey, owner: &Pubkey, amount: u64) {
        self.h.set_account(account, &TOKEN_PROGRAM_ID, token_account_data(mint, owner, amount));
    }

    /// Opens an obligation: deposits in one transaction, then each borrow refreshed inline.
    async fn open(&mut self, user: &Keypair, deposits: &[(usize, u64)], borrows: &[(usize, u64)], rng: &mut Rng) -> Result<Pubkey, String> {
        self.h.set_account(&user.pubkey(), &SYSTEM_PROGRAM_ID, vec![]);
        let obligation = obligation_address(&self.market.market, &user.pubkey(), 0);
        let mut ixs = vec![init_obligation_ix(&self.market.market, &user.pubkey(), 0)];
        for &(i, amount) in deposits {
            let reserve = self.reserves[i].clone();
            let source = self.token_account(rng, &reserve.mint, &user.pubkey(), amount);
            ixs.push(deposit_ix(&self.market, &reserve, &obligation, &user.pubkey(), &source, amount));
        }
        let sent = self.h.send(&ixs, &[user]).await;
        if let Some(error) = sent.error {
            return Err(format!("opening obligation {obligation} failed: {error:?}"));
        }
        let all: Vec<ReserveKeys> = self.reserves.clone();
        for &(i, amount) in borrows {
            let destination = self.token_account(rng, &all[i].mint, &user.pubkey(), 0);
            let ix = borrow_ix(&self.market, &all[i], &obligation, &user.pubkey(), &destination, amount);
            let refs: Vec<&ReserveKeys> = all.iter().collect();
            let ixs = self.h.with_refresh(&obligation, &refs, ix).await;
            let sent = self.h.send(&ixs, &[user]).await;
            if let Some(error) = sent.error {
                return Err(format!("borrow by {obligation} failed: {error:?}"));
            }
        }
        Ok(obligation)
    }

    async fn open_population(&mut self, rng: &mut Rng, progress: &dyn Fn(usize)) -> Result<(), String> {
        let p = self.spec.population.clone();
        let names: Vec<String> = self.spec.reserves.iter().map(|r| r.name.clone()).collect();
        let index = |name: &str| names.iter().position(|r| r == name).expect("validated");
        let total_weight: u64 = p.profiles.iter().map(|f| f.weight as u64).sum();
        for n in 0..p.obligations {
            let mut pick = rng.next() % total_weight;
            let profile = p.profiles.iter().find(|f| {
                let hit = pick < f.weight as u64;
                pick = pick.saturating_sub(f.weight as u64);
                hit
            });
            let profile = profile.expect("weights sum to the total").clone();
            let total = rng.between(p.min_value.ln(), p.max_value.ln()).exp();
            let weights: Vec<f64> = profile.collateral.iter().map(|_| rng.between(0.2, 1.0)).collect();
            let sum: f64 = weights.iter().sum();
            let mut deposits = Vec::new();
            let mut allowed = 0.0;
            for (name, w) in profile.collateral.iter().zip(&weights) {
                let i = index(name);
                let value = total * w / sum;
                deposits.push((i, self.tokens_for(i, value)));
                allowed += value * self.spec.reserves[i].loan_to_value_bps as f64 / 10_000.0;
            }
            self.borrowing_power += allowed;
            let borrow_value = allowed * rng.between(p.min_usage, p.max_usage);
            let debt_weights: Vec<f64> = profile.debt.iter().map(|_| rng.between(0.2, 1.0)).collect();
            let debt_sum: f64 = debt_weights.iter().sum();
            let borrows: Vec<(usize, u64)> = profile.debt.iter().zip(&debt_weights).map(|(name, w)| (index(name), self.tokens_for(index(name), borrow_value * w / debt_sum))).collect();
            let user = rng.keypair();
            let obligation = self.open(&user, &deposits, &borrows, rng).await?;
            self.obligations.push(obligation);
            progress(n + 1);
        }
        Ok(())
    }

    /// Every account the set-up wrote, as it stands (programs and sysvars aside).
    async fn take_snapshot(&mut self) {
        let keys: Vec<Pubkey> = self.h.touched_accounts.iter().copied().collect();
        let mut snapshot = Vec::new();
        for key in keys {
            if let Some(account) = self.h.account(&key).await {
                let sysvar = account.owner == Pubkey::from_str_const("Sysvar1111111111111111111111111111111111111");
                if !account.executable && !sysvar {
                    snapshot.push((key, account));
                }
            }
        }
        self.snapshot = snapshot;
    }

    /// Puts every account back as set-up left it, and the clock at the start.
    pub async fn restore(&mut self) {
        for (key, account) in &self.snapshot {
            self.h.context.set_account(key, &solana_sdk_account(account));
        }
        for (agent, spec) in self.agents.iter_mut().zip(&self.spec.liquidators) {
            agent.inventory = spec.inventory_value;
        }
        self.h.set_time(self.start_time).await;
        self.dirty = false;
    }

    /// An obligation of the population as last read.
    pub fn obligation(&self, key: &Pubkey) -> Option<Obligation> {
        self.cache.get(key).copied()
    }

    /// Tries `liquidate` on an obligation as it is on chain now, on each (debt, collateral) pair
    /// in turn, repaying up to all it owes (the first liquidator holding enough, with a share
    /// account): `Ok(true)` once one is accepted, `Ok(false)` when every pair is refused as
    /// `ObligationHealthy`, an error when refused for another reason.
    pub async fn try_liquidate(&mut self, key: &Pubkey) -> Result<bool, String> {
        let obligation = self.h.obligation(key).await;
        let keys: Vec<Pubkey> = self.reserves.iter().map(|r| r.reserve).collect();
        let view = {
            let mut chain = InProcessChain { harness: &mut self.h };
            MarketView::load_with(&mut chain, &self.market.market, &keys).await.map_err(|e| e.to_string())?
        };
        let liquidator = self.agents[0].keeper.liquidator.insecure_clone();
        let accounts = self.agents[0].keeper.token_accounts.clone();
        let reserves = obligation_reserves(&obligation);
        let (withdraws, repays) = reserves.split_at(obligation.deposit_count());
        let mut refusals = Vec::new();
        for repay_key in repays {
            for withdraw_key in withdraws {
                let (repay, withdraw) = (&view.reserves[repay_key].keys, &view.reserves[withdraw_key].keys);
                let source = accounts[&repay.mint];
                self.set_balance(&source, &repay.mint, &liquidator.pubkey(), u64::MAX / 2);
                let ix = liquidate_with_shares_ix(&self.market, key, &liquidator.pubkey(), repay, &source, withdraw, &accounts[&withdraw.mint], u64::MAX, Some(&accounts[&withdraw.collateral_mint]));
                let sent = self.h.send(&view.refresh_then(key, &obligation, ix), &[&liquidator]).await;
                let code = sent.lending_error();
                match sent.error {
                    None => return Ok(true),
                    Some(error) => refusals.push((code, error)),
                }
            }
        }
        if refusals.iter().all(|(e, _)| *e == Some(solvent::errors::LendingError::ObligationHealthy)) {
            Ok(false)
        } else {
            Err(format!("liquidate refused {key} for another reason than health: {refusals:?}"))
        }
    }

    /// Reads every obligation of the population again.
    pub async fn load_obligations(&mut self) {
        self.cache.clear();
        for key in self.obligations.clone() {
            let obligation = self.h.obligation(&key).await;
            self.cache.insert(key, obligation);
        }
    }

    /// The market as the keeper sees it now: its view of the reserves (refreshed on copies to
    /// this slot), and every obligation with debt revalued by `Keeper::assess` — what
    /// `Keeper::scan` does, reading the population from the cache instead of scanning accounts.
    pub async fn scan(&mut self) -> Result<Scan, String> {
        let keys: Vec<Pubkey> = self.reserves.iter().map(|r| r.reserve).collect();
        let view = {
            let mut chain = InProcessChain { harness: &mut self.h };
            MarketView::load_with(&mut chain, &self.market.market, &keys).await.map_err(|e| e.to_string())?
        };
        let keeper = &self.agents[0].keeper;
        let mut assessments = Vec::new();
        let mut skipped = Vec::new();
        for (key, obligation) in &self.cache {
            if !obligation.has_borrows() {
                continue;
            }
            match keeper.assess(&view, *key, obligation) {
                Ok(a) => assessments.push(a),
                Err(e) => skipped.push((*key, e)),
            }
        }
        Ok(Scan { view, obligations: self.cache.len(), assessments, skipped })
    }

    /// Writes reserve `i`'s oracle account as its source publishes it: a Pyth legacy price
    /// account, or a fully verified `PriceUpdateV2` for a pull-oracle reserve.
    fn write_oracle(&mut self, i: usize, spot: f64, ema: f64, published_at: i64) {
        let oracle = self.reserves[i].oracle;
        let (source, feed_id) = self.oracle_sources[i];
        if source == solvent::oracle::ORACLE_SOURCE_PYTH_PULL {
            let price = PullPrice { feed_id, price: to_price(spot), conf: 0, ema_price: to_price(ema), ema_conf: 0, expo: EXPO, publish_time: published_at };
            self.h.set_price_update(&oracle, price, true);
        } else {
            let data = pyth_price_account_with_ema(to_price(spot), 0, to_price(ema), 0, EXPO, published_at, PriceStatus::Trading);
            let owner = self.oracle_owner;
            self.h.set_account(&oracle, &owner, data);
        }
    }

    /// Runs `scenario` from the set-up's state. `progress` is told each tick done.
    pub async fn run(&mut self, scenario: &Scenario, progress: &dyn Fn(usize)) -> Result<Outcome, String> {
        if self.dirty {
            self.restore().await;
        }
        self.dirty = true;
        self.h.unique_by_nonce = true;
        self.load_obligations().await;
        let n = self.reserves.len();
        let specs = self.spec.reserves.clone();
        crate::scenario::validate_scenario(&self.spec, scenario)?;
        let paths: Vec<Vec<f64>> = specs
            .iter()
            .map(|r| {
                let path = if r.stable { &PathSpec::Flat } else { scenario.paths.get(&r.name).unwrap_or(&PathSpec::Flat) };
                path.path(scenario.ticks, self.spec.seed ^ fnv(&scenario.name) ^ fnv(&r.name))
            })
            .collect();
        let mut now = self.h.now().await;
        let mut venues: Vec<Option<Venue>> = specs.iter().map(|r| r.venue.filter(|_| !r.stable).map(|v| Venue::new(v, r.price))).collect();
        let mut oracles: Vec<Oracle> = specs.iter().map(|r| Oracle::new(self.spec.oracle, r.price, now)).collect();
        let scan = self.scan().await?;
        let mut outcome = Outcome {
            scenario: scenario.name.clone(),
            obligations: scan.assessments.len() + scan.skipped.len(),
            start_prices: specs.iter().map(|r| r.price).collect(),
            ..Default::default()
        };
        outcome.health_before = scan.assessments.iter().map(health_of).collect();
        outcome.lowest_health = outcome.health_before.iter().copied().fold(f64::INFINITY, f64::min);
        let mut idle_start = Vec::new();
        let mut claims = Vec::new();
        for key in self.reserves.clone() {
            let state = self.h.reserve(&key.reserve).await;
            idle_start.push(state.available_amount.max(1) as f64);
            claims.push(wad_to_f64(state.total_liquidity().map_err(|e| format!("{e:?}"))?));
        }
        let mut written_off = vec![0f64; n];
        let fund_paid = |data: Option<Account>| data.and_then(|a| decode_insurance_fund(&a.data)).map(|f| f.losses_paid_total).unwrap_or(0);
        let mut paid_before = Vec::new();
        for key in self.reserves.clone() {
            let paid = match key.insurance {
                Some((fund, _)) => fund_paid(self.h.account(&fund).await),
                None => 0,
            };
            paid_before.push(paid);
        }
        let mut survival: Vec<Option<f64>> = vec![None; n];
        let mut first_seen: BTreeMap<Pubkey, i64> = BTreeMap::new();
        let mut liquidated = std::collections::BTreeSet::new();
        let slots_per_tick = scenario.tick_secs as f64 / SLOT_SECS;
        let depth_factor = scenario.depth_per_day.powf(scenario.tick_secs as f64 / 86_400.0);
        for tick in 1..=scenario.ticks {
            now += scenario.tick_secs as i64;
            self.h.advance_clock(now).await;
            let mut record = Tick { secs: tick as u64 * scenario.tick_secs, ..Default::default() };
            // The world moves: arbitrage toward the exogenous price, depth leaves, the oracle publishes.
            let frozen = scenario.oracle_freeze.is_some_and(|(from, to)| tick >= from && tick < to);
            for i in 0..n {
                let exogenous = specs[i].price * paths[i][tick];
                if let Some(venue) = venues[i].as_mut() {
                    venue.scale_depth(depth_factor);
                    venue.recover(exogenous, scenario.tick_secs as f64);
                    oracles[i].observe(now, venue.mid());
                } else {
                    oracles[i].observe(now, exogenous);
                }
                if !frozen && oracles[i].publish(now) {
                    let (spot, ema, at) = (oracles[i].spot, oracles[i].ema, oracles[i].published_at);
                    self.write_oracle(i, spot, ema, at);
                }
            }
            // Every reserve in one transaction; where one is refused (a stale or frozen oracle)
            // each on its own, so the others still refresh.
            let refreshes: Vec<Instruction> = self.reserves.iter().map(refresh_reserve_ix).collect();
            if self.h.send(&refreshes, &[]).await.error.is_some() {
                for ix in refreshes {
                    if self.h.send(&[ix], &[]).await.error.is_some() {
                        outcome.refresh_failures += 1;
                    }
                }
            }
            // A snapshot of a live market has no modelled lender: its outflows are not simulated.
            if scenario.outflow_per_hour_bps > 0 && self.lender_obligation != Pubkey::default() {
                self.outflows(scenario, tick, &mut survival).await;
            }
            self.liquidate_tick(&mut venues, &mut oracles, now, slots_per_tick, &mut first_seen, &mut record, &mut outcome, &mut written_off, &mut liquidated).await?;
            for i in 0..n {
                let state = self.h.reserve(&self.reserves[i].reserve).await;
                record.idle_share.push(state.available_amount as f64 / idle_start[i]);
                record.exogenous.push(specs[i].price * paths[i][tick]);
                record.venue.push(venues[i].map(|v| v.mid()).unwrap_or(specs[i].price * paths[i][tick]));
                record.oracle.push(oracles[i].spot);
                record.ema.push(oracles[i].ema);
                if let Some(v) = venues[i] {
                    let exo = specs[i].price * paths[i][tick];
                    outcome.peak_venue_discount = outcome.peak_venue_discount.max((exo - v.mid()) / exo);
                }
                if let Some(flow) = record.flows.get(i).copied().flatten() {
                    outcome.peak_price_impact = outcome.peak_price_impact.max(flow.impact());
                }
            }
            outcome.ticks.push(record);
            progress(tick);
        }
        let scan = self.scan().await?;
        outcome.health_after = scan.assessments.iter().map(health_of).collect();
        outcome.underwater_value = scan
            .assessments
            .iter()
            .map(|a| (wad_to_f64(a.values.borrowed_value) - wad_to_f64(a.values.deposited_value)).max(0.0))
            .fold(0.0, |sum, v| sum + v);
        outcome.liquidated_obligations = liquidated.len();
        let mut paid = vec![0f64; n];
        for (i, key) in self.reserves.clone().iter().enumerate() {
            if let Some((fund, _)) = key.insurance {
                paid[i] = fund_paid(self.h.account(&fund).await).saturating_sub(paid_before[i]) as f64;
                let tokens = paid[i] / 10f64.powi(specs[i].decimals as i32);
                outcome.insurance_paid.push((specs[i].name.clone(), tokens, tokens * oracles[i].spot));
            }
        }
        outcome.depositor_loss = specs
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let lost = (written_off[i] - paid[i]).max(0.0);
                (r.name.clone(), lost / 10f64.powi(r.decimals as i32), lost / claims[i].max(1.0))
            })
            .collect();
        outcome.survival_hours = specs.iter().zip(&survival).map(|(r, s)| (r.name.clone(), *s)).collect();
        Ok(outcome)
    }

    /// The lender withdraws its share of the hour; the first tick a reserve cannot serve it in
    /// full is that reserve's survival horizon.
    async fn outflows(&mut self, scenario: &Scenario, tick: usize, survival: &mut [Option<f64>]) {
        let share = scenario.outflow_per_hour_bps as f64 / 10_000.0 * scenario.tick_secs as f64 / 3_600.0;
        let lender = self.lender.insecure_clone();
        for i in 0..self.reserves.len() {
            let key = self.reserves[i].clone();
            let obligation = self.h.obligation(&self.lender_obligation).await;
            let Some(deposit) = obligation.deposits[..obligation.deposit_count()].iter().find(|d| from_anchor(&d.deposit_reserve) == key.reserve) else { continue };
            let wanted = (deposit.deposited_shares as f64 * share).floor() as u64;
            let state = self.h.reserve(&key.reserve).await;
            let servable = state.shares_for_amount(state.available_amount, Rounding::Down).unwrap_or(0);
            let shares = wanted.min(servable);
            if wanted > servable && survival[i].is_none() {
                survival[i] = Some(tick as f64 * scenario.tick_secs as f64 / 3_600.0);
            }
            if shares == 0 {
                continue;
            }
            let ix = withdraw_ix(&self.market, &key, &self.lender_obligation, &lender.pubkey(), &self.lender_accounts[i], shares);
            let refs: Vec<&ReserveKeys> = self.reserves.iter().collect();
            let ixs = self.h.with_refresh(&self.lender_obligation, &refs, ix).await;
            if self.h.send(&ixs, &[&lender]).await.error.is_some() && survival[i].is_none() {
                survival[i] = Some(tick as f64 * scenario.tick_secs as f64 / 3_600.0);
            }
        }
    }

    /// The liquidators' turn: the keeper's scan and ranking; each agent in order works the
    /// obligations it has seen for at least its latency, within its capacity for the tick and
    /// its inventory, each call cut to what the venue still pays for; bad debt written off.
    #[allow(clippy::too_many_arguments)]
    async fn liquidate_tick(
        &mut self,
        venues: &mut [Option<Venue>],
        oracles: &mut [Oracle],
        now: i64,
        slots_per_tick: f64,
        first_seen: &mut BTreeMap<Pubkey, i64>,
        record: &mut Tick,
        outcome: &mut Outcome,
        written_off: &mut [f64],
        liquidated: &mut std::collections::BTreeSet<Pubkey>,
    ) -> Result<(), String> {
        let scan = self.scan().await?;
        let index: BTreeMap<Pubkey, usize> = self.reserves.iter().enumerate().map(|(i, r)| (r.reserve, i)).collect();
        let decimals: Vec<i32> = self.spec.reserves.iter().map(|r| r.decimals as i32).collect();
        record.lowest_health = scan.assessments.iter().map(health_of).fold(3.0, f64::min);
        outcome.lowest_health = outcome.lowest_health.min(record.lowest_health);
        let mut queue: Vec<Assessment> = scan.unhealthy().cloned().collect();
        first_seen.retain(|key, _| queue.iter().any(|a| &a.obligation == key));
        for a in &queue {
            first_seen.entry(a.obligation).or_insert(now);
        }
        // The keeper's ranking: expected profit, most first.
        queue.sort_by_key(|a| std::cmp::Reverse(a.best.map(|b| b.profit()).unwrap_or(Wad::ZERO)));
        let mut view = scan.view;
        // Write-offs need no capital: every obligation with debt and no collateral left goes
        // first, whatever the liquidators' capacity.
        for slot in queue.iter_mut().filter(|a| a.is_bad_debt()) {
            self.write_off_one(&view, slot, &index, written_off, record, outcome).await?;
        }
        let mut declined = std::collections::BTreeSet::new();
        let mut called = std::collections::BTreeSet::new();
        let mut flows: Vec<Option<Flow>> = venues.iter().map(|v| v.map(|v| Flow { mid_before: v.mid(), asset_before: v.asset, mid_after: v.mid(), ..Default::default() })).collect();
        for agent in 0..self.agents.len() {
            let spec = self.agents[agent].spec;
            // Rounded to the tick: an obligation first seen this tick is worked now when the
            // latency is under half a tick.
            let latency = (spec.latency_slots as f64 * SLOT_SECS - slots_per_tick * SLOT_SECS / 2.0).ceil() as i64;
            let mut capacity = spec.capacity_value_per_slot * slots_per_tick;
            for slot in queue.iter_mut() {
                if capacity < 1.0 || self.agents[agent].inventory < 1.0 {
                    break;
                }
                if now - first_seen[&slot.obligation] < latency {
                    continue;
                }
                for _ in 0..16 {
                    if slot.is_bad_debt() {
                        // Its collateral went in this tick's calls: write it off now.
                        self.write_off_one(&view, slot, &index, written_off, record, outcome).await?;
                        break;
                    }
                    if !slot.is_unhealthy() || capacity < 1.0 {
                        break;
                    }
                    let Some(mut opportunity) = slot.best else { break };
                    let (debt, collateral) = (index[&opportunity.repay_reserve], index[&opportunity.withdraw_reserve]);
                    let repay_units = opportunity.quote.plan.repay_amount as f64 / 10f64.powi(decimals[debt]);
                    let tokens_units = opportunity.quote.payout.tokens as f64 / 10f64.powi(decimals[collateral]);
                    let shares_value = wad_to_f64(opportunity.received_value) - tokens_units * oracles[collateral].spot;
                    let repay_value = wad_to_f64(opportunity.repay_value);
                    // What a share f of the call nets once the collateral is sold and the debt bought.
                    let proceeds = |f: f64| venues[collateral].map(|v| v.quote_sell(tokens_units * f)).unwrap_or(tokens_units * f * oracles[collateral].spot) + shares_value.max(0.0) * f;
                    let cost = |f: f64| venues[debt].map(|v| v.quote_buy(repay_units * f)).unwrap_or(repay_units * f * oracles[debt].spot);
                    let cap = (capacity / repay_value).min(self.agents[agent].inventory / repay_value).min(1.0);
                    // The liquidator's rule: no call whose slippage (selling the seizure into the
                    // venue and buying the repayment, against their oracle values) exceeds the
                    // call's bonus; a call is cut to the largest share that keeps within it.
                    // The liquidator's part of the bonus: the protocol keeps its share of it.
                    let bonus = opportunity.quote.bonus_bps as f64 / 10_000.0 * (1.0 - self.spec.protocol_share_bps as f64 / 10_000.0);
                    let oracle_in = |f: f64| tokens_units * f * oracles[collateral].spot + shares_value.max(0.0) * f;
                    let oracle_out = |f: f64| repay_units * f * oracles[debt].spot;
                    let pays = |f: f64| 1.0 - (proceeds(f) - (cost(f) - oracle_out(f))) / oracle_in(f) <= bonus;
                    let share = if pays(cap) {
                        cap
                    } else {
                        let (mut low, mut high) = (0.0, cap);
                        for _ in 0..40 {
                            let mid = (low + high) / 2.0;
                            if pays(mid) {
                                low = mid
                            } else {
                                high = mid
                            }
                        }
                        low
                    };
                    let amount = (opportunity.quote.plan.repay_amount as f64 * share).floor() as u64;
                    if share * repay_value < 1.0 || amount == 0 {
                        declined.insert(slot.obligation);
                        break;
                    }
                    opportunity.quote.plan.repay_amount = amount;
                    // The repayment, bought (or held, for a stable) and in the agent's account.
                    let keeper = &self.agents[agent].keeper;
                    let (source, destination) = (keeper.token_accounts[&self.reserves[debt].mint], keeper.token_accounts[&self.reserves[collateral].mint]);
                    let owner = keeper.liquidator.pubkey();
                    let (debt_mint, collateral_mint) = (self.reserves[debt].mint, self.reserves[collateral].mint);
                    self.set_balance(&source, &debt_mint, &owner, amount);
                    self.set_balance(&destination, &collateral_mint, &owner, 0);
                    let result = {
                        let mut chain = InProcessChain { harness: &mut self.h };
                        self.agents[agent].keeper.liquidate(&mut chain, &view, slot, &opportunity).await.map_err(|e| e.to_string())?
                    };
                    let call = match result {
                        Ok(call) => call,
                        Err(_) => {
                            outcome.failed += 1;
                            break;
                        }
                    };
                    // The agent buys what it repaid and sells what it received, moving the venues.
                    let repaid_units = call.repaid as f64 / 10f64.powi(decimals[debt]);
                    let received_units = call.received as f64 / 10f64.powi(decimals[collateral]);
                    let paid = match venues[debt].as_mut() {
                        Some(v) => v.buy(repaid_units),
                        None => repaid_units * oracles[debt].spot,
                    };
                    let sold = match venues[collateral].as_mut() {
                        Some(v) => v.sell(received_units),
                        None => received_units * oracles[collateral].spot,
                    };
                    if let Some(flow) = flows[debt].as_mut() {
                        flow.bought += repaid_units;
                    }
                    if let Some(flow) = flows[collateral].as_mut() {
                        flow.sold += received_units;
                    }
                    for i in [debt, collateral] {
                        if let (Some(v), Some(flow)) = (venues[i], flows[i].as_mut()) {
                            oracles[i].observe(now, v.mid());
                            flow.mid_after = v.mid();
                        }
                    }
                    // Shares received, at their redemption value (they are held, not sold).
                    let shares_received = match view.reserves[&opportunity.withdraw_reserve].state.liquidity_for_shares(call.received_shares, Rounding::Down) {
                        Ok(liquidity) => wad_to_f64(liquidity) / 10f64.powi(decimals[collateral]) * oracles[collateral].spot,
                        Err(_) => 0.0,
                    };
                    let oracle_value_in = received_units * oracles[collateral].spot;
                    let oracle_value_out = repaid_units * oracles[debt].spot;
                    let slippage = (oracle_value_in - sold).max(0.0) + (paid - oracle_value_out).max(0.0);
                    self.agents[agent].inventory += sold + shares_received - paid;
                    if sold + shares_received < paid {
                        outcome.unprofitable += 1;
                    }
                    capacity -= oracle_value_out;
                    outcome.liquidations += 1;
                    outcome.liquidation_volume += oracle_value_out;
                    outcome.slippage_value += slippage;
                    record.liquidations += 1;
                    record.repaid_value += oracle_value_out;
                    record.slippage_value += slippage;
                    liquidated.insert(slot.obligation);
                    called.insert(slot.obligation);
                    // Revalue it as the keeper does after each call.
                    let mut chain = InProcessChain { harness: &mut self.h };
                    for key in [opportunity.repay_reserve, opportunity.withdraw_reserve] {
                        view.reload_reserve(&mut chain, &key).await.map_err(|e| e.to_string())?;
                    }
                    let obligation: Obligation = chain.obligation(&slot.obligation).await.map_err(|e| e.to_string())?;
                    self.cache.insert(slot.obligation, obligation);
                    let keeper = &self.agents[agent].keeper;
                    match keeper.assess(&view, slot.obligation, &obligation) {
                        Ok(assessment) => *slot = assessment,
                        Err(_) => break,
                    }
                }
            }
        }
        record.flows = flows;
        // Obligations left liquidatable this tick because no call on them paid after the venue's impact.
        outcome.declined += declined.difference(&called).count();
        Ok(())
    }
}

/// A fresh embedded runtime. Starting one sets and reads process environment variables (where the
/// `.so` is), so parallel sweeps start theirs one at a time.
async fn start_harness() -> Harness {
    static START: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = START.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    Harness::start().await
}

impl Sim {
    /// The keeper's write-off of an obligation without collateral (its debts, paid by the
    /// insurance funds first); the obligation re-read and re-assessed. A refused write-off
    /// counts as failed.
    async fn write_off_one(&mut self, view: &MarketView, slot: &mut Assessment, index: &BTreeMap<Pubkey, usize>, written_off: &mut [f64], record: &mut Tick, outcome: &mut Outcome) -> Result<(), String> {
        let mut out = empty_outcome(slot);
        let mut chain = InProcessChain { harness: &mut self.h };
        self.agents[0].keeper.write_off(&mut chain, view, slot, &mut out).await.map_err(|e| e.to_string())?;
        if out.error.is_some() {
            outcome.failed += 1;
        }
        let obligation = chain.obligation(&slot.obligation).await.map_err(|e| e.to_string())?;
        self.cache.insert(slot.obligation, obligation);
        for (reserve, debt) in &out.written_off {
            written_off[index[reserve]] += wad_to_f64(*debt);
        }
        outcome.bad_debt_value += wad_to_f64(out.written_off_value);
        record.bad_debt_value += wad_to_f64(out.written_off_value);
        let keeper = &self.agents[0].keeper;
        if let Ok(assessment) = keeper.assess(view, slot.obligation, &obligation) {
            *slot = assessment;
        }
        Ok(())
    }
}

fn empty_outcome(a: &Assessment) -> ObligationOutcome {
    ObligationOutcome {
        obligation: a.obligation,
        found_values: a.values,
        found_bonus_bps: 0,
        calls: Vec::new(),
        written_off: Vec::new(),
        written_off_value: Wad::ZERO,
        insurance_paid_value: Wad::ZERO,
        error: None,
    }
}

fn solana_sdk_account(account: &Account) -> solana_account::AccountSharedData {
    solana_account::AccountSharedData::from(account.clone())
}
