use super::token::{pay_from_liquidity_vault, token_balance};
use crate::errors::LendingError;
use crate::events::ProtocolFeesCollected;
use crate::errors::OrOverflow;
use crate::state::{InsuranceFund, LendingMarket, Reserve};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{TokenAccount, TokenInterface};

/// Permissionless: fees can only ever move to the reserve's own fee vault.
#[derive(Accounts)]
pub struct CollectProtocolFees<'info> {
    pub lending_market: Account<'info, LendingMarket>,
    #[account(
        has_one = token_program @ LendingError::InvalidTokenProgram,
        mut,
        has_one = lending_market @ LendingError::InvalidMarket,
        has_one = liquidity_mint @ LendingError::InvalidLiquidityMint,
        has_one = liquidity_vault @ LendingError::InvalidLiquidityVault,
        has_one = fee_vault @ LendingError::InvalidFeeVault
    )]
    pub reserve: AccountLoader<'info, Reserve>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    pub liquidity_mint: UncheckedAccount<'info>,
    /// CHECK: pinned by key on the reserve (see `token.rs`).
    #[account(mut)]
    pub liquidity_vault: UncheckedAccount<'info>,
    #[account(mut)]
    pub fee_vault: InterfaceAccount<'info, TokenAccount>,
    /// CHECK: checked against the address stored on the market.
    #[account(address = lending_market.authority @ LendingError::InvalidMarketAuthority)]
    pub market_authority: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
    /// The reserve's insurance fund and its vault, required when the reserve has one
    /// (`Reserve::insurance_fund`).
    #[account(mut)]
    pub insurance_fund: Option<AccountLoader<'info, InsuranceFund>>,
    /// CHECK: the fund's vault, by key (checked in the handler).
    #[account(mut)]
    pub insurance_vault: Option<UncheckedAccount<'info>>,
}

/// Moves accrued protocol fees (interest share, borrow and flash-loan fees, the liquidation
/// protocol share) out of the liquidity vault, as far as idle liquidity allows:
/// `config.insurance_share_bps` of them (rounded down) to the reserve's insurance fund, the rest
/// to the fee vault. A reserve with a share above 0 and no fund refuses (`InsuranceFundRequired`).
pub fn handler(ctx: Context<CollectProtocolFees>) -> Result<()> {
    let accounts = ctx.accounts;
    let mut reserve = accounts.reserve.load_mut()?;
    reserve.accrue_interest(Clock::get()?.unix_timestamp)?;
    let amount = reserve.collectable_protocol_fees()?;
    require!(amount > 0, LendingError::ZeroAmount);
    let to_insurance = reserve.insurance_part(amount)?;
    let fund = match (&accounts.insurance_fund, &accounts.insurance_vault) {
        (Some(fund), Some(vault)) if reserve.insurance_fund != Pubkey::default() => {
            require_keys_eq!(fund.key(), reserve.insurance_fund, LendingError::InvalidInsuranceFundAccount);
            require_keys_eq!(vault.key(), fund.load()?.vault, LendingError::InvalidInsuranceFundAccount);
            Some((fund, vault))
        }
        _ if reserve.insurance_fund != Pubkey::default() || to_insurance > 0 => return err!(LendingError::InsuranceFundRequired),
        _ => None,
    };
    reserve.collect_protocol_fees(amount)?;
    let to_fee_vault = amount - to_insurance;
    let available_after = reserve.available_amount;
    let decimals = reserve.liquidity_decimals;
    drop(reserve);

    if to_fee_vault > 0 {
        pay_from_liquidity_vault(
            &accounts.token_program,
            &accounts.liquidity_vault,
            &accounts.liquidity_mint,
            decimals,
            &accounts.fee_vault,
            &accounts.market_authority,
            &accounts.lending_market,
            to_fee_vault,
            available_after.checked_add(to_insurance).or_overflow()?,
        )?;
    }
    if let (Some((fund, vault)), true) = (fund, to_insurance > 0) {
        let expected = token_balance(vault)?.checked_add(to_insurance).or_overflow()?;
        pay_from_liquidity_vault(
            &accounts.token_program,
            &accounts.liquidity_vault,
            &accounts.liquidity_mint,
            decimals,
            vault,
            &accounts.market_authority,
            &accounts.lending_market,
            to_insurance,
            available_after,
        )?;
        require!(token_balance(vault)? == expected, LendingError::VaultBalanceMismatch);
        fund.load_mut()?.add_income(to_insurance)?;
    }
    emit!(ProtocolFeesCollected { reserve: accounts.reserve.key(), amount, to_insurance });
    Ok(())
}
