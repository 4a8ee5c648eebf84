//! Program errors as clients meet them: by code, with the program's own classification
//! (`LendingError::class`: refresh and retry, user error, market condition, fatal).
pub use solvent::errors::{ErrorClass, LendingError};

/// The program error of a custom error code (None: not one of the program's).
pub fn lending_error(code: u32) -> Option<LendingError> {
    LendingError::from_code(code)
}

/// The custom program error code in a failed transaction's error text, as the runtime prints it
/// (`Custom(6038)`) or as RPC nodes report it (`custom program error: 0x1796`).
pub fn custom_error_code(text: &str) -> Option<u32> {
    if let Some(start) = text.find("Custom(").map(|i| i + "Custom(".len()) {
        let digits: String = text[start..].chars().take_while(|c| c.is_ascii_digit()).collect();
        return digits.parse().ok();
    }
    let start = text.find("custom program error: 0x")? + "custom program error: 0x".len();
    let digits: String = text[start..].chars().take_while(|c| c.is_ascii_hexdigit()).collect();
    u32::from_str_radix(&digits, 16).ok()
}

/// Every program error with its code, in code order.
pub fn all_errors() -> impl Iterator<Item = (u32, LendingError)> {
    let first = anchor_lang::error::ERROR_CODE_OFFSET;
    (first..=first + LendingError::LAST as u32).filter_map(|code| Some((code, lending_error(code)?)))
}

/// Whether sending the same request again after a fresh refresh sequence can succeed.
pub fn is_retryable(error: LendingError) -> bool {
    error.class() == ErrorClass::RefreshAndRetry
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The IDL's error list (what the TypeScript client is generated from) and the program's
    /// enum agree one to one: names and codes, none missing after `LendingError::LAST`.
    #[test]
    fn every_idl_error_decodes_to_its_variant() {
        let idl: serde_json::Value = serde_json::from_str(include_str!("../../app/idl/solvent.json")).expect("IDL");
        let errors: Vec<(String, u32)> = idl["errors"]
            .as_array()
            .expect("errors in the IDL")
            .iter()
            .map(|e| (e["name"].as_str().expect("name").to_string(), e["code"].as_u64().expect("code") as u32))
            .collect();
        assert_eq!(errors.len(), all_errors().count(), "LendingError::LAST must name the last variant");
        for (name, code) in errors {
            let error = lending_error(code).unwrap_or_else(|| panic!("{code} {name} does not decode"));
            assert_eq!(format!("{error:?}"), name);
        }
        assert_eq!(lending_error(5_999), None);
        assert_eq!(lending_error(6_000 + LendingError::LAST as u32 + 1), None);
    }

    #[test]
    fn custom_error_codes_are_read_in_both_notations() {
        assert_eq!(custom_error_code("InstructionError(0, Custom(6038))"), Some(6038));
        assert_eq!(custom_error_code("Error processing Instruction 2: custom program error: 0x1796"), Some(6038));
        assert_eq!(custom_error_code("InsufficientFundsForFee"), None);
    }

    #[test]
    fn stale_state_is_retryable_and_a_too_large_borrow_is_not() {
        assert!(is_retryable(LendingError::ReserveChangedSinceRefresh));
        assert!(is_retryable(LendingError::ObligationStale));
        assert_eq!(LendingError::BorrowTooLarge.class(), ErrorClass::UserError);
        assert_eq!(LendingError::InsufficientLiquidity.class(), ErrorClass::MarketCondition);
        assert_eq!(LendingError::MathOverflow.class(), ErrorClass::Fatal);
        assert!(LendingError::OracleFeedMismatch.is_oracle_error() && !LendingError::ZeroAmount.is_oracle_error());
    }
}
