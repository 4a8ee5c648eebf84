//! Token CPIs and the vault check every token-moving instruction ends with.
//!
//! How instructions take token accounts, to pay for each check once:
//! - a reserve's liquidity mint and vaults are `UncheckedAccount`s pinned by key on the reserve
//!   (`has_one`); `init_reserve` created the vaults as token accounts of the market authority, so
//!   their balances are read from the account data and the mint's decimals come from the reserve;
//! - a user's token account that is only passed to a transfer is checked in place with
//!   `is_token_account_of` (initialized, of the reserve's mint, owned by the token program);
//! - the token program checks everything else when it moves the tokens.
use crate::errors::{LendingError, OrOverflow};
use crate::state::{LendingMarket, MARKET_AUTHORITY_SEED};
use anchor_lang::prelude::*;
use anchor_spl::token_2022::spl_token_2022;
use anchor_spl::token_2022::spl_token_2022::generic_token_account::GenericTokenAccount;
use anchor_spl::token_interface::{self, Burn, Mint, MintTo, TokenAccount, TokenInterface, TransferChecked};

/// Signer seeds of the market authority PDA, with its stored bump (no bump search).
fn authority_seeds<'a>(market_key: &'a Pubkey, bump: &'a [u8; 1]) -> [&'a [u8]; 3] {
    [MARKET_AUTHORITY_SEED, market_key.as_ref(), bump]
}

/// Tokens from a user into a reserve's liquidity vault, signed by the user, then the vault check.
#[allow(clippy::too_many_arguments)]
pub fn pay_into_liquidity_vault<'info>(
    token_program: &Interface<'info, TokenInterface>,
    source: &impl ToAccountInfo<'info>,
    mint: &UncheckedAccount<'info>,
    decimals: u8,
    vault: &UncheckedAccount<'info>,
    authority: &Signer<'info>,
    amount: u64,
    recorded_available: u64,
) -> Result<()> {
    let expected_balance = token_balance(vault)?.checked_add(amount).or_overflow()?;
    let accounts = TransferChecked {
        from: source.to_account_info(),
        mint: mint.to_account_info(),
        to: vault.to_account_info(),
        authority: authority.to_account_info(),
    };
    token_interface::transfer_checked(CpiContext::new(token_program.key(), accounts), amount, decimals)?;
    check_vault(vault, expected_balance, recorded_available)
}

/// What signing as a market's authority takes: the market's key and the authority's bump.
pub trait AuthoritySeeds {
    fn market_key(&self) -> Pubkey;
    fn authority_bump(&self) -> u8;
}

impl AuthoritySeeds for Account<'_, LendingMarket> {
    fn market_key(&self) -> Pubkey {
        self.key()
    }
    fn authority_bump(&self) -> u8 {
        self.authority_bump
    }
}

impl AuthoritySeeds for MarketInPlace {
    fn market_key(&self) -> Pubkey {
        self.key
    }
    fn authority_bump(&self) -> u8 {
        self.header.authority_bump
    }
}

/// A market read in place (`market_in_place`), for the instructions on every user's path that
/// need only its pause, its authority and its e-mode groups: one owner and one discriminator
/// check, where deserializing the whole market (an `Account<LendingMarket>`) costs them about
/// 440 compute units.
pub struct MarketInPlace {
    pub key: Pubkey,
    pub header: crate::state::MarketHeader,
}

/// The market account `info` read in place: owned by this program, with the market's
/// discriminator.
pub fn market_in_place(info: &AccountInfo) -> Result<MarketInPlace> {
    if *info.owner != crate::ID {
        return Err(ErrorCode::AccountOwnedByWrongProgram.into());
    }
    let data = info.try_borrow_data()?;
    if data.len() < 8 || data[..8] != *LendingMarket::DISCRIMINATOR {
        return Err(ErrorCode::AccountDiscriminatorMismatch.into());
    }
    Ok(MarketInPlace { key: *info.key, header: LendingMarket::header_in(&data)? })
}

/// Tokens out of a reserve's liquidity vault, signed by the market authority, then the vault check.
#[allow(clippy::too_many_arguments)]
pub fn pay_from_liquidity_vault<'info>(
    token_program: &Interface<'info, TokenInterface>,
    vault: &UncheckedAccount<'info>,
    mint: &UncheckedAccount<'info>,
    decimals: u8,
    destination: &impl ToAccountInfo<'info>,
    market_authority: &UncheckedAccount<'info>,
    lending_market: &impl AuthoritySeeds,
    amount: u64,
    recorded_available: u64,
) -> Result<()> {
    let expected_balance = token_balance(vault)?.checked_sub(amount).or_overflow()?;
    transfer_from_authority_account(
        token_program,
        vault.to_account_info(),
        mint,
        decimals,
        destination,
        market_authority,
        lending_market,
        amount,
    )?;
    check_vault(vault, expected_balance, recorded_available)
}

/// Tokens out of any token account the market authority owns (vaults, fee vaults).
#[allow(clippy::too_many_arguments)]
pub fn transfer_from_authority_account<'info>(
    token_program: &Interface<'info, TokenInterface>,
    from: AccountInfo<'info>,
    mint: &UncheckedAccount<'info>,
    decimals: u8,
    destination: &impl ToAccountInfo<'info>,
    market_authority: &UncheckedAccount<'info>,
    lending_market: &impl AuthoritySeeds,
    amount: u64,
) -> Result<()> {
    let market_key = lending_market.market_key();
    let bump = [lending_market.authority_bump()];
    let seeds = authority_seeds(&market_key, &bump);
    let accounts = TransferChecked {
        from,
        mint: mint.to_account_info(),
        to: destination.to_account_info(),
        authority: market_authority.to_account_info(),
    };
    let signer: &[&[&[u8]]] = &[&seeds];
    token_interface::transfer_checked(
        CpiContext::new_with_signer(token_program.key(), accounts, signer),
        amount,
        decimals,
    )
}

/// Mints share tokens, signed by the market authority.
pub fn mint_shares<'info>(
    token_program: &Interface<'info, TokenInterface>,
    collateral_mint: &impl ToAccountInfo<'info>,
    destination: &impl ToAccountInfo<'info>,
    market_authority: &UncheckedAccount<'info>,
    lending_market: &impl AuthoritySeeds,
    shares: u64,
) -> Result<()> {
    let market_key = lending_market.market_key();
    let bump = [lending_market.authority_bump()];
    let seeds = authority_seeds(&market_key, &bump);
    let accounts = MintTo {
        mint: collateral_mint.to_account_info(),
        to: destination.to_account_info(),
        authority: market_authority.to_account_info(),
    };
    let signer: &[&[&[u8]]] = &[&seeds];
    token_interface::mint_to(CpiContext::new_with_signer(token_program.key(), accounts, signer), shares)
}

/// Burns share tokens from the holder's account, signed by the holder.
pub fn burn_shares<'info>(
    token_program: &Interface<'info, TokenInterface>,
    collateral_mint: &InterfaceAccount<'info, Mint>,
    source: &InterfaceAccount<'info, TokenAccount>,
    holder: &Signer<'info>,
    shares: u64,
) -> Result<()> {
    let accounts = Burn {
        mint: collateral_mint.to_account_info(),
        from: source.to_account_info(),
        authority: holder.to_account_info(),
    };
    token_interface::burn(CpiContext::new(token_program.key(), accounts), shares)
}

/// Whether `account` is an initialized token account of `mint` owned by `token_program`, read
/// with the token interface's own `GenericTokenAccount` accessors instead of a full unpack (the
/// token program checks the rest when it moves the tokens). For accounts only passed through
/// to a transfer, where a full `InterfaceAccount` unpack would cost ~770 CU.
pub fn is_token_account_of(account: &AccountInfo, mint: &Pubkey, token_program: &Pubkey) -> bool {
    if account.owner != token_program {
        return false;
    }
    let Ok(data) = account.try_borrow_data() else { return false };
    spl_token_2022::state::Account::unpack_account_mint(&data) == Some(mint)
}

/// Byte offsets in the base layout shared by SPL Token and Token-2022 accounts: the owner
/// (32 bytes), and the delegate as a `COption<Pubkey>` (a 4-byte tag, then the key).
const TOKEN_ACCOUNT_OWNER_OFFSET: usize = 32;
const TOKEN_ACCOUNT_DELEGATE_OFFSET: usize = 72;

/// `authority` may move tokens out of `account`: it is the account's owner or its delegate. A
/// source account the signer cannot spend from gets its own error instead of the token program's.
pub fn is_spendable_by(account: &AccountInfo, authority: &Pubkey) -> bool {
    let Ok(data) = account.try_borrow_data() else { return false };
    let key_at = |offset: usize| data.get(offset..offset + 32);
    let delegate_tag = data.get(TOKEN_ACCOUNT_DELEGATE_OFFSET..TOKEN_ACCOUNT_DELEGATE_OFFSET + 4);
    key_at(TOKEN_ACCOUNT_OWNER_OFFSET) == Some(authority.as_ref())
        || (delegate_tag == Some(&[1, 0, 0, 0][..]) && key_at(TOKEN_ACCOUNT_DELEGATE_OFFSET + 4) == Some(authority.as_ref()))
}

/// Byte offset of `amount` in the base layout shared by SPL Token and Token-2022 accounts
/// (mint: 32 bytes, owner: 32 bytes, amount: u64 little-endian).
const TOKEN_ACCOUNT_AMOUNT_OFFSET: usize = 64;

/// A token account's balance, read from the raw data (the vaults are pinned by key on the
/// reserve, so a full unpack would only re-check what init_reserve created).
pub(crate) fn token_balance(account: &AccountInfo) -> Result<u64> {
    let data = account.try_borrow_data()?;
    data.get(TOKEN_ACCOUNT_AMOUNT_OFFSET..TOKEN_ACCOUNT_AMOUNT_OFFSET + 8)
        .and_then(|bytes| bytes.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or_else(|| error!(LendingError::VaultBalanceMismatch))
}

/// After a transfer: the vault moved by exactly the amount booked (a fee-on-transfer or
/// misbehaving token program fails here), and it still covers the reserve's recorded liquidity.
/// Tokens donated to the vault are tolerated, never counted.
fn check_vault(vault: &AccountInfo, expected_balance: u64, recorded_available: u64) -> Result<()> {
    let balance = token_balance(vault)?;
    require!(balance == expected_balance && balance >= recorded_available, LendingError::VaultBalanceMismatch);
    Ok(())
}
