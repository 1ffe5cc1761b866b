//! Demo data: a small CRM that looks alive — members and teams, accounts and
//! contacts, leads in every status, a pipeline over several quarters, quotes
//! and orders, cases with SLAs and complaints, campaigns with members, and
//! the activity around them. Deterministic: the same scale gives the same data.

use rapport_graphql::Filter;
use rapport_store::{Actor, Record, RecordStore, StatementCounter};
use serde_json::{Value, json};

use crate::app::App;
use crate::error::ServerError;

const INDUSTRIES: &[&str] = &[
    "SOFTWARE",
    "MANUFACTURING",
    "RETAIL",
    "FINANCE",
    "HEALTHCARE",
    "EDUCATION",
    "ENERGY",
    "MEDIA",
];
const PREFIX: &[&str] = &[
    "Acme",
    "Blue Harbor",
    "Cedar",
    "Delta",
    "Evergreen",
    "Foxglove",
    "Granite",
    "Harbor",
    "Ionic",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Meridian",
    "Northwind",
    "Orchid",
    "Pioneer",
    "Quartz",
    "Redwood",
    "Summit",
    "Tidal",
];
const SUFFIX: &[&str] = &[
    "Robotics",
    "Bank",
    "Health",
    "Learning",
    "Energy",
    "Retail",
    "Software",
    "Media",
    "Labs",
    "Logistics",
];
const FIRST: &[&str] = &[
    "Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Iris", "Jonas", "Kira",
    "Liam", "Mona", "Nils", "Olga", "Priya",
];
const LAST: &[&str] = &[
    "Lovelace", "Okafor", "Martin", "Patel", "Rossi", "Haddad", "Hopper", "Laurent", "Chen",
    "Berg", "Novak", "Silva",
];
const TITLES: &[&str] = &[
    "CEO",
    "Head of Sales",
    "Buyer",
    "CTO",
    "Procurement lead",
    "Operations manager",
];
const STAGES: &[&str] = &["NEW", "QUALIFIED", "PROPOSAL", "NEGOTIATION", "WON", "LOST"];
const LEAD_STATUS: &[&str] = &["NEW", "WORKING", "QUALIFIED", "DISQUALIFIED", "CONVERTED"];
const SOURCES: &[&str] = &[
    "WEB",
    "REFERRAL",
    "TRADE_SHOW",
    "CAMPAIGN",
    "COLD_CALL",
    "PARTNER",
];
const CASE_STATUS: &[&str] = &["NEW", "OPEN", "PENDING", "RESOLVED", "CLOSED"];
const CASE_TYPES: &[&str] = &["QUESTION", "PROBLEM", "COMPLAINT", "FEATURE_REQUEST"];
const PRIORITIES: &[&str] = &["LOW", "MEDIUM", "HIGH", "URGENT"];

/// A tiny deterministic generator (the data must not change between runs).
struct Seq(u64);

impl Seq {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, list: &'a [&'a str]) -> &'a str {
        list[(self.next() as usize) % list.len()]
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn records(v: Vec<Value>) -> Vec<Record> {
    v.into_iter()
        .filter_map(|x| x.as_object().cloned())
        .collect()
}

fn ids(rs: &[Record]) -> Vec<String> {
    rs.iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn day(offset: u64) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2025, 7, 1).expect("valid date");
    (base + chrono::Days::new(offset)).to_string()
}

/// One demo load: where records go, who makes them, the generator, and
/// what later steps link to.
struct Demo<'a> {
    store: &'a RecordStore,
    counter: StatementCounter,
    actor: Actor,
    r: Seq,
    scale: usize,
    /// Carried by unique values (domains, emails) of a second load.
    tag: String,
    team_ids: Vec<String>,
    member_ids: Vec<String>,
}

/// Loads `scale` × (20 companies, 60 people, 30 leads, 40 deals, …).
pub async fn load(app: &App, scale: u32) -> Result<(), ServerError> {
    let live = app.live();
    let mut demo = Demo {
        store: &live.store,
        counter: StatementCounter::default(),
        actor: Actor {
            kind: "system".into(),
            id: "demo".into(),
            name: "demo".into(),
        },
        r: Seq(42),
        scale: scale.max(1) as usize,
        tag: String::new(),
        team_ids: Vec::new(),
        member_ids: Vec::new(),
    };
    demo.staff().await?;
    let company_ids = ids(&demo.companies().await?);
    let person_ids = ids(&demo.people(&company_ids).await?);
    let campaign_ids = ids(&demo.campaigns().await?);
    let leads = demo.leads(&campaign_ids).await?;
    let deals = demo.deals(&company_ids, &person_ids, &campaign_ids).await?;
    let products = demo.products().await?;
    demo.quotes(&deals, &products).await?;
    demo.service(&company_ids, &person_ids, &products).await?;
    demo.campaign_members(&campaign_ids, &person_ids, &leads)
        .await?;
    demo.activities(&deals, &company_ids).await?;
    tracing::info!(scale, statements = demo.counter.get(), "demo data loaded");
    Ok(())
}

impl Demo<'_> {
    async fn create(&self, object: &str, rows: Vec<Value>) -> Result<Vec<Record>, ServerError> {
        let mut out = Vec::new();
        for chunk in records(rows).chunks(500) {
            let created = self
                .store
                .create(&self.counter, &self.actor, object, chunk, None)
                .await?;
            out.extend(created);
        }
        Ok(out)
    }

    /// Records of `object` whose `field` is one of `values`, in their
    /// order: what an earlier demo load made, for a later one to reuse.
    async fn existing(
        &self,
        object: &str,
        field: &str,
        values: &[String],
    ) -> Result<Option<Vec<Record>>, ServerError> {
        let tx = self.store.begin(&self.counter, &self.actor).await?;
        let found = tx
            .find(object, Filter::one_of(field, values.iter().cloned()), 500)
            .await?;
        let ordered: Vec<Record> = values
            .iter()
            .filter_map(|v| found.iter().find(|r| r[field] == v.as_str()).cloned())
            .collect();
        Ok((ordered.len() == values.len()).then_some(ordered))
    }

    /// The teams and members. A workspace that has the demo already gets
    /// more of it: the same teams, members and products, and new records
    /// whose unique values carry the load's number.
    async fn staff(&mut self) -> Result<(), ServerError> {
        let emails: Vec<String> = (0..6)
            .map(|i| format!("{}@rapport.example", FIRST[i].to_lowercase()))
            .collect();
        let team_names: Vec<String> = ["Sales EMEA", "Sales Americas", "Customer care"]
            .map(String::from)
            .to_vec();
        if let Some(members) = self.existing("workspaceMember", "email", &emails).await? {
            let teams = self
                .existing("team", "name", &team_names)
                .await?
                .unwrap_or_default();
            let all = rapport_graphql::ConnectionArgs::default();
            let companies = self.store.count(&self.counter, "company", &all).await?;
            self.team_ids = ids(&teams);
            self.member_ids = ids(&members);
            self.tag = format!("-{}", companies / 20 + 1);
        } else {
            let rows = team_names.iter().map(|n| json!({ "name": n })).collect();
            self.team_ids = ids(&self.create("team", rows).await?);
            let rows = (0..6)
                .map(|i| {
                    json!({ "name": { "firstName": FIRST[i], "lastName": LAST[i] },
                            "email": emails[i],
                            "role": if i == 0 { "ADMIN" } else if i < 3 { "MANAGER" } else { "MEMBER" },
                            "teamId": self.team_ids[i % self.team_ids.len()] })
                })
                .collect();
            self.member_ids = ids(&self.create("workspaceMember", rows).await?);
        }
        if self.team_ids.len() < 3 {
            return Err(ServerError::Usage(
                "the demo's teams were renamed or removed; load the demo into a fresh workspace"
                    .into(),
            ));
        }
        Ok(())
    }

    async fn companies(&mut self) -> Result<Vec<Record>, ServerError> {
        let (tag, member_ids, team_ids) = (&self.tag, &self.member_ids, &self.team_ids);
        let r = &mut self.r;
        let rows = (0..20 * self.scale)
            .map(|i| {
                let name = format!("{} {}", PREFIX[i % PREFIX.len()], SUFFIX[(i / PREFIX.len() + i) % SUFFIX.len()]);
                let suffix = if i >= PREFIX.len() { format!("-{}", i / PREFIX.len()) } else { String::new() };
                json!({ "name": format!("{name}{}", if suffix.is_empty() { String::new() } else { format!(" {}", i / PREFIX.len() + 1) }),
                        "domain": format!("{}{suffix}{tag}.example", name.to_lowercase().replace(' ', "-")),
                        "industry": INDUSTRIES[i % INDUSTRIES.len()], "employees": 10 + r.below(5000),
                        "annualRevenue": { "amount": format!("{}", (1 + r.below(200)) * 100_000), "currencyCode": "EUR" },
                        "lifecycleStage": (["PROSPECT", "CUSTOMER", "CUSTOMER", "PARTNER", "CHURNED"][i % 5]),
                        "tier": (["STRATEGIC", "KEY", "STANDARD", "SMALL"][i % 4]), "source": r.pick(SOURCES),
                        "ownerId": member_ids[i % 4 + 1], "teamId": team_ids[i % 2],
                        "address": { "city": (["Berlin", "Paris", "Madrid", "Milan", "Austin", "Toronto"][i % 6]) } })
            })
            .collect();
        self.create("company", rows).await
    }

    async fn people(&self, company_ids: &[String]) -> Result<Vec<Record>, ServerError> {
        let (tag, member_ids) = (&self.tag, &self.member_ids);
        let rows = (0..company_ids.len() * 3)
            .map(|i| {
                let (first, last) = (FIRST[i % FIRST.len()], LAST[(i / FIRST.len() + i * 7) % LAST.len()]);
                json!({ "name": { "firstName": first, "lastName": last },
                        "email": format!("{}.{}.{i}{tag}@customer.example", first.to_lowercase(), last.to_lowercase()),
                        "jobTitle": TITLES[i % TITLES.len()], "companyId": company_ids[i / 3],
                        "emailOptOut": i % 11 == 0, "ownerId": member_ids[i % 4 + 1] })
            })
            .collect();
        self.create("person", rows).await
    }

    async fn campaigns(&self) -> Result<Vec<Record>, ServerError> {
        let rows = (0..3 * self.scale)
            .map(|i| {
                json!({ "name": format!("{} {}", (["Spring webinar", "Trade fair", "Winter email"][i % 3]), 2025 + (i / 3) as u64),
                        "type": (["WEBINAR", "TRADE_SHOW", "EMAIL"][i % 3]), "status": (["COMPLETED", "ACTIVE", "PLANNED"][i % 3]),
                        "startDate": day(30 * i as u64), "budget": { "amount": format!("{}", 5000 * (i + 1)), "currencyCode": "EUR" } })
            })
            .collect();
        self.create("campaign", rows).await
    }

    async fn leads(&mut self, campaign_ids: &[String]) -> Result<Vec<Record>, ServerError> {
        let (tag, member_ids) = (&self.tag, &self.member_ids);
        let r = &mut self.r;
        let rows = (0..30 * self.scale)
            .map(|i| {
                json!({ "name": { "firstName": FIRST[(i + 3) % FIRST.len()], "lastName": LAST[(i + 5) % LAST.len()] },
                        "companyName": format!("{} Prospect {i}", PREFIX[(i * 3) % PREFIX.len()]),
                        "email": format!("lead{i}{tag}@prospect.example"), "status": LEAD_STATUS[i % LEAD_STATUS.len()],
                        "source": SOURCES[i % SOURCES.len()], "score": r.below(100),
                        "rating": (["HOT", "WARM", "COLD"][i % 3]), "campaignId": campaign_ids[i % campaign_ids.len()],
                        "ownerId": member_ids[i % 4 + 1] })
            })
            .collect();
        self.create("lead", rows).await
    }

    async fn deals(
        &mut self,
        company_ids: &[String],
        person_ids: &[String],
        campaign_ids: &[String],
    ) -> Result<Vec<Record>, ServerError> {
        let member_ids = &self.member_ids;
        let r = &mut self.r;
        let rows = (0..40 * self.scale)
            .map(|i| {
                let c = i % company_ids.len();
                json!({ "name": format!("Deal {} — {}", i + 1, (["licences", "expansion", "services", "renewal"][i % 4])),
                        "companyId": company_ids[c], "pointOfContactId": person_ids[c * 3],
                        "stage": STAGES[i % STAGES.len()], "closeDate": day(r.below(540)),
                        "amount": { "amount": format!("{}", 5_000 + r.below(95) * 1_000), "currencyCode": "EUR" },
                        "source": r.pick(SOURCES), "campaignId": if i % 2 == 0 { json!(campaign_ids[i % campaign_ids.len()]) } else { Value::Null },
                        "ownerId": member_ids[i % 4 + 1] })
            })
            .collect();
        self.create("opportunity", rows).await
    }

    /// The catalog of products, made once per workspace.
    async fn products(&self) -> Result<Vec<Record>, ServerError> {
        let skus: Vec<String> = (1..=5).map(|i| format!("SKU-{i:03}")).collect();
        if let Some(products) = self.existing("product", "sku", &skus).await? {
            return Ok(products);
        }
        let rows = ["Platform licence", "Premium support", "Onboarding", "Scanner X1", "Spare battery"]
            .iter()
            .enumerate()
            .map(|(i, n)| json!({ "name": n, "sku": skus[i], "family": (["SOFTWARE", "SERVICE", "SERVICE", "HARDWARE", "SPARE_PART"][i]),
                                  "unitPrice": { "amount": (["1200", "300", "2500", "899", "49"][i]), "currencyCode": "EUR" } }))
            .collect();
        self.create("product", rows).await
    }

    /// Quotes with their lines; accepted ones become orders through the
    /// same operation an app calls.
    async fn quotes(&self, deals: &[Record], products: &[Record]) -> Result<(), ServerError> {
        let deal_ids = ids(deals);
        let product_ids = ids(products);
        let rows = (0..10 * self.scale)
            .map(|i| {
                let d = i * 4 % deal_ids.len();
                json!({ "name": format!("Offer {}", i + 1), "opportunityId": deal_ids[d], "companyId": deals[d]["companyId"],
                        "contactId": deals[d]["pointOfContactId"], "status": (["DRAFT", "SENT", "ACCEPTED", "REJECTED"][i % 4]),
                        "taxRate": 20, "validUntil": day(200 + i as u64 * 7) })
            })
            .collect();
        let quotes = self.create("quote", rows).await?;
        let mut lines = Vec::new();
        for (i, q) in quotes.iter().enumerate() {
            for j in 0..(1 + i % 3) {
                let p = (i + j) % product_ids.len();
                lines.push(json!({ "quoteId": q["id"], "productId": product_ids[p], "quantity": format!("{}", 1 + (i + j) % 10),
                                   "unitPrice": (products[p]["unitPrice"]["amount"]), "discountPercent": if j == 0 { 5 } else { 0 } }));
            }
        }
        self.create("quoteLineItem", lines).await?;
        let tx = self.store.begin(&self.counter, &self.actor).await?;
        for q in quotes.iter().filter(|q| q["status"] == "ACCEPTED") {
            rapport_crm::create_order_from_quote(&tx, q["id"].as_str().unwrap_or_default())
                .await
                .map_err(|e| ServerError::Usage(format!("demo order: {e}")))?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Support cases, and a service request for a complaint.
    async fn service(
        &self,
        company_ids: &[String],
        person_ids: &[String],
        products: &[Record],
    ) -> Result<(), ServerError> {
        let (member_ids, team_ids) = (&self.member_ids, &self.team_ids);
        let rows = (0..15 * self.scale)
            .map(|i| {
                let c = (i * 5) % company_ids.len();
                json!({ "subject": (["Cannot log in", "Invoice looks wrong", "Scanner broken on arrival", "Please add export", "Slow reports"][i % 5]),
                        "type": CASE_TYPES[i % CASE_TYPES.len()], "priority": PRIORITIES[i % PRIORITIES.len()],
                        "status": CASE_STATUS[i % CASE_STATUS.len()], "channel": (["PHONE", "EMAIL", "WEB", "CHAT"][i % 4]),
                        "companyId": company_ids[c], "contactId": person_ids[c * 3 + 1],
                        "slaDueAt": format!("{}T12:00:00Z", day(400 + i as u64)), "assigneeId": member_ids[5 - i % 2],
                        "teamId": team_ids[2], "satisfaction": if i % 5 >= 3 { json!(1 + (i % 5) as u64) } else { Value::Null } })
            })
            .collect();
        let cases = self.create("supportCase", rows).await?;
        let complaint = cases
            .iter()
            .find(|c| c["type"] == "COMPLAINT")
            .map(|c| c["id"].clone())
            .unwrap_or(Value::Null);
        let request = json!({ "supportCaseId": complaint, "productId": products[3]["id"], "serialNumber": "X1-000417", "underWarranty": true,
                              "status": "SCHEDULED", "scheduledAt": format!("{}T09:00:00Z", day(410)), "technicianId": member_ids[5] });
        self.create("serviceRequest", vec![request]).await?;
        Ok(())
    }

    async fn campaign_members(
        &self,
        campaign_ids: &[String],
        person_ids: &[String],
        leads: &[Record],
    ) -> Result<(), ServerError> {
        let mut rows = Vec::new();
        for (i, c) in campaign_ids.iter().enumerate() {
            for j in 0..10 {
                let p = (i * 10 + j * 3) % person_ids.len();
                rows.push(json!({ "campaignId": c, "personId": person_ids[p], "status": (["SENT", "RESPONDED", "REGISTERED", "ATTENDED"][j % 4]) }));
            }
        }
        for (i, l) in leads.iter().enumerate().take(10 * self.scale) {
            rows.push(json!({ "campaignId": l["campaignId"], "leadId": l["id"], "status": (["REGISTERED", "ATTENDED"][i % 2]) }));
        }
        self.create("campaignMember", rows).await?;
        Ok(())
    }

    /// An activity per deal, a follow-up task for every other one, and
    /// account plans as notes.
    async fn activities(
        &mut self,
        deals: &[Record],
        company_ids: &[String],
    ) -> Result<(), ServerError> {
        let mut activities = Vec::new();
        let mut tasks = Vec::new();
        for (i, d) in deals.iter().enumerate() {
            activities.push(json!({ "type": (["CALL", "EMAIL", "MEETING", "VISIT"][i % 4]), "direction": (["OUTBOUND", "INBOUND"][i % 2]),
                                    "subject": format!("{} about {}", (["Call", "Email", "Meeting", "Visit"][i % 4]), d["name"].as_str().unwrap_or("")),
                                    "occurredAt": format!("{}T10:00:00Z", day(self.r.below(500))), "durationMinutes": 15 + self.r.below(60),
                                    "companyId": d["companyId"], "opportunityId": d["id"], "personId": d["pointOfContactId"] }));
            if i % 2 == 0 {
                tasks.push(json!({ "title": format!("Follow up on {}", d["name"].as_str().unwrap_or("")), "status": (["TODO", "IN_PROGRESS", "DONE"][i % 3]),
                                   "dueAt": format!("{}T16:00:00Z", day(450 + i as u64)), "assigneeId": d["ownerId"],
                                   "relatedObject": "opportunity", "relatedId": d["id"] }));
            }
        }
        self.create("activity", activities).await?;
        self.create("task", tasks).await?;
        let notes = company_ids.iter().take(5).map(|c| json!({ "title": "Account plan", "body": "Grow into **two** more teams this year.", "relatedObject": "company", "relatedId": c })).collect();
        self.create("note", notes).await?;
        Ok(())
    }
}
