//! Fetches what a plan needs: one statement per root field and one per
//! relation occurrence, whatever the number of parents (no N+1).

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use rapport_store::{ChildPage, Page, Record, RecordStore, StatementCounter, StoreError};
use serde_json::Value;

use super::plan::{ConnItem, ConnSel, EdgeItem, Item, RecordSel, Root};

/// What one relation occurrence fetched for all its parents.
pub(crate) enum Slot {
    /// Many-to-one targets by id.
    Records(HashMap<String, Arc<Record>>),
    /// Child pages by parent id.
    Pages(HashMap<String, ChildPage>),
}

/// Relation slots filled by one part of the fetch.
type Filled<'a> = BoxFuture<'a, Result<Vec<(usize, Slot)>, StoreError>>;

pub(crate) enum RootData {
    Typename,
    Record(Option<Arc<Record>>),
    Page { page: Page, total: Option<i64> },
}

pub(crate) struct Fetcher<'a> {
    pub store: &'a RecordStore,
    pub counter: &'a StatementCounter,
}

impl<'a> Fetcher<'a> {
    /// The roots' data and every relation slot, filled.
    pub async fn roots(
        &self,
        roots: &'a [(async_graphql::Name, Root<'a>)],
        slot_count: usize,
    ) -> Result<(Vec<RootData>, Vec<Option<Slot>>), StoreError> {
        let mut data = Vec::with_capacity(roots.len());
        let mut slots: Vec<Option<Slot>> = (0..slot_count).map(|_| None).collect();
        for (_, root) in roots {
            let (item, filled) = match root {
                Root::Typename => (RootData::Typename, Vec::new()),
                Root::Get { id: None, .. } => (RootData::Record(None), Vec::new()),
                Root::Get {
                    object,
                    id: Some(id),
                    sel,
                } => {
                    let mut found = self
                        .store
                        .by_ids_showing(
                            self.counter,
                            &object.name,
                            std::slice::from_ref(id),
                            &sel.computed,
                            &sel.stored,
                        )
                        .await?;
                    let record = found.remove(id).map(Arc::new);
                    let filled = match &record {
                        Some(r) => self.relations(sel, vec![r.clone()]).await?,
                        None => Vec::new(),
                    };
                    (RootData::Record(record), filled)
                }
                Root::List {
                    object,
                    query,
                    conn,
                } => {
                    let page = self.store.connection(self.counter, &object.name, query);
                    let page = page.await?;
                    let total = match conn
                        .items
                        .iter()
                        .any(|(_, i)| matches!(i, ConnItem::TotalCount))
                    {
                        true => Some(self.store.count(self.counter, &object.name, query).await?),
                        false => None,
                    };
                    let records: Vec<Arc<Record>> =
                        page.edges.iter().map(|(r, _)| r.clone()).collect();
                    let filled = self.page_relations(conn, records).await?;
                    (RootData::Page { page, total }, filled)
                }
            };
            for (slot, fetched) in filled {
                slots[slot] = Some(fetched);
            }
            data.push(item);
        }
        Ok((data, slots))
    }

    /// The relations of every record selection a connection shows.
    async fn page_relations(
        &self,
        conn: &'a ConnSel<'a>,
        records: Vec<Arc<Record>>,
    ) -> Result<Vec<(usize, Slot)>, StoreError> {
        let mut jobs = Vec::new();
        for (_, item) in &conn.items {
            match item {
                ConnItem::Nodes(sel) => jobs.push(self.relations(sel, records.clone())),
                ConnItem::Edges(edge) => {
                    for (_, e) in edge {
                        if let EdgeItem::Node(sel) = e {
                            jobs.push(self.relations(sel, records.clone()));
                        }
                    }
                }
                _ => {}
            }
        }
        let done = futures_util::future::try_join_all(jobs).await?;
        Ok(done.into_iter().flatten().collect())
    }

    /// Every relation a selection shows, for all `records` at once; the
    /// relations of one level run side by side.
    fn relations(&self, sel: &'a RecordSel<'a>, records: Vec<Arc<Record>>) -> Filled<'a> {
        let (store, counter) = (self.store, self.counter);
        async move {
            let mut jobs: Vec<Filled<'a>> = Vec::new();
            for (_, item) in &sel.items {
                match item {
                    Item::ToOne { id_key, sel, slot } => {
                        let ids = distinct(
                            records
                                .iter()
                                .filter_map(|r| r.get(id_key.as_str()).and_then(Value::as_str)),
                        );
                        let this = Fetcher { store, counter };
                        jobs.push(
                            async move {
                                let mut out = Vec::new();
                                let mut found = HashMap::new();
                                if !ids.is_empty() {
                                    let read = store.by_ids_showing(
                                        counter,
                                        &sel.object.name,
                                        &ids,
                                        &sel.computed,
                                        &sel.stored,
                                    );
                                    found = read
                                        .await?
                                        .into_iter()
                                        .map(|(id, r)| (id, Arc::new(r)))
                                        .collect();
                                    let targets = found.values().cloned().collect();
                                    out = this.relations(sel, targets).await?;
                                }
                                out.push((*slot, Slot::Records(found)));
                                Ok(out)
                            }
                            .boxed(),
                        );
                    }
                    Item::List {
                        field,
                        query,
                        conn,
                        slot,
                    } => {
                        let parents = distinct(
                            records
                                .iter()
                                .filter_map(|r| r.get("id").and_then(Value::as_str)),
                        );
                        let parent = sel.object.name.as_str();
                        let this = Fetcher { store, counter };
                        jobs.push(
                            async move {
                                let mut out = Vec::new();
                                let mut pages = HashMap::new();
                                if !parents.is_empty() {
                                    pages = store
                                        .children(counter, parent, field, &parents, query)
                                        .await?;
                                    let children = pages
                                        .values()
                                        .flat_map(|p| p.page.edges.iter().map(|(r, _)| r.clone()))
                                        .collect();
                                    out = this.page_relations(conn, children).await?;
                                }
                                out.push((*slot, Slot::Pages(pages)));
                                Ok(out)
                            }
                            .boxed(),
                        );
                    }
                    _ => {}
                }
            }
            let done = futures_util::future::try_join_all(jobs).await?;
            Ok(done.into_iter().flatten().collect())
        }
        .boxed()
    }
}

fn distinct<'r>(ids: impl Iterator<Item = &'r str>) -> Vec<String> {
    let mut out: Vec<String> = ids.map(str::to_string).collect();
    out.sort_unstable();
    out.dedup();
    out
}
