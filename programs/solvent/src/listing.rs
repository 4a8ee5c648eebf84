//! Listing checks: which token mints a reserve may hold. Pure (takes the mint's bytes), so the
//! rules are unit-tested natively and run the same on chain.
use crate::errors::LendingError;
use anchor_lang::prelude::Pubkey;
use anchor_spl::token_2022::spl_token_2022::extension::default_account_state::DefaultAccountState;
use anchor_spl::token_2022::spl_token_2022::extension::{BaseStateWithExtensions, ExtensionType, StateWithExtensions};
use anchor_spl::token_2022::spl_token_2022::state::{AccountState, Mint};

/// Token-2022 mint extensions a reserve accepts: they describe the token and move nothing.
pub const ALLOWED_MINT_EXTENSIONS: [ExtensionType; 2] = [ExtensionType::MetadataPointer, ExtensionType::TokenMetadata];

/// Refuses a Token-2022 mint with any extension outside `ALLOWED_MINT_EXTENSIONS`. The ones that
/// break the vault's accounting or let a third party move or lock vault funds each get their own
/// error: a transfer fee (the vault receives less than booked), a transfer hook (a third
/// program runs on every transfer and can refuse it), a permanent delegate (can move vault
/// tokens), non-transferable tokens, confidential transfers (balances the program cannot read),
/// a default frozen account state, a mint close authority (the mint can vanish and be
/// re-created). Any other extension: `MintExtensionNotAllowed`. SPL Token mints have no
/// extensions and always pass.
pub fn check_mint_extensions(mint_data: &[u8], token_program: &Pubkey) -> Result<(), LendingError> {
    if *token_program != anchor_spl::token_2022::ID {
        return Ok(());
    }
    let mint = StateWithExtensions::<Mint>::unpack(mint_data).map_err(|_| LendingError::InvalidLiquidityMint)?;
    let extensions = mint.get_extension_types().map_err(|_| LendingError::InvalidLiquidityMint)?;
    for extension in extensions {
        if ALLOWED_MINT_EXTENSIONS.contains(&extension) {
            continue;
        }
        return Err(match extension {
            ExtensionType::TransferFeeConfig => LendingError::MintTransferFee,
            ExtensionType::TransferHook => LendingError::MintTransferHook,
            ExtensionType::PermanentDelegate => LendingError::MintPermanentDelegate,
            ExtensionType::NonTransferable => LendingError::MintNonTransferable,
            ExtensionType::ConfidentialTransferMint
            | ExtensionType::ConfidentialTransferFeeConfig
            | ExtensionType::ConfidentialMintBurn => LendingError::MintConfidentialTransfer,
            ExtensionType::DefaultAccountState => match mint.get_extension::<DefaultAccountState>() {
                Ok(state) if state.state == AccountState::Frozen as u8 => LendingError::MintDefaultFrozen,
                _ => LendingError::MintExtensionNotAllowed,
            },
            ExtensionType::MintCloseAuthority => LendingError::MintCloseAuthority,
            _ => LendingError::MintExtensionNotAllowed,
        });
    }
    Ok(())
}
