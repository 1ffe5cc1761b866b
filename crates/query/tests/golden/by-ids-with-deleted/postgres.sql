SELECT t0."id", t0."name"
FROM "ws_golden"."company" t0
WHERE t0."id" = ANY($1)
-- $1 = Array(Uuid, Some([Uuid(Some(01900000-0000-7000-8000-000000000001)), Uuid(Some(01900000-0000-7000-8000-000000000002))]))
