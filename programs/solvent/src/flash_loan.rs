//! Flash-loan rules read from the instructions sysvar: a flash borrow must be paid back later in
//! the same transaction, loans do not nest, and guarded instructions refuse to run while a loan
//! is open on their market. The rules are pure functions over the transaction's instructions.
use crate::errors::LendingError;
use anchor_lang::prelude::*;
use anchor_lang::Discriminator;

pub const INSTRUCTIONS_SYSVAR_ID: Pubkey = pubkey!("Sysvar1nstructions1111111111111111111111111");

/// `FlashBorrow` and `FlashRepay` both start with the market, then the reserve.
pub const MARKET_ACCOUNT_INDEX: usize = 0;
pub const RESERVE_ACCOUNT_INDEX: usize = 1;

/// A flash instruction of this program, as seen in the transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlashStep {
    Borrow { market: Pubkey, reserve: Pubkey, amount: u64 },
    Repay { market: Pubkey, reserve: Pubkey, amount: u64 },
}

impl FlashStep {
    /// Recognises this program's flash instructions; anything else is `None`.
    pub fn parse(program_id: &Pubkey, accounts: &[Pubkey], data: &[u8]) -> Option<FlashStep> {
        if *program_id != crate::ID || data.len() < 16 || accounts.len() <= RESERVE_ACCOUNT_INDEX {
            return None;
        }
        let (discriminator, rest) = data.split_at(8);
        let amount = u64::from_le_bytes(rest[..8].try_into().ok()?);
        let (market, reserve) = (accounts[MARKET_ACCOUNT_INDEX], accounts[RESERVE_ACCOUNT_INDEX]);
        if discriminator == crate::instruction::FlashBorrow::DISCRIMINATOR {
            Some(FlashStep::Borrow { market, reserve, amount })
        } else if discriminator == crate::instruction::FlashRepay::DISCRIMINATOR {
            Some(FlashStep::Repay { market, reserve, amount })
        } else {
            None
        }
    }
}

/// For a flash borrow of `amount` from `reserve`: the next flash instruction after it must be its
/// repay, for the same reserve and amount. Another borrow first is nesting.
pub fn check_repay_follows(
    following: impl Iterator<Item = FlashStep>,
    reserve: &Pubkey,
    amount: u64,
) -> std::result::Result<(), LendingError> {
    match { following }.next() {
        None => Err(LendingError::FlashRepayMissing),
        Some(FlashStep::Borrow { .. }) => Err(LendingError::FlashLoanNested),
        Some(FlashStep::Repay { reserve: repaid, amount: repaid_amount, .. }) => {
            if repaid != *reserve {
                Err(LendingError::FlashRepayReserveMismatch)
            } else if repaid_amount != amount {
                Err(LendingError::FlashRepayAmountMismatch)
            } else {
                Ok(())
            }
        }
    }
}

/// Whether the instructions before the current one leave a flash loan open on `market`.
pub fn flash_loan_open(preceding: impl Iterator<Item = FlashStep>, market: &Pubkey) -> bool {
    let mut open = false;
    for step in preceding {
        match step {
            FlashStep::Borrow { market: m, .. } if m == *market => open = true,
            FlashStep::Repay { market: m, .. } if m == *market => open = false,
            _ => {}
        }
    }
    open
}

/// Flash borrow and repay run only as top-level instructions: a program calling them by CPI
/// could hide the repay from the instructions sysvar.
pub fn require_top_level() -> Result<()> {
    let height = anchor_lang::solana_program::instruction::get_stack_height();
    require_eq!(height, anchor_lang::solana_program::instruction::TRANSACTION_LEVEL_STACK_HEIGHT, LendingError::FlashLoanCpi);
    Ok(())
}

/// Reads the instructions sysvar in place, without copying each instruction out as
/// `load_instruction_at_checked` does (a liquidation after 18 refreshes would pay ~250 CU per
/// instruction for that). Layout, as `construct_instructions_data` writes it: u16 count, u16
/// offset per instruction, then per instruction u16 account count, (u8 flags, 32-byte key) per
/// account, 32-byte program id, u16 data length, data; the current index is the last u16.
pub struct InstructionsSysvar<'a> {
    data: &'a [u8],
}

impl<'a> InstructionsSysvar<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        InstructionsSysvar { data }
    }

    fn u16_at(&self, offset: usize) -> Option<usize> {
        let bytes = self.data.get(offset..offset + 2)?;
        Some(u16::from_le_bytes([bytes[0], bytes[1]]) as usize)
    }

    fn key_at(&self, offset: usize) -> Option<Pubkey> {
        let bytes: [u8; 32] = self.data.get(offset..offset + 32)?.try_into().ok()?;
        Some(Pubkey::new_from_array(bytes))
    }

    pub fn count(&self) -> usize {
        self.u16_at(0).unwrap_or(0)
    }

    pub fn current_index(&self) -> Option<usize> {
        self.u16_at(self.data.len().checked_sub(2)?)
    }

    /// The flash step at `index`, or `None` if that instruction is not one of ours.
    pub fn flash_step(&self, index: usize) -> Option<FlashStep> {
        const META_LEN: usize = 33;
        let start = self.u16_at(2 + 2 * index)?;
        let account_count = self.u16_at(start)?;
        let accounts_start = start + 2;
        let program_id_start = accounts_start + account_count * META_LEN;
        if self.key_at(program_id_start)? != crate::ID || account_count <= RESERVE_ACCOUNT_INDEX {
            return None;
        }
        let data_len = self.u16_at(program_id_start + 32)?;
        let data_start = program_id_start + 34;
        let data = self.data.get(data_start..data_start + data_len)?;
        let market = self.key_at(accounts_start + MARKET_ACCOUNT_INDEX * META_LEN + 1)?;
        let reserve = self.key_at(accounts_start + RESERVE_ACCOUNT_INDEX * META_LEN + 1)?;
        FlashStep::parse(&crate::ID, &[market, reserve], data)
    }

    /// This program's flash instructions at `indices`, in order.
    pub fn flash_steps(&self, indices: std::ops::Range<usize>) -> impl Iterator<Item = FlashStep> + '_ {
        indices.filter_map(|index| self.flash_step(index))
    }
}

fn with_sysvar<T>(sysvar: &AccountInfo, read: impl FnOnce(&InstructionsSysvar, usize) -> Result<T>) -> Result<T> {
    require_keys_eq!(*sysvar.key, INSTRUCTIONS_SYSVAR_ID, LendingError::InvalidInstructionsSysvar);
    let data = sysvar.try_borrow_data()?;
    let instructions = InstructionsSysvar::new(&data);
    let current = instructions.current_index().ok_or(LendingError::InvalidInstructionsSysvar)?;
    read(&instructions, current)
}

/// Checked by `flash_borrow`: its repay comes later in this transaction.
pub fn require_repay_follows(sysvar: &AccountInfo, reserve: &Pubkey, amount: u64) -> Result<()> {
    with_sysvar(sysvar, |instructions, current| {
        check_repay_follows(instructions.flash_steps(current + 1..instructions.count()), reserve, amount)?;
        Ok(())
    })
}

/// Checked by instructions that move obligation state between owners or change reserve config.
pub fn require_no_open_flash_loan(sysvar: &AccountInfo, market: &Pubkey) -> Result<()> {
    with_sysvar(sysvar, |instructions, current| {
        require!(!flash_loan_open(instructions.flash_steps(0..current), market), LendingError::FlashLoanActive);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn borrow(reserve: u8, amount: u64) -> FlashStep {
        FlashStep::Borrow { market: Pubkey::new_from_array([9; 32]), reserve: Pubkey::new_from_array([reserve; 32]), amount }
    }

    fn repay(reserve: u8, amount: u64) -> FlashStep {
        FlashStep::Repay { market: Pubkey::new_from_array([9; 32]), reserve: Pubkey::new_from_array([reserve; 32]), amount }
    }

    #[test]
    fn repay_must_follow_for_the_same_reserve_and_amount() {
        let reserve = Pubkey::new_from_array([1; 32]);
        assert_eq!(check_repay_follows([repay(1, 50)].into_iter(), &reserve, 50), Ok(()));
        assert_eq!(check_repay_follows([].into_iter(), &reserve, 50), Err(LendingError::FlashRepayMissing));
        assert_eq!(check_repay_follows([repay(1, 49)].into_iter(), &reserve, 50), Err(LendingError::FlashRepayAmountMismatch));
        assert_eq!(check_repay_follows([repay(2, 50)].into_iter(), &reserve, 50), Err(LendingError::FlashRepayReserveMismatch));
        assert_eq!(
            check_repay_follows([borrow(2, 5), repay(2, 5), repay(1, 50)].into_iter(), &reserve, 50),
            Err(LendingError::FlashLoanNested)
        );
    }

    #[test]
    fn open_loan_tracks_borrow_and_repay_on_the_market() {
        let market = Pubkey::new_from_array([9; 32]);
        let other = Pubkey::new_from_array([8; 32]);
        assert!(!flash_loan_open([].into_iter(), &market));
        assert!(flash_loan_open([borrow(1, 5)].into_iter(), &market));
        assert!(!flash_loan_open([borrow(1, 5), repay(1, 5)].into_iter(), &market));
        assert!(!flash_loan_open([borrow(1, 5)].into_iter(), &other));
    }

    #[test]
    fn parse_reads_only_this_programs_flash_instructions() {
        let accounts = [Pubkey::new_from_array([9; 32]), Pubkey::new_from_array([1; 32])];
        let mut data = crate::instruction::FlashBorrow::DISCRIMINATOR.to_vec();
        data.extend_from_slice(&50u64.to_le_bytes());
        assert_eq!(FlashStep::parse(&crate::ID, &accounts, &data), Some(borrow(1, 50)));
        assert_eq!(FlashStep::parse(&Pubkey::new_from_array([3; 32]), &accounts, &data), None);
        assert_eq!(FlashStep::parse(&crate::ID, &accounts[..1], &data), None);
        let mut deposit = crate::instruction::Deposit::DISCRIMINATOR.to_vec();
        deposit.extend_from_slice(&50u64.to_le_bytes());
        assert_eq!(FlashStep::parse(&crate::ID, &accounts, &deposit), None);
    }

    #[test]
    fn sysvar_id_is_the_runtimes() {
        use anchor_lang::solana_program::sysvar::SysvarId;
        assert_eq!(INSTRUCTIONS_SYSVAR_ID, anchor_lang::prelude::Instructions::id());
    }

    /// The in-place reader agrees with the sysvar as the runtime's own encoder writes it.
    #[test]
    fn sysvar_reader_matches_the_encoder() {
        use anchor_lang::solana_program::sysvar::instructions::{construct_instructions_data, BorrowedAccountMeta, BorrowedInstruction};
        let market = Pubkey::new_from_array([9; 32]);
        let reserve = Pubkey::new_from_array([1; 32]);
        let other_program = Pubkey::new_from_array([5; 32]);
        let keys = [market, reserve, Pubkey::new_from_array([2; 32])];
        let metas = |count: usize| -> Vec<BorrowedAccountMeta> {
            keys[..count].iter().map(|key| BorrowedAccountMeta { pubkey: key, is_signer: false, is_writable: true }).collect()
        };
        let data_of = |discriminator: &[u8], amount: u64| {
            let mut data = discriminator.to_vec();
            data.extend_from_slice(&amount.to_le_bytes());
            data
        };
        let borrow_data = data_of(crate::instruction::FlashBorrow::DISCRIMINATOR, 70);
        let repay_data = data_of(crate::instruction::FlashRepay::DISCRIMINATOR, 70);
        let other_data = data_of(crate::instruction::FlashBorrow::DISCRIMINATOR, 1);
        let instructions = [
            BorrowedInstruction { program_id: &crate::ID, accounts: metas(3), data: &borrow_data },
            BorrowedInstruction { program_id: &other_program, accounts: metas(3), data: &other_data },
            BorrowedInstruction { program_id: &crate::ID, accounts: metas(1), data: &borrow_data },
            BorrowedInstruction { program_id: &crate::ID, accounts: metas(3), data: &repay_data },
        ];
        let mut data = construct_instructions_data(&instructions);
        let len = data.len();
        data[len - 2..].copy_from_slice(&1u16.to_le_bytes());
        let sysvar = InstructionsSysvar::new(&data);
        assert_eq!(sysvar.count(), 4);
        assert_eq!(sysvar.current_index(), Some(1));
        assert_eq!(sysvar.flash_step(0), Some(FlashStep::Borrow { market, reserve, amount: 70 }));
        assert_eq!(sysvar.flash_step(1), None, "another program's instruction");
        assert_eq!(sysvar.flash_step(2), None, "too few accounts to be a flash instruction");
        assert_eq!(sysvar.flash_step(3), Some(FlashStep::Repay { market, reserve, amount: 70 }));
        assert_eq!(sysvar.flash_step(4), None, "past the end");
        assert_eq!(sysvar.flash_steps(1..4).collect::<Vec<_>>(), vec![FlashStep::Repay { market, reserve, amount: 70 }]);
    }
}
