//! `shareRecord`, `unshareRecord` and `recordShares`: explicit sharing of a
//! record with a member or a team, beyond the role's record scope.

use async_graphql::dynamic::{
    Enum, Field, FieldFuture, FieldValue, InputValue, Object, ResolverContext, Type, TypeRef,
};
use rapport_meta::Catalog;
use rapport_store::{Grantee, Share, ShareAccess, StoreError};
use serde_json::{Value, json};

use crate::errors::store_error;
use crate::resolve::{args_json, state, store, string_arg};
use crate::shared_types::json_member;

fn grantee(ctx: &ResolverContext<'_>) -> Result<Grantee, async_graphql::Error> {
    let args = args_json(ctx)?;
    let get = |k: &str| args.get(k).and_then(Value::as_str).map(str::to_string);
    match (get("memberId"), get("teamId")) {
        (Some(m), None) => Ok(Grantee::Member(m)),
        (None, Some(t)) => Ok(Grantee::Team(t)),
        _ => Err(store_error(StoreError::bad(
            "memberId",
            "give exactly one of memberId and teamId",
        ))),
    }
}

fn share_value(s: &Share) -> FieldValue<'static> {
    let (member, team) = match &s.grantee {
        Grantee::Member(m) => (Some(m), None),
        Grantee::Team(t) => (None, Some(t)),
    };
    let v = json!({
        "object": s.object, "recordId": s.record_id, "memberId": member, "teamId": team,
        "access": s.access.as_str().to_uppercase(), "createdAt": s.created_at, "createdBy": s.created_by,
    });
    FieldValue::value(async_graphql::Value::from_json(v).unwrap_or_default())
}

fn target_args(field: Field) -> Field {
    field
        .argument(InputValue::new(
            "object",
            TypeRef::named_nn(TypeRef::STRING),
        ))
        .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID)))
        .argument(InputValue::new("memberId", TypeRef::named(TypeRef::ID)))
        .argument(InputValue::new("teamId", TypeRef::named(TypeRef::ID)))
}

/// (types, query fields, mutation fields); empty without members and teams.
pub(crate) fn fields(catalog: &Catalog) -> (Vec<Type>, Vec<Field>, Vec<Field>) {
    if catalog.object("workspaceMember").is_none() || catalog.object("team").is_none() {
        return Default::default();
    }
    let types = vec![
        Enum::new("ShareAccess").item("READ").item("WRITE").into(),
        Object::new("RecordShare")
            .description("A record shared with a member, or with a team and its sub-teams.")
            .field(json_member("object", TypeRef::named_nn(TypeRef::STRING)))
            .field(json_member("recordId", TypeRef::named_nn(TypeRef::ID)))
            .field(json_member("memberId", TypeRef::named(TypeRef::ID)))
            .field(json_member("teamId", TypeRef::named(TypeRef::ID)))
            .field(json_member("access", TypeRef::named_nn("ShareAccess")))
            .field(json_member("createdAt", TypeRef::named_nn("DateTime")))
            .field(json_member("createdBy", TypeRef::named_nn(TypeRef::STRING)))
            .into(),
    ];
    let share = Field::new("shareRecord", TypeRef::named_nn("RecordShare"), |ctx| {
        FieldFuture::new(async move {
            let (object, id) = (string_arg(&ctx, "object")?, string_arg(&ctx, "id")?);
            let who = grantee(&ctx)?;
            let access = ctx
                .args
                .get("access")
                .and_then(|v| v.enum_name().ok().and_then(ShareAccess::parse))
                .unwrap_or(ShareAccess::Read);
            let st = state(&ctx)?;
            let store = store(&ctx)?;
            let tx = store
                .begin(&st.counter, &st.actor)
                .await
                .map_err(store_error)?
                .guarded(st.access.write_guard(&store.meta.catalog));
            let shared = tx
                .share(&object, &id, &who, access)
                .await
                .map_err(store_error)?;
            tx.commit().await.map_err(store_error)?;
            Ok(Some(share_value(&shared)))
        })
    })
    .description("Shares a record you may update with a member or a team (READ, or WRITE to let them update it too). Sharing never grants delete, nor an object the role cannot read.");
    let share = target_args(share).argument(
        InputValue::new("access", TypeRef::named("ShareAccess"))
            .default_value(async_graphql::Value::Enum(async_graphql::Name::new("READ"))),
    );
    let unshare = Field::new(
        "unshareRecord",
        TypeRef::named_nn(TypeRef::BOOLEAN),
        |ctx| {
            FieldFuture::new(async move {
                let (object, id) = (string_arg(&ctx, "object")?, string_arg(&ctx, "id")?);
                let who = grantee(&ctx)?;
                let st = state(&ctx)?;
                let store = store(&ctx)?;
                let tx = store
                    .begin(&st.counter, &st.actor)
                    .await
                    .map_err(store_error)?
                    .guarded(st.access.write_guard(&store.meta.catalog));
                let removed = tx.unshare(&object, &id, &who).await.map_err(store_error)?;
                tx.commit().await.map_err(store_error)?;
                Ok(Some(FieldValue::value(removed)))
            })
        },
    )
    .description("Ends a share; false when there was none.");
    let unshare = target_args(unshare);
    let list = Field::new(
        "recordShares",
        TypeRef::named_nn_list_nn("RecordShare"),
        |ctx| {
            FieldFuture::new(async move {
                let (object, id) = (string_arg(&ctx, "object")?, string_arg(&ctx, "id")?);
                let st = state(&ctx)?;
                let tx = store(&ctx)?
                    .begin(&st.counter, &st.actor)
                    .await
                    .map_err(store_error)?;
                let shares = tx.shares_of(&object, &id).await.map_err(store_error)?;
                Ok(Some(FieldValue::list(shares.iter().map(share_value))))
            })
        },
    )
    .description("Who a record you can see is shared with.")
    .argument(InputValue::new(
        "object",
        TypeRef::named_nn(TypeRef::STRING),
    ))
    .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::ID)));
    (types, vec![list], vec![share, unshare])
}
