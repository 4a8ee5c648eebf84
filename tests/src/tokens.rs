//! Mints and token accounts: SPL Token, and real Token-2022 mints with extensions.
use crate::*;

impl Harness {
    /// A new SPL Token mint whose mint authority is the payer.
    pub async fn create_mint(&mut self, decimals: u8) -> Pubkey {
        self.create_mint_at(decimals, Keypair::new()).await
    }

    /// A mint at a given address (tests that need reproducible addresses).
    pub async fn create_mint_at(&mut self, decimals: u8, mint: Keypair) -> Pubkey {
        let create = self.create_account_ix(&mint.pubkey(), MINT_SIZE, &TOKEN_PROGRAM_ID).await;
        let mut data = vec![20, decimals];
        data.extend_from_slice(self.payer.pubkey().as_ref());
        data.push(0);
        let init = Instruction {
            program_id: TOKEN_PROGRAM_ID,
            accounts: vec![AccountMeta::new(mint.pubkey(), false)],
            data,
        };
        self.must_send(&[create, init], &[&mint]).await;
        mint.pubkey()
    }

    pub async fn create_token_account(&mut self, mint: &Pubkey, owner: &Pubkey) -> Pubkey {
        let account = Keypair::new();
        let create = self.create_account_ix(&account.pubkey(), TOKEN_ACCOUNT_SIZE, &TOKEN_PROGRAM_ID).await;
        let mut data = vec![18];
        data.extend_from_slice(owner.as_ref());
        let init = Instruction {
            program_id: TOKEN_PROGRAM_ID,
            accounts: vec![AccountMeta::new(account.pubkey(), false), AccountMeta::new_readonly(*mint, false)],
            data,
        };
        self.must_send(&[create, init], &[&account]).await;
        account.pubkey()
    }

    pub async fn mint_to(&mut self, mint: &Pubkey, account: &Pubkey, amount: u64) {
        let mut data = vec![7];
        data.extend_from_slice(&amount.to_le_bytes());
        let ix = Instruction {
            program_id: TOKEN_PROGRAM_ID,
            accounts: vec![
                AccountMeta::new(*mint, false),
                AccountMeta::new(*account, false),
                AccountMeta::new_readonly(self.payer.pubkey(), true),
            ],
            data,
        };
        self.must_send(&[ix], &[]).await;
    }

    pub async fn token_balance(&mut self, account: &Pubkey) -> u64 {
        let data = self.account(account).await.expect("token account").data;
        token_amount(&data).expect("token account data")
    }

}
/// A Token-2022 mint extension for `Harness::create_mint_2022`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MintExtension {
    TransferFee,
    TransferHook,
    PermanentDelegate,
    NonTransferable,
    ConfidentialTransfer,
    DefaultFrozen,
    CloseAuthority,
    MetadataPointer,
    InterestBearing,
}

/// An instruction from the SPL Token-2022 interface crate, in this harness's types.
pub(crate) fn from_spl(ix: anchor_lang::solana_program::instruction::Instruction) -> Instruction {
    Instruction {
        program_id: Pubkey::new_from_array(ix.program_id.to_bytes()),
        accounts: ix
            .accounts
            .iter()
            .map(|meta| AccountMeta { pubkey: Pubkey::new_from_array(meta.pubkey.to_bytes()), is_signer: meta.is_signer, is_writable: meta.is_writable })
            .collect(),
        data: ix.data,
    }
}

impl Harness {
    /// A real Token-2022 mint with `extension` (or none), created and initialized by the
    /// Token-2022 program itself; the payer is its mint (and freeze) authority.
    pub async fn create_mint_2022(&mut self, decimals: u8, extension: Option<MintExtension>) -> Pubkey {
        use anchor_spl::token_2022::spl_token_2022::{self as t22, extension::ExtensionType, state::Mint};
        let mint = Keypair::new();
        let (program, key, authority) = (to_anchor(&TOKEN_2022_PROGRAM_ID), to_anchor(&mint.pubkey()), to_anchor(&self.payer.pubkey()));
        let kind = extension.map(|e| match e {
            MintExtension::TransferFee => ExtensionType::TransferFeeConfig,
            MintExtension::TransferHook => ExtensionType::TransferHook,
            MintExtension::PermanentDelegate => ExtensionType::PermanentDelegate,
            MintExtension::NonTransferable => ExtensionType::NonTransferable,
            MintExtension::ConfidentialTransfer => ExtensionType::ConfidentialTransferMint,
            MintExtension::DefaultFrozen => ExtensionType::DefaultAccountState,
            MintExtension::CloseAuthority => ExtensionType::MintCloseAuthority,
            MintExtension::MetadataPointer => ExtensionType::MetadataPointer,
            MintExtension::InterestBearing => ExtensionType::InterestBearingConfig,
        });
        let kinds: Vec<ExtensionType> = kind.into_iter().collect();
        let size = ExtensionType::try_calculate_account_len::<Mint>(&kinds).expect("mint size") as u64;
        let mut ixs = vec![self.create_account_ix(&mint.pubkey(), size, &TOKEN_2022_PROGRAM_ID).await];
        let init = match extension {
            None => None,
            Some(MintExtension::TransferFee) => {
                Some(t22::extension::transfer_fee::instruction::initialize_transfer_fee_config(&program, &key, Some(&authority), Some(&authority), 50, 1_000_000))
            }
            Some(MintExtension::TransferHook) => Some(t22::extension::transfer_hook::instruction::initialize(&program, &key, Some(authority), Some(to_anchor(&PYTH_PROGRAM_ID)))),
            Some(MintExtension::PermanentDelegate) => Some(t22::instruction::initialize_permanent_delegate(&program, &key, &authority)),
            Some(MintExtension::NonTransferable) => Some(t22::instruction::initialize_non_transferable_mint(&program, &key)),
            Some(MintExtension::ConfidentialTransfer) => {
                Some(t22::extension::confidential_transfer::instruction::initialize_mint(&program, &key, Some(authority), true, None))
            }
            Some(MintExtension::DefaultFrozen) => Some(t22::extension::default_account_state::instruction::initialize_default_account_state(
                &program,
                &key,
                &t22::state::AccountState::Frozen,
            )),
            Some(MintExtension::CloseAuthority) => Some(t22::instruction::initialize_mint_close_authority(&program, &key, Some(&authority))),
            Some(MintExtension::MetadataPointer) => Some(t22::extension::metadata_pointer::instruction::initialize(&program, &key, Some(authority), Some(key))),
            Some(MintExtension::InterestBearing) => Some(t22::extension::interest_bearing_mint::instruction::initialize(&program, &key, Some(authority), 100)),
        };
        if let Some(init) = init {
            ixs.push(from_spl(init.unwrap_or_else(|e| panic!("{extension:?}: {e:?}"))));
        }
        ixs.push(from_spl(t22::instruction::initialize_mint2(&program, &key, &authority, Some(&authority), decimals).expect("initialize_mint2")));
        self.must_send(&ixs, &[&mint]).await;
        mint.pubkey()
    }
}
