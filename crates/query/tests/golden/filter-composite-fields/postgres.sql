SELECT t0."id", t0."plate", t0."id" AS "__k0"
FROM "ws_golden"."vehicle" t0
WHERE t0."deletedAt" IS NULL
AND (((t0."price__amount" >= $1)
    AND (t0."price__currencyCode" = $2))
  AND ((t0."garage__city" = $3))
  AND ((t0."driver__lastName" ILIKE $4 ESCAPE '\')))
ORDER BY t0."id" ASC NULLS LAST
LIMIT 11
-- $1 = Decimal(Some(20000))
-- $2 = String(Some("EUR"))
-- $3 = String(Some("Paris"))
-- $4 = String(Some("lov%"))
