//! Batches the record look-ups of one request level into one statement per
//! relation: many-to-one parents by id, child lists per parent page.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use async_graphql::dataloader::Loader;
use rapport_query::ConnectionQuery;
use rapport_store::{ChildPage, Record, RecordStore, StatementCounter};

use crate::errors::store_error;

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum LoadKey {
    Record {
        object: Arc<str>,
        id: String,
        /// The computed fields the selection shows.
        computed: Arc<[String]>,
        /// The stored values it shows (see `ConnectionQuery::stored`).
        stored: Arc<[String]>,
    },
    Children {
        parent: Arc<str>,
        field: Arc<str>,
        args: ListArgs,
        parent_id: String,
    },
}

/// A child list's query, worked out once per field occurrence of a request.
/// Keys batch by `identity`, the arguments' and shown fields' canonical
/// text; the query is carried as built, never read back from that text.
#[derive(Clone, Debug)]
pub struct ListArgs {
    pub identity: Arc<str>,
    pub query: Arc<ConnectionQuery>,
}

impl PartialEq for ListArgs {
    fn eq(&self, other: &Self) -> bool {
        self.identity == other.identity
    }
}

impl Eq for ListArgs {}

impl Hash for ListArgs {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.identity.hash(state);
    }
}

#[derive(Clone, Debug)]
pub enum Loaded {
    Record(Arc<Record>),
    Children(Arc<ChildPage>),
}

type ListKey = (Arc<str>, Arc<str>, ListArgs);

pub struct RecordLoader {
    pub store: Arc<RecordStore>,
    pub counter: StatementCounter,
}

/// Look-ups batched together: one object, the same fields shown.
type RecordBatch = (Arc<str>, Arc<[String]>, Arc<[String]>);

impl Loader<LoadKey> for RecordLoader {
    type Value = Loaded;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[LoadKey],
    ) -> Result<HashMap<LoadKey, Loaded>, async_graphql::Error> {
        let mut records: HashMap<RecordBatch, Vec<String>> = HashMap::new();
        // (parent object, list field, arguments) -> parent ids
        let mut lists: HashMap<ListKey, Vec<String>> = HashMap::new();
        for k in keys {
            match k {
                LoadKey::Record {
                    object,
                    id,
                    computed,
                    stored,
                } => records
                    .entry((object.clone(), computed.clone(), stored.clone()))
                    .or_default()
                    .push(id.clone()),
                LoadKey::Children {
                    parent,
                    field,
                    args,
                    parent_id,
                } => lists
                    .entry((parent.clone(), field.clone(), args.clone()))
                    .or_default()
                    .push(parent_id.clone()),
            }
        }
        // Every relation of the level at once: one statement each, run side
        // by side rather than one after the other.
        let parents = records
            .into_iter()
            .map(|((object, computed, stored), ids)| async move {
                let found = self
                    .store
                    .by_ids_showing(&self.counter, &object, &ids, &computed, &stored)
                    .await
                    .map_err(store_error)?;
                Ok::<_, async_graphql::Error>(
                    found
                        .into_iter()
                        .map(|(id, r)| {
                            let key = LoadKey::Record {
                                object: object.clone(),
                                id,
                                computed: computed.clone(),
                                stored: stored.clone(),
                            };
                            (key, Loaded::Record(Arc::new(r)))
                        })
                        .collect::<Vec<_>>(),
                )
            });
        let children = lists
            .into_iter()
            .map(|((parent, field, args), parent_ids)| async move {
                let mut pages = self
                    .store
                    .children(&self.counter, &parent, &field, &parent_ids, &args.query)
                    .await
                    .map_err(store_error)?;
                Ok::<_, async_graphql::Error>(
                    parent_ids
                        .into_iter()
                        .map(|parent_id| {
                            let page = pages.remove(&parent_id).unwrap_or_default();
                            let key = LoadKey::Children {
                                parent: parent.clone(),
                                field: field.clone(),
                                args: args.clone(),
                                parent_id,
                            };
                            (key, Loaded::Children(Arc::new(page)))
                        })
                        .collect::<Vec<_>>(),
                )
            });
        let (parents, children) = futures_util::future::try_join(
            futures_util::future::try_join_all(parents),
            futures_util::future::try_join_all(children),
        )
        .await?;
        let out: HashMap<LoadKey, Loaded> = parents.into_iter().chain(children).flatten().collect();
        Ok(out)
    }
}
