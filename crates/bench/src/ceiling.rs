//! The database's own ceiling: for each benchmark query, the one hand-written
//! SQL statement that returns the same data, per backend.

use rapport_store::WorkspaceMeta;

pub struct Ceiling {
    pub text: String,
    /// Whether the statement takes the company id as its one parameter.
    pub takes_id: bool,
}

pub fn statement(query: &str, meta: &WorkspaceMeta, pg: bool) -> Option<Ceiling> {
    let t = |name: &str| meta.layout.table(name);
    let (company, person, opportunity, task) =
        (t("company"), t("person"), t("opportunity"), t("task"));
    let dec = |col: &str| {
        if pg {
            col.to_string()
        } else {
            format!("CAST({col} AS REAL)")
        }
    };
    // A JSON array of the rows of `select` (columns listed in `cols`).
    let json_list = |select: String, alias: &str, cols: &[&str]| {
        if pg {
            format!("COALESCE((SELECT json_agg({alias}) FROM ({select}) {alias}), '[]')")
        } else {
            let pairs: Vec<String> = cols
                .iter()
                .map(|c| format!("'{c}', {alias}.\"{c}\""))
                .collect();
            format!(
                "(SELECT json_group_array(json_object({})) FROM ({select}) {alias})",
                pairs.join(", ")
            )
        }
    };
    let param = if pg { "CAST($1 AS uuid)" } else { "?1" };
    let people = |limit: usize| {
        json_list(
            format!(
                "SELECT p.\"id\", p.\"name__firstName\", p.\"name__lastName\", p.\"email\" FROM {person} p WHERE p.\"companyId\" = c.\"id\" AND p.\"deletedAt\" IS NULL ORDER BY p.\"id\" LIMIT {limit}"
            ),
            "pp",
            &["id", "name__firstName", "name__lastName", "email"],
        )
    };
    let opportunities = |open_only: bool, limit: usize| {
        let open = if open_only {
            " AND o.\"stage\" NOT IN ('WON', 'LOST')"
        } else {
            ""
        };
        json_list(
            format!(
                "SELECT o.\"id\", o.\"name\", o.\"stage\", o.\"amount__amount\", o.\"amount__currencyCode\" FROM {opportunity} o WHERE o.\"companyId\" = c.\"id\" AND o.\"deletedAt\" IS NULL{open} ORDER BY o.\"id\" LIMIT {limit}"
            ),
            "oo",
            &[
                "id",
                "name",
                "stage",
                "amount__amount",
                "amount__currencyCode",
            ],
        )
    };
    let (text, takes_id) = match query {
        "Q1" => (
            format!(
                "SELECT \"id\", \"name\", \"domain\" FROM {company} WHERE \"deletedAt\" IS NULL ORDER BY \"name\", \"id\" LIMIT 50"
            ),
            false,
        ),
        "Q2" => (
            format!(
                "SELECT c.\"id\", c.\"name\", c.\"domain\", {}, {} FROM {company} c WHERE c.\"deletedAt\" IS NULL ORDER BY c.\"name\", c.\"id\" LIMIT 50",
                people(10),
                opportunities(true, 100)
            ),
            false,
        ),
        "Q3" => {
            let amount = dec("o.\"amount__amount\"");
            (
                format!(
                    "SELECT o.\"id\", o.\"name\", o.\"amount__amount\", o.\"amount__currencyCode\", c.\"name\" FROM {opportunity} o LEFT JOIN {company} c ON c.\"id\" = o.\"companyId\" AND c.\"deletedAt\" IS NULL WHERE o.\"deletedAt\" IS NULL AND o.\"stage\" IN ('PROPOSAL', 'NEGOTIATION') AND {amount} > 10000 ORDER BY {amount} DESC, o.\"id\" LIMIT 100"
                ),
                false,
            )
        }
        "Q4" => {
            let tasks = json_list(
                format!(
                    "SELECT k.\"id\", k.\"title\", k.\"status\" FROM {task} k WHERE k.\"relatedObject\" = 'company' AND k.\"relatedId\" = c.\"id\" AND k.\"deletedAt\" IS NULL ORDER BY k.\"id\" LIMIT 50"
                ),
                "kk",
                &["id", "title", "status"],
            );
            (
                format!(
                    "SELECT c.\"id\", c.\"name\", {}, {}, {tasks} FROM {company} c WHERE c.\"id\" = {param} AND c.\"deletedAt\" IS NULL",
                    people(50),
                    opportunities(false, 50)
                ),
                true,
            )
        }
        "Q5" => (
            format!(
                "SELECT \"stage\", COUNT(*), SUM({}) FROM {opportunity} WHERE \"deletedAt\" IS NULL GROUP BY \"stage\" ORDER BY \"stage\"",
                dec("\"amount__amount\"")
            ),
            false,
        ),
        _ => return None,
    };
    Some(Ceiling { text, takes_id })
}
