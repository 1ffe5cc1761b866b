//! The benchmark's CRM dataset: deterministic for a scale factor (scale 1:
//! 10,000 companies, 50,000 people, 20,000 opportunities, 50,000 tasks),
//! with fixed ids so records point at each other without look-ups.

use serde_json::{Map, Value, json};

/// A small deterministic generator (SplitMix64): the same scale gives the same data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// Record counts for a scale factor.
#[derive(Debug, Clone, Copy)]
pub struct Counts {
    pub companies: usize,
    pub people: usize,
    pub opportunities: usize,
    pub tasks: usize,
}

impl Counts {
    pub fn at(scale: f64) -> Counts {
        let n = |base: f64| ((base * scale).round() as usize).max(1);
        Counts {
            companies: n(10_000.0),
            people: n(50_000.0),
            opportunities: n(20_000.0),
            tasks: n(50_000.0),
        }
    }
}

/// The id of the `i`-th record of a kind (1 company, 2 person, …).
pub fn id(kind: u8, i: usize) -> String {
    let value = (u128::from(kind) << 64) | i as u128;
    uuid::Uuid::from_u128(value | 0x0000_0000_0000_4000_8000_0000_0000_0000).to_string()
}

const WORDS: &[&str] = &[
    "Acme", "Blue", "Harbor", "Nova", "Summit", "Cedar", "Orbit", "Vertex", "Lumen", "Atlas",
    "Pioneer", "Quartz", "Delta", "Echo", "Falcon", "Granite",
];
const FIRST: &[&str] = &[
    "Ada", "Alan", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis",
];
const LAST: &[&str] = &[
    "Lovelace", "Turing", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie",
];
const INDUSTRIES: &[&str] = &[
    "SOFTWARE",
    "MANUFACTURING",
    "FINANCE",
    "HEALTHCARE",
    "RETAIL",
];
const STAGES: &[&str] = &["NEW", "QUALIFIED", "PROPOSAL", "NEGOTIATION", "WON", "LOST"];
const TASK_STATUS: &[&str] = &["TODO", "IN_PROGRESS", "DONE"];

fn record(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The records of one object, in order.
pub fn records(object: &str, counts: Counts) -> Vec<Map<String, Value>> {
    let mut rng = Rng::new(match object {
        "company" => 1,
        "person" => 2,
        "opportunity" => 3,
        _ => 4,
    });
    let company = |rng: &mut Rng| id(1, rng.below(counts.companies as u64) as usize);
    match object {
        "company" => (0..counts.companies)
            .map(|i| {
                let name = format!("{} {} {i}", rng.pick(WORDS), rng.pick(WORDS));
                record(json!({
                    "id": id(1, i), "name": name, "domain": format!("co{i}.example"),
                    "industry": rng.pick(INDUSTRIES), "employees": 1 + rng.below(5000),
                    "annualRevenue": { "amount": format!("{}", 10_000 * (1 + rng.below(1000))), "currencyCode": "EUR" },
                }))
            })
            .collect(),
        "person" => (0..counts.people)
            .map(|i| {
                let (first, last) = (rng.pick(FIRST), rng.pick(LAST));
                record(json!({
                    "id": id(2, i), "name": { "firstName": first, "lastName": last },
                    "email": format!("{}.{}{i}@example.com", first.to_lowercase(), last.to_lowercase()),
                    "jobTitle": "Engineer", "companyId": company(&mut rng),
                }))
            })
            .collect(),
        "opportunity" => (0..counts.opportunities)
            .map(|i| {
                record(json!({
                    "id": id(3, i), "name": format!("Deal {i}"), "stage": rng.pick(STAGES),
                    "amount": { "amount": format!("{}", 500 * (1 + rng.below(100))), "currencyCode": "EUR" },
                    "companyId": company(&mut rng),
                }))
            })
            .collect(),
        _ => (0..counts.tasks)
            .map(|i| {
                record(json!({
                    "id": id(4, i), "title": format!("Follow up {i}"), "status": rng.pick(TASK_STATUS),
                    "relatedObject": "company", "relatedId": company(&mut rng),
                }))
            })
            .collect(),
    }
}
