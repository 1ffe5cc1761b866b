//! Who a member reaches beyond their own records: everyone in their team and
//! its sub-teams (for `team` scopes), and the records shared with them or
//! with a team they are in. Cached per member for the token cache's time;
//! a change to teams, members or shares made in this process (the store's
//! access epoch moves) drops the cache at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use rapport_graphql::{ConnectionArgs, Filter, Shared};
use rapport_store::{Db, RecordStore, StatementCounter};
use serde_json::Value;

use crate::app::TOKEN_CACHE_TTL;
use crate::cache::Cache;
use crate::error::ServerError;

#[derive(Debug, Clone, Default)]
pub(crate) struct Reach {
    pub team_members: Arc<Vec<String>>,
    pub shared: Arc<HashMap<String, Shared>>,
}

impl Reach {
    pub fn alone(member_id: &str) -> Reach {
        Reach {
            team_members: Arc::new(vec![member_id.to_string()]),
            shared: Arc::default(),
        }
    }
}

type MemberKey = (String, String);

pub(crate) struct GrantCache {
    /// Each member's reach, with the access epoch it was built at.
    entries: Cache<MemberKey, (Reach, u64)>,
}

impl Default for GrantCache {
    fn default() -> Self {
        GrantCache {
            entries: Cache::expiring(10_000, TOKEN_CACHE_TTL),
        }
    }
}

impl GrantCache {
    pub async fn reach(
        &self,
        db: &Db,
        store: &RecordStore,
        workspace_id: &str,
        member_id: &str,
    ) -> Result<Reach, ServerError> {
        let key = (workspace_id.to_string(), member_id.to_string());
        // Read before building: a change during the build leaves it stale-marked.
        let epoch = db.access_epoch.load(Ordering::Relaxed);
        if let Some((reach, seen)) = self.entries.get(&key)
            && seen == epoch
        {
            return Ok(reach);
        }
        let (team_members, teams_above) = team_reach(store, member_id).await?;
        let grants = rapport_store::grants_for(db, workspace_id, member_id, &teams_above).await?;
        let reach = Reach {
            team_members: Arc::new(team_members),
            shared: Arc::new(Shared::by_object(grants)),
        };
        self.entries.insert(key, (reach.clone(), epoch));
        Ok(reach)
    }
}

fn ids(page: &rapport_store::Page) -> Vec<String> {
    page.edges
        .iter()
        .filter_map(|(r, _)| r.get("id").and_then(Value::as_str).map(str::to_string))
        .collect()
}

fn first_500(filter: Filter) -> ConnectionArgs {
    ConnectionArgs {
        filter: Some(filter),
        first: Some(500),
        ..Default::default()
    }
}

/// The member with everyone in their team and its sub-teams; and their team
/// with the teams above it (a record shared with a team reaches its sub-teams).
async fn team_reach(
    store: &RecordStore,
    member_id: &str,
) -> Result<(Vec<String>, Vec<String>), ServerError> {
    let counter = StatementCounter::default();
    let mut members = vec![member_id.to_string()];
    let me = store
        .by_ids(&counter, "workspaceMember", &[member_id.to_string()])
        .await?;
    let Some(team) = me
        .get(member_id)
        .and_then(|m| m.get("teamId"))
        .and_then(Value::as_str)
        .map(str::to_string)
    else {
        return Ok((members, Vec::new()));
    };
    let mut above = vec![team.clone()];
    let mut next = Some(team.clone());
    while let Some(t) = next.take()
        && above.len() < 64
    {
        let found = store
            .by_ids(&counter, "team", std::slice::from_ref(&t))
            .await?;
        next = found
            .get(&t)
            .and_then(|r| r.get("parentTeamId"))
            .and_then(Value::as_str)
            .filter(|p| !above.iter().any(|a| a == p))
            .map(str::to_string);
        above.extend(next.clone());
    }
    let mut teams = vec![team.clone()];
    let mut frontier = vec![team];
    while !frontier.is_empty() && teams.len() < 500 {
        let page = store
            .connection(
                &counter,
                "team",
                &first_500(Filter::one_of("parentTeamId", frontier.iter().cloned())),
            )
            .await?;
        frontier = ids(&page)
            .into_iter()
            .filter(|t| !teams.contains(t))
            .collect();
        teams.extend(frontier.iter().cloned());
    }
    let page = store
        .connection(
            &counter,
            "workspaceMember",
            &first_500(Filter::one_of("teamId", teams.iter().cloned())),
        )
        .await?;
    for m in ids(&page) {
        if !members.contains(&m) {
            members.push(m);
        }
    }
    Ok((members, above))
}
