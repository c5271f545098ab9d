//! The entity types the detectors report, with their stable upper-case names.

use std::fmt;
use std::str::FromStr;

/// What a span holds: a kind of personal data or a kind of credential.
///
/// The upper-case names ([`Entity::as_str`]) are the stable identifiers used in
/// evidence (`entity` field), in `--entities` and in the evaluation set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    Email,
    Phone,
    CreditCard,
    Iban,
    UsSsn,
    IpAddress,
    DateOfBirth,
    AwsAccessKey,
    AwsSecretKey,
    GithubToken,
    GitlabToken,
    SlackToken,
    StripeKey,
    GoogleApiKey,
    OpenaiKey,
    Jwt,
    PrivateKey,
    Password,
    GenericSecret,
}

impl Entity {
    /// Every entity, in documentation order.
    pub const ALL: &'static [Entity] = &[
        Entity::Email,
        Entity::Phone,
        Entity::CreditCard,
        Entity::Iban,
        Entity::UsSsn,
        Entity::IpAddress,
        Entity::DateOfBirth,
        Entity::AwsAccessKey,
        Entity::AwsSecretKey,
        Entity::GithubToken,
        Entity::GitlabToken,
        Entity::SlackToken,
        Entity::StripeKey,
        Entity::GoogleApiKey,
        Entity::OpenaiKey,
        Entity::Jwt,
        Entity::PrivateKey,
        Entity::Password,
        Entity::GenericSecret,
    ];

    /// The stable upper-case name, e.g. `CREDIT_CARD`.
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Email => "EMAIL",
            Entity::Phone => "PHONE",
            Entity::CreditCard => "CREDIT_CARD",
            Entity::Iban => "IBAN",
            Entity::UsSsn => "US_SSN",
            Entity::IpAddress => "IP_ADDRESS",
            Entity::DateOfBirth => "DATE_OF_BIRTH",
            Entity::AwsAccessKey => "AWS_ACCESS_KEY",
            Entity::AwsSecretKey => "AWS_SECRET_KEY",
            Entity::GithubToken => "GITHUB_TOKEN",
            Entity::GitlabToken => "GITLAB_TOKEN",
            Entity::SlackToken => "SLACK_TOKEN",
            Entity::StripeKey => "STRIPE_KEY",
            Entity::GoogleApiKey => "GOOGLE_API_KEY",
            Entity::OpenaiKey => "OPENAI_KEY",
            Entity::Jwt => "JWT",
            Entity::PrivateKey => "PRIVATE_KEY",
            Entity::Password => "PASSWORD",
            Entity::GenericSecret => "GENERIC_SECRET",
        }
    }

    /// True for credentials (rotate them), false for personal data (minimise it).
    pub fn is_secret(self) -> bool {
        !matches!(
            self,
            Entity::Email
                | Entity::Phone
                | Entity::CreditCard
                | Entity::Iban
                | Entity::UsSsn
                | Entity::IpAddress
                | Entity::DateOfBirth
        )
    }

    /// One line on what is detected and how it is validated.
    pub fn description(self) -> &'static str {
        match self {
            Entity::Email => "e-mail address (RFC 5321 shape, dotted domain, alphabetic TLD)",
            Entity::Phone => {
                "phone number: +CC/00CC international (E.164, known country code) or national US/NANP, UK, DE, FR, IN formats; never a decimal number"
            }
            Entity::CreditCard => {
                "payment card number (Luhn and issuer prefix/length: Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro)"
            }
            Entity::Iban => "IBAN (per-country length and ISO 7064 mod-97 check digits)",
            Entity::UsSsn => "US social security number (area 000/666/9xx, group 00, serial 0000 excluded)",
            Entity::IpAddress => "IPv4 or IPv6 address (parsed; not right after version/release/build)",
            Entity::DateOfBirth => "a valid date next to born/DOB/date of birth, or in a dob/birth column",
            Entity::AwsAccessKey => "AWS access key id (AKIA/ASIA + 16 upper-case alphanumerics)",
            Entity::AwsSecretKey => "AWS secret access key (40 base64 characters next to aws/secret words or in such a column)",
            Entity::GithubToken => "GitHub token (ghp_/gho_/ghu_/ghs_/ghr_ + 36, or github_pat_)",
            Entity::GitlabToken => "GitLab personal access token (glpat-)",
            Entity::SlackToken => "Slack token (xoxb-/xoxp-/xoxa-/xoxr-/xoxs-) or hooks.slack.com webhook URL",
            Entity::StripeKey => "Stripe secret or restricted key (sk_live_/rk_live_/sk_test_/rk_test_)",
            Entity::GoogleApiKey => "Google API key (AIza + 35 characters)",
            Entity::OpenaiKey => "OpenAI-style API key (sk-..., sk-proj-...)",
            Entity::Jwt => "JSON Web Token (three base64url parts; the header decodes to JSON with \"alg\")",
            Entity::PrivateKey => {
                "PEM or PGP private key block (-----BEGIN ... PRIVATE KEY----- to its END line, or through its key material when the END line is cut off)"
            }
            Entity::Password => "password in a connection string (scheme://user:PASSWORD@host), after password=/pwd=, or in a password column",
            Entity::GenericSecret => {
                "high-entropy token (length >= 16, mixed character classes) right after key/secret/token/api_key or in such a column"
            }
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The name given to [`Entity::from_str`] is not one of [`Entity::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEntity(pub String);

impl fmt::Display for UnknownEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Entity::ALL.iter().map(|e| e.as_str()).collect();
        write!(
            f,
            "unknown entity {:?} (expected one of: {})",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for UnknownEntity {}

impl FromStr for Entity {
    type Err = UnknownEntity;

    /// Accepts the upper-case names in any case, with `-` for `_`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().replace('-', "_");
        Entity::ALL
            .iter()
            .copied()
            .find(|e| e.as_str().eq_ignore_ascii_case(&wanted))
            .ok_or_else(|| UnknownEntity(s.to_string()))
    }
}
