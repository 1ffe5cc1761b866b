//! Lead conversion and quote-to-order.

use rapport_query::{Filter, WriteOp};
use rapport_store::{Record, Tx};
use serde_json::{Value, json};

use crate::error::CrmError;
use crate::{id_of, input};

pub struct ConvertLead {
    pub lead_id: String,
    /// Link to this company instead of creating one from the lead.
    pub company_id: Option<String>,
    /// Link to this person instead of creating (or finding by email) one.
    pub person_id: Option<String>,
    pub create_opportunity: bool,
    pub opportunity_name: Option<String>,
}

pub struct Converted {
    pub lead: Record,
    pub company: Record,
    pub person: Record,
    pub opportunity: Option<Record>,
}

fn text(r: &Record, k: &str) -> Option<String> {
    r.get(k)
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|s| !s.trim().is_empty())
}

/// Turns a qualified lead into a company, a person and optionally an
/// opportunity, links the lead to them and moves its tasks, notes and
/// attachments to the person.
pub async fn convert_lead(tx: &Tx<'_>, req: ConvertLead) -> Result<Converted, CrmError> {
    let lead = tx.get("lead", &req.lead_id).await?;
    tx.ensure_may("lead", WriteOp::Update, &req.lead_id).await?;
    if lead.get("status").and_then(Value::as_str) == Some("CONVERTED") {
        return Err(CrmError::Conflict(format!(
            "lead {} is already converted",
            req.lead_id
        )));
    }
    let company = match &req.company_id {
        Some(id) => tx.get("company", id).await?,
        None => company_of_lead(tx, &lead).await?,
    };
    let company_id = id_of(&company);
    let person = match &req.person_id {
        Some(id) => tx.get("person", id).await?,
        None => person_of_lead(tx, &lead, &company_id).await?,
    };
    let person_id = id_of(&person);
    let opportunity = if req.create_opportunity {
        Some(opportunity_of_lead(tx, &lead, &req, &company, &person_id).await?)
    } else {
        None
    };
    let lead = tx
        .update(
            "lead",
            &req.lead_id,
            input(&[
                ("status", json!("CONVERTED")),
                ("convertedCompanyId", json!(company_id)),
                ("convertedPersonId", json!(person_id)),
                (
                    "convertedOpportunityId",
                    opportunity
                        .as_ref()
                        .map(|o| json!(id_of(o)))
                        .unwrap_or(Value::Null),
                ),
                ("convertedAt", json!(chrono::Utc::now().to_rfc3339())),
            ]),
        )
        .await?;
    move_lead_activities(tx, &req.lead_id, &person_id, &company_id).await?;
    Ok(Converted {
        lead,
        company,
        person,
        opportunity,
    })
}

/// The company a lead names: one of that name already in the CRM (case
/// aside) is reused, not duplicated, as duplicate detection matches it.
async fn company_of_lead(tx: &Tx<'_>, lead: &Record) -> Result<Record, CrmError> {
    let name = text(lead, "companyName").ok_or_else(|| {
        CrmError::bad("companyId", "the lead has no company name: give companyId")
    })?;
    let existing = tx
        .find("company", Filter::equals_ignoring_case("name", &name), 1)
        .await?;
    if let Some(company) = existing.into_iter().next() {
        return Ok(company);
    }
    let source = lead.get("source").cloned().unwrap_or(Value::Null);
    Ok(tx
        .create(
            "company",
            input(&[("name", json!(name)), ("source", source)]),
        )
        .await?)
}

/// The person a lead is: one with its email (case aside) is reused.
async fn person_of_lead(tx: &Tx<'_>, lead: &Record, company_id: &str) -> Result<Record, CrmError> {
    if let Some(email) = text(lead, "email") {
        let found = tx
            .find("person", Filter::equals_ignoring_case("email", &email), 1)
            .await?;
        if let Some(person) = found.into_iter().next() {
            return Ok(person);
        }
    }
    let copied = |key: &str| lead.get(key).cloned().unwrap_or(Value::Null);
    Ok(tx
        .create(
            "person",
            input(&[
                ("name", copied("name")),
                ("email", copied("email")),
                ("phone", copied("phone")),
                ("jobTitle", copied("jobTitle")),
                ("source", copied("source")),
                ("companyId", json!(company_id)),
            ]),
        )
        .await?)
}

async fn opportunity_of_lead(
    tx: &Tx<'_>,
    lead: &Record,
    req: &ConvertLead,
    company: &Record,
    person_id: &str,
) -> Result<Record, CrmError> {
    let name = req
        .opportunity_name
        .clone()
        .or_else(|| text(company, "name").map(|c| format!("{c} — new business")))
        .unwrap_or_else(|| "New business".into());
    let copied = |key: &str| lead.get(key).cloned().unwrap_or(Value::Null);
    Ok(tx
        .create(
            "opportunity",
            input(&[
                ("name", json!(name)),
                ("companyId", json!(id_of(company))),
                ("pointOfContactId", json!(person_id)),
                ("campaignId", copied("campaignId")),
                ("source", copied("source")),
            ]),
        )
        .await?)
}

/// The lead's tasks, notes and attachments follow the person it became, and
/// its activities the person and the company.
async fn move_lead_activities(
    tx: &Tx<'_>,
    lead_id: &str,
    person_id: &str,
    company_id: &str,
) -> Result<(), CrmError> {
    for object in ["task", "note", "attachment"] {
        if tx.object(object).is_err() {
            continue;
        }
        let ids = tx
            .find_ids(
                object,
                Filter::eq("relatedObject", "lead").and(Filter::eq("relatedId", lead_id)),
            )
            .await?;
        for id in ids {
            let to_person = input(&[
                ("relatedObject", json!("person")),
                ("relatedId", json!(person_id)),
            ]);
            tx.update(object, &id, to_person).await?;
        }
    }
    if tx.object("activity").is_ok() {
        for id in tx
            .find_ids("activity", Filter::eq("leadId", lead_id))
            .await?
        {
            let moved = input(&[
                ("personId", json!(person_id)),
                ("companyId", json!(company_id)),
            ]);
            tx.update("activity", &id, moved).await?;
        }
    }
    Ok(())
}

/// Copies an accepted or open quote, lines and terms, into a draft sales
/// order; totals follow from the copied lines.
pub async fn create_order_from_quote(tx: &Tx<'_>, quote_id: &str) -> Result<Record, CrmError> {
    let quote = tx.get("quote", quote_id).await?;
    tx.ensure_may("quote", WriteOp::Update, quote_id).await?;
    match quote.get("status").and_then(Value::as_str) {
        Some("REJECTED") | Some("EXPIRED") => {
            return Err(CrmError::Conflict(format!(
                "quote {quote_id} is {}",
                quote["status"].as_str().unwrap_or("")
            )));
        }
        _ => {}
    }
    let copy = |k: &str| quote.get(k).cloned().unwrap_or(Value::Null);
    let order = tx
        .create(
            "salesOrder",
            input(&[
                ("quoteId", json!(quote_id)),
                ("opportunityId", copy("opportunityId")),
                ("companyId", copy("companyId")),
                ("contactId", copy("contactId")),
                ("currencyCode", copy("currencyCode")),
                ("taxRate", copy("taxRate")),
                (
                    "orderDate",
                    json!(chrono::Utc::now().date_naive().to_string()),
                ),
            ]),
        )
        .await?;
    let order_id = id_of(&order);
    let lines = tx
        .find("quoteLineItem", Filter::eq("quoteId", quote_id), 500)
        .await?;
    for line in &lines {
        let copy = |k: &str| line.get(k).cloned().unwrap_or(Value::Null);
        tx.create(
            "orderLineItem",
            input(&[
                ("salesOrderId", json!(order_id)),
                ("productId", copy("productId")),
                ("description", copy("description")),
                ("quantity", copy("quantity")),
                ("unitPrice", copy("unitPrice")),
                ("discountPercent", copy("discountPercent")),
            ]),
        )
        .await?;
    }
    if quote.get("status").and_then(Value::as_str) != Some("ACCEPTED") {
        tx.update("quote", quote_id, input(&[("status", json!("ACCEPTED"))]))
            .await?;
    }
    // Read back so the rollups see the lines.
    Ok(tx.get("salesOrder", &order_id).await?)
}
