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
    /// A person's name: `Maria Garcia`, `Dr. Okafor`. Names are the most
    /// common personal data in ML datasets (support tickets, reviews, chat
    /// logs, CRM exports) and identify someone directly. Found from column
    /// names (`name`, `first_name`, `customer`, ...) and, in free text, by a
    /// small token model over capitalisation, titles, context words and
    /// bundled census name lists. Fix: drop or pseudonymise the column,
    /// replace names in text with placeholders before training.
    Person,
    /// A place: city, country, US state, region (`Leeds`, `Portugal`,
    /// `Ohio`). Places narrow down who someone is, and combined with a date
    /// or a name often identify them. From location columns (`city`,
    /// `country`, `state`, ...) and, in text, the token model with bundled
    /// GeoNames place lists. Fix: generalise (city to region or country) or
    /// drop.
    Location,
    /// A street address: `221B Baker Street`, `1600 Pennsylvania Avenue NW`,
    /// `Hauptstraße 12`. An address locates a person's home. From address
    /// columns, and in text a house number next to street words and a
    /// street suffix (`Street`, `Ave`, `Road`, `straße`, `rue`). Fix: drop,
    /// or keep only the postcode area.
    StreetAddress,
    /// An organisation: company, bank, school, agency (`Northwind Traders
    /// Ltd`, `Acme Corp`). An employer or school next to other fields
    /// re-identifies people. From organisation columns (`company`,
    /// `employer`, ...) and in text legal suffixes (`Inc`, `GmbH`, `Ltd`)
    /// and the token model. Fix: generalise to an industry, or drop.
    Organization,
    /// A calendar date, with its time if one follows: `2024-03-12`,
    /// `12/03/2024 14:30`, `March 3, 2024`. Dates of events tied to a
    /// person (admission, purchase, travel) are quasi-identifiers (HIPAA
    /// lists all dates but the year). ISO timestamps with a `T` time part
    /// and epoch seconds (machine metadata), and dates after
    /// version/release words, are not reported; a date of birth is
    /// `DATE_OF_BIRTH`. Fix: truncate to month or year, or shift per person.
    DateTime,
    /// A web address with a scheme: `https://example.org/u/jdoe?ref=mail`.
    /// URLs carry user names, ids and tokens in paths and queries. Only
    /// `http`, `https`, `ftp`, `ftps`, `ws`, `wss` URLs; a URL with a
    /// password in it is reported as that `PASSWORD`. Fix: strip the path
    /// and query, or drop.
    Url,
    /// A US passport number: 9 digits, or a letter and 8 digits (next
    /// generation books), only next to the word `passport` or in a passport
    /// column: without context it is just a number. Fix: drop the value.
    UsPassport,
    /// A US driver's licence number (formats vary by state: letters and
    /// digits, 4 to 16 characters with at least 4 digits), only after
    /// `driver`/`driving` licence words, `DL`/`DLN`, or in such a column.
    /// Fix: drop the value.
    UsDriverLicense,
    /// A US bank account number: 8 to 17 digits, only after
    /// `account`/`acct` words or in a bank account column (a routing number
    /// or card is not one). Fix: drop or tokenise the value.
    UsBankNumber,
    /// A UK NHS number: 10 digits (`943 476 5919`) whose mod-11 check digit
    /// is valid, next to `NHS` or in an NHS column (without context one
    /// 10-digit phone number in eleven would pass). Health-service ids link
    /// records to medical history. Fix: drop or pseudonymise.
    UkNhs,
    /// Nationality, religious or political group: `German`, `Catholic`,
    /// `Republican`. These are special-category data under GDPR article 9
    /// (religion, political opinion, ethnic origin). From a bundled list of
    /// group words (capitalised), and nationality/religion/party columns.
    /// Fix: drop the field unless it is the purpose of the dataset and
    /// lawful.
    Nrp,
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
        Entity::Person,
        Entity::Location,
        Entity::StreetAddress,
        Entity::Organization,
        Entity::DateTime,
        Entity::Url,
        Entity::UsPassport,
        Entity::UsDriverLicense,
        Entity::UsBankNumber,
        Entity::UkNhs,
        Entity::Nrp,
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
            Entity::Person => "PERSON",
            Entity::Location => "LOCATION",
            Entity::StreetAddress => "STREET_ADDRESS",
            Entity::Organization => "ORGANIZATION",
            Entity::DateTime => "DATE_TIME",
            Entity::Url => "URL",
            Entity::UsPassport => "US_PASSPORT",
            Entity::UsDriverLicense => "US_DRIVER_LICENSE",
            Entity::UsBankNumber => "US_BANK_NUMBER",
            Entity::UkNhs => "UK_NHS",
            Entity::Nrp => "NRP",
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
                | Entity::Person
                | Entity::Location
                | Entity::StreetAddress
                | Entity::Organization
                | Entity::DateTime
                | Entity::Url
                | Entity::UsPassport
                | Entity::UsDriverLicense
                | Entity::UsBankNumber
                | Entity::UkNhs
                | Entity::Nrp
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
            Entity::Person => {
                "person name: name/customer/patient columns; in text a token model (capitalisation, titles, context) with census name lists"
            }
            Entity::Location => "city, country, US state or region: location columns; in text the token model with GeoNames place lists",
            Entity::StreetAddress => "street address: house number, street words and a street suffix (Street, Ave, Road, straße, rue), or an address column",
            Entity::Organization => "organisation: company/employer columns; in text legal suffixes (Inc, Ltd, GmbH) and the token model",
            Entity::DateTime => "calendar date (numeric or written, with a following time); not ISO timestamps with T, epoch seconds or version dates",
            Entity::Url => "http(s)/ftp(s)/ws(s) URL (a URL holding a password is reported as PASSWORD)",
            Entity::UsPassport => "US passport number (9 digits, or a letter and 8 digits) next to \"passport\" or in a passport column",
            Entity::UsDriverLicense => "US driver's licence number next to driver/driving licence, DL or DLN words, or in such a column",
            Entity::UsBankNumber => "US bank account number (8-17 digits) next to account/acct words or in a bank account column",
            Entity::UkNhs => "UK NHS number (10 digits, mod-11 check digit) next to \"NHS\" or in an NHS column",
            Entity::Nrp => "nationality, religious or political group (bundled word list; nationality/religion/party columns)",
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
