use crate::errors::LendingError;
use crate::events::ReserveInitialized;
use crate::math::Wad;
use crate::oracle::{read_price, OracleSource, PYTH_RECEIVER_PROGRAM_ID};
use crate::state::*;
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

#[derive(Accounts)]
pub struct InitReserve<'info> {
    #[account(has_one = owner @ LendingError::InvalidMarketOwner)]
    pub lending_market: Account<'info, LendingMarket>,
    #[account(mut)]
    pub owner: Signer<'info>,
    /// One reserve per mint per market: the address is derived from both.
    #[account(
        init,
        payer = owner,
        space = 8 + std::mem::size_of::<Reserve>(),
        seeds = [RESERVE_SEED, lending_market.key().as_ref(), liquidity_mint.key().as_ref()],
        bump
    )]
    pub reserve: AccountLoader<'info, Reserve>,
    #[account(mint::token_program = token_program)]
    pub liquidity_mint: InterfaceAccount<'info, Mint>,
    #[account(
        init,
        payer = owner,
        seeds = [LIQUIDITY_VAULT_SEED, reserve.key().as_ref()],
        bump,
        token::mint = liquidity_mint,
        token::authority = market_authority,
        token::token_program = token_program
    )]
    pub liquidity_vault: InterfaceAccount<'info, TokenAccount>,
    #[account(
        init,
        payer = owner,
        seeds = [FEE_VAULT_SEED, reserve.key().as_ref()],
        bump,
        token::mint = liquidity_mint,
        token::authority = market_authority,
        token::token_program = token_program
    )]
    pub fee_vault: InterfaceAccount<'info, TokenAccount>,
    /// Shares as tokens, same decimals as the liquidity.
    #[account(
        init,
        payer = owner,
        seeds = [COLLATERAL_MINT_SEED, reserve.key().as_ref()],
        bump,
        mint::decimals = liquidity_mint.decimals,
        mint::authority = market_authority,
        mint::token_program = token_program
    )]
    pub collateral_mint: InterfaceAccount<'info, Mint>,
    /// CHECK: checked against the address stored on the market.
    #[account(address = lending_market.authority @ LendingError::InvalidMarketAuthority)]
    pub market_authority: UncheckedAccount<'info>,
    /// CHECK: owner and contents are checked by reading a price from it.
    pub oracle: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

/// Lists an asset. `oracle_source` is `ORACLE_SOURCE_PYTH_LEGACY` (a Pyth price account owned
/// by the market's oracle program) or `ORACLE_SOURCE_PYTH_PULL` (a `PriceUpdateV2` account owned
/// by the Pyth receiver program, carrying `price_feed_id`). The oracle account is pinned: no
/// other account is ever accepted for this reserve, even one with the same feed.
pub fn handler(ctx: Context<InitReserve>, config: ReserveConfig, oracle_source: u8, price_feed_id: [u8; 32]) -> Result<()> {
    config.validate()?;
    let accounts = &ctx.accounts;
    // Under a listing ramp the caps that bound a new asset must be finite in value: a base-unit
    // cap of u64::MAX ramped from 0 is still unbounded a second after listing.
    let policy = accounts.lending_market.policy();
    // Under a timelock a new asset cannot be borrowed against at once: it is listed at LTV 0 and
    // outside e-mode, and gets borrowing power through a queued change, public for the delay.
    require!(policy.timelock_secs == 0 || (config.loan_to_value_bps == 0 && config.emode_groups == 0), LendingError::ListingNeedsZeroLtv);
    let ramped = policy.listing_ramp_secs > 0;
    require!(
        !ramped || (config.deposit_limit_value != 0 && (config.borrow_limit == 0 || config.borrow_limit_value != 0)),
        LendingError::ListingNeedsValueCaps
    );
    require!(accounts.liquidity_mint.decimals <= MAX_TOKEN_DECIMALS, LendingError::InvalidTokenDecimals);
    crate::listing::check_mint_extensions(&accounts.liquidity_mint.to_account_info().try_borrow_data()?, &accounts.token_program.key())?;
    let oracle_program = match OracleSource::from_u8(oracle_source)? {
        OracleSource::PythLegacy => accounts.lending_market.oracle_program,
        OracleSource::PythPull => PYTH_RECEIVER_PROGRAM_ID,
    };
    require_keys_eq!(*accounts.oracle.owner, oracle_program, LendingError::InvalidOracleOwner);
    let clock = Clock::get()?;
    let price = read_price(
        oracle_source,
        &accounts.oracle.try_borrow_data()?,
        &price_feed_id,
        clock.unix_timestamp,
        config.max_price_age_secs,
        config.max_confidence_bps,
    )?;

    let mut reserve = accounts.reserve.load_init()?;
    reserve.version = ACCOUNT_VERSION;
    reserve.bump = ctx.bumps.reserve;
    reserve.liquidity_vault_bump = ctx.bumps.liquidity_vault;
    reserve.liquidity_decimals = accounts.liquidity_mint.decimals;
    reserve.lending_market = accounts.lending_market.key();
    reserve.liquidity_mint = accounts.liquidity_mint.key();
    reserve.liquidity_vault = accounts.liquidity_vault.key();
    reserve.fee_vault = accounts.fee_vault.key();
    reserve.collateral_mint = accounts.collateral_mint.key();
    reserve.token_program = accounts.token_program.key();
    reserve.oracle = accounts.oracle.key();
    reserve.oracle_program = oracle_program;
    reserve.oracle_source = oracle_source;
    reserve.price_feed_id = price_feed_id;
    reserve.last_update_timestamp = clock.unix_timestamp;
    // The listing ramp: caps grow from 0 over the market's ramp (a fake collateral cannot be
    // listed and borrowed against at once).
    reserve.listed_at = clock.unix_timestamp;
    reserve.listing_ramp_secs = accounts.lending_market.policy().listing_ramp_secs;
    reserve.price_updated_slot = clock.slot;
    reserve.config = config;
    reserve.set_prices(&price)?;
    reserve.cumulative_borrow_index_wad.set(Wad::ONE);
    emit!(ReserveInitialized {
        market: reserve.lending_market,
        reserve: accounts.reserve.key(),
        liquidity_mint: reserve.liquidity_mint,
        oracle: reserve.oracle,
    });
    Ok(())
}
