//! Assigning records to members and teams, and handing a leaving member's
//! open records to someone else.

use rapport_meta::{ObjectDef, RelationKind};
use rapport_query::Filter;
use rapport_store::{Record, Tx};
use serde_json::{Map, Value, json};

use crate::error::CrmError;
use crate::id_of;

/// Relation fields of an object that point at `target` (`team`, `assignee`…).
fn relations_to<'a>(object: &'a ObjectDef, target: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    object
        .fields
        .iter()
        .filter(move |f| {
            f.relation
                .as_ref()
                .is_some_and(|r| r.kind == RelationKind::ManyToOne && r.target == target)
        })
        .map(|f| f.name.as_str())
}

/// Sets the owner and, where the object has a team relation, the team.
pub async fn assign_records(
    tx: &Tx<'_>,
    object: &str,
    ids: &[String],
    owner_id: Option<&str>,
    team_id: Option<&str>,
) -> Result<Vec<Record>, CrmError> {
    if owner_id.is_none() && team_id.is_none() {
        return Err(CrmError::bad("ownerId", "give an owner, a team or both"));
    }
    if ids.is_empty() || ids.len() > 1000 {
        return Err(CrmError::bad("ids", "between 1 and 1000 records"));
    }
    let obj = tx.object(object)?.clone();
    if let Some(owner) = owner_id
        && tx.object("workspaceMember").is_ok()
    {
        let m = tx.get("workspaceMember", owner).await.map_err(|_| {
            CrmError::bad("ownerId", format!("no workspace member with id {owner}"))
        })?;
        if m.get("active").and_then(Value::as_bool) == Some(false) {
            return Err(CrmError::bad("ownerId", "the member is deactivated"));
        }
    }
    let team_field = match team_id {
        Some(_) => Some(
            relations_to(&obj, "team")
                .next()
                .ok_or_else(|| CrmError::bad("teamId", format!("`{object}` has no team")))?
                .to_string(),
        ),
        None => None,
    };
    let found = tx.get_many(object, ids).await?;
    if let Some(missing) = ids
        .iter()
        .find(|id| !found.iter().any(|r| r["id"] == id.as_str()))
    {
        return Err(CrmError::Store(rapport_store::StoreError::NotFound(
            format!("no {object} with id {missing}"),
        )));
    }
    let mut data = Map::new();
    if let Some(owner) = owner_id {
        data.insert("ownerId".into(), json!(owner));
    }
    if let (Some(field), Some(team)) = (team_field, team_id) {
        data.insert(format!("{field}Id"), json!(team));
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(tx.update(object, id, data.clone()).await?);
    }
    Ok(out)
}

/// What makes a record "open" for an object: `x-rapport-object.openFilter`
/// in its document, or every live record when it has none.
fn open_filter(tx: &Tx<'_>, obj: &ObjectDef) -> Result<Filter, CrmError> {
    match obj.extra.get("openFilter") {
        Some(document) => Ok(Filter::parse(tx.catalog(), obj, document, "openFilter")
            .map_err(rapport_store::StoreError::from)?),
        None => Ok(Filter::everything()),
    }
}

/// Who takes over a departing member's records.
#[derive(Debug, Clone)]
pub enum Successor {
    /// One member.
    Member(String),
    /// A team's manager.
    TeamManager(String),
    /// A team's active members, in turns (the departing member left out).
    TeamMembers(String),
}

/// The members records go to, in turn.
async fn successors(tx: &Tx<'_>, from: &str, to: &Successor) -> Result<Vec<String>, CrmError> {
    let active = |m: &Record| m.get("active").and_then(Value::as_bool) != Some(false);
    match to {
        Successor::Member(id) => {
            let target = tx.get("workspaceMember", id).await.map_err(|_| {
                CrmError::bad("toMemberId", format!("no workspace member with id {id}"))
            })?;
            if !active(&target) {
                return Err(CrmError::bad("toMemberId", "the member is deactivated"));
            }
            if id == from {
                return Err(CrmError::bad("toMemberId", "the same member"));
            }
            Ok(vec![id.clone()])
        }
        Successor::TeamManager(team) => {
            let t = tx
                .get("team", team)
                .await
                .map_err(|_| CrmError::bad("toTeamId", format!("no team with id {team}")))?;
            let manager = t
                .get("managerId")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    CrmError::bad(
                        "toTeamId",
                        "the team has no manager; spread across its members instead",
                    )
                })?
                .to_string();
            Box::pin(successors(tx, from, &Successor::Member(manager))).await
        }
        Successor::TeamMembers(team) => {
            tx.get("team", team)
                .await
                .map_err(|_| CrmError::bad("toTeamId", format!("no team with id {team}")))?;
            // A team's members, up to a page of them, in a stable order.
            let mut members: Vec<String> = tx
                .find("workspaceMember", Filter::eq("teamId", team.as_str()), 500)
                .await?
                .iter()
                .filter(|m| active(m) && m["id"] != from)
                .map(id_of)
                .collect();
            members.sort();
            if members.is_empty() {
                return Err(CrmError::bad(
                    "toTeamId",
                    "the team has no other active member",
                ));
            }
            Ok(members)
        }
    }
}

/// Moves a member's open records — owned by them, or assigned to them
/// through a relation to `workspaceMember` — to a member, a team's manager,
/// or a team's members in turns; every one of them, in the transaction.
/// Returns how many records moved per object.
pub async fn transfer_ownership(
    tx: &Tx<'_>,
    from: &str,
    to: &Successor,
    objects: Option<&[String]>,
) -> Result<Vec<(String, usize)>, CrmError> {
    tx.get("workspaceMember", from).await.map_err(|_| {
        CrmError::bad(
            "fromMemberId",
            format!("no workspace member with id {from}"),
        )
    })?;
    let heirs = successors(tx, from, to).await?;
    let all: Vec<ObjectDef> = tx
        .catalog()
        .objects()
        .iter()
        .filter(|o| o.name != "workspaceMember")
        .cloned()
        .collect();
    if let Some(unknown) = objects
        .into_iter()
        .flatten()
        .find(|n| !all.iter().any(|o| &o.name == *n))
    {
        return Err(CrmError::bad(
            "objects",
            format!("no object named `{unknown}`"),
        ));
    }
    let mut moved = Vec::new();
    let mut turn = 0usize;
    for obj in all
        .iter()
        .filter(|o| objects.is_none_or(|n| n.contains(&o.name)))
    {
        let mut count = 0;
        let mut keys = vec!["ownerId".to_string()];
        keys.extend(relations_to(obj, "workspaceMember").map(|f| format!("{f}Id")));
        for key in keys {
            let filter = Filter::all([open_filter(tx, obj)?, Filter::eq(key.as_str(), from)]);
            // Page by page until none is left: each moved record leaves the
            // filter, so there is no limit on how many a member had.
            loop {
                let page = tx.find(&obj.name, filter.clone(), 500).await?;
                if page.is_empty() {
                    break;
                }
                for record in &page {
                    let mut data = Map::new();
                    data.insert(key.clone(), json!(heirs[turn % heirs.len()]));
                    turn += 1;
                    tx.update(&obj.name, &id_of(record), data).await?;
                }
                count += page.len();
            }
        }
        if count > 0 {
            moved.push((obj.name.clone(), count));
        }
    }
    Ok(moved)
}
