SELECT t0."id", t0."plate", t0."id" AS "__k0"
FROM "ws_golden"."vehicle" t0
WHERE t0."deletedAt" IS NULL
AND ((t0."color" IN ($1, $2)
    AND t0."color" <> $3)
  AND (t0."electric" = $4))
ORDER BY t0."id" ASC NULLS LAST
LIMIT 11
-- $1 = String(Some("RED"))
-- $2 = String(Some("BLUE"))
-- $3 = String(Some("GREEN"))
-- $4 = Bool(Some(true))
