//! `serve --demo`: a small, deterministic set of companies, people and deals
//! so a new user sees a CRM with something in it.

use rapport_store::{Actor, Record, StatementCounter};
use serde_json::{Value, json};

use crate::app::App;
use crate::error::ServerError;

const COMPANIES: &[(&str, &str, &str)] = &[
    ("Acme Robotics", "acme-robotics.example", "MANUFACTURING"),
    ("Blue Harbor Bank", "blueharbor.example", "FINANCE"),
    ("Cedar Health", "cedarhealth.example", "HEALTHCARE"),
    ("Delta Learning", "deltalearning.example", "EDUCATION"),
    ("Evergreen Energy", "evergreen.example", "ENERGY"),
    ("Foxglove Retail", "foxglove.example", "RETAIL"),
    ("Granite Software", "granite.example", "SOFTWARE"),
    ("Harbor Media", "harbormedia.example", "MEDIA"),
];
const FIRST: &[&str] = &[
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Iris", "Jonas",
];
const LAST: &[&str] = &[
    "Lovelace", "Okafor", "Martin", "Patel", "Rossi", "Haddad", "Hopper", "Laurent", "Chen", "Berg",
];
const TITLES: &[&str] = &["CEO", "Head of Sales", "Buyer"];
const STAGES: &[&str] = &["NEW", "QUALIFIED", "PROPOSAL", "NEGOTIATION", "WON", "LOST"];

fn objects(v: Vec<Value>) -> Vec<Record> {
    v.into_iter()
        .filter_map(|x| x.as_object().cloned())
        .collect()
}

pub async fn load(app: &App) -> Result<(), ServerError> {
    let live = app.live();
    let store = &live.store;
    let counter = StatementCounter::default();
    let actor = Actor {
        kind: "system".into(),
        id: "demo".into(),
        name: "demo".into(),
    };
    let companies = store
        .create(
            &counter,
            &actor,
            "company",
            &objects(
                COMPANIES
                    .iter()
                    .enumerate()
                    .map(|(i, (name, domain, industry))| {
                        json!({ "name": name, "domain": domain, "industry": industry,
                                "employees": 40 + i * 135, "lifecycleStage": if i % 3 == 0 { "CUSTOMER" } else { "PROSPECT" },
                                "annualRevenue": { "amount": format!("{}000000", 2 + i * 3), "currencyCode": "EUR" } })
                    })
                    .collect(),
            ),
            None,
        )
        .await?;
    let mut people = Vec::new();
    for (i, c) in companies.iter().enumerate() {
        for j in 0..3 {
            let (first, last) = (
                FIRST[(i + j * 3) % FIRST.len()],
                LAST[(i * 2 + j) % LAST.len()],
            );
            people.push(json!({ "name": { "firstName": first, "lastName": last },
                "email": format!("{}.{}@{}", first.to_lowercase(), last.to_lowercase(), c["domain"].as_str().unwrap_or("example.com")),
                "jobTitle": TITLES[j], "companyId": c["id"] }));
        }
    }
    let people = store
        .create(&counter, &actor, "person", &objects(people), None)
        .await?;
    let mut deals = Vec::new();
    for (i, c) in companies.iter().enumerate() {
        for j in 0..3 {
            let n = i * 3 + j;
            deals.push(json!({ "name": format!("{} — deal {}", c["name"].as_str().unwrap_or(""), j + 1),
                "companyId": c["id"], "pointOfContactId": people[n]["id"], "stage": STAGES[n % STAGES.len()],
                "amount": { "amount": format!("{}", 5_000 + (n * 7_919) % 90_000), "currencyCode": "EUR" },
                "closeDate": format!("2026-{:02}-15", 1 + n % 12) }));
        }
    }
    store
        .create(&counter, &actor, "opportunity", &objects(deals), None)
        .await?;
    tracing::info!("demo data loaded");
    Ok(())
}
