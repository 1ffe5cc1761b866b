//! Writes the response's JSON straight from the fetched records, in the
//! order the query asks. `None` where the full executor would report an
//! error (a null in a non-null field, a value outside its enum), so that
//! it answers instead.

use std::sync::Arc;

use async_graphql::Name;
use rapport_store::{ChildPage, Page, Record};
use serde_json::Value;

use super::fetch::{RootData, Slot};
use super::plan::{ConnItem, ConnSel, EdgeItem, Info, Item, Member, RecordSel, Root};

/// `"key":` of entry `i` of an object, after a comma unless it is first.
pub(super) fn key_into(out: &mut Vec<u8>, i: usize, key: &str) {
    if i > 0 {
        out.push(b',');
    }
    // GraphQL names are [_A-Za-z][_0-9A-Za-z]*: nothing to escape.
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// A JSON string.
pub(super) fn string(out: &mut Vec<u8>, s: &str) {
    // Writing JSON into a Vec cannot fail.
    let _ = serde_json::to_writer(out, s);
}

pub(crate) struct Writer<'a> {
    pub out: Vec<u8>,
    pub slots: &'a [Option<Slot>],
}

impl Writer<'_> {
    pub fn response(mut self, roots: &[(Name, Root<'_>)], data: &[RootData]) -> Option<String> {
        self.out.extend_from_slice(b"{\"data\":{");
        for (i, ((key, root), fetched)) in roots.iter().zip(data).enumerate() {
            self.key(i, key);
            match (root, fetched) {
                (Root::Typename, _) => self.raw_str("Query"),
                (Root::Get { sel, .. }, RootData::Record(Some(r))) => self.record(sel, r)?,
                (Root::Get { .. }, RootData::Record(None)) => self.null(),
                (Root::List { conn, .. }, RootData::Page { page, total }) => {
                    self.conn(conn, page, *total)?
                }
                _ => return None,
            }
        }
        self.out.extend_from_slice(b"}}");
        String::from_utf8(self.out).ok()
    }

    fn key(&mut self, i: usize, key: &Name) {
        key_into(&mut self.out, i, key);
    }

    fn null(&mut self) {
        self.out.extend_from_slice(b"null");
    }

    fn raw_str(&mut self, s: &str) {
        string(&mut self.out, s);
    }

    fn value(&mut self, v: &Value) {
        // Writing JSON into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut self.out, v);
    }

    fn record(&mut self, sel: &RecordSel<'_>, r: &Record) -> Option<()> {
        self.out.push(b'{');
        for (i, (key, item)) in sel.items.iter().enumerate() {
            self.key(i, key);
            match item {
                Item::Typename => self.raw_str(&sel.type_name),
                Item::Value {
                    key,
                    required,
                    options,
                    masked,
                } => match r.get(key.as_str()) {
                    None | Some(Value::Null) if *required => return None,
                    None | Some(Value::Null) => self.null(),
                    Some(v) => {
                        if let Some(options) = options {
                            let known = |x: &Value| {
                                x.as_str()
                                    .is_some_and(|s| options.iter().any(|o| o.value == s))
                            };
                            let fits = match v {
                                Value::Array(items) => items.iter().all(known),
                                single => known(single),
                            };
                            if !fits {
                                return None;
                            }
                        }
                        match v {
                            Value::String(text) if *masked => {
                                self.raw_str(&rapport_access::mask(text))
                            }
                            _ => self.value(v),
                        }
                    }
                },
                Item::Members { key, members } => match r.get(key.as_str()) {
                    None | Some(Value::Null) => self.null(),
                    Some(Value::Object(parts)) => {
                        self.members(members, |k| parts.get(k).cloned())?
                    }
                    Some(_) => return None,
                },
                Item::CreatedBy(members) => match r.get("createdBy").and_then(Value::as_str) {
                    None => self.null(),
                    Some(raw) => {
                        let (kind, name) = raw.split_once(':').unwrap_or(("unknown", raw));
                        self.members(members, |k| match k {
                            "kind" => Some(Value::String(kind.to_string())),
                            _ => Some(Value::String(name.to_string())),
                        })?
                    }
                },
                Item::ToOne { id_key, sel, slot } => {
                    let target = r
                        .get(id_key.as_str())
                        .and_then(Value::as_str)
                        .and_then(|id| match self.slots.get(*slot)? {
                            Some(Slot::Records(found)) => found.get(id).cloned(),
                            _ => None,
                        });
                    match target {
                        Some(t) => self.record(sel, &t)?,
                        None => self.null(),
                    }
                }
                Item::List { conn, slot, .. } => {
                    let id = r.get("id").and_then(Value::as_str).unwrap_or_default();
                    let empty = ChildPage::default();
                    let page = match self.slots.get(*slot)? {
                        Some(Slot::Pages(pages)) => pages.get(id).unwrap_or(&empty),
                        _ => &empty,
                    };
                    self.conn(conn, &page.page, Some(page.total_count))?;
                }
            }
        }
        self.out.push(b'}');
        Some(())
    }

    fn members(
        &mut self,
        members: &[(Name, Member)],
        part: impl Fn(&str) -> Option<Value>,
    ) -> Option<()> {
        self.out.push(b'{');
        for (i, (key, member)) in members.iter().enumerate() {
            self.key(i, key);
            match member {
                Member::Typename(t) => self.raw_str(t),
                Member::Part { key, required } => match part(key) {
                    None | Some(Value::Null) if *required => return None,
                    None | Some(Value::Null) => self.null(),
                    Some(v) => self.value(&v),
                },
            }
        }
        self.out.push(b'}');
        Some(())
    }

    fn conn(&mut self, conn: &ConnSel<'_>, page: &Page, total: Option<i64>) -> Option<()> {
        self.out.push(b'{');
        for (i, (key, item)) in conn.items.iter().enumerate() {
            self.key(i, key);
            match item {
                ConnItem::Typename => self.raw_str(&conn.type_name),
                ConnItem::TotalCount => self.value(&Value::from(total.unwrap_or(0))),
                ConnItem::Nodes(sel) => self.list(&page.edges, |w, (r, _)| w.record(sel, r))?,
                ConnItem::Edges(edge) => self.list(&page.edges, |w, (r, cursor)| {
                    w.out.push(b'{');
                    for (i, (key, e)) in edge.iter().enumerate() {
                        w.key(i, key);
                        match e {
                            EdgeItem::Typename => w.raw_str(&conn.edge_type_name()),
                            EdgeItem::Cursor => w.raw_str(cursor),
                            EdgeItem::Node(sel) => w.record(sel, r)?,
                        }
                    }
                    w.out.push(b'}');
                    Some(())
                })?,
                ConnItem::PageInfo(info) => {
                    self.out.push(b'{');
                    for (i, (key, part)) in info.iter().enumerate() {
                        self.key(i, key);
                        match part {
                            Info::Typename => self.raw_str("PageInfo"),
                            Info::HasNext => self.value(&Value::Bool(page.has_next_page)),
                            Info::HasPrevious => self.value(&Value::Bool(page.has_previous_page)),
                            Info::Start => match page.edges.first() {
                                Some((_, c)) => self.raw_str(c),
                                None => self.null(),
                            },
                            Info::End => match page.edges.last() {
                                Some((_, c)) => self.raw_str(c),
                                None => self.null(),
                            },
                        }
                    }
                    self.out.push(b'}');
                }
            }
        }
        self.out.push(b'}');
        Some(())
    }

    fn list(
        &mut self,
        edges: &[(Arc<Record>, String)],
        mut each: impl FnMut(&mut Self, &(Arc<Record>, String)) -> Option<()>,
    ) -> Option<()> {
        self.out.push(b'[');
        for (i, edge) in edges.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            each(self, edge)?;
        }
        self.out.push(b']');
        Some(())
    }
}
