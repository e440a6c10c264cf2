//! The "example" value of the sample endpoints: doubled exactly, on its decimal text.
//!
//! Working on the digits rather than on `f64`/`i64` keeps integers integers (21 → 42), keeps
//! decimals exact (1.5 → 3.0, 0.1 → 0.2) and cannot wrap around or saturate. A value that is, or
//! would become, outside what a double holds (what a browser's number input produces) is refused,
//! so no client ever reads back `Infinity`, or 0 for a non-zero value.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The value the GET endpoints return.
pub const DEFAULT_EXAMPLE: &str = "123";

/// `{"example": n}` as sent by the client; unknown fields are ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"example": 21}))]
pub struct SampleRequest {
    /// Any JSON number whose double a 64-bit float holds (half the largest double either way).
    #[schema(
        value_type = f64,
        minimum = -8.988465674311579e307,
        maximum = 8.988465674311579e307
    )]
    pub example: Box<RawValue>,
}

/// `{"example": n}` as returned.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"example": 123}))]
pub struct Sample {
    #[schema(value_type = f64)]
    pub example: Box<RawValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SampleError {
    #[error("`example` must be a number")]
    NotANumber,
    #[error(
        "`example` is out of range: the value and its double must fit in a 64-bit floating-point number, and a value that is not 0 must not round to 0"
    )]
    OutOfRange,
}

impl Sample {
    pub fn default_value() -> Sample {
        Sample {
            example: number(DEFAULT_EXAMPLE.to_owned()),
        }
    }

    /// `{"example": 2n}` for a request `{"example": n}`.
    pub fn doubled(request: &SampleRequest) -> Result<Sample, SampleError> {
        Ok(Sample {
            example: number(double_text(request.example.get())?),
        })
    }
}

fn number(text: String) -> Box<RawValue> {
    // The text is a JSON number we built digit by digit; RawValue only re-checks its syntax.
    RawValue::from_string(text).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// Doubles a JSON number given as text, exactly. Accepts only the JSON number grammar.
pub fn double_text(text: &str) -> Result<String, SampleError> {
    if !is_json_number(text) {
        return Err(SampleError::NotANumber);
    }
    if !fits_f64(text) {
        return Err(SampleError::OutOfRange);
    }
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => unsigned.split_at(at),
        None => (unsigned, ""),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));

    let digits: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes())
        .map(|b| b - b'0')
        .collect();
    let mut doubled = Vec::with_capacity(digits.len() + 1);
    let mut carry = 0;
    for d in digits.iter().rev() {
        let v = d * 2 + carry;
        doubled.push(b'0' + v % 10);
        carry = v / 10;
    }
    if carry > 0 {
        doubled.push(b'0' + carry);
    }
    doubled.reverse();

    let split = doubled.len() - frac_part.len();
    let (new_int, new_frac) = doubled.split_at(split);
    let first_significant = new_int
        .iter()
        .position(|&b| b != b'0')
        .unwrap_or(new_int.len() - 1);
    let mut out = String::with_capacity(text.len() + 2);
    if negative {
        out.push('-');
    }
    out.extend(new_int[first_significant..].iter().map(|&b| b as char));
    if !frac_part.is_empty() {
        out.push('.');
        out.extend(new_frac.iter().map(|&b| b as char));
    }
    out.push_str(exponent);

    if !fits_f64(&out) {
        return Err(SampleError::OutOfRange);
    }
    Ok(out)
}

/// True when the number is within what a double can represent: not beyond its largest value, and
/// not a non-zero value so small that it would read back as 0.
fn fits_f64(text: &str) -> bool {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() => value != 0.0 || !has_nonzero_digit(text),
        _ => false,
    }
}

fn has_nonzero_digit(text: &str) -> bool {
    let mantissa = text.split(['e', 'E']).next().unwrap_or(text);
    mantissa.bytes().any(|b| matches!(b, b'1'..=b'9'))
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
fn is_json_number(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    let digits_from = |mut i: usize| {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        (i, i - start)
    };
    if bytes.first() == Some(&b'-') {
        i += 1;
    }
    let (next, count) = digits_from(i);
    if count == 0 || (count > 1 && bytes[i] == b'0') {
        return false;
    }
    i = next;
    if bytes.get(i) == Some(&b'.') {
        let (next, count) = digits_from(i + 1);
        if count == 0 {
            return false;
        }
        i = next;
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(bytes.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let (next, count) = digits_from(i);
        if count == 0 {
            return false;
        }
        i = next;
    }
    i == bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_exactly() {
        let cases = [
            ("21", "42"),
            ("0", "0"),
            ("-0", "-0"),
            ("1.5", "3.0"),
            ("0.1", "0.2"),
            ("0.05", "0.10"),
            ("-7", "-14"),
            ("5e-1", "10e-1"),
            ("1.5E3", "3.0E3"),
            ("9223372036854775807", "18446744073709551614"),
            ("18446744073709551615", "36893488147419103230"),
            ("9007199254740993", "18014398509481986"),
            ("99.99", "199.98"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                double_text(input).as_deref(),
                Ok(expected),
                "doubling {input}"
            );
        }
    }

    #[test]
    fn refuses_what_a_double_cannot_hold() {
        assert_eq!(double_text("1e400"), Err(SampleError::OutOfRange));
        assert_eq!(double_text("1e308"), Err(SampleError::OutOfRange));
        assert_eq!(
            double_text("-1.7976931348623157e308"),
            Err(SampleError::OutOfRange)
        );
        assert!(double_text("8.9e307").is_ok());
        assert_eq!(
            double_text("1e-400"),
            Err(SampleError::OutOfRange),
            "would read back as 0"
        );
        assert_eq!(
            double_text("0e-400").as_deref(),
            Ok("0e-400"),
            "zero is zero"
        );
        assert!(double_text("5e-324").is_ok(), "the smallest subnormal");
    }

    #[test]
    fn refuses_non_numbers() {
        for input in [
            "\"21\"", "true", "null", "[1]", "{}", "", "-", "01", "1.", ".5", "1e", "NaN",
            "Infinity",
        ] {
            assert_eq!(
                double_text(input),
                Err(SampleError::NotANumber),
                "input {input:?}"
            );
        }
    }
}
