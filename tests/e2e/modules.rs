//! The main journey of each CRM module, through the API as an app would run it.

use serde_json::{Value, json};

use crate::harness::{TestServer, code};

fn id(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

fn num(v: &Value) -> f64 {
    v.as_str()
        .map(|s| s.parse().unwrap())
        .or(v.as_f64())
        .unwrap_or_else(|| panic!("not a number: {v}"))
}

#[tokio::test]
async fn sales_from_lead_to_won_deal_and_order() {
    let s = TestServer::start().await;
    let campaign = s.gql("mutation { createCampaign(data: { name: \"Spring webinar\", type: WEBINAR, status: ACTIVE }) { id } }", json!({})).await;
    let campaign = id(&campaign["createCampaign"]);
    let lead = s
        .gql(
            "mutation($c: ID!) { createLead(data: { name: { firstName: \"Grace\", lastName: \"Hopper\" }, companyName: \"Navy Labs\",
                email: \"grace@navylabs.example\", source: CAMPAIGN, status: QUALIFIED, campaignId: $c }) { id status } }",
            json!({ "c": campaign }),
        )
        .await;
    let lead = id(&lead["createLead"]);
    s.gql("mutation($l: ID!) { createTask(data: { title: \"Call back\", relatedObject: \"lead\", relatedId: $l }) { id } }", json!({ "l": lead })).await;

    let converted = s
        .gql(
            "mutation($l: ID!) { convertLead(id: $l, opportunityName: \"Navy Labs platform\") {
                lead { status convertedAt convertedCompany { name } convertedPerson { email } }
                company { id name } person { id name { lastName } company { name } tasks { nodes { title } } }
                opportunity { id name stage campaign { name } pointOfContact { email } } } }",
            json!({ "l": lead }),
        )
        .await["convertLead"]
        .clone();
    assert_eq!(converted["lead"]["status"], "CONVERTED");
    assert!(converted["lead"]["convertedAt"].is_string());
    assert_eq!(converted["lead"]["convertedCompany"]["name"], "Navy Labs");
    assert_eq!(converted["person"]["company"]["name"], "Navy Labs");
    assert_eq!(
        converted["person"]["tasks"]["nodes"],
        json!([{ "title": "Call back" }]),
        "the lead's task moved to the person"
    );
    assert_eq!(
        converted["opportunity"]["campaign"]["name"],
        "Spring webinar"
    );
    let e = s
        .gql_error(
            "mutation($l: ID!) { convertLead(id: $l) { lead { id } } }",
            json!({ "l": lead }),
        )
        .await;
    assert_eq!(code(&e), "CONFLICT", "a lead converts once");
    let (company, person, deal) = (
        id(&converted["company"]),
        id(&converted["person"]),
        id(&converted["opportunity"]),
    );

    // A quote with lines; its totals are rollups over formula lines.
    let product = s.gql("mutation { createProduct(data: { name: \"Platform licence\", sku: \"PL-1\", unitPrice: { amount: \"1000\", currencyCode: \"EUR\" } }) { id } }", json!({})).await;
    let product = id(&product["createProduct"]);
    let quote = s
        .gql(
            "mutation($o: ID!, $c: ID!, $p: ID!) { createQuote(data: { name: \"Platform\", opportunityId: $o, companyId: $c, contactId: $p, taxRate: 20 }) { id number status } }",
            json!({ "o": deal, "c": company, "p": person }),
        )
        .await["createQuote"]
        .clone();
    assert_eq!(quote["number"], "Q-000001");
    let quote_id = id(&quote);
    s.gql(
        "mutation($q: ID!, $p: ID!) { createQuoteLineItems(data: [
            { quoteId: $q, productId: $p, quantity: \"10\", unitPrice: \"1000\", discountPercent: 10 },
            { quoteId: $q, productId: $p, quantity: \"2\", unitPrice: \"500\" }]) { lineTotal } }",
        json!({ "q": quote_id, "p": product }),
    )
    .await;
    let totals = s
        .gql(
            "query($q: ID!) { quote(id: $q) { subtotal discountTotal tax grandTotal } }",
            json!({ "q": quote_id }),
        )
        .await["quote"]
        .clone();
    assert_eq!(
        (
            num(&totals["subtotal"]),
            num(&totals["discountTotal"]),
            num(&totals["tax"]),
            num(&totals["grandTotal"])
        ),
        (10000.0, 1000.0, 2000.0, 12000.0)
    );
    // A line changes: the quote follows.
    let line = s.gql("query($q: ID!) { quoteLineItems(filter: { quoteId: { eq: $q }, discountPercent: { isNull: true } }) { nodes { id } } }", json!({ "q": quote_id })).await;
    s.gql("mutation($id: ID!) { updateQuoteLineItem(id: $id, data: { quantity: \"4\" }) { lineTotal } }", json!({ "id": id(&line["quoteLineItems"]["nodes"][0]) })).await;
    let totals = s
        .gql(
            "query($q: ID!) { quote(id: $q) { subtotal grandTotal } }",
            json!({ "q": quote_id }),
        )
        .await["quote"]
        .clone();
    assert_eq!(
        (num(&totals["subtotal"]), num(&totals["grandTotal"])),
        (11000.0, 13200.0)
    );

    let order = s
        .gql(
            "mutation($q: ID!) { createOrderFromQuote(quoteId: $q) { number status company { name } quote { status } subtotal grandTotal lineItems { totalCount } } }",
            json!({ "q": quote_id }),
        )
        .await["createOrderFromQuote"]
        .clone();
    assert_eq!(order["number"], "SO-000001");
    assert_eq!(order["status"], "DRAFT");
    assert_eq!(order["quote"]["status"], "ACCEPTED");
    assert_eq!(order["lineItems"]["totalCount"], 2);
    assert_eq!(
        (num(&order["subtotal"]), num(&order["grandTotal"])),
        (11000.0, 13200.0),
        "the order carries the quote's totals"
    );

    // The deal is won: the campaign's revenue and the company's rollups follow.
    s.gql("mutation($o: ID!) { updateOpportunity(id: $o, data: { stage: WON, amount: { amount: \"13200\", currencyCode: \"EUR\" } }) { weightedAmount } }", json!({ "o": deal })).await;
    let c = s
        .gql(
            "query($c: ID!) { campaign(id: $c) { leadCount wonOpportunities revenueWon } }",
            json!({ "c": campaign }),
        )
        .await["campaign"]
        .clone();
    assert_eq!(
        (
            c["leadCount"].as_i64(),
            c["wonOpportunities"].as_i64(),
            num(&c["revenueWon"])
        ),
        (Some(1), Some(1), 13200.0)
    );
    let co = s
        .gql(
            "query($c: ID!) { company(id: $c) { wonRevenue openPipeline } }",
            json!({ "c": company }),
        )
        .await["company"]
        .clone();
    assert_eq!(
        (num(&co["wonRevenue"]), num(&co["openPipeline"])),
        (13200.0, 0.0)
    );
    s.finish().await;
}

#[tokio::test]
async fn service_from_complaint_to_resolution() {
    let s = TestServer::start().await;
    let setup = s
        .gql(
            "mutation { c: createCompany(data: { name: \"Cedar Health\" }) { id }
                        m: createWorkspaceMember(data: { name: { firstName: \"Tom\" }, email: \"tom@rapport.example\" }) { id }
                        p: createProduct(data: { name: \"Scanner\", sku: \"SC-9\" }) { id } }",
            json!({}),
        )
        .await;
    let (company, tech, product) = (id(&setup["c"]), id(&setup["m"]), id(&setup["p"]));
    let case = s
        .gql(
            "mutation($c: ID!, $m: ID!) { createSupportCase(data: { subject: \"Scanner broken on arrival\", type: COMPLAINT, channel: PHONE,
                priority: HIGH, companyId: $c, assigneeId: $m, slaDueAt: \"2026-11-23T09:00:00Z\" }) { id number status assignee { email } } }",
            json!({ "c": company, "m": tech }),
        )
        .await["createSupportCase"]
        .clone();
    assert_eq!(case["number"], "CASE-000001");
    assert_eq!(case["status"], "NEW");
    let case_id = id(&case);
    let sr = s
        .gql(
            "mutation($case: ID!, $p: ID!, $m: ID!) { createServiceRequest(data: { supportCaseId: $case, productId: $p, technicianId: $m,
                serialNumber: \"SN-1\", underWarranty: true, scheduledAt: \"2026-11-24T10:00:00Z\", status: SCHEDULED }) { id number supportCase { subject } } }",
            json!({ "case": case_id, "p": product, "m": tech }),
        )
        .await["createServiceRequest"]
        .clone();
    assert_eq!(sr["number"], "SR-000001");
    s.gql("mutation($id: ID!) { updateServiceRequest(id: $id, data: { status: COMPLETED }) { status } }", json!({ "id": id(&sr) })).await;
    s.gql(
        "mutation($id: ID!) { updateSupportCase(id: $id, data: { status: RESOLVED, resolvedAt: \"2026-11-24T12:00:00Z\", satisfaction: 5 }) { status } }",
        json!({ "id": case_id }),
    )
    .await;
    let survey = s
        .gql(
            "mutation { createSurvey(data: { name: \"After repair\", status: ACTIVE }) { id } }",
            json!({}),
        )
        .await;
    let survey = id(&survey["createSurvey"]);
    s.gql(
        "mutation($s: ID!, $c: ID!) { createSurveyResponses(data: [{ surveyId: $s, supportCaseId: $c, score: 9 }, { surveyId: $s, score: 7 }]) { id } }",
        json!({ "s": survey, "c": case_id }),
    )
    .await;
    let d = s
        .gql(
            "query($c: ID!, $s: ID!) { supportCase(id: $c) { status satisfaction serviceRequests { nodes { status } } surveyResponses { nodes { score } } }
                                   survey(id: $s) { responseCount averageScore }
                                   supportCases(filter: { status: { notIn: [RESOLVED, CLOSED] } }) { totalCount } }",
            json!({ "c": case_id, "s": survey }),
        )
        .await;
    assert_eq!(d["supportCase"]["status"], "RESOLVED");
    assert_eq!(
        d["supportCase"]["serviceRequests"]["nodes"],
        json!([{ "status": "COMPLETED" }])
    );
    assert_eq!(d["survey"]["responseCount"], 2);
    assert_eq!(num(&d["survey"]["averageScore"]), 8.0);
    assert_eq!(d["supportCases"]["totalCount"], 0);
    s.finish().await;
}

#[tokio::test]
async fn marketing_from_members_to_revenue() {
    let s = TestServer::start().await;
    let c = s.gql("mutation { createCampaign(data: { name: \"Trade fair\", type: TRADE_SHOW, budget: { amount: \"5000\", currencyCode: \"EUR\" } }) { id } }", json!({})).await;
    let campaign = id(&c["createCampaign"]);
    let people = s.gql("mutation { createPeople(data: [{ name: { firstName: \"A\" }, email: \"a@x.example\" }, { name: { firstName: \"B\" }, email: \"b@x.example\", emailOptOut: true }]) { id } }", json!({})).await;
    let leads = s.gql("mutation { createLeads(data: [{ companyName: \"L1\" }, { companyName: \"L2\" }]) { id } }", json!({})).await;
    let mut members = Vec::new();
    for p in people["createPeople"].as_array().unwrap() {
        members.push(json!({ "campaignId": campaign, "personId": p["id"], "status": "SENT" }));
    }
    for l in leads["createLeads"].as_array().unwrap() {
        members.push(json!({ "campaignId": campaign, "leadId": l["id"], "status": "REGISTERED" }));
    }
    s.gql(
        "mutation($d: [CampaignMemberCreateInput!]!) { createCampaignMembers(data: $d) { id } }",
        json!({ "d": members }),
    )
    .await;
    // Who may be emailed: members whose person has not opted out.
    let d = s
        .gql(
            "query($c: ID!) { campaignMembers(filter: { campaignId: { eq: $c }, person: { emailOptOut: { eq: false } } }) { nodes { person { email } } } }",
            json!({ "c": campaign }),
        )
        .await;
    assert_eq!(
        d["campaignMembers"]["nodes"],
        json!([{ "person": { "email": "a@x.example" } }])
    );
    let company = s
        .gql(
            "mutation { createCompany(data: { name: \"Buyer\" }) { id } }",
            json!({}),
        )
        .await;
    s.gql(
        "mutation($c: ID!, $co: ID!) { createOpportunities(data: [
            { name: \"won\", campaignId: $c, companyId: $co, stage: WON, amount: { amount: \"30000\", currencyCode: \"EUR\" } },
            { name: \"open\", campaignId: $c, companyId: $co, stage: PROPOSAL, amount: { amount: \"9000\", currencyCode: \"EUR\" } }]) { id } }",
        json!({ "c": campaign, "co": id(&company["createCompany"]) }),
    )
    .await;
    let d = s.gql("query($c: ID!) { campaign(id: $c) { memberCount leadCount wonOpportunities revenueWon budget { amount } } }", json!({ "c": campaign })).await;
    let c = &d["campaign"];
    assert_eq!(
        (
            c["memberCount"].as_i64(),
            c["wonOpportunities"].as_i64(),
            num(&c["revenueWon"])
        ),
        (Some(4), Some(1), 30000.0)
    );
    let roi = s
        .gql(
            "{ campaigns(filter: { revenueWon: { gt: \"5000\" } }) { nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(roi["campaigns"]["nodes"], json!([{ "name": "Trade fair" }]));
    s.finish().await;
}

#[tokio::test]
async fn a_leaving_member_hands_over_their_open_work() {
    let s = TestServer::start().await;
    let m = s
        .gql(
            "mutation { a: createWorkspaceMember(data: { name: { firstName: \"Ann\" }, email: \"ann@r.example\" }) { id }
                        b: createWorkspaceMember(data: { name: { firstName: \"Bob\" }, email: \"bob@r.example\" }) { id }
                        t: createTeam(data: { name: \"EMEA\" }) { id } }",
            json!({}),
        )
        .await;
    let (ann, bob, team) = (id(&m["a"]), id(&m["b"]), id(&m["t"]));
    let c = s
        .gql(
            "mutation { createCompanies(data: [{ name: \"Acme\" }, { name: \"Zeta\" }]) { id } }",
            json!({}),
        )
        .await;
    let companies: Vec<String> = c["createCompanies"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    let n = s.gql("mutation($ids: [ID!]!, $a: ID!, $t: ID!) { assignRecords(object: \"company\", ids: $ids, ownerId: $a, teamId: $t) }", json!({ "ids": companies, "a": ann, "t": team })).await;
    assert_eq!(n["assignRecords"], 2);
    let d = s
        .gql(
            "{ companies { nodes { owner { email } team { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        d["companies"]["nodes"][0],
        json!({ "owner": { "email": "ann@r.example" }, "team": { "name": "EMEA" } })
    );
    s.gql(
        "mutation($a: ID!, $c: ID!) { createOpportunities(data: [
            { name: \"open deal\", companyId: $c, ownerId: $a, stage: PROPOSAL },
            { name: \"won deal\", companyId: $c, ownerId: $a, stage: WON }]) { id }
          createTasks(data: [{ title: \"todo\", assigneeId: $a }, { title: \"done\", assigneeId: $a, status: DONE }]) { id } }",
        json!({ "a": ann, "c": companies[0] }),
    )
    .await;
    let e = s
        .gql_error(
            "mutation($a: ID!) { createCompany(data: { name: \"x\", ownerId: $a }) { id } }",
            json!({ "a": "7f000000-0000-4000-8000-000000000000" }),
        )
        .await;
    assert_eq!(
        (code(&e), e["extensions"]["field"].as_str()),
        ("BAD_USER_INPUT", Some("ownerId"))
    );

    let moved = s.gql("mutation($a: ID!, $b: ID!) { transferOwnership(fromMemberId: $a, toMemberId: $b) { object count } }", json!({ "a": ann, "b": bob })).await;
    let mut moved = moved["transferOwnership"].as_array().unwrap().clone();
    moved.sort_by_key(|m| m["object"].as_str().unwrap().to_string());
    assert_eq!(
        moved,
        vec![
            json!({ "object": "company", "count": 2 }),
            json!({ "object": "opportunity", "count": 1 }),
            json!({ "object": "task", "count": 1 })
        ]
    );
    let d = s.gql("{ opportunities(orderBy: [{ name: ASC }]) { nodes { name owner { email } } } tasks(orderBy: [{ title: ASC }]) { nodes { title assignee { email } } } }", json!({})).await;
    assert_eq!(
        d["opportunities"]["nodes"],
        json!([{ "name": "open deal", "owner": { "email": "bob@r.example" } }, { "name": "won deal", "owner": { "email": "ann@r.example" } }]),
        "closed work keeps its history"
    );
    assert_eq!(
        d["tasks"]["nodes"],
        json!([{ "title": "done", "assignee": { "email": "ann@r.example" } }, { "title": "todo", "assignee": { "email": "bob@r.example" } }])
    );
    // Ann leaves: deactivated, never deleted, her history stays hers.
    s.gql(
        "mutation($a: ID!) { updateWorkspaceMember(id: $a, data: { active: false }) { active } }",
        json!({ "a": ann }),
    )
    .await;
    let e = s.gql_error("mutation($a: ID!, $b: ID!) { transferOwnership(fromMemberId: $b, toMemberId: $a) { count } }", json!({ "a": ann, "b": bob })).await;
    assert_eq!(
        code(&e),
        "BAD_USER_INPUT",
        "nothing goes to a deactivated member"
    );
    s.finish().await;
}

#[tokio::test]
async fn duplicates_are_found_and_merged_without_loss() {
    let s = TestServer::start().await;
    let c = s
        .gql("mutation { createCompanies(data: [{ name: \"Acme\", domain: \"acme.example\", employees: 50 }, { name: \"ACME Inc\", phone: \"+4930111\" }]) { id } }", json!({}))
        .await;
    let (keep, dup) = (id(&c["createCompanies"][0]), id(&c["createCompanies"][1]));
    let found = s
        .gql(
            "{ findDuplicates(object: \"company\", data: { name: \"acme\" }) { id matchedOn } }",
            json!({}),
        )
        .await;
    assert_eq!(
        found["findDuplicates"],
        json!([{ "id": keep, "matchedOn": ["name"] }]),
        "name matches case-insensitively"
    );
    let found = s
        .gql(
            "{ findDuplicates(object: \"person\", data: { email: \"nobody@x.example\" }) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(found["findDuplicates"], json!([]));
    s.gql(
        "mutation($d: ID!, $k: ID!) { createPeople(data: [{ name: { firstName: \"P1\" }, companyId: $d }, { name: { firstName: \"P2\" }, companyId: $k }]) { id }
          createNote(data: { title: \"about ACME Inc\", relatedObject: \"company\", relatedId: $d }) { id } }",
        json!({ "d": dup, "k": keep }),
    )
    .await;
    let merged = s
        .gql("mutation($k: ID!, $d: ID!) { mergeRecords(object: \"company\", keepId: $k, mergeIds: [$d]) { keptId referencesMoved record } }", json!({ "k": keep, "d": dup }))
        .await["mergeRecords"]
        .clone();
    assert_eq!(merged["referencesMoved"], 2, "one person and one note");
    assert_eq!(
        merged["record"]["phone"], "+4930111",
        "empty fields filled from the duplicate"
    );
    assert_eq!(merged["record"]["employees"], 50, "kept values stay");
    let d = s.gql("query($k: ID!) { company(id: $k) { people(orderBy: [{ name: { firstName: ASC } }]) { nodes { name { firstName } } } notes { totalCount } } companies { totalCount } }", json!({ "k": keep })).await;
    assert_eq!(
        d["company"]["people"]["nodes"],
        json!([{ "name": { "firstName": "P1" } }, { "name": { "firstName": "P2" } }])
    );
    assert_eq!(d["company"]["notes"]["totalCount"], 1);
    assert_eq!(d["companies"]["totalCount"], 1);
    let gone = s.gql("query($d: ID!) { companies(withDeleted: true, filter: { id: { eq: $d } }) { nodes { deletedAt } } }", json!({ "d": dup })).await;
    assert!(
        gone["companies"]["nodes"][0]["deletedAt"].is_string(),
        "the duplicate is soft-deleted, restorable"
    );
    let e = s.gql_error("mutation($k: ID!) { mergeRecords(object: \"company\", keepId: $k, mergeIds: [$k]) { keptId } }", json!({ "k": keep })).await;
    assert_eq!(code(&e), "BAD_USER_INPUT");

    // A moved reference is a change of the record that points: its history tells.
    let p1 = s
        .gql(
            "{ people(filter: { name: { firstName: { eq: \"P1\" } } }) { nodes { id } } }",
            json!({}),
        )
        .await["people"]["nodes"][0]["id"]
        .clone();
    let history =
        "query($id: ID!) { recordTimeline(object: \"person\", id: $id) { kind changes } }";
    let t = s.gql(history, json!({ "id": p1 })).await;
    assert!(
        t["recordTimeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["changes"]["companyId"] == json!([dup, keep])),
        "{t}"
    );
    // So is a reference cleared by destroying what it pointed at.
    s.gql(
        "mutation($k: ID!) { destroyCompany(id: $k) }",
        json!({ "k": keep }),
    )
    .await;
    let t = s.gql(history, json!({ "id": p1 })).await;
    assert!(
        t["recordTimeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["changes"]["companyId"] == json!([keep, null])),
        "{t}"
    );
    s.finish().await;
}

#[tokio::test]
async fn a_record_timeline_tells_what_happened() {
    let s = TestServer::start().await;
    let c = s
        .gql(
            "mutation { createCompany(data: { name: \"Acme\", employees: 10 }) { id } }",
            json!({}),
        )
        .await;
    let company = id(&c["createCompany"]);
    s.gql("mutation($c: ID!) { updateCompany(id: $c, data: { employees: 12, lifecycleStage: CUSTOMER }) { id } }", json!({ "c": company })).await;
    s.gql(
        "mutation($c: ID!) { createTask(data: { title: \"Renewal call\", relatedObject: \"company\", relatedId: $c }) { id }
          createNote(data: { title: \"Likes blue\", relatedObject: \"company\", relatedId: $c }) { id }
          createActivity(data: { type: MEETING, subject: \"Kick-off\", companyId: $c, occurredAt: \"2020-01-01T10:00:00Z\" }) { id } }",
        json!({ "c": company }),
    )
    .await;
    let t = s.gql("query($c: ID!) { recordTimeline(object: \"company\", id: $c) { at kind actor summary changes relatedObject } }", json!({ "c": company })).await;
    let entries = t["recordTimeline"].as_array().unwrap();
    let kinds: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in ["CREATED", "UPDATED", "TASK", "NOTE", "ACTIVITY"] {
        assert!(kinds.contains(&k), "{kinds:?} lacks {k}");
    }
    let ats: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let mut sorted = ats.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(ats, sorted, "newest first");
    assert_eq!(
        kinds.last(),
        Some(&"ACTIVITY"),
        "the 2020 meeting is the oldest"
    );
    let update = entries.iter().find(|e| e["kind"] == "UPDATED").unwrap();
    assert_eq!(update["changes"]["employees"], json!([10, 12]));
    assert_eq!(
        update["changes"]["lifecycleStage"],
        json!(["PROSPECT", "CUSTOMER"])
    );
    assert_eq!(update["actor"], "apiKey:admin");
    let created = entries.iter().find(|e| e["kind"] == "CREATED").unwrap();
    assert_eq!(created["changes"]["name"], json!([null, "Acme"]));
    let e = s.gql_error("{ recordTimeline(object: \"company\", id: \"7f000000-0000-4000-8000-000000000000\") { kind } }", json!({})).await;
    assert_eq!(code(&e), "NOT_FOUND");
    s.finish().await;
}

/// The demo tells a coherent story, the same one every time.
#[tokio::test]
async fn demo_data_is_alive_and_deterministic() {
    const SUMMARY: &str = "{ leadsGroupBy(by: [status]) { key { status } count }
                   opportunitiesGroupBy(by: [closeDate], dateGranularity: QUARTER) { key { closeDate } count sum { amount } }
                   salesOrders { totalCount } quotes { totalCount } supportCasesGroupBy(by: [type]) { key { type } count }
                   campaigns(orderBy: [{ name: ASC }]) { nodes { name memberCount revenueWon } }
                   companies(first: 3, orderBy: [{ name: ASC }]) { nodes { name domain owner { email } people { totalCount } tasks { totalCount } } }
                   activities { totalCount } serviceRequests { totalCount } }";
    let a = TestServer::start().await;
    rapport_server::load_demo(&a.app, 1)
        .await
        .expect("demo loads");
    let b = TestServer::start().await;
    rapport_server::load_demo(&b.app, 1)
        .await
        .expect("demo loads");
    let (sa, sb) = (
        a.gql(SUMMARY, json!({})).await,
        b.gql(SUMMARY, json!({})).await,
    );
    assert_eq!(sa, sb, "the same scale gives the same data");
    assert_eq!(
        sa["leadsGroupBy"].as_array().unwrap().len(),
        5,
        "leads in every status"
    );
    assert!(
        sa["opportunitiesGroupBy"].as_array().unwrap().len() >= 4,
        "a pipeline over several quarters"
    );
    assert!(
        sa["salesOrders"]["totalCount"].as_i64().unwrap() >= 1
            && sa["quotes"]["totalCount"].as_i64().unwrap() >= 10
    );
    assert!(
        sa["supportCasesGroupBy"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["key"]["type"] == "COMPLAINT")
    );
    assert!(
        sa["campaigns"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["memberCount"].as_i64().unwrap() > 0)
    );
    assert!(
        sa["campaigns"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| num(&c["revenueWon"]) > 0.0)
    );
    assert!(sa["companies"]["nodes"][0]["owner"]["email"].is_string());
    assert!(sa["activities"]["totalCount"].as_i64().unwrap() >= 40);
    a.finish().await;
    b.finish().await;
}
