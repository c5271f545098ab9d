//! Masked previews: enough to recognise a finding, never the full value.

use crate::Entity;

/// Stars for `n` hidden characters, capped so a long secret does not flood a report.
fn stars(n: usize) -> String {
    "*".repeat(n.min(16))
}

/// Keep the first `head` and last `tail` characters, star the rest; when the
/// value is too short to hide anything that way, star all of it.
fn keep_ends(value: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    // At least half of the value, and at least 4 characters, stay hidden.
    if n < 8 || head + tail > n / 2 {
        return stars(n.max(4));
    }
    let mut out: String = chars.iter().take(head).collect();
    out.push_str(&stars(n - head - tail));
    out.extend(chars.iter().skip(n - tail));
    out
}

/// Star every ASCII digit except the last `keep`, leaving the separators so
/// the shape stays readable.
fn mask_digits(value: &str, keep: usize) -> String {
    let total = value.bytes().filter(u8::is_ascii_digit).count();
    // Hide at least half of the digits.
    let keep = keep.min(total / 2);
    let mut seen = 0;
    value
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen + keep > total {
                    return c;
                }
                return '*';
            }
            if c.is_alphanumeric() {
                '*'
            } else {
                c
            }
        })
        .collect()
}

fn mask_email(value: &str) -> String {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return keep_ends(value, 1, 0);
    };
    let (host, tld) = domain.rsplit_once('.').unwrap_or((domain, ""));
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    let host_rest = host.chars().count().saturating_sub(1);
    format!(
        "{}***@{}{}.{}",
        first(local),
        first(host),
        stars(host_rest.max(3)),
        tld
    )
}

fn mask_ip(value: &str) -> String {
    if let Some((first, _)) = value.split_once('.') {
        return format!("{first}.*.*.*");
    }
    match value.split_once(':') {
        Some((first, _)) if !first.is_empty() => format!("{first}:****:****"),
        _ => "****:****".to_string(),
    }
}

/// The BEGIN line, which names the kind of key, and the size of the rest. The
/// line ends at the dashes after its label: what follows may be a line break,
/// an escaped one (`\n`) or, in a flattened key, the key material itself.
fn mask_private_key(value: &str) -> String {
    let header = value
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.find("-----"))
        .and_then(|label| value.get(.."-----BEGIN ".len() + label + 5));
    match header {
        Some(header) if header.len() <= 64 && !header.contains(['\n', '\\']) => {
            format!("{header} [{} bytes hidden]", value.len())
        }
        _ => format!("[private key, {} bytes hidden]", value.len()),
    }
}

/// The first letter of each word, the other letters and digits starred
/// (`Maria Garcia` -> `M**** G*****`); a single short word is starred whole.
fn initials(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut first = true;
    for c in value.chars() {
        if c.is_alphanumeric() {
            out.push(if first { c } else { '*' });
            first = false;
        } else {
            out.push(c);
            first = true;
        }
    }
    if value.chars().count() < 4 || !out.contains('*') {
        return stars(value.chars().count().max(4));
    }
    out
}

/// Scheme and the first letter of the host; the rest starred.
fn mask_url(value: &str) -> String {
    match value.split_once("://") {
        Some((scheme, rest)) if scheme.len() <= 6 => {
            let first: String = rest.chars().take(1).collect();
            format!(
                "{scheme}://{first}{}",
                stars(rest.chars().count().saturating_sub(1).max(4))
            )
        }
        _ => stars(value.chars().count().max(4)),
    }
}

/// A street address: every letter and digit starred but the street type.
fn mask_address(value: &str) -> String {
    // The last word starts after the last white space, which may be wider
    // than a byte (a no-break space).
    let last_word = value
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(value.len(), |(p, c)| p + c.len_utf8());
    let (head, tail) = value.split_at_checked(last_word).unwrap_or((value, ""));
    let keep = !tail.is_empty() && tail.chars().all(char::is_alphabetic) && last_word > 0;
    let head = if keep { head } else { value };
    let masked: String = head
        .chars()
        .map(|c| if c.is_alphanumeric() { '*' } else { c })
        .collect();
    if keep {
        format!("{masked}{tail}")
    } else {
        masked
    }
}

/// Length of a vendor prefix worth showing (it says which service to rotate).
fn secret_prefix_len(entity: Entity, value: &str) -> usize {
    let prefixes: &[&str] = match entity {
        Entity::AwsAccessKey => &["AKIA", "ASIA"],
        Entity::GithubToken => &["github_pat_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        Entity::GitlabToken => &["glpat-"],
        Entity::SlackToken => &[
            "https://hooks.slack.com/",
            "xoxb-",
            "xoxp-",
            "xoxa-",
            "xoxr-",
            "xoxs-",
        ],
        Entity::StripeKey => &["sk_live_", "rk_live_", "sk_test_", "rk_test_"],
        Entity::GoogleApiKey => &["AIza"],
        Entity::OpenaiKey => &["sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"],
        Entity::Jwt => &["eyJ"],
        _ => &[],
    };
    prefixes
        .iter()
        .find(|p| value.starts_with(*p))
        .map_or(0, |p| p.len())
}

/// A masked preview of `value` (what the detector matched as `entity`).
///
/// The full value is never returned: cards and SSNs keep the last four digits
/// as receipts do, e-mails the first letters, vendor secrets their public
/// prefix and last four characters, passwords nothing at all.
///
/// ```
/// use mlsec_pii::{mask, Entity};
/// assert_eq!(mask(Entity::Email, "john@example.com"), "j***@e******.com");
/// assert_eq!(mask(Entity::CreditCard, "4111 1111 1111 1111"), "**** **** **** 1111");
/// assert_eq!(mask(Entity::AwsAccessKey, "AKIAIOSFODNN7EXAMPLE"), "AKIA************MPLE");
/// ```
pub fn mask(entity: Entity, value: &str) -> String {
    match entity {
        Entity::Email => mask_email(value),
        Entity::CreditCard | Entity::UsSsn | Entity::Iban => {
            let keep_cc = if entity == Entity::Iban {
                value
                    .get(..2)
                    .filter(|cc| cc.bytes().all(|b| b.is_ascii_uppercase()))
            } else {
                None
            };
            match keep_cc.zip(value.get(2..)) {
                Some((cc, rest)) => format!("{cc}{}", mask_digits(rest, 4)),
                None => mask_digits(value, 4),
            }
        }
        Entity::Phone => mask_digits(value, 2),
        Entity::DateOfBirth | Entity::DateTime => mask_digits(value, 0),
        Entity::Person | Entity::Location | Entity::Organization | Entity::Nrp => initials(value),
        Entity::StreetAddress => mask_address(value),
        Entity::Url => mask_url(value),
        Entity::UsPassport | Entity::UsDriverLicense | Entity::UsBankNumber | Entity::UkNhs => {
            mask_digits(value, 2)
        }
        Entity::IpAddress => mask_ip(value),
        Entity::PrivateKey => mask_private_key(value),
        Entity::Password => "********".to_string(),
        Entity::GenericSecret | Entity::AwsSecretKey => keep_ends(value, 0, 4),
        _ => {
            // The prefix is one of the literals `value` starts with.
            let (prefix, rest) = value
                .split_at_checked(secret_prefix_len(entity, value))
                .unwrap_or(("", value));
            let masked = keep_ends(rest, 0, 4);
            format!("{prefix}{masked}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_hide_the_value() {
        assert_eq!(
            mask(Entity::CreditCard, "4111111111111111"),
            "************1111"
        );
        assert_eq!(mask(Entity::UsSsn, "536-22-8741"), "***-**-8741");
        assert_eq!(
            mask(Entity::Phone, "+1 (415) 555-0123"),
            "+* (***) ***-**23"
        );
        assert_eq!(
            mask(Entity::Iban, "DE89370400440532013000"),
            "DE****************3000"
        );
        assert_eq!(mask(Entity::IpAddress, "192.168.10.4"), "192.*.*.*");
        assert_eq!(mask(Entity::IpAddress, "2001:db8::1"), "2001:****:****");
        assert_eq!(mask(Entity::DateOfBirth, "1984-03-12"), "****-**-**");
        assert_eq!(mask(Entity::Password, "hunter2"), "********");
        assert_eq!(
            mask(
                Entity::GithubToken,
                "ghp_abcdefghijklmnopqrstuvwxyz0123456789"
            ),
            "ghp_****************6789"
        );
        assert_eq!(mask(Entity::GenericSecret, "short"), "*****");
        assert_eq!(mask(Entity::Person, "Maria Garcia"), "M**** G*****");
        assert_eq!(mask(Entity::Person, "Bob"), "****");
        assert_eq!(mask(Entity::Organization, "Acme Corp"), "A*** C***");
        assert_eq!(
            mask(Entity::StreetAddress, "221B Baker Street"),
            "**** ***** Street"
        );
        // A no-break space (two bytes) before the street type.
        assert_eq!(
            mask(Entity::StreetAddress, "221B Baker\u{a0}Street"),
            "**** *****\u{a0}Street"
        );
        assert_eq!(mask(Entity::DateTime, "March 3, 2024"), "***** *, ****");
        assert_eq!(
            mask(Entity::Url, "https://x.example.com/u/jdoe"),
            "https://x****************"
        );
        assert_eq!(mask(Entity::UkNhs, "943 476 5919"), "*** *** **19");
        assert_eq!(mask(Entity::UsPassport, "C03005988"), "*******88");
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----";
        assert!(!mask(Entity::PrivateKey, pem).contains("MIIB"));
    }

    #[test]
    fn never_the_whole_value_and_never_a_panic() {
        for entity in Entity::ALL {
            for value in [
                "",
                "a",
                "é",
                "@",
                "ab@cd",
                "12",
                "ghp_",
                "日本語のテキスト",
                "x".repeat(100).as_str(),
            ] {
                let m = mask(*entity, value);
                if value.chars().count() >= 2 {
                    assert_ne!(m, value, "{entity}: {value:?}");
                }
            }
        }
    }
}
