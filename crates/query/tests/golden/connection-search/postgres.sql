SELECT t0."id", t0."email", t0."id" AS "__k0"
FROM "ws_golden"."person" t0
WHERE t0."deletedAt" IS NULL
AND (lower(t0."name__firstName") LIKE $1 ESCAPE '\'
  OR lower(t0."name__lastName") LIKE $2 ESCAPE '\'
  OR lower(t0."email") LIKE $3 ESCAPE '\')
AND (lower(t0."name__firstName") LIKE $4 ESCAPE '\'
  OR lower(t0."name__lastName") LIKE $5 ESCAPE '\'
  OR lower(t0."email") LIKE $6 ESCAPE '\')
ORDER BY t0."id" ASC NULLS LAST
LIMIT 11
-- $1 = String(Some("%ada%"))
-- $2 = String(Some("%ada%"))
-- $3 = String(Some("%ada%"))
-- $4 = String(Some("%lovelace%"))
-- $5 = String(Some("%lovelace%"))
-- $6 = String(Some("%lovelace%"))
