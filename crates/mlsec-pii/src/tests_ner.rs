//! The name, place, date, URL and identity-number entities, with every
//! entity on (as `mlsec data pii` runs them).

use crate::{Detector, Entity};

fn all(field: Option<&str>, text: &str) -> Vec<(Entity, String)> {
    Detector::new(&[])
        .detect_in_field(field, text)
        .into_iter()
        .map(|s| (s.entity, text[s.start..s.end].to_string()))
        .collect()
}

fn has(text: &str, entity: Entity, value: &str) {
    let got = all(None, text);
    assert!(
        got.iter().any(|(e, v)| *e == entity && v == value),
        "{entity} {value:?} not found in {text:?}: {got:?}"
    );
}

fn lacks(text: &str, entity: Entity) {
    let got = all(None, text);
    assert!(
        !got.iter().any(|(e, _)| *e == entity),
        "{entity} found in {text:?}: {got:?}"
    );
}

fn cell(field: &str, value: &str) -> Vec<(Entity, String)> {
    all(Some(field), value)
}

#[test]
fn people_in_free_text() {
    has(
        "Please call Maria Garcia about the refund.",
        Entity::Person,
        "Maria Garcia",
    );
    has(
        "Escalated to Dr. Okafor on Monday.",
        Entity::Person,
        "Okafor",
    );
    has("Thanks, Jennifer", Entity::Person, "Jennifer");
    has(
        "Meeting with John F. Kennedy tomorrow.",
        Entity::Person,
        "John F. Kennedy",
    );
    // Names not in the bundled lists, from their context.
    has(
        "Our agent Zbigniew Wojciechowski will call you back.",
        Entity::Person,
        "Zbigniew Wojciechowski",
    );
    // Possessive: the name without `'s`.
    has("I returned Sarah's laptop.", Entity::Person, "Sarah");
}

#[test]
fn a_pronoun_contraction_is_not_part_of_a_name() {
    for (text, name) in [
        ("Hi, I'm Priya Patel, reach me by mail.", "Priya Patel"),
        ("I'll ask Maria Garcia tomorrow.", "Maria Garcia"),
        ("Yesterday I've met James O'Brien.", "James O'Brien"),
    ] {
        has(text, Entity::Person, name);
        let got = all(None, text);
        assert!(
            !got.iter().any(|(_, v)| v.starts_with("I'")),
            "{text:?}: {got:?}"
        );
    }
}

#[test]
fn capitalised_words_that_are_not_names() {
    for text in [
        "Please restart the app and try again.",
        "Thanks for the quick reply!",
        "May I ask for a refund? It arrived in June.",
        "Order Status: Shipped",
        "The AirPods Max case fits well.",
        "see fixtures/12_main_street.json and StreetView.tsx",
        "ERROR: Connection Refused by API",
        "Server=sql1;Database=shop;User Id=app;Password=Xy9#kq2Lm;",
    ] {
        lacks(text, Entity::Person);
        lacks(text, Entity::Location);
        lacks(text, Entity::Organization);
    }
}

#[test]
fn everyday_words_that_are_rare_surnames() {
    // `Card`, `Check`, `Post`, `Link`, `Block`, `Land`, `Field` are in the
    // surname list (ranks 1,001-20,000); alone they are the words, at a
    // sentence start or not.
    assert_eq!(
        all(None, "Card 4111 1111 1111 1111 expires 04/29"),
        [(Entity::CreditCard, "4111 1111 1111 1111".into())]
    );
    for text in [
        "Please check Card settings",
        "Please renew Card 4111 1111 1111 1111 before it expires.",
        "Select Card payment at checkout.",
        "Please review Check details.",
        "Post 12 was removed by a moderator.",
        "Please open Post settings.",
        "Link 3 is broken.",
        "Please enable Block settings.",
        "Land 4 parcel sold.",
        "Please open Field settings.",
        // Common surnames are left to the model, which reads these right.
        "Price increases next month.",
        "Long delays are expected.",
        "Young people love it.",
    ] {
        lacks(text, Entity::Person);
        lacks(text, Entity::Location);
        lacks(text, Entity::Organization);
    }
    // With a given name, a title, a place after it or a legal form, a name.
    has(
        "Walter Card called yesterday.",
        Entity::Person,
        "Walter Card",
    );
    has("Mr. Card called yesterday.", Entity::Person, "Card");
    has("Please ask Dr Field to call back.", Entity::Person, "Field");
    has(
        "Mail it to 5835 Victoria Ave Suite 885, Ream, Oregon 31022.",
        Entity::Location,
        "Ream",
    );
    has("Card LLC was fined.", Entity::Organization, "Card LLC");
}

#[test]
fn places_and_organisations() {
    has(
        "She moved from Leeds to Portugal last year.",
        Entity::Location,
        "Leeds",
    );
    has(
        "She moved from Leeds to Portugal last year.",
        Entity::Location,
        "Portugal",
    );
    has("Shipping to New York, Ohio.", Entity::Location, "New York");
    has(
        "Invoice from Northwind Traders Ltd. is overdue.",
        Entity::Organization,
        "Northwind Traders Ltd.",
    );
    has(
        "He joined Acme Corp in 2019.",
        Entity::Organization,
        "Acme Corp",
    );
    has(
        "Transferred to Blue Ridge Credit Union yesterday.",
        Entity::Organization,
        "Blue Ridge Credit Union",
    );
}

#[test]
fn street_addresses() {
    has(
        "Ship to 221B Baker Street, London",
        Entity::StreetAddress,
        "221B Baker Street",
    );
    has(
        "Mail: 1600 Pennsylvania Avenue, Apt 4B",
        Entity::StreetAddress,
        "1600 Pennsylvania Avenue, Apt 4B",
    );
    has(
        "Lieferadresse Hauptstraße 12, Berlin",
        Entity::StreetAddress,
        "Hauptstraße 12",
    );
    has(
        "Office at 350 5th Avenue",
        Entity::StreetAddress,
        "350 5th Avenue",
    );
    // A street without a house number, and street-like code, are not addresses.
    lacks("Ask at the Main Street branch.", Entity::StreetAddress);
    lacks("see fixtures/12_main_street.json", Entity::StreetAddress);
}

#[test]
fn group_words() {
    has("He is a German citizen.", Entity::Nrp, "German");
    has(
        "The Catholic community centre is open.",
        Entity::Nrp,
        "Catholic",
    );
    has("Republicans voted against it.", Entity::Nrp, "Republicans");
    // Part of a longer capitalised name: not a group.
    lacks("Our German Shepherd barks.", Entity::Nrp);
}

#[test]
fn columns_say_what_their_values_are() {
    assert_eq!(cell("first_name", "Zoë"), [(Entity::Person, "Zoë".into())]);
    assert_eq!(
        cell("customerName", "Ada Lovelace"),
        [(Entity::Person, "Ada Lovelace".into())]
    );
    assert_eq!(cell("city", "Pune"), [(Entity::Location, "Pune".into())]);
    assert_eq!(cell("state", "Ohio"), [(Entity::Location, "Ohio".into())]);
    assert_eq!(
        cell("address_line1", "12 Rue de la Paix"),
        [(Entity::StreetAddress, "12 Rue de la Paix".into())]
    );
    assert_eq!(
        cell("employer", "Initech"),
        [(Entity::Organization, "Initech".into())]
    );
    assert_eq!(
        cell("nationality", "Brazilian"),
        [(Entity::Nrp, "Brazilian".into())]
    );
    // An e-mail address column is no street address column.
    assert!(!cell("email_address", "12 Baker Street").is_empty());
    assert_eq!(
        cell("email_address", "Berlin"),
        [(Entity::Location, "Berlin".into())]
    );
    // A `name` that is not a person's, placeholders, ids, order states.
    for (field, value) in [
        ("product_name", "Galaxy Tab S9"),
        ("file_name", "Report_2024.pdf"),
        ("username", "jsmith42"),
        ("name", "N/A"),
        ("customer", "C-10234"),
        ("state", "shipped"),
    ] {
        let got = cell(field, value);
        assert!(
            !got.iter().any(|(e, _)| matches!(
                e,
                Entity::Person | Entity::Location | Entity::Organization | Entity::StreetAddress
            )),
            "{field}={value:?}: {got:?}"
        );
    }
}

#[test]
fn dates_and_times() {
    has(
        "Shipped on March 3, 2024.",
        Entity::DateTime,
        "March 3, 2024",
    );
    has(
        "Moved to 12/03/2024 14:30, room 4",
        Entity::DateTime,
        "12/03/2024 14:30",
    );
    has("Delivered 2024-02-29", Entity::DateTime, "2024-02-29");
    has(
        "on the 3rd of May 2024",
        Entity::DateTime,
        "3rd of May 2024",
    );
    // A birth date is DATE_OF_BIRTH, not DATE_TIME.
    assert_eq!(
        all(None, "DOB: 1984-03-12"),
        [(Entity::DateOfBirth, "1984-03-12".into())]
    );
    for text in [
        "created_at: 2024-03-12T10:11:12Z",
        "2024-05-01 12:00:01 INFO worker started",
        "Upgraded to release 2024.03.12",
        "build 2024-03-12-rc1",
        "v2024.03.12",
        "invalid date 2024-02-30 and 13/13/2024",
        "ts=1700000000",
    ] {
        lacks(text, Entity::DateTime);
    }
}

#[test]
fn urls() {
    has(
        "Docs: https://docs.example.com/guide?id=42.",
        Entity::Url,
        "https://docs.example.com/guide?id=42",
    );
    has(
        "(see http://example.org/a_(b))",
        Entity::Url,
        "http://example.org/a_(b)",
    );
    has(
        "ftp://files.acme.io/pub/",
        Entity::Url,
        "ftp://files.acme.io/pub/",
    );
    // A URL with a password is that PASSWORD; other schemes are connection strings.
    assert_eq!(
        all(None, "https://bob:S3cret9x@host.example.com/x"),
        [(Entity::Password, "S3cret9x".into())]
    );
    lacks("postgres://db1.internal:5432/app", Entity::Url);
    lacks("file:///etc/hosts and mailto:a@b.c", Entity::Url);
}

#[test]
fn identity_and_account_numbers_need_context() {
    has(
        "Passport number 912803456 on file",
        Entity::UsPassport,
        "912803456",
    );
    has(
        "passport no. C03005988, expires 2030",
        Entity::UsPassport,
        "C03005988",
    );
    has(
        "Driver's license D1234567 scanned",
        Entity::UsDriverLicense,
        "D1234567",
    );
    has(
        "DLN S530-412-98-765-0",
        Entity::UsDriverLicense,
        "S530-412-98-765-0",
    );
    has(
        "checking account 000123456789",
        Entity::UsBankNumber,
        "000123456789",
    );
    has("acct # 12345678", Entity::UsBankNumber, "12345678");
    for (text, entity) in [
        ("ticket 912803456 closed", Entity::UsPassport),
        ("order number 123456789", Entity::UsPassport),
        (
            "license key ABCD-1234-EFGH; driver version 531.41",
            Entity::UsDriverLicense,
        ),
        ("account id 12345678 has 4 seats", Entity::UsBankNumber),
        ("routing number 021000021", Entity::UsBankNumber),
        ("12345678 items in stock", Entity::UsBankNumber),
    ] {
        lacks(text, entity);
    }
    assert_eq!(
        cell("passport_no", "A12345678"),
        [(Entity::UsPassport, "A12345678".into())]
    );
    assert_eq!(
        cell("dl_number", "F123-456-78-901-0"),
        [(Entity::UsDriverLicense, "F123-456-78-901-0".into())]
    );
    assert_eq!(
        cell("bank_account", "0012345678"),
        [(Entity::UsBankNumber, "0012345678".into())]
    );
}

#[test]
fn nhs_numbers_check_their_digit() {
    // 943 476 5919 is the NHS's own example of a valid number.
    has("NHS number 943 476 5919", Entity::UkNhs, "943 476 5919");
    has("NHS No: 9434765919.", Entity::UkNhs, "9434765919");
    assert_eq!(
        cell("nhs_number", "943-476-5919"),
        [(Entity::UkNhs, "943-476-5919".into())]
    );
    // A bad check digit is neither an NHS number nor (so called) a phone number.
    assert_eq!(all(None, "NHS number 943 476 5918"), []);
    // Without the word, a valid number is not claimed.
    lacks("call 943 476 5919", Entity::UkNhs);
    assert!(crate::validate::is_nhs(b"9434765919"));
    assert!(!crate::validate::is_nhs(b"9434765918"));
    assert!(!crate::validate::is_nhs(b"0000000000"));
}

#[test]
fn field_bits_round_trip_with_the_new_contexts() {
    let d = Detector::new(&[]);
    for name in [
        "first_name",
        "city",
        "state",
        "address",
        "company",
        "nationality",
        "website",
        "passport",
        "dl_number",
        "bank_account",
        "nhs_no",
    ] {
        let f = d.field(Some(name));
        assert_ne!(f.to_bits(), 0, "{name}");
        assert_eq!(crate::Field::from_bits(f.to_bits()), f, "{name}");
    }
}

#[test]
fn the_model_is_loaded() {
    let m = crate::ner::Model::get();
    assert!(
        m.w.iter().any(|w| w.iter().any(|v| *v != 0)),
        "data/ner_model.bin is empty or of the wrong size"
    );
}

/// Random text built from pieces every detector looks at, multi-byte
/// characters among them: no panic, spans on char boundaries, sorted and
/// not overlapping.
#[test]
fn random_text_never_panics_and_spans_are_well_formed() {
    let pieces = [
        "Maria",
        " ",
        "García",
        "Ünïcödé",
        "Street",
        "St",
        "Ave.",
        "12",
        "221B",
        " ",
        ", ",
        ".",
        "é",
        "日本",
        "Dr.",
        "Mr",
        "Inc",
        "LLC",
        "NHS",
        "943 476 5919",
        "passport",
        "account",
        "DLN",
        "https://",
        "x.io/",
        "March",
        "3,",
        "2024",
        "-",
        "/",
        "12:30",
        "'s",
        "O'",
        "New",
        "York",
        "German",
        "\n",
        "\"",
        "(",
        ")",
        "Hauptstraße",
        "ß",
        "Ω",
        "a",
        "Z",
        "𝔘",
        "  ",
        "#",
        "Apt",
    ];
    let detector = Detector::new(&[]);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..4000 {
        let mut text = String::new();
        let n = 1 + (x % 24) as usize;
        for _ in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            text.push_str(pieces[(x % pieces.len() as u64) as usize]);
        }
        for field in [
            None,
            Some("name"),
            Some("city"),
            Some("address"),
            Some("company"),
            Some("nhs"),
        ] {
            let spans = detector.detect_in_field(field, &text);
            for s in &spans {
                assert!(
                    text.is_char_boundary(s.start) && text.is_char_boundary(s.end),
                    "{text:?} {s:?}"
                );
                assert!(s.start < s.end, "{text:?}");
                let _ = crate::mask(s.entity, &text[s.start..s.end]);
            }
            for w in spans.windows(2) {
                assert!(w[0].end <= w[1].start, "{text:?} {spans:?}");
            }
        }
    }
}
