//! Development-time training of the token model in `data/ner_model.bin`.
//!
//! ```text
//! cargo test -p mlsec-pii --release --lib -- --ignored train_token_model --nocapture
//! ```
//!
//! The training set is generated here, from templates and names that the
//! evaluation set (`bench/pii/make_eval.py`) does not use: its own sentence
//! templates, names drawn half from the shipped lists and half from the
//! training slice in `data/train/heldout_train.json` (census surname ranks
//! 20,001-40,000, given names just below the shipped cut, GeoNames towns of
//! 5,000-15,000 people with an even id), so the model learns the context
//! and shape of names, not just list membership. The evaluation slice (bench/pii/heldout.json)
//! is never read here.
//!
//! The model: multinomial logistic regression over the hashed features of
//! [`super::features`], four classes (none, PERSON, LOCATION,
//! ORGANIZATION), plain SGD with L2, a fixed seed; the weights of the three
//! entity classes minus those of "none" are stored as i16 (x [`SCALE`]).

use super::*;
use crate::lexicon::Lexicon;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T: ?Sized>(&mut self, items: &[&'a T]) -> &'a T {
        items[self.below(items.len())]
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 10_000) as f64 / 10_000.0 < p
    }
}

/// Names and places to fill templates with.
struct Pools {
    given: Vec<&'static str>,
    given_common: Vec<&'static str>,
    surnames: Vec<&'static str>,
    surnames_common: Vec<&'static str>,
    cities: Vec<&'static str>,
    cities_big: Vec<&'static str>,
    regions: Vec<&'static str>,
    words: Vec<&'static str>,
    held_given: Vec<String>,
    held_surnames: Vec<String>,
    held_cities: Vec<String>,
}

fn section(file: &'static str, upto: usize) -> Vec<&'static str> {
    let mut n = 0;
    file.lines()
        .filter(|l| {
            if l.starts_with('#') {
                n += usize::from(!l.starts_with("# "));
                return false;
            }
            !l.is_empty() && n <= upto
        })
        .collect()
}

fn pools() -> Pools {
    let held: serde_json::Value =
        serde_json::from_str(include_str!("../data/train/heldout_train.json"))
            .unwrap_or_else(|e| panic!("heldout_train.json: {e}"));
    let list = |k: &str| -> Vec<String> {
        held[k]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let cap = |w: &&str| {
        let mut c = w.chars();
        c.next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
    };
    let words: Vec<&'static str> = section(include_str!("../data/words.txt"), 9)
        .into_iter()
        .filter(|w| w.len() >= 4 && w.len() <= 9)
        .collect();
    let _ = cap;
    Pools {
        given: section(include_str!("../data/given_names.txt"), 3),
        given_common: section(include_str!("../data/given_names.txt"), 1),
        surnames: section(include_str!("../data/surnames.txt"), 3),
        surnames_common: section(include_str!("../data/surnames.txt"), 1),
        cities: section(include_str!("../data/cities.txt"), 3),
        cities_big: section(include_str!("../data/cities.txt"), 2),
        regions: section(include_str!("../data/regions.txt"), 2),
        words,
        held_given: list("given_names"),
        held_surnames: list("surnames"),
        held_cities: list("cities"),
    }
}

fn capitalise(w: &str) -> String {
    let mut c = w.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Text with gold spans of (byte start, end, class 1..=3).
struct Sample {
    text: String,
    gold: Vec<(usize, usize, u8)>,
}

fn person(r: &mut Rng, p: &Pools) -> (String, Option<String>) {
    let held = r.chance(0.45);
    let given = if held {
        p.held_given[r.below(p.held_given.len())].clone()
    } else if r.chance(0.6) {
        r.pick(&p.given_common).to_string()
    } else {
        r.pick(&p.given).to_string()
    };
    let surname = if r.chance(0.45) {
        p.held_surnames[r.below(p.held_surnames.len())].clone()
    } else if r.chance(0.5) {
        r.pick(&p.surnames_common).to_string()
    } else {
        r.pick(&p.surnames).to_string()
    };
    let (given, surname) = if r.chance(0.15) {
        (accent(r, &given), accent(r, &surname))
    } else {
        (given, surname)
    };
    let title = ["Dr.", "Mr.", "Ms.", "Mrs.", "Dr", "Mr", "Prof.", "Nurse"];
    match r.below(10) {
        0..=4 => (format!("{given} {surname}"), None),
        5 => (given, None),
        6 => {
            let initial = (b'A' + r.below(26) as u8) as char;
            (format!("{given} {initial}. {surname}"), None)
        }
        7 | 8 => (surname, Some(r.pick(&title).to_string())),
        _ => (
            format!("{given} {surname}"),
            Some(r.pick(&title).to_string()),
        ),
    }
}

/// A name with one vowel accented (`Jose` -> `José`), as names are written
/// in many languages: diacritics are no sign of a place.
fn accent(r: &mut Rng, w: &str) -> String {
    let vowels: Vec<usize> = w
        .char_indices()
        .skip(1)
        .filter(|(_, c)| "aeiou".contains(*c))
        .map(|(i, _)| i)
        .collect();
    if vowels.is_empty() {
        return w.to_string();
    }
    let at = vowels[r.below(vowels.len())];
    let c = w[at..].chars().next().unwrap_or('a');
    let with = match c {
        'a' => "á",
        'e' => "é",
        'i' => "í",
        'o' => "ö",
        _ => "ü",
    };
    format!("{}{}{}", &w[..at], with, &w[at + 1..])
}

/// Diacritics off (`Hořovice` -> `Horovice`), as many place names are typed.
fn unaccent(w: &str) -> String {
    w.chars().map(crate::lexicon::fold_latin).collect()
}

fn location(r: &mut Rng, p: &Pools) -> String {
    match r.below(10) {
        0..=2 => r.pick(&p.cities_big).to_string(),
        3 | 4 => r.pick(&p.cities).to_string(),
        5 | 6 => r.pick(&p.regions).to_string(),
        _ => {
            let c = p.held_cities[r.below(p.held_cities.len())].clone();
            if r.chance(0.5) {
                unaccent(&c)
            } else {
                c
            }
        }
    }
}

fn street(r: &mut Rng, p: &Pools) -> String {
    format!(
        "{} {} {}",
        1 + r.below(9000),
        capitalise(r.pick(&p.words)),
        r.pick(&["Street", "Road", "Avenue", "Lane", "Close", "Way", "Drive", "St", "Rd"])
    )
}

fn organisation(r: &mut Rng, p: &Pools) -> String {
    let legal = [
        "Inc", "Inc.", "Ltd", "LLC", "GmbH", "Corp", "Corp.", "plc", "AG", "S.A.", "Co.",
    ];
    let heads = [
        "Group",
        "Holdings",
        "Logistics",
        "Systems",
        "Bank",
        "Analytics",
        "Partners",
        "Foods",
        "Software",
        "Labs",
        "Insurance",
        "Media",
        "Motors",
        "Consulting",
        "Health",
    ];
    let word = |r: &mut Rng| capitalise(r.pick(&p.words));
    let surname = |r: &mut Rng| {
        if r.chance(0.5) {
            p.held_surnames[r.below(p.held_surnames.len())].clone()
        } else {
            r.pick(&p.surnames).to_string()
        }
    };
    match r.below(8) {
        0 => format!("{} {}", surname(r), r.pick(&heads)),
        1 => format!("{} {} {}", word(r), word(r), r.pick(&legal)),
        2 => format!("{} {}", word(r), r.pick(&legal)),
        3 => format!("{} & {} {}", surname(r), surname(r), r.pick(&legal)),
        4 => format!("{} {}", r.pick(&p.cities_big), r.pick(&heads)),
        5 => format!("{} {}", word(r), r.pick(&heads)),
        6 => format!(
            "{}{} {}",
            word(r),
            r.pick(&["ly", "io", "ify", "ex"]),
            r.pick(&heads)
        ),
        _ => format!("{} {} {}", surname(r), r.pick(&heads), r.pick(&legal)),
    }
}

/// Capitalised things that are none of the entities.
fn other(r: &mut Rng, p: &Pools) -> String {
    let fixed = [
        "Galaxy Tab",
        "Model Y",
        "Air Max",
        "Pixel Buds",
        "Surface Pro",
        "Order Summary",
        "Save Changes",
        "Premium Plan",
        "Express Shipping",
        "Gold Tier",
        "Dark Mode",
        "Smart Watch",
        "Monday",
        "Friday",
        "January",
        "September",
        "Black Friday",
        "Cyber Monday",
        "Wi-Fi",
        "Bluetooth",
        "Excel",
        "Python",
        "Kubernetes",
        "Terms of Service",
    ];
    match r.below(3) {
        0 => r.pick(&fixed).to_string(),
        1 => capitalise(r.pick(&p.words)),
        _ => format!(
            "{} {}",
            capitalise(r.pick(&p.words)),
            capitalise(r.pick(&p.words))
        ),
    }
}

/// Training templates: `{P}` person, `{L}` place, `{O}` organisation,
/// `{X}` a capitalised non-entity, `{W}` a capitalised common word, `{N}` a
/// group word. Different wording from the evaluation set's templates.
const TEMPLATES: &[&str] = &[
    "{L}",
    "{P}",
    "{O}",
    "{X}",
    "{I},{P},{E},{L},{S}",
    "{I};{P};{L};{O}",
    "{P}|{L}|{S}",
    "name: {P}\ncity: {L}",
    "{P} | {O} | {L}",
    "From: {P}\nSent: {D}\nTo: {P}\nSubject: {X}",
    "Best,\n{P}",
    "Cheers,\n{P}\n{O}",
    "Kind regards,\n{P}",
    "Address: {A}, {L}",
    "{A}, {L} {I}",
    "Deliver to {A}, {L}, {L}.",
    "{P} from {L} wrote:",
    "{P} ({L})",
    "Visiting {L} in {M}.",
    "{M} was a busy month in {L}.",
    "Since {M}, {P} has run the {L} office.",
    "Products: {X}, {X} and {X}.",
    "{X} by {O}",
    "Rated five stars by {P} of {L}",
    "{P}, {L}",
    "Tel. {I}, {L}",
    "Contact {P}, tel. {I}, {L}",
    "{N} citizens living in {L}",
    "{P} ({O}) and {P} ({O})",
    "Head office: {L}, {L}",
    "Customer since {M}: {P}",
    "Our {X} arrived in {M}, not {M}.",
    "To: {P}\nCc: {P}",
    "See {X} for details.",
    "{W}, {P} will handle it.",
    "I live in {L} and work in {L}.",
    "Meeting with {O} in {L} on {D}.",
    "Booked a hotel in {L} for {P}.",
    "{X} and {X} were returned to {O}.",
    "{O} ({L}) confirmed the shipment.",
    "Spoke to {P} of {O} today.",
    "{P} called about the invoice.",
    "I spoke with {P} yesterday and she confirmed the order.",
    "Ticket assigned to {P} ({L} office).",
    "Forwarded from {P} at {O}.",
    "{P} moved from {L} to {L} last year.",
    "Attendees: {P}, {P} and {P}.",
    "Shipping to {L}, {L}.",
    "Thanks, {P}",
    "Dear {P},",
    "Regards,\n{P}\n{O}",
    "Our team in {L} will contact you shortly.",
    "{O} announced a partnership with {O}.",
    "Flight from {L} to {L} delayed by two hours.",
    "The {X} feature is broken again.",
    "{X} is out of stock until next week.",
    "Hi {P}, your {X} order has shipped.",
    "Review by {P}: the {X} works great.",
    "Patient {P} was referred to {O} in {L}.",
    "{P} visited the {L} branch on {X}.",
    "{P} ({N} national) applied for a work permit.",
    "Employee {P} joined {O} in {L}.",
    "{W} the customer said the {X} was missing.",
    "{W} {P} asked for a refund.",
    "Escalated by {P} to {P}.",
    "{P} works for {O} and lives near {L}.",
    "Invoice sent to {O}, attention {P}.",
    "Our {L} warehouse is closed for {X}.",
    "{W} update: {X} now supports {X}.",
    "Signed, {P}",
    "cc {P}; {P}",
    "{P} wrote: the {X} stopped charging.",
    "According to {P}, {O} will ship from {L}.",
    "{W} and {W} are both fine.",
    "Meet {P} at the {L} airport.",
    "{N} and {N} volunteers helped.",
    "New hire {P} starts Monday in {L}.",
    "Call from {P}, {O}, about renewal.",
    "{P} left {O} for {O}.",
    "Delivered to {P} in {L}, {L}.",
    "Sent via {X}. {W} regards, {P}",
    "{L} is where {P} grew up.",
    "{W}: {X}",
    "{W} {W} {X} sale ends soon.",
    "Please ask {P} or {P}.",
    "The {O} team in {L} approved it.",
];

fn sample(r: &mut Rng, p: &Pools) -> Sample {
    let tpl = TEMPLATES[r.below(TEMPLATES.len())];
    let mut text = String::new();
    let mut gold = Vec::new();
    let mut rest = tpl;
    while let Some(open) = rest.find('{') {
        text.push_str(&rest[..open]);
        let slot = &rest[open + 1..open + 2];
        rest = &rest[open + 3..];
        match slot {
            "P" => {
                let (name, title) = person(r, p);
                if let Some(t) = title {
                    text.push_str(&t);
                    text.push(' ');
                }
                let s = text.len();
                text.push_str(&name);
                gold.push((s, text.len(), 1));
            }
            "L" => {
                let s = text.len();
                text.push_str(&location(r, p));
                gold.push((s, text.len(), 2));
            }
            "O" => {
                let s = text.len();
                text.push_str(&organisation(r, p));
                gold.push((s, text.len(), 3));
            }
            "X" => text.push_str(&other(r, p)),
            "M" => text.push_str(r.pick(&[
                "January", "March", "April", "May", "June", "July", "August", "October", "December",
            ])),
            "A" => text.push_str(&street(r, p)),
            "I" => text.push_str(&(1000 + r.below(900_000)).to_string()),
            "E" => {
                text.push_str(r.pick(&["a.b@example.com", "info@shop.test", "x_y@mail.test", ""]))
            }
            "S" => {
                text.push_str(r.pick(&["active", "churned", "pending", "Active", "Closed", "VIP"]))
            }
            "D" => text.push_str(r.pick(&["2024-03-01", "12/05/2023", "yesterday", "last week"])),
            "W" => text.push_str(&capitalise(r.pick(&[
                "however",
                "please",
                "unfortunately",
                "also",
                "today",
                "great",
                "thanks",
                "overall",
                "update",
                "warning",
                "note",
                "customer",
                "shipping",
                "again",
                "best",
                "kind",
                "urgent",
                "new",
                "fixed",
            ]))),
            _ => text.push_str(&capitalise(r.pick(&[
                "german",
                "catholic",
                "muslim",
                "french",
                "republican",
                "kenyan",
                "jewish",
            ]))),
        }
    }
    text.push_str(rest);
    Sample { text, gold }
}

/// The tokens [`super::scan`] would score, with their gold class.
fn labelled_tokens(s: &Sample) -> Vec<(Token, u8)> {
    let lex = Lexicon::get();
    let mut cls = Classes::default();
    cls.fill(s.text.as_bytes());
    let mut out = Vec::new();
    let mut done = 0;
    let b = s.text.as_bytes();
    for start in classes::iter(cls.cap()) {
        // As `scan` does: a capital then a lower-case letter.
        if start < done
            || !b
                .get(start + 1)
                .is_some_and(|&c| c.is_ascii_lowercase() || c == b'\'' || c >= 0x80)
        {
            continue;
        }
        let Some(tok) = token_at(&s.text, start, lex) else {
            continue;
        };
        done = tok.e;
        if !scored(&s.text, tok) {
            continue;
        }
        let class = s
            .gold
            .iter()
            .find(|(gs, ge, _)| tok.s >= *gs && tok.e <= *ge)
            .map_or(0, |g| g.2);
        out.push((tok, class));
    }
    out
}

#[test]
#[ignore = "development time: writes data/ner_model.bin"]
fn train_token_model() {
    let p = pools();
    let mut r = Rng(0x5eed_2026_1204);
    let n = 1usize << BITS;
    let mut w = vec![[0f32; 4]; n];
    let samples: Vec<Sample> = (0..60_000).map(|_| sample(&mut r, &p)).collect();
    let data: Vec<(Features, u8)> = samples
        .iter()
        .flat_map(|s| {
            labelled_tokens(s)
                .into_iter()
                .map(|(t, c)| (features(&s.text, t), c))
                .collect::<Vec<_>>()
        })
        .collect();
    let counts = (0..4)
        .map(|c| data.iter().filter(|d| d.1 == c).count())
        .collect::<Vec<_>>();
    println!("{} tokens, per class {counts:?}", data.len());
    // Classes weighted to balance their token counts.
    let weight: Vec<f32> = counts
        .iter()
        .map(|&c| (data.len() as f32 / (4.0 * c.max(1) as f32)).sqrt())
        .collect();
    let epochs = 6;
    let l2 = 1e-6f32;
    let mut order: Vec<usize> = (0..data.len()).collect();
    for epoch in 0..epochs {
        for i in (1..order.len()).rev() {
            order.swap(i, r.below(i + 1));
        }
        let lr = 0.2 / (1.0 + epoch as f32);
        let mut loss = 0f64;
        for &i in &order {
            let (f, y) = &data[i];
            let mut z = [0f32; 4];
            for &h in f.hashes() {
                for k in 0..4 {
                    z[k] += w[h as usize][k];
                }
            }
            let m = z.iter().copied().fold(f32::MIN, f32::max);
            let e: Vec<f32> = z.iter().map(|v| (v - m).exp()).collect();
            let sum: f32 = e.iter().sum();
            loss -= f64::from((e[usize::from(*y)] / sum).ln());
            for &h in f.hashes() {
                for k in 0..4 {
                    let g = weight[usize::from(*y)]
                        * (e[k] / sum - if k == usize::from(*y) { 1.0 } else { 0.0 });
                    let wk = &mut w[h as usize][k];
                    *wk -= lr * (g + l2 * *wk);
                }
            }
        }
        println!("epoch {epoch}: mean loss {:.4}", loss / data.len() as f64);
    }
    let mut bytes = Vec::with_capacity(n * 6);
    let mut used = 0;
    for b in &w {
        used += usize::from(b.iter().any(|v| *v != 0.0));
        for k in 1..4 {
            let v = ((b[k] - b[0]) * SCALE).round().clamp(-32767.0, 32767.0) as i16;
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    println!("{used} of {n} buckets used");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/ner_model.bin");
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
    // Training accuracy per class, with the stored (quantised) weights.
    let model = Model::decode(&std::fs::read(path).unwrap_or_default());
    let mut right = [0usize; 4];
    for (f, y) in &data {
        let s = model.scores(f);
        let best = s
            .iter()
            .enumerate()
            .fold(
                (0usize, 0f32),
                |acc, (k, &v)| if v > acc.1 { (k + 1, v) } else { acc },
            )
            .0;
        right[usize::from(*y)] += usize::from(best == usize::from(*y));
    }
    println!(
        "training accuracy per class: {:?}",
        (0..4)
            .map(|c| right[c] as f64 / counts[c].max(1) as f64)
            .collect::<Vec<_>>()
    );
}
