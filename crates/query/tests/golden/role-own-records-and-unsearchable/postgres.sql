SELECT t0."id", t0."email", t0."id" AS "__k0"
FROM "ws_golden"."person" t0
WHERE t0."deletedAt" IS NULL
AND ((t0."ownerId" = $1))
AND (EXISTS (
    SELECT 1
    FROM "ws_golden"."company" f1
    WHERE f1."id" = t0."companyId"
    AND f1."deletedAt" IS NULL
    AND ((f1."ownerId" = $2))
    AND ((f1."name" = $3))))
AND (lower(t0."name__firstName") LIKE $4 ESCAPE '\'
  OR lower(t0."name__lastName") LIKE $5 ESCAPE '\')
ORDER BY t0."id" ASC NULLS LAST
LIMIT 11
-- $1 = Uuid(Some(01900000-0000-7000-8000-0000000000aa))
-- $2 = Uuid(Some(01900000-0000-7000-8000-0000000000aa))
-- $3 = String(Some("Acme"))
-- $4 = String(Some("%ada%"))
-- $5 = String(Some("%ada%"))
