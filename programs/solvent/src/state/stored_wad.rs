use crate::math::Wad;
use anchor_lang::prelude::*;

/// A `Wad` as it sits in zero-copy account data. Upstream LLVM gives `u128` 16-byte alignment on
/// BPF while account data is only 8-byte aligned, so wide values are stored as bytes.
#[zero_copy]
#[derive(Default, Debug, PartialEq, Eq)]
pub struct StoredWad {
    pub le_bytes: [u8; 16],
}

impl StoredWad {
    pub fn get(&self) -> Wad {
        Wad(u128::from_le_bytes(self.le_bytes))
    }

    pub fn set(&mut self, value: Wad) {
        self.le_bytes = value.raw().to_le_bytes();
    }

    pub fn new(value: Wad) -> Self {
        Self { le_bytes: value.raw().to_le_bytes() }
    }
}
