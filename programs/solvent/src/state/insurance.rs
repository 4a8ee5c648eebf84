//! The insurance fund: a per-reserve first-loss layer in front of the reserve's depositors.
//!
//! `init_insurance_fund` (market owner) creates the fund account and its vault (a token account
//! of the reserve's liquidity mint owned by the market authority). The fund is fed by
//! `ReserveConfig::insurance_share_bps` of the protocol income `collect_protocol_fees` moves out
//! (interest take, borrow and flash-loan fees, the liquidation protocol share: they all
//! accumulate in `Reserve::accumulated_protocol_fees`), and by stakers, who receive insurance
//! shares (`InsuranceStake`, not collateral shares) and take out their part of the fund after a
//! request and a cooldown. `write_off_bad_debt` pays a loss out of the fund first, at most
//! `max_slash_bps` of it per write-off (Umbrella-style: one event cannot empty the fund), and
//! only the rest lowers depositors' share price; the payment is booked at once (the reserve
//! counts it as `insurance_receivable`, part of the depositors' claim) and the permissionless
//! `settle_insurance` moves the tokens. Nothing else moves the vault's tokens: no instruction
//! lets the owner withdraw them.
//!
//! The fund counts its own `assets` (tokens sent to the vault outside these instructions are
//! not counted, so a donation cannot move the share price), and the first stake leaves
//! `DEAD_SHARES` to nobody as the reserves' first deposit does.
use super::DEAD_SHARES;
use crate::errors::{overflow, LendingError};
use crate::math::{mul_div, Rounding, BPS_DENOMINATOR};
use anchor_lang::prelude::*;

pub const INSURANCE_FUND_SEED: &[u8] = b"insurance_fund";
pub const INSURANCE_VAULT_SEED: &[u8] = b"insurance_vault";
pub const INSURANCE_STAKE_SEED: &[u8] = b"insurance_stake";
/// Shortest and longest unstake cooldown.
pub const MIN_UNSTAKE_COOLDOWN_SECS: u32 = 3_600;
pub const MAX_UNSTAKE_COOLDOWN_SECS: u32 = 90 * 86_400;
/// How long after its cooldown a request may be unstaked; past it the request has lapsed and a
/// new one starts a new cooldown, so no staker is ready to leave at every moment (a standing
/// request cannot be held open to run ahead of a loss).
pub const UNSTAKE_WINDOW_SECS: i64 = 2 * 86_400;

type InsuranceResult<T> = std::result::Result<T, LendingError>;

/// One reserve's insurance fund.
#[account(zero_copy)]
#[derive(Debug)]
pub struct InsuranceFund {
    pub version: u8,
    pub bump: u8,
    pub padding0: [u8; 6],
    pub lending_market: Pubkey,
    pub reserve: Pubkey,
    pub vault: Pubkey,
    /// Tokens the fund holds and counts (income, stakes, less unstakes and losses paid).
    pub assets: u64,
    /// Insurance shares outstanding (`DEAD_SHARES` of them owned by nobody).
    pub total_shares: u64,
    /// Shares stakers have asked to take out (still in `total_shares`, still bearing losses).
    pub pending_shares: u64,
    /// Tokens that came in as income (from `collect_protocol_fees`), and that went out to pay
    /// losses, since the fund was created.
    pub income_total: u64,
    pub losses_paid_total: u64,
    /// Seconds between an unstake request and the unstake.
    pub unstake_cooldown_secs: u32,
    /// Most of the fund one write-off may take, bps.
    pub max_slash_bps: u16,
    pub padding1: [u8; 2],
    /// Tokens the fund paid toward write-offs and still holds for the reserve, until
    /// `settle_insurance` moves them: the vault holds `assets + owed_to_reserve`.
    pub owed_to_reserve: u64,
    pub reserved: [u8; 56],
}

/// One staker's position in a fund.
#[account(zero_copy)]
#[derive(Debug)]
pub struct InsuranceStake {
    pub version: u8,
    pub bump: u8,
    pub padding0: [u8; 6],
    pub fund: Pubkey,
    pub owner: Pubkey,
    pub shares: u64,
    /// Shares asked to take out (0: no request), and when.
    pub pending_shares: u64,
    pub requested_at: i64,
    pub reserved: [u8; 32],
}

impl InsuranceFund {
    /// Settings bounds (`InvalidInsuranceFund`): a cooldown of an hour to 90 days, a slashing cap
    /// above 0 and at most 100%.
    pub fn validate_settings(cooldown_secs: u32, max_slash_bps: u16) -> InsuranceResult<()> {
        let cooldown_ok = (MIN_UNSTAKE_COOLDOWN_SECS..=MAX_UNSTAKE_COOLDOWN_SECS).contains(&cooldown_secs);
        if !cooldown_ok || max_slash_bps == 0 || max_slash_bps as u128 > BPS_DENOMINATOR {
            return Err(LendingError::InvalidInsuranceFund);
        }
        Ok(())
    }

    /// Books `amount` tokens of income: every share is worth more.
    pub fn add_income(&mut self, amount: u64) -> InsuranceResult<()> {
        self.assets = overflow(self.assets.checked_add(amount))?;
        self.income_total = overflow(self.income_total.checked_add(amount))?;
        Ok(())
    }

    /// Shares for staking `amount` tokens, rounded down (against the staker): at the fund's share
    /// price, or 1:1 for the first stake, of which `DEAD_SHARES` go to nobody. Books the stake.
    pub fn stake(&mut self, amount: u64) -> InsuranceResult<u64> {
        if amount == 0 {
            return Err(LendingError::ZeroAmount);
        }
        let shares = if self.total_shares == 0 {
            // 1:1, `DEAD_SHARES` of it to nobody; income booked before anyone staked stays with
            // nobody too (shares 1:1 for it, never redeemable): permanent first-loss capital,
            // not a gift to the first staker.
            let shares = amount.checked_sub(DEAD_SHARES).filter(|s| *s > 0).ok_or(LendingError::StakeTooSmall)?;
            self.total_shares = overflow(amount.checked_add(self.assets))?;
            shares
        } else {
            let shares = u64::try_from(overflow(mul_div(amount as u128, self.total_shares as u128, self.assets.max(1) as u128, Rounding::Down))?)
                .map_err(|_| LendingError::MathOverflow)?;
            if shares == 0 {
                return Err(LendingError::StakeTooSmall);
            }
            self.total_shares = overflow(self.total_shares.checked_add(shares))?;
            shares
        };
        self.assets = overflow(self.assets.checked_add(amount))?;
        Ok(shares)
    }

    /// Tokens `shares` are worth now, rounded down (against the staker).
    pub fn value_of(&self, shares: u64) -> InsuranceResult<u64> {
        if self.total_shares == 0 {
            return Ok(0);
        }
        let value = overflow(mul_div(shares as u128, self.assets as u128, self.total_shares as u128, Rounding::Down))?;
        u64::try_from(value).map_err(|_| LendingError::MathOverflow)
    }

    /// Takes `shares` out (an unstake that waited its cooldown): they leave the supply and the
    /// pending count, and their value leaves the fund. Returns the tokens to pay.
    pub fn unstake(&mut self, shares: u64) -> InsuranceResult<u64> {
        let amount = self.value_of(shares)?;
        self.total_shares = overflow(self.total_shares.checked_sub(shares))?;
        self.pending_shares = overflow(self.pending_shares.checked_sub(shares))?;
        self.assets = overflow(self.assets.checked_sub(amount))?;
        Ok(amount)
    }

    /// What the fund pays toward a loss of `loss` tokens: all of it, up to `max_slash_bps` of
    /// the fund (rounded down). Books the payment: every share is worth less, pro rata, and the
    /// tokens are owed to the reserve until `settle_insurance` moves them (so a write-off needs
    /// no token transfer).
    pub fn absorb(&mut self, loss: u64) -> InsuranceResult<u64> {
        // assets × bps < 2^80: one long division by 10^4 (native 64-bit steps).
        let cap = crate::math::div_rem_small(self.assets as u128 * self.max_slash_bps as u128, BPS_DENOMINATOR as u64).0 as u64;
        let paid = loss.min(cap);
        self.assets -= paid;
        self.owed_to_reserve = overflow(self.owed_to_reserve.checked_add(paid))?;
        self.losses_paid_total = overflow(self.losses_paid_total.checked_add(paid))?;
        Ok(paid)
    }
}

impl InsuranceStake {
    /// Asks to take out `shares` of the stake after the cooldown, replacing any earlier request
    /// (its clock starts over). `InsufficientStake` beyond the stake.
    pub fn request(&mut self, fund: &mut InsuranceFund, shares: u64, now: i64) -> InsuranceResult<()> {
        if shares == 0 {
            return Err(LendingError::ZeroAmount);
        }
        if shares > self.shares {
            return Err(LendingError::InsufficientStake);
        }
        fund.pending_shares = overflow(fund.pending_shares.checked_sub(self.pending_shares).and_then(|p| p.checked_add(shares)))?;
        self.pending_shares = shares;
        self.requested_at = now;
        Ok(())
    }

    /// The requested shares, once the cooldown has run and within `UNSTAKE_WINDOW_SECS` after
    /// it (`NoUnstakeRequested`, `UnstakeCooldownActive`, `UnstakeWindowLapsed`). Clears the
    /// request.
    pub fn take_request(&mut self, fund: &InsuranceFund, now: i64) -> InsuranceResult<u64> {
        if self.pending_shares == 0 {
            return Err(LendingError::NoUnstakeRequested);
        }
        let ready = self.requested_at.saturating_add(fund.unstake_cooldown_secs as i64);
        if now < ready {
            return Err(LendingError::UnstakeCooldownActive);
        }
        if now > ready.saturating_add(UNSTAKE_WINDOW_SECS) {
            return Err(LendingError::UnstakeWindowLapsed);
        }
        let shares = self.pending_shares;
        self.shares -= shares;
        self.pending_shares = 0;
        self.requested_at = 0;
        Ok(shares)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytemuck::Zeroable;

    fn fund() -> InsuranceFund {
        let mut fund = InsuranceFund::zeroed();
        fund.max_slash_bps = 5_000;
        fund.unstake_cooldown_secs = 86_400;
        fund
    }

    #[test]
    fn stakes_income_and_losses_move_the_share_price() {
        let mut f = fund();
        assert_eq!(f.stake(DEAD_SHARES), Err(LendingError::StakeTooSmall));
        assert_eq!(f.stake(1_000_000).unwrap(), 1_000_000 - DEAD_SHARES);
        f.add_income(500_000).unwrap();
        // 1.5 tokens per share now: 300,000 tokens buy 200,000 shares.
        assert_eq!(f.stake(300_000).unwrap(), 200_000);
        assert_eq!(f.value_of(200_000).unwrap(), 300_000);
        // A loss of 1,000,000 takes at most half the 1,800,000 fund.
        assert_eq!(f.absorb(1_000_000).unwrap(), 900_000);
        assert_eq!(f.assets, 900_000);
        assert_eq!(f.value_of(200_000).unwrap(), 150_000, "half the value, pro rata");
        assert_eq!(f.absorb(100).unwrap(), 100, "a small loss is paid whole");
        // Income before the first stake stays with nobody: the first staker pays 1:1.
        let mut early = fund();
        early.add_income(50_000).unwrap();
        assert_eq!(early.stake(1_000_000).unwrap(), 1_000_000 - DEAD_SHARES);
        assert_eq!(early.value_of(1_000_000 - DEAD_SHARES).unwrap(), 1_000_000 - DEAD_SHARES, "no gift");
    }

    #[test]
    fn unstaking_waits_its_cooldown() {
        let mut f = fund();
        f.stake(1_000_000).unwrap();
        let mut s = InsuranceStake::zeroed();
        s.shares = 999_000;
        assert_eq!(s.request(&mut f, 999_001, 100), Err(LendingError::InsufficientStake));
        assert_eq!(s.take_request(&f, 100), Err(LendingError::NoUnstakeRequested));
        s.request(&mut f, 500_000, 100).unwrap();
        assert_eq!(f.pending_shares, 500_000);
        assert_eq!(s.take_request(&f, 100 + 86_399), Err(LendingError::UnstakeCooldownActive));
        s.request(&mut f, 400_000, 200).unwrap();
        assert_eq!(f.pending_shares, 400_000, "a new request replaces the old");
        assert_eq!(s.take_request(&f, 200 + 86_400 + UNSTAKE_WINDOW_SECS + 1), Err(LendingError::UnstakeWindowLapsed));
        let shares = s.take_request(&f, 200 + 86_400).unwrap();
        assert_eq!(f.unstake(shares).unwrap(), 400_000);
        assert_eq!((s.shares, f.pending_shares, f.total_shares, f.assets), (599_000, 0, 600_000, 600_000));
        assert_eq!(InsuranceFund::validate_settings(60, 10_000), Err(LendingError::InvalidInsuranceFund));
        assert_eq!(InsuranceFund::validate_settings(86_400, 0), Err(LendingError::InvalidInsuranceFund));
        assert_eq!(InsuranceFund::validate_settings(86_400, 10_001), Err(LendingError::InvalidInsuranceFund));
        assert_eq!(InsuranceFund::validate_settings(86_400, 10_000), Ok(()));
    }
}
