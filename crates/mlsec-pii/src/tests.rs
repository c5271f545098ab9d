use super::*;

fn found(text: &str) -> Vec<(Entity, &str)> {
    found_in(None, text)
}

/// The entities these tests were written for: the pattern detectors from
/// before the name, place and identity-number entities (those have their
/// own tests in `tests_ner.rs`, with every entity on).
const LEGACY: &[Entity] = &[
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

fn found_in<'a>(field: Option<&str>, text: &'a str) -> Vec<(Entity, &'a str)> {
    let detector = Detector::new(LEGACY);
    detector
        .detect_in_field(field, text)
        .into_iter()
        .map(|s| (s.entity, &text[s.start..s.end]))
        .collect()
}

fn assert_one(text: &str, entity: Entity, value: &str) {
    assert_eq!(found(text), vec![(entity, value)], "in {text:?}");
}

fn assert_none(text: &str) {
    assert_eq!(found(text), vec![], "in {text:?}");
}

#[test]
fn entity_names_round_trip() {
    for e in Entity::ALL {
        assert_eq!(e.as_str().parse::<Entity>(), Ok(*e));
        assert_eq!(e.as_str().to_lowercase().parse::<Entity>(), Ok(*e));
        assert!(!e.description().is_empty());
    }
    assert_eq!("credit-card".parse::<Entity>(), Ok(Entity::CreditCard));
    assert!("NAME".parse::<Entity>().is_err());
    assert!(Entity::GithubToken.is_secret() && !Entity::Email.is_secret());
}

#[test]
fn emails() {
    assert_one(
        "write to jane.doe+news@mail.example.co.uk today",
        Entity::Email,
        "jane.doe+news@mail.example.co.uk",
    );
    assert_one(
        "<a href=\"mailto:ops@acme.io\">",
        Entity::Email,
        "ops@acme.io",
    );
    assert_one(
        "end of sentence: bob@example.com.",
        Entity::Email,
        "bob@example.com",
    );
    assert_none("icon@2x.png and lodash@4.17.21 and user@localhost and @handle");
    assert_none("a..b@example.com");
    assert_none("git clone git@github.com:org/repo.git");
    assert_eq!(
        found("postgres://app:S3cret9x@db.acme.io:5432/x"),
        vec![(Entity::Password, "S3cret9x")]
    );
}

#[test]
fn phones() {
    for (text, phone) in [
        ("call +1 (415) 555-0132 now", "+1 (415) 555-0132"),
        ("Tel: (212) 555-0187", "(212) 555-0187"),
        ("US 415-555-0132.", "415-555-0132"),
        ("toll free 1 800 555 0199", "1 800 555 0199"),
        ("UK office 020 7946 0958", "020 7946 0958"),
        ("mobile +44 7700 900123", "+44 7700 900123"),
        ("Berlin +49 (0)30 1234567", "+49 (0)30 1234567"),
        ("Zentrale 030/12345678", "030/12345678"),
        ("Paris 01 42 68 53 00", "01 42 68 53 00"),
        ("portable 06.12.34.56.78", "06.12.34.56.78"),
        ("India +91 98765 43210", "+91 98765 43210"),
        ("WhatsApp 0044 20 7946 0958", "0044 20 7946 0958"),
        ("intl +4915123456789", "+4915123456789"),
    ] {
        assert_one(text, Entity::Phone, phone);
    }
    for text in [
        "order 4155550132 shipped",
        "Order #100234567",
        "ORD-2024-000123",
        "invoice 2023-10-05 12:30",
        "values 0.12 0.34 0.56 0.78",
        "version 1.2.3 and 10.11.12",
        "+999 123",
        "(911) 555-0123",
        "years 2019 2020 2021",
        "ts 1699999999999",
    ] {
        assert_none(text);
    }
    assert_eq!(
        found_in(Some("phone"), "4155550132"),
        vec![(Entity::Phone, "4155550132")]
    );
}

/// Issue 9: digits after a decimal point are a fraction, not a phone number.
/// 100,000 floats as `random.random()` prints them gave 1,001 PHONE findings
/// (`0.0948123594256941` read as 00 + an international number), and
/// `redact --strategy drop-column` then dropped a score column.
#[test]
fn decimals_are_not_phone_numbers() {
    for text in [
        "0.0567809958231964",
        "0.0948123594256941",
        "score 0.0567809958231964 end",
        "-12.5551234567",
        "-0.0567809958231964",
        "3.14159265358979e-05",
        "3.14159265358979e+05 and 2.5E10",
        "+86.2143357863651",
        "+1.4155550132",
        "(0.0567809958231964)",
        "65432.12345",
        "0 0.812900552862365",
        "label 0 0.812900552862365 ok",
        "0.12 0.0948123594256941 0.5",
    ] {
        assert_none(text);
        assert_eq!(found_in(Some("phone"), text), vec![], "in {text:?}");
    }
    // Floats as Python's repr and Rust (ryu, as Arrow prints a Parquet float
    // column) write them: alone, signed, in text, after a label.
    let detector = Detector::new(&[]);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut phones = Vec::new();
    for i in 0..100_000u32 {
        let v = next();
        let texts = [
            v.to_string(),
            format!("-{v}"),
            format!("+{}", v * 100.0),
            format!("{} {v}", i % 20),
            format!("loss={v:e} acc={}", next()),
        ];
        for text in texts {
            detector.detect_each(None, &text, |s| {
                if s.entity == Entity::Phone {
                    phones.push(text.clone());
                }
            });
        }
    }
    assert_eq!(phones.len(), 0, "{:?}", &phones[..phones.len().min(5)]);
}

/// What the decimal rule must leave alone: dotted phone numbers (as found
/// before it), numbers with a leading trunk zero, and single-dot groups after
/// an explicit `+` country code or `(` area code.
#[test]
fn dotted_phone_numbers_are_kept() {
    for (text, phone) in [
        ("call +1.415.555.0132 now", "+1.415.555.0132"),
        ("+44.7700.900123", "+44.7700.900123"),
        ("portable 06.12.34.56.78", "06.12.34.56.78"),
        ("+33 6.12.34.56.78", "+33 6.12.34.56.78"),
        ("Zentrale 030.1234567", "030.1234567"),
        ("+1 415 555.0132", "+1 415 555.0132"),
    ] {
        assert_one(text, Entity::Phone, phone);
    }
    // A dotted 3-3-4 only in a phone column, as before.
    assert_none("call 415.555.0132");
    for text in ["415.555.0132", "1.415.555.0132", "(415) 555.0132"] {
        assert_eq!(
            found_in(Some("phone"), text),
            vec![(Entity::Phone, text)],
            "in {text:?}"
        );
    }
}

#[test]
fn cards() {
    for (text, card) in [
        ("visa 4111 1111 1111 1111 exp 12/27", "4111 1111 1111 1111"),
        ("mc 5555-5555-5555-4444", "5555-5555-5555-4444"),
        ("mc2 2223003122003222", "2223003122003222"),
        ("amex 3782 822463 10005", "3782 822463 10005"),
        ("discover 6011111111111117", "6011111111111117"),
        ("jcb 3530 1113 3330 0000", "3530 1113 3330 0000"),
        ("diners 3056 930902 5904", "3056 930902 5904"),
        ("unionpay 6200000000000005", "6200000000000005"),
        ("maestro 6759649826438453", "6759649826438453"),
    ] {
        assert_one(text, Entity::CreditCard, card);
    }
    assert_none("luhn fails 4111 1111 1111 1112");
    assert_none("no issuer 9111111111111116");
    assert_none("glued ORD-4111111111111111 and #4111111111111111");
}

#[test]
fn ibans() {
    assert_one(
        "pay to DE89 3704 0044 0532 0130 00 please",
        Entity::Iban,
        "DE89 3704 0044 0532 0130 00",
    );
    assert_one(
        "IBAN: GB82WEST12345698765432",
        Entity::Iban,
        "GB82WEST12345698765432",
    );
    assert_one(
        "FR1420041010050500013M02606",
        Entity::Iban,
        "FR1420041010050500013M02606",
    );
    assert_none("bad check DE89 3704 0044 0532 0130 01");
    assert_none("short DE89 3704 0044 0532 0130");
    assert_none("Invalid IBAN BE58 0426 8688 5095 was rejected");
}

#[test]
fn ssns() {
    assert_one("SSN: 536-22-8741", Entity::UsSsn, "536-22-8741");
    assert_one("ssn 536 22 8741", Entity::UsSsn, "536 22 8741");
    assert_eq!(
        found("social security number 536228741"),
        vec![(Entity::UsSsn, "536228741")]
    );
    for bad in [
        "000-22-8741",
        "666-22-8741",
        "912-22-8741",
        "536-00-8741",
        "536-22-0000",
        "078-05-1120",
    ] {
        assert_none(&format!("SSN {bad}"));
    }
    assert_none("batch 536228741");
}

#[test]
fn ips() {
    assert_one("from 192.168.10.4:8080", Entity::IpAddress, "192.168.10.4");
    assert_one(
        "client 2001:db8:85a3::8a2e:370:7334 connected",
        Entity::IpAddress,
        "2001:db8:85a3::8a2e:370:7334",
    );
    assert_one(
        "[fe80::1ff:fe23:4567:890a]",
        Entity::IpAddress,
        "fe80::1ff:fe23:4567:890a",
    );
    assert_none("version 1.2.3.4 released");
    assert_none("v1.2.3.4 and 256.1.1.1 and 01.2.3.4");
    assert_none("at 10:30:00 the MAC 00:1a:2b:3c:4d:5e and std::vec::Vec");
}

#[test]
fn dates_of_birth() {
    assert_one(
        "Patient born 1984-03-12 in Ohio",
        Entity::DateOfBirth,
        "1984-03-12",
    );
    assert_one("DOB: 03/12/1984", Entity::DateOfBirth, "03/12/1984");
    assert_one(
        "date of birth: 12 March 1984",
        Entity::DateOfBirth,
        "12 March 1984",
    );
    assert_one(
        "Born on March 12, 1984.",
        Entity::DateOfBirth,
        "March 12, 1984",
    );
    assert_none("created 2024-01-15T10:30:00Z, due 15/02/2024");
    assert_none("born 1984-13-45");
    assert_eq!(
        found_in(Some("dob"), "1984-03-12"),
        vec![(Entity::DateOfBirth, "1984-03-12")]
    );
    assert_eq!(found_in(Some("created_at"), "1984-03-12"), vec![]);
}

#[test]
fn vendor_secrets() {
    let cases = [
        (
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
            Entity::AwsAccessKey,
            "AKIAIOSFODNN7EXAMPLE",
        ),
        (
            "export GITHUB_TOKEN=ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
            Entity::GithubToken,
            "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        ),
        (
            "glpat-xY3z9AbCdEfGhIjKlMnO",
            Entity::GitlabToken,
            "glpat-xY3z9AbCdEfGhIjKlMnO",
        ),
        (
            "SLACK=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
            Entity::SlackToken,
            "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        ),
        (
            "url https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            Entity::SlackToken,
            "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        ),
        (
            "stripe.api_key = \"sk_live_4eC39HqLyjWDarjtT1zdp7dc\"",
            Entity::StripeKey,
            "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        ),
        (
            "key=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
            Entity::GoogleApiKey,
            "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
        ),
        (
            "OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
            Entity::OpenaiKey,
            "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
        ),
    ];
    for (text, entity, value) in cases {
        assert_one(text, entity, value);
    }
    assert_none("sk-learn-model-version and risk-free ghp_short AKIAshort");
}

#[test]
fn jwt_and_pem() {
    let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
    assert_one(&format!("Authorization: Bearer {jwt}"), Entity::Jwt, jwt);
    // Three base64url parts whose header is not a JOSE header.
    assert_none("eyJmb28iOiJiYXIifQ.eyJzdWIiOiIxIn0.c2lnbmF0dXJl");
    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x\n-----END RSA PRIVATE KEY-----";
    assert_one(&format!("key file:\n{pem}\n"), Entity::PrivateKey, pem);
    assert_none("-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----");
    assert_none("-----BEGIN PRIVATE KEY-----\nMIIB truncated");
}

/// Base64 lines of `width` characters (the last one `last` long), as a PEM
/// body: not a real key, the detector only sees its shape.
fn key_lines(n: usize, width: usize, last: usize) -> Vec<String> {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut x: u32 = 0x2545_F491;
    (0..n)
        .map(|i| {
            let len = if i + 1 == n { last } else { width };
            (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    B64[(x % 64) as usize] as char
                })
                .collect()
        })
        .collect()
}

const PEM_LABELS: [&str; 7] = [
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
    "DSA PRIVATE KEY",
    "OPENSSH PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "PRIVATE KEY",
    "PGP PRIVATE KEY BLOCK",
];

/// Issue 10: a private key is found from its BEGIN line and key material,
/// with or without its END line, with real, escaped (`\n` in a JSON string)
/// or no line breaks, and the span covers the material (what masking and
/// redaction replace).
#[test]
fn private_keys_cut_short_or_flattened() {
    let lines = key_lines(6, 64, 23);
    for label in PEM_LABELS {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let body = lines.join("\n");
        let full = format!("{begin}\n{body}\n{end}");
        assert_one(&format!("key file:\n{full}\n"), Entity::PrivateKey, &full);
        // END line missing: a truncated cell, cut inside a line.
        let cut = format!("{begin}\n{}\n{}\n{}", lines[0], lines[1], &lines[2][..30]);
        assert_one(&cut, Entity::PrivateKey, &cut);
        assert_one(&format!("{cut}\n"), Entity::PrivateKey, &cut);
        // ... in a log line, followed by more log text.
        let logged = format!("{begin}\n{}\n{}", lines[0], lines[1]);
        assert_one(
            &format!("2024-05-01 12:00:01 WARN config dump: {logged}\nuser=bob retrying"),
            Entity::PrivateKey,
            &logged,
        );
        // Line breaks escaped (`\n` in a raw JSON line), with and without END.
        let escaped = format!("{begin}\\n{}\\n{}", lines[0], lines[1]);
        assert_one(
            &format!("{{\"key\": \"{escaped}\"}}"),
            Entity::PrivateKey,
            &escaped,
        );
        let escaped_full = format!("{begin}\\n{}\\n{end}\\n", lines.join("\\n"));
        let escaped_full = escaped_full.trim_end_matches("\\n");
        assert_one(
            &format!("{{\"key\": \"{escaped_full}\\n\"}}"),
            Entity::PrivateKey,
            escaped_full,
        );
        // Line breaks removed, or turned into spaces (an environment variable).
        let flat = format!("{begin}{}", lines.concat());
        assert_one(&format!("PEM={flat}"), Entity::PrivateKey, &flat);
        let spaced = format!("{begin} {}", lines[..4].join(" "));
        assert_one(&format!("PEM=\"{spaced}\""), Entity::PrivateKey, &spaced);
    }
    // Encapsulated headers before the material (legacy encrypted PEM, PGP armor).
    let rsa = format!(
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,5D2AB1C0E1F0A9B8C7D6E5F4A3B2C1D0\n\n{}\n{}",
        lines[0], lines[1]
    );
    assert_one(&rsa, Entity::PrivateKey, &rsa);
    let pgp = format!(
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\r\nVersion: GnuPG v2\r\nComment: backup\r\n\r\n{}\r\n{}",
        lines[0], lines[1]
    );
    assert_one(&pgp, Entity::PrivateKey, &pgp);
    // OpenSSH writes 70 characters a line.
    let ssh = key_lines(4, 70, 12);
    let ssh = format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{}", ssh.join("\n"));
    assert_one(&ssh, Entity::PrivateKey, &ssh);
    // The preview names the block and shows none of the material.
    let preview = mask(
        Entity::PrivateKey,
        &format!("-----BEGIN EC PRIVATE KEY-----\\n{}", lines[0]),
    );
    assert!(
        preview.starts_with("-----BEGIN EC PRIVATE KEY----- ["),
        "{preview}"
    );
    assert!(!preview.contains(&lines[0][..8]), "{preview}");
}

/// A BEGIN line without key material after it is documentation, not a leak;
/// nor is a public key or certificate cut short.
#[test]
fn a_private_key_header_alone_is_not_a_finding() {
    for label in PEM_LABELS {
        let begin = format!("-----BEGIN {label}-----");
        for text in [
            begin.clone(),
            format!("{begin}\n"),
            format!("The file starts with {begin} followed by base64 lines."),
            format!("{begin}\n...\n"),
            format!("{begin}\nMIIEpAIBAAKCAQEA"),
            format!("{begin}\nMIIB truncated"),
            format!("{begin}\nPaste the contents of your key file here and press save"),
        ] {
            assert_none(&text);
        }
    }
    let lines = key_lines(3, 64, 64);
    assert_none(&format!("-----BEGIN PUBLIC KEY-----\n{}", lines.join("\n")));
    assert_none(&format!(
        "-----BEGIN CERTIFICATE-----\n{}",
        lines.join("\n")
    ));
}

#[test]
fn passwords_and_generic_secrets() {
    assert_one(
        "DATABASE_URL=postgres://app:S3cr3t!pw@db.internal:5432/prod",
        Entity::Password,
        "S3cr3t!pw",
    );
    assert_one(
        "Server=db;User Id=sa;Password=Str0ng#Pass;",
        Entity::Password,
        "Str0ng#Pass",
    );
    assert_one("{\"password\": \"hunter2!\"}", Entity::Password, "hunter2!");
    assert_one(
        "client_secret: q8Zr3LmN0vT5xK2pW7yB",
        Entity::GenericSecret,
        "q8Zr3LmN0vT5xK2pW7yB",
    );
    assert_one(
        "AWS secret = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        Entity::AwsSecretKey,
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    assert_none("password: ${DB_PASSWORD} and password=******** and Password reset requested");
    assert_none("password=%(db_password)s; pwd=%DB_PWD%");
    assert_one(
        "amqp://app:%Yo5RGBTOP@mq.acme.io/",
        Entity::Password,
        "%Yo5RGBTOP",
    );
    assert_none("https://example.com/path and postgres://localhost/db");
    assert_none("sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    assert_none("commit 3f2a9c1d4e5b6a7980c1d2e3f4a5b6c7d8e9f0a1");
    assert_none("request_id = 550e8400-e29b-41d4-a716-446655440000");
    assert_none("blob: TWFueSBoYW5kcyBtYWtlIGxpZ2h0IHdvcmsuIE1hbnkgaGFuZHM=");
    assert_none("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    assert_none("the key: use a monkey wrench");
    assert_eq!(
        found_in(Some("password"), " Winter2024 "),
        vec![(Entity::Password, "Winter2024")]
    );
    assert_eq!(
        found_in(Some("api_token"), "a1B2c3D4e5F6g7H8"),
        vec![(Entity::GenericSecret, "a1B2c3D4e5F6g7H8")]
    );
    assert_eq!(found_in(Some("token_count"), "512"), vec![]);
}

#[test]
fn entity_filter_and_overlaps() {
    let text = "mail a@example.com card 4111111111111111";
    let only_cards = Detector::new(&[Entity::CreditCard]).detect(text);
    assert_eq!(only_cards.len(), 1);
    assert_eq!(only_cards[0].entity, Entity::CreditCard);
    // A GitHub token after "token:" is reported once, as the specific entity.
    let spans = found("token: ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789");
    assert_eq!(
        spans,
        vec![(
            Entity::GithubToken,
            "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"
        )]
    );
}

#[test]
fn spans_are_sorted_on_char_boundaries() {
    let text = "Ünïcödé jane@example.com — 📞 +44 20 7946 0958 — ключ token=Zx9Qw8Er7Ty6Ui5Op4";
    let spans = Detector::new(&[]).detect(text);
    assert_eq!(spans.len(), 3, "{spans:?}");
    for pair in spans.windows(2) {
        assert!(pair[0].end <= pair[1].start);
    }
    for s in &spans {
        assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
    }
}

/// A 10 MB line of near-miss candidates finishes: every candidate costs
/// bounded work, so time is linear (a quadratic scan would not return).
#[test]
fn huge_line_is_linear() {
    let unit = "ghp_ sk- eyJ -----BEGIN RSA PRIVATE KEY----- key= 1 2 3 4 5 a@b :: 415-555 @@ ";
    let line = unit.repeat(10 * 1024 * 1024 / unit.len());
    let spans = Detector::new(&[]).detect(&line);
    assert!(spans.is_empty(), "{:?}", &spans[..spans.len().min(3)]);
    let digits = "1".repeat(10 * 1024 * 1024);
    assert!(Detector::new(&[]).detect(&digits).is_empty());
    let spaced = "12 ".repeat(3 * 1024 * 1024);
    assert!(Detector::new(&[]).detect(&spaced).is_empty());
}

#[test]
fn detector_is_shareable_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Detector>();
}

#[path = "tests_ner.rs"]
mod ner_entities;
