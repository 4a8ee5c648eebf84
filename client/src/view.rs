//! A market as the next transaction will see it: every reserve refreshed (on a copy) to the
//! current slot and time with its oracle's price, exactly as refresh_reserve books it, and
//! obligations revalued as refresh_obligation would. The keeper, the leverage builder and the
//! queries in `query` read the market through this.
use crate::accounts::{decode_emode_group_debt, decode_reserve};
use crate::chain::{Chain, ChainError};
use crate::instructions::Instruction;
use crate::keys::{emode_group_debt_address, from_anchor, MarketKeys, Pubkey, ReserveKeys};
use anchor_lang::Discriminator;
use solvent::errors::LendingError;
use solvent::oracle::read_price;
use solvent::state::{EmodeGroupDebt, LendingMarket, Obligation, ObligationValues, Reserve, MAX_EMODE_GROUPS};
use std::collections::BTreeMap;

/// A reserve as the next refresh in this slot will book it.
#[derive(Clone)]
pub struct ReserveView {
    pub keys: ReserveKeys,
    pub state: Reserve,
    /// Why the oracle cannot be used now (stale, too uncertain, ...): obligations holding this
    /// reserve cannot be refreshed.
    pub price_error: Option<LendingError>,
}

impl ReserveView {
    /// `state` refreshed with `oracle_data` at `slot` and `now`, as refresh_reserve would.
    pub fn refreshed(key: Pubkey, mut state: Reserve, oracle_data: &[u8], slot: u64, now: i64) -> ReserveView {
        let config = state.config;
        let price = read_price(state.oracle_source, oracle_data, &state.price_feed_id, now, config.max_price_age_secs, config.max_confidence_bps)
            .and_then(|price| state.refresh(&price, now, slot));
        ReserveView { keys: ReserveKeys::from_state(key, &state), state, price_error: price.err() }
    }

    /// The refreshed state, or why the reserve cannot be refreshed now.
    pub fn usable(&self) -> Result<&Reserve, LendingError> {
        match self.price_error {
            Some(error) => Err(error),
            None => Ok(&self.state),
        }
    }
}

/// The market, its reserves and the clock everything is valued at.
#[derive(Clone)]
pub struct MarketView {
    pub keys: MarketKeys,
    pub state: LendingMarket,
    pub reserves: BTreeMap<Pubkey, ReserveView>,
    /// The debt accounts of the market's enabled e-mode groups, by group.
    pub emode_debts: BTreeMap<u8, EmodeGroupDebt>,
    pub slot: u64,
    pub now: i64,
}

impl MarketView {
    /// Reads the market, every reserve of it and their oracles, and refreshes the reserves.
    pub async fn load(chain: &mut impl Chain, market: &Pubkey) -> Result<MarketView, ChainError> {
        let (slot, now) = chain.clock().await?;
        let state = chain.market(market).await?;
        let mut reserves = BTreeMap::new();
        for (key, data) in chain.program_accounts(Reserve::DISCRIMINATOR, market).await? {
            let Some(reserve) = decode_reserve(&data) else { continue };
            let oracle = chain.account_data(&from_anchor(&reserve.oracle)).await?.unwrap_or_default();
            reserves.insert(key, ReserveView::refreshed(key, reserve, &oracle, slot, now));
        }
        let mut view = MarketView { keys: MarketKeys::from_state(*market, &state), state, reserves, emode_debts: BTreeMap::new(), slot, now };
        view.reload_emode_debts(chain).await?;
        Ok(view)
    }

    /// Reads the debt accounts of the enabled e-mode groups again.
    pub async fn reload_emode_debts(&mut self, chain: &mut impl Chain) -> Result<(), ChainError> {
        self.emode_debts.clear();
        for group in 1..=MAX_EMODE_GROUPS as u8 {
            if !self.state.emode(group).is_ok_and(|emode| emode.params.is_enabled()) {
                continue;
            }
            let data = chain.account_data(&emode_group_debt_address(&self.keys.market, group)).await?;
            if let Some(debt) = data.as_deref().and_then(decode_emode_group_debt) {
                self.emode_debts.insert(group, debt);
            }
        }
        Ok(())
    }

    /// Like `load`, reading only `reserves` (no scan of the program's accounts): for a client
    /// that knows the reserves its obligation uses.
    pub async fn load_with(chain: &mut impl Chain, market: &Pubkey, reserves: &[Pubkey]) -> Result<MarketView, ChainError> {
        let (slot, now) = chain.clock().await?;
        let state = chain.market(market).await?;
        let mut view = MarketView { keys: MarketKeys::from_state(*market, &state), state, reserves: BTreeMap::new(), emode_debts: BTreeMap::new(), slot, now };
        for key in reserves {
            view.reload_reserve(chain, key).await?;
        }
        view.reload_emode_debts(chain).await?;
        Ok(view)
    }

    /// Reads one reserve (and its oracle) again, after a transaction changed it.
    pub async fn reload_reserve(&mut self, chain: &mut impl Chain, key: &Pubkey) -> Result<(), ChainError> {
        let state = chain.reserve(key).await?;
        let oracle = chain.account_data(&from_anchor(&state.oracle)).await?.unwrap_or_default();
        self.reserves.insert(*key, ReserveView::refreshed(*key, state, &oracle, self.slot, self.now));
        Ok(())
    }

    pub fn reserve(&self, key: &Pubkey) -> Result<&ReserveView, LendingError> {
        self.reserves.get(key).ok_or(LendingError::InvalidReserve)
    }

    pub fn reserve_keys(&self, key: &Pubkey) -> Result<&ReserveKeys, LendingError> {
        Ok(&self.reserve(key)?.keys)
    }

    /// `obligation` as refresh_obligation leaves it in this slot (positions revalued, debt
    /// accrued, the auction clock tracked), with its values.
    pub fn refresh_obligation(&self, obligation: &Obligation) -> Result<(Obligation, ObligationValues), LendingError> {
        let mut state = *obligation;
        state.take_emode_params(&self.state)?;
        let values = state.revalue(|_, reserve| -> Result<&Reserve, LendingError> { self.reserve(&from_anchor(reserve))?.usable() })?;
        state.finish_refresh(&values, self.now, self.slot);
        Ok((state, values))
    }

    /// The refresh sequence and then `action` on `obligation` (see `refresh::refresh_then`).
    pub fn refresh_then(&self, obligation_key: &Pubkey, obligation: &Obligation, action: Instruction) -> Vec<Instruction> {
        let keys: Vec<&ReserveKeys> = self.reserves.values().map(|r| &r.keys).collect();
        crate::refresh::refresh_then(obligation_key, obligation, &keys, action)
    }

    /// `amount` base units of a reserve's token as a decimal number.
    pub fn amount(&self, reserve: &Pubkey, amount: u64) -> String {
        let decimals = self.reserves.get(reserve).map(|r| r.keys.decimals).unwrap_or(0);
        crate::format::format_amount(amount as i128, decimals)
    }
}
