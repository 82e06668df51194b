//! Money: whole minor units (fen for CNY) in an ISO 4217 currency the product knows, never
//! negative where an amount is a price or a cost, and never above [`MAX_MINOR`], so that every
//! sum and every split the product makes fits in 64 bits with room to spare.
//!
//! The bound is 10^15 minor units (10 trillion yuan): far above any repair, and low enough
//! that 9,000 such amounts add up without overflow and that a split (amount × percent, at
//! most 100) never overflows either. Arithmetic is checked all the same: an amount the product
//! cannot carry is refused, never wrapped.

use std::fmt;

/// The largest amount, in minor units, the product accepts.
pub const MAX_MINOR: i64 = 1_000_000_000_000_000;

/// ISO 4217 currencies the product knows, with the number of digits of their minor unit.
/// A code not listed here is refused (a new currency is a new line here, checked against the
/// standard's table).
const KNOWN: &[(&str, u8)] = &[
    ("AED", 2),
    ("AUD", 2),
    ("BHD", 3),
    ("CAD", 2),
    ("CHF", 2),
    ("CNY", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("IDR", 2),
    ("INR", 2),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("KZT", 2),
    ("MOP", 2),
    ("MYR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PHP", 2),
    ("QAR", 2),
    ("RUB", 2),
    ("SAR", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TWD", 2),
    ("USD", 2),
    ("VND", 0),
];

/// A currency the product knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    digits: u8,
}

impl Currency {
    /// The yuan.
    pub const CNY: Currency = Currency {
        code: "CNY",
        digits: 2,
    };

    /// The currency of an ISO 4217 code (upper case), if the product knows it.
    pub fn parse(code: &str) -> Option<Currency> {
        KNOWN
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(code, digits)| Currency {
                code,
                digits: *digits,
            })
    }

    /// The ISO 4217 code.
    pub fn code(self) -> &'static str {
        self.code
    }

    /// Digits of the minor unit (2 for CNY, 0 for JPY).
    pub fn digits(self) -> u8 {
        self.digits
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

/// Why an amount is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// No currency code.
    #[error("a currency is required (an ISO 4217 code such as CNY)")]
    NoCurrency,
    /// A code the product does not know.
    #[error("{0:?} is not an ISO 4217 currency this product knows")]
    UnknownCurrency(String),
    /// Below zero where only a price or a cost makes sense.
    #[error("must not be negative")]
    Negative,
    /// Above [`MAX_MINOR`].
    #[error("must be at most {MAX_MINOR} minor units")]
    TooLarge,
    /// Two amounts in different currencies put together.
    #[error("{0} and {1} amounts cannot be added or compared")]
    Mixed(&'static str, &'static str),
}

impl MoneyError {
    /// What is wrong, from the catalogue.
    pub fn message(&self) -> steelcare_i18n::Msg {
        use steelcare_i18n::msg;
        match self {
            MoneyError::NoCurrency => msg!("money-no-currency"),
            MoneyError::UnknownCurrency(code) => {
                msg!(
                    "money-unknown-currency",
                    code = code.chars().take(16).collect::<String>()
                )
            }
            MoneyError::Negative => msg!("field-negative"),
            MoneyError::TooLarge => msg!("money-too-large", max = MAX_MINOR),
            MoneyError::Mixed(a, b) => msg!("money-mixed", first = *a, second = *b),
        }
    }
}

/// An amount: whole minor units in a known currency, 0..=[`MAX_MINOR`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount {
    currency: Currency,
    minor: i64,
}

impl Amount {
    /// An amount, refused when negative or too large.
    pub fn new(currency: Currency, minor: i64) -> Result<Amount, MoneyError> {
        if minor < 0 {
            return Err(MoneyError::Negative);
        }
        if minor > MAX_MINOR {
            return Err(MoneyError::TooLarge);
        }
        Ok(Amount { currency, minor })
    }

    /// An amount from its wire form (code and minor units).
    pub fn parse(code: &str, minor: i64) -> Result<Amount, MoneyError> {
        if code.is_empty() {
            return Err(MoneyError::NoCurrency);
        }
        let currency =
            Currency::parse(code).ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))?;
        Amount::new(currency, minor)
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Amount {
        Amount { currency, minor: 0 }
    }

    /// The currency.
    pub fn currency(self) -> Currency {
        self.currency
    }

    /// Minor units.
    pub fn minor(self) -> i64 {
        self.minor
    }

    /// The sum, refused across currencies or above the bound.
    pub fn checked_add(self, other: Amount) -> Result<Amount, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::TooLarge)?;
        Amount::new(self.currency, minor)
    }

    /// The difference, refused across currencies or below zero.
    pub fn checked_sub(self, other: Amount) -> Result<Amount, MoneyError> {
        self.same_currency(other)?;
        Amount::new(self.currency, self.minor - other.minor)
    }

    /// Refuses two currencies.
    pub fn same_currency(self, other: Amount) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::Mixed(self.currency.code, other.currency.code))
        }
    }

    /// Splits the amount by `percents` (adding up to 100) so that the parts add up to the
    /// whole to the minor unit: see [`split`].
    pub fn split(self, percents: &[u32]) -> Vec<Amount> {
        split(self.minor, percents)
            .into_iter()
            .map(|minor| Amount {
                currency: self.currency,
                minor,
            })
            .collect()
    }

    /// The number without the currency, grouped by thousands: `1,234.56`, `1,234` for JPY.
    pub fn number(self) -> String {
        let digits = u32::from(self.currency.digits);
        let scale = 10_i64.pow(digits);
        let whole = (self.minor / scale).to_string();
        let mut grouped = String::new();
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if digits == 0 {
            grouped
        } else {
            format!(
                "{grouped}.{:0width$}",
                self.minor % scale,
                width = digits as usize
            )
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.currency.code, self.number())
    }
}

/// Splits `total` minor units by `percents` (which add up to 100) so that the parts add up
/// to `total` exactly. The rounding rule: each part is first `total × percent / 100` rounded
/// down; the minor units left over (fewer than the number of parts) go one each to the parts
/// with the largest remainders, ties to the part listed first. Computed in 128 bits, so no
/// amount the product accepts can overflow it.
pub fn split(total: i64, percents: &[u32]) -> Vec<i64> {
    let exact: Vec<i128> = percents
        .iter()
        .map(|p| i128::from(total) * i128::from(*p))
        .collect();
    let mut parts: Vec<i128> = exact.iter().map(|e| e.div_euclid(100)).collect();
    let mut rest = i128::from(total) - parts.iter().sum::<i128>();
    let mut order: Vec<usize> = (0..percents.len()).collect();
    order.sort_by_key(|i| std::cmp::Reverse(exact[*i].rem_euclid(100)));
    for i in order {
        if rest <= 0 {
            break;
        }
        parts[i] += 1;
        rest -= 1;
    }
    parts
        .into_iter()
        .map(|p| i64::try_from(p).unwrap_or(i64::MAX))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_are_refused_that_the_product_cannot_carry() {
        assert_eq!(Amount::parse("", 1), Err(MoneyError::NoCurrency));
        assert_eq!(
            Amount::parse("XYZ", 1),
            Err(MoneyError::UnknownCurrency("XYZ".into()))
        );
        assert_eq!(
            Amount::parse("cny", 1),
            Err(MoneyError::UnknownCurrency("cny".into()))
        );
        assert_eq!(Amount::parse("CNY", -1), Err(MoneyError::Negative));
        assert_eq!(Amount::parse("CNY", i64::MAX), Err(MoneyError::TooLarge));
        assert_eq!(
            Amount::parse("CNY", MAX_MINOR + 1),
            Err(MoneyError::TooLarge)
        );
        let max = Amount::parse("CNY", MAX_MINOR).unwrap();
        assert_eq!(max.checked_add(max), Err(MoneyError::TooLarge));
        let usd = Amount::parse("USD", 1).unwrap();
        assert_eq!(max.checked_add(usd), Err(MoneyError::Mixed("CNY", "USD")));
        assert_eq!(
            usd.checked_sub(Amount::parse("USD", 2).unwrap()),
            Err(MoneyError::Negative)
        );
    }

    #[test]
    fn amounts_read_as_people_write_them() {
        assert_eq!(
            Amount::parse("CNY", 123_456_789).unwrap().to_string(),
            "CNY 1,234,567.89"
        );
        assert_eq!(Amount::parse("CNY", 5).unwrap().number(), "0.05");
        assert_eq!(
            Amount::parse("JPY", 1_000_000).unwrap().number(),
            "1,000,000"
        );
        assert_eq!(Amount::parse("KWD", 1_500).unwrap().number(), "1.500");
    }

    #[test]
    fn leftover_minor_units_go_to_the_largest_remainders_then_the_first_listed() {
        // 100.01 as 33/33/34: 33.0033, 33.0033, 34.0034 round down to 100.00; the 0.01 left
        // goes to the largest remainder.
        assert_eq!(split(10_001, &[33, 33, 34]), vec![3_300, 3_300, 3_401]);
        // 0.02 as 33/33/34: the largest remainder first, then the tie to the first listed.
        assert_eq!(split(2, &[33, 33, 34]), vec![1, 0, 1]);
        assert_eq!(split(1, &[50, 50]), vec![1, 0]);
        assert_eq!(split(123_456, &[60, 40]), vec![74_074, 49_382]);
        assert_eq!(split(MAX_MINOR, &[1, 99]).iter().sum::<i64>(), MAX_MINOR);
    }

    proptest! {
        #[test]
        fn parts_always_add_up_to_the_whole(
            total in 0i64..=MAX_MINOR,
            a in 1u32..98,
            b in 1u32..2,
        ) {
            let percents = [a, b, 100 - a - b];
            let parts = split(total, &percents);
            prop_assert_eq!(parts.iter().sum::<i64>(), total);
            for (part, p) in parts.iter().zip(percents) {
                let exact = i128::from(total) * i128::from(p);
                prop_assert!(i128::from(*part) * 100 >= exact - 100 && i128::from(*part) * 100 <= exact + 100);
            }
        }
    }
}
