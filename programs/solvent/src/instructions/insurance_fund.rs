//! The insurance fund's instructions (`state::insurance`): create it, stake, request an unstake,
//! unstake after the cooldown. Its tokens move only by these and by `write_off_bad_debt`.
use super::token::{is_spendable_by, is_token_account_of, token_balance, transfer_from_authority_account};
use crate::errors::{LendingError, OrOverflow};
use crate::events::{InsuranceFundCreated, InsuranceSettled, InsuranceStaked, InsuranceUnstaked, InsuranceUnstakeRequested};
use crate::state::{
    InsuranceFund, InsuranceStake, LendingMarket, Reserve, ACCOUNT_VERSION, INSURANCE_FUND_SEED, INSURANCE_STAKE_SEED, INSURANCE_VAULT_SEED,
};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, Mint, TokenAccount, TokenInterface, TransferChecked};

#[derive(Accounts)]
pub struct InitInsuranceFund<'info> {
    #[account(has_one = owner @ LendingError::InvalidMarketOwner)]
    pub lending_market: Account<'info, LendingMarket>,
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(
        mut,
        has_one = lending_market @ LendingError::InvalidMarket,
        has_one = liquidity_mint @ LendingError::InvalidLiquidityMint,
        has_one = token_program @ LendingError::InvalidTokenProgram
    )]
    pub reserve: AccountLoader<'info, Reserve>,
    pub liquidity_mint: InterfaceAccount<'info, Mint>,
    #[account(init, payer = owner, space = 8 + std::mem::size_of::<InsuranceFund>(), seeds = [INSURANCE_FUND_SEED, reserve.key().as_ref()], bump)]
    pub insurance_fund: AccountLoader<'info, InsuranceFund>,
    #[account(
        init,
        payer = owner,
        seeds = [INSURANCE_VAULT_SEED, reserve.key().as_ref()],
        bump,
        token::mint = liquidity_mint,
        token::authority = market_authority,
        token::token_program = token_program
    )]
    pub insurance_vault: InterfaceAccount<'info, TokenAccount>,
    /// CHECK: checked against the address stored on the market.
    #[account(address = lending_market.authority @ LendingError::InvalidMarketAuthority)]
    pub market_authority: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

/// Creates the reserve's insurance fund and its vault (once: the fund is a PDA of the reserve),
/// with its unstake cooldown and the most of it one write-off may take
/// (`InsuranceFund::validate_settings`). From then on every fee collection and write-off of the
/// reserve passes the fund.
pub fn init_handler(ctx: Context<InitInsuranceFund>, unstake_cooldown_secs: u32, max_slash_bps: u16) -> Result<()> {
    InsuranceFund::validate_settings(unstake_cooldown_secs, max_slash_bps)?;
    let mut fund = ctx.accounts.insurance_fund.load_init()?;
    fund.version = ACCOUNT_VERSION;
    fund.bump = ctx.bumps.insurance_fund;
    fund.lending_market = ctx.accounts.lending_market.key();
    fund.reserve = ctx.accounts.reserve.key();
    fund.vault = ctx.accounts.insurance_vault.key();
    fund.unstake_cooldown_secs = unstake_cooldown_secs;
    fund.max_slash_bps = max_slash_bps;
    ctx.accounts.reserve.load_mut()?.insurance_fund = ctx.accounts.insurance_fund.key();
    emit!(InsuranceFundCreated { reserve: fund.reserve, fund: ctx.accounts.insurance_fund.key(), unstake_cooldown_secs, max_slash_bps });
    Ok(())
}

#[derive(Accounts)]
pub struct StakeInsurance<'info> {
    #[account(mut, has_one = reserve @ LendingError::InvalidInsuranceFundAccount, constraint = insurance_fund.load()?.vault == insurance_vault.key() @ LendingError::InvalidInsuranceFundAccount)]
    pub insurance_fund: AccountLoader<'info, InsuranceFund>,
    #[account(has_one = liquidity_mint @ LendingError::InvalidLiquidityMint, has_one = token_program @ LendingError::InvalidTokenProgram)]
    pub reserve: AccountLoader<'info, Reserve>,
    pub liquidity_mint: InterfaceAccount<'info, Mint>,
    #[account(mut)]
    pub insurance_vault: InterfaceAccount<'info, TokenAccount>,
    #[account(
        init_if_needed,
        payer = owner,
        space = 8 + std::mem::size_of::<InsuranceStake>(),
        seeds = [INSURANCE_STAKE_SEED, insurance_fund.key().as_ref(), owner.key().as_ref()],
        bump
    )]
    pub stake: AccountLoader<'info, InsuranceStake>,
    #[account(mut)]
    pub owner: Signer<'info>,
    /// CHECK: `is_token_account_of` below.
    #[account(
        mut,
        constraint = is_token_account_of(&source_liquidity, &liquidity_mint.key(), &token_program.key()) @ LendingError::InvalidLiquidityMint,
        constraint = is_spendable_by(&source_liquidity, &owner.key()) @ LendingError::InvalidSourceAuthority
    )]
    pub source_liquidity: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

/// Stakes `amount` of the reserve's liquidity into its insurance fund for insurance shares at
/// the fund's share price (rounded down; `StakeTooSmall` when that is none).
pub fn stake_handler(ctx: Context<StakeInsurance>, amount: u64) -> Result<()> {
    let fund_key = ctx.accounts.insurance_fund.key();
    let shares = ctx.accounts.insurance_fund.load_mut()?.stake(amount)?;
    {
        let stake = &ctx.accounts.stake;
        let mut state = match stake.load_mut() {
            Ok(state) => state,
            Err(_) => stake.load_init()?,
        };
        if state.owner == Pubkey::default() {
            state.version = ACCOUNT_VERSION;
            state.bump = ctx.bumps.stake;
            state.fund = fund_key;
            state.owner = ctx.accounts.owner.key();
        }
        state.shares = state.shares.checked_add(shares).or_overflow()?;
    }
    let expected = token_balance(&ctx.accounts.insurance_vault.to_account_info())?.checked_add(amount).or_overflow()?;
    let accounts = TransferChecked {
        from: ctx.accounts.source_liquidity.to_account_info(),
        mint: ctx.accounts.liquidity_mint.to_account_info(),
        to: ctx.accounts.insurance_vault.to_account_info(),
        authority: ctx.accounts.owner.to_account_info(),
    };
    token_interface::transfer_checked(CpiContext::new(ctx.accounts.token_program.key(), accounts), amount, ctx.accounts.liquidity_mint.decimals)?;
    require!(token_balance(&ctx.accounts.insurance_vault.to_account_info())? == expected, LendingError::VaultBalanceMismatch);
    emit!(InsuranceStaked { fund: fund_key, owner: ctx.accounts.owner.key(), amount, shares });
    Ok(())
}

#[derive(Accounts)]
pub struct RequestUnstake<'info> {
    #[account(mut)]
    pub insurance_fund: AccountLoader<'info, InsuranceFund>,
    #[account(mut, has_one = owner @ LendingError::InvalidObligationOwner, constraint = stake.load()?.fund == insurance_fund.key() @ LendingError::InvalidInsuranceFundAccount)]
    pub stake: AccountLoader<'info, InsuranceStake>,
    pub owner: Signer<'info>,
}

/// Asks to take out `shares` of the stake once the fund's cooldown has run (replacing an earlier
/// request; `InsufficientStake` beyond the stake). The shares keep earning and bearing losses
/// until then.
pub fn request_handler(ctx: Context<RequestUnstake>, shares: u64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let mut fund = ctx.accounts.insurance_fund.load_mut()?;
    ctx.accounts.stake.load_mut()?.request(&mut fund, shares, now)?;
    emit!(InsuranceUnstakeRequested { fund: ctx.accounts.insurance_fund.key(), owner: ctx.accounts.owner.key(), shares, available_at: now + fund.unstake_cooldown_secs as i64 });
    Ok(())
}

#[derive(Accounts)]
pub struct Unstake<'info> {
    pub lending_market: Account<'info, LendingMarket>,
    #[account(
        mut,
        has_one = lending_market @ LendingError::InvalidMarket,
        has_one = reserve @ LendingError::InvalidInsuranceFundAccount,
        constraint = insurance_fund.load()?.vault == insurance_vault.key() @ LendingError::InvalidInsuranceFundAccount
    )]
    pub insurance_fund: AccountLoader<'info, InsuranceFund>,
    #[account(has_one = liquidity_mint @ LendingError::InvalidLiquidityMint, has_one = token_program @ LendingError::InvalidTokenProgram)]
    pub reserve: AccountLoader<'info, Reserve>,
    /// CHECK: pinned by key on the reserve.
    pub liquidity_mint: UncheckedAccount<'info>,
    /// CHECK: pinned by key on the fund.
    #[account(mut)]
    pub insurance_vault: UncheckedAccount<'info>,
    #[account(mut, has_one = owner @ LendingError::InvalidObligationOwner, constraint = stake.load()?.fund == insurance_fund.key() @ LendingError::InvalidInsuranceFundAccount)]
    pub stake: AccountLoader<'info, InsuranceStake>,
    pub owner: Signer<'info>,
    /// CHECK: `is_token_account_of` below.
    #[account(mut, constraint = is_token_account_of(&destination_liquidity, &liquidity_mint.key(), &token_program.key()) @ LendingError::InvalidLiquidityMint)]
    pub destination_liquidity: UncheckedAccount<'info>,
    /// CHECK: checked against the address stored on the market.
    #[account(address = lending_market.authority @ LendingError::InvalidMarketAuthority)]
    pub market_authority: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
}

/// Pays out the requested shares at the fund's share price now (rounded down), once the
/// cooldown has run (`NoUnstakeRequested`, `UnstakeCooldownActive`).
pub fn unstake_handler(ctx: Context<Unstake>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let (amount, shares) = {
        let mut fund = ctx.accounts.insurance_fund.load_mut()?;
        let shares = ctx.accounts.stake.load_mut()?.take_request(&fund, now)?;
        (fund.unstake(shares)?, shares)
    };
    let decimals = ctx.accounts.reserve.load()?.liquidity_decimals;
    let expected = token_balance(&ctx.accounts.insurance_vault)?.checked_sub(amount).or_overflow()?;
    transfer_from_authority_account(
        &ctx.accounts.token_program,
        ctx.accounts.insurance_vault.to_account_info(),
        &ctx.accounts.liquidity_mint,
        decimals,
        &ctx.accounts.destination_liquidity,
        &ctx.accounts.market_authority,
        &ctx.accounts.lending_market,
        amount,
    )?;
    require!(token_balance(&ctx.accounts.insurance_vault)? == expected, LendingError::VaultBalanceMismatch);
    emit!(InsuranceUnstaked { fund: ctx.accounts.insurance_fund.key(), owner: ctx.accounts.owner.key(), shares, amount });
    Ok(())
}

#[derive(Accounts)]
pub struct SettleInsurance<'info> {
    pub lending_market: Account<'info, LendingMarket>,
    #[account(
        mut,
        has_one = lending_market @ LendingError::InvalidMarket,
        has_one = liquidity_mint @ LendingError::InvalidLiquidityMint,
        has_one = liquidity_vault @ LendingError::InvalidLiquidityVault,
        has_one = token_program @ LendingError::InvalidTokenProgram,
        has_one = insurance_fund @ LendingError::InvalidInsuranceFundAccount
    )]
    pub reserve: AccountLoader<'info, Reserve>,
    #[account(mut, constraint = insurance_fund.load()?.vault == insurance_vault.key() @ LendingError::InvalidInsuranceFundAccount)]
    pub insurance_fund: AccountLoader<'info, InsuranceFund>,
    /// CHECK: pinned by key on the fund.
    #[account(mut)]
    pub insurance_vault: UncheckedAccount<'info>,
    /// CHECK: pinned by key on the reserve.
    #[account(mut)]
    pub liquidity_vault: UncheckedAccount<'info>,
    /// CHECK: pinned by key on the reserve.
    pub liquidity_mint: UncheckedAccount<'info>,
    /// CHECK: checked against the address stored on the market.
    #[account(address = lending_market.authority @ LendingError::InvalidMarketAuthority)]
    pub market_authority: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
}

/// Permissionless: moves what the insurance fund owes the reserve for written-off debt from the
/// fund's vault into the liquidity vault, where it becomes available (`ZeroAmount` when nothing
/// is owed).
pub fn settle_handler(ctx: Context<SettleInsurance>) -> Result<()> {
    let amount = {
        let mut fund = ctx.accounts.insurance_fund.load_mut()?;
        let owed = fund.owed_to_reserve;
        require!(owed > 0, LendingError::ZeroAmount);
        fund.owed_to_reserve = 0;
        owed
    };
    let (decimals, available) = {
        let mut reserve = ctx.accounts.reserve.load_mut()?;
        reserve.settle_insurance(amount)?;
        (reserve.liquidity_decimals, reserve.available_amount)
    };
    let expected = token_balance(&ctx.accounts.liquidity_vault)?.checked_add(amount).or_overflow()?;
    transfer_from_authority_account(
        &ctx.accounts.token_program,
        ctx.accounts.insurance_vault.to_account_info(),
        &ctx.accounts.liquidity_mint,
        decimals,
        &ctx.accounts.liquidity_vault,
        &ctx.accounts.market_authority,
        &ctx.accounts.lending_market,
        amount,
    )?;
    let balance = token_balance(&ctx.accounts.liquidity_vault)?;
    require!(balance == expected && balance >= available, LendingError::VaultBalanceMismatch);
    emit!(InsuranceSettled { reserve: ctx.accounts.reserve.key(), fund: ctx.accounts.insurance_fund.key(), amount });
    Ok(())
}
