//! The standard objects shipped in `schema/objects/`, embedded in the binary.

use serde_json::Value;

const DOCUMENTS: &[(&str, &str)] = &[
    (
        "company",
        include_str!("../../../schema/objects/company.json"),
    ),
    (
        "person",
        include_str!("../../../schema/objects/person.json"),
    ),
    (
        "opportunity",
        include_str!("../../../schema/objects/opportunity.json"),
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
