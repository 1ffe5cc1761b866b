//! The standard objects shipped in `schema/objects/`, embedded in the binary.

use serde_json::Value;

const DOCUMENTS: &[(&str, &str)] = &[
    (
        "workspaceMember",
        include_str!("../../../schema/objects/workspaceMember.json"),
    ),
    ("team", include_str!("../../../schema/objects/team.json")),
    (
        "company",
        include_str!("../../../schema/objects/company.json"),
    ),
    (
        "person",
        include_str!("../../../schema/objects/person.json"),
    ),
    ("lead", include_str!("../../../schema/objects/lead.json")),
    (
        "opportunity",
        include_str!("../../../schema/objects/opportunity.json"),
    ),
    (
        "product",
        include_str!("../../../schema/objects/product.json"),
    ),
    ("quote", include_str!("../../../schema/objects/quote.json")),
    (
        "quoteLineItem",
        include_str!("../../../schema/objects/quoteLineItem.json"),
    ),
    (
        "salesOrder",
        include_str!("../../../schema/objects/salesOrder.json"),
    ),
    (
        "orderLineItem",
        include_str!("../../../schema/objects/orderLineItem.json"),
    ),
    (
        "contract",
        include_str!("../../../schema/objects/contract.json"),
    ),
    (
        "invoice",
        include_str!("../../../schema/objects/invoice.json"),
    ),
    (
        "competitor",
        include_str!("../../../schema/objects/competitor.json"),
    ),
    (
        "opportunityCompetitor",
        include_str!("../../../schema/objects/opportunityCompetitor.json"),
    ),
    (
        "supportCase",
        include_str!("../../../schema/objects/supportCase.json"),
    ),
    (
        "serviceRequest",
        include_str!("../../../schema/objects/serviceRequest.json"),
    ),
    (
        "returnRequest",
        include_str!("../../../schema/objects/returnRequest.json"),
    ),
    (
        "survey",
        include_str!("../../../schema/objects/survey.json"),
    ),
    (
        "surveyResponse",
        include_str!("../../../schema/objects/surveyResponse.json"),
    ),
    (
        "campaign",
        include_str!("../../../schema/objects/campaign.json"),
    ),
    (
        "campaignMember",
        include_str!("../../../schema/objects/campaignMember.json"),
    ),
    (
        "segment",
        include_str!("../../../schema/objects/segment.json"),
    ),
    ("task", include_str!("../../../schema/objects/task.json")),
    ("note", include_str!("../../../schema/objects/note.json")),
    (
        "activity",
        include_str!("../../../schema/objects/activity.json"),
    ),
    (
        "attachment",
        include_str!("../../../schema/objects/attachment.json"),
    ),
];

pub fn standard_documents() -> Vec<Value> {
    DOCUMENTS
        .iter()
        .map(|(name, text)| {
            serde_json::from_str(text).unwrap_or_else(|e| panic!("schema/objects/{name}.json: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn standard_documents_parse_and_relate() {
        let objects = super::standard_documents()
            .iter()
            .map(|d| rapport_meta::parse_document(d).expect("parses"))
            .collect();
        let catalog = rapport_meta::Catalog::build(objects).expect("relations resolve");
        assert!(catalog.object("company").unwrap().field("people").is_some());
    }
}
