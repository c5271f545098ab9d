//! Validators: the checks that turn a regex-shaped candidate into a finding.
//!
//! All take already-extracted ASCII digits or tokens and never panic.

/// NHS number check: 10 ASCII digits whose last is the mod-11 check digit
/// of the first nine (weights 10 down to 2; a remainder giving 10 is never
/// issued).
pub fn is_nhs(digits: &[u8]) -> bool {
    if digits.len() != 10 || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let Some((&last, body)) = digits.split_last() else {
        return false;
    };
    let sum: u32 = body
        .iter()
        .zip((2..=10).rev())
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let check = match 11 - sum % 11 {
        11 => 0,
        10 => return false,
        c => c,
    };
    // All ten digits the same (0000000000) passes the sum but is no number.
    check == u32::from(last - b'0') && digits.iter().any(|&d| d != last)
}

/// Luhn (mod 10) check over ASCII digits; false for anything else or empty input.
pub fn luhn(digits: &[u8]) -> bool {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut sum = 0u32;
    for (i, d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// Card networks whose number ranges [`card_issuer`] knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issuer {
    Visa,
    Mastercard,
    Amex,
    Discover,
    Jcb,
    Diners,
    UnionPay,
    Maestro,
}

/// The numeric value of the first `n` digits, if there are that many.
fn prefix(digits: &[u8], n: usize) -> Option<u32> {
    let head = digits.get(..n)?;
    head.iter().try_fold(0u32, |acc, d| {
        d.is_ascii_digit().then(|| acc * 10 + u32::from(d - b'0'))
    })
}

/// The issuer whose IIN range and allowed lengths fit these digits, if any.
/// (Ranges from the networks' published IIN tables.)
pub fn card_issuer(digits: &[u8]) -> Option<Issuer> {
    let len = digits.len();
    let p = |n| prefix(digits, n).unwrap_or(u32::MAX);
    let in_range = |n, lo, hi| (lo..=hi).contains(&p(n));
    if p(1) == 4 && matches!(len, 13 | 16 | 19) {
        return Some(Issuer::Visa);
    }
    if (in_range(2, 51, 55) || in_range(4, 2221, 2720)) && len == 16 {
        return Some(Issuer::Mastercard);
    }
    if matches!(p(2), 34 | 37) && len == 15 {
        return Some(Issuer::Amex);
    }
    if (p(4) == 6011 || in_range(3, 644, 649) || p(2) == 65 || in_range(6, 622126, 622925))
        && matches!(len, 16 | 19)
    {
        return Some(Issuer::Discover);
    }
    if in_range(4, 3528, 3589) && (16..=19).contains(&len) {
        return Some(Issuer::Jcb);
    }
    if (in_range(3, 300, 305) || p(4) == 3095 || matches!(p(2), 36 | 38 | 39))
        && (14..=19).contains(&len)
    {
        return Some(Issuer::Diners);
    }
    if p(2) == 62 && (16..=19).contains(&len) {
        return Some(Issuer::UnionPay);
    }
    if matches!(
        p(4),
        5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761 | 6762 | 6763
    ) && (12..=19).contains(&len)
    {
        return Some(Issuer::Maestro);
    }
    None
}

/// A payment card number: issuer range and length, and the Luhn check.
pub fn is_card_number(digits: &[u8]) -> bool {
    card_issuer(digits).is_some() && luhn(digits)
}

/// IBAN length per country code (SWIFT IBAN registry).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NL", 18),
    (b"NO", 15),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"SA", 24),
    (b"SC", 31),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
];

/// The IBAN length registered for a two-letter country code.
pub fn iban_length(country: &[u8]) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(cc, _)| cc.as_slice() == country)
        .map(|&(_, len)| len)
}

/// A full IBAN without spaces: registered country, its exact length, check digits, mod-97 == 1.
pub fn is_iban(compact: &[u8]) -> bool {
    let (Some(country), Some(check)) = (compact.get(..2), compact.get(2..4)) else {
        return false;
    };
    if iban_length(country) != Some(compact.len())
        || !check.iter().all(u8::is_ascii_digit)
        || !compact
            .iter()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return false;
    }
    // Move the first four characters to the end, letters become 10..35, then mod 97.
    let rotated = compact.iter().skip(4).chain(compact.iter().take(4));
    let mut rem = 0u32;
    for &b in rotated {
        if b.is_ascii_digit() {
            rem = (rem * 10 + u32::from(b - b'0')) % 97;
        } else {
            rem = (rem * 100 + u32::from(b - b'A') + 10) % 97;
        }
    }
    rem == 1
}

/// A US SSN given as its nine digits: area not 000/666/900-999, group not 00,
/// serial not 0000, and not one of the numbers published in advertising.
pub fn is_ssn(digits: &[u8]) -> bool {
    if digits.len() != 9 || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let Some((area, rest)) = digits.split_at_checked(3) else {
        return false;
    };
    let Some((group, serial)) = rest.split_at_checked(2) else {
        return false;
    };
    let area = prefix(area, 3).unwrap_or(0);
    let group = prefix(group, 2).unwrap_or(0);
    let serial = prefix(serial, 4).unwrap_or(0);
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
        return false;
    }
    !matches!(digits, b"078051120" | b"219099999" | b"457555462")
}

/// Shannon entropy in bits per character.
pub fn shannon_entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        // A byte indexes a 256-entry table: always in range.
        if let Some(count) = counts.get_mut(usize::from(b)) {
            *count += 1;
        }
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// True for the 8-4-4-4-12 hex shape of a UUID.
pub fn is_uuid(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, &b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

/// Country calling codes (ITU-T E.164 assignments) with 1 and 2 digits; any
/// other valid code has 3 digits and starts with a digit not used here.
const CC_2: &[u32] = &[
    20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56,
    57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
];

/// Length of the country calling code at the start of these international
/// digits, or None when no assigned code fits.
pub fn country_code_len(digits: &[u8]) -> Option<usize> {
    match digits.first()? {
        b'1' | b'7' => Some(1),
        b'0' => None,
        _ => {
            if CC_2.contains(&prefix(digits, 2)?) {
                Some(2)
            } else {
                // 3-digit codes: 21x, 22x..29x, 35x, 37x, 38x, 42x, 50x, 59x, 67x-69x, 85x, 87x-89x, 96x, 97x, 99x
                let p2 = prefix(digits, 2)?;
                let three = matches!(
                    p2,
                    21..=26 | 28 | 29 | 35 | 37 | 38 | 42 | 50 | 59 | 67..=69 | 80 | 85 | 87..=89 | 96 | 97 | 99
                );
                (three && digits.len() >= 3).then_some(3)
            }
        }
    }
}

/// Days in a month (Gregorian), 0 for an invalid month.
fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

/// A real calendar date in a plausible birth-year range (1900..=2030; a
/// two-digit year is accepted as is).
pub fn is_date(year: u32, month: u32, day: u32, four_digit_year: bool) -> bool {
    if four_digit_year && !(1900..=2030).contains(&year) {
        return false;
    }
    let y = if four_digit_year { year } else { 2000 + year };
    day >= 1 && day <= days_in_month(y, month)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_known_numbers() {
        assert!(luhn(b"4111111111111111"));
        assert!(luhn(b"79927398713"));
        assert!(!luhn(b"4111111111111112"));
        assert!(!luhn(b""));
        assert!(!luhn(b"41x1"));
    }

    #[test]
    fn issuers_by_range_and_length() {
        assert_eq!(card_issuer(b"4111111111111111"), Some(Issuer::Visa));
        assert_eq!(card_issuer(b"5555555555554444"), Some(Issuer::Mastercard));
        assert_eq!(card_issuer(b"2223003122003222"), Some(Issuer::Mastercard));
        assert_eq!(card_issuer(b"378282246310005"), Some(Issuer::Amex));
        assert_eq!(card_issuer(b"6011111111111117"), Some(Issuer::Discover));
        assert_eq!(card_issuer(b"3530111333300000"), Some(Issuer::Jcb));
        assert_eq!(card_issuer(b"30569309025904"), Some(Issuer::Diners));
        assert_eq!(card_issuer(b"6200000000000005"), Some(Issuer::UnionPay));
        assert_eq!(card_issuer(b"6759649826438453"), Some(Issuer::Maestro));
        // Right prefix, wrong length; unknown prefix.
        assert_eq!(card_issuer(b"37828224631000"), None);
        assert_eq!(card_issuer(b"9111111111111111"), None);
        assert!(is_card_number(b"378282246310005"));
        assert!(!is_card_number(b"378282246310006"));
    }

    #[test]
    fn iban_mod97_and_length() {
        assert!(is_iban(b"DE89370400440532013000"));
        assert!(is_iban(b"GB82WEST12345698765432"));
        assert!(is_iban(b"FR1420041010050500013M02606"));
        assert!(is_iban(b"NO9386011117947"));
        assert!(!is_iban(b"DE89370400440532013001"), "check digits");
        assert!(!is_iban(b"DE8937040044053201300"), "length");
        assert!(!is_iban(b"XX89370400440532013000"), "country");
        assert!(!is_iban(b"DE"));
    }

    #[test]
    fn ssn_ranges() {
        assert!(is_ssn(b"536228741"));
        assert!(!is_ssn(b"000228741"));
        assert!(!is_ssn(b"666228741"));
        assert!(!is_ssn(b"912228741"));
        assert!(!is_ssn(b"536008741"));
        assert!(!is_ssn(b"536220000"));
        assert!(!is_ssn(b"078051120"));
        assert!(!is_ssn(b"53622874"));
    }

    #[test]
    fn entropy_and_uuid() {
        assert!(shannon_entropy(b"aaaaaaaaaaaaaaaa") < 0.01);
        assert!(shannon_entropy(b"q8Zr3LmN0vT5xK2pW7yB") > 4.0);
        assert!(is_uuid(b"550e8400-e29b-41d4-a716-446655440000"));
        assert!(!is_uuid(b"550e8400e29b41d4a716446655440000"));
    }

    #[test]
    fn country_codes() {
        assert_eq!(country_code_len(b"14155550123"), Some(1));
        assert_eq!(country_code_len(b"442079460958"), Some(2));
        assert_eq!(country_code_len(b"353861234567"), Some(3));
        assert_eq!(country_code_len(b"0123"), None);
    }

    #[test]
    fn dates() {
        assert!(is_date(1988, 2, 29, true));
        assert!(!is_date(1989, 2, 29, true));
        assert!(!is_date(1850, 1, 1, true));
        assert!(!is_date(1990, 13, 1, true));
    }
}
